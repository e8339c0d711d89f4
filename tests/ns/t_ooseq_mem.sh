#!/bin/bash
# Memory an attacker's connections make the front-end hold.  With the lwip
# handshake, a connection still sending its request head is lwIP's, whose
# 256 KB receive window takes out-of-order segments and keeps them (its
# out-of-sequence queue), whatever handoff.request_head_max (8 KB) and
# request_buffer_max (64 KB) say: 300 connections from one client, each
# sending a byte-sized hole and 250 KB after it, must not cost the
# front-end more than 32 MB (an eighth of max_flows, 8,192 such
# connections by default, would hold 2 GB).
. "$(dirname "$0")/lib.sh"

TOPO_HS=lwip TOPO_STACK=kernel
topo_init ooseq-mem
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s
  request_timeout: 30s"
t_configure_all
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1" t_start_cluster
c() { topo_exec c "$@"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/${TOPO_PIDS[1]}/status"; }
st="$TOPO_STATE/n1.status"

c curl -s -m 5 -o /dev/null "http://$TOPO_VIP/?[1-50]" -H 'Connection: close'
sleep 1
rss0=$(rss)
c python3 - "$TOPO_VIP" 300 "$TOPO_STATE/ooseq.ready" "$T_DIR" >"$TOPO_STATE/ooseq.out" 2>&1 <<'PY' &
import socket, struct, sys, time
sys.path.insert(0, sys.argv[4])
from rawtcp import csum
vip, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
RECV, SEND = 1, 2
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
src = socket.inet_aton("10.0.0.2")
dst = socket.inet_aton(vip)
socks, sent = [], 0
for i in range(n):
    s = socket.create_connection((vip, 80), timeout=5)
    s.setsockopt(socket.SOL_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.SOL_TCP, TCP_REPAIR_QUEUE, SEND)
    snd = struct.unpack("I", s.getsockopt(socket.SOL_TCP, TCP_QUEUE_SEQ, 4))[0]
    s.setsockopt(socket.SOL_TCP, TCP_REPAIR_QUEUE, RECV)
    rcv = struct.unpack("I", s.getsockopt(socket.SOL_TCP, TCP_QUEUE_SEQ, 4))[0]
    s.setsockopt(socket.SOL_TCP, TCP_REPAIR, 0)
    sport = s.getsockname()[1]
    socks.append(s)
    data = b"x" * 1400
    for k in range(180):
        seq = (snd + 1 + 1400 * k) & 0xffffffff
        th = struct.pack("!HHIIBBHHH", sport, 80, seq, rcv, 5 << 4, 0x10, 502, 0, 0)
        ph = src + dst + struct.pack("!BBH", 0, 6, len(th) + len(data))
        th = th[:16] + struct.pack("!H", csum(ph + th + data)) + th[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th) + len(data), 0, 0x4000, 64, 6, 0, src, dst)
        raw.sendto(ip + th + data, (vip, 0))
        sent += len(data)
print("%d connections, %d bytes out of order" % (len(socks), sent), flush=True)
open(ready, "w").close()
time.sleep(30)
PY
att=$!
for i in $(seq 1 600); do
	[ -e "$TOPO_STATE/ooseq.ready" ] && break
	kill -0 "$att" 2>/dev/null || break
	sleep 0.1
done
[ -e "$TOPO_STATE/ooseq.ready" ] || t_fail "the attack did not run: $(cat "$TOPO_STATE/ooseq.out")"
sleep 2
rss1=$(rss)
cat "$TOPO_STATE/ooseq.out"
echo "front-end RSS ${rss0} kB before, ${rss1} kB with the connections open"
t_check "the connections are the front-end's, collecting" [ "$(t_stat "$st" flows_active)" -ge 300 ]
t_check "RSS grew by less than 32 MB" [ $((rss1 - rss0)) -lt 32768 ]
kill "$att" 2>/dev/null
wait "$att" 2>/dev/null
t_check "served afterwards" [ "$(c curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$TOPO_VIP/")" = 200 ]
t_finish

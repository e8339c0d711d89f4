#!/bin/bash
# Clients an lwIP back-end's relay must serve to the end: tiny MSSes
# (raised to 48; lwIP's segment queue then fills long before its send
# buffer: the relay gives lwIP only what the queue holds, and reads the
# server again at half of it), and a reader slow but steady past
# handoff.idle (its ACKs count as activity).
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init relay-clients
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s
  idle: 2s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
vip="http://$TOPO_VIP"

# 1. 100 KB to clients whose MSS is 30, 16 and 8: lwIP sends with at
# least 48 (its segments carry 12 bytes of timestamps; at 8 it aborted),
# and the front-end's own answers too (a 400 to garbage at MSS 8).
head -c 100K /dev/urandom >"$TOPO_STATE/www-n2/f.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/f.bin" | cut -d' ' -f1)
for mss in 30 16 8; do
	c ip route add "$TOPO_VIP/32" via 10.0.0.1 advmss "$mss"
	c curl -s -m 20 -o "$TOPO_STATE/f.$mss" "$vip/f.bin"
	[ "$mss" = 8 ] && bad=$(c timeout 10 python3 -c "
import socket
s = socket.create_connection(('$TOPO_VIP', 80), timeout=5)
s.sendall(b'garbage\\r\\n\\r\\n')
print(s.recv(64).split(b'\\r\\n')[0].decode())")
	c ip route del "$TOPO_VIP/32"
	got=$(sha256sum <"$TOPO_STATE/f.$mss" | cut -d' ' -f1)
	t_check "MSS $mss: 100 KB intact" [ "$got" = "$want" ]
done
echo "garbage at MSS 8: $bad"
t_check "the front-end answers garbage at MSS 8 with a 400" \
    grep -q "^HTTP/1.1 400" <<<"$bad"
t_check "the front-end and the back-end still run" \
    kill -0 "${TOPO_PIDS[1]}" "${TOPO_PIDS[2]}"

# 2. A client that reads 4 KB every 0.1 s through an 8 KB receive buffer:
# lwIP's send buffer (256 KB) takes it seconds to drain after the
# server's last bytes, longer than handoff.idle (2 s).
head -c 400K /dev/urandom >"$TOPO_STATE/www-n2/slow.bin"
size=$(stat -c %s "$TOPO_STATE/www-n2/slow.bin")
cat >"$TOPO_STATE/slow.py" <<PY
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.connect(("$TOPO_VIP", 80))
s.sendall(b"GET /slow.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
got, end = 0, "eof"
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += len(b)
        time.sleep(0.1)
except OSError as e:
    end = repr(e)
print(got, end)
PY
out=$(c timeout 60 python3 "$TOPO_STATE/slow.py")
echo "slow reader: bytes, end: $out"
t_check "a slow but steady reader gets the whole answer" \
    [ "${out%% *}" -gt "$size" ] && [ "${out#* }" = eof ]

# 3. A reader that stops, its window shut, for longer than handoff.idle:
# its answers to lwIP's window probes acknowledge nothing new, so it is
# idle (handoffd.yaml(5)), and its connection ends with a reset.
idle0=$(t_stat "$TOPO_STATE/n2.status" be_idle)
cat >"$TOPO_STATE/stall.py" <<PY
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("$TOPO_VIP", 80))
s.sendall(b"GET /slow.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
s.recv(4096)
time.sleep(6)
end = "open"
try:
    while s.recv(65536):
        pass
    end = "eof"
except ConnectionResetError:
    end = "reset"
print(end)
PY
out=$(c timeout 60 python3 "$TOPO_STATE/stall.py")
echo "stalled reader: $out"
t_check "a reader stalled past handoff.idle is reset" [ "$out" = reset ]
t_check "counted as idle at the back-end" \
    t_wait_stat "$TOPO_STATE/n2.status" be_idle $((idle0 + 1))
t_finish

#!/bin/bash
# Clients that do not read, against an lwIP-stack back-end: 600
# connections each ask for a 1 MB file with a 1 KB receive buffer (their
# windows shut at once) and hold on.  lwIP queued a whole send buffer for
# each (256 KB: 600 of them took 160 MB, and handoff.max_flows of them
# could take gigabytes).  Then a relay queued no more than 16 KB past
# lwIP's memory budget (64 MB and 1 KB a flow, 66 MB here), for every
# client, readers too: 512 non-readers throttled everyone.  Now a relay
# queues twice what its client's window and lwIP's cwnd let be in flight,
# at least 16 KB: the 600 stay far under the budget (under 40 MB; 65 MB and
# more before), and a client that reads gets its 4 MB download whole
# meanwhile.  (Past the budget, relays whose clients stopped queue no more
# and readers keep their pace; past it and 20 KB a flow, all are held to
# 16 KB: tests/scenarios/lwip_pressure_reader.scn.)  The table holds 2,048
# flows: one client network may take no more than half of a front-end's
# (handoff.max_flows in handoffd.yaml(5)).
TOPO_STACKS="lwip lwip"
. "$(dirname "$0")/lib.sh"

topo_init slowread
topo_cluster 2
export TOPO_REMOTE="n2" TOPO_YAML_HANDOFF="  linger: 1s
  max_flows: 2048"
t_configure_all
head -c 1M /dev/urandom >"$TOPO_STATE/www-n2/slow.bin"
head -c 4M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
t_start_cluster
c() { topo_exec c "$@"; }
c timeout 60 python3 - "$TOPO_VIP2" "$TOPO_STATE/done" >"$TOPO_STATE/slow.out" 2>&1 <<'PY' &
import os, socket, sys, time
conns = []
for i in range(600):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.settimeout(5)
    try:
        s.connect((sys.argv[1], 80))
        s.sendall(b"GET /slow.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        conns.append(s)
    except OSError as e:
        print("connection", i, e)
print("open", len(conns), flush=True)
for i in range(500):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
PY
slow=$!
t_check "at least 500 of 600 connections that do not read" t_wait_grep "$TOPO_STATE/slow.out" '^open (5[0-9][0-9]|600)$' 30
# What lwIP holds, once every relay has queued what it may.
peak=0
for i in $(seq 1 10); do
	sleep 1
	b=$(t_stat "$TOPO_STATE/n2.status" lwip_bytes)
	[ "$b" -gt "$peak" ] && peak=$b
done
echo "n2's lwIP holds at most $peak bytes with 600 clients that do not read"
t_check "... under 40 MB, short of the 66 MB budget past which every relay is held to 16 KB" [ "$peak" -lt $((40 << 20)) ]
t_check "... and lwIP is not past its budget (lwip_pressure 0)" [ "$(t_stat "$TOPO_STATE/n2.status" lwip_pressure)" = 0 ]
got=$(c curl -s -m 60 "http://$TOPO_VIP2/big.bin" | sha256sum | cut -d' ' -f1)
t_check "a client that reads gets 4 MB whole meanwhile" [ "$got" = "$want" ]
touch "$TOPO_STATE/done"
wait "$slow"
t_check "the back-end survives" kill -0 "${TOPO_PIDS[2]}"
t_finish

#!/bin/bash
# The IPv4 ID as an off-path side channel (tests/ns/ipidprobe.py): an
# attacker with a connection of its own to an lwIP-stack back-end forges
# segments in three other clients' names (their idle connections' ports,
# which it would find the same way), from a sequence number 2^31 away;
# the back-end's lwIP answers each with an ACK to that client.  lwIP
# numbered every packet from one counter, so the attacker's own answer
# packets counted those ACKs: 20 forged, its ID 20 further.  Each
# destination has a counter of its own now (tunif_ipid), chosen by a keyed
# hash: one of the three victims may share the attacker's 1 time in 65536,
# two of them 1 time in a billion, so at least two must show nothing.
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init ipid
topo_cluster 2
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
for a in 3 4 5; do
	c ip addr add "10.0.0.$a/24" dev eth0
done
sleep 0.5
victims=() vpids=()
for a in 3 4 5; do
	c timeout 60 python3 -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[2], 80), 5, (sys.argv[1], 0))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
print(s.getsockname()[1], flush=True)
for i in range(500):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)' "10.0.0.$a" "$TOPO_VIP2" "$TOPO_STATE/done" >"$TOPO_STATE/victim$a" &
	vpids+=($!)
	t_wait_grep "$TOPO_STATE/victim$a" '^[0-9]+$'
	victims+=("10.0.0.$a:$(cat "$TOPO_STATE/victim$a")")
done
out=$(cd "$T_DIR" && c timeout 60 python3 ipidprobe.py 10.0.0.2 "$TOPO_VIP2" 20 "${victims[@]}")
touch "$TOPO_STATE/done"
wait "${vpids[@]}"
echo "$out"
t_check "the forged segments drew answers to each victim" \
    [ "$(awk '$5 >= 15' <<<"$out" | wc -l)" -eq 3 ]
t_check "at least two victims' answers do not show in the attacker's IDs" \
    [ "$(awk '$3 < 10' <<<"$out" | wc -l)" -ge 2 ]
t_check "the back-end survives" kill -0 "${TOPO_PIDS[2]}"
t_finish

. "$(dirname "$0")/lib.sh"
TOPO_HS=lwip TOPO_STACK=kernel
topo_init flood-dbg
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s
  request_timeout: 5s"
t_configure_all
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1" t_start_cluster
topo_exec r ip route add blackhole 10.250.0.0/16
c() { topo_exec c "$@"; }
st="$TOPO_STATE/n1.status"
ip netns exec "$(topo_ns c)" tcpdump -i eth0 -U -n -w $TOPO_STATE/c.pcap '(host 10.0.0.2) and tcp port 80' 2>/dev/null &
dump=$!
sleep 1
( end=$((SECONDS + 20)); while [ "$SECONDS" -lt "$end" ]; do c "$HANDOFFD_TOOLS/synflood" 20000 "$TOPO_VIP" 80 10.250.0.0 >/dev/null; done ) &
flood=$!
for i in $(seq 1 100); do c curl -s -m 5 -o /dev/null -H 'Connection: close' "http://$TOPO_VIP/?flood=$i"; sleep 0.1; done
wait $flood
t_wait_flows "$st" 0 && { echo CLEAN; exit 0; }
"$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" flows; port=$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" flows | awk 'NR==2 { sub(/.*:/, "", $1); print $1 }'); grep XXX $TOPO_STATE/n1.log | grep "unacc\| $port " | tail -8; grep -E "unacceptable|challen|rst_blind" $TOPO_STATE/n1.status
port=$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" flows | awk 'NR==2 { sub(/.*:/, "", $1); print $1 }')
kill $dump; sleep 0.5
tcpdump -n -r $TOPO_STATE/c.pcap "port $port" 2>/dev/null | head -40

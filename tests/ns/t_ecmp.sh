#!/bin/bash
# Several front-ends for one VIP (handoffd(8), SEVERAL FRONT-ENDS): the
# router spreads clients over n1 and n2 by the 4-tuple (a multipath route,
# fib_multipath_hash_policy=1); n3 (kernel stack) and n4 (lwIP stack)
# serve.  Twenty slow downloads, half through each handshake, and a loop of
# short requests run while n1's daemon is killed and its route taken away,
# as a routing daemon would, and then while n1 comes back with its route:
# every download arrives whole (sha256), the loop loses at most the
# requests in flight at the two moves (counted and printed), and the same
# holds for a client without TCP timestamps.
. "$(dirname "$0")/lib.sh"

topo_init ecmp
TOPO_STACKS="lwip lwip kernel lwip"
topo_cluster 4
export TOPO_MEMBERS="n3 n4" TOPO_REMOTE="n3 n4"
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
head -c 8M /dev/urandom >"$TOPO_STATE/www-n3/big.bin"
cp "$TOPO_STATE/www-n3/big.bin" "$TOPO_STATE/www-n4/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n3/big.bin" | cut -d' ' -f1)

both_routes() {
	topo_exec r ip route replace 10.9.0.0/24 nexthop via 10.1.1.2 \
	    nexthop via 10.1.2.2
}
topo_exec r sysctl -qw net.ipv4.fib_multipath_hash_policy=1
both_routes
topo_exec n2 ip route add 10.9.0.0/24 dev "$TOPO_TUN"
t_start_cluster
t_check "n2 sees its 3 peers" topo_wait_peers 2 3

acked() {
	local i n=0 v
	for i in 1 2; do
		v=$("$HANDOFFCTL" -s "$TOPO_STATE/n$i.sock" -j status 2>/dev/null |
		    jq -r .handoffs.accepted)
		n=$((n + ${v:-0}))
	done
	echo "$n"
}

# phase NAME TIMESTAMPS: the downloads and the loop, n1 killed and back.
phase() {
	local name=$1 k base vip
	topo_exec c sysctl -qw "net.ipv4.tcp_timestamps=$2"
	topo_exec c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
	base=$(acked)
	for k in $(seq 1 20); do
		vip=$TOPO_VIP2		# lwip handshake
		[ $((k % 2)) = 0 ] && vip=$TOPO_VIP3	# cookie handshake
		# 16 s each: longer than both moves take
		t_dl_start "$k" "http://$vip/big.bin" 500K
	done
	t_loop_start "http://$TOPO_VIP/"
	handed_off() { [ "$(acked)" -ge $((base + 20)) ]; }
	t_check "$name: the twenty downloads are handed off" t_until handed_off
	sleep 1

	topo_kill 1
	topo_exec r ip route replace 10.9.0.0/24 via 10.1.2.2
	t_check "$name: n2 forwards connections n1 handed off (lookups)" \
	    t_wait_stat "$TOPO_STATE/n2.status" lookups_found 1
	sleep 2
	topo_start 1
	t_check "$name: n1 back, with its peers" topo_wait_peers 1 3
	both_routes
	sleep 2

	t_check "$name: all twenty downloads arrived whole (sha256)" t_dl_check "$want"
	t_loop_stop
	t_check "$name: the loop ran" [ "$T_LOOP_TOTAL" -ge 20 ]
	t_check "$name: the loop lost no more than the requests in flight at the two moves" \
	    [ "$T_LOOP_LOST" -le 2 ]
}

phase timestamps 1
t_check "n1 looked up connections moved back to it" \
    t_wait_stat "$TOPO_STATE/n1.status" lookups_found 1
phase "no timestamps" 0
t_finish

#!/bin/bash
# A standby front-end without ECMP (handoffd(8), SEVERAL FRONT-ENDS;
# conf/keepalived.conf): the router sends the VIPs to an address that
# keepalived (VRRP) gives n1, or n2 when n1's daemon stops answering.  Ten
# slow downloads served by n3 (kernel stack) and n4 (lwIP stack), and a
# loop of short requests, run while n1's daemon is killed (n2 takes the
# address and the connections over) and started again (n1 takes both
# back): every download arrives whole, and the loop loses at most the
# requests in flight at the two moves.
. "$(dirname "$0")/lib.sh"

topo_init vrrp
TOPO_STACKS="lwip lwip kernel lwip"
topo_cluster 4
export TOPO_MEMBERS="n3 n4" TOPO_REMOTE="n3 n4"
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
head -c 12M /dev/urandom >"$TOPO_STATE/www-n3/big.bin"
cp "$TOPO_STATE/www-n3/big.bin" "$TOPO_STATE/www-n4/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n3/big.bin" | cut -d' ' -f1)

# The segment VRRP runs on: a bridge at the router, n1 and n2 on it.
VADDR=10.3.0.10
topo_exec r ip link add br0 type bridge
topo_exec r ip addr add 10.3.0.1/24 dev br0
topo_exec r ip link set br0 up
for i in 1 2; do
	topo_link r "v$i" "10.3.0.$((i + 1))0/32" "n$i" vrrp0 "10.3.0.1$i/24"
	topo_exec r ip addr del "10.3.0.$((i + 1))0/32" dev "v$i"
	topo_exec r ip link set "v$i" master br0
done
topo_exec n2 ip route add 10.9.0.0/24 dev "$TOPO_TUN"
t_start_cluster
t_check "n2 sees its 3 peers" topo_wait_peers 2 3

# keepalived I PRIORITY: conf/keepalived.conf, adapted to node I.
keepalived_start() {
	local i=$1 f="$TOPO_STATE/keepalived-n$1.conf"
	sed -e "s|/usr/local/sbin/handoffctl status|$HANDOFFCTL -s $TOPO_STATE/n$i.sock status|" \
	    -e "s|priority 150|priority $2|" -e 's|interface eth1|interface vrrp0|' \
	    -e "s|10.1.0.10/24|$VADDR/24|" "$topo_top/conf/keepalived.conf" >"$f"
	topo_exec "n$i" keepalived -n -l -D -f "$f" -p "$TOPO_STATE/ka-n$i.pid" \
	    -r "$TOPO_STATE/ka-vrrp-n$i.pid" -c "$TOPO_STATE/ka-check-n$i.pid" \
	    >"$TOPO_STATE/keepalived-n$i.log" 2>&1 &
}
holds() { topo_exec "n$1" ip -o addr show dev vrrp0 | grep -q " $VADDR/"; }
keepalived_start 1 150
keepalived_start 2 100
t_check "n1 holds the VRRP address" t_until holds 1
topo_exec r ip route replace 10.9.0.0/24 via "$VADDR"

topo_exec c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
for k in $(seq 1 10); do
	vip=$TOPO_VIP2		# lwip handshake
	[ $((k % 2)) = 0 ] && vip=$TOPO_VIP3	# cookie handshake
	# 24 s each: longer than both moves take (keepalived's checks and
	# adverts are a second apart)
	t_dl_start "$k" "http://$vip/big.bin" 500K
done
t_loop_start "http://$TOPO_VIP/"
t_check "the ten downloads are handed off by n1" \
    t_wait_stat "$TOPO_STATE/n1.status" handoffs_acked 10
sleep 1

topo_kill 1
t_check "n2 takes the address over" t_until holds 2
t_check "n2 forwards the connections n1 handed off" \
    t_wait_stat "$TOPO_STATE/n2.status" lookups_found 1
sleep 1
topo_start 1
t_check "n1 back, with its peers" topo_wait_peers 1 3
t_check "n1 takes the address back" t_until holds 1
t_check "n1 forwards the connections again" \
    t_wait_stat "$TOPO_STATE/n1.status" lookups_found 1

t_check "all ten downloads arrived whole (sha256)" t_dl_check "$want"
t_loop_stop
t_check "the loop ran" [ "$T_LOOP_TOTAL" -ge 20 ]
t_check "the loop lost no more than the requests in flight at the two moves" \
    [ "$T_LOOP_LOST" -le 2 ]
t_finish

#!/bin/bash
# IPv6 attacks on a front-end and a back-end (cookie handshake, kernel
# stacks), each tried for real:
# 1. IPv6 segments whose addresses are IPv4-mapped (::ffff:a.b.c.d), which
#    the daemon, holding IPv4 addresses so, would take for IPv4 ones: to
#    the IPv6 VIP they are dropped and counted (bad-address), not looked
#    up, and nothing is logged for each.
# 2. A host of the LAN sends IPv6 segments from a back-end's
#    server_address6, which Linux, unlike IPv4, forwards: the kernel
#    stack's policy rule takes only what the host sends (iif lo), so none
#    reaches the back-end's daemon, which would take it for its kernel's;
# 3. the same aimed at a VIP, which a node routes into its device: it
#    reaches the daemon, which sends no reset to it (before the back-end
#    carries any connection, so that nothing else moves its counter).
# 4. An ICMPv6 packet too big quoting a live IPv4 connection as IPv4-mapped
#    addresses: nothing is sent on to the back-end.
. "$(dirname "$0")/lib.sh"

TOPO_STACK=kernel TOPO_HS=cookie TOPO_IPV6=1
topo_init ipv6-hostile
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
raw6="$(dirname "$0")/raw6.py"
c() { topo_exec c "$@"; }
st1="$TOPO_STATE/n1.status" st2="$TOPO_STATE/n2.status"

# 1. IPv4-mapped addresses in IPv6 packets, to the IPv6 VIP.
for i in $(seq 1 20); do
	c python3 "$raw6" tcp ::ffff:10.0.0.99 $((40000 + i)) "$TOPO_VIP6" 80 A 1000 2000
done
c python3 "$raw6" tcp fd00::2 41000 ::ffff:10.9.0.1 80 A 1000 2000 2>/dev/null
t_check "IPv4-mapped IPv6 packets dropped and counted" t_wait_stat "$st1" drop_bad-address 20
t_check "... none looked up" [ "$(t_stat "$st1" lookups)" = 0 ]
t_check "... nothing logged for them" sh -c "! grep -q 'cannot encode' '$TOPO_STATE/n1.log'"

# 2. The LAN spoofs n2's server_address6: n2 forwards the segments back
# out of eth0 (counted there), and its daemon never sees them.
topo_exec n2 nft -f - <<'NFT' || t_fail "nftables"
table inet hoffspoof {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip6 saddr fd00:2:2::1 oifname "eth0" counter
	}
}
NFT
mac=$(topo_exec n2 cat /sys/class/net/eth0/address)
for i in $(seq 1 5); do
	topo_exec r python3 "$raw6" tcp fd00:2:2::1 80 2001:db8::77 4444 A $((99999 + i)) 1 --dev n2 --mac "$mac"
done
spoofed_out() {
	[ "$(topo_exec n2 nft list table inet hoffspoof | grep -o 'packets [0-9]*' |
	    awk '{ s += $2 } END { print s + 0 }')" -ge "$1" ]
}
t_check "n2 routed the 5 spoofed segments out again" t_until spoofed_out 5
t_check "... none reached n2's daemon" [ "$(t_stat "$st2" drop_stale)" = 0 ]
topo_exec n2 nft delete table inet hoffspoof

# 3. The same spoof aimed at a VIP, which n2 routes into its device as a
# front-end does: the daemon sees them as its server's, to no client (no
# client has a VIP's address), and answers none with a reset.
topo_exec n2 ip -6 route add fd00:9::/64 dev "$TOPO_TUN"
tx=$(t_stat "$st2" tun_tx_pkts)
for i in $(seq 1 5); do
	topo_exec r python3 "$raw6" tcp fd00:2:2::1 80 "$TOPO_VIP6" 4444 A $((99999 + i)) 1 --dev n2 --mac "$mac"
done
t_check "the spoofs to a VIP reached n2's daemon" t_wait_stat "$st2" drop_stale 5
t_check "... which sent no reset" [ "$(t_stat "$st2" tun_tx_pkts)" = "$tx" ]
topo_exec n2 ip -6 route del fd00:9::/64 dev "$TOPO_TUN"

# 4. A packet too big quoting a live IPv4 connection as IPv4-mapped.
head -c 4M /dev/urandom >"$TOPO_STATE/www-n2/slow.bin"
t_held_dl "http://$TOPO_VIP2/slow.bin" "$TOPO_STATE/slow.got"
port=$(t_client_port "$TOPO_VIP2")
t_check "the IPv4 download is under way" [ -n "$port" ]
before=$(t_stat "$st1" drop_not-tcp)
c python3 "$raw6" ptb fd00::2 "$TOPO_VIP6" "::ffff:$TOPO_VIP2" 80 ::ffff:10.0.0.2 "$port" 1280
t_check "the packet too big reached the front-end" t_wait_stat "$st1" drop_not-tcp $((before + 1))
t_check "... and went to no back-end" [ "$(t_stat "$st1" icmp_fwd)" = 0 ]
t_check "the IPv4 download completes, intact" t_held_release
t_check "... every byte" cmp -s "$TOPO_STATE/slow.got" "$TOPO_STATE/www-n2/slow.bin"
t_finish

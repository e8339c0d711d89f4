#!/bin/bash
# Path MTU discovery through a handoff.  The router's link to the client
# takes 1280-byte packets only, which neither end knows (both have 1500):
# the kernel stacks send full-size segments with DF, the router answers
# "fragmentation needed" to their source, the VIP, and so to the
# front-end, which sends the error on to the stack that sent the segment,
# about that segment as the stack knows it.  4 MB downloads from every
# member, through both handshakes (the cookie one hands n1's own share to
# its own kernel), are sha256-correct.  lwIP sends without DF: its
# segments are fragmented on the way instead.  PMTU_IPV6=1 does the same
# over IPv6 (t_pmtu_ipv6), where only the ends may fragment: ICMPv6
# "packet too big", whose checksum covers the new addresses, for the
# kernel stacks; lwIP, which has no path MTU discovery, sends segments
# that fit IPv6's minimum MTU (n3's lwIP stack, and n1's lwIP relaying its
# own share of the lwip handshake's VIP).
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="kernel kernel lwip"
if [ "${PMTU_IPV6:-0}" = 1 ]; then
	TOPO_HS=lwip TOPO_IPV6=1
	vips=("[$TOPO_VIP6_2]" "[$TOPO_VIP6]") tags=(cookie6 lwip6)
	client=fd00::2 stack2=fd00:2:2::1
else
	vips=("$TOPO_VIP" "$TOPO_VIP3") tags=(lwip cookie) client=10.0.0.2
	stack2=10.2.2.1
fi
topo_init "pmtu${TOPO_IPV6:+-v6}"
topo_cluster 3
export TOPO_MEMBERS="n1 n2 n3" TOPO_REMOTE="n1 n2 n3"
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
topo_exec r ip link set c0 mtu 1280
c() { topo_exec c "$@"; }
head -c 4M /dev/urandom >"$TOPO_STATE/big.bin"
want=$(sha256sum <"$TOPO_STATE/big.bin" | cut -d' ' -f1)
for i in 1 2 3; do
	cp "$TOPO_STATE/big.bin" "$TOPO_STATE/www-n$i/big.bin"
done

# get VIP TAG: three downloads, one per member under round-robin.
get() {
	local i got
	for i in 1 2 3; do
		rm -f "$TOPO_STATE/got"
		c curl -s -m 30 -o "$TOPO_STATE/got" -H 'Connection: close' "http://$1/big.bin?$2$i"
		got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
		t_check "$2 download $i: 4 MB through a 1280-byte link, sha256 matches" [ "$got" = "$want" ]
	done
}
for k in "${!vips[@]}"; do
	get "${vips[$k]}" "${tags[$k]}"
done
for i in 1 2 3; do
	for tag in "${tags[@]}"; do
		t_check "n$i served a $tag download whole" \
		    grep -qE "GET /big.bin\?$tag[0-9] HTTP/1.1\" 200 4194304" "$TOPO_STATE/nginx-n$i/access.log"
	done
done
t_check "the front-end sent ICMP errors on to the stacks" t_wait_stat "$TOPO_STATE/n1.status" icmp_fwd 1
t_check "n2's kernel learnt the path MTU" bash -c "ip netns exec $(topo_ns n2) ip route get $client from $stack2 | grep -q 'mtu 1280'"
t_finish

#!/bin/bash
# Path MTU discovery through a handoff over IPv6, where only the ends may
# fragment: the router's link to the client takes 1280-byte packets (the
# IPv6 minimum), which neither end knows; the kernel stacks send full-size
# segments, the router answers ICMPv6 "packet too big" to their source,
# the VIP, and so to the front-end, which sends it on to the stack that
# sent the segment, about that segment as the stack knows it (ICMPv6's
# checksum covers the new addresses).  4 MB downloads from every member,
# the front-end's own share included, are sha256-correct.
. "$(dirname "$0")/lib.sh"

TOPO_STACK=kernel TOPO_HS=cookie TOPO_IPV6=1
topo_init pmtu-v6
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
for i in 1 2 3; do
	rm -f "$TOPO_STATE/got"
	c curl -s -m 30 -o "$TOPO_STATE/got" -H 'Connection: close' "http://[$TOPO_VIP6_2]/big.bin?v6$i"
	got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
	t_check "download $i: 4 MB through a 1280-byte link, sha256 matches" [ "$got" = "$want" ]
done
for i in 1 2 3; do
	t_check "n$i served a download whole" \
	    grep -qE "GET /big.bin\?v6[0-9] HTTP/1.1\" 200 4194304" "$TOPO_STATE/nginx-n$i/access.log"
done
t_check "the front-end sent ICMPv6 errors on to the stacks" t_wait_stat "$TOPO_STATE/n1.status" icmp_fwd 1
t_check "n2's kernel learnt the path MTU" bash -c "ip netns exec $(topo_ns n2) ip -6 route get fd00::2 from fd00:2:2::1 | grep -q 'mtu 1280'"
t_finish

#!/bin/bash
# Path MTU discovery behind several front-ends.  The router's link to the
# client takes 1280-byte packets only; n3's kernel sends full-size
# segments with DF from the VIP, and the router's "fragmentation needed"
# goes to the VIP by the router's own route, to n2, while the client's
# segments reach n1, which handed the connections off (policy routing here,
# as ECMP would by its hash).  n2 has no flow for the segment quoted: it
# relays the error to the members, and n3 sends it on to its kernel about
# the segment as the kernel sent it.  4 MB downloads through both
# handshakes are sha256-correct (without the relay they hang: a black
# hole).  The same over IPv6, with ICMPv6 "packet too big".  Forged
# errors, quoting the connection at a sequence number the kernel never
# sent, lower nothing; ones with a wrong checksum are not relayed; a flood
# of them is bounded by handoff.lookups, and a download started during a
# flood gets its errors through (a connection's errors come again; forged
# ones from ever new quotes do not).
. "$(dirname "$0")/lib.sh"

topo_init pmtuecmp
TOPO_STACKS="lwip lwip kernel" TOPO_IPV6=1
topo_cluster 3
export TOPO_MEMBERS="n3" TOPO_REMOTE="n3"
export TOPO_YAML_HANDOFF="  linger: 1s
  lookups: 50"
t_configure_all
head -c 4M /dev/urandom >"$TOPO_STATE/www-n3/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n3/big.bin" | cut -d' ' -f1)
# The client's segments to n1; what the router itself sends to a VIP, to n2.
topo_exec r ip route add 10.9.0.0/24 via 10.1.1.2 table 100
topo_exec r ip rule add iif c0 lookup 100
topo_exec r ip route replace 10.9.0.0/24 via 10.1.2.2
topo_exec n2 ip route add 10.9.0.0/24 dev "$TOPO_TUN"
topo_exec r ip -6 route add fd00:9::/64 via fd00:1:1::2 table 100
topo_exec r ip -6 rule add iif c0 lookup 100
topo_exec r ip -6 route replace fd00:9::/64 via fd00:1:2::2
topo_exec n2 ip -6 route add fd00:9::/64 dev "$TOPO_TUN"
t_start_cluster
t_check "n2 sees its 2 peers" topo_wait_peers 2 2
topo_exec r ip link set c0 mtu 1280
c() { topo_exec c "$@"; }

for vip in "$TOPO_VIP2" "$TOPO_VIP3" "[$TOPO_VIP6_2]"; do
	rm -f "$TOPO_STATE/got"
	c curl -g -s -m 30 -o "$TOPO_STATE/got" "http://$vip/big.bin"
	got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
	t_check "$vip: 4 MB through a 1280-byte link, sha256 matches" \
	    [ "$got" = "$want" ]
done
t_check "n1 handed all three off" t_wait_stat "$TOPO_STATE/n1.status" handoffs_acked 3
t_check "n1 saw no ICMP error" [ "$(t_stat "$TOPO_STATE/n1.status" icmp_fwd)" = 0 ]
t_check "n2 relayed the router's errors" t_wait_stat "$TOPO_STATE/n2.status" icmp_relayed 1
t_check "n3 sent them on to its kernel" t_wait_stat "$TOPO_STATE/n3.status" be_icmp 1
mtu() {
	topo_exec n3 ip route get 10.0.0.2 from 10.2.3.1 | grep -o 'mtu [0-9]*'
}
t_check "n3's kernel learnt the path MTU" [ "$(mtu)" = "mtu 1280" ]
t_check "... over IPv6 as well" sh -c "ip netns exec $(topo_ns n3) ip -6 route get fd00::2 from fd00:2:3::1 | grep -q 'mtu 1280'"

# Forged: a download held open (its client stops reading) keeps a
# connection; errors from the client's network, quoting it with sequence
# numbers its kernel did not send, and an MTU of 552, reach n2 (the
# router's route for itself takes them there as well); the kernel keeps
# 1280.  Then a flood.
topo_exec n3 ip route flush cache
t_held_dl "http://$TOPO_VIP3/big.bin" "$TOPO_STATE/slow"
port=$(t_client_port "$TOPO_VIP3")
t_check "the slow download is under way" [ -n "$port" ]
t_check "n3's kernel learns 1280 again" t_until sh -c "ip netns exec $(topo_ns n3) ip route get 10.0.0.2 from 10.2.3.1 | grep -q 'mtu 1280'"
topo_fresh "$TOPO_STATE/n2.status"
relayed=$(t_stat "$TOPO_STATE/n2.status" icmp_relayed)
# forge COUNT SECONDS [badsum]: fragmentation-needed errors from the router
# quoting the slow download's connection at sequence numbers its kernel
# never sent (MTU 552), COUNT of them spread over SECONDS; badsum: with a
# wrong ICMP checksum.
cat >"$TOPO_STATE/forge.py" <<'EOF'
import socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
port, count, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
bad = len(sys.argv) > 4
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for k in range(count):
    seq = (k * 2654435761) & 0xffffffff
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0x4000, 64, 6, 0,
                        socket.inet_aton("10.9.0.3"), socket.inet_aton("10.0.0.2"))
    inner += struct.pack("!HHI", 80, port if port else 1024 + k % 60000, seq)
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 552) + inner
    icmp = icmp[:2] + struct.pack("!H", csum(icmp) ^ (1 if bad else 0)) + icmp[4:]
    s.sendto(icmp, ("10.9.0.3", 0))
    if secs:
        time.sleep(secs / count)
EOF
# (the slow download's own errors may still come: a few)
topo_exec r python3 "$TOPO_STATE/forge.py" 0 40 0 badsum
topo_fresh "$TOPO_STATE/n2.status"
few() { [ "$(t_stat "$TOPO_STATE/n2.status" icmp_relayed)" -lt $((relayed + 20)) ]; }
t_check "forged errors with a wrong checksum are not relayed" few
relayed=$(t_stat "$TOPO_STATE/n2.status" icmp_relayed)
topo_exec r python3 "$TOPO_STATE/forge.py" "$port" 400 0
t_check "n2 relayed some of the forged errors" t_wait_stat "$TOPO_STATE/n2.status" icmp_relayed $((relayed + 1))
t_check "... and dropped the flood beyond handoff.lookups" t_wait_stat "$TOPO_STATE/n2.status" icmp_relay_limited 1
# (50 a second, and 50 more for a quote that comes again, as these do: at
# most 200 while the 400 are sent, if that takes up to half a second)
t_check "n2 relayed no more than its budgets" \
    [ "$(t_stat "$TOPO_STATE/n2.status" icmp_relayed)" -le $((relayed + 200)) ]
sleep 1
t_check "n3's kernel kept the path MTU it learnt" [ "$(mtu)" = "mtu 1280" ]
t_check "the slow download is still open" sh -c "ip netns exec $(topo_ns c) ss -Htn state established dst $TOPO_VIP3 | grep -q ':$port '"
t_check "the slow download completes" t_held_release
got=$(sha256sum <"$TOPO_STATE/slow" | cut -d' ' -f1)
t_check "the slow download arrived whole" [ "$got" = "$want" ]

# A flood of forged errors, each quoting another connection, faster than
# handoff.lookups, while a download meets the small link afresh: it still
# gets its errors through.  (The router's errors about it quote the same
# connection at each retransmission and may draw on the second budget; but
# a token of the first, taken between forgeries, also serves, so this does
# not show which: scenario multi_fe_flood pins the second budget.)
topo_exec r python3 "$TOPO_STATE/forge.py" 0 16000 8 &
flood=$!
sleep 1
topo_exec n3 ip route flush cache
rm -f "$TOPO_STATE/got"
c curl -s -m 30 -o "$TOPO_STATE/got" "http://$TOPO_VIP3/big.bin"
got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
t_check "a download during the flood is sha256-correct" [ "$got" = "$want" ]
wait "$flood"
t_finish

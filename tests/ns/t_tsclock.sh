#!/bin/bash
# No TSval shows the daemon's clock (tests/ns/tsprobe.py, a scanner's
# uptime estimate): each connection's timestamp clock starts at a random
# offset (RFC 7323 5.4), in the lwip handshake (lwIP's clock, patch 0019)
# and the cookie handshake (the cookie's MAC), and the back-end's answer
# after a handoff goes on from the front-end's TSvals without a jump.  Six
# connections to each of three VIPs: the lwip handshake's, handed off to
# an lwIP-stack back-end (n3) and to a kernel-stack one (n2), and the
# cookie handshake's, to n2.  A random offset lands within 1000 s of the
# clock once in 2,000, so at least 16 of the 18 must lie further, also
# less the ISN, and the 18 offsets must not all lie within 10 s of each
# other (one offset for the daemon, not one per connection).
TOPO_HS=lwip TOPO_STACKS="lwip kernel lwip"
. "$(dirname "$0")/lib.sh"

topo_init tsclock
topo_cluster 3
export TOPO_MEMBERS="n3" TOPO_REMOTE="n2"
t_configure_all
t_start_cluster
out=
for vip in "$TOPO_VIP" "$TOPO_VIP2" "$TOPO_VIP3"; do
	out+=$(cd "$T_DIR" && topo_exec c timeout 60 python3 tsprobe.py "$vip" 6)$'\n'
done
out=$(grep ' off ' <<<"$out")
echo "$out"
t_check "every connection's SYN/ACK carried a TSval" \
    [ "$(wc -l <<<"$out")" -eq 18 ]
t_check "no later TSval went backwards (PAWS), across the handoff too" \
    [ "$(grep -c ' mono 1 ' <<<"$out")" -eq 18 ]
t_check "the answers' TSvals went on from the SYN/ACK's (within 60 s)" \
    [ "$(awk '$10 >= 0 && $10 < 60000' <<<"$out" | wc -l)" -eq 18 ]
t_check "the TSvals do not show the daemon's clock" \
    [ "$(awk '$4 > 1000000 || $4 < -1000000' <<<"$out" | wc -l)" -ge 16 ]
t_check "nor do they less the ISN" \
    [ "$(awk '$6 > 1000000 || $6 < -1000000' <<<"$out" | wc -l)" -ge 16 ]
t_check "each connection has a clock of its own" \
    [ "$(awk 'NR == 1 || $4 < lo { lo = $4 } NR == 1 || $4 > hi { hi = $4 }
	END { print (hi - lo > 10000) }' <<<"$out")" = 1 ]
t_finish

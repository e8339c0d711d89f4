#!/bin/bash
# No TSval shows the daemon's clock (tests/ns/tsprobe.py, a scanner's
# uptime estimate): each connection's timestamp clock starts at a random
# offset (RFC 7323 5.4), in the lwip handshake (lwIP's clock, patch 0019)
# and the cookie handshake (the cookie's MAC), and the back-end's answer
# after a handoff goes on from the front-end's TSvals without a jump.
# Three connections to each of the lwip handshake's VIPs (served by the
# front-end's own lwIP relay or handed off) and to the cookie VIP: a random
# offset lands within 1000 s of the clock once in 2,000, so at least 8 of
# the 9 must lie further, and the 9 offsets must not all lie within 10 s
# of each other (one offset for the daemon, not one per connection).
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init tsclock
topo_cluster 2
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2"
t_configure_all
t_start_cluster
out=
for vip in "$TOPO_VIP" "$TOPO_VIP2" "$TOPO_VIP3"; do
	out+=$(cd "$T_DIR" && topo_exec c timeout 60 python3 tsprobe.py "$vip" 3)$'\n'
done
out=$(grep ' off ' <<<"$out")
echo "$out"
t_check "every connection's SYN/ACK carried a TSval" \
    [ "$(wc -l <<<"$out")" -eq 9 ]
t_check "no later TSval went backwards (PAWS), across the handoff too" \
    [ "$(grep -c ' mono 1 ' <<<"$out")" -eq 9 ]
t_check "the answers' TSvals went on from the SYN/ACK's (within 60 s)" \
    [ "$(awk '$8 >= 0 && $8 < 60000' <<<"$out" | wc -l)" -eq 9 ]
t_check "the TSvals do not show the daemon's clock" \
    [ "$(awk '$4 > 1000000 || $4 < -1000000' <<<"$out" | wc -l)" -ge 8 ]
t_check "each connection has a clock of its own" \
    [ "$(awk 'NR == 1 || $4 < lo { lo = $4 } NR == 1 || $4 > hi { hi = $4 }
	END { print (hi - lo > 10000) }' <<<"$out")" = 1 ]
t_finish

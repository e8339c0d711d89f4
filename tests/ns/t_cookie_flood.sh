#!/bin/bash
# An attacker with one address of its own completes cookie handshakes at a
# cookie VIP (raw sockets, no request, no state of its own) faster than
# the front-end may remember used cookies: four times handoff.max_flows a
# cookie period, here 1,024 in 8 s for a table of 256.  Before, once the
# set was full every valid cookie was refused until the period ended, and
# nobody else got a connection (8 of 8 failed).  Now, once the set is half
# full, a network (/24) that holds a sixteenth of it opens nothing more in
# the period: a client of another network is served throughout, and the
# attacker's refusals are counted (cookie_busy).
. "$(dirname "$0")/lib.sh"

topo_init cookie-flood
topo_cluster 2
# The attacker's connections send no request: they end at request_timeout
# (408), which must pass before the table is empty at the end.
export TOPO_MEMBERS="n2" TOPO_REMOTE="n2" TOPO_YAML_HANDOFF="  linger: 1s
  request_timeout: 2s
  max_flows: 256"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
t_client_other 10.0.7.2 || t_fail "the client of another network"
# The attacker's kernel must not reset the handshakes it does not know.
c nft -f - <<NFT
table ip hsflood {
	chain out {
		type filter hook output priority 0; policy accept;
		ip saddr 10.0.0.2 ip daddr $TOPO_VIP3 tcp flags & rst == rst drop
	}
}
NFT
get() { c curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 10.0.7.2 \
    -H 'Connection: close' "http://$TOPO_VIP3/?$1"; }
t_check "served before the flood" [ "$(get before)" = 200 ]

st="$TOPO_STATE/n1.status"
# 400 a second for 20 s spans two whole cookie periods.
c timeout 40 python3 "$T_DIR/hsflood.py" 10.0.0.2 "$TOPO_VIP3" 80 400 20 \
    >"$TOPO_STATE/flood.out" 2>&1 &
flood=$!
sleep 9
ok=0
for i in $(seq 1 8); do
	[ "$(get "during=$i")" = 200 ] && ok=$((ok + 1))
	sleep 0.5
done
wait "$flood"
cat "$TOPO_STATE/flood.out"
topo_fresh "$st"
for k in cookie_acks cookie_full cookie_busy fe_evicted; do
	echo "n1 $k $(t_stat "$st" "$k")"
done
t_check "the attacker completed handshakes" \
    [ "$(awk '{ print $4 }' "$TOPO_STATE/flood.out")" -ge 2000 ]
t_check "its network's share was used up and refused" \
    [ "$(t_stat "$st" cookie_busy)" -gt 0 ]
t_check "the set never filled" [ "$(t_stat "$st" cookie_full)" = 0 ]
t_check "8 of 8 requests from another network served during the flood" \
    [ "$ok" -eq 8 ]
t_check "served after the flood" [ "$(get after)" = 200 ]
t_finish

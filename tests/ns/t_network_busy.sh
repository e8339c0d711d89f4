#!/bin/bash
# One client network opens ordinary kept-alive, handed-off connections
# and holds them, more than the front-end's flow table has room for at its
# VIPs (handoff.max_flows 512: 448).  Before, it filled the table and
# every other client was refused while it held them.  Now, once the table
# is half full, a network (/24) that holds a sixteenth of it (64 at least)
# opens no more:
# the attacker holds half the table, a client of another network is served
# at both handshakes throughout, even while a spoofer's SYNs from its
# network hold every half-open slot, and the refusals are counted
# (drop_network_busy).  A client of the attacker's own network is refused
# with it.
. "$(dirname "$0")/lib.sh"

topo_init network-busy
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_REMOTE="n2" TOPO_YAML_HANDOFF="  linger: 1s
  max_flows: 512"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
t_client_other 10.0.7.2 || t_fail "the client of another network"
for b in $(seq 1 8); do
	c ip addr add "10.0.0.5$b/24" dev eth0
done
get() { c curl -s -m 5 -o /dev/null -w '%{http_code}' --interface "$1" \
    "http://$2/?$3"; }
st="$TOPO_STATE/n1.status"
t_check "served before" [ "$(get 10.0.7.2 "$TOPO_VIP2" before)" = 200 ]
t_check "the attacker's network served before" \
    [ "$(get 10.0.0.2 "$TOPO_VIP2" before)" = 200 ]

t_check "those connections closed" t_wait_flows "$st" 0

# Batches of 50, fewer than the half-open connections a front-end keeps
# (64 here: a burst past that replaces the oldest), 400 in all.
held=0 holds=()
for b in $(seq 1 8); do
	# not through topo_exec: $! must be holdconns itself
	ip netns exec "$(topo_ns c)" "$HANDOFFD_TOOLS/holdconns" \
	    -b "10.0.0.5$b" 50 "$TOPO_VIP2" 80 4 \
	    >"$TOPO_STATE/hold$b.out" 2>&1 &
	holds+=($!)
	t_until grep -q held "$TOPO_STATE/hold$b.out"
	cat "$TOPO_STATE/hold$b.out"
	held=$((held + $(awk '{ print $2 }' "$TOPO_STATE/hold$b.out")))
done
t_stat_show() {
	for k in flows_active drop_network_busy drop_table_full fe_evicted; do
		echo "n1 $k $(t_stat "$st" "$k")"
	done
}
t_wait_stat "$st" drop_network_busy 1
t_stat_show
# Half of 448, past its share: a sixteenth of it (28), and 64 at least;
# connections count once their handshake completes, so those of a batch
# still half-open then may take it past, but no further.
t_check "the attacker holds half the table ($held)" \
    [ "$held" -ge 224 -a "$held" -le 274 ]
t_check "its further connections were refused and counted" \
    [ "$(t_stat "$st" drop_network_busy)" -gt 0 ]
t_check "the table never filled" [ "$(t_stat "$st" drop_table_full)" = 0 ]
# A spoofer sends SYNs from the other network's addresses: at the lwip
# handshake each is a half-open connection (64 at most here, the oldest
# giving way), which counts for no network until its client completes it.
t_check "a spoofer's 5,000 SYNs sent" \
    c "$HANDOFFD_TOOLS/synflood" -p 24 5000 "$TOPO_VIP2" 80 10.0.7.0
t_check "the spoofed SYNs hold the 64 half-open slots" \
    t_wait_stat "$st" flows_active $((held + 64))
t_stat_show
ok=0 okc=0
for i in $(seq 1 8); do
	[ "$(get 10.0.7.2 "$TOPO_VIP2" "during=$i")" = 200 ] && ok=$((ok + 1))
	[ "$(get 10.0.7.2 "$TOPO_VIP3" "during=$i")" = 200 ] &&
	    okc=$((okc + 1))
done
t_check "8 of 8 requests from another network served (lwip handshake)" \
    [ "$ok" -eq 8 ]
t_check "8 of 8 requests from another network served (cookie handshake)" \
    [ "$okc" -eq 8 ]
t_check "a client of the attacker's network is refused with it" \
    [ "$(get 10.0.0.2 "$TOPO_VIP2" during)" != 200 ]
t_check "... at the cookie handshake too" \
    [ "$(get 10.0.0.2 "$TOPO_VIP3" during)" != 200 ]
kill "${holds[@]}"
wait "${holds[@]}" 2>/dev/null
t_check "the attacker's connections closed" t_wait_flows "$st" 0
t_check "the attacker's network served once it let go" \
    [ "$(get 10.0.0.2 "$TOPO_VIP2" after)" = 200 ]
t_finish

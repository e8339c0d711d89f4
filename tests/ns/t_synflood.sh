#!/bin/bash
# The cookie handshake under a SYN flood: 200,000 SYNs from spoofed
# sources at the highest rate this machine gives leave the front-end's
# memory flat (RSS grows by less than 1 MB) while a curl loop from the
# client keeps being served; forged handshake completions with wrong
# cookies create no state and are counted.
. "$(dirname "$0")/lib.sh"

TOPO_HS=cookie TOPO_STACK=${FLOOD_STACK:-kernel}
topo_init synflood
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s" TOPO_MEMBERS="n2"
for i in 1 2; do
	topo_config "$i"
	topo_nginx "$i"
done
topo_start 2
# ASan keeps freed memory in quarantine (up to 256 MB), so an ASan build's
# RSS grows with every connection the curl loop makes and every
# heartbeat, as slowly or as fast as the machine runs: the front-end runs
# without quarantine here, so that its RSS is what it holds.
asan_saved=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
topo_start 1
export ASAN_OPTIONS="$asan_saved"
t_check "front-end sees the back-end" topo_wait_peers 1 1
# The flood's SYN/ACKs go nowhere: the router drops them.
topo_exec r ip route add blackhole 10.250.0.0/16
c() { topo_exec c "$@"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/${TOPO_PIDS[1]}/status"; }

# Warm up: allocations that happen once happen before we measure.
c curl -s -m 5 -o /dev/null "http://$TOPO_VIP/?[1-50]" -H 'Connection: close'
c "$HANDOFFD_TOOLS/synflood" 20000 "$TOPO_VIP" 80 10.250.0.0 >/dev/null
sleep 1
rss0=$(rss)
st="$TOPO_STATE/n1.status"
topo_fresh "$st"
rx0=$(t_stat "$st" tun_rx_pkts) syn0=$(t_stat "$st" cookie_syns)
c "$HANDOFFD_TOOLS/synflood" 200000 "$TOPO_VIP" 80 10.250.0.0 \
    >"$TOPO_STATE/flood.out" 2>&1 &
flood=$!
ok=0
for i in $(seq 1 20); do
	code=$(c curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Connection: close' "http://$TOPO_VIP/?during=$i")
	[ "$code" = 200 ] && ok=$((ok + 1))
done
wait "$flood"
cat "$TOPO_STATE/flood.out"
rss1=$(rss)
topo_fresh "$st"
echo "front-end RSS ${rss0} kB before, ${rss1} kB after the flood"
# How many SYNs reach the daemon depends on the machine (the TUN queue
# drops what it cannot take); every one that does gets a cookie.
rx=$(( $(t_stat "$st" tun_rx_pkts) - rx0 )) syns=$(( $(t_stat "$st" cookie_syns) - syn0 ))
echo "packets read from the TUN: $rx, SYN/ACKs with a cookie: $syns"
t_check "the flood reached the front-end" [ "$rx" -ge 20000 ]
t_check "every SYN it read was answered with a cookie (all but the curl loop's packets)" \
    [ "$syns" -ge $((rx - 1000)) ]
t_check "RSS grew by less than 1 MB" [ $((rss1 - rss0)) -lt 1024 ]
t_check "20 of 20 requests served during the flood" [ "$ok" -eq 20 ]
t_check "the flood left no flows" t_wait_flows "$TOPO_STATE/n1.status" 0

# Forged ACKs: random cookies from random sources.
bad0=$(t_stat "$TOPO_STATE/n1.status" cookie_bad)
c "$HANDOFFD_TOOLS/synflood" -a -i 200 1000 "$TOPO_VIP" 80 10.250.0.0
topo_fresh "$st"
bad1=$(t_stat "$TOPO_STATE/n1.status" cookie_bad)
echo "forged ACKs counted: $((bad1 - bad0))"
t_check "every forged ACK counted" [ $((bad1 - bad0)) -eq 1000 ]
t_check "forged ACKs created no state" [ "$(t_stat "$TOPO_STATE/n1.status" flows_active)" = 0 ]
t_check "n2: flow table empty" t_wait_flows "$TOPO_STATE/n2.status" 0
for n in 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

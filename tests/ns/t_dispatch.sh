#!/bin/bash
# Content-aware dispatch in a 3-node kernel-stack cluster: /static/ goes to
# the static pool (n2), everything else to the default pool (n1, n3), as
# each node's own content and nginx's access log show; a kept-alive
# connection stays where its first request went; LARD keeps a path on one
# member until that member's load crosses T_high; an active check takes a
# member whose web server is down out of its pool and back; killing a
# back-end's daemon loses no later request and the member returns after a
# restart; a stopped daemon costs the requests handed to it a reset, never
# a second server's answer.
. "$(dirname "$0")/lib.sh"

TOPO_STACK=kernel
topo_init dispatch
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
export TOPO_SERVICES_FILE="$TOPO_STATE/services.yaml"
cat >"$TOPO_SERVICES_FILE" <<YAML
services:
  - name: web
    listen: $TOPO_VIP:$TOPO_VIP_PORT
    pool: dynamic
    rules:
      - path_prefix: /static/
        pool: static
  - name: cache
    listen: $TOPO_VIP2:$TOPO_VIP_PORT
    pool: cache
pools:
  - name: dynamic
    check_path: /dyn.txt
    check_interval: 200ms
    members: [n1, n3]
  - name: static
    members: [n2]
  - name: cache
    policy: lard
    lard_low: 1
    lard_high: 2
    members: [n2, n3]
YAML
for i in 1 2 3; do
	topo_config "$i"
	topo_nginx "$i"
	w="$TOPO_STATE/www-n$i"
	mkdir -p "$w/static"
	echo "static n$i" >"$w/static/s.txt"
	echo "dyn n$i" >"$w/dyn.txt"
	echo "a n$i" >"$w/a.txt"
	head -c 2000000 /dev/zero >"$w/big.bin"
done
t_start_cluster
c() { topo_exec c "$@"; }
st="$TOPO_STATE/n1.status"

# served_by URL...: one line per request, the serving node's name from its
# content, "fail" for a failed request.
served_by() {
	local u
	for u in "$@"; do
		c curl -sf -m 10 --path-as-is -H 'Connection: close' "$u" |
		    awk '{ print $2 } END { if (NR == 0) print "fail" }'
	done
}
count() { grep -cx "$1" <<<"$2"; }

out=$(served_by $(printf "http://$TOPO_VIP/static/s.txt?%d " $(seq 1 20)))
t_check "/static/ requests: all 20 served by the static pool (n2)" [ "$(count n2 "$out")" -eq 20 ]
t_check "... and n2's nginx logged them" [ "$(grep -c 'GET /static/s.txt' "$TOPO_STATE/nginx-n2/access.log")" -eq 20 ]
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?%d " $(seq 1 20)))
t_check "other requests: 20, shared by n1 and n3 in turn" \
    [ "$(count n1 "$out") $(count n3 "$out")" = "10 10" ]
t_check "... and the static pool's nginx saw none of them" sh -c "! grep -q 'GET /dyn.txt' '$TOPO_STATE/nginx-n2/access.log'"
out=$(served_by "http://$TOPO_VIP/%73tatic/s.txt" "http://$TOPO_VIP/x/../static/s.txt" \
    "http://$TOPO_VIP//static//s.txt" "http://$TOPO_VIP/static/%2e%2e/dyn.txt")
out=$(tr '\n' ' ' <<<"$out")
t_check "paths are matched normalised: encoded, dot-segments, double slashes" \
    grep -Eqx 'n2 n2 n2 n[13] ' <<<"$out"
code=$(c curl -s -m 10 -o /dev/null -w '%{http_code}' --path-as-is "http://$TOPO_VIP/static/%zz")
t_check "a path that cannot be decoded is answered 400" [ "$code" = 400 ]

# Keep-alive: the first request decides the back-end for the connection.
out=$(c curl -sf -m 10 "http://$TOPO_VIP/dyn.txt" "http://$TOPO_VIP/static/s.txt")
first=$(awk 'NR == 1 { print $2 }' <<<"$out")
echo "kept-alive connection: $(tr '\n' ' ' <<<"$out")"
t_check "a kept-alive connection stays where its first request went" \
    [ "$(awk 'NR == 2 { print $2 }' <<<"$out")" = "$first" ]

# LARD: sequential requests for one path stay on one member.
out=$(served_by $(printf "http://$TOPO_VIP2/a.txt?%d " $(seq 1 20)))
t_check "LARD: 20 requests for one path, one member" [ "$(sort -u <<<"$out" | wc -l)" -eq 1 ]
# ... until its load (slow downloads held open) crosses lard_high (2):
# the 4th download finds it at 3 while the other member is under
# lard_low (1), and the path moves.  Each member's load counts what it
# reports serving, lingering flows included: the downloads start once
# the requests before them are gone from every member (else the first
# may find the path's member busy and the path moves at once).
members_idle() {
	local i
	for i in $(seq 1 100); do
		grep '^member/.*/load ' "$st" | awk '$2 != 0 { busy = 1 } END { exit busy }' && return 0
		sleep 0.1
	done
	grep '^member/.*/load ' "$st"
	return 1
}
t_check "members idle before the downloads" members_idle
# A small receive buffer at the client keeps each download's connection
# busy for as long as curl takes to read it.
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
pids=()
for i in 1 2 3 4 5; do
	c curl -sf -m 30 --limit-rate 400k -o /dev/null -H 'Connection: close' \
	    "http://$TOPO_VIP2/big.bin?$i" &
	pids+=($!)
	sleep 0.3
done
slow_done() {
	local p rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
t_check "the slow downloads all completed" slow_done
n2=$(grep -c 'GET /big.bin' "$TOPO_STATE/nginx-n2/access.log")
n3=$(grep -c 'GET /big.bin' "$TOPO_STATE/nginx-n3/access.log")
echo "LARD: /big.bin downloads on n2: $n2, on n3: $n3"
t_check "LARD: 3 downloads on the path's member, then 2 moved to the other" \
    sh -c "[ '$n2 $n3' = '3 2' ] || [ '$n2 $n3' = '2 3' ]"

# Active check: n3's nginx stops, the dynamic pool drops it, all requests
# go to n1; nginx back, n3 back.
kill "$(cat "$TOPO_STATE/nginx-n3/nginx.pid")"
t_check "a failing check takes n3 out of the dynamic pool" \
    t_wait_line "$st" "member/dynamic/n3/up 0"
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?down=%d " $(seq 1 10)))
t_check "... and n1 serves every request" [ "$(count n1 "$out")" -eq 10 ]
topo_nginx 3
t_check "n3 is back in the pool when its checks pass" \
    t_wait_line "$st" "member/dynamic/n3/up 1"

# Kill n3's daemon mid-run: later requests all succeed on the others.
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?before=%d " $(seq 1 6)))
t_check "before the kill, n3 serves" [ "$(count n3 "$out")" -gt 0 ]
topo_kill 3
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?killed=%d " $(seq 1 30)))
t_check "after the kill: 30 requests, none lost" [ "$(count fail "$out")" -eq 0 ]
t_check "... all served by n1" [ "$(count n1 "$out")" -eq 30 ]
t_check "n3 is out of its pools" t_wait_line "$st" "member/dynamic/n3/up 0"
topo_start 3
t_check "n3's daemon is back" t_wait_line "$st" "member/dynamic/n3/up 1"
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?back=%d " $(seq 1 20)))
t_check "after the restart: 20 requests, all served" [ "$(count fail "$out")" -eq 0 ]
t_check "... n3 serves again" [ "$(count n3 "$out")" -gt 0 ]

# A member that stops answering (its daemon stopped, its channel still
# open): a handoff to it times out, and n1 cannot learn whether its server
# got the request, so the client gets a reset rather than a second
# server's answer; after fail_threshold of those, n3 is out and n1 serves.
kill -STOP "${TOPO_PIDS[3]}"
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?stopped=%d " $(seq 1 6)))
echo "n3 stopped: $(count n1 "$out") served by n1, $(count fail "$out") reset"
t_check "n3 stopped: every request served by n1 or reset" \
    [ $(($(count n1 "$out") + $(count fail "$out"))) -eq 6 ]
t_check "... at most fail_threshold (3) of them reset" [ "$(count fail "$out")" -le 3 ]
t_check "... the handoffs to n3 timed out" t_wait_stat "$st" handoffs_timeout 1
t_check "... and their clients were reset" t_wait_stat "$st" handoffs_reset 1
# handoffctl pools: those handoffs count as TIMEOUT (no answer within
# handoff.timeout, the channel up), not as FAILED (the channel lost, as
# it is at last: its heartbeats stop too).
pools=$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" pools)
echo "$pools"
t_check "... counted as timed out for n3" \
    awk '$1 == "dynamic" && $3 == "n3" && $10 > 0 { found = 1 }
	END { exit !found }' <<<"$pools"
kill -CONT "${TOPO_PIDS[3]}"
t_check "n3's server never got the requests of the reset clients" \
    sh -c "! grep -q 'stopped=' '$TOPO_STATE/nginx-n3/access.log'"
t_check "n3 is back in the pool when it answers again" t_wait_line "$st" "member/dynamic/n3/up 1"
out=$(served_by $(printf "http://$TOPO_VIP/dyn.txt?cont=%d " $(seq 1 10)))
t_check "... 10 more requests, none lost" [ "$(count fail "$out")" -eq 0 ]
t_check "... n3 among their servers" [ "$(count n3 "$out")" -gt 0 ]

for n in 1 2 3; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
t_check "n1: no connection left counted against a member" members_idle
for n in 3 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

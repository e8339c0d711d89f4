#!/bin/bash
# The commit point: one client never gets two back-ends' bytes, and a
# request never runs twice.  Behind each back-end's nginx a counter (a
# python3 server) appends the id of every POST it executes to one file.
# POSTs while a back-end's daemon is stopped past handoff.timeout, while
# its control connection loses everything it sends to the front-end, and
# large POSTs that nginx answers 413 before reading them: each id runs at
# most once across the cluster, and each client gets exactly one server's
# answer or a clean error.  nginx stopped behind an lwIP-stack back-end:
# its handoffs are refused before anything reached a server, and the
# clients get the page from another member, never a reset.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel lwip"
topo_init commit
topo_cluster 3
export TOPO_MEMBERS="n2 n3"
export TOPO_YAML_HANDOFF="  linger: 1s
  timeout: 1s"
export TOPO_NGINX_LOCATIONS='
		location /count { proxy_pass http://127.0.0.1:8090; }
		location = /small {
			client_max_body_size 1k;
			error_page 413 @toobig;
			proxy_pass http://127.0.0.1:8090;
		}
		location @toobig { return 413 "too big on @NODE@\n"; }'
t_configure_all
ran="$TOPO_STATE/executed.log"
: >"$ran"
for i in 2 3; do
	topo_exec "n$i" python3 - "n$i" "$ran" <<'PY' &
import http.server, sys, urllib.parse
node, log = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        rid = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["id"][0]
        with open(log, "a") as f:
            f.write("%s %s\n" % (rid, node))
        body = ("executed %s on %s\n" % (rid, node)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8090), H).serve_forever()
PY
done
t_start_cluster
c() { topo_exec c "$@"; }
# Each node's counter, asked where it listens: a POST through the VIP
# reaches one of them, and the other may still be starting (a back-end
# stopped below sends every POST to it).
counter_up() {
	topo_exec "$1" curl -sf -m 2 -o /dev/null --data x \
	    "http://127.0.0.1:8090/count?id=ready-$1"
}
for i in 2 3; do
	t_check "n$i's counter answers" t_until counter_up "n$i"
done
for i in $(seq 1 50); do
	c curl -sf -m 2 -o /dev/null --data x "http://$TOPO_VIP/count?id=warm$i" && break
	sleep 0.1
done
t_check "the counters answer through the VIP" grep -q "^warm" "$ran"

# post ID PATH [DATA-FILE]: one POST; prints "ID CODE BODY".
post() {
	local body code
	body="$TOPO_STATE/resp-$1"
	code=$(c curl -s -m 15 -o "$body" -w '%{http_code}' -H 'Connection: close' -H 'Expect:' \
	    --data-binary "@${3:-/dev/null}" "http://$TOPO_VIP$2?id=$1")
	echo "$1 $code $(tr '\n' '|' 2>/dev/null <"$body")"
}
# judge LINES: each POST executed at most once, and each answer exactly
# what the server that executed it said, or a clean error.
judge() {
	local id code body n
	while read -r id code body; do
		n=$(grep -c "^$id " "$ran")
		if [ "$n" -gt 1 ]; then
			echo "$id executed $n times"; return 1
		fi
		case "$code" in
		200)	[ "$n" = 1 ] && [ "$body" = "executed $id on $(awk -v i="$id" '$1 == i { print $2 }' "$ran")|" ] ||
			    { echo "$id: answer \"$body\" is not its server's"; return 1; } ;;
		000)	;;
		*)	echo "$id: answer $code \"$body\""; return 1 ;;
		esac
	done <<<"$1"
}

# n2_back: n2 is in the pool again.  It may have left it for handoffs it
# could not acknowledge (fail_threshold, three in a row: how many went to
# it depends on when n1 found it dead), and comes back by a trial handoff
# check_interval (2 s) after the last: requests give it one.
n2_back() {
	local i
	for i in $(seq 1 30); do
		grep -qE '^member/all/n2/up 1( |$)' "$TOPO_STATE/n1.status" &&
		    return 0
		c curl -s -m 5 -o /dev/null "http://$TOPO_VIP/?trial=$i"
		sleep 0.5
	done
	echo "n2 not back in pool all" >&2
	return 1
}

# 1. n2's daemon stopped for longer than two handoff timeouts.
kill -STOP "${TOPO_PIDS[2]}"
out=$(for i in $(seq 1 6); do post "stop$i" /count; done)
kill -CONT "${TOPO_PIDS[2]}"
echo "$out"
t_check "stopped back-end: each POST ran at most once, each answer its server's or a clean error" judge "$out"
t_check "... n3 served some" grep -q "^stop[0-9]* n3" "$ran"
t_check "... the front-end reset the clients it could not place" \
    t_wait_stat "$TOPO_STATE/n1.status" handoffs_reset 1
t_check "n2 is back" n2_back
sleep 2		# what n2 read after SIGCONT has run its course
t_check "... and ran nothing twice since" judge "$out"

# 2. Everything n2 sends n1 on the control connections is lost: its
# HANDOFF_ACKs never arrive, and n1 cannot learn whether its server got
# the request.
topo_exec n2 nft -f - <<NFT || t_fail "nftables"
table inet hoffctl {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 10.1.1.2 tcp dport $TOPO_CONTROL_PORT counter drop
		ip daddr 10.1.1.2 tcp sport $TOPO_CONTROL_PORT counter drop
	}
}
NFT
out=$(for i in $(seq 1 6); do post "mute$i" /count; done)
topo_exec n2 nft delete table inet hoffctl
echo "$out"
t_check "muted back-end: each POST ran at most once, each answer its server's or a clean error" judge "$out"
t_check "n2 is back" n2_back

# 3. 2 MB POSTs that nginx answers 413 after the head, without reading.
head -c 2M /dev/urandom >"$TOPO_STATE/big.post"
for i in $(seq 1 6); do
	read -r id code body <<<"$(post "big$i" /small "$TOPO_STATE/big.post")"
	echo "$id $code $body"
	t_check "$id: 413 from one server" grep -Eq '^too big on n[23]\|$' <<<"$body"
	t_check "$id: never executed" [ "$(grep -c "^$id " "$ran")" = 0 ]
done

# 4. nginx stops behind n3, an lwIP-stack back-end: its handoffs are
# refused, and another member serves every request.
kill "$(cat "$TOPO_STATE/nginx-n3/nginx.pid")"
# (once it has stopped: a request handed to it before would be served)
no_listener() { ! topo_exec n3 ss -Hltn 'sport = :80' | grep -q .; }
t_check "n3's nginx no longer listens" t_until no_listener
refused=$(t_stat "$TOPO_STATE/n3.status" be_refused)
codes=$(c curl -s -m 10 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' \
    "http://$TOPO_VIP/?down=[1-20]")
t_check "nginx down behind n3: 20 requests, all 200" [ "$(grep -c '^200$' <<<"$codes")" -eq 20 ]
t_check "... n3 refused some of them" t_wait_stat "$TOPO_STATE/n3.status" be_refused $((refused + 1))
t_check "... and n2 served them" [ "$(grep -c 'GET /?down=' "$TOPO_STATE/nginx-n2/access.log")" -eq 20 ]
t_finish

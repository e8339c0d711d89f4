#!/bin/bash
# Prometheus metrics on a 2-node cluster (pool "all": n1 and n2 in turn;
# pool "remote": n2), scraped with curl at metrics.listen: the exposition
# parses (every line a comment or a sample, every family with HELP and
# TYPE before its samples and in one piece, counters named _total,
# histograms with buckets, sum and count), and the values move with the
# traffic: TUN packets, handoffs, flows by role and service during a
# download, bytes forwarded and rewritten, drained members, a peer's
# channel going down.  Nothing but GET and HEAD of /metrics is served.
. "$(dirname "$0")/lib.sh"

topo_init metrics
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
for i in 1 2; do
	printf 'metrics:\n  listen: 127.0.0.1:9110\n' >>"$TOPO_STATE/n$i.yaml"
done
head -c 4M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
t_start_cluster
c() { topo_exec c "$@"; }
scrape() { topo_exec "n$1" curl -sf -m 10 http://127.0.0.1:9110/metrics; }
# metric NODE 'NAME{LABELS}': a sample's value ("missing" if none).
metric() {
	scrape "$1" | awk -v k="$2" '$1 == k { print $2; found = 1 }
	    END { if (!found) print "missing" }'
}

# The text format, checked line by line.
check_format() {
	awk '
	function fail(why) { print "line " NR ": " why ": " $0; bad = 1 }
	function family(n) {
		if (type[n] != "") return n
		b = n
		if (sub(/_(bucket|sum|count)$/, "", b) && type[b] == "histogram") return b
		return n
	}
	/^# HELP / {
		if ($3 !~ /^handoffd_[a-z][a-z0-9_]*$/) fail("bad name")
		if (help[$3]++) fail("second HELP")
		next
	}
	/^# TYPE / {
		if (!help[$3]) fail("TYPE before HELP")
		if ($4 !~ /^(counter|gauge|histogram)$/) fail("bad type")
		if (type[$3] != "") fail("second TYPE")
		type[$3] = $4
		if ($4 == "counter" && $3 !~ /_total$/) fail("counter not named _total")
		if ($4 != "counter" && $3 ~ /_total$/) fail("_total not a counter")
		next
	}
	/^#/ { fail("stray comment"); next }
	{
		if (NF != 2) fail("not name and value")
		if ($2 !~ /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|NaN)$/) fail("bad value")
		name = $1
		labels = ""
		if (match(name, /\{.*\}$/)) {
			labels = substr(name, RSTART + 1, RLENGTH - 2)
			name = substr(name, 1, RSTART - 1)
		}
		if (name !~ /^handoffd_[a-z][a-z0-9_]*$/) fail("bad name")
		if (labels != "" && labels !~ /^[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*$/) fail("bad labels")
		f = family(name)
		if (type[f] == "") fail("no HELP and TYPE before the sample")
		if (f != last && seen[f]++) fail("family in two pieces")
		last = f
		if (type[f] == "histogram" && name ~ /_bucket$/ && labels !~ /(^|,)le="/) fail("bucket without le")
		samples++
	}
	END { if (samples < 50) { print "only " samples " samples"; bad = 1 } exit bad }'
}

s=$(scrape 1)
t_check "n1: the metrics are served" [ -n "$s" ]
t_check "n1: the exposition format holds" check_format <<<"$s"
t_check "n2: and on n2" sh -c 'ip netns exec "$1" curl -sf -m 10 http://127.0.0.1:9110/metrics | grep -q "^handoffd_build_info{"' sh "$(topo_ns n2)"
t_check "the content type is Prometheus text 0.0.4" sh -c 'ip netns exec "$1" curl -sf -m 10 -o /dev/null -w "%{content_type}" http://127.0.0.1:9110/metrics | grep -q "^text/plain; version=0.0.4"' sh "$(topo_ns n1)"
t_check "HEAD works" topo_exec n1 curl -sf -m 10 -I -o /dev/null http://127.0.0.1:9110/metrics
# HEAD, read to the end: the headers with the body's length, no body.
head_out=$(topo_exec n1 python3 - <<'PY'
import socket
s = socket.create_connection(("127.0.0.1", 9110), timeout=5)
s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d = b""
while True:
    x = s.recv(65536)
    if not x:
        break
    d += x
h, _, body = d.partition(b"\r\n\r\n")
n = [int(l.split(b":")[1]) for l in h.split(b"\r\n") if l.lower().startswith(b"content-length:")]
print("length %s body %d" % (n[0] if n else "none", len(body)))
PY
)
echo "HEAD: $head_out"
t_check "HEAD: no body, the length it would have" grep -Eq '^length [1-9][0-9]+ body 0$' <<<"$head_out"
code=$(topo_exec n1 curl -s -m 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:9110/)
t_check "another path: 404" [ "$code" = 404 ]
code=$(topo_exec n1 curl -s -m 10 -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:9110/metrics)
t_check "another method: 501" [ "$code" = 501 ]
code=$(topo_exec n1 curl -s -m 10 -o /dev/null -w '%{http_code}' -d x http://127.0.0.1:9110/metrics)
t_check "a request with a body: 413" [ "$code" = 413 ]
t_check "n2's control channel is up" [ "$(metric 1 'handoffd_peer_up{peer="n2"}')" = 1 ]
t_check "pool members are in service" [ "$(metric 1 'handoffd_member_up{pool="all",member="n2"}')" = 1 ]
t_check "the latency histogram has its +Inf bucket" \
    [ "$(metric 1 'handoffd_member_handoff_duration_seconds_bucket{pool="all",member="n2",le="+Inf"}')" != missing ]
rx0=$(metric 1 'handoffd_tun_packets_total{direction="in"}')
acc0=$(metric 1 handoffd_handoffs_accepted_total)
t_check "no handoff yet" [ "$acc0" = 0 ]

# A slow download from n2: the flows it makes, while it runs.
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
c curl -sf -m 60 --limit-rate 500k -o /dev/null "http://$TOPO_VIP2/big.bin" &
dl=$!
fe_flow() { [ "$(metric 1 'handoffd_service_flows{service="remote"}')" = 1 ]; }
t_check "during the download: a front-end flow of service remote" t_until fe_flow
t_check "... counted by role at the front-end" [ "$(metric 1 'handoffd_flows{role="front-end"}')" -ge 1 ]
t_check "... and at the back-end" [ "$(metric 2 'handoffd_flows{role="back-end"}')" -ge 1 ]
t_check "... n2 serves it" [ "$(metric 2 handoffd_served_connections)" -ge 1 ]
t_check "... n1 counts it against n2" [ "$(metric 1 'handoffd_assigned_flows{node="n2"}')" -ge 1 ]
t_check "the download completed" wait $dl

# 20 requests in turn: 10 handed to n2, 10 relayed by n1 itself.
for i in $(seq 1 20); do
	c curl -sf -m 10 -o /dev/null -H 'Connection: close' "http://$TOPO_VIP/?m=$i" || t_fail "request $i"
done
accepted() { [ "$(metric 1 handoffd_handoffs_accepted_total)" = 21 ]; }
t_check "n1: 21 handoffs accepted (10 to n2, 10 to itself, the download)" t_until accepted
t_check "n1: as many started" [ "$(metric 1 handoffd_handoffs_started_total)" = 21 ]
t_check "n1: 10 served by itself" [ "$(metric 1 handoffd_frontend_local_total)" = 10 ]
# The totals are the sums of the members' (n1 itself among them).
member_sum() {
	scrape 1 | awk -v f="handoffd_member_$1" -v r="$2" 'index($1, f "{pool=\"all\"") == 1 && (r == "" || index($1, "result=\"" r "\"")) { s += $2 } END { print s + 0 }'
}
t_check "... pool all's members: 20 started" [ "$(member_sum handoffs_started_total)" = 20 ]
t_check "... and 20 accepted" [ "$(member_sum handoffs_total accepted)" = 20 ]
t_check "n2: 11 accepted as a back-end" [ "$(metric 2 handoffd_backend_accepted_total)" = 11 ]
t_check "n1: TUN packets in went up" [ "$(metric 1 'handoffd_tun_packets_total{direction="in"}')" -gt "$rx0" ]
t_check "n1: client bytes forwarded" [ "$(metric 1 handoffd_forwarded_bytes_total)" -gt 0 ]
t_check "n2: the download's bytes rewritten to the client" \
    [ "$(metric 2 handoffd_rewritten_bytes_total)" -gt 4194304 ]
t_check "n1: no drop by a full table" [ "$(metric 1 'handoffd_drops_total{reason="table-full"}')" = 0 ]
t_check "the format still holds" check_format <<<"$(scrape 1)"
t_check "... on n2 too" check_format <<<"$(scrape 2)"

# Whoever reaches metrics.listen cannot take the daemon's descriptors:
# 200 connections held open leave it at most 16 more at once (each one
# more closes the oldest), and handoffs go on meanwhile, and so do scrapes;
# 16 connections a client closed before asking (port probes) make room at
# once (they kept every scraper out until their deadline); a client
# trickling a byte a second is cut 10 s after it came.
fds() { ls "/proc/${TOPO_PIDS[1]}/fd" | wc -l; }
fd0=$(fds)
topo_exec n1 timeout 30 python3 - >"$TOPO_STATE/hold.out" 2>&1 <<'PY' &
import socket, time
held = []
for i in range(200):
    try:
        held.append(socket.create_connection(("127.0.0.1", 9110), timeout=5))
    except OSError as e:
        print("connect", i, e)
time.sleep(4)
PY
hold=$!
sleep 2
fd1=$(fds)
echo "n1 descriptors: $fd0 before, $fd1 with 200 metrics connections"
t_check "... at most 16 more descriptors" [ "$fd1" -le $((fd0 + 16)) ]
t_check "... a scrape is answered meanwhile" grep -q '^handoffd_' <<<"$(scrape 1)"
out=$(c curl -s -m 10 -H 'Connection: close' "http://$TOPO_VIP2/")
t_check "... handoffs go on" grep -q "node n2" <<<"$out"
wait "$hold"
cat "$TOPO_STATE/hold.out"
topo_exec n1 python3 -c '
import socket
for i in range(16):
    socket.create_connection(("127.0.0.1", 9110), timeout=5).close()'
t_check "16 port probes closed at once leave room for a scrape" \
    grep -q '^handoffd_' <<<"$(scrape 1)"
# 16 clients that ask again and again and never read what they asked
# for: the oldest of them makes room for a scrape (all 16 held every
# scraper out until their deadline, with no haste needed).
topo_exec n1 timeout 30 python3 - >"$TOPO_STATE/noread.out" 2>&1 <<'PY' &
import socket, time
held = []
for i in range(16):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", 9110))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 40)
    held.append(s)
print("holding", len(held), flush=True)
time.sleep(6)
PY
noread=$!
t_wait_grep "$TOPO_STATE/noread.out" '^holding 16'
sleep 1
t_check "16 clients that do not read leave room for a scrape" \
    grep -q '^handoffd_' <<<"$(scrape 1)"
t_check "... and for the next" grep -q '^handoffd_' <<<"$(scrape 1)"
wait "$noread"
trickle=$(topo_exec n1 timeout 30 python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 9110), timeout=15)
t0 = time.time()
end = "open"
for c in b"GET /metrics HTTP/1.1\r\nHost: " + b"x" * 40:
    try:
        s.send(bytes([c]))
        s.setblocking(False)
        if s.recv(100) == b"":
            end = "cut"
            break
    except BlockingIOError:
        pass
    except OSError:
        end = "cut"
        break
    s.setblocking(True)
    time.sleep(1)
    if time.time() - t0 > 25:
        break
print("trickle %s after %.0f s" % (end, time.time() - t0))
PY
)
echo "$trickle"
t_check "a trickling client is cut within 10 s" grep -Eq '^trickle cut after (9|10|11) s$' <<<"$trickle"
# A request evhttp refuses itself (413: a POST with a body), then 64 MB
# more: the connection reads no more than a head's worth after it, however
# much comes (it held all of it in memory until its deadline).
rss() { awk '/^VmRSS/ { print $2 }' "/proc/${TOPO_PIDS[1]}/status"; }
rss0=$(rss)
topo_exec n1 timeout 30 python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 9110), timeout=3)
s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
chunk = b"x" * 65536
sent = 0
t0 = time.time()
try:
    while sent < 64 << 20 and time.time() - t0 < 8:
        sent += s.send(chunk)
except OSError:
    pass
print("sent %d bytes" % sent)
PY
rss1=$(rss)
echo "n1 RSS ${rss0} kB before, ${rss1} kB after"
t_check "... the daemon did not keep it (RSS grew by less than 8 MB)" \
    [ $((rss1 - rss0)) -lt 8192 ]
# Out of descriptors (its limit lowered below all it holds): accept()
# fails, and the listener waits instead of spinning, or crashing (its
# error callback took evhttp's argument for its own); with descriptors
# back it serves again.
pid=${TOPO_PIDS[1]}
lim=$(prlimit --pid "$pid" --nofile --output SOFT,HARD --noheadings)
prlimit --pid "$pid" --nofile=3:"${lim##* }"
for i in 1 2 3 4; do
	topo_exec n1 curl -s -m 2 -o /dev/null http://127.0.0.1:9110/metrics
done
t_check "... the daemon lives" kill -0 "$pid"
prlimit --pid "$pid" --nofile="${lim%% *}":"${lim##* }"
sleep 1.5
t_check "... and serves again once it has descriptors" [ -n "$(scrape 1)" ]
t_check "... having logged the failed accept" \
    t_wait_grep "$TOPO_STATE/n1.log" '^metrics: accept: Too many open files'
t_check "scrapes are served again" [ -n "$(scrape 1)" ]

# Drained and enabled, as the operator does it.
"$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" drain all/n2 >/dev/null
t_check "drained: member_drained 1" [ "$(metric 1 'handoffd_member_drained{pool="all",member="n2"}')" = 1 ]
t_check "... member_up 0" [ "$(metric 1 'handoffd_member_up{pool="all",member="n2"}')" = 0 ]
t_check "... pool remote unchanged" [ "$(metric 1 'handoffd_member_up{pool="remote",member="n2"}')" = 1 ]
"$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" weight all/n2 4 >/dev/null
"$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" enable all/n2 >/dev/null
t_check "enabled: member_up 1" [ "$(metric 1 'handoffd_member_up{pool="all",member="n2"}')" = 1 ]
t_check "... with its new weight" [ "$(metric 1 'handoffd_member_weight{pool="all",member="n2"}')" = 4 ]

# n2 goes away: its channel is down, its members out.
for n in 1 2; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
t_check "n2: clean exit (no leaks)" topo_stop 2
peer_down() { [ "$(metric 1 'handoffd_peer_up{peer="n2"}')" = 0 ]; }
t_check "n1: n2's channel is down" t_until peer_down
t_check "... and n2 out of its pools" [ "$(metric 1 'handoffd_member_up{pool="remote",member="n2"}')" = 0 ]
t_check "n1: clean exit (no leaks)" topo_stop 1
echo "all checks passed"

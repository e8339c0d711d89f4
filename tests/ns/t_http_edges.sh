#!/bin/bash
# The edges of a client's request at the front-end: malformed HTTP gets
# 400, a head over the limit 431, a client that closes its side right after
# the request is still answered (locally and through a handoff), a client
# that reuses its port at once is served again (lwIP's TIME_WAIT does not
# get in the way), and a client that gives up mid-request leaves nothing
# behind.
. "$(dirname "$0")/lib.sh"

TOPO_STACK=${EDGE_STACK:-lwip} TOPO_HS=${EDGE_HS:-lwip}
topo_init "http-edges-$TOPO_HS-$TOPO_STACK"
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s
  request_head_max: 2k
  mss: 1200"
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2"
for i in 1 2; do
	topo_config "$i"
	topo_nginx "$i"
done
topo_start 2
topo_start 1 ${EDGE_N1_ARGS:-}
t_check "front-end sees the back-end" topo_wait_peers 1 1
c() { topo_exec c "$@"; }

# The SYN/ACK promises the configured MSS, not the stack's own.
t_check "tcpdump listens" t_tcpdump c "$TOPO_STATE/synack.txt" 10 -i eth0 -n -v \
    -c 1 'tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)'
c curl -s -m 5 -o /dev/null "http://$TOPO_VIP/"
wait "$tcpdump_pid"
t_check "the SYN/ACK offers handoff.mss" grep -q "mss 1200" "$TOPO_STATE/synack.txt"

# 400: not HTTP at all.
out=$(c "$HANDOFFD_TOOLS/halfclose" "$TOPO_VIP" 80 $'HELLO THERE\r\n\r\n')
t_check "garbage gets 400" grep -q "^HTTP/1.1 400 " <<<"$out"
# 431: 3 KB of headers against a 2 KB limit, and a client still sending.
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
code=$(c curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://$TOPO_VIP/")
t_check "a head over request_head_max gets 431" [ "$code" = 431 ]
# What the front-end cannot route is answered whether or not the service
# has rules (these have none): a bad escape, an encoded NUL, a host with
# spaces, more than 128 header lines.
for bad in '/%zz|x' '/a%00b|x' '/|a b'; do
	out=$(c "$HANDOFFD_TOOLS/halfclose" "$TOPO_VIP2" 80 \
	    "GET ${bad%%|*} HTTP/1.1"$'\r\n'"Host: ${bad#*|}"$'\r\n\r\n')
	t_check "path ${bad%%|*}, host '${bad#*|}': 400 from the front-end" \
	    grep -q "^HTTP/1.1 400 " <<<"$out"
done
# A tab in the target (http-parser lets it by), and HTTP/0.9, which has no
# head to wait for (it waited for request_timeout, then 408).
out=$(c "$HANDOFFD_TOOLS/halfclose" "$TOPO_VIP2" 80 $'GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n')
t_check "a tab in the target: 400 from the front-end" grep -q "^HTTP/1.1 400 " <<<"$out"
out=$(c "$HANDOFFD_TOOLS/halfclose" "$TOPO_VIP" 80 $'GET /\r\n')
t_check "HTTP/0.9: 400 at once" grep -q "^HTTP/1.1 400 " <<<"$out"
# (x keeps $(...) from eating the last line ending)
many=$(for i in $(seq 1 130); do printf 'X-%d: y\r\n' "$i"; done; printf x)
many=${many%x}
out=$(c "$HANDOFFD_TOOLS/halfclose" "$TOPO_VIP2" 80 \
    "GET / HTTP/1.1"$'\r\n'"Host: x"$'\r\n'"$many"$'\r\n')
t_check "131 header lines get 431" grep -q "^HTTP/1.1 431 " <<<"$out"
t_check "400 counted" t_wait_stat "$TOPO_STATE/n1.status" http_400 6
t_check "431 counted" t_wait_stat "$TOPO_STATE/n1.status" http_431 2

# The client's FIN right behind its request, local and handed off.
for vip in "$TOPO_VIP" "$TOPO_VIP2"; do
	out=$(c "$HANDOFFD_TOOLS/halfclose" "$vip" 80 $'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
	t_check "request + FIN via $vip is answered" grep -q "^node n" <<<"$out"
done

# Port reuse: the same client port again at once, both ways, then to
# another VIP of the same back-end (the cookie service's pool is n2 too).
# The server closes first, so the client keeps no TIME_WAIT of its own but
# our stacks may, and the kernel's judges a SYN by the client's timestamp
# clock, which differs per destination.
for vip in "$TOPO_VIP" "$TOPO_VIP2" "$TOPO_VIP3"; do
	for k in 1 2 3; do
		out=$(c timeout 10 "$HANDOFFD_TOOLS/halfclose" -k -p 45000 "$vip" 80 \
		    $'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
		t_check "client port 45000 to $vip, round $k" grep -q "^node n" <<<"$out"
	done
done

echo "n2 reset $(t_stat "$TOPO_STATE/n2.status" be_tw_killed) TIME_WAITs of its kernel"

# A client that sends half a head and vanishes.
c bash -c "exec 3<>/dev/tcp/$TOPO_VIP/80; printf 'GET / HTTP/1.1\r\nHost' >&3; sleep 0.2; exec 3>&-"
for n in 1 2; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

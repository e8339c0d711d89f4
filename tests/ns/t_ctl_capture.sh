#!/bin/bash
# What the LAN sees of the control channel, and what it can do with it.  A
# capture while n1 hands connections to n2 holds neither the request line
# nor its cookie in clear.  A frame from the capture, injected by a host on
# the path into the live connection at the sequence numbers it expects,
# gets no HANDOFF executed: n2 refuses the record, logs and counts it.
# Replaying what n1 sent on a captured connection, over a new connection
# from n1's own address, fails the handshake.  n2's web server sees no
# extra request, and the cluster keeps serving.
. "$(dirname "$0")/lib.sh"

topo_init ctl-capture
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
for i in 1 2; do
	topo_config "$i"
	# Quieter connections: little moves between reading the capture and
	# the injection.
	printf '  heartbeat: 2s\n  dead_after: 5s\n' >>"$TOPO_STATE/n$i.yaml"
	topo_nginx "$i"
done
secret=/secret-handoff-path-4821
cookie=session=cookie-f00dfeed-c0ffee
echo "the secret page" >"$TOPO_STATE/www-n2/${secret#/}"

# From before the daemons start, so the capture has whole connections.
pcap=$TOPO_STATE/ctl.pcap
t_check "tcpdump is listening" t_tcpdump n1 "$TOPO_STATE/tcpdump.out" 600 \
    -i eth0 -U -Z root -s 0 -w "$pcap" 'tcp port 7100'
dump=$tcpdump_pid
topo_start 2
topo_start 1
t_check "n1 sees n2" topo_wait_peers 1 1

c() { topo_exec c "$@"; }
nreq() { grep -c "GET $secret" "$TOPO_STATE/nginx-n2/access.log"; }
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' \
    -H "Cookie: $cookie" "http://$TOPO_VIP2$secret?[1-5]")
t_check "5 requests handed to n2" [ "$(grep -c '^200$' <<<"$codes")" -eq 5 ]
t_check "n2's nginx served them" [ "$(nreq)" -eq 5 ]
t_check "n1 handed them off" t_wait_stat "$TOPO_STATE/n1.status" handoffs_acked 5
for n in 1 2; do
	t_check "n$n: flows closed" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
sleep 0.5

# 1. From the router, on the path: a captured HANDOFF into the live
# connection n1 dialled, as if from n1.
b2=$(t_stat "$TOPO_STATE/n2.status" ctl_bad_frames)
# A heartbeat that leaves between reading the capture and the injection
# makes the injection stale (the kernel drops it as a duplicate, by PAWS):
# the attacker reads the capture again and tries again.
injected() { grep -q "peer n1 (10.1.1.2:[0-9]*): decryption failed" "$TOPO_STATE/n2.log"; }
for i in $(seq 1 10); do
	out=$(topo_exec r python3 "$T_DIR/ctlattack.py" inject --client 10.1.1.2 \
	    "$pcap" 10.1.2.2:7100)
	echo "$out"
	sleep 0.3
	injected && break
done
t_check "a captured frame was injected" grep -q "inject: [1-9][0-9]* bytes" <<<"$out"
# The status file is rewritten every second; the stack takes a moment.
sleep 2
t_check "injection: no HANDOFF was executed" \
    [ "$(t_stat "$TOPO_STATE/n2.status" be_handoffs)" -eq 5 ]
t_check "injection: nginx saw no extra request" [ "$(nreq)" -eq 5 ]
t_check "injection: n2 refuses the record, and says why" \
    grep -q "peer n1 (10.1.1.2:[0-9]*): decryption failed or bad record mac; connection closed" "$TOPO_STATE/n2.log"
t_check "injection: counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_bad_frames $((b2 + 1))

sleep 0.5
kill -INT "$dump"
for i in $(seq 1 50); do kill -0 "$dump" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$dump" 2>/dev/null
wait "$dump"
ls -l "$pcap"
t_check "the capture holds the control traffic" [ "$(stat -c %s "$pcap")" -gt 3000 ]
t_check "the request line is not in clear" sh -c "! grep -a -q '$secret' '$pcap'"
t_check "nor the cookie" sh -c "! grep -a -q '${cookie#session=}' '$pcap'"

# 2. The bytes n1 sent n2 on the connection that carried the handoffs,
# replayed on a new connection from n1's address.
a2=$(t_stat "$TOPO_STATE/n2.status" ctl_auth_failed)
out=$(topo_exec n1 python3 "$T_DIR/ctlattack.py" replay --src 10.1.1.2 \
    "$pcap" 10.1.2.2:7100)
echo "$out"
t_check "a captured connection was replayed" grep -q "replay: sent [1-9][0-9]* bytes" <<<"$out"
t_check "replay: n2 refuses it, counted" \
    t_wait_stat "$TOPO_STATE/n2.status" ctl_auth_failed $((a2 + 1))
t_check "replay: logged" grep -q "peer n1 (10.1.1.2:[0-9]*): authentication failed" "$TOPO_STATE/n2.log"
sleep 2
t_check "replay: no HANDOFF was executed" \
    [ "$(t_stat "$TOPO_STATE/n2.status" be_handoffs)" -eq 5 ]
t_check "replay: nginx saw no extra request" [ "$(nreq)" -eq 5 ]

# n2 closed the connection; n1's TCP, which never sent what n2 acked,
# ignores that, so n1 finds out when n2's heartbeats stop.
t_check "n1 drops the connection that was tampered with" \
    t_wait_grep "$TOPO_STATE/n1.log" "peer n2 \(10.1.2.2:7100\): no heartbeat"
t_check "n1 and n2 are peers again" t_wait_grep "$TOPO_STATE/n1.status" "^member/remote/n2/up 1"
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP2/?[1-5]")
t_check "n2 still takes handoffs" [ "$(grep -c '^200$' <<<"$codes")" -eq 5 ]
for n in 1 2; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

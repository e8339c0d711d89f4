#!/bin/bash
# The control channel under bad input: a peer with the wrong pre-shared key
# is refused and logged on both sides; a connection from an address that
# is no peer's is closed unread; bytes that are not TLS fail the handshake;
# inside TLS, oversized, garbled, truncated and early frames, and a HELLO
# that contradicts the TLS identity, close only the connection they came
# on; the cluster keeps serving.
. "$(dirname "$0")/lib.sh"

topo_init ctl
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
for i in 1 2 3; do
	topo_config "$i"
	topo_nginx "$i"
done
# n3 holds another key.
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$TOPO_STATE/other.key")
sed -i "s|key_file: .*|key_file: $TOPO_STATE/other.key|" "$TOPO_STATE/n3.yaml"
topo_start 2
topo_start 3
topo_start 1
t_check "n1 and n2 authenticate each other" topo_wait_peers 1 1
# Each side refuses both the connection it dialled and the one it took.
t_check "n1 refuses n3 and says why" \
    t_wait_grep "$TOPO_STATE/n1.log" "peer n3 .*authentication failed: .*wrong pre-shared key"
t_check "n3 refuses n1 and says why" \
    t_wait_grep "$TOPO_STATE/n3.log" "peer n1 .*authentication failed: .*wrong pre-shared key"
t_check "n3 never came up at n1" sh -c "! grep -q 'peer n3 up' '$TOPO_STATE/n1.log'"
t_check "auth failures counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed 1

c() { topo_exec c "$@"; }
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP/?[1-30]")
t_check "all requests served without the refused peer" \
    [ "$(grep -c '^200$' <<<"$codes")" -eq 30 ]
t_check "nothing was handed to the refused peer" \
    sh -c "! grep -q GET '$TOPO_STATE/nginx-n3/access.log' 2>/dev/null"

# send NS BYTES: bytes in clear to n2's control port, from NS's address.
send() {
	topo_exec "$1" bash -c 'exec 3<>/dev/tcp/10.1.2.2/7100 || exit 1
	    printf "$1" >&3; sleep 0.3; exec 3>&-' sh "$2"
}
# From the client's address, which is no peer's: closed before reading.
send c 'HD\002\002\000\000\000\010garbage!'
t_check "a connection from a non-peer address is refused and logged" \
    t_wait_grep "$TOPO_STATE/n2.log" "connection from 10.0.0.2 refused: not a configured peer's address"
t_check "and counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_refused_addr 1
t_check "it never reached TLS" sh -c "! grep -q 'control 10.0.0.2' '$TOPO_STATE/n2.log'"
# From n3's address, allowed, but not TLS: the handshake fails.
auth0=$(t_stat "$TOPO_STATE/n2.status" ctl_auth_failed)
send n3 'GET / HTTP/1.1\r\n\r\n'
send n3 'HD\001\001\000\000\000\043\002n1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'	# a version 1 HELLO
t_check "bytes that are not TLS fail the handshake, logged" \
    t_wait_grep "$TOPO_STATE/n2.log" "control 10.1.3.2:[0-9]*: authentication failed: "
t_check "and counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_auth_failed $((auth0 + 2))

# A peer's address, but no handshake: closed at the deadline.
t0=$(t_stat "$TOPO_STATE/n2.status" ctl_handshake_timeout)
out=$(topo_exec n3 python3 "$T_DIR/ctlattack.py" probe --src 10.1.3.2 \
    --seconds 10 10.1.2.2:7100)
echo "$out"
t_check "a connection that does not authenticate is closed after 5 s" \
    grep -qE "probe: closed.* after (4[5-9]|5[0-9])[0-9]{2} ms" <<<"$out"
t_check "and counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_handshake_timeout $((t0 + 1))

# tls NS BYTES: bytes inside TLS to n2, as n1 with the right key, from
# n1's address: what a peer that holds the key but misbehaves can send.
psk=$(python3 "$T_DIR/ctlattack.py" psk "$TOPO_KEY" n1 n2)
tls() {
	topo_exec n1 bash -c '(printf "$1"; sleep 0.5) |
	    timeout 10 openssl s_client -quiet -no_ign_eof -tls1_3 \
	    -ciphersuites TLS_AES_128_GCM_SHA256 -psk "$2" -psk_identity n1 \
	    -bind 10.1.1.2:0 -connect 10.1.2.2:7100 >/dev/null 2>&1' sh "$1" "$psk"
}
tls 'HD\002\002\377\377\377\000'		# 4 GB HANDOFF: oversized
tls 'GET / HTTP/1.1\r\n\r\n'			# not our protocol
tls 'HD\002\001\000\000\000\012abc'		# truncated HELLO, then closed
tls 'HD\002\005\000\000\000\010\000\000\000\001\000\000\000\002'	# LOAD before HELLO
tls 'HD\002\001\000\000\000\013\002n3\000\000\000\000\000\000\000\001'	# HELLO as n3 over n1's key
t_check "oversized frame logged" t_wait_grep "$TOPO_STATE/n2.log" "oversized frame; connection closed"
t_check "garbage logged" t_wait_grep "$TOPO_STATE/n2.log" "bad magic"
t_check "frame before authentication logged" t_wait_grep "$TOPO_STATE/n2.log" "frame before authentication"
t_check "a HELLO that is not the TLS identity is refused" \
    t_wait_grep "$TOPO_STATE/n2.log" "peer n1 .*authentication failed: its HELLO says \"n3\""
t_check "bad frames counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_bad_frames 2
t_check "n1's channel to n2 survived" sh -c "! grep -q 'peer n1 down' '$TOPO_STATE/n2.log'"
t_check "n3 never came up at n2" sh -c "! grep -q 'peer n3 up' '$TOPO_STATE/n2.log'"
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP2/?[1-10]")
t_check "n2 still takes handoffs" [ "$(grep -c '^200$' <<<"$codes")" -eq 10 ]
for n in 1 2 3; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 3 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

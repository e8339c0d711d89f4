#!/bin/bash
# The control channel under bad input: a peer with the wrong pre-shared key
# is refused and logged on both sides; oversized, garbled and truncated
# frames close only the connection they came on; the cluster keeps serving.
. "$(dirname "$0")/lib.sh"

topo_init ctl
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
# n3 holds another key.
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$TOPO_STATE/other.key")
sed -i "s|key_file: .*|key_file: $TOPO_STATE/other.key|" "$TOPO_STATE/n3.yaml"
topo_start 2
topo_start 3
topo_start 1
t_check "n1 and n2 authenticate each other" topo_wait_peers 1 1
sleep 1
t_check "n1 refuses n3 and says why" \
    grep -q "peer n3 .*authentication failed" "$TOPO_STATE/n1.log"
t_check "n3 refuses n1 and says why" \
    grep -q "peer n1 .*authentication failed" "$TOPO_STATE/n3.log"
t_check "n3 never came up at n1" sh -c "! grep -q 'peer n3 up' '$TOPO_STATE/n1.log'"
t_check "auth failures counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed 1

c() { topo_exec c "$@"; }
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP/?[1-30]")
t_check "all requests served without the refused peer" \
    [ "$(grep -c '^200$' <<<"$codes")" -eq 30 ]
t_check "nothing was handed to the refused peer" \
    sh -c "! grep -q GET '$TOPO_STATE/nginx-n3/access.log' 2>/dev/null"

# Bad frames at n2's control port, each on its own connection.
send() {
	c bash -c 'exec 3<>/dev/tcp/10.1.2.2/7100 || exit 1
	    printf "$1" >&3; sleep 0.3; exec 3>&-' sh "$1"
}
send 'HD\002\003\377\377\377\000'		# 4 GB HANDOFF: oversized
send 'GET / HTTP/1.1\r\n\r\n'			# not our protocol
send 'HD\002\003\000\000\000\100abc'		# truncated, then closed
send 'HD\002\006\000\000\000\010\000\000\000\001\000\000\000\002'	# LOAD before auth
t_check "oversized frame logged" grep -q "oversized frame; connection closed" "$TOPO_STATE/n2.log"
t_check "garbage logged" grep -q "bad magic" "$TOPO_STATE/n2.log"
t_check "frame before authentication logged" grep -q "frame before authentication" "$TOPO_STATE/n2.log"
t_check "bad frames counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_bad_frames 2
t_check "n1's channel to n2 survived" sh -c "! grep -q 'peer n1 down' '$TOPO_STATE/n2.log'"
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP2/?[1-10]")
t_check "n2 still takes handoffs" [ "$(grep -c '^200$' <<<"$codes")" -eq 10 ]
t_finish

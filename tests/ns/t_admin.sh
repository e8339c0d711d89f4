#!/bin/bash
# handoffctl and the admin socket, on a 2-node cluster (pool "all": n1 and
# n2 in turn; pool "remote": n2).  status, peers, pools and flows answer,
# as tables and as JSON.  Draining n2 while a rate-limited download from it
# runs: no new request reaches n2's nginx, the download finishes intact;
# enabled, n2 serves again; a weight of 3 gives it 3 requests in 4.  Bad
# requests get errors; garbage, overlong lines and a flood of connections
# get an error or a close and the daemon carries on; a user who is neither
# root nor the daemon's is refused by the socket's mode and, with the mode
# opened, by the daemon.  A socket left by a killed daemon is replaced, one
# a running daemon answers on is not.
. "$(dirname "$0")/lib.sh"

topo_init admin
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
head -c 6M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
t_start_cluster
sock="$TOPO_STATE/n1.sock"
ctl() { "$HANDOFFCTL" -s "$sock" "$@"; }
c() { topo_exec c "$@"; }

# served_by URL...: the serving node's name for each, "fail" if none.
served_by() {
	local u
	for u in "$@"; do
		c curl -sf -m 10 -H 'Connection: close' "$u" |
		    awk '{ print $2 } END { if (NR == 0) print "fail" }'
	done
}
count() { grep -cx "$1" <<<"$2"; }

# 1. The socket and the read-only commands.
t_check "the socket has mode 600" [ "$(stat -c %a "$sock")" = 600 ]
out=$(ctl status)
echo "$out"
t_check "status names the node" grep -Eq '^node +n1$' <<<"$out"
t_check "status counts the peers" grep -Eq '^peers +1 of 1 up$' <<<"$out"
t_check "-j status is JSON" [ "$(ctl -j status | jq -r '.node, .peers_up, .max_flows' | tr '\n' ' ')" = "n1 1 65536 " ]
out=$(ctl peers)
echo "$out"
t_check "peers: n2's channel is up" grep -Eq '^n2 +10\.1\.2\.2:7100 +lwip +10\.2\.2\.2 +up ' <<<"$out"
t_check "-j peers" [ "$(ctl -j peers | jq -r '.peers[0] | "\(.peer) \(.up)"')" = "n2 true" ]
out=$(ctl pools)
echo "$out"
t_check "pools: a header and a row per member" [ "$(wc -l <<<"$out")" -eq 4 ]
t_check "pools: all/n2 is up with weight 1" grep -Eq '^all +round-robin +n2 +up +1 ' <<<"$out"
t_check "help lists the commands" sh -c "'$HANDOFFCTL' -s '$sock' help | grep -q '^drain member'"
"$HANDOFFCTL" -h | grep -q '^usage: handoffctl'
t_check "handoffctl -h: usage, exit 0" [ "${PIPESTATUS[0]}" -eq 0 ]

# 2. Bad requests: an error on standard error, exit 1.
check_err() {
	local what=$1 want=$2 out rc
	shift 2
	out=$(ctl "$@" 2>&1 >/dev/null)
	rc=$?
	echo "handoffctl $*: $out (exit $rc)"
	t_check "$what: exit 1" [ $rc -eq 1 ]
	t_check "$what: says why" grep -q "$want" <<<"$out"
}
check_err "an unknown command" 'unknown command "bogus"' bogus
check_err "an unknown node" 'no node "n9"' drain n9
check_err "an unknown pool" 'no pool "nopool"' drain nopool/n2
check_err "an unknown pool, before its node" 'no pool "a"' drain a/b/c
check_err "a node outside the pool" 'n1 is not a member of pool remote' drain remote/n1
check_err "weight 0" 'not a number from 1 to 1000' weight n2 0
check_err "a missing argument" 'usage: drain member' drain
check_err "flows -n junk" 'not a number' flows -n 1x
check_err "reload, extra words" 'usage: reload' reload now
t_check "reload: the file as it is, applied" \
    sh -c "'$HANDOFFCTL' -s '$sock' reload | grep -qx 'configuration reloaded'"

# An answer cut short (a daemon that dies while it writes one) prints
# nothing but the error: half a table or JSON object is no answer.
fake=$TOPO_STATE/fake.sock
python3 - "$fake" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.recv(300); c.sendall(b"ok\nnode n1\n"); c.close()
PY
fakepid=$!
t_until test -S "$fake"
out=$("$HANDOFFCTL" -s "$fake" status 2>"$TOPO_STATE/fake.err")
rc=$?
wait $fakepid
t_check "cut short: exit 1" [ $rc -eq 1 ]
t_check "cut short: nothing on stdout" [ -z "$out" ]
t_check "cut short: says so" grep -q "the answer was cut short" "$TOPO_STATE/fake.err"

# 3. Drain n2 while it serves a slow download (a small receive buffer at
# the client keeps the connection as slow as curl reads).
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
c curl -sf -m 90 --limit-rate 500k -o "$TOPO_STATE/big.got" \
    "http://$TOPO_VIP2/big.bin" &
dl=$!
flows_on_vip2() { ctl flows | grep -Eq " $TOPO_VIP2:80 +front-end +n2 "; }
t_check "flows shows the download handed to n2" t_until flows_on_vip2
t_check "... and n2's flows show it from n1" \
    sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n2.sock' flows | grep -Eq ' $TOPO_VIP2:80 +back-end +n1 '"
t_check "-j flows counts it" [ "$(ctl -j flows | jq '[.flows[] | select(.vip == "'$TOPO_VIP2':80")] | length')" -ge 1 ]
t_check "the download is under way when n2 is drained" kill -0 $dl
out=$(ctl drain n2)
echo "$out"
t_check "drain n2: drained in both its pools" \
    [ "$(printf '%s\n' "$out" | awk '{ print $1, $2 }' | tr '\n' ' ')" = "all/n2 drained remote/n2 drained " ]
t_check "pools shows n2 drained" \
    [ "$(ctl -j pools | jq -r '.pools[0].members[1].state')" = drained ]
t_check "the status file says so" t_wait_line "$TOPO_STATE/n1.status" "member/all/n2/state drained"
out=$(served_by $(printf "http://$TOPO_VIP/?loop=%d " $(seq 1 20)))
t_check "drained: 20 requests, all served by n1" [ "$(count n1 "$out")" -eq 20 ]
t_check "... none reached n2's nginx" \
    [ "$(grep -c 'loop=' "$TOPO_STATE/nginx-n2/access.log")" -eq 0 ]
code=$(c curl -s -m 10 -o /dev/null -w '%{http_code}' "http://$TOPO_VIP2/")
t_check "pool remote, whose only member is drained, answers 503" [ "$code" = 503 ]
t_check "the download from the drained n2 completed" wait $dl
got=$(sha256sum <"$TOPO_STATE/big.got" | cut -d' ' -f1)
t_check "... with the right sha256" [ "$got" = "$want" ]
t_check "... served by n2" grep -q 'GET /big.bin HTTP/1.1" 200 6291456' "$TOPO_STATE/nginx-n2/access.log"

out=$(ctl enable all/n2)
t_check "enable all/n2: up again, in pool all only" [ "$out" = "all/n2 up weight 1" ]
out=$(served_by $(printf "http://$TOPO_VIP/?again=%d " $(seq 1 20)))
t_check "enabled: n2 serves half of 20 requests again" [ "$(count n2 "$out")" -eq 10 ]
t_check "... and its nginx logged them" \
    [ "$(grep -c 'again=' "$TOPO_STATE/nginx-n2/access.log")" -eq 10 ]
t_check "remote/n2 is still drained" [ "$(ctl -j pools | jq -r '.pools[1].members[0].state')" = drained ]
ctl enable n2 >/dev/null

# 4. Weight: 3 for n2 against 1 for n1, in 20 requests 15 and 5.
t_check "weight all/n2 3" [ "$(ctl weight all/n2 3)" = "all/n2 up weight 3" ]
out=$(served_by $(printf "http://$TOPO_VIP/?w=%d " $(seq 1 20)))
t_check "weight 3: n2 serves 15 of 20" [ "$(count n2 "$out") $(count n1 "$out")" = "15 5" ]
t_check "pools shows the weight" grep -Eq '^all +round-robin +n2 +up +3 ' <<<"$(ctl pools)"

# 5. Garbage, overlong lines, floods: an error or a close, never a crash.
raw() { "$HANDOFFD_TOOLS/unixsock" "$sock"; }
out=$(head -c 3000 /dev/urandom | tr -d '\n' | raw)
t_check "3000 bytes without a newline: refused as too long" \
    grep -q '^error: the request is longer than 255 bytes' <<<"$out"
out=$(printf 'status\001\002\377\n' | raw)
t_check "control characters: not a line of text" \
    grep -q '^error: the request is not a line of text' <<<"$out"
# A NUL would cut the line short: "drain n2" must not drain n2.
out=$(printf 'drain n2\000x\n' | raw)
t_check "a NUL: not a line of text" \
    grep -q '^error: the request is not a line of text' <<<"$out"
t_check "... and nothing drained" \
    sh -c "! \"$HANDOFFCTL\" -s \"$sock\" pools | grep -q drained"
out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | raw)
t_check "an HTTP request: unknown command" grep -q '^error: unknown command "GET"' <<<"$out"
out=$(printf 'a b c d e f g h i j\n' | raw)
t_check "too many words" grep -q '^error: too many words' <<<"$out"
printf 'status\n' | raw >"$TOPO_STATE/raw.out"
t_check "the raw protocol: ok first" [ "$(head -n 1 "$TOPO_STATE/raw.out")" = ok ]
t_check "... an empty line last" [ -z "$(tail -n 1 "$TOPO_STATE/raw.out")" ]
t_check "... the body between" grep -Eq '^node +n1$' "$TOPO_STATE/raw.out"
"$HANDOFFD_TOOLS/unixsock" -n 40 -t 3 "$sock" >"$TOPO_STATE/hold.out" &
holder=$!
t_check "40 connections opened" t_wait_line "$TOPO_STATE/hold.out" ready
out=$(ctl status 2>&1)
t_check "beyond 16 connections: refused" grep -q 'too many connections' <<<"$out"
wait $holder
cat "$TOPO_STATE/hold.out"
t_check "... 24 of the 40 were closed by the daemon" grep -qx 'closed 24' "$TOPO_STATE/hold.out"
ctl_ok() { ctl status >/dev/null 2>&1; }
t_check "... and it answers again once they are gone" t_until ctl_ok
# 10 seconds is a deadline on both sides, not a silence: a request sent a
# byte every 2 s (whole at 12 s) is closed unanswered at 10 s, and
# handoffctl gives up at 10 s on a server that answers a byte every 1.2 s
# (each was an idle timeout, which a trickle never reached).
python3 - "$sock" >"$TOPO_STATE/trickle.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0, got = time.time(), b""
for c in b"status\n":
    try:
        s.send(bytes([c]))
    except OSError:
        break
    s.settimeout(2)
    try:
        got = s.recv(4096)
        break
    except socket.timeout:
        pass
print("after %.0f s: %s" % (time.time() - t0, "answered" if got else "closed"))
PY
trickler=$!
python3 - "$TOPO_STATE/slow.sock" <<'PY' &
import os, socket, sys, time
l = socket.socket(socket.AF_UNIX)
l.bind(sys.argv[1])
l.listen(1)
l.settimeout(10)
c, _ = l.accept()
c.recv(300)
for b in b"ok\nnode x\n\n":
    try:
        c.send(bytes([b]))
    except OSError:
        break
    time.sleep(1.2)
PY
slow=$!
for i in $(seq 1 50); do [ -S "$TOPO_STATE/slow.sock" ] && break; sleep 0.1; done
start=$SECONDS
out=$("$HANDOFFCTL" -s "$TOPO_STATE/slow.sock" status 2>&1)
rc=$?
took=$((SECONDS - start))
echo "handoffctl on a trickling server: exit $rc after $took s: $out"
gave_up() { [ "$rc" = 1 ] && [ "$took" -le 11 ] && grep -q 'no answer in time' <<<"$out"; }
t_check "handoffctl: no whole answer within 10 s, exit 1" gave_up
wait "$slow" "$trickler"
cat "$TOPO_STATE/trickle.out"
t_check "a request trickled over 12 s: closed unanswered at 10 s" \
    grep -Eq '^after (9|10|11) s: closed$' "$TOPO_STATE/trickle.out"
t_check "the daemon survived it all" kill -0 "${TOPO_PIDS[1]}"

# 6. Users: nobody is kept out by the socket's mode, then by the daemon.
# nobody may reach the socket's directory and run a copy of handoffctl.
chmod 711 "$TOPO_STATE"
install -m 755 "$HANDOFFCTL" "$TOPO_STATE/handoffctl"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$TOPO_STATE/handoffctl" -s "$sock" status
}
out=$(as_nobody 2>&1)
t_check "nobody: refused by the socket's mode, exit 1" [ $? -eq 1 ]
echo "$out"
t_check "... Permission denied" grep -q 'Permission denied' <<<"$out"
chmod 666 "$sock"
out=$(as_nobody 2>&1)
t_check "nobody, socket opened up: refused by the daemon, exit 1" [ $? -eq 1 ]
echo "$out"
t_check "... permission denied" grep -q '^handoffctl: permission denied' <<<"$out"
t_check "... and logged" grep -q "admin: refused a connection from uid $(id -u nobody)" "$TOPO_STATE/n1.log"
chmod 600 "$sock"

# 7. A socket left by a killed daemon is replaced at start; one a running
# daemon answers on is not taken over.
topo_kill 2
t_check "n2 killed: its socket is left" [ -S "$TOPO_STATE/n2.sock" ]
topo_start 2
t_check "n2 restarts over its old socket" \
    sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n2.sock' status | grep -Eq '^node +n2$'"
sed -e "s/^\(  name:\).*/\1 hoff9/" -e "s/^\(  control:\).*/\1 127.0.0.1:7100/" \
    -e '/status_file/d' "$TOPO_STATE/n1.yaml" >"$TOPO_STATE/twin.yaml"
out=$(timeout 20 unshare -n sh -c 'ip link set lo up && exec "$0" -d -c "$1"' \
    "$HANDOFFD" "$TOPO_STATE/twin.yaml" 2>&1)
t_check "a second daemon on n1's socket: exit 1" [ $? -eq 1 ]
echo "$out" | tail -3
t_check "... says another daemon answers on it" \
    grep -q "admin socket $sock: another daemon answers on it" <<<"$out"
t_check "n1 still answers" t_until ctl_ok

# 8. A missing socket directory is created with mode 0755 whatever the
# umask (handoffd.yaml(5)).
rundir="$TOPO_STATE/rundir"
sed -e "s|^\(  admin_socket:\).*|\1 $rundir/twin.sock|" "$TOPO_STATE/twin.yaml" \
    >"$TOPO_STATE/twin2.yaml"
timeout 10 unshare -n sh -c 'ip link set lo up && umask 077 && exec "$0" -d -c "$1"' \
    "$HANDOFFD" "$TOPO_STATE/twin2.yaml" >"$TOPO_STATE/twin2.log" 2>&1 &
twin=$!
twin_sock() { [ -S "$rundir/twin.sock" ]; }
t_check "a daemon under umask 077 creates its socket's directory" t_until twin_sock
t_check "... with mode 755" [ "$(stat -c %a "$rundir")" = 755 ]
kill "$twin" 2>/dev/null
wait "$twin"

for n in 1 2; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
	t_check "n$n: its socket is removed at exit" [ ! -e "$TOPO_STATE/n$n.sock" ]
done
echo "all checks passed"

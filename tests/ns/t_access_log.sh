#!/bin/bash
# node.access_log, as handoffd(8) ACCESS LOG describes it: the front-end
# (n1, lwip handshake) writes one line per client connection saying what
# it decided (served here, handed off, 400, 408, 431, closed, reset),
# with the request's method, target (escaped, cut at 256 bytes) and Host,
# pool, member and handoff latency; the node that served a connection
# writes one when it ends, with the bytes its server sent, which must be
# exactly what curl received.  n1 and n3 (lwIP stacks) log to files, n2
# (kernel stack) to a syslog socket, whose datagrams a listener here
# keeps.  logrotate's way: a moved file is reopened by handoffctl reopen
# and by SIGUSR2.
. "$(dirname "$0")/lib.sh"

topo_init access-log
TOPO_STACKS="lwip kernel lwip"
topo_cluster 3
export TOPO_REMOTE="n2 n3"
# The default linger (5 s): the serving node's line comes when its
# connection ends, not when its flow is let go.
export TOPO_YAML_HANDOFF="  linger: 5s
  request_timeout: 2s
  request_head_max: 8k"
syslog_sock="$TOPO_STATE/syslog.sock"
syslog_out="$TOPO_STATE/syslog.out"
for i in 1 2 3; do
	case $i in
	2) dest="syslog:$syslog_sock
  access_log_facility: local3" ;;
	*) dest="$TOPO_STATE/n$i.access" ;;
	esac
	TOPO_YAML_NODE="  access_log: $dest" topo_config "$i"
	topo_nginx "$i"
done
# The syslog daemon: every datagram, one per line (bounded in time; the
# namespace's teardown ends it sooner).
ip netns exec "$(topo_ns n2)" timeout 600 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$syslog_sock" "$syslog_out" &
disown
t_check "syslog listener up" t_until test -S "$syslog_sock"
t_start_cluster

c() { topo_exec c "$@"; }
fe_log="$TOPO_STATE/n1.access"
srv_log() {
	case $1 in
	n2) echo "$syslog_out" ;;
	*) echo "$TOPO_STATE/$1.access" ;;
	esac
}
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
head -c 300000 /dev/urandom >"$TOPO_STATE/big.bin"
for i in 1 2 3; do
	cp "$TOPO_STATE/big.bin" "$TOPO_STATE/www-n$i/big.bin"
done

# get URL PATH-IN-LOG MEMBER-RE: one request; its line at the front-end
# names it, and the serving node's line its exact bytes.
get() {
	local url=$1 want=$2 vip out port hsz dsz member
	vip=$(sed -E 's|http://([^/]*)/.*|\1|' <<<"$url")
	out=$(c curl -s -m 10 -o /dev/null -H 'Host: WWW.Example.COM:8080' \
	    -w '%{http_code} %{local_port} %{size_header} %{size_download}' "$url")
	read -r code port hsz dsz <<<"$out"
	t_check "GET $want: 200" [ "$code" = 200 ]
	t_check "GET $want: the front-end's line" t_wait_grep "$fe_log" \
	    "^$ts n1 fe 10\.0\.0\.2:$port $vip:80 GET $want www\.example\.com [a-z]+ n[123] (local|handoff) [0-9]+\$"
	# This request's line: the client's port alone may have served an
	# earlier request to another VIP.
	member=$(grep -E " fe 10\.0\.0\.2:$port $vip:80 GET $want " "$fe_log" |
	    awk '{ print $10 }' | tail -n 1)
	t_check "GET $want: the serving node's line ($member), $((hsz + dsz)) bytes, within 2 s and under the linger" \
	    t_wait_grep "$(srv_log "$member")" \
	    " $member be 10\.0\.0\.2:$port $vip:80 n1 done ([0-9]{1,3}|[1-4][0-9]{3}) $((hsz + dsz))\$" 2
	served[$member]=1
}

declare -A served
for k in 1 2 3 4 5 6; do
	get "http://$TOPO_VIP/index.html?k=$k" "/index\.html\?k=$k"
done
t_check "round robin: every node served" [ "${#served[@]}" = 3 ]
t_check "served here: local" grep -qE " fe 10\.0\.0\.2:[0-9]+ $TOPO_VIP:80 GET [^ ]+ [^ ]+ all n1 local [0-9]+\$" "$fe_log"
t_check "handed off: handoff" grep -qE " fe 10\.0\.0\.2:[0-9]+ $TOPO_VIP:80 GET [^ ]+ [^ ]+ all n2 handoff [0-9]+\$" "$fe_log"
for k in 1 2; do
	get "http://$TOPO_VIP/big.bin?k=$k" "/big\.bin\?k=$k"
done
# the cookie handshake: the BTCP decides, the line is the same
for k in 1 2; do
	get "http://$TOPO_VIP3/big.bin?c=$k" "/big\.bin\?c=$k"
done
t_check "syslog: local3.info, tag handoffd-access" \
    grep -qE "^<158>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} handoffd-access\[[0-9]+\]: $ts n2 be " "$syslog_out"

# raw CLIENT-SCRIPT: a python3 client of the VIP; prints its local port.
raw() {
	c python3 -c '
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=10)
print(s.getsockname()[1], flush=True)
exec(sys.argv[2])
' "$TOPO_VIP" "$1"
}
# decided PORT WHAT: the front-end logged WHAT for the client port PORT.
decided() {
	t_wait_grep "$fe_log" "^$ts n1 fe 10\.0\.0\.2:$1 $TOPO_VIP:80 $2\$"
}

port=$(raw 's.sendall(b"NOT HTTP\r\n\r\n"); s.recv(4096)')
t_check "not HTTP: 400, nothing known" decided "$port" "- - - - - 400 -"
port=$(raw 's.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"); s.recv(4096)')
t_check "a head over request_head_max: 431" decided "$port" "- - - - - 431 -"
port=$(raw 's.sendall(b"GET /slow HTTP/1.1\r\n"); s.recv(4096)')
t_check "a head not whole within request_timeout: 408" decided "$port" "- - - - - 408 -"
port=$(raw 's.close()')
t_check "closed before a request: closed" decided "$port" "- - - - - closed -"
port=$(raw 's.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.sendall(b"GET / HT"); time.sleep(0.3); s.close()')
t_check "reset before a whole request: reset" decided "$port" "- - - - - reset -"
# escaping and the cut: bytes that are not printable ASCII, and '"'
port=$(raw 's.sendall(b"GET /caf\xc3\xa9/\"q\" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); s.recv(4096)')
t_check "a target's other bytes escaped" decided "$port" \
    "GET /caf\\\\xc3\\\\xa9/\\\\x22q\\\\x22 h all n[123] (local|handoff) [0-9]+"
long=$(printf 'x%.0s' $(seq 1 300))
port=$(raw "s.sendall(b\"GET /$long HTTP/1.1\\r\\nHost: h\\r\\nConnection: close\\r\\n\\r\\n\"); s.recv(4096)")
t_check "a target over 256 bytes cut, with ..." decided "$port" \
    "GET /${long:0:255}\\.\\.\\. h all n[123] (local|handoff) [0-9]+"
fe_lines=$(grep -c " n1 fe " "$fe_log")

# logrotate: moved, then reopened by name
mv "$fe_log" "$fe_log.1"
t_check "handoffctl reopen" sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n1.sock' reopen | grep -q 'access log reopened'"
mv "$TOPO_STATE/n3.access" "$TOPO_STATE/n3.access.1"
kill -USR2 "${TOPO_PIDS[3]}"
t_check "n3 reopened on SIGUSR2" t_wait_grep "$TOPO_STATE/n3.log" "access log .*n3\.access reopened"
unset served
declare -A served
for k in 1 2 3 4 5 6; do
	get "http://$TOPO_VIP/index.html?after=$k" "/index\.html\?after=$k"
done
t_check "nothing after the move went to the old files" \
    sh -c "! grep -q after= '$fe_log.1' '$TOPO_STATE/n3.access.1'"
t_check "n3 served after its reopen" [ -n "${served[n3]:-}" ]

t_check "n1: one front-end line per connection" \
    [ "$((fe_lines + 6))" = "$(cat "$fe_log.1" "$fe_log" | grep -c ' n1 fe ')" ]
lines=$(cat "$fe_log.1" "$fe_log" | wc -l)
t_check "n1: its $lines lines counted" t_wait_stat "$TOPO_STATE/n1.status" access_log_lines "$lines"
t_check "n1: and no more" [ "$(t_stat "$TOPO_STATE/n1.status" access_log_lines)" = "$lines" ]
for i in 1 2 3; do
	t_check "n$i: no line lost" [ "$(t_stat "$TOPO_STATE/n$i.status" access_log_lost)" = 0 ]
done

# a configuration the daemon refuses, with where
bad="$TOPO_STATE/bad.yaml"
sed 's|^  access_log: .*|  access_log: syslog:dev/log|' "$TOPO_STATE/n1.yaml" >"$bad"
out=$("$HANDOFFD" -n -c "$bad" 2>&1)
t_check "access_log: syslog:RELATIVE is refused with file:line:col" \
    grep -qE "^$bad:[0-9]+:[0-9]+: .*must be absolute" <<<"$out"
# -n opens the access log as the start would: one the daemon cannot open
# (it would stop at start) is an error, one it can is OK.
check_n() {	# DEST: runs -n with node.access_log DEST, sets out and rc
	sed "s|^  access_log: .*|  access_log: $1|" "$TOPO_STATE/n1.yaml" >"$bad"
	out=$(timeout 10 "$HANDOFFD" -n -c "$bad" 2>&1)
	rc=$?
}
said() { [ "$rc" = "$1" ] && grep -q "$2" <<<"$out"; }
check_n "$TOPO_STATE/nodir/access.log"
t_check "-n: an access log in no directory is refused, exit 1" \
    said 1 "access log $TOPO_STATE/nodir/access.log: No such file or directory"
mkfifo "$TOPO_STATE/fifo.log"
check_n "$TOPO_STATE/fifo.log"
t_check "-n: a FIFO for the access log is refused, exit 1" \
    said 1 "fifo.log: not a regular file"
touch "$TOPO_STATE/other.log"
chown nobody "$TOPO_STATE/other.log"
check_n "$TOPO_STATE/other.log"
t_check "-n: another user's access log is refused, exit 1" \
    said 1 "other.log: not root's or the daemon's user's, writable by others, or not its only name"
chown root "$TOPO_STATE/other.log"
chmod 666 "$TOPO_STATE/other.log"
check_n "$TOPO_STATE/other.log"
t_check "-n: one writable by others is refused, exit 1" \
    said 1 "other.log: not root's or the daemon's user's, writable by others, or not its only name"
chmod 640 "$TOPO_STATE/other.log"
ln "$TOPO_STATE/other.log" "$TOPO_STATE/other2.log"
check_n "$TOPO_STATE/other.log"
t_check "-n: one with another name (a hard link) is refused, exit 1" \
    said 1 "other.log: not root's or the daemon's user's, writable by others, or not its only name"
check_n "$TOPO_STATE/new.log"
t_check "-n: an access log it can create is OK" \
    said 0 "configuration OK"
t_check "-n: ... and created, as the start would" [ -f "$TOPO_STATE/new.log" ]
# A syslog socket that is not there: the daemon would start and try it
# again; -n warns, as for what it finds on the host.
check_n "syslog:$TOPO_STATE/nosuch.sock"
t_check "-n: a missing syslog socket is a warning, exit 0" \
    said 0 "^warning: access log: syslog socket $TOPO_STATE/nosuch.sock: No such file or directory"
t_finish

#!/bin/bash
# Nothing hangs.  A kept-alive connection idle past handoff.idle is reset
# at the client (lwip and cookie handshakes, kernel and lwIP stacks) and
# at the back-end's kernel, never left to hang in silence.  A back-end daemon killed during a
# download: its client's curl fails within seconds, not at its own
# timeout, whether the daemon stays away (control.dead_after) or comes
# back at once (a new process: its HELLO says so).
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel lwip"
topo_init nohang
topo_cluster 3
export TOPO_MEMBERS="n3" TOPO_YAML_NODE="  access_log: access.log" \
    TOPO_YAML_HANDOFF="  linger: 1s
  idle: 2s"
t_configure_all
head -c 20M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
t_start_cluster
c() { topo_exec c "$@"; }

# idle VIP: a kept-alive request answered, then silence; what the client
# sees after 4 s.
idle() {
	c python3 - "$1" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while b"node n" not in got:
    got += s.recv(4096)
time.sleep(4)
try:
    b = s.recv(4096)
    print("read %d bytes" % len(b) if b else "eof")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("hung")
PY
}
out=$(idle "$TOPO_VIP2")
t_check "idle past handoff.idle (lwip handshake): the client is reset ($out)" [ "$out" = reset ]
out=$(idle "$TOPO_VIP3")
t_check "idle past handoff.idle (cookie handshake): the client is reset ($out)" [ "$out" = reset ]
# whichever of the front-end and the back-end expired it first
idles() { [ $(( $(t_stat "$TOPO_STATE/n1.status" fe_idle) + $(t_stat "$TOPO_STATE/n2.status" be_idle) )) -ge 2 ]; }
t_check "... counted" t_until idles
no_kernel_conns() { ! topo_exec n2 ss -Htn state established src 10.2.2.1 | grep -q .; }
t_check "n2's kernel let go of both connections" t_until no_kernel_conns
# The lwIP stack (n3, pool "all") the same: reset, counted and ended as
# idle, not as a server's reset.
out=$(idle "$TOPO_VIP")
t_check "idle past handoff.idle (lwIP stack): the client is reset ($out)" [ "$out" = reset ]
t_check "... counted at n3" t_wait_stat "$TOPO_STATE/n3.status" be_idle 1
t_check "... logged as idle, at once" \
    t_wait_grep "$TOPO_STATE/access.log" " n3 be [^ ]+ $TOPO_VIP:80 n1 idle [0-9]+ [0-9]+\$" 1

# kill9 RESTART: a download at 1 MB/s from n2, whose daemon is killed
# after 2 s (and started again at once if RESTART=1); sets rc, curl's exit
# code, and ms, how long after the kill it came.  The client's receive
# buffer is small, so that most of the file is still to come at the kill.
c sysctl -qw net.ipv4.tcp_rmem="4096 65536 262144"
kill9() {
	local dl t0
	c curl -s -m 60 --limit-rate 1M -o /dev/null "http://$TOPO_VIP2/big.bin" &
	dl=$!
	sleep 2
	topo_kill 2
	t0=$(date +%s%N)
	[ "$1" = 1 ] && topo_start 2
	wait "$dl"
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
kill9 0
echo "back-end killed: curl exit $rc after $ms ms"
t_check "back-end killed for good: the download fails" [ "$rc" -ne 0 ]
t_check "... within 10 s of the kill" [ "$ms" -lt 10000 ]
topo_start 2
t_check "n2 is back" t_wait_line "$TOPO_STATE/n1.status" "member/remote/n2/up 1"
kill9 1
echo "back-end killed and restarted: curl exit $rc after $ms ms"
t_check "back-end killed and restarted: the download fails" [ "$rc" -ne 0 ]
t_check "... within 10 s of the kill" [ "$ms" -lt 10000 ]
t_check "n1 saw the restart" grep -q "peer n2 restarted" "$TOPO_STATE/n1.log"
t_finish

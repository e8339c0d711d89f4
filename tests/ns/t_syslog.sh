#!/bin/bash
# A daemon started without -d logs to syslog(3), as handoffd(8) LOGGING
# says, and what it says while it starts, before it detaches (the "host:"
# warnings, running as root), goes there as well as to standard error: a
# private mount namespace gives it a /dev/log of this test's own, whose
# datagrams a listener keeps.
. "$(dirname "$0")/lib.sh"

topo_init syslog
topo_ns_add n1
dir=$TOPO_STATE
(umask 077; head -c 32 /dev/urandom | base64 >"$dir/k.key")
# 10.9.0.1 is routed into no device here: a "host:" warning.
printf '%s\n' \
    'node: {id: n1, control: 127.0.0.1:7100, server: 10.2.1.1:80, admin_socket: none}' \
    'tun: {name: hoffsl0, address: 10.2.1.1/24}' \
    'lwip: {address: 10.2.1.2}' \
    'services: [{name: web, listen: 10.9.0.1:80, pool: all}]' \
    'pools: [{name: all, members: [n1]}]' \
    'control: {key_file: k.key}' >"$dir/h.yaml"
# In a mount namespace of its own: a /dev with what the daemon opens, a
# listener on its /dev/log, the daemon until syslog says it runs.
inside() {
	local dir=$1 ns=$2 i listener
	mount --make-rprivate / &&
	    mount -t tmpfs none /dev &&
	    mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/urandom c 1 9 &&
	    mkdir /dev/net && mknod -m 600 /dev/net/tun c 10 200 || return 1
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(0.5)
end = time.time() + 15
with open(sys.argv[1], "ab", buffering=0) as f:
    while time.time() < end:
        try:
            f.write(s.recv(65536) + b"\n")
        except socket.timeout:
            pass
' "$dir/syslog.out" &
	listener=$!
	for i in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done
	ip netns exec "$ns" "$HANDOFFD" -c "$dir/h.yaml" 2>"$dir/stderr.out"
	echo "exit $?" >"$dir/exit.out"
	for i in $(seq 1 100); do
		grep -q 'node n1 running' "$dir/syslog.out" 2>/dev/null && break
		sleep 0.1
	done
	ip netns pids "$ns" | xargs -r kill
	sleep 0.5	# its last lines
	kill "$listener"
	wait
}
export -f inside
export HANDOFFD
timeout 30 unshare -m bash -c 'inside "$@"' inside "$dir" "$(topo_ns n1)"
echo "--- standard error:"; cat "$dir/stderr.out"
echo "--- syslog:"; cat "$dir/syslog.out"
t_check "the daemon detached, exit 0" grep -qx 'exit 0' "$dir/exit.out"
t_check "syslog: it runs" grep -q 'handoffd\[[0-9]*\]: node n1 running' "$dir/syslog.out"
t_check "syslog: the host warnings of its start" \
    grep -q 'handoffd\[[0-9]*\]: host: service web: 10.9.0.1' "$dir/syslog.out"
t_check "syslog: running as root" \
    grep -q 'handoffd\[[0-9]*\]: running as root: set node.user' "$dir/syslog.out"
t_check "standard error: the host warnings too" \
    grep -q '^host: service web: 10.9.0.1' "$dir/stderr.out"
t_check "standard error: nothing once it detached" \
    sh -c "! grep -q 'node n1 running' '$dir/stderr.out'"
echo "all checks passed"

#!/bin/bash
# A front-end that restarts without its connections (no node.state_file)
# while a finished connection's last ACK is lost: the back-end's kernel
# sends its FIN again, further apart each time, and the client's only
# answer is the acknowledgment of each.  The restarted front-end looks
# that acknowledgment up and sends it on to the kernel, which closes; the
# back-end's flow ends within its linger instead of lingering on (up to
# two minutes) while each lookup's segment was dropped and the front-end's
# own linger ran out before the next retransmission.
. "$(dirname "$0")/lib.sh"

topo_init lastack
TOPO_STACK=kernel
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster

# The client: a request, its answer, then "close" on stdin: its FIN, and
# the server's, read to the end.
cat >"$TOPO_STATE/client.py" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=30)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, body = buf.split(b"\r\n\r\n", 1)
n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
     if l.lower().startswith(b"content-length:")][0]
while len(body) < n:
    body += s.recv(4096)
print("answered", flush=True)
sys.stdin.readline()
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
print("closed", flush=True)
EOF
mkfifo "$TOPO_STATE/ctl"
topo_exec c python3 "$TOPO_STATE/client.py" "$TOPO_VIP" <"$TOPO_STATE/ctl" \
    >"$TOPO_STATE/client.out" 2>&1 &
client=$!
exec 3>"$TOPO_STATE/ctl"
t_check "the client has its answer" \
    t_until grep -q answered "$TOPO_STATE/client.out"

# The client's acknowledgments of the server's FIN are lost on the way.
topo_exec c nft -f - <<EOF
table ip lastack {
	chain out {
		type filter hook output priority 0;
		ip daddr $TOPO_VIP tcp dport 80 tcp flags & (fin|syn|rst|psh|ack) == ack counter drop
	}
}
EOF
echo close >&3
t_check "the client's connection is closed" \
    t_until grep -q closed "$TOPO_STATE/client.out"
lingers() { "$HANDOFFCTL" -s "$TOPO_STATE/n2.sock" flows | grep -q linger; }
t_check "n2 lingers, its kernel sending its FIN again" t_until lingers
dropped() {
	topo_exec c nft list table ip lastack | grep -q 'packets [1-9]'
}
t_check "the client's last ACK was dropped" t_until dropped

# The front-end dies and comes back without the connection; the path is
# clean again.
topo_kill 1
topo_start 1
t_check "n1 back, with its peer" topo_wait_peers 1 1
topo_exec c nft delete table ip lastack
t_check "n1 looks the client's ACK up and finds it" \
    t_wait_stat "$TOPO_STATE/n1.status" lookups_found 1
t_check "n2's flow ends (its kernel has the ACK)" \
    t_wait_flows "$TOPO_STATE/n2.status" 0
t_check "n1 found it once: the ACK it asked with went on" \
    [ "$(t_stat "$TOPO_STATE/n1.status" lookups_found)" = 1 ]
exec 3>&-
wait "$client"
t_finish

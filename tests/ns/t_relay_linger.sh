#!/bin/bash
# An lwIP-stack back-end's relay when both FINs are out before the server
# has all of the client's bytes, in either order:
# 1. A server that answers, half-closes and stops reading (a "lingering
#    close") while the client is still uploading: the relay sends the
#    client its FIN, the client's rest and FIN come in and wait for the
#    server, and the client's connection goes to lwIP's TIME_WAIT.  More
#    than 256 connections after it end that TIME_WAIT early (lwip_tw_cut),
#    and the relay, when it idles out later, must not touch the connection
#    lwIP freed (a sanitizer report, or a dead daemon, fails the test).
# 2. A client that uploads and half-closes first, and a server that answers
#    and half-closes before it has read the upload: the relay's FIN puts
#    the connection in LAST_ACK, the client acknowledges it, and lwIP frees
#    it; the server must still get every byte of the upload.
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init relay-linger
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s
  idle: 4s"
t_configure_all
# n2's server is ours, not nginx: small socket buffers, so that what the
# client uploads waits in the relay.
topo_exec n2 nginx -c "$TOPO_STATE/nginx-n2/nginx.conf" -p "$TOPO_STATE/nginx-n2" -s stop
for i in $(seq 1 50); do
	topo_exec n2 ss -ltn | grep -q ':80 ' || break
	sleep 0.1
done
topo_exec n2 sysctl -qw net.ipv4.tcp_wmem="4096 4096 4096" net.ipv4.tcp_rmem="4096 4096 4096"
cat >"$TOPO_STATE/linger.py" <<'EOF'
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))	# node.server, and the health checks
s.listen(512)
ok = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok\n"
def serve(c):
    head = b""
    while b"\r\n\r\n" not in head:
        b = c.recv(4096)
        if not b:
            break
        head += b
    if head.startswith(b"POST /up "):
        c.sendall(ok)
        c.shutdown(socket.SHUT_WR)	# the answer is out; read no more
        time.sleep(30)
    elif head.startswith(b"POST /last "):
        got = len(head.split(b"\r\n\r\n", 1)[1])
        time.sleep(2)	# the client's rest and FIN reach the relay
        c.sendall(ok)
        c.shutdown(socket.SHUT_WR)
        time.sleep(2)	# the client acknowledges our FIN
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += len(b)
        open(sys.argv[1], "w").write(str(got))
    else:
        # no length: the body ends with the FIN, which so comes first
        # from lwIP, whose connection then goes to TIME_WAIT
        c.sendall(ok)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
# not through topo_exec: $! must be the server itself
ip netns exec "$(topo_ns n2)" python3 "$TOPO_STATE/linger.py" "$TOPO_STATE/got" &
srv=$!
trap 'kill $srv 2>/dev/null; topo_cleanup' EXIT
for i in $(seq 1 50); do
	topo_exec n2 ss -ltn | grep -q '0.0.0.0:80 ' && break
	sleep 0.1
done
t_start_cluster

c() { topo_exec c "$@"; }
vip="http://$TOPO_VIP"

# 1. The upload: curl sends 200 KB after the head; the answer and the
# server's FIN come back at once.  curl reads the answer and closes.
head -c 200K /dev/urandom >"$TOPO_STATE/body.bin"
out=$(c curl -s -m 20 -H 'Expect:' --data-binary @"$TOPO_STATE/body.bin" "$vip/up")
t_check "the upload is answered" [ "$out" = ok ]

# 2. More than 256 connections after it: its TIME_WAIT is cut early.
codes=$(c curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "$vip/?n=[1-300]")
t_check "300 requests after it: all 200" [ "$(grep -c '^200$' <<<"$codes")" -eq 300 ]
t_check "n2's lwIP ended TIME_WAITs early" t_wait_stat "$TOPO_STATE/n2.status" lwip_tw_cut 1

# 3. The relay idles out (handoff.idle: 4s) with the server still not
# reading; the daemon goes on.
sleep 6
out=$(c curl -s -m 10 -H 'Connection: close' "$vip/")
t_check "n2 still answers" [ "$out" = ok ]
t_check "n2's daemon is alive" kill -0 "${TOPO_PIDS[2]}"

# 4. The client half-closes first; the server answers and half-closes
# before reading the upload.
cat >"$TOPO_STATE/last.py" <<EOF
import socket
body = b"x" * 200000
s = socket.create_connection(("$TOPO_VIP", 80))
s.sendall(b"POST /last HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.shutdown(socket.SHUT_WR)
r = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    r += b
print(r.split(b"\r\n")[0].decode(), flush=True)
EOF
out=$(c timeout 20 python3 "$TOPO_STATE/last.py")
t_check "the half-closed upload is answered" [ "$out" = "HTTP/1.1 200 OK" ]
t_check "the server got all 200000 bytes of it" t_wait_grep "$TOPO_STATE/got" "^200000$"

kill "$srv" 2>/dev/null
t_finish

#!/bin/bash
# A request head up to request_head_max is routed, however large (up to
# 1m), and one byte more gets 431, with either handshake: http-parser
# stops at 80 KB of head on its own, which the front-end answered 400, and
# with cookies and request_buffer_max at request_head_max a head of exactly
# that size stalled at the window's last scaled unit (408 at the deadline)
# and one over it could never be seen (431 never came).
. "$(dirname "$0")/lib.sh"

topo_init head-limits
topo_cluster 2
export TOPO_YAML_HANDOFF="  request_head_max: 128k
  request_buffer_max: 128k
  request_timeout: 5s"
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2"
for i in 1 2; do
	topo_config "$i"
	topo_nginx "$i"
done
topo_start 2
topo_start 1
t_check "front-end sees the back-end" topo_wait_peers 1 1
c() { topo_exec c "$@"; }
st="$TOPO_STATE/n1.status"

# head SIZE: a GET whose head is SIZE bytes, padded by 4000-byte headers.
head() {
	python3 - "$1" <<'PY'
import sys
size = int(sys.argv[1])
h = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
end = "\r\n"
pads = []
left = size - len(h) - len(end)
while left > 0:
	n = min(4000, left)
	if n < 8:		# too short for a header: grow the last one
		pads[-1] += "a" * n
		break
	pads.append("X-P%d: " % len(pads) + "a" * (n - len("X-P%d: " % len(pads)) - 2) + "\r\n")
	left -= n
sys.stdout.write(h + "".join(pads) + end)
PY
}
for size in 90000 131072 131073; do
	head "$size" >"$TOPO_STATE/head.$size"
	t_check "the head is $size bytes" [ "$(stat -c %s "$TOPO_STATE/head.$size")" -eq "$size" ]
done
# answer VIP SIZE: the status line that a head of SIZE bytes to VIP gets
# (the sending side kept open, as a client waiting for its answer does).
answer() {
	c timeout 20 python3 - "$1" "$TOPO_STATE/head.$2" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=15)
s.sendall(open(sys.argv[2], "rb").read())
got = b""
while b"\r\n" not in got:
	b = s.recv(4096)
	if not b:
		break
	got += b
print(got.split(b"\r\n")[0].decode(errors="replace"))
PY
}
# own: the answers the front-end gave itself so far (the status file is
# rewritten every second).
own() {
	topo_fresh "$st"
	echo "$(t_stat "$st" http_400) $(t_stat "$st" http_408) $(t_stat "$st" http_431)"
}

for vip in "$TOPO_VIP" "$TOPO_VIP3"; do
	before=$(own)
	for size in 90000 131072; do
		out=$(answer "$vip" "$size")
		t_check "a $size-byte head via $vip is answered ($out)" [ -n "$out" ]
		t_check "... by a web server, not the front-end" [ "$(own)" = "$before" ]
	done
	out=$(answer "$vip" 131073)
	t_check "a 131073-byte head via $vip gets 431 ($out)" [ "$out" = "HTTP/1.1 431 Request Header Fields Too Large" ]
done

# request_buffer_max at request_head_max, 64k: the cookie handshake's
# first window (its SYN/ACK's, unscaled) is 65535 bytes, after which the
# buffer had room for one more, less than a unit of the window's scale.
export TOPO_YAML_HANDOFF="  request_head_max: 64k
  request_buffer_max: 64k
  request_timeout: 5s"
topo_config 1
t_check "n1 reloads" "$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" reload
for size in 65536 65537; do
	head "$size" >"$TOPO_STATE/head.$size"
done
for vip in "$TOPO_VIP3" "$TOPO_VIP"; do
	before=$(own)
	out=$(answer "$vip" 65536)
	t_check "a 65536-byte head via $vip is answered ($out)" [ -n "$out" ]
	t_check "... by a web server, not the front-end" [ "$(own)" = "$before" ]
	out=$(answer "$vip" 65537)
	t_check "a 65537-byte head via $vip gets 431 ($out)" [ "$out" = "HTTP/1.1 431 Request Header Fields Too Large" ]
done
t_finish

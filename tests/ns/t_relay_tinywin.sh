#!/bin/bash
# Clients whose windows are tiny (raw sockets: Linux will not announce
# them).  Bounded: each client runs 10 s at most.
# 1. A SYN announcing a window of 20 (timestamps on) at an lwip-handshake
#    front-end that relays locally (the client's own SYN made lwIP's pcb):
#    tcp_write cuts segments at half the largest window seen too, which
#    wrapped below the timestamp option and aborted the daemon; that
#    window is raised with the MSS at accept (port_tcp_clamp_mss).
# 2. A back-end answering a client whose SYN announced 64 KB and whose
#    window then stays at 20: lwIP's persist timer splits the unsent
#    segment that carries the FIN (the server's close), and the FIN must
#    go with the second part only (our lwIP patch 0005): it stayed on the
#    first, and the client read 20 bytes and an end of stream.
# 3. A back-end answering a client whose window stays at 1000 bytes, below
#    one segment: its SYN is injected with the client's window, which lwIP
#    cuts its segments to half of.
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init relay-tinywin
topo_cluster 2
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2" TOPO_YAML_HANDOFF="  linger: 1s
  idle: 5s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
printf '%0300d' 0 >"$TOPO_STATE/www-n2/small.bin"
head -c 64K /dev/urandom >"$TOPO_STATE/www-n2/mid.bin"
head -c "${FSIZE:-4K}" /dev/urandom >"$TOPO_STATE/www-n1/f.bin"
c nft -f - <<NFT
table ip rawc {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp sport { 41000-41010 } tcp flags & rst == rst drop
	}
}
NFT
raw() {	# DST SPORT WINDOW REQUEST SECONDS [MODE]
	local dst=$1
	shift
	c timeout 30 python3 "$T_DIR/rawclient.py" 10.0.0.2 "$dst" 80 "$@"
}

if [ "${PART:-12}" != 1 ]; then
	# 2. first: it needs the front-end alive
	len=$(c curl -s -m 5 -H "Connection: close" "http://$TOPO_VIP2/small.bin" -D - -o /dev/null | wc -c)
	want=$((len + 300))
	out=$(raw "$TOPO_VIP2" 41001 20 'GET /small.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 10 big-syn)
	echo "back-end, window 20, $want bytes due: $out"
	t_check "a window of 20: the whole answer before the FIN" \
	    [ "$out" = "bytes $want fin 1 rst 0" ]
	# 3. A window of 1000 bytes for good, below one segment (MSS 1460):
	# the stack cuts its segments to half of it, as a kernel would, and
	# 64 KB arrive in well under a second; with 1460-byte segments (its
	# SYN said 65535) only the persist timer sent, a window every few
	# hundred ms: 64 KB took 15 s.
	len=$(c curl -s -m 5 -H "Connection: close" "http://$TOPO_VIP2/mid.bin" -D - -o /dev/null | wc -c)
	want=$((len + 65536))
	out=$(raw "$TOPO_VIP2" 41002 1000 'GET /mid.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 8)
	echo "back-end, window 1000, $want bytes due: $out"
	t_check "a window below one segment: 64 KB within 8 s" \
	    [ "$out" = "bytes $want fin 1 rst 0" ]
fi
if [ "${PART:-12}" != 2 ]; then
	out=$(raw "$TOPO_VIP" 41000 20 'GET /f.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 5)
	echo "front-end (local relay), window 20: $out"
	t_check "the front-end survives a client whose window is 20" kill -0 "${TOPO_PIDS[1]}"
fi
t_check "served afterwards" [ "$(c curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$TOPO_VIP/")" = 200 ]
t_finish

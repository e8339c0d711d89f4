#!/bin/bash
# Hostile clients of lwIP nodes (raw sockets), each with a connection of
# its own; a lwip-handshake front-end hands the request to an lwIP-stack
# back-end.  Both must serve the whole answer, and survive.
# 1. A FIN half the sequence space (2^31) from the next byte lwIP expects:
#    once at the front-end before the request, once at the back-end with
#    the answer arriving.  lwIP 2.1.3 took the next byte expected for
#    inside that FIN, "trimmed" 2^31 bytes off and asserted: one packet
#    aborted either daemon (our lwIP patch 0011).
# 2. A SYN/ACK/FIN carrying another request, in place of the handshake's
#    ACK: lwIP 2.1.3 took it for that ACK and the SYN for a byte of data,
#    and handed off that request, a byte shifted (patch 0012: a challenge
#    ACK, the segment dropped).
# 3. A forged ACK of an answer segment the client lost, from a sequence
#    number 2^31 away: lwIP read the acknowledgment of any segment and
#    freed the segment, which the client then waited for in vain (patch
#    0016: a segment outside the receive window gets an ACK and nothing
#    else).
# 4. Not hostile, a lossy path: two pipelined requests, each in two
#    segments, arrive in the order 2, 4, 1, 3.  The front-end's lwIP holds
#    2 and 4 out of order and SACKs them; the request is whole at 1 and
#    handed off; 4, which a client sends again only at its timeout (this
#    one never), must reach the back-end from the front-end.
# 5. Not hostile either: a client that offers SACK but never sends a block
#    (RFC 2018 allows it) loses an answer segment.  Its duplicate ACKs
#    carry no blocks, which lwIP's SACK recovery alone never read: the
#    loss waited for the retransmission timeout (patch 0018: the third
#    duplicate ACK resends it, counted in lwip_dupack_loss).
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

topo_init lwip-hostile
topo_cluster 2
export TOPO_MEMBERS="n1" TOPO_REMOTE="n2" TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
head -c 200K /dev/urandom >"$TOPO_STATE/www-n2/f.bin"
c nft -f - <<NFT
table ip rawc {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp sport { 41000-41004 } tcp flags & rst == rst drop
	}
}
NFT
get='GET /f.bin HTTP/1.1\r\nHost: a\r\n'
raw() { c timeout 30 python3 "$T_DIR/rawclient.py" 10.0.0.2 "$TOPO_VIP2" 80 "$1" 65535 \
    "${3:-}$get"'Connection: close\r\n\r\n' 10 "$2"; }

len=$(c curl -s -m 5 -H "Connection: close" "http://$TOPO_VIP2/f.bin" -D - -o /dev/null | wc -c)
want=$((len + 200 * 1024))
out=$(raw 41000 half-fin)
echo "1. two FINs 2^31 away, $want bytes due: $out"
t_check "1. the whole answer, then the FIN" [ "$out" = "bytes $want fin 1 rst 0" ]
out=$(raw 41001 synack-req)
echo "2. a SYN/ACK/FIN with another request first, $want bytes due: $out"
t_check "2. the whole answer to the request sent after it" [ "$out" = "bytes $want fin 1 rst 0" ]
out=$(raw 41002 blind-ack)
echo "3. a forged ACK of a lost segment, $want bytes due: $out"
t_check "3. the whole answer, the lost segment sent again" [ "$out" = "bytes $want fin 1 rst 0" ]
len1=$(c curl -s -m 5 "http://$TOPO_VIP2/f.bin" -D - -o /dev/null | wc -c)
want2=$((len1 + want + 200 * 1024))
out=$(raw 41003 ooseq "$get"'\r\n')
echo "4. two requests in four segments, 2 4 1 3, $want2 bytes due: $out"
t_check "4. both answers, the out-of-order bytes passed on" [ "$out" = "bytes $want2 fin 1 rst 0" ]
t_check "4. counted" t_wait_stat "$TOPO_STATE/n1.status" fe_ooseq 1
out=$(raw 41004 sackless)
echo "5. SACK offered, no blocks sent, a segment lost, $want bytes due: $out"
t_check "5. the whole answer" [ "$out" = "bytes $want fin 1 rst 0" ]
t_check "5. resent at the third duplicate ACK" \
    t_wait_stat "$TOPO_STATE/n2.status" lwip_dupack_loss 1
t_check "the front-end survives" kill -0 "${TOPO_PIDS[1]}"
t_check "the back-end survives" kill -0 "${TOPO_PIDS[2]}"
t_check "served afterwards" [ "$(c curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$TOPO_VIP2/")" = 200 ]
t_finish

# shellcheck shell=bash
#
# The end-to-end handoff checks, shared by the t_handoff_* tests, which set
# TOPO_HS and TOPO_STACK before sourcing this file (and TOPO_IPV6=1 for the
# same checks over IPv6).  Three nodes: n1 is the front-end and serves
# too, n2 and n3 are back-ends, nginx on each.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

topo_init "handoff-${TOPO_HS:-lwip}-${TOPO_STACK:-lwip}${TOPO_IPV6:+-v6}"
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
# Corked answers (section 6) reach the relay whole, with the server's FIN.
export TOPO_NGINX_LOCATIONS="location ^~ /corked/ { tcp_nopush on; }"
t_configure_all
t_start_cluster

c() { topo_exec c "$@"; }
if [ "${TOPO_IPV6:-0}" = 1 ]; then
	vip="http://[$TOPO_VIP6]"
	vip2="http://[$TOPO_VIP6_2]"
	small_mss_route=("$TOPO_VIP6_2/128" via fd00::1)
else
	vip="http://$TOPO_VIP"
	vip2="http://$TOPO_VIP2"
	small_mss_route=("$TOPO_VIP2/32" via 10.0.0.1)
fi

# 1. Pages through the VIP; round-robin reaches every node, n1 included.
out=$(c curl -s -m 5 -H 'Connection: close' "$vip/?[1-6]")
echo "$out"
for n in n1 n2 n3; do
	t_check "node $n served a page through the VIP" grep -q "node $n" <<<"$out"
	t_check "nginx on $n logged it" grep -q '"GET /?' "$TOPO_STATE/nginx-$n/access.log"
done
t_check "the front-end served some itself (local case)" \
    t_wait_stat "$TOPO_STATE/n1.status" fe_local 1
if [ "${TOPO_IPV6:-0}" = 1 ]; then
	# Mixed: the IPv4 VIPs of the same nodes beside the IPv6 ones.
	out=$(c curl -s -m 5 -H 'Connection: close' "http://$TOPO_VIP/?v4=[1-6]")
	for n in n1 n2 n3; do
		t_check "node $n served a page through the IPv4 VIP too" grep -q "node $n" <<<"$out"
	done
fi

# 2. 1000 sequential connections, then 200 with 8 at a time.
codes=$(c curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "$vip/?seq=[1-1000]")
t_check "1000 sequential requests: all 200" \
    [ "$(grep -c '^200$' <<<"$codes")" -eq 1000 ]
codes=$(c curl -s --no-progress-meter -m 60 -Z --parallel-max 8 -o /dev/null -w '%{http_code}\n' \
    -H 'Connection: close' "$vip/?par=[1-200]")
t_check "200 concurrent requests (8 at a time): all 200" \
    [ "$(grep -c '^200$' <<<"$codes")" -eq 200 ]

# 3. A 20 MB file from n2 (pool "remote"): intact, and not through n1.
head -c 20M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
# The earlier connections' flows (some served by n1 itself) are over first.
t_check "n1 is idle before the download" t_wait_flows "$TOPO_STATE/n1.status" 0
sleep 1.1
rw_before=$(t_stat "$TOPO_STATE/n1.status" rw_pkts)
f_rx0=$(topo_exec n1 cat /sys/class/net/eth0/statistics/rx_bytes)
f_tx0=$(topo_exec n1 cat /sys/class/net/eth0/statistics/tx_bytes)
c curl -s -m 120 -o "$TOPO_STATE/big.got" "$vip2/big.bin"
f_rx1=$(topo_exec n1 cat /sys/class/net/eth0/statistics/rx_bytes)
f_tx1=$(topo_exec n1 cat /sys/class/net/eth0/statistics/tx_bytes)
got=$(sha256sum <"$TOPO_STATE/big.got" | cut -d' ' -f1)
t_check "20 MB through the VIP: sha256 matches" [ "$got" = "$want" ]
t_check "n2's nginx served it" grep -q 'GET /big.bin HTTP/1.1" 200 20971520' \
    "$TOPO_STATE/nginx-n2/access.log"
topo_fresh "$TOPO_STATE/n1.status"
t_check "the front-end rewrote no server-to-client packet" \
    [ "$(t_stat "$TOPO_STATE/n1.status" rw_pkts)" = "$rw_before" ]
link=$(( (f_rx1 - f_rx0) + (f_tx1 - f_tx0) ))
echo "front-end link carried $link bytes for a 20971520-byte response"
t_check "the front-end's link carried under 10% of the response" \
    [ "$link" -lt 2097152 ]

# 4. A 1 MB POST body, arriving during and after the handoff, intact.
head -c 1M /dev/urandom >"$TOPO_STATE/post.bin"
want=$(sha256sum <"$TOPO_STATE/post.bin" | cut -d' ' -f1)
resp=$(c curl -s -m 30 --data-binary @"$TOPO_STATE/post.bin" "$vip2/upload")
t_check "POST answered by the back-end" [ "$resp" = "stored" ]
stored=$(grep 'POST /upload' "$TOPO_STATE/nginx-n2/access.log" | tail -n 1 | sed 's/.*body=//')
t_check "the stored body exists" [ -f "$stored" ]
t_check "1 MB POST body intact" [ "$(sha256sum <"$stored" | cut -d' ' -f1)" = "$want" ]

# 5. An lwIP stack keeps at most 256 connections in TIME_WAIT (it looks
# through them for each new one): 400 closed in a row at n2, all
# answered, leave the oldest ended early, and n2 still takes more.
if [ "$(topo_stack 2)" = lwip ]; then
	codes=$(c curl -s -m 120 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "$vip2/?tw=[1-400]")
	t_check "400 sequential requests to n2: all 200" \
	    [ "$(grep -c '^200$' <<<"$codes")" -eq 400 ]
	t_check "n2's lwIP ended the oldest TIME_WAITs past 256" \
	    t_wait_stat "$TOPO_STATE/n2.status" lwip_tw_cut 1
	codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "$vip2/?after=[1-20]")
	t_check "n2 answers new connections after" [ "$(grep -c '^200$' <<<"$codes")" -eq 20 ]
fi

# 6. A client offering an MSS of 88 bytes: 2 MB from n2, intact.  An lwIP
# stack would hold its send buffer in thousands of segments, more than its
# segment queue takes: the relay reads and gives only what the queue holds.
head -c 2M /dev/urandom >"$TOPO_STATE/www-n2/small-mss.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/small-mss.bin" | cut -d' ' -f1)
mkdir -p "$TOPO_STATE/www-n2/corked"
head -c 63K /dev/urandom >"$TOPO_STATE/www-n2/corked/63k.bin"
want63=$(sha256sum <"$TOPO_STATE/www-n2/corked/63k.bin" | cut -d' ' -f1)
c ip route add "${small_mss_route[@]}" advmss 88
c curl -s -m 120 -o "$TOPO_STATE/small-mss.got" "$vip2/small-mss.bin"
# Answers that reach the relay whole with the server's close (corked),
# more segments than lwIP queues and nothing in flight yet: the FIN waits
# for the rest, and what lwIP took must leave at once.
ok63=0
for i in 1 2 3 4 5; do
	c curl -s -m 20 -H 'Connection: close' -o "$TOPO_STATE/small-mss-63k.got" "$vip2/corked/63k.bin"
	[ "$(sha256sum <"$TOPO_STATE/small-mss-63k.got" | cut -d' ' -f1)" = "$want63" ] && ok63=$((ok63 + 1))
done
c ip route del "${small_mss_route[0]}"
got=$(sha256sum <"$TOPO_STATE/small-mss.got" | cut -d' ' -f1)
t_check "2 MB to a client whose MSS is 88: sha256 matches" [ "$got" = "$want" ]
t_check "5 answers of 63 KB then the server's close, to it: all intact" [ "$ok63" -eq 5 ]

# 7. (lwip handshake) Two pipelined requests to n2 in four segments from a
# raw client, in the order 2, 4, 1 (a fifth of a second later), 3; it never
# sends 4 again.  n1's lwIP holds 2 and 4 out of order and SACKs them; 4
# must reach n2's stack from n1 at the handoff, with a timestamp its
# kernel takes (as new as 1's: PAWS drops an older one).
if [ "${TOPO_HS:-lwip}" = lwip ] && [ "${TOPO_IPV6:-0}" != 1 ]; then
	c nft add table ip rawc
	c nft add chain ip rawc out '{ type filter hook output priority 0; }'
	c nft add rule ip rawc out tcp sport 41100 tcp flags \& rst == rst drop
	head -c 20K /dev/urandom >"$TOPO_STATE/www-n2/ooseq.bin"
	get='GET /ooseq.bin HTTP/1.1\r\nHost: a\r\n'
	want=$(( $(c curl -s -m 5 "$vip2/ooseq.bin" -D - -o /dev/null | wc -c) +
	    $(c curl -s -m 5 -H 'Connection: close' "$vip2/ooseq.bin" -D - -o /dev/null | wc -c) +
	    2 * 20 * 1024 ))
	out=$(c timeout 30 python3 "$T_DIR/rawclient.py" 10.0.0.2 "$TOPO_VIP2" 80 41100 \
	    65535 "$get"'\r\n'"$get"'Connection: close\r\n\r\n' 10 ooseq)
	echo "two requests in four segments, 2 4 1 3, $want bytes due: $out"
	t_check "bytes held out of order at the handoff reach the back-end" \
	    [ "$out" = "bytes $want fin 1 rst 0" ]
	t_check "... passed on by the front-end" t_wait_stat "$TOPO_STATE/n1.status" fe_ooseq 1
	c nft delete table ip rawc
fi

# 8. Every flow is gone once the connections are over.
t_finish

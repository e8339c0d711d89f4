#!/bin/bash
# TLS services routed by the ClientHello, never decrypted: in a 3-node
# cluster whose nginx serve TLS on port 443 (node.servers), n1 and n2
# with the kernel stack, n3 with lwIP's, a.test goes to n2 and *.b.test
# to n3 by SNI, c.test by ALPN (h2 to n3, the rest to n2), *.h.test to n2
# or n3 by a hash of the name, a ClientHello without a server name to the
# default pool (n1, the front-end itself: relayed to its own server in the
# lwip handshake, injected into its own stack in the cookie one).  curl,
# openssl s_client and a client sending its ClientHello one byte per
# segment all reach the right node and verify its certificate; a 20 MB
# download comes straight from n2 with the client's real address.  What
# is not TLS, a ClientHello cut short, one over request_head_max, one
# that never completes and one no member takes are reset and counted, and
# the daemon serves on.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="kernel kernel lwip"
topo_init tls-sni
topo_cluster 3
VIP=$TOPO_VIP		# lwip handshake
VIPC=$TOPO_VIP2		# cookie handshake
export TOPO_YAML_HANDOFF="  linger: 1s
  request_head_max: 2k"
export TOPO_SERVICES_FILE="$TOPO_STATE/services.yaml"
cat >"$TOPO_SERVICES_FILE" <<YAML
services:
  - name: tls
    listen: $VIP:443
    protocol: tls
    pool: local
    rules:
      - sni: a.test
        pool: a
      - sni: "*.B.test."
        pool: b
      - sni: c.test
        alpn: h2
        pool: b
      - sni: c.test
        pool: a
      - sni: "*.h.test"
        pool: hashed
  - name: tls-cookie
    listen: $VIPC:443
    protocol: tls
    handshake: cookie
    pool: local
    rules:
      - sni: A.Test.
        pool: a
  - name: web
    listen: $VIP:80
    pool: local
pools:
  - name: local
    members: [n1]
  - name: a
    members: [n2]
  - name: b
    members: [n3]
  - name: hashed
    policy: hash
    hash_key: host
    members: [n2, n3]
YAML

# A self-signed certificate per name (h.test's for *.h.test), each its
# own CA for curl --cacert.
names="default.test a.test x.b.test c.test h.test"
sname() { if [ "$1" = h.test ]; then echo '*.h.test'; else echo "$1"; fi; }
certs="$TOPO_STATE/certs"
mkdir -p "$certs"
for n in $names; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "/CN=$(sname $n)" -addext "subjectAltName=DNS:$(sname $n)" \
	    -keyout "$certs/$n.key" -out "$certs/$n.crt" 2>/dev/null ||
	    t_fail "openssl could not make a certificate for $n"
done
# nginx's TLS server on every node's TUN address, a certificate per name;
# the one for default.test answers a ClientHello without a name.
TOPO_NGINX_SERVERS=
for n in $names; do
	TOPO_NGINX_SERVERS+="
	server {
		listen @TUN@:443 ssl$([ $n = default.test ] && echo ' default_server');
		server_name $(sname $n);
		ssl_certificate $certs/$n.crt;
		ssl_certificate_key $certs/$n.key;
		root $TOPO_STATE/www-@NODE@;
	}"
done
export TOPO_NGINX_SERVERS
for i in 1 2 3; do
	# with lwIP's stack, handed-off connections are relayed to it
	TOPO_YAML_NODE="  servers:
    - {port: 443, server: 10.2.$i.1:443}" topo_config "$i"
	topo_nginx "$i"
done
head -c 20000000 /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
t_start_cluster
c() { topo_exec c "$@"; }
st="$TOPO_STATE/n1.status"
tc() { c python3 "$T_DIR/tlsclient.py" "$@"; }

# A ClientHello that never completes: reset after the front-end's 30 s
# for a head, checked at the end.
tc hello a.test "$TOPO_STATE/hello-a.bin"
len=$(stat -c %s "$TOPO_STATE/hello-a.bin")
tc raw "$VIP" 443 "$TOPO_STATE/hello-a.bin" $((len / 2)) wait \
    >"$TOPO_STATE/stalled.out" &
stalled=$!

# curl NAME VIP [CURL-ARGS...]: the body of https://NAME/ through VIP.
curl_tls() {
	local name=$1 vip=$2
	shift 2
	c curl -sf -m 10 --resolve "$name:443:$vip" --cacert "$certs/$name.crt" \
	    "$@" "https://$name/"
}
for vip in "$VIP" "$VIPC"; do
	t_check "curl a.test via $vip: n2" [ "$(curl_tls a.test "$vip")" = "node n2" ]
done
t_check "curl x.b.test: n3" [ "$(curl_tls x.b.test "$VIP")" = "node n3" ]
t_check "curl c.test offering h2: n3" [ "$(curl_tls c.test "$VIP" --http2)" = "node n3" ]
t_check "curl c.test offering http/1.1 only: n2" \
    [ "$(curl_tls c.test "$VIP" --http1.1)" = "node n2" ]
out=$(printf 'GET / HTTP/1.0\r\nHost: x.b.test\r\n\r\n' |
    c timeout 10 openssl s_client -connect "$VIP:443" -servername x.b.test \
    -CAfile "$certs/x.b.test.crt" -verify_return_error -quiet 2>/dev/null)
t_check "openssl s_client -servername x.b.test: n3" grep -qx "node n3" <<<"$out"
t_check "n2's nginx (kernel stack) saw the client's own address" \
    grep -q '^10.0.0.2 "GET / HTTP/1.1"' "$TOPO_STATE/nginx-n2/access.log"

# A hash of the server name: each name stays on one member, and the
# names spread over both.
spread=
for h in one two three four five six; do
	out=$(for k in 1 2 3; do
		c curl -sf -m 10 --resolve "$h.h.test:443:$VIP" \
		    --cacert "$certs/h.test.crt" "https://$h.h.test/"
	done | sort -u)
	t_check "$h.h.test: always one member ($(tr '\n' ' ' <<<"$out"))" \
	    grep -Eqx 'node n[23]' <<<"$out"
	spread+="$out"$'\n'
done
t_check "... both members have names" [ "$(sort -u <<<"$spread" | grep -c node)" -eq 2 ]

# No server name: the default pool, this node; in the lwip handshake the
# front-end relays the ClientHello to its own TLS server.
for vip in "$VIP" "$VIPC"; do
	out=$(tc get "$vip" 443 - "$certs/default.test.crt")
	t_check "no SNI via $vip: the default pool (n1)" [ "$out" = "node n1" ]
done
t_check "ClientHellos without a name counted" t_wait_stat "$st" tls_no_sni 2

# The rules above with a final dot, or in capitals, match all the same
# (curl's x.b.test and a.test via $VIPC went to n3 and n2).  A ClientHello
# with the ECH extension, as browsers send to any server (GREASE, RFC 9849
# 6.2), is routed by its name: to n2, whose nginx answers it.
tc hello a.test "$TOPO_STATE/hello-ech.bin" ech
be=$(t_stat "$TOPO_STATE/n2.status" be_handoffs)
t_check "a.test with ECH: an answer" \
    [ "$(tc raw "$VIP" 443 "$TOPO_STATE/hello-ech.bin" 100000 wait)" = data ]
t_check "... from n2" t_wait_stat "$TOPO_STATE/n2.status" be_handoffs $((be + 1))
topo_fresh "$st"
t_check "... not counted as nameless" [ "$(t_stat "$st" tls_no_sni)" -eq 2 ]

# One byte per segment, as the client's capture shows.
for vip in "$VIP" "$VIPC"; do
	t_check "tcpdump listens" t_tcpdump c "$TOPO_STATE/bytes.txt" 30 \
	    -i eth0 -n -l "tcp dst port 443 and dst host $vip and
	    ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) == 1"
	out=$(tc get "$vip" 443 a.test "$certs/a.test.crt" 3)
	sleep 0.5
	kill "$tcpdump_pid"
	wait "$tcpdump_pid"
	t_check "a ClientHello one byte per segment via $vip: n2" [ "$out" = "node n2" ]
	t_check "... in $(wc -l <"$TOPO_STATE/bytes.txt") one-byte segments" \
	    [ "$(wc -l <"$TOPO_STATE/bytes.txt")" -ge $((len / 2)) ]
done

# 20 MB from n2, straight to the client.
tx=$(t_stat "$st" tun_tx_bytes)
sum=$(c curl -sf -m 60 --resolve a.test:443:"$VIP" --cacert "$certs/a.test.crt" \
    https://a.test/big.bin | sha256sum | cut -d' ' -f1)
t_check "20 MB over TLS from n2: sha256 correct" \
    [ "$sum" = "$(sha256sum "$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)" ]
t_check "... its nginx saw the client's address" \
    grep -q '^10.0.0.2 "GET /big.bin HTTP/1.1" 200 20000000' "$TOPO_STATE/nginx-n2/access.log"
topo_fresh "$st"
topo_fresh "$TOPO_STATE/n2.status"
t_check "... and the response did not cross the front-end" \
    [ $(($(t_stat "$st" tun_tx_bytes) - tx)) -lt 5000000 ]
t_check "... n2 rewrote it" [ "$(t_stat "$TOPO_STATE/n2.status" rw_bytes)" -gt 20000000 ]

# Not TLS, cut short, too large: reset.
c curl -s -m 10 -o /dev/null "http://$VIP:443/"
rc=$?
t_check "HTTP on the TLS port: curl sees a reset (exit 56, got $rc)" [ $rc -eq 56 ]
printf 'garbage\r\n\r\n' >"$TOPO_STATE/garbage"
tc hello a.test "$TOPO_STATE/hello-big.bin" 150
t_check "a large ClientHello is over 2k" [ "$(stat -c %s "$TOPO_STATE/hello-big.bin")" -gt 2048 ]
for vip in "$VIP" "$VIPC"; do
	t_check "garbage via $vip: reset" [ "$(tc raw "$vip" 443 "$TOPO_STATE/garbage" 100 fin)" = reset ]
	t_check "half a ClientHello and FIN via $vip: reset" \
	    [ "$(tc raw "$vip" 443 "$TOPO_STATE/hello-a.bin" $((len / 2)) fin)" = reset ]
	t_check "a ClientHello over request_head_max via $vip: reset" \
	    [ "$(tc raw "$vip" 443 "$TOPO_STATE/hello-big.bin" 100000 wait)" = reset ]
done
t_check "not TLS or malformed: counted" t_wait_stat "$st" tls_bad 5
t_check "too large: counted" t_wait_stat "$st" tls_too_big 2
t_check "nothing answered in HTTP" [ "$(t_stat "$st" http_400)" -eq 0 ]

# The daemon serves on, TLS and HTTP.
t_check "curl a.test afterwards: n2" [ "$(curl_tls a.test "$VIP")" = "node n2" ]
t_check "HTTP on port 80 of the same VIP: node.server of n1" \
    [ "$(c curl -sf -m 10 "http://$VIP/")" = "node n1" ]

# No member left (n3's nginx gone: its kernel refuses the handoff): where
# an HTTP client gets 503, a reset.
kill "$(cat "$TOPO_STATE/nginx-n3/nginx.pid")"
tc hello x.b.test "$TOPO_STATE/hello-b.bin"
t_check "x.b.test with its only member refusing: reset" \
    [ "$(tc raw "$VIP" 443 "$TOPO_STATE/hello-b.bin" 100000 wait)" = reset ]
t_check "... counted" t_wait_stat "$st" tls_unavailable 1
# fail_threshold (3) refusals in a row take n3 out of its pools, and a
# warning says so.
for i in 2 3; do
	t_check "refused again ($i): reset" \
	    [ "$(tc raw "$VIP" 443 "$TOPO_STATE/hello-b.bin" 100000 wait)" = reset ]
done
t_check "... n3 is out of pool b: a warning" t_wait_grep "$TOPO_STATE/n1.log" \
    "health: n3 is out of pool b: 3 handoffs refused in a row"
t_check "... and out of pool hashed" grep -q \
    "health: n3 is out of pool hashed: 3 handoffs refused in a row" "$TOPO_STATE/n1.log"

wait "$stalled"
t_check "a ClientHello that never completes: reset" [ "$(cat "$TOPO_STATE/stalled.out")" = reset ]
t_check "... counted" t_wait_stat "$st" tls_timeout 1
t_finish

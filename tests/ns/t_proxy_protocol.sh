#!/bin/bash
# handoff.proxy_protocol: nginx behind lwIP-stack nodes learns the client's
# address and the VIP from a PROXY header, v1 or v2, whether the front-end
# serves the request itself (lwip handshake) or hands the connection off;
# with the option off it sees the node's TUN address, as before.  A server
# that does not expect the header answers its connection's own request with
# a 400 and closes; one that expects it and gets none closes without an
# answer.  Three phases restart the three daemons and their nginx with
# other pairings, so that each node's VIP meets every case once.  Each
# service has an IPv6 VIP too, whose client nginx learns as well (TCP6,
# or v2's IPv6 addresses), from lwIP at the front-end or at lwIP's IPv6
# address at a back-end.
. "$(dirname "$0")/lib.sh"

TOPO_IPV6=1
topo_init proxy-protocol
topo_cluster 3
export TOPO_SERVICES_FILE="$TOPO_STATE/services.yaml"
cat >"$TOPO_SERVICES_FILE" <<YAML
services:
  - {name: one, listen: 10.9.0.1:80, pool: one}
  - {name: two, listen: 10.9.0.2:80, pool: two}
  - {name: three, listen: 10.9.0.3:80, pool: three}
  - {name: one6, listen: "[fd00:9::1]:80", pool: one}
  - {name: two6, listen: "[fd00:9::2]:80", pool: two}
  - {name: three6, listen: "[fd00:9::3]:80", pool: three}
pools:
  - {name: one, members: [n1]}
  - {name: two, members: [n2]}
  - {name: three, members: [n3]}
YAML
# handoffd.yaml(5)'s nginx lines; /pp answers what nginx made of the
# connection: the client after realip, the connection's own source, and
# the header's source and destination.
export TOPO_NGINX_LOCATIONS='
		set_real_ip_from 10.2.0.0/16;
		real_ip_header proxy_protocol;
		location = /pp {
			return 200 "$remote_addr $realip_remote_addr $proxy_protocol_addr:$proxy_protocol_port $proxy_protocol_server_addr:$proxy_protocol_server_port\n";
		}'
head -c 1M /dev/urandom >"$TOPO_STATE/post.bin"
post_sum=$(sha256sum <"$TOPO_STATE/post.bin" | cut -d' ' -f1)

c() { topo_exec c "$@"; }
phase=0
mode=() srv=()

# nginx_start I pp|plain: (re)starts node I's nginx, its node.server
# listener with or without proxy_protocol.
nginx_start() {
	local d="$TOPO_STATE/nginx-n$1" t opts=
	if [ -f "$d/nginx.pid" ]; then
		topo_exec "n$1" nginx -c "$d/nginx.conf" -p "$d" -s stop 2>/dev/null
		for t in $(seq 1 50); do
			[ -f "$d/nginx.pid" ] || break
			sleep 0.1
		done
		[ -f "$d/nginx.pid" ] && t_fail "nginx on n$1 did not stop"
	fi
	[ "$2" = pp ] && opts=proxy_protocol
	TOPO_NGINX_LISTEN_OPTS=$opts topo_nginx "$1"
}

# get I [CURL-ARGS...]: GET /pp from node I's VIP (its IPv6 one with
# vip6=1) on a connection of its own; sets body, code (000: no answer),
# port (the client's) and rc.
get() {
	local i=$1 out host=10.9.0.$1
	shift
	[ "${vip6:-0}" = 1 ] && host="[fd00:9::$i]"
	out=$(c curl -s -m 10 -o "$TOPO_STATE/body" -D "$TOPO_STATE/head" \
	    -w '%{http_code} %{local_port}' -H 'Connection: close' "$@" \
	    "http://$host/pp?phase=$phase")
	rc=$?
	read -r code port <<<"$out"
	body=$(cat "$TOPO_STATE/body" 2>/dev/null)
}

# logged I REGEX: node I's nginx logged a line matching REGEX.
logged() { grep -qE -- "$2" "$TOPO_STATE/nginx-n$1/access.log"; }
not_logged() { ! logged "$@"; }

# one_connection LINES: two "200 PORT" lines with the same client port.
one_connection() {
	[ "$(grep -c '^200 ' <<<"$1")" = 2 ] &&
	    [ "$(awk '{ print $2 }' <<<"$1" | sort -u | wc -l)" = 1 ]
}

# same_file FILE: FILE holds the POSTed bytes.
same_file() {
	[ -f "$1" ] && [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$post_sum" ]
}

# clean_400: the last get had nginx's 400, whole, and the connection's end.
clean_400() {
	[ "$rc $code" = "0 400" ] && grep -q '400 Bad Request' <<<"$body" &&
	    grep -qi '^Connection: close' "$TOPO_STATE/head"
}

# check_header I: nginx took the client's address and the VIP from the
# header, for one request and for two sharing a connection (the header
# comes once, before the first), and a 1 MB body after it is intact.
check_header() {
	local i=$1 w="phase $phase: n$1 (${mode[$1]}, ${srv[$1]})" ports got
	get "$i"
	t_check "$w: nginx saw the client and the VIP" \
	    [ "$code $body" = "200 10.0.0.2 10.2.$i.1 10.0.0.2:$port 10.9.0.$i:80" ]
	t_check "$w: the access log names the client" \
	    logged "$i" "^10\.0\.0\.2 \"GET /pp\?phase=$phase HTTP/1\.1\" 200 "
	ports=$(c curl -s -m 10 -w '%{http_code} %{local_port}\n' \
	    -o /dev/null "http://10.9.0.$i/pp?phase=$phase&k=1" \
	    -o /dev/null "http://10.9.0.$i/pp?phase=$phase&k=2")
	t_check "$w: two requests on one connection" one_connection "$ports"
	t_check "$w: the second one names the client too" \
	    logged "$i" "^10\.0\.0\.2 \"GET /pp\?phase=$phase&k=2 .* 200 "
	got=$(c curl -s -m 30 -H 'Expect:' --data-binary @"$TOPO_STATE/post.bin" \
	    "http://10.9.0.$i/upload?phase=$phase")
	t_check "$w: a 1 MB POST answered" [ "$got" = stored ]
	t_check "$w: its body intact after the header" same_file "$(grep \
	    "^10\.0\.0\.2 \"POST /upload?phase=$phase " \
	    "$TOPO_STATE/nginx-n$i/access.log" | tail -n 1 | sed 's/.*body=//')"
	vip6=1 get "$i"
	t_check "$w: nginx saw the IPv6 client and VIP" \
	    [ "$code $body" = "200 fd00::2 10.2.$i.1 fd00::2:$port fd00:9::$i:80" ]
	t_check "$w: the access log names the IPv6 client" \
	    logged "$i" "^fd00::2 \"GET /pp\?phase=$phase HTTP/1\.1\" 200 "
}

# check_node I: what node I's nginx made of a request to node I's VIP.
check_node() {
	local i=$1 w="phase $phase: n$1 (${mode[$1]}, ${srv[$1]})"
	case "${mode[$i]}/${srv[$i]}" in
	v1/pp|v2/pp)
		check_header "$i" ;;
	off/plain)
		get "$i"
		t_check "$w: nginx saw the TUN address, as without the option" \
		    [ "$code $body" = "200 10.2.$i.1 10.2.$i.1 : :" ]
		t_check "$w: the access log names the TUN address" \
		    logged "$i" "^10\.2\.$i\.1 \"GET /pp\?phase=$phase HTTP/1\.1\" 200 " ;;
	v1/plain|v2/plain)
		get "$i"
		t_check "$w: the client gets nginx's 400, then the end" clean_400
		t_check "$w: its request never ran" \
		    not_logged "$i" "GET /pp\?phase=$phase "
		if [ "${mode[$i]}" = v1 ]; then
			t_check "$w: nginx logged the header as the request line" \
			    logged "$i" "^10\.2\.$i\.1 \"PROXY TCP4 10\.0\.0\.2 10\.9\.0\.$i $port 80\" 400 "
		else
			t_check "$w: nginx logged the signature's NUL as the request line" \
			    logged "$i" "^10\.2\.$i\.1 \"\\\\x00\" 400 "
		fi ;;
	off/pp)
		get "$i"
		t_check "$w: nginx closes without an answer (curl: empty reply)" \
		    [ "$rc $code" = "52 000" ]
		t_check "$w: nginx logged a broken header" \
		    grep -q "broken header: \"GET /pp?phase=$phase " \
		    "$TOPO_STATE/nginx-n$i/error.log" ;;
	esac
}

# run_phase "MODE/SERVER MODE/SERVER MODE/SERVER": node I's
# handoff.proxy_protocol and its nginx (pp: listen ... proxy_protocol),
# for I = 1 (the front-end, serving its VIP itself), 2 and 3; checks
# each VIP, then stops the daemons.
run_phase() {
	local i=0 spec
	phase=$((phase + 1))
	echo "phase $phase: $1"
	for spec in $1; do
		i=$((i + 1))
		mode[i]=${spec%/*} srv[i]=${spec#*/}
		TOPO_YAML_HANDOFF="  linger: 1s
  proxy_protocol: ${mode[i]}" topo_config "$i"
		nginx_start "$i" "${srv[i]}"
		# a fresh log, so that topo_wait_peers counts this run's peers
		[ -f "$TOPO_STATE/n$i.log" ] &&
		    mv "$TOPO_STATE/n$i.log" "$TOPO_STATE/n$i.log.$phase"
	done
	t_start_cluster
	for i in 1 2 3; do
		check_node "$i"
	done
	for i in 1 2 3; do
		t_check "phase $phase: n$i: flow table empty" \
		    t_wait_flows "$TOPO_STATE/n$i.status" 0
	done
	for i in 3 2 1; do
		t_check "phase $phase: n$i: clean exit (no leaks)" topo_stop "$i"
	done
}

run_phase "v1/pp v2/pp off/plain"
run_phase "v2/pp v1/pp v1/plain"
run_phase "off/plain v2/plain off/pp"
echo "all checks passed"

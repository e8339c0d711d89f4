# shellcheck shell=bash
#
# Network-namespace topologies for handoffd: a client, a router and N nodes,
# each node with a persistent TUN device for its daemon.  Sourced by
# scripts/demo, scripts/bench and tests/ns/*.  Every namespace carries a
# unique prefix, and topo_cleanup (installed as an EXIT trap by topo_init)
# removes everything this shell created.
#
#   client 10.0.0.2 ── router ── 10.1.i.2 node i (i = 1..N)
#                                  hoff0 10.2.i.1/24, lwIP 10.2.i.2
#   VIPs 10.9.0.0/24 are routed by the router to node 1, the front-end.
#
# With TOPO_IPV6=1 every link, TUN and VIP also has an IPv6 address, the
# same plan in fd00::/16: client fd00::2, node i fd00:1:i::2, its TUN
# fd00:2:i::1 (a kernel stack's server_address6), lwIP fd00:2:i::2 (an
# lwIP stack's lwip.address6), VIPs fd00:9::1 and fd00:9::2 (services
# web6, with the cluster's handshake, and remote6, with cookies).

TOPO_VIP=10.9.0.1		# service "web", pool "all" (TOPO_MEMBERS)
TOPO_VIP2=10.9.0.2		# service "remote", pool "remote" (TOPO_REMOTE)
TOPO_VIP3=10.9.0.3		# service "cookie", pool "remote", cookie handshake
TOPO_VIP6=fd00:9::1		# service "web6", pool "all" (TOPO_IPV6=1)
TOPO_VIP6_2=fd00:9::2		# service "remote6", pool "remote", cookies
TOPO_VIP_PORT=80
TOPO_CONTROL_PORT=7100
TOPO_TUN=hoff0
TOPO_KERNEL_TABLE=100

topo_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

topo_log() { printf '%s: %s\n' "${TOPO_NAME:-topo}" "$*" >&2; }
topo_die() { topo_log "$*"; exit 1; }

# topo_init NAME: picks a unique prefix and a private state directory.
topo_init() {
	TOPO_NAME=$1
	TOPO_ID="hd$(printf '%04x' $((RANDOM % 65536)))$$"
	TOPO_STATE=$(mktemp -d "/tmp/handoffd-$1-XXXXXX")
	TOPO_NODES=0
	TOPO_NS=()
	TOPO_PIDS=()
	TOPO_KEEP=${TOPO_KEEP:-0}
	: "${HANDOFFD:=$topo_top/build/test/handoffd}"
	[ -x "$HANDOFFD" ] || topo_die "no daemon at $HANDOFFD (build first)"
	trap topo_cleanup EXIT
	trap 'exit 130' INT TERM
}

topo_ns() { printf '%s-%s' "$TOPO_ID" "$1"; }

# topo_exec ROLE CMD...: runs CMD inside a namespace of this topology.
topo_exec() {
	local ns
	ns=$(topo_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

topo_ns_add() {
	local ns
	ns=$(topo_ns "$1")
	ip netns add "$ns" || topo_die "cannot create namespace $ns"
	TOPO_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
	    net.ipv4.conf.default.rp_filter=0 >/dev/null
	# No duplicate address detection: addresses are usable at once.
	if [ "${TOPO_IPV6:-0}" = 1 ]; then
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		    net.ipv6.conf.default.accept_dad=0 >/dev/null
	else
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		    net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	fi
}

# topo_addr6 ROLE DEV ADDR: an IPv6 address, with TOPO_IPV6=1.
topo_addr6() {
	[ "${TOPO_IPV6:-0}" = 1 ] || return 0
	ip -n "$(topo_ns "$1")" -6 addr add "$3" dev "$2" nodad ||
	    topo_die "cannot add $3 to $2 in $1"
}

# topo_exec6 ROLE CMD...: CMD with TOPO_IPV6=1.
topo_exec6() {
	[ "${TOPO_IPV6:-0}" = 1 ] || return 0
	topo_exec "$@"
}

# topo_link A IFA ADDRA B IFB ADDRB: a veth pair between two namespaces.
topo_link() {
	local a b
	a=$(topo_ns "$1") b=$(topo_ns "$4")
	ip -n "$a" link add "$2" type veth peer name "$5" netns "$b" ||
	    topo_die "cannot create veth $2/$5"
	ip -n "$a" addr add "$3" dev "$2"
	ip -n "$b" addr add "$6" dev "$5"
	ip -n "$a" link set "$2" up
	ip -n "$b" link set "$5" up
}

# topo_stack I: node I's stack, the I-th word of TOPO_STACKS, else
# TOPO_STACK, else lwip.
topo_stack() {
	local stacks
	read -ra stacks <<<"${TOPO_STACKS:-}"
	echo "${stacks[$(($1 - 1))]:-${TOPO_STACK:-lwip}}"
}

# topo_stack_addr I: where node I takes handed-off connections.
topo_stack_addr() {
	if [ "$(topo_stack "$1")" = kernel ]; then echo "10.2.$1.1"; else echo "10.2.$1.2"; fi
}

# topo_stack_addr6 I: the same for IPv6 connections.
topo_stack_addr6() {
	if [ "$(topo_stack "$1")" = kernel ]; then echo "fd00:2:$1::1"; else echo "fd00:2:$1::2"; fi
}

# topo_tun I: node I's persistent TUN device, prepared so the daemon can be
# stopped and restarted without losing addresses or routes, owned by
# TOPO_TUN_USER if set.  A kernel-stack node also sends everything its web
# server says from the TUN address back into the TUN (DESIGN.md, step 5).
topo_tun() {
	local i=$1 ns
	ns=$(topo_ns "n$i")
	ip -n "$ns" tuntap add mode tun ${TOPO_TUN_USER:+user "$TOPO_TUN_USER"} \
	    name "$TOPO_TUN" ||
	    topo_die "cannot create $TOPO_TUN in $ns"
	ip -n "$ns" addr add "10.2.$i.1/24" dev "$TOPO_TUN"
	topo_addr6 "n$i" "$TOPO_TUN" "fd00:2:$i::1/64"
	ip -n "$ns" link set "$TOPO_TUN" up
	ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$TOPO_TUN.rp_filter=0"
	if [ "$(topo_stack "$i")" = kernel ]; then
		ip -n "$ns" rule add from "10.2.$i.1" lookup "$TOPO_KERNEL_TABLE"
		ip -n "$ns" route add default dev "$TOPO_TUN" table "$TOPO_KERNEL_TABLE"
		topo_exec6 "n$i" ip -6 rule add from "fd00:2:$i::1" iif lo lookup "$TOPO_KERNEL_TABLE"
		topo_exec6 "n$i" ip -6 route add default dev "$TOPO_TUN" table "$TOPO_KERNEL_TABLE"
	fi
}

# topo_cluster N: client, router and N nodes, routed as in the header.
topo_cluster() {
	local n=$1 i
	TOPO_NODES=$n
	topo_ns_add c
	topo_ns_add r
	topo_link c eth0 10.0.0.2/24 r c0 10.0.0.1/24
	topo_addr6 c eth0 fd00::2/64
	topo_addr6 r c0 fd00::1/64
	topo_exec c ip route add default via 10.0.0.1
	topo_exec6 c ip -6 route add default via fd00::1
	topo_exec r sysctl -qw net.ipv4.ip_forward=1
	topo_exec6 r sysctl -qw net.ipv6.conf.all.forwarding=1
	for i in $(seq 1 "$n"); do
		topo_ns_add "n$i"
		topo_link r "n$i" "10.1.$i.1/24" "n$i" eth0 "10.1.$i.2/24"
		topo_addr6 r "n$i" "fd00:1:$i::1/64"
		topo_addr6 "n$i" eth0 "fd00:1:$i::2/64"
		topo_exec "n$i" ip route add default via "10.1.$i.1"
		topo_exec6 "n$i" ip -6 route add default via "fd00:1:$i::1"
		topo_exec "n$i" sysctl -qw net.ipv4.ip_forward=1
		topo_exec6 "n$i" sysctl -qw net.ipv6.conf.all.forwarding=1
		topo_exec r ip route add "10.2.$i.0/24" via "10.1.$i.2"
		topo_exec6 r ip -6 route add "fd00:2:$i::/64" via "fd00:1:$i::2"
		topo_tun "$i"
	done
	topo_exec r ip route add 10.9.0.0/24 via 10.1.1.2
	topo_exec n1 ip route add 10.9.0.0/24 dev "$TOPO_TUN"
	topo_exec6 r ip -6 route add fd00:9::/64 via fd00:1:1::2
	topo_exec6 n1 ip -6 route add fd00:9::/64 dev "$TOPO_TUN"
}

# topo_offload on|off: segmentation offloads (TSO, GSO, GRO) on every veth
# of the topology.  Off, each packet crosses the router on its own, so that
# loss injected there drops real segments, not 64 KB super-packets.
topo_offload() {
	local ns dev
	for ns in "${TOPO_NS[@]}"; do
		for dev in $(ip -n "$ns" -o link show type veth | awk -F'[ :@]+' '{ print $2 }'); do
			ip netns exec "$ns" ethtool -K "$dev" tso "$1" gso "$1" gro "$1" 2>/dev/null ||
			    topo_die "ethtool -K $dev in $ns failed"
		done
	done
}

# topo_loss PERCENT: drops PERCENT (an integer) of the packets in each
# direction of the client's link, at random (nftables on the router).
topo_loss() {
	topo_exec r nft -f - <<NFT || topo_die "nftables"
table inet hoffloss {
	chain forward {
		type filter hook forward priority 0; policy accept;
		iifname "c0" numgen random mod 100 < $1 counter drop
		oifname "c0" numgen random mod 100 < $1 counter drop
	}
}
NFT
}

# topo_loss_dropped: packets the loss has dropped so far; topo_loss_end
# takes it away.
topo_loss_dropped() {
	topo_exec r nft list table inet hoffloss | grep -o 'packets [0-9]*' |
	    awk '{ s += $2 } END { print s + 0 }'
}
topo_loss_end() { topo_exec r nft delete table inet hoffloss; }

# topo_key: the cluster's pre-shared key, readable by its owner only.
topo_key() {
	TOPO_KEY="$TOPO_STATE/cluster.key"
	[ -f "$TOPO_KEY" ] && return 0
	(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$TOPO_KEY")
}

# topo_config I: node I's configuration.  Every other node is a peer;
# every node lists the cluster's three services (a back-end accepts
# handoffs to its own services only), and clients reach them at node 1,
# the front-end.  Environment: TOPO_MEMBERS (pool "all", default every
# node), TOPO_REMOTE (pool "remote", default n2), TOPO_HS (handshake,
# default lwip), TOPO_STACK or TOPO_STACKS (see topo_stack),
# TOPO_YAML_NODE and TOPO_YAML_HANDOFF (extra lines for the node and
# handoff sections),
# TOPO_SERVICES_FILE (the services and pools sections instead).
topo_config() {
	local i=$1 j m f="$TOPO_STATE/n$1.yaml"
	topo_key
	{
		printf 'node:\n  id: n%s\n  control: 10.1.%s.2:%s\n' "$i" "$i" "$TOPO_CONTROL_PORT"
		printf '  server: 10.2.%s.1:80\n  status_file: %s/n%s.status\n' "$i" "$TOPO_STATE" "$i"
		[ "${TOPO_IPV6:-0}" = 1 ] && [ "$(topo_stack "$i")" = kernel ] &&
		    printf '  server_address6: fd00:2:%s::1\n' "$i"
		printf '  admin_socket: %s/n%s.sock\n' "$TOPO_STATE" "$i"
		[ -n "${TOPO_YAML_NODE:-}" ] && printf '%s\n' "$TOPO_YAML_NODE"
		printf 'tun:\n  name: %s\nlwip:\n  address: 10.2.%s.2\n' "$TOPO_TUN" "$i"
		[ "${TOPO_IPV6:-0}" = 1 ] && [ "$(topo_stack "$i")" = lwip ] &&
		    printf '  address6: fd00:2:%s::2\n' "$i"
		if [ "$TOPO_NODES" -gt 1 ]; then
			printf 'peers:\n'
			for j in $(seq 1 "$TOPO_NODES"); do
				[ "$j" = "$i" ] && continue
				printf '  - id: n%s\n    control: 10.1.%s.2:%s\n' "$j" "$j" "$TOPO_CONTROL_PORT"
				# server: where this node reaches the peer's nginx for
				# health checks; its TUN address may only be reachable
				# through the peer's daemon
				printf '    stack_address: %s\n    server: 10.1.%s.2:80\n' "$(topo_stack_addr "$j")" "$j"
				printf '    stack: %s\n' "$(topo_stack "$j")"
				[ "${TOPO_IPV6:-0}" = 1 ] && printf '    stack_address6: %s\n' "$(topo_stack_addr6 "$j")"
			done
		fi
		if [ -n "${TOPO_SERVICES_FILE:-}" ]; then
			cat "$TOPO_SERVICES_FILE"
		else
			printf 'services:\n'
			printf '  - name: web\n    listen: %s:%s\n    pool: all\n' "$TOPO_VIP" "$TOPO_VIP_PORT"
			printf '  - name: remote\n    listen: %s:%s\n    pool: remote\n' "$TOPO_VIP2" "$TOPO_VIP_PORT"
			printf '  - name: cookie\n    listen: %s:%s\n    pool: remote\n    handshake: cookie\n' "$TOPO_VIP3" "$TOPO_VIP_PORT"
			if [ "${TOPO_IPV6:-0}" = 1 ]; then
				# quoted: a bare [ starts a YAML sequence
				printf '  - name: web6\n    listen: "[%s]:%s"\n    pool: all\n' "$TOPO_VIP6" "$TOPO_VIP_PORT"
				printf '  - name: remote6\n    listen: "[%s]:%s"\n    pool: remote\n    handshake: cookie\n' "$TOPO_VIP6_2" "$TOPO_VIP_PORT"
			fi
			printf 'pools:\n  - name: all\n    members:\n'
			for m in ${TOPO_MEMBERS:-$(seq -f 'n%g' 1 "$TOPO_NODES")}; do
				printf '      - %s\n' "$m"
			done
			printf '  - name: remote\n    members:\n'
			for m in ${TOPO_REMOTE:-n2}; do
				printf '      - %s\n' "$m"
			done
		fi
		printf 'handoff:\n  handshake: %s\n  stack: %s\n' "${TOPO_HS:-lwip}" "$(topo_stack "$i")"
		[ -n "${TOPO_YAML_HANDOFF:-}" ] && printf '%s\n' "$TOPO_YAML_HANDOFF"
		printf 'control:\n  key_file: %s\n' "$TOPO_KEY"
	} >"$f"
}

# topo_nofile N: N, or the hard limit of open files if that is lower (a
# process without CAP_SYS_RESOURCE cannot raise it).
topo_nofile() {
	local hard
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ] || [ "$1" -le "$hard" ]; then echo "$1"; else echo "$hard"; fi
}

# topo_nginx I: nginx on node I's TUN address, serving $TOPO_STATE/www-nI
# (an index naming the node), logging the client's address, and storing
# request bodies POSTed to /upload in files named in its access log.
# TOPO_NGINX_LOCATIONS: more of the server block, @NODE@ as node I's name;
# TOPO_NGINX_LISTEN_OPTS: more parameters of the TUN address's listen line
# (node.server), such as proxy_protocol.
# TOPO_NGINX_SERVERS: more server blocks, @NODE@ too and @TUN@ as node I's
# TUN address.  TOPO_NGINX_CONNS: connections a worker may hold (4096);
# TOPO_NGINX_WORKERS: worker processes (1).  An nginx already running on
# node I is given the new configuration (reload).
topo_nginx() {
	local i=$1 d="$TOPO_STATE/nginx-n$1" servers=${TOPO_NGINX_SERVERS:-}
	local locations=${TOPO_NGINX_LOCATIONS:-}
	servers=${servers//@NODE@/n$i}
	servers=${servers//@TUN@/10.2.$i.1}
	mkdir -p "$d/tmp" "$TOPO_STATE/www-n$i"
	echo "node n$i" >"$TOPO_STATE/www-n$i/index.html"
	cat >"$d/nginx.conf" <<NGINX
user root;
worker_processes ${TOPO_NGINX_WORKERS:-1};
worker_rlimit_nofile $(topo_nofile $((${TOPO_NGINX_CONNS:-4096} * 2 + 64)));
daemon on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections ${TOPO_NGINX_CONNS:-4096}; }
http {
	log_format hoff '\$remote_addr "\$request" \$status \$body_bytes_sent '
	    'body=\$request_body_file';
	access_log $d/access.log hoff;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	client_max_body_size 64m;
	keepalive_requests 100000;
	sendfile on;
	server {
		listen 10.2.$i.1:80 reuseport${TOPO_NGINX_LISTEN_OPTS:+ $TOPO_NGINX_LISTEN_OPTS};
		$([ "${TOPO_IPV6:-0}" = 1 ] && echo "listen [fd00:2:$i::1]:80 reuseport;")
		# direct access for the benchmark: the TUN address is reserved
		# for handed-off connections on a kernel-stack node
		listen 10.1.$i.2:80 reuseport;
		root $TOPO_STATE/www-n$i;
		location = /upload {
			client_body_in_file_only on;
			proxy_pass http://127.0.0.1:81/;
		}
		${locations//@NODE@/n$i}
	}
	server {
		listen 127.0.0.1:81;
		location / { return 200 "stored\n"; }
	}
	$servers
}
NGINX
	if [ -s "$d/nginx.pid" ] && kill -0 "$(cat "$d/nginx.pid")" 2>/dev/null; then
		topo_exec "n$i" nginx -c "$d/nginx.conf" -p "$d" -s reload ||
		    topo_die "nginx on n$i did not reload"
		return
	fi
	topo_exec "n$i" nginx -c "$d/nginx.conf" -p "$d" ||
	    topo_die "nginx on n$i did not start"
}

# topo_fresh FILE: waits (bounded, 15 s) until a status file has been
# written twice since the call (each write replaces it: a new inode), so
# that its counters are of a moment after the call.  A fixed wait of a
# second and a bit missed counts when a starved daemon wrote late.
topo_fresh() {
	local i n=0 ino last
	last=$(stat -c %i "$1" 2>/dev/null)
	for i in $(seq 1 150); do
		sleep 0.1
		ino=$(stat -c %i "$1" 2>/dev/null)
		if [ "$ino" != "$last" ]; then
			n=$((n + 1))
			last=$ino
			[ "$n" -ge 2 ] && return 0
		fi
	done
	echo "$1 was not written twice in 15 s" >&2
	return 1
}

# topo_wait_peers I N: waits (bounded) until node I logged N peers up.
topo_wait_peers() {
	local i=$1 n=$2 t
	for t in $(seq 1 100); do
		[ "$(cat "$TOPO_STATE/n$i.log" 2>/dev/null | grep -c "peer .* up")" -ge "$n" ] && return 0
		sleep 0.1
	done
	topo_log "n$i: fewer than $n peers up"
	return 1
}

# topo_start I [ARGS...]: starts node I's daemon in the foreground mode,
# logging to $TOPO_STATE/nI.log, and waits until it runs.
topo_start() {
	local i=$1 log t before
	shift
	log="$TOPO_STATE/n$i.log"
	before=$(cat "$log" 2>/dev/null | grep -c "^node .* running$")
	# not through topo_exec: $! must be the daemon, not a subshell
	ip netns exec "$(topo_ns "n$i")" "$HANDOFFD" -d -c "$TOPO_STATE/n$i.yaml" \
	    "$@" >>"$log" 2>&1 &
	TOPO_PIDS[$i]=$!
	for t in $(seq 1 100); do
		[ "$(cat "$log" 2>/dev/null | grep -c "^node .* running$")" -gt "$before" ] && return 0
		kill -0 "${TOPO_PIDS[$i]}" 2>/dev/null || break
		sleep 0.05
	done
	cat "$log" >&2
	topo_die "daemon on n$i did not start"
}

# topo_kill I: SIGKILL node I's daemon, as a crash would.
topo_kill() {
	kill -KILL "${TOPO_PIDS[$1]}"
	wait "${TOPO_PIDS[$1]}" 2>/dev/null
	TOPO_PIDS[$1]=
}

# topo_stop I: SIGTERM, then the exit status (non-zero on a sanitizer
# report or an unclean exit).
topo_stop() {
	local i=$1 pid rc t
	pid=${TOPO_PIDS[$i]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for t in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		topo_log "daemon on n$i did not exit on SIGTERM"
	fi
	wait "$pid"
	rc=$?
	TOPO_PIDS[$i]=
	return $rc
}

topo_cleanup() {
	local rc=$? i ns
	for i in "${!TOPO_PIDS[@]}"; do
		[ -n "${TOPO_PIDS[$i]}" ] || continue
		kill -KILL "${TOPO_PIDS[$i]}" 2>/dev/null
		{ wait "${TOPO_PIDS[$i]}"; } 2>/dev/null
	done
	for ns in "${TOPO_NS[@]}"; do
		# whatever still runs in the namespace (nginx, curl...) goes too
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$TOPO_KEEP" = 1 ] || { [ $rc -ne 0 ] && [ -n "${TOPO_DEBUG:-}" ]; }; then
		topo_log "state kept in $TOPO_STATE"
	else
		rm -rf "$TOPO_STATE"
	fi
	return $rc
}

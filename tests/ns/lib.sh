# shellcheck shell=bash
#
# Shared by the namespace tests: the topology library plus assertions.  A
# test is a bash script that exits 0 when every check held; t_fail prints
# the daemons' logs so that a CI failure explains itself.

# shellcheck source=../../scripts/lib/topo.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/topo.sh"

: "${HANDOFFD_TOOLS:=$topo_top/build/test/tests/tools}"
# handoffctl of the same build as the daemon
: "${HANDOFFCTL:=$(dirname "${HANDOFFD:-$topo_top/build/test/handoffd}")/handoffctl}"
# Where the tests and their helpers (ctlattack.py) are.
T_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

t_fail() {
	local f
	echo "FAIL: $*"
	for f in "$TOPO_STATE"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f"
	done
	exit 1
}

t_ok() { echo "ok: $*"; }

# t_check DESCRIPTION CMD...: CMD must succeed.
t_check() {
	local what=$1
	shift
	"$@" || t_fail "$what"
	t_ok "$what"
}

# t_stat FILE NAME: a counter from a daemon's status file.
t_stat() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}

# t_wait_stat FILE NAME MIN: waits (bounded, 15 s: the file is rewritten
# every second, by a daemon that may be starved on a loaded machine)
# until a counter reaches MIN.
t_wait_stat() {
	local i v
	for i in $(seq 1 150); do
		v=$(t_stat "$1" "$2" 2>/dev/null)
		[ "$v" != missing ] && [ "$v" -ge "$3" ] 2>/dev/null && return 0
		sleep 0.1
	done
	echo "counter $2 is $v, expected >= $3" >&2
	return 1
}

# t_configure_all: every node's configuration (topo_config) and nginx.
t_configure_all() {
	local i
	for i in $(seq 1 "$TOPO_NODES"); do
		topo_config "$i"
		topo_nginx "$i"
	done
}

# t_finish: every node's flow table empties and every daemon exits cleanly
# (a sanitizer report fails it), the front-end last.
t_finish() {
	local n
	for n in $(seq 1 "$TOPO_NODES"); do
		t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
	done
	for n in $(seq "$TOPO_NODES" -1 1); do
		t_check "n$n: clean exit (no leaks)" topo_stop "$n"
	done
	echo "all checks passed"
}

# t_start_cluster: starts the back-ends, then the front-end (node 1), so it
# finds its peers at once, and waits until it sees them all.
t_start_cluster() {
	local i
	for i in $(seq 2 "$TOPO_NODES"); do
		topo_start "$i"
	done
	topo_start 1
	t_check "front-end sees its $((TOPO_NODES - 1)) peers" topo_wait_peers 1 $((TOPO_NODES - 1))
}

# t_wait_line FILE WORDS: waits (bounded, 15 s) until a line of FILE starts
# with WORDS (whole words).
t_wait_line() {
	local i
	for i in $(seq 1 150); do
		grep -qE "^$2( |\$)" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no line \"$2\" in $1" >&2
	return 1
}

# t_until CMD...: waits (bounded, 10 s) until CMD succeeds.
t_until() {
	local i
	for i in $(seq 1 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# t_held_dl URL OUT: a download by the client that stays open until
# t_held_release, which lets it complete into OUT.  Until then the client
# reads nothing more once its pipe is full, and its receive buffer is at
# most 32 KB (the client namespace's tcp_rmem, as it was after release),
# so the server's window is shut and the connection stays.  curl's
# --limit-rate alone does not hold one: with the default buffer of up to
# 6 MB, a 4 MB download at "100K" was over in 0.6 s, before a test's
# check of its port could find it.  Its pid in held_pid; one at a time.
# A hold must stay well under nginx's send_timeout (60 s) and the
# configuration's handoff.idle, either of which ends a shut window.
t_held_dl() {
	held_rmem=$(topo_exec c sysctl -n net.ipv4.tcp_rmem)
	rm -f "$TOPO_STATE/held.go"
	topo_exec c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
	# shellcheck disable=SC2016
	topo_exec c bash -c 'set -o pipefail; curl -sS -m 120 "$1" |
	    { for i in $(seq 1 600); do [ -e "$2" ] && break; sleep 0.1; done
	      cat >"$3"; }' sh "$1" "$TOPO_STATE/held.go" "$2" &
	held_pid=$!
}

# t_held_release: lets t_held_dl's download complete and waits for it;
# returns its status (curl's, if it failed).
t_held_release() {
	touch "$TOPO_STATE/held.go"
	wait "$held_pid"
	local rc=$?
	topo_exec c sysctl -qw net.ipv4.tcp_rmem="$held_rmem"
	return "$rc"
}

# t_client_other ADDR: the client has ADDR too, of a network other than
# its own 10.0.0.0/24, on its link, and the router routes it there.
t_client_other() {
	topo_exec c ip addr add "$1/32" dev eth0 &&
	    topo_exec r ip route add "$1/32" dev c0
}

# t_client_port DST: the client's port of its connection to DST, once it
# is established (waits up to 10 s); empty if none.
t_client_port() {
	local i port
	for i in $(seq 1 100); do
		port=$(topo_exec c ss -Htn state established dst "$1" |
		    awk '{ sub(/.*:/, "", $3); print $3; exit }')
		[ -n "$port" ] && break
		sleep 0.1
	done
	echo "$port"
}

# t_tcpdump NODE OUT SECONDS TCPDUMP-ARGS...: tcpdump in NODE's namespace
# for at most SECONDS, its output in OUT, in the background (its pid in
# tcpdump_pid); returns once it listens (bounded wait), so that nothing
# sent after is missed.
t_tcpdump() {
	local ns out=$2 secs=$3
	ns=$(topo_ns "$1")
	shift 3
	rm -f "$out.err"
	ip netns exec "$ns" timeout "$secs" tcpdump --immediate-mode "$@" \
	    >"$out" 2>"$out.err" &
	tcpdump_pid=$!
	t_wait_grep "$out.err" "listening on"
}

# t_wait_grep FILE REGEX [SECONDS]: waits (bounded, default 15 s) until a
# line of FILE matches REGEX (grep -E).
t_wait_grep() {
	local i
	for i in $(seq 1 $((${3:-15} * 10))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no line matching \"$2\" in $1" >&2
	return 1
}

# t_wait_flows FILE N: waits (bounded, 30 s) until flows_active is N.
t_wait_flows() {
	local i v
	for i in $(seq 1 300); do
		v=$(t_stat "$1" flows_active 2>/dev/null)
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	echo "flows_active is $v, expected $2; the flows left:" >&2
	"$HANDOFFCTL" -s "${1%.status}.sock" flows -n 20 >&2 || true
	return 1
}

# t_node_config I [LWIP-ADDR] [TUN-NAME] [EXTRA-TUN-LINES]: a config for a
# node without peers or services.
t_node_config() {
	local i=$1 lwip=${2:-10.2.$1.2} tun=${3:-$TOPO_TUN}
	topo_key
	cat >"$TOPO_STATE/n$i.yaml" <<YAML
node:
  id: n$i
  control: 127.0.0.1:$TOPO_CONTROL_PORT
  server: 10.2.$i.1:80
  status_file: $TOPO_STATE/n$i.status
  admin_socket: $TOPO_STATE/n$i.sock
tun:
  name: $tun
${4:-}
lwip:
  address: $lwip
control:
  key_file: $TOPO_KEY
YAML
}

# t_dl_start K URL [RATE]: download K, slowly read (RATE, default 1M a
# second), in the client namespace, into $TOPO_STATE/dlK; its pid is added
# to T_DL_PIDS.
t_dl_start() {
	topo_exec c curl -s -m 90 --limit-rate "${3:-1M}" -o "$TOPO_STATE/dl$1" \
	    -w '%{http_code}\n' "$2" >"$TOPO_STATE/dl$1.code" &
	T_DL_PIDS+=($!)
}

# t_dl_check SHA256: waits for every download of T_DL_PIDS (numbered from
# 1) and checks each arrived whole with code 200; prints the others and
# fails if there are any.
t_dl_check() {
	local k=0 pid got failed=0
	for pid in "${T_DL_PIDS[@]}"; do
		k=$((k + 1))
		wait "$pid"
		got=$(sha256sum <"$TOPO_STATE/dl$k" | cut -d' ' -f1)
		if [ "$got" != "$1" ] || [ "$(cat "$TOPO_STATE/dl$k.code")" != 200 ]; then
			echo "download $k: $(stat -c %s "$TOPO_STATE/dl$k") bytes, code $(cat "$TOPO_STATE/dl$k.code")"
			failed=$((failed + 1))
		fi
	done
	T_DL_PIDS=()
	[ "$failed" = 0 ]
}

# t_loop_start URL: short requests one at a time from the client, bounded
# in count, until t_loop_stop, which sets T_LOOP_TOTAL and T_LOOP_LOST
# (answers other than 200) and prints them.
t_loop_start() {
	rm -f "$TOPO_STATE/loop.stop"
	: >"$TOPO_STATE/loop.codes"
	topo_exec c bash -c "for i in \$(seq 1 20000); do
	    [ -f $TOPO_STATE/loop.stop ] && break
	    curl -s -m 5 -o /dev/null -w '%{http_code}\n' $1 || true
	    done >>$TOPO_STATE/loop.codes" &
	T_LOOP_PID=$!
}

t_loop_stop() {
	touch "$TOPO_STATE/loop.stop"
	wait "$T_LOOP_PID"
	T_LOOP_TOTAL=$(wc -l <"$TOPO_STATE/loop.codes")
	T_LOOP_LOST=$(grep -cv '^200$' "$TOPO_STATE/loop.codes")
	echo "the request loop made $T_LOOP_TOTAL requests; $T_LOOP_LOST failed"
}

# t_step_client VIP [SPORT]: stepclient.py in the client's namespace (its
# pid in step_pid), driven through fd 3 ("echo close >&3": its next step;
# "echo end >&3" ends it, as a daemon started since may hold the pipe
# open), its output in $TOPO_STATE/client.out; returns once it has its
# answer.
t_step_client() {
	mkfifo "$TOPO_STATE/steps"
	topo_exec c python3 "$T_DIR/stepclient.py" "$@" <"$TOPO_STATE/steps" \
	    >"$TOPO_STATE/client.out" 2>&1 &
	step_pid=$!
	exec 3>"$TOPO_STATE/steps"
	t_until grep -q answered "$TOPO_STATE/client.out"
}

# t_lose_acks TABLE: the client's bare ACKs to the VIP are dropped (and
# counted) by nftables table TABLE in its namespace, until deleted
# (topo_exec c nft delete table ip TABLE).
t_lose_acks() {
	topo_exec c nft -f - <<EOF
table ip $1 {
	chain out {
		type filter hook output priority 0;
		ip daddr $TOPO_VIP tcp dport 80 tcp flags & (fin|syn|rst|psh|ack) == ack counter drop
	}
}
EOF
}

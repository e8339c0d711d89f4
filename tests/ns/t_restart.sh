#!/bin/bash
# Connections survive their daemons (node.state_file).  Twenty slow 20 MB
# downloads, ten through each handshake, served by n2's kernel stack: n2's
# daemon is SIGKILLed and started again, then n1's (the front-end): every
# download arrives whole, each daemon says it went on with all twenty,
# and the flow tables drain afterwards.  A state file that cannot be
# trusted (garbage, cut short) starts the daemon with no flows and a
# warning; a second daemon on the same file is refused.
. "$(dirname "$0")/lib.sh"

topo_init restart
TOPO_STACK=kernel
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
for i in 1 2 3; do
	sed -i "s|^  status_file: .*|&\n  state_file: $TOPO_STATE/n$i.state|" \
	    "$TOPO_STATE/n$i.yaml"
done
head -c 20M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
t_start_cluster

c() { topo_exec c "$@"; }
acked() { "$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" -j status | jq -r .handoffs.accepted; }

# Slow readers (a small receive buffer at the client): the server sends
# till the end, through both restarts.
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
pids=()
for k in $(seq 1 20); do
	vip=$TOPO_VIP2		# lwip handshake, pool "remote": n2
	[ $((k % 2)) = 0 ] && vip=$TOPO_VIP3	# cookie handshake, n2
	c curl -s -m 120 --limit-rate 1M -o "$TOPO_STATE/dl$k" \
	    -w '%{http_code}\n' "http://$vip/big.bin" >"$TOPO_STATE/dl$k.code" &
	pids+=($!)
done
all_handed_off() { [ "$(acked)" -ge 20 ]; }
t_check "the twenty downloads are handed off to n2" t_until all_handed_off
sleep 2

# restart I: SIGKILL node I's daemon, start it again at once; it must
# say it went on with the twenty.
restart() {
	local i=$1
	topo_kill "$i"
	topo_start "$i"
	t_check "n$i: back, going on with all twenty" \
	    t_wait_grep "$TOPO_STATE/n$i.log" "^state: .*: 20 connections go on, 0 were lost"
}
restart 2
topo_wait_peers 1 3 || t_fail "n1 does not see n2 again"
t_check "n2 rewrites again" t_wait_stat "$TOPO_STATE/n2.status" rw_pkts 1000
t_check "n2 counts what it took over" t_wait_stat "$TOPO_STATE/n2.status" state_adopted 20
sleep 2
restart 1
t_check "n1 forwards again" t_wait_stat "$TOPO_STATE/n1.status" fwd_pkts 1000
t_check "n1 counts what it took over" t_wait_stat "$TOPO_STATE/n1.status" state_adopted 20

failed=0
for k in $(seq 1 20); do
	wait "${pids[$((k - 1))]}"
	got=$(sha256sum <"$TOPO_STATE/dl$k" | cut -d' ' -f1)
	if [ "$got" != "$want" ] || [ "$(cat "$TOPO_STATE/dl$k.code")" != 200 ]; then
		echo "download $k: $(stat -c %s "$TOPO_STATE/dl$k") bytes, code $(cat "$TOPO_STATE/dl$k.code")"
		failed=$((failed + 1))
	fi
done
t_check "all twenty downloads arrived whole (sha256)" [ "$failed" = 0 ]
t_check "new connections work after both restarts" \
    sh -c "[ \"\$(ip netns exec $(topo_ns c) curl -s -m 5 http://$TOPO_VIP2/)\" = 'node n2' ]"

# A second daemon on n3's file (on a TUN of its own: n3's is taken) is
# refused, by name; n3 goes on.
sed "s/^  name: $TOPO_TUN\$/  name: hoff9/" "$TOPO_STATE/n3.yaml" >"$TOPO_STATE/n3b.yaml"
out=$(ip netns exec "$(topo_ns n3)" timeout 10 "$HANDOFFD" -d -c "$TOPO_STATE/n3b.yaml" 2>&1)
rc=$?
refused() { [ "$rc" = 1 ] && grep -q 'n3.state: in use by another handoffd' <<<"$out"; }
t_check "a second daemon on the same state file is refused" refused

# Garbage, then a file cut short: n3 starts with no flows and says why.
t_check "n3 stops" topo_stop 3
head -c 100000 /dev/urandom >"$TOPO_STATE/n3.state"
topo_start 3
t_check "n3 starts on a garbage state file, with no flows and a warning" \
    t_wait_grep "$TOPO_STATE/n3.log" "n3.state: not a state file: starting with no flows"
t_check "n3 stops again" topo_stop 3
truncate -s 5000 "$TOPO_STATE/n3.state"
topo_start 3
t_check "n3 starts on a file cut short, with no flows and a warning" \
    t_wait_grep "$TOPO_STATE/n3.log" "n3.state: truncated: starting with no flows"
t_check "... and serves" \
    sh -c "ip netns exec $(topo_ns c) curl -s -m 5 http://$TOPO_VIP/ >/dev/null"

t_finish

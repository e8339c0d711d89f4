#!/bin/bash
# A kernel-stack back-end need not agree to what the client and the
# front-end agreed: with net.ipv4.tcp_window_scaling=0, tcp_timestamps=0,
# tcp_sack=0, or tcp_syncookies=2 for a client without timestamps (a SYN
# cookie then holds no window scale), 20 MB downloads through both
# handshakes are sha256-correct.  The rates are printed, not judged; the
# windows' exact values are pinned by tests/scenarios/kernel_unscaled.scn.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel"
topo_init bksysctl
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }
head -c 20M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)

# get NAME: the file through the lwip handshake (VIP2) and the cookie one
# (VIP3), both handed to n2.
get() {
	local vip t got
	for vip in "$TOPO_VIP2" "$TOPO_VIP3"; do
		rm -f "$TOPO_STATE/got"
		t=$(c curl -s -m 120 -o "$TOPO_STATE/got" -w '%{time_total}' "http://$vip/big.bin")
		got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
		echo "$1 via $vip: $t s"
		t_check "$1, via $vip: 20 MB, sha256 matches" [ "$got" = "$want" ]
	done
}
# with NS KEY=VALUE... -- NAME: get NAME with those sysctls in NS, then
# puts them back.
with() {
	local ns=$1 kv old=()
	shift
	while [ "$1" != -- ]; do
		old+=("${1%%=*}=$(topo_exec "$ns" sysctl -n "net.ipv4.${1%%=*}")")
		topo_exec "$ns" sysctl -qw "net.ipv4.$1"
		shift
	done
	shift
	get "$1"
	for kv in "${old[@]}"; do
		topo_exec "$ns" sysctl -qw "net.ipv4.$kv"
	done
}

get "defaults"
with n2 tcp_window_scaling=0 -- "n2 without window scaling"
with n2 tcp_timestamps=0 -- "n2 without timestamps"
with n2 tcp_sack=0 -- "n2 without SACK"
topo_exec c sysctl -qw net.ipv4.tcp_timestamps=0
with n2 tcp_syncookies=2 -- "n2 always answering with SYN cookies, a client without timestamps"
topo_exec c sysctl -qw net.ipv4.tcp_timestamps=1
t_check "n2 refused nothing" [ "$(t_stat "$TOPO_STATE/n2.status" be_refused)" = 0 ]
t_finish

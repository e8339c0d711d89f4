#!/bin/bash
# Several front-ends that serve a share themselves (handoffd(8), SEVERAL
# FRONT-ENDS): the cookie handshake with the kernel stack hands a front-end's
# own share to its own kernel, which moves like any other connection.  n1
# and n2 front-end the VIP behind a multipath route and are members of its
# pool with n3 (kernel) and n4 (lwIP), with state files.  Twenty slow
# downloads; n1's daemon is killed and its route removed: n2 takes the
# clients, and once n1 is back (with its connections, from its state file)
# n2 forwards to n1's kernel the ones n1 serves.  Every download arrives
# whole, and the flow tables drain.
. "$(dirname "$0")/lib.sh"

topo_init ecmplocal
TOPO_STACKS="kernel kernel kernel lwip"
topo_cluster 4
export TOPO_MEMBERS="n3 n4" TOPO_REMOTE="n1 n2 n3 n4"
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
for i in 1 2; do
	sed -i "s|^  status_file: .*|&\n  state_file: $TOPO_STATE/n$i.state|" \
	    "$TOPO_STATE/n$i.yaml"
done
head -c 8M /dev/urandom >"$TOPO_STATE/www-n1/big.bin"
for i in 2 3 4; do
	cp "$TOPO_STATE/www-n1/big.bin" "$TOPO_STATE/www-n$i/big.bin"
done
want=$(sha256sum <"$TOPO_STATE/www-n1/big.bin" | cut -d' ' -f1)

topo_exec r sysctl -qw net.ipv4.fib_multipath_hash_policy=1
topo_exec r ip route replace 10.9.0.0/24 nexthop via 10.1.1.2 \
    nexthop via 10.1.2.2
topo_exec n2 ip route add 10.9.0.0/24 dev "$TOPO_TUN"
t_start_cluster
t_check "n2 sees its 3 peers" topo_wait_peers 2 3

topo_exec c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
for k in $(seq 1 20); do
	# 16 s each: longer than the move takes
	t_dl_start "$k" "http://$TOPO_VIP3/big.bin" 500K
done
t_check "n1 serves a share itself" \
    t_wait_stat "$TOPO_STATE/n1.status" be_accepted 1
sleep 1

topo_kill 1
topo_exec r ip route replace 10.9.0.0/24 via 10.1.2.2
sleep 1
topo_start 1
t_check "n1 back, going on with its connections" \
    t_wait_grep "$TOPO_STATE/n1.log" "^state: .*: [1-9][0-9]* connections go on"
t_check "n1 moved the connections it serves to n2" \
    t_wait_stat "$TOPO_STATE/n1.status" be_moved 1
t_check "all twenty downloads arrived whole (sha256)" t_dl_check "$want"
t_finish

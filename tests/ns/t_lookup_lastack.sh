#!/bin/bash
# A front-end that restarts without its connections (no node.state_file)
# while a finished connection's last ACK is lost: the back-end's kernel
# sends its FIN again, further apart each time, and the client's only
# answer is the acknowledgment of each.  The restarted front-end looks
# that acknowledgment up and sends it on to the kernel, which closes; the
# back-end's flow ends within its linger instead of lingering on (up to
# two minutes) while each lookup's segment was dropped and the front-end's
# own linger ran out before the next retransmission.
. "$(dirname "$0")/lib.sh"

topo_init lastack
TOPO_STACK=kernel
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster

# The client: a request, its answer; then its FIN, and the server's.
t_check "the client has its answer" t_step_client "$TOPO_VIP"
# The client's acknowledgments of the server's FIN are lost on the way.
t_lose_acks lastack
echo close >&3
t_check "the client's connection is closed" \
    t_until grep -q closed "$TOPO_STATE/client.out"
lingers() { "$HANDOFFCTL" -s "$TOPO_STATE/n2.sock" flows | grep -q linger; }
t_check "n2 lingers, its kernel sending its FIN again" t_until lingers
dropped() {
	topo_exec c nft list table ip lastack | grep -q 'packets [1-9]'
}
t_check "the client's last ACK was dropped" t_until dropped

# The front-end dies and comes back without the connection; the path is
# clean again.
topo_kill 1
topo_start 1
t_check "n1 back, with its peer" topo_wait_peers 1 1
topo_exec c nft delete table ip lastack
t_check "n1 looks the client's ACK up and finds it" \
    t_wait_stat "$TOPO_STATE/n1.status" lookups_found 1
t_check "n2's flow ends (its kernel has the ACK)" \
    t_wait_flows "$TOPO_STATE/n2.status" 0
t_check "n1 found it once: the ACK it asked with went on" \
    [ "$(t_stat "$TOPO_STATE/n1.status" lookups_found)" = 1 ]
echo end >&3
exec 3>&-
wait "$step_pid"
t_finish

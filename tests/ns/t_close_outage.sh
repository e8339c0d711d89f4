#!/bin/bash
# A connection that ends while its back-end's control channel to the
# front-end is down.  n2 cannot say so (its CLOSE); its flow outlives its
# linger until the channel is back and says it then, so that n1 stops
# forwarding the connection: the client's next connection from the same
# port is a new handoff, answered.  (Before, n2 forgot its flow after the
# linger, and n1 forwarded the new connection's SYNs into a stack that no
# longer knew it, until its idle timeout.)
. "$(dirname "$0")/lib.sh"

topo_init closeout
TOPO_STACK=kernel
topo_cluster 2
export TOPO_MEMBERS="n2" TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
# Gone only after long: the channel is down for a few seconds here.
for i in 1 2; do
	printf '  dead_after: 60s\n  reconnect_max: 500ms\n' >>"$TOPO_STATE/n$i.yaml"
done
t_start_cluster

# The client, from a fixed port: a request and its answer; then its FIN,
# and the server's; then the same again from the same port, whose
# TIME_WAIT gives way to the new connection.
topo_exec c sysctl -qw net.ipv4.tcp_tw_reuse=1
t_check "the client has its answer" t_step_client "$TOPO_VIP" 45678

# The client's acknowledgment of the server's FIN is lost for a while:
# n2's kernel sends its FIN again, and the connection ends only then.
t_lose_acks closeout
echo close >&3
t_check "the client's connection is closed" \
    t_until grep -q closed "$TOPO_STATE/client.out"

# Meanwhile the control channel goes down and stays down: its connections
# are destroyed, new ones dropped.
topo_exec n2 nft -f - <<EOF2
table inet closeout {
	chain in {
		type filter hook input priority 0;
		tcp dport $TOPO_CONTROL_PORT drop
		tcp sport $TOPO_CONTROL_PORT drop
	}
}
EOF2
topo_exec n2 ss -K "( sport = :$TOPO_CONTROL_PORT or dport = :$TOPO_CONTROL_PORT )" >/dev/null 2>&1
t_check "n2 sees n1 down" t_wait_grep "$TOPO_STATE/n2.log" "peer n1 down"

# The client's acknowledgment gets through: the connection ends at n2,
# which cannot say so.
topo_exec c nft delete table ip closeout
lingers() { "$HANDOFFCTL" -s "$TOPO_STATE/n2.sock" flows | grep -q linger; }
t_check "n2's flow ends: it lingers" t_until lingers
# Past the longest linger its stack's retransmissions could have asked for
# here (twice their last gap and a margin).
sleep 8
t_check "n2 keeps the flow past its linger, its end unheard" lingers

ups=$(grep -c "peer n1 up" "$TOPO_STATE/n2.log")
topo_exec n2 nft delete table inet closeout
back() { [ "$(grep -c "peer n1 up" "$TOPO_STATE/n2.log")" -gt "$ups" ]; }
t_check "n2 sees n1 again" t_until back
t_check "n1 stops forwarding the connection" \
    t_wait_flows "$TOPO_STATE/n1.status" 0
echo again >&3
t_check "the client's new connection from the same port is answered" \
    t_until grep -q "answered again" "$TOPO_STATE/client.out"
t_check "... handed off afresh" t_wait_stat "$TOPO_STATE/n2.status" be_handoffs 2
exec 3>&-
wait "$step_pid"
t_finish

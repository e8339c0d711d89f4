#!/bin/bash
# What a peer says is checked against the configuration.  n1 lists a
# service, "other", that n2 does not: n2 refuses its handoffs before
# anything reaches nginx, and n1, with no other member, answers 503.  Then
# n1 restarts with a wrong peers[].stack_address for n2: n2 takes the next
# handoff at its real one, n1 gives the connection up (logged, counted, the
# client never hangs) and n2 lets go; both tables empty.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel"
topo_init peerchk
topo_cluster 2
export TOPO_MEMBERS=n2
t_configure_all
cat >"$TOPO_STATE/n1-services.yaml" <<YAML
services:
  - {name: web, listen: $TOPO_VIP:$TOPO_VIP_PORT, pool: remote}
  - {name: other, listen: 10.9.0.4:$TOPO_VIP_PORT, pool: remote}
pools:
  - {name: remote, members: [n2]}
YAML
TOPO_SERVICES_FILE="$TOPO_STATE/n1-services.yaml" topo_config 1
t_start_cluster
c() { topo_exec c "$@"; }
st1="$TOPO_STATE/n1.status" st2="$TOPO_STATE/n2.status"

t_check "the service both list is handed to n2" \
    [ "$(c curl -s -m 10 "http://$TOPO_VIP/")" = "node n2" ]
code=$(c curl -s -m 10 -o /dev/null -w '%{http_code}' "http://10.9.0.4/other-probe")
t_check "a service n2 does not list: 503 (got $code)" [ "$code" = 503 ]
t_check "n2 logged the refusal" grep -q "to 10.9.0.4:80, which is none of this node's services: refused" "$TOPO_STATE/n2.log"
t_check "n2 counted it" t_wait_stat "$st2" be_unknown_vip 1
t_check "n1 counted a refusal" t_wait_stat "$st1" handoffs_refused 1
t_check "nothing reached n2's nginx" bash -c "! grep -q other-probe '$TOPO_STATE'/nginx-n2/*.log"

t_check "n1 stops" topo_stop 1
sed -i 's/stack_address: 10\.2\.2\.1$/stack_address: 10.2.2.9/' "$TOPO_STATE/n1.yaml"
t_check "n1's configuration now names 10.2.2.9" grep -q 'stack_address: 10.2.2.9' "$TOPO_STATE/n1.yaml"
topo_start 1
t_check "n1 sees n2 again" topo_wait_peers 1 1
out=$(c curl -s -m 10 -w ' %{http_code}' -H 'Connection: close' "http://$TOPO_VIP/?wrong-stack")
rc=$?
# n2's nginx may have answered before n1 reset the client: its page whole,
# or an error, but never a hang or another server's bytes.
whole_or_error() { [ "$rc" != 28 ] && { [ "$out" = $'node n2\n 200' ] || [ "$rc" != 0 ]; }; }
t_check "the client got n2's page or an error, and no hang (rc $rc: $out)" whole_or_error
t_check "n1 logged the wrong stack address" t_wait_grep "$TOPO_STATE/n1.log" \
    "n2 took a connection at stack address 10.2.2.1, but its peers\[\]\.stack_address is 10.2.2.9"
t_check "n1 counted it" t_wait_stat "$st1" handoffs_bad_stack 1
t_check "n2 let go" t_wait_stat "$st2" be_aborted 1
t_finish

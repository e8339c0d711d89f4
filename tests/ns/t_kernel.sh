#!/bin/bash
# Kernel stack at a back-end, in a cluster that mixes stacks: nginx on the
# kernel-stack node sees the client's real address; when its nginx is
# stopped the kernel refuses the handoff, the front-end tries the next
# member or answers 503, counted, without hanging.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel lwip"
topo_init kernel
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }

codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP/?[1-30]")
t_check "mixed stacks: 30 requests, all 200" [ "$(grep -c '^200$' <<<"$codes")" -eq 30 ]
t_check "the lwip-stack back-end served some" grep -q 'GET /?' "$TOPO_STATE/nginx-n3/access.log"
t_check "nginx on the kernel-stack back-end logs the client's real address" \
    grep -q '^10\.0\.0\.2 "GET /?' "$TOPO_STATE/nginx-n2/access.log"
t_check "... and only that address" \
    sh -c "! grep -v '^10\.0\.0\.2 ' '$TOPO_STATE/nginx-n2/access.log'"

# Stop n2's web server: the kernel answers the injected SYN with a RST.
kill "$(cat "$TOPO_STATE/nginx-n2/nginx.pid")"
no_listener() { ! topo_exec n2 ss -Hltn 'sport = :80' | grep -q .; }
t_check "n2's nginx no longer listens" t_until no_listener
start=$(date +%s%N)
code=$(c curl -s -m 10 -o /dev/null -w '%{http_code}' "http://$TOPO_VIP2/")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "pool of n2 alone: HTTP $code in $ms ms"
t_check "the front-end answers 503 when the only member refuses" [ "$code" = 503 ]
t_check "... without hanging" [ "$ms" -lt 5000 ]
t_check "n2 counted the refusal" t_wait_stat "$TOPO_STATE/n2.status" be_refused 1
t_check "n1 counted the refusal" t_wait_stat "$TOPO_STATE/n1.status" handoffs_refused 1
t_check "n1 counted the 503" t_wait_stat "$TOPO_STATE/n1.status" http_503 1
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP/?again=[1-30]")
t_check "a refused member is skipped: 30 more requests, all 200" \
    [ "$(grep -c '^200$' <<<"$codes")" -eq 30 ]

t_finish

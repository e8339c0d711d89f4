#!/bin/bash
# Thousands of kept-alive connections held on lwIP stacks (the front-end's
# own share and an lwIP back-end's): lwIP finds each connection's segments
# in a table by its addresses and ports (patch 0020) and its fast timer
# visits only connections with work left (0021), so this is what must
# still hold when most of them sit idle: new connections are answered,
# every idle connection answers its next request whole, and all of them
# end cleanly.
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/lib.sh"

n=3000
topo_init lwip-many
topo_cluster 2
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
t_start_cluster
c() { topo_exec c "$@"; }

for i in 1 2; do
	echo "small" >"$TOPO_STATE/www-n$i/small.txt"
done
head -c 50K /dev/urandom >"$TOPO_STATE/f.bin"
for i in 1 2; do
	cp "$TOPO_STATE/f.bin" "$TOPO_STATE/www-n$i/f.bin"
done
want=$(sha256sum <"$TOPO_STATE/f.bin" | cut -d' ' -f1)

# The client holds the connections, idle for 3 s, and asks each for
# f.bin; meanwhile a fresh connection asks for it too.
c bash -c "ulimit -n $((n + 100)) && exec python3 '$T_DIR/manyconns.py' \
    $TOPO_VIP $n /small.txt /f.bin $want 3" >"$TOPO_STATE/many.out" 2>&1 &
mpid=$!
for _ in $(seq 1 600); do
	v=$(t_stat "$TOPO_STATE/n1.status" flows_active 2>/dev/null)
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge $((n / 2)) ] && break
	kill -0 "$mpid" 2>/dev/null || break
	sleep 0.1
done
t_check "new connections answered beside the held ones" \
    [ "$(c curl -s -m 10 "http://$TOPO_VIP/f.bin" | sha256sum | cut -d' ' -f1)" = "$want" ]
wait "$mpid"
rc=$?
cat "$TOPO_STATE/many.out"
t_check "each of $n held connections answered both requests whole" [ "$rc" = 0 ]
echo "n1: $(grep -E '^(fe_local|handoffs_acked|served) ' "$TOPO_STATE/n1.status" | tr '\n' ' ')"
t_check "both nodes served a share" \
    [ "$(t_stat "$TOPO_STATE/n1.status" fe_local)" -gt 100 ] &&
    [ "$(t_stat "$TOPO_STATE/n1.status" handoffs_acked)" -gt 100 ]
t_finish

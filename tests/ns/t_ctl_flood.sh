#!/bin/bash
# Resource exhaustion at the control port: 3,000 connections that trickle
# one byte every 2 s into n1's control port, 2,800 of them from 21
# addresses n1 accepts connections from (n3's and those of 20 more peers
# in n1's configuration, all held by the attacker in n3's namespace), 200
# from the client's, which is no peer's.  The caps on unauthenticated
# connections hold (each new one closes the oldest of the busiest
# address): n1 keeps few descriptors, every peer stays in, and requests
# through the VIP keep succeeding.
. "$(dirname "$0")/lib.sh"

topo_init ctl-flood
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
for i in 1 2 3; do
	topo_config "$i"
	topo_nginx "$i"
done
# 20 more peers of n1, at addresses the attacker holds.
extra=
for k in $(seq 10 29); do
	topo_exec n3 ip addr add "10.1.3.$k/24" dev eth0
	extra+="  - id: x$k\n    control: 10.1.3.$k:7100\n"
	extra+="    stack_address: 10.2.3.2\n    server: 10.1.3.$k:80\n"
	srcs+="${srcs:+,}10.1.3.$k"
done
sed -i "s|^peers:\$|peers:\n$extra|" "$TOPO_STATE/n1.yaml"
t_start_cluster
for n in 2 3; do
	t_check "n1 is up at n$n" topo_wait_peers "$n" 1
done
t_check "counters written" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed 0
pid1=${TOPO_PIDS[1]}
fds0=$(ls "/proc/$pid1/fd" | wc -l)

# Requests through the VIP, every 0.2 s while the flood lasts.
c() { topo_exec c "$@"; }
c bash -c "for i in \$(seq 1 100); do
	curl -s -m 5 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' \
	    'http://$TOPO_VIP/?flood='\$i
	sleep 0.2
done" >"$TOPO_STATE/codes" 2>&1 &
loop=$!

# 3,000 sockets in one attacker process.
t_check "descriptor limit raised for the attacker" ulimit -n 8192
topo_exec n3 python3 "$T_DIR/ctlattack.py" trickle --src "10.1.3.2,$srcs" \
    --conns 2800 --interval 2 --seconds 25 10.1.1.2:7100 \
    >"$TOPO_STATE/trickle-peers.out" 2>&1 &
atk1=$!
topo_exec c python3 "$T_DIR/ctlattack.py" trickle --src 10.0.0.2 \
    --conns 200 --interval 2 --seconds 25 10.1.1.2:7100 \
    >"$TOPO_STATE/trickle-other.out" 2>&1 &
atk2=$!

# Halfway, and at the end: n1's descriptors and its members.
maxfds=0
for t in $(seq 1 24); do
	sleep 1
	n=$(ls "/proc/$pid1/fd" 2>/dev/null | wc -l)
	[ "$n" -gt "$maxfds" ] && maxfds=$n
	[ "$t" = 12 ] && grep '^member' "$TOPO_STATE/n1.status" >"$TOPO_STATE/members.mid"
done
wait "$atk1" "$atk2"
wait "$loop"
cat "$TOPO_STATE/trickle-peers.out" "$TOPO_STATE/trickle-other.out"
echo "n1 held $fds0 descriptors before, at most $maxfds during the flood"
cat "$TOPO_STATE/members.mid"
for s in ctl_refused_addr ctl_refused_busy ctl_handshake_timeout ctl_auth_failed; do
	echo "n1 $s $(t_stat "$TOPO_STATE/n1.status" $s)"
done

t_check "the attackers opened thousands of connections" \
    grep -qE "trickle: [0-9]{4,} opened" "$TOPO_STATE/trickle-peers.out"
# 64 waiting to authenticate, and the last burst the listener took (16)
# before those it closed to make room were released.
t_check "n1 never held more than the caps allow" \
    [ "$maxfds" -le $((fds0 + 64 + 16 + 8)) ]
t_check "the non-peer address was refused, counted" \
    t_wait_stat "$TOPO_STATE/n1.status" ctl_refused_addr 200
t_check "the caps were hit, counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_refused_busy 1000
t_check "n2 and n3 stayed in, halfway" \
    [ "$(grep -cE '^member/all/n[23]/up 1' "$TOPO_STATE/members.mid")" -eq 2 ]
t_check "no peer went down" \
    sh -c "! grep -q 'peer n[0-9] down' '$TOPO_STATE/n1.log' '$TOPO_STATE/n2.log' '$TOPO_STATE/n3.log'"
t_check "every request through the VIP succeeded" \
    [ "$(grep -c '^200$' "$TOPO_STATE/codes")" -eq 100 ]
for n in 2 3; do
	t_check "n$n served some of them" grep -q "flood=" "$TOPO_STATE/nginx-n$n/access.log"
done
t_check "the refusals were logged, rate-limited" \
    [ "$(grep -c 'refused: not a configured peer' "$TOPO_STATE/n1.log")" -le 40 ]
for n in 1 2 3; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 3 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

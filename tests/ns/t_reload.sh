#!/bin/bash
# Reloading without dropping anything.  The front-end n1 alternates
# between two configurations 20 times, by handoffctl reload and by SIGHUP,
# while a curl loop keeps asking and ten rate-limited downloads run: A
# sends /x/ to pool "two" (n3) and the rest to pool "one" (n2); B has no
# peer n3, sends /x/ to "one" and the rest to "two", now n1 itself.  Every
# request of the loop succeeds, every download (half of them from n3,
# which B removes while they run) arrives whole, and after each reload the
# new rules are in force.  A broken file between them changes nothing and
# says where it is broken; a file that changes node.id is refused, naming
# it; a file that removes the service a request is waiting on answers it
# 503.  A file without n2, whose place stays before n3's, leaves handoffctl
# listing n3 alone, as a table and as JSON.
. "$(dirname "$0")/lib.sh"

topo_init reload
TOPO_STACKS="lwip kernel lwip"
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
export TOPO_SERVICES_FILE="$TOPO_STATE/services-a.yaml"
cat >"$TOPO_SERVICES_FILE" <<YAML
services:
  - name: web
    listen: $TOPO_VIP:$TOPO_VIP_PORT
    pool: one
    rules:
      - path_prefix: /x/
        pool: two
pools:
  - name: one
    members: [n2]
  - name: two
    members: [n3]
YAML
t_configure_all
conf="$TOPO_STATE/n1.yaml"
cp "$conf" "$TOPO_STATE/a.yaml"
# B: no peer n3 (its five lines), the rules and pools the other way.
sed -e '/^  - id: n3$/,+4d' -e '/^services:$/,$d' "$conf" >"$TOPO_STATE/b.yaml"
cat >>"$TOPO_STATE/b.yaml" <<YAML
services:
  - name: web
    listen: $TOPO_VIP:$TOPO_VIP_PORT
    pool: two
    rules:
      - path_prefix: /x/
        pool: one
pools:
  - name: one
    members: [n2]
  - name: two
    members: [n1]
$(sed -n '/^handoff:$/,$p' "$conf")
YAML
t_check "B has no peer n3" sh -c "! grep -q 'id: n3' '$TOPO_STATE/b.yaml'"
out=$("$HANDOFFD" -n -c "$TOPO_STATE/b.yaml" 2>&1) || t_fail "B does not load: $out"

head -c 6M /dev/urandom >"$TOPO_STATE/big.bin"
want=$(sha256sum <"$TOPO_STATE/big.bin" | cut -d' ' -f1)
for i in 1 2 3; do
	mkdir -p "$TOPO_STATE/www-n$i/x"
	echo "node n$i" >"$TOPO_STATE/www-n$i/who"
	echo "node n$i" >"$TOPO_STATE/www-n$i/x/who"
	cp "$TOPO_STATE/big.bin" "$TOPO_STATE/www-n$i/big.bin"
	cp "$TOPO_STATE/big.bin" "$TOPO_STATE/www-n$i/x/big.bin"
done
t_start_cluster

c() { topo_exec c "$@"; }
who() { c curl -s -m 5 -H 'Connection: close' "http://$TOPO_VIP$1"; }
# rules_are A|B: each rule sends a new request where that file says.
rules_are() {
	local root x
	case $1 in
	A) root="node n2" x="node n3" ;;
	B) root="node n1" x="node n2" ;;
	esac
	[ "$(who /who)" = "$root" ] && [ "$(who /x/who)" = "$x" ]
}
t_check "A: / to n2, /x/ to n3" rules_are A

# Ten downloads at 1 MB/s: 6 s each, all through the reloads (a small
# receive buffer at the client keeps each connection as slow as curl
# reads, so that the back-ends send till the end).
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
acked() { "$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" -j status | jq -r .handoffs.accepted; }
acked0=$(acked)
pids=()
for k in $(seq 1 10); do
	path=/big.bin
	[ $((k % 2)) = 0 ] && path=/x/big.bin
	c curl -s -m 90 --limit-rate 1M -o "$TOPO_STATE/dl$k" "http://$TOPO_VIP$path" &
	pids+=($!)
done
# All ten handed off under A before the first reload.
downloads_handed_off() { [ "$(acked)" -ge $((acked0 + 10)) ]; }
t_check "the ten downloads are handed off" t_until downloads_handed_off

# The loop: a new connection a request, both rules, until told to stop
# (bounded: 3000 requests, 120 s).
loop_out="$TOPO_STATE/loop.out"
c timeout 120 bash -c '
	for k in $(seq 1 3000); do
		[ -f "$1" ] && break
		for p in /who /x/who; do
			curl -s -m 10 -o /dev/null -w "%{http_code} $p\n" "http://$2$p"
		done
	done' loop "$TOPO_STATE/stop" "$TOPO_VIP" >"$loop_out" 2>&1 &
loop_pid=$!

reload_by_ctl() {
	"$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" reload
}
reloads_logged() { grep -c "^reload: " "$TOPO_STATE/n1.log"; }
reloaded_since() { [ "$(reloads_logged)" -gt "$1" ]; }
for k in $(seq 1 20); do
	if [ $((k % 2)) = 1 ]; then next=B; else next=A; fi
	if [ "$k" = 11 ]; then
		printf 'services:\n  - name: web\n    listen: [\n' >"$conf"
		out=$(reload_by_ctl 2>&1)
		t_check "reload $k: a broken file is refused, with where" \
		    grep -qE "^handoffctl: $conf:[0-9]+:[0-9]+: " <<<"$out"
		t_check "reload $k: the rules stay A's" rules_are A
	fi
	cp "$TOPO_STATE/$(tr AB ab <<<"$next").yaml" "$conf"
	if [ $((k % 4)) = 0 ]; then
		before=$(reloads_logged)
		kill -HUP "${TOPO_PIDS[1]}"
		t_check "reload $k (SIGHUP) to $next: applied" \
		    t_until reloaded_since "$before"
	else
		t_check "reload $k (handoffctl) to $next: applied" \
		    sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n1.sock' reload | grep -qx 'configuration reloaded'"
	fi
	t_check "reload $k: $next's rules in force" rules_are "$next"
	if [ "$k" = 1 ]; then
		# n3 removed, with its downloads running: still listed.
		t_check "B: peers lists n3, removed, with its connections" \
		    sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n1.sock' peers | grep -Eq '^n3 .* (up|down),removed +[0-9]+ +[1-9]'"
		t_check "... and -j peers says so" \
		    [ "$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" -j peers | jq -r '.peers[] | select(.peer == "n3") | "\(.removed) \(.flows > 0)"')" = "true true" ]
	fi
	sleep 0.2
done

touch "$TOPO_STATE/stop"
wait "$loop_pid"
total=$(wc -l <"$loop_out")
bad=$(grep -vc '^200 ' "$loop_out")
echo "the loop: $total requests, $bad not 200"
grep -v '^200 ' "$loop_out" | head -5
t_check "the loop made requests through the reloads" [ "$total" -ge 40 ]
t_check "no request of the loop failed" [ "$bad" = 0 ]
for k in $(seq 1 10); do
	wait "${pids[$((k - 1))]}"
	t_check "download $k: exit 0" [ $? = 0 ]
	t_check "download $k: sha256" [ "$(sha256sum <"$TOPO_STATE/dl$k" | cut -d' ' -f1)" = "$want" ]
done
t_check "n3 served its downloads" grep -q 'GET /x/big.bin' "$TOPO_STATE/nginx-n3/access.log"

# B once more, now that no flow needs n3: its channel closes.  A brings
# it back, and it takes requests once its channel is up again.
cp "$TOPO_STATE/b.yaml" "$conf"
reload_by_ctl >/dev/null
t_check "B: n1 closes its channel to n3, which no flow needs" \
    t_wait_grep "$TOPO_STATE/n1.log" "peer n3: removed from the configuration and no longer needed"
cp "$TOPO_STATE/a.yaml" "$conf"
reload_by_ctl >/dev/null
t_check "A: n3 back" t_until rules_are A

# C: no peer n2, which keeps its place before n3's while retired: once
# its channel is closed, handoffctl lists n3 alone, and its JSON is JSON.
# A brings n2 back.
sed -e '/^  - id: n2$/,+4d' -e '/^services:$/,$d' "$TOPO_STATE/a.yaml" >"$conf"
cat >>"$conf" <<YAML
services:
  - name: web
    listen: $TOPO_VIP:$TOPO_VIP_PORT
    pool: two
pools:
  - name: two
    members: [n3]
$(sed -n '/^handoff:$/,$p' "$TOPO_STATE/a.yaml")
YAML
reload_by_ctl >/dev/null
t_check "C: n1 closes its channel to n2, which no flow needs" \
    t_wait_grep "$TOPO_STATE/n1.log" "peer n2: removed from the configuration and no longer needed"
t_check "C: peers lists n3 alone" \
    [ "$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" peers | awk 'NR > 1 { print $1 }')" = n3 ]
t_check "... and -j peers too, as JSON" \
    [ "$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" -j peers | jq -r '[.peers[].peer] | join(" ")')" = n3 ]
cp "$TOPO_STATE/a.yaml" "$conf"
reload_by_ctl >/dev/null
t_check "A: n2 back" t_until rules_are A

# What cannot change while running.
sed 's/^  id: n1$/  id: n9/' "$TOPO_STATE/a.yaml" >"$conf"
out=$(reload_by_ctl 2>&1)
t_check "node.id changed: refused, naming it" \
    grep -q "cannot change while the daemon runs: node.id (restart it" <<<"$out"
t_check "the running configuration stays" rules_are A

# A service removed while a request waits for its head: 503.  The client
# says when its partial head is sent, and finishes it once told that the
# reload is done (both bounded; no timing is assumed).
cp "$TOPO_STATE/a.yaml" "$conf"
reload_by_ctl >/dev/null
c python3 -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.sendall(b"GET /who HTTP/1.1\r\nHost: h\r\n")
print("sent", flush=True)
for i in range(200):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
s.sendall(b"\r\n")
print(s.recv(4096).decode("latin-1").split("\r\n")[0], flush=True)
' "$TOPO_VIP" "$TOPO_STATE/reloaded" >"$TOPO_STATE/slow.out" &
slow=$!
t_check "a client waits with half a head" t_wait_grep "$TOPO_STATE/slow.out" '^sent$'
sed "s|listen: $TOPO_VIP:$TOPO_VIP_PORT|listen: $TOPO_VIP2:$TOPO_VIP_PORT|" "$TOPO_STATE/a.yaml" >"$conf"
reload_by_ctl >/dev/null
touch "$TOPO_STATE/reloaded"
wait "$slow"
t_check "a request whose service went away is answered 503" \
    grep -q '^HTTP/1.1 503 ' "$TOPO_STATE/slow.out"
cp "$TOPO_STATE/a.yaml" "$conf"
reload_by_ctl >/dev/null
t_check "and the service is back" rules_are A
t_finish

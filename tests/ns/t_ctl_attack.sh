#!/bin/bash
# Attacks on the control channel by someone without the key, from n3's
# address, which n1 and n2 accept connections from (n3 is their peer, its
# daemon is not running): so what refuses them is the cryptography, not
# the address filter.  The version 1 relay (HELLOs crossed between two
# nodes so that one computes the AUTH the other expects), a node's own
# handshake reflected back to it, a handshake for n3 relayed to n2, a
# server with a certificate, a TLS 1.2 client.  Then the relay again from
# an address that is no peer's: closed unread.  Every attempt is refused,
# logged and counted, nothing reaches a web server, and the cluster serves.
. "$(dirname "$0")/lib.sh"

topo_init ctl-attack
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
for i in 1 2; do
	topo_config "$i"
	# n1 and n2 redial n3, where the attacker waits, every second.
	printf '  reconnect_max: 1s\n' >>"$TOPO_STATE/n$i.yaml"
	topo_nginx "$i"
done
topo_start 2
topo_start 1
t_check "n1 and n2 authenticate each other" topo_wait_peers 1 1
for n in 1 2; do
	t_check "n$n: counters written" t_wait_stat "$TOPO_STATE/n$n.status" ctl_auth_failed 0
done

atk() { topo_exec n3 python3 "$T_DIR/ctlattack.py" "$@"; }
n1log=$TOPO_STATE/n1.log n2log=$TOPO_STATE/n2.log
auth() { t_stat "$TOPO_STATE/n$1.status" ctl_auth_failed; }
injected() {
	! grep -qh "/injected" "$TOPO_STATE"/nginx-n*/access.log 2>/dev/null
}
lacks() { ! grep -q -- "$1" <<<"$2"; }

# 1. The relay of issue 11: to n2 "I am n1", to n1 "I am n2", each with
# the other's nonce; n1's AUTH presented to n2, then a HANDOFF.
a1=$(auth 1) a2=$(auth 2)
out=$(atk relay --src 10.1.3.2 --request /injected-by-relay \
    --claim-b n1 --claim-a n2 10.1.2.2:7100 10.1.1.2:7100)
echo "$out"
sleep 1
t_check "relay: no connection was injected" injected
t_check "relay: n2 never took the attacker for n1" sh -c "! grep -q 'peer n1 up (10.1.3.2' '$n2log'"
t_check "relay: no node answers the version 1 handshake" grep -q "attack failed" <<<"$out"
t_check "relay: n2 counts the failed handshake" t_wait_stat "$TOPO_STATE/n2.status" ctl_auth_failed $((a2 + 1))
t_check "relay: n1 counts the failed handshake" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed $((a1 + 1))
t_check "relay: and logs it" grep -q "control 10.1.3.2:[0-9]*: authentication failed" "$n2log"

# 2. n1 dials n3; the attacker, at n3's address, sends n1's handshake back
# to n1 (the "Selfie" attack on shared-key TLS).
a1=$(auth 1)
atk proxy --listen 10.1.3.2:7100 --src 10.1.3.2 --seconds 4 10.1.1.2:7100
t_check "reflection: n1 refuses its own handshake, and says why" \
    grep -q "control 10.1.3.2:[0-9]*: authentication failed: the PSK identity is this node's own id" "$n1log"
t_check "reflection: counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed $((a1 + 1))

# 3. n1's handshake for n3, relayed to n2, which knows n1 well.
a2=$(auth 2)
atk proxy --listen 10.1.3.2:7100 --src 10.1.3.2 --seconds 4 10.1.2.2:7100
t_check "confusion: n2 refuses a handshake meant for n3" \
    grep -q "peer n1 (10.1.3.2:[0-9]*): authentication failed: binder does not verify" "$n2log"
t_check "confusion: counted" t_wait_stat "$TOPO_STATE/n2.status" ctl_auth_failed $((a2 + 1))
t_check "confusion: n1 learns the dial failed" \
    grep -q "peer n3 (10.1.3.2:7100): authentication failed" "$n1log"

# 4. A TLS server with a certificate where n3 should be.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TOPO_STATE/atk.key" -out "$TOPO_STATE/atk.pem" -days 1 \
    -subj /CN=n3 2>/dev/null
a1=$(auth 1)
out=$(atk certserver --listen 10.1.3.2:7100 --cert "$TOPO_STATE/atk.pem" \
    --key "$TOPO_STATE/atk.key" --seconds 4)
echo "$out"
t_check "certificate: n1 completes no handshake with it" lacks completed "$out"
t_check "certificate: n1 refuses it, and says why" \
    grep -q "peer n3 (10.1.3.2:7100): authentication failed: certificate verify failed" "$n1log"
t_check "certificate: counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed $((a1 + 1))

# 5. A TLS 1.2 client.
a1=$(auth 1)
out=$(atk tls12 --src 10.1.3.2 10.1.1.2:7100)
echo "$out"
t_check "TLS 1.2: refused" grep -q "tls12: refused" <<<"$out"
t_check "TLS 1.2: counted" t_wait_stat "$TOPO_STATE/n1.status" ctl_auth_failed $((a1 + 1))

t_check "n3 never came up anywhere" sh -c "! grep -q 'peer n3 up' '$n1log' '$n2log'"
t_check "no TLS handshake with the attacker completed" \
    sh -c "! grep -q 'peer n[0-9] up (10.1.3.2' '$n1log' '$n2log'"

# 6. The relay from the client's address, which is no peer's: both
# connections are closed before a byte is read.
r1=$(t_stat "$TOPO_STATE/n1.status" ctl_refused_addr)
r2=$(t_stat "$TOPO_STATE/n2.status" ctl_refused_addr)
out=$(topo_exec c python3 "$T_DIR/ctlattack.py" relay --src 10.0.0.2 \
    --request /injected-from-outside 10.1.2.2:7100 10.1.1.2:7100 2>&1)
echo "$out"
t_check "non-peer relay: fails" grep -q "attack failed" <<<"$out"
t_check "non-peer relay: n2 counts it" t_wait_stat "$TOPO_STATE/n2.status" ctl_refused_addr $((r2 + 1))
t_check "non-peer relay: n1 counts it" t_wait_stat "$TOPO_STATE/n1.status" ctl_refused_addr $((r1 + 1))
t_check "non-peer relay: logged" grep -q "connection from 10.0.0.2 refused: not a configured peer's address" "$n1log"
out=$(topo_exec c python3 "$T_DIR/ctlattack.py" probe --src 10.0.0.2 10.1.1.2:7100)
echo "$out"
t_check "non-peer: closed at once" grep -qE "probe: closed.* after [0-9]{1,3} ms" <<<"$out"
sleep 1
t_check "still nothing injected" injected

c() { topo_exec c "$@"; }
codes=$(c curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H 'Connection: close' "http://$TOPO_VIP2/?[1-10]")
t_check "n2 still takes handoffs from n1" [ "$(grep -c '^200$' <<<"$codes")" -eq 10 ]
t_check "n1's channels to n2 never went down" sh -c "! grep -q 'peer n2 down' '$n1log'"
for n in 1 2; do
	t_check "n$n: flow table empty" t_wait_flows "$TOPO_STATE/n$n.status" 0
done
for n in 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"

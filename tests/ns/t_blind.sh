#!/bin/bash
# Blind packets (RFC 5961) against a handed-off download: 2,000 resets with
# the client's endpoint and guessed sequence numbers (random ones, and the
# pairs of a data segment and a reset at its end that used to end any
# flow), and 100 SYNs with other ISNs: the download completes intact.  A
# client that really reuses its port, whose reset of the old connection
# was lost, gets a new connection through the challenge ACK.
. "$(dirname "$0")/lib.sh"

TOPO_STACKS="lwip kernel lwip"
topo_init blind
topo_cluster 3
export TOPO_YAML_HANDOFF="  linger: 1s"
t_configure_all
head -c 20M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
t_start_cluster
c() { topo_exec c "$@"; }

# 1. A download at 2 MB/s, and its client port (a receive buffer of 32 KB
# at most, so that curl's rate holds: the default's 6 MB took a third of
# the file at once).
c sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
c curl -s -m 120 --limit-rate 2M -o "$TOPO_STATE/big.got" "http://$TOPO_VIP2/big.bin" &
dl=$!
port=$(t_client_port "$TOPO_VIP2")
t_check "the download runs (client port $port)" [ -n "$port" ]
sleep 1
blind() { c "$HANDOFFD_TOOLS/blindtcp" "10.0.0.2:$port" "$TOPO_VIP2:80" "$@"; }
# In batches a pause apart: the TUN's queue to the daemon (500 packets)
# drops what a burst brings faster than the daemon reads, and the counts
# below are of what the daemon judged.
paced() {
	local i
	for i in $(seq 1 "$2"); do
		blind "$1" "$3" || return 1
		sleep 0.2
	done
}
t_check "1,750 resets at random sequence numbers sent" paced rst 7 250
t_check "250 data+reset pairs sent (at 1 and 0x80000001 first)" paced pair 5 50
t_check "100 SYNs with other ISNs sent" blind syn 100
wait "$dl"
rc=$?
t_check "the download completed (curl exit $rc)" [ "$rc" -eq 0 ]
t_check "20 MB intact" [ "$(sha256sum <"$TOPO_STATE/big.got" | cut -d' ' -f1)" = "$want" ]
st="$TOPO_STATE/n1.status"
t_check "blind resets dropped and counted" t_wait_stat "$st" rst_blind 1000
t_check "forged segments forwarded, not believed" t_wait_stat "$st" unacceptable 100
t_check "challenges rate-limited" t_wait_stat "$st" challenges_limited 1

# 2. Port reuse: the old connection's reset is lost on the way, so the
# front-end still forwards it when the client's new SYN comes from the
# same port.  The stack's challenge ACK makes the client reset exactly;
# its SYN again starts the new connection.
topo_exec r nft -f - <<NFT || t_fail "nftables"
table inet hoffrst {
	chain forward {
		type filter hook forward priority 0; policy accept;
		iifname "c0" tcp sport 45678 tcp flags rst counter drop
	}
}
NFT
reuse() {
	c python3 - "$TOPO_VIP2" "$1" <<'PY'
import socket, struct, sys
vip, phase = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.2", 45678))
s.settimeout(15)
s.connect((vip, 80))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while b"node n" not in got:
    b = s.recv(4096)
    if not b:
        break
    got += b
print(got.decode(errors="replace").splitlines()[-1])
if phase == "abort":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
}
out=$(reuse abort)
t_check "first connection from port 45678 served" grep -q "node n2" <<<"$out"
dropped=0
for i in $(seq 1 50); do
	dropped=$(topo_exec r nft list table inet hoffrst | awk '/counter/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }')
	[ "${dropped:-0}" -ge 1 ] && break
	sleep 0.1
done
t_check "its reset was lost" [ "${dropped:-0}" -ge 1 ]
topo_exec r nft delete table inet hoffrst
before=$(t_stat "$st" challenges)
out=$(reuse close)
t_check "a new connection from the same port is served" grep -q "node n2" <<<"$out"
# (the status file is rewritten every second: wait for it)
t_check "through a challenge ACK" t_wait_stat "$st" challenges $((before + 1))
t_finish

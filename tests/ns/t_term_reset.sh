#!/bin/bash
# SIGTERM ends the connections that lived in the daemon's lwIP and cannot
# outlive it: a front-end's own share relayed to its server, and every
# connection of a back-end with the lwIP stack.  Their clients are reset
# at once instead of waiting for their own timeouts (before, the daemon
# closed its device first, and the resets went nowhere).
. "$(dirname "$0")/lib.sh"

topo_init termreset
TOPO_STACKS="lwip lwip"
topo_cluster 2
# The VIP "web" is n1's own (pool all: n1), "remote" n2's.
export TOPO_MEMBERS="n1"
t_configure_all
for i in 1 2; do
	head -c 20M /dev/urandom >"$TOPO_STATE/www-n$i/big.bin"
done
t_start_cluster

# A slow reader: a download from VIP, 16 KB every 0.1 s through a small
# receive buffer (so that a reset is read at once, not after megabytes
# buffered), printing "reading" once under way and how it ended: "reset",
# "eof" or "timeout" (nothing for 20 s).
cat >"$TOPO_STATE/slow.py" <<'EOF2'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
s.settimeout(20)
s.connect((sys.argv[1], 80))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
n = 0
try:
    while True:
        b = s.recv(16384)
        if not b:
            print("eof", flush=True)
            break
        n += len(b)
        if n > 100000 and n - len(b) <= 100000:
            print("reading", flush=True)
        time.sleep(0.1)
except ConnectionResetError:
    print("reset", flush=True)
except socket.timeout:
    print("timeout", flush=True)
EOF2
slow() {	# VIP NAME
	topo_exec c python3 "$TOPO_STATE/slow.py" "$1" >"$TOPO_STATE/$2.out" 2>&1 &
}
said() { grep -qx "$2" "$TOPO_STATE/$1.out"; }
ended() { grep -qxE 'reset|eof|timeout' "$TOPO_STATE/$1.out"; }
flows_in() {	# NODE STATE
	"$HANDOFFCTL" -s "$TOPO_STATE/$1.sock" flows | grep -q " $2 "
}

slow "$TOPO_VIP2" remote
slow "$TOPO_VIP" own
t_check "both downloads are under way" t_until sh -c \
    "grep -q reading '$TOPO_STATE/remote.out' && grep -q reading '$TOPO_STATE/own.out'"
t_check "n2 relays one from its lwIP stack" flows_in n2 established
t_check "n1 relays its own share" flows_in n1 local

t_check "n2 stops (SIGTERM), cleanly" topo_stop 2
t_check "its client is reset at once" t_until ended remote
t_check "... reset, not a timeout" said remote reset
t_check "the other download goes on" sh -c "! grep -qxE 'reset|eof|timeout' '$TOPO_STATE/own.out'"

t_check "n1 stops (SIGTERM), cleanly" topo_stop 1
t_check "its own share's client is reset at once" t_until ended own
t_check "... reset, not a timeout" said own reset
wait
echo "all checks passed"

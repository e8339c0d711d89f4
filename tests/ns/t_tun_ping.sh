#!/bin/bash
# The TUN netif both ways: lwIP answers a ping to its address through the
# daemon's TUN device, whether the daemon attaches to a persistent device,
# creates its own, or attaches unprivileged to a device its user owns.
# Malformed packets routed into the TUN are dropped and counted; lwIP
# answers a ping at its IPv6 address too, and takes no other ICMPv6 than
# echo; the daemon exits cleanly on SIGTERM (ASan: no leaks).
. "$(dirname "$0")/lib.sh"

topo_init tun-ping
topo_ns_add n1

# 1. Attach to a persistent device prepared by the administrator.
topo_tun 1
t_node_config 1
sed -i 's/^  address: 10.2.1.2$/&\n  address6: fd00:99::2/' "$TOPO_STATE/n1.yaml"
topo_start 1
t_check "ping lwIP through an attached tun" topo_exec n1 ping -c 3 -i 0.2 -W 2 10.2.1.2
t_check "status file counts packets for lwIP" t_wait_stat "$TOPO_STATE/n1.status" to_lwip 3

# Malformed packets: each kind is dropped and counted, and the daemon lives.
send() { topo_exec n1 "$HANDOFFD_TOOLS/rawsend" "$1" || t_fail "rawsend $1"; }
# a fragment (MF set) of a TCP packet to lwIP
send 4500002800012000400600000a0201010a0201020050005000000001000000005002200000000000
# TCP with a data offset of 15 words in a 20-byte segment
send 4500002800014000400600000a0201010a020102005000500000000100000000f002200000000000
# TCP header cut short: 10 bytes of TCP after the IP header
send 4500001e00014000400600000a0201010a02010200500050000000010000
t_check "fragment counted" t_wait_stat "$TOPO_STATE/n1.status" drop_fragment 1
t_check "bad data offset counted" t_wait_stat "$TOPO_STATE/n1.status" drop_bad-tcp-offset 1
t_check "truncated TCP counted" t_wait_stat "$TOPO_STATE/n1.status" drop_truncated 1
t_check "still answers after bad packets" topo_exec n1 ping -c 1 -W 2 10.2.1.2

# A burst the daemon cannot read in time (stopped here): the kernel drops
# what does not fit in the device's queue (txqueuelen), and the daemon
# counts it once it reads the device's counter again.
t_check "no queue drop yet" [ "$(t_stat "$TOPO_STATE/n1.status" drop_tun_queue)" = 0 ]
kill -STOP "${TOPO_PIDS[1]}"
qlen=$(topo_exec n1 cat "/sys/class/net/$TOPO_TUN/tx_queue_len")
topo_exec n1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(__import__("sys").argv[1])):
    s.sendto(b"x", ("10.2.1.2", 9))' $((qlen + 1000))
kill -CONT "${TOPO_PIDS[1]}"
t_check "the burst past the device's queue ($qlen) is counted" \
    t_wait_stat "$TOPO_STATE/n1.status" drop_tun_queue 1000
t_check "... no more than was sent" \
    [ "$(t_stat "$TOPO_STATE/n1.status" drop_tun_queue)" -le $((qlen + 1000)) ]
t_check "still answers after the burst" topo_exec n1 ping -c 1 -W 2 10.2.1.2

# IPv6 into the device: lwIP answers a ping at its IPv6 address
# (lwip.address6); a SYN there, of no connection handed to it, never
# reaches it; ICMPv6 other than echo (a router advertisement that would
# move lwIP's routes), non-TCP IPv6 and any packet with an extension header
# (a fragment) are dropped and counted.
topo_exec n1 sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
    net.ipv6.conf.lo.disable_ipv6=0 "net.ipv6.conf.$TOPO_TUN.disable_ipv6=0"
topo_exec n1 ip -6 addr add fd00:1::1/128 dev lo
topo_exec n1 ip -6 route add fd00:99::/64 dev "$TOPO_TUN" src fd00:1::1
t_check "ping lwIP's IPv6 address through the tun" \
    topo_exec n1 ping -6 -c 3 -i 0.2 -W 2 fd00:99::2
t_check "IPv6 SYN to lwIP's address of no flow: no answer" topo_exec n1 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.settimeout(1)
try:
    s.connect(("fd00:99::2", 80))
except socket.timeout:
    sys.exit(0)
sys.exit(1)'
t_check "... dropped and counted" t_wait_stat "$TOPO_STATE/n1.status" drop_no_flow 1
topo_exec n1 python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
# type 134, code 0, checksum (the kernel sums it), hop limit 64, flags,
# router lifetime 1800 s, reachable and retransmission times
s.sendto(bytes([134, 0, 0, 0, 64, 0, 7, 8]) + bytes(8), ("fd00:99::2", 0))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.sendto(b"x", ("fd00:99::2", 9))'
t_check "IPv6 router advertisement and UDP counted as not TCP" \
    t_wait_stat "$TOPO_STATE/n1.status" drop_not-tcp 2
topo_exec n1 ping -6 -c 1 -W 1 -s 3000 fd00:99::2 >/dev/null 2>&1
t_check "IPv6 fragment counted" t_wait_stat "$TOPO_STATE/n1.status" drop_ipv6-ext-header 1
t_check "still answers an IPv6 ping" topo_exec n1 ping -6 -c 1 -W 2 fd00:99::2
t_check "SIGTERM: clean exit, no leaks" topo_stop 1
t_check "daemon logged its stop" grep -q "stopped" "$TOPO_STATE/n1.log"
t_check "persistent tun survives the daemon" topo_exec n1 ip link show "$TOPO_TUN"

# 2. Create the device: the daemon configures address, MTU and link.
t_node_config 1 10.2.9.2 hoffc "  address: 10.2.9.1/24
  mtu: 1400"
topo_start 1
t_check "ping lwIP through a created tun" topo_exec n1 ping -c 2 -i 0.2 -W 2 10.2.9.2
t_check "created tun has the configured MTU" sh -c "ip -n $(topo_ns n1) link show hoffc | grep -q 'mtu 1400'"
t_check "SIGTERM: clean exit" topo_stop 1
t_check "created tun is gone with the daemon" sh -c "! ip -n $(topo_ns n1) link show hoffc 2>/dev/null"

# 3. Unprivileged: a persistent device owned by nobody.
topo_exec n1 ip tuntap add mode tun user nobody name hoffu
topo_exec n1 ip addr add 10.2.8.1/24 dev hoffu
topo_exec n1 ip link set hoffu up
t_node_config 1 10.2.8.2 hoffu
chown nobody "$TOPO_KEY" "$TOPO_STATE/n1.yaml"
chmod 755 "$TOPO_STATE"
rm -f "$TOPO_STATE/n1.status"
sed -i -e '/status_file/d' -e 's/^\(  admin_socket:\).*/\1 none/' "$TOPO_STATE/n1.yaml"
# Unprivileged, the daemon cannot raise its hard descriptor limit: few
# flows need few descriptors (1024 + 64).
printf 'handoff:\n  max_flows: 1024\n' >>"$TOPO_STATE/n1.yaml"
log="$TOPO_STATE/n1u.log"
# udev makes /dev/net/tun world-accessible on a normal Debian system; where
# it is not, a private device node in a private mount namespace stands in,
# leaving the machine's /dev untouched.
mknod -m 666 "$TOPO_STATE/tun" c 10 200
unshare -m sh -c 'mount --bind "$1" /dev/net/tun && exec ip netns exec "$2" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    "$3" -d -c "$4"' sh "$TOPO_STATE/tun" "$(topo_ns n1)" "$HANDOFFD" \
    "$TOPO_STATE/n1.yaml" >"$log" 2>&1 &
TOPO_PIDS[1]=$!
for _ in $(seq 1 100); do grep -q running "$log" && break; sleep 0.05; done
t_check "unprivileged daemon attached" grep -q "attached" "$log"
t_check "ping lwIP through an unprivileged daemon" topo_exec n1 ping -c 2 -i 0.2 -W 2 10.2.8.2
t_check "unprivileged SIGTERM: clean exit" topo_stop 1
echo "all checks passed"

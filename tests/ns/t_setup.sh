#!/bin/bash
# The host set up from the configuration alone.  A fresh node namespace
# (strict reverse-path filtering, no forwarding, no TUN device) behind a
# router that routes the VIP to it: handoffd -n warns about each of these;
# handoffd-setup up creates the device for node.user with its address,
# turns forwarding on and filtering loose, routes the VIP into the device
# and adds the kernel stack's policy rule and table, after which -n has
# nothing to say, a second "up" changes nothing, and the daemon, started
# as root and running as node.user, serves the VIP with the cookie
# handshake and the kernel stack; handoffd-setup down removes all of it
# and puts the sysctls back; a record the daemon's user (or anyone but
# root) could have written, or a line up never writes, is not run.  The
# same for an IPv6 VIP beside the IPv4 one
# and the server's IPv6 address: IPv6 forwarding, the address on the
# device, the VIP's route, the rule and the table's default route.  With
# the lwIP stack, lwIP's IPv6 address is routed into the device instead
# (-n warns while it is not), the device gets tun.mtu (9000), and lwIP
# serves both VIPs.
TOPO_IPV6=1
. "$(dirname "$0")/lib.sh"

user=handoffd-test
id -u "$user" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
    id -u "$user" >/dev/null || { echo "FAIL: cannot create user $user"; exit 1; }
setup="$topo_top/src/handoffd-setup"

topo_init setup
# A device name of its own: handoffd-setup records its changes under it.
tun="hs$$"
tun=${tun:0:15}
topo_ns_add c
topo_ns_add r
topo_ns_add n1
topo_link c eth0 10.0.0.2/24 r c0 10.0.0.1/24
topo_link r n1 10.1.1.1/24 n1 eth0 10.1.1.2/24
topo_addr6 c eth0 fd00::2/64
topo_addr6 r c0 fd00::1/64
topo_addr6 r n1 fd00:1:1::1/64
topo_addr6 n1 eth0 fd00:1:1::2/64
topo_exec c ip route add default via 10.0.0.1
topo_exec c ip -6 route add default via fd00::1
topo_exec r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# What the upstream router needs: the VIPs routed to the front-end.
topo_exec r ip route add "$TOPO_VIP/32" via 10.1.1.2
topo_exec r ip -6 route add "$TOPO_VIP6/128" via fd00:1:1::2
topo_exec n1 ip route add default via 10.1.1.1
topo_exec n1 ip -6 route add default via fd00:1:1::1
topo_exec n1 sysctl -qw net.ipv6.conf.all.forwarding=0
topo_exec n1 sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=1 \
    net.ipv4.conf.default.rp_filter=1
topo_key
chown "$user" "$TOPO_KEY" "$TOPO_STATE"
conf="$TOPO_STATE/n1.yaml"
cat >"$conf" <<YAML
node:
  id: n1
  control: 10.1.1.2:7100
  server: 10.2.1.1:80
  server_address6: fd00:2:1::1
  status_file: $TOPO_STATE/n1.status
  admin_socket: $TOPO_STATE/n1.sock
  user: $user
tun:
  name: $tun
  address: 10.2.1.1/24
  table: 200
lwip:
  address: 10.2.1.2
services:
  - name: web
    listen: $TOPO_VIP:80
    pool: local
    handshake: cookie
  - name: web6
    listen: "[$TOPO_VIP6]:80"
    pool: local
    handshake: cookie
pools:
  - name: local
    members: [n1]
handoff:
  stack: kernel
control:
  key_file: $TOPO_KEY
YAML
n1() { topo_exec n1 "$@"; }
hsetup() { n1 env HANDOFFD="$HANDOFFD" sh "$setup" -c "$conf" "$@"; }

# 1. The bare host: -n says what is wrong, and still accepts the file.
out=$(n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn")
t_check "-n on the bare host: configuration OK" [ "$out" = "configuration OK" ]
cat "$TOPO_STATE/warn"
t_check "-n warns: forwarding off" grep -q '^warning: net.ipv4.ip_forward is 0' "$TOPO_STATE/warn"
t_check "-n warns: no device" grep -q "^warning: tun $tun does not exist" "$TOPO_STATE/warn"
t_check "-n warns: strict reverse-path filtering" \
    grep -q '^warning: reverse-path filtering is strict .*rp_filter 1' "$TOPO_STATE/warn"
t_check "-n warns: IPv6 forwarding off" \
    grep -q '^warning: net.ipv6.conf.all.forwarding is not 1, and service web6 is IPv6' "$TOPO_STATE/warn"
out=$(hsetup -n up 2>&1)
t_check "up -n shows what it would do" grep -q "^\[#\] ip tuntap add mode tun user $user name $tun" <<<"$out"
t_check "... and does nothing" sh -c "! ip -n '$(topo_ns n1)' link show dev '$tun' 2>/dev/null"

# 2. up.
hsetup up 2>"$TOPO_STATE/up.log"
t_check "handoffd-setup up: exit 0" [ $? -eq 0 ]
cat "$TOPO_STATE/up.log"
t_check "the device exists, persistent, owned by $user" \
    sh -c "ip -n '$(topo_ns n1)' -d link show dev '$tun' | grep -q 'tun type tun .*persist on user $user'"
t_check "... with its address" sh -c "ip -n '$(topo_ns n1)' -o -4 addr show dev '$tun' | grep -q ' inet 10.2.1.1/24 '"
t_check "... up" sh -c "ip -n '$(topo_ns n1)' link show dev '$tun' | grep -q '[<,]UP[,>]'"
t_check "forwarding on" [ "$(n1 cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
t_check "rp_filter loose on all" [ "$(n1 cat /proc/sys/net/ipv4/conf/all/rp_filter)" = 2 ]
t_check "rp_filter off on the device" [ "$(n1 cat "/proc/sys/net/ipv4/conf/$tun/rp_filter")" = 0 ]
t_check "the VIP is routed into the device" sh -c "ip -n '$(topo_ns n1)' route get $TOPO_VIP | grep -q ' dev $tun '"
t_check "the policy rule of the kernel stack, table 200" \
    sh -c "ip -n '$(topo_ns n1)' rule show | grep -q 'from 10.2.1.1 lookup 200'"
t_check "... and its default route into the device" \
    sh -c "ip -n '$(topo_ns n1)' route show table 200 | grep -q '^default dev $tun '"
t_check "IPv6 forwarding on" [ "$(n1 cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]
t_check "the IPv6 VIP is routed into the device" \
    sh -c "ip -n '$(topo_ns n1)' -6 route get $TOPO_VIP6 | grep -q ' dev $tun '"
t_check "the device has the server's IPv6 address" \
    sh -c "ip -n '$(topo_ns n1)' -o -6 addr show dev '$tun' | grep -q ' inet6 fd00:2:1::1/128 '"
t_check "the IPv6 policy rule, table 200" \
    sh -c "ip -n '$(topo_ns n1)' -6 rule show | grep -q 'from fd00:2:1::1 iif lo lookup 200'"
t_check "... and its IPv6 default route into the device" \
    sh -c "ip -n '$(topo_ns n1)' -6 route show table 200 | grep -q '^default dev $tun '"
n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn" >/dev/null
cat "$TOPO_STATE/warn"
t_check "-n has nothing to say now" [ ! -s "$TOPO_STATE/warn" ]
# RFC 1337's protection makes the kernel ignore the reset that ends a
# TIME_WAIT connection a client's new one from the same port needs gone.
n1 sysctl -qw net.ipv4.tcp_rfc1337=1
n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn" >/dev/null
n1 sysctl -qw net.ipv4.tcp_rfc1337=0
cat "$TOPO_STATE/warn"
t_check "-n warns: tcp_rfc1337 1 with the kernel stack" \
    grep -q '^warning: handoff.stack kernel: net.ipv4.tcp_rfc1337 is 1' "$TOPO_STATE/warn"
state="/run/handoffd-setup/$tun"
lines=$(wc -l <"$state")
hsetup up 2>"$TOPO_STATE/up2.log"
t_check "a second up: exit 0" [ $? -eq 0 ]
t_check "... changes nothing" [ ! -s "$TOPO_STATE/up2.log" ]
t_check "... and records nothing" [ "$(wc -l <"$state")" -eq "$lines" ]

# 3. The daemon, as root, dropping to the user, on the prepared host.
topo_nginx 1
topo_start 1
t_check "the daemon runs as $user" grep -q "running as user $user" "$TOPO_STATE/n1.log"
t_check "... on the prepared device" grep -q "tun $tun attached" "$TOPO_STATE/n1.log"
t_check "... and finds nothing wrong with the host" sh -c "! grep -q '^host: ' '$TOPO_STATE/n1.log'"
out=$(topo_exec c curl -sf -m 10 "http://$TOPO_VIP/")
t_check "the VIP serves" [ "$out" = "node n1" ]
out=$(topo_exec c curl -sf -m 10 "http://[$TOPO_VIP6]/")
t_check "the IPv6 VIP serves" [ "$out" = "node n1" ]
t_check "... to the client's IPv6 address" grep -q '^fd00::2 ' "$TOPO_STATE/nginx-n1/access.log"
t_check "... through the kernel stack" t_wait_stat "$TOPO_STATE/n1.status" injected 1
t_check "n1: flow table empty" t_wait_flows "$TOPO_STATE/n1.status" 0
t_check "n1: clean exit (no leaks)" topo_stop 1

# 4. down: everything up added goes, the sysctls come back.
hsetup down 2>"$TOPO_STATE/down.log"
t_check "handoffd-setup down: exit 0" [ $? -eq 0 ]
cat "$TOPO_STATE/down.log"
t_check "the device is gone" sh -c "! ip -n '$(topo_ns n1)' link show dev '$tun' 2>/dev/null"
t_check "the policy rule is gone" sh -c "! ip -n '$(topo_ns n1)' rule show | grep -q 'lookup 200'"
t_check "table 200 is empty" [ -z "$(ip -n "$(topo_ns n1)" route show table 200 2>/dev/null)" ]
t_check "the VIP is routed as before" sh -c "! ip -n '$(topo_ns n1)' route get $TOPO_VIP | grep -q ' dev $tun '"
t_check "forwarding off again" [ "$(n1 cat /proc/sys/net/ipv4/ip_forward)" = 0 ]
t_check "IPv6 forwarding off again" [ "$(n1 cat /proc/sys/net/ipv6/conf/all/forwarding)" = 0 ]
t_check "the IPv6 policy rule is gone" sh -c "! ip -n '$(topo_ns n1)' -6 rule show | grep -q 'lookup 200'"
t_check "IPv6 table 200 is empty" [ -z "$(ip -n "$(topo_ns n1)" -6 route show table 200 2>/dev/null)" ]
t_check "the IPv6 VIP is routed as before" \
    sh -c "! ip -n '$(topo_ns n1)' -6 route get $TOPO_VIP6 2>/dev/null | grep -q ' dev $tun '"
t_check "rp_filter strict again" [ "$(n1 cat /proc/sys/net/ipv4/conf/all/rp_filter)" = 1 ]
t_check "the record is gone" [ ! -e "$state" ]
n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn" >/dev/null
t_check "-n warns again" grep -q '^warning: net.ipv4.ip_forward is 0' "$TOPO_STATE/warn"
out=$(hsetup down 2>&1)
t_check "a second down: exit 0" [ $? -eq 0 ]
t_check "... nothing to take down" grep -q 'nothing to take down' <<<"$out"
t_check "the record's directory is root's alone" \
    [ "$(stat -c '%U %a' /run/handoffd-setup)" = "root 700" ]

# 4b. down runs as root what the record says: a record another user may
# write, or a symbolic link, is refused before anything runs, and a line
# up never writes is not run.
victim="$TOPO_STATE/victim"
echo precious >"$victim"
echo "sysctl $victim owned" >"$state"
chown "$user" "$state"
out=$(hsetup down 2>&1)
t_check "a record of the daemon's user: refused, exit 1" [ $? -eq 1 ]
t_check "... saying what to remove" \
    grep -q "$state is not a file only root may write: remove it" <<<"$out"
chown root "$state"
chmod 666 "$state"
out=$(hsetup down 2>&1)
t_check "a record others may write: refused, exit 1" [ $? -eq 1 ]
chmod 600 "$state"
echo "rule 10.2.1.1" >>"$state"
out=$(hsetup down 2>&1)
t_check "a setting outside /proc/sys/net in the record: exit 1" [ $? -eq 1 ]
t_check "... not run" grep -q "cannot undo \"sysctl $victim owned\"" <<<"$out"
t_check "a line with fewer words than its kind has: not run" \
    grep -q "cannot undo \"rule 10.2.1.1\"" <<<"$out"
t_check "the files named were not written" [ "$(cat "$victim")" = precious ]
rm -f "$state"
ln -s "$victim" "$state"
out=$(hsetup up 2>&1)
t_check "up with a symbolic link for a record: refused, exit 1" [ $? -eq 1 ]
t_check "... before anything ran" sh -c "! ip -n '$(topo_ns n1)' link show dev '$tun' 2>/dev/null"
t_check "... nor was it followed" [ "$(cat "$victim")" = precious ]
rm -f "$state"

# 5. The lwIP stack and the lwip handshake, lwIP with an IPv6 address,
# tun.mtu 9000.
sed -i -e 's/^  stack: kernel$/  stack: lwip/' -e '/handshake: cookie/d' \
    -e '/server_address6/d' -e 's/^  address: 10.2.1.2$/&\n  address6: fd00:2:1::2/' \
    -e 's/^  table: 200$/&\n  mtu: 9000/' "$conf"
hsetup up 2>"$TOPO_STATE/up.log"
t_check "lwIP stack: handoffd-setup up: exit 0" [ $? -eq 0 ]
cat "$TOPO_STATE/up.log"
t_check "the device has the MTU tun.mtu" \
    [ "$(n1 cat "/sys/class/net/$tun/mtu")" = 9000 ]
t_check "lwIP's IPv6 address is routed into the device" \
    sh -c "ip -n '$(topo_ns n1)' -6 route get fd00:2:1::2 | grep -q ' dev $tun '"
t_check "... and no policy rule added" sh -c "! ip -n '$(topo_ns n1)' rule show | grep -q 'lookup 200'"
n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn" >/dev/null
cat "$TOPO_STATE/warn"
t_check "-n has nothing to say" [ ! -s "$TOPO_STATE/warn" ]
n1 ip -6 route del fd00:2:1::2/128 dev "$tun"
n1 "$HANDOFFD" -n -c "$conf" 2>"$TOPO_STATE/warn" >/dev/null
t_check "-n warns once lwIP's IPv6 address is not routed into the device" \
    grep -q "^warning: lwip.address6 fd00:2:1::2 is routed to .*, not into $tun" "$TOPO_STATE/warn"
n1 ip -6 route add fd00:2:1::2/128 dev "$tun"
topo_start 1
out=$(topo_exec c curl -sf -m 10 "http://$TOPO_VIP/")
t_check "lwIP serves the VIP" [ "$out" = "node n1" ]
out=$(topo_exec c curl -sf -m 10 "http://[$TOPO_VIP6]/")
t_check "lwIP serves the IPv6 VIP" [ "$out" = "node n1" ]
t_check "... relaying it itself" t_wait_stat "$TOPO_STATE/n1.status" fe_local 2
t_check "lwIP answers a ping at the IPv6 VIP" topo_exec c ping -6 -c 1 -W 2 "$TOPO_VIP6"
t_check "n1: flow table empty" t_wait_flows "$TOPO_STATE/n1.status" 0
t_check "n1: clean exit (no leaks)" topo_stop 1
hsetup down 2>"$TOPO_STATE/down.log"
t_check "lwIP stack: handoffd-setup down: exit 0" [ $? -eq 0 ]
t_check "lwIP's IPv6 route is gone" \
    sh -c "! ip -n '$(topo_ns n1)' -6 route get fd00:2:1::2 2>/dev/null | grep -q ' dev $tun '"
echo "all checks passed"

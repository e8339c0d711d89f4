#!/bin/bash
# Downloads under loss: 2% of the packets on the client's link are dropped
# in both directions (nftables on the router, segmentation offloads off on
# every veth so that real segments are dropped); 20 downloads of a 20 MB
# file through the VIP from a kernel-stack back-end all match the file on
# disk, each within LOSS_TIMEOUT seconds, with window scaling, SACK and
# timestamps negotiated (checked in a capture of the handshake).
# LOSS_STACK, LOSS_RUNS, LOSS_PCT, LOSS_SIZE and LOSS_TIMEOUT change the
# stack, the number of downloads, the loss (an integer percentage), the
# file size and the bound on each download; LOSS_IPV6=1 downloads from the
# IPv6 VIP "remote6" (cookie handshake), or with LOSS_HS=lwip from "web6"
# (lwIP's handshake), whose pool is the same back-ends.  LOSS_CC sets the
# back-ends' kernels' congestion control, which lwip.loss_tolerance auto
# follows (2% with BBR, else none): each back-end's log must say so.  The
# times are printed: speed is measured by scripts/bench, not asserted here.
. "$(dirname "$0")/lib.sh"

TOPO_STACK=${LOSS_STACK:-kernel}
if [ "${LOSS_IPV6:-0}" = 1 ]; then
	TOPO_IPV6=1 TOPO_HS=${LOSS_HS:-cookie}
fi
runs=${LOSS_RUNS:-20}
pct=${LOSS_PCT:-2}
size=${LOSS_SIZE:-20M}
limit=${LOSS_TIMEOUT:-60}
topo_init "loss-$TOPO_STACK${TOPO_IPV6:+-v6}"
topo_cluster 3
topo_offload off
export TOPO_YAML_HANDOFF="  linger: 1s"
export TOPO_REMOTE="n2 n3" TOPO_MEMBERS="n2 n3"
t_configure_all
if [ -n "${LOSS_CC:-}" ]; then
	for i in 2 3; do
		topo_exec "n$i" sysctl -qw net.ipv4.tcp_congestion_control="$LOSS_CC" ||
		    topo_die "cannot set n$i's congestion control to $LOSS_CC"
	done
fi
head -c "$size" /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
cp "$TOPO_STATE/www-n2/big.bin" "$TOPO_STATE/www-n3/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
t_start_cluster
c() { topo_exec c "$@"; }
if [ -n "${LOSS_CC:-}" ]; then
	tol=0
	[ "${LOSS_CC#bbr}" != "$LOSS_CC" ] && tol=2
	for i in 2 3; do
		t_check "n$i's lwIP takes a loss tolerance of $tol% from its kernel's $LOSS_CC" \
		    grep -qF "lwip: loss tolerance $tol% (auto: the kernel's congestion control is $LOSS_CC)" "$TOPO_STATE/n$i.log"
	done
fi

topo_loss "$pct"

# The handshake's options, as the client sees them (tcpdump has no tcp[]
# for IPv6: the flags are byte 13 of the segment after the fixed header).
if [ "${TOPO_IPV6:-0}" = 1 ]; then
	url="http://[$TOPO_VIP6_2]/big.bin"
	[ "$TOPO_HS" = lwip ] && url="http://[$TOPO_VIP6]/big.bin"
	synack='ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x12'
else
	url="http://$TOPO_VIP2/big.bin"
	synack='tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)'
fi
t_check "tcpdump listens" t_tcpdump c "$TOPO_STATE/synack.txt" 20 -i eth0 -n -v \
    -c 1 "$synack"
ok=0
times=
for i in $(seq 1 "$runs"); do
	rm -f "$TOPO_STATE/got"
	t=$(c curl -s -m "$limit" -o "$TOPO_STATE/got" -w '%{time_total}' "$url")
	times="$times ${t:-fail}"
	got=$(sha256sum <"$TOPO_STATE/got" | cut -d' ' -f1)
	if [ "$got" = "$want" ]; then ok=$((ok + 1)); else echo "download $i: mismatch or over ${limit}s"; fi
done
wait "$tcpdump_pid"
cat "$TOPO_STATE/synack.txt"
echo "download times (s):$times"
t_check "$runs of $runs downloads of $size under $pct% loss match the file, each within ${limit}s" [ "$ok" -eq "$runs" ]
drops=$(topo_loss_dropped)
echo "packets dropped on the client's link: $drops"
t_check "loss was really injected" [ "${drops:-0}" -gt 50 ]
t_check "the client saw window scaling" grep -q "wscale" "$TOPO_STATE/synack.txt"
t_check "the client saw SACK permitted" grep -q "sackOK" "$TOPO_STATE/synack.txt"
t_check "the client saw timestamps" grep -q "TS val" "$TOPO_STATE/synack.txt"
topo_loss_end
# lwIP's own counts at the back-ends: what it resent, and what its loss
# episodes did with the window (kept where the tolerance allows).
if [ "$TOPO_STACK" = lwip ]; then
	topo_fresh "$TOPO_STATE/n2.status"
	topo_fresh "$TOPO_STATE/n3.status"
	sum() { echo $(($(t_stat "$TOPO_STATE/n2.status" "$1") + $(t_stat "$TOPO_STATE/n3.status" "$1"))); }
	sent=$(sum lwip_sent) resent=$(sum lwip_resent)
	cut=$(sum lwip_loss_cut) kept=$(sum lwip_loss_kept) late=$(sum lwip_loss_late)
	echo "lwIP at the back-ends: $sent segments sent, $resent again; loss episodes $cut cut, $kept kept ($late cut later); $(sum lwip_rto) timeouts"
	t_check "lwIP counted its segments sent, and resent some" [ "${resent:-0}" -gt 0 -a "${sent:-0}" -gt $((resent * 10)) ]
	if [ "${tol:-}" = 0 ]; then
		t_check "with no tolerance every loss episode cut the window" [ "${cut:-0}" -gt 0 -a "${kept:-1}" = 0 ]
	elif [ "${tol:-}" = 2 ] && [ "$pct" -lt 2 ]; then
		t_check "with a tolerance above the loss, episodes kept the window" [ "${kept:-0}" -gt 0 ]
	fi
fi

t_finish

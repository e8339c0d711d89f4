#!/bin/bash
# Downloads under loss over IPv6 with lwIP: lwIP's handshake at the IPv6
# VIP "web6" and lwIP stacks at the back-ends, 3% of the packets dropped
# each way: ten 20 MB downloads, every one intact and within the bound.
# The back-ends' kernels run Reno (a namespace may choose only what
# net.ipv4.tcp_allowed_congestion_control lists), so that
# lwip.loss_tolerance auto is 0.
LOSS_IPV6=1 LOSS_HS=lwip LOSS_STACK=lwip LOSS_CC=reno LOSS_RUNS=${LOSS_RUNS:-10} LOSS_PCT=${LOSS_PCT:-3}
. "$(dirname "$0")/t_loss.sh"

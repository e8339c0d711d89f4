#!/bin/bash
# Downloads under loss over IPv6: t_loss from the IPv6 VIP, 10 downloads
# of 20 MB with 2% of the packets dropped each way, all intact.
LOSS_IPV6=1 LOSS_RUNS=${LOSS_RUNS:-10}
. "$(dirname "$0")/t_loss.sh"

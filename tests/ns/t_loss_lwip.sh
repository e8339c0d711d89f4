#!/bin/bash
# t_loss.sh against lwIP stacks at the back-ends, with 3% loss each way:
# ten 20 MB downloads, every one intact and within the bound.  lwIP
# recovers with the client's SACK blocks (src/lwip-port/patches); as
# released it took minutes per download here.
LOSS_STACK=lwip LOSS_RUNS=${LOSS_RUNS:-10} LOSS_PCT=${LOSS_PCT:-3} LOSS_SIZE=${LOSS_SIZE:-20M}
. "$(dirname "$0")/t_loss.sh"

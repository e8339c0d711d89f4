#!/bin/bash
# t_loss.sh against lwIP stacks at the back-ends.  lwIP 2.1 recovers from
# loss by fast retransmit and RTO only (no SACK recovery, no NewReno), so
# the check is for intact data at a loss rate it gets through in time.
LOSS_STACK=lwip LOSS_RUNS=${LOSS_RUNS:-4} LOSS_PCT=${LOSS_PCT:-1} LOSS_SIZE=${LOSS_SIZE:-4M}
. "$(dirname "$0")/t_loss.sh"

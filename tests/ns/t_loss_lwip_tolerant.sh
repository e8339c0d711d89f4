#!/bin/bash
# t_loss.sh against lwIP stacks at the back-ends whose kernels run BBR, so
# that lwip.loss_tolerance auto is 2%, with 1% loss each way: loss
# episodes mostly leave the window as it is (patch 0031), and ten 20 MB
# downloads are every one intact and within the bound.
LOSS_STACK=lwip LOSS_CC=bbr LOSS_RUNS=${LOSS_RUNS:-10} LOSS_PCT=${LOSS_PCT:-1} LOSS_SIZE=${LOSS_SIZE:-20M}
. "$(dirname "$0")/t_loss.sh"

#!/bin/bash
# Path MTU discovery through a handoff over IPv6: t_pmtu with PMTU_IPV6=1.
PMTU_IPV6=1
. "$(dirname "$0")/t_pmtu.sh"

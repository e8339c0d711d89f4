#!/bin/bash
# The handoff end to end over IPv6 on a cluster of both stacks: the
# front-end n1 (kernel) answers "web6" with lwIP's handshake and serves
# some of it itself; n2 (lwIP) and n3 (kernel) take the rest, and n2 all
# of "remote6", whose handshake is the cookie's.
TOPO_HS=lwip TOPO_STACKS="kernel lwip kernel" TOPO_IPV6=1
. "$(dirname "$0")/handoff.sh"

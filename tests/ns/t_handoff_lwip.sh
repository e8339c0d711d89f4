#!/bin/bash
# The handoff end to end with the lwip handshake and lwip stacks.
TOPO_HS=lwip TOPO_STACK=lwip
. "$(dirname "$0")/handoff.sh"

#!/bin/bash
# The handoff end to end with the lwip handshake and kernel stacks at every
# node: nginx gets the client's real connection.
TOPO_HS=lwip TOPO_STACK=kernel
. "$(dirname "$0")/handoff.sh"

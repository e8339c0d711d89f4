#!/bin/bash
# The handoff end to end with the cookie handshake and kernel stacks: the
# front-end's BTCP answers every handshake itself and hands off every
# connection, its own node's included.
TOPO_HS=cookie TOPO_STACK=kernel
. "$(dirname "$0")/handoff.sh"

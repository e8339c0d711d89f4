#!/bin/bash
# The handoff end to end over IPv6: the client, the VIPs and the kernel
# stacks' servers all IPv6, the cookie handshake (lwIP speaks IPv4 only);
# the front-end answers every handshake and hands off every connection,
# its own node's included, with version-3 control frames.
TOPO_HS=cookie TOPO_STACK=kernel TOPO_IPV6=1
. "$(dirname "$0")/handoff.sh"

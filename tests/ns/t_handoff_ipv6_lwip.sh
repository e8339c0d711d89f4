#!/bin/bash
# The handoff end to end over IPv6 with lwIP: the lwip handshake at the
# IPv6 VIP "web6" and lwIP stacks taking handed-off connections at their
# IPv6 addresses (lwip.address6), the cookie handshake at "remote6".
TOPO_HS=lwip TOPO_STACK=lwip TOPO_IPV6=1
. "$(dirname "$0")/handoff.sh"

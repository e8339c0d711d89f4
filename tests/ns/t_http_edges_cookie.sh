#!/bin/bash
# t_http_edges.sh with the cookie handshake: the BTCP itself answers 400
# and 431, and every request, the front-end's own included, is handed off.
EDGE_HS=cookie EDGE_STACK=${EDGE_STACK:-kernel}
. "$(dirname "$0")/t_http_edges.sh"

#!/bin/bash
# t_http_edges.sh with kernel stacks: a request and its FIN handed over
# together still end the flow on both sides.
EDGE_STACK=kernel
. "$(dirname "$0")/t_http_edges.sh"

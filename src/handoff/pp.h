/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2) that tells a web server whose connection a relay carries: the
 * client's address and port as the source, the VIP and port it connected
 * to as the destination, TCP over IPv4 or IPv6.  pp.c is pure: no I/O, no
 * state.
 */
#ifndef HANDOFFD_PP_H
#define HANDOFFD_PP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The longest header: the spec's bound for v1 (a TCP6 line with two
 * addresses of 39 characters is 104 bytes); v2's is 28 or 52 bytes. */
#define PP_MAX		107

/* A relayed connection as its client sees it; ports in network order. */
struct pp_conn {
	struct ipaddr	 pc_saddr;	/* the client */
	struct ipaddr	 pc_daddr;	/* the VIP */
	uint16_t	 pc_sport;
	uint16_t	 pc_dport;
};

size_t		 pp_encode(int, const struct pp_conn *, uint8_t *, size_t);

#endif

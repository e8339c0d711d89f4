/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2) that tells a web server whose connection a relay carries: the
 * client's address and port as the source, the VIP and port it connected
 * to as the destination, TCP over IPv4.  pp.c is pure: no I/O, no state.
 */
#ifndef HANDOFFD_PP_H
#define HANDOFFD_PP_H

#include <stddef.h>
#include <stdint.h>

/* The longest header: v1's "PROXY TCP4 255.255.255.255 255.255.255.255
 * 65535 65535\r\n"; v2's is always 28 bytes. */
#define PP_MAX		56

/* A relayed connection as its client sees it; network byte order. */
struct pp_conn {
	uint32_t	 pc_saddr;	/* the client */
	uint32_t	 pc_daddr;	/* the VIP */
	uint16_t	 pc_sport;
	uint16_t	 pc_dport;
};

size_t		 pp_encode(int, const struct pp_conn *, uint8_t *, size_t);

#endif

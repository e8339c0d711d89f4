/*
 * IP addresses of either family as one type.  An IPv4 address is held as
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2), so flow
 * keys, control frames, the state file and the configuration compare, hash
 * and carry both families the same way, and code that only knows IPv4 asks
 * for the last word.  The bytes are in network order; the struct is plain
 * data (copied, compared with addr_eq, never pointed into).
 */
#ifndef HANDOFFD_ADDR_H
#define HANDOFFD_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

struct ipaddr {
	uint32_t	 a_w[4];	/* network order */
};

/* Long enough for any address addr_str writes, with its NUL; and for
 * any endpoint addr_port_str writes. */
#define ADDR_STRLEN	INET6_ADDRSTRLEN
#define ADDR_PORT_STRLEN (ADDR_STRLEN + 8)

/* The IPv4 address net (network order), mapped. */
static inline struct ipaddr
addr4(uint32_t net)
{
	struct ipaddr	 a;

	a.a_w[0] = 0;
	a.a_w[1] = 0;
	a.a_w[2] = htonl(0xffff);
	a.a_w[3] = net;
	return a;
}

static inline int
addr_is4(const struct ipaddr *a)
{
	return a->a_w[0] == 0 && a->a_w[1] == 0 && a->a_w[2] == htonl(0xffff);
}

/* An IPv4 address's 32 bits, network order (meaningless for IPv6). */
static inline uint32_t
addr_get4(const struct ipaddr *a)
{
	return a->a_w[3];
}

static inline int
addr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return ((a->a_w[0] ^ b->a_w[0]) | (a->a_w[1] ^ b->a_w[1]) |
	    (a->a_w[2] ^ b->a_w[2]) | (a->a_w[3] ^ b->a_w[3])) == 0;
}

/* Whether a is the IPv4 address net (network order). */
static inline int
addr_eq4(const struct ipaddr *a, uint32_t net)
{
	return addr_is4(a) && a->a_w[3] == net;
}

/* A client's network, as SYN cookies and the flow table judge one: its
 * /24, or its /48 for IPv6. */
static inline void
addr_client_net(struct ipaddr *a)
{
	if (addr_is4(a))
		a->a_w[3] &= htonl(0xffffff00);
	else {
		a->a_w[1] &= htonl(0xffff0000);
		a->a_w[2] = a->a_w[3] = 0;
	}
}

/* All zeros (::): no address, where the configuration leaves an IPv6
 * one out. */
static inline int
addr_is_none(const struct ipaddr *a)
{
	return (a->a_w[0] | a->a_w[1] | a->a_w[2] | a->a_w[3]) == 0;
}

/* From and to the 16 bytes a packet or a frame carries. */
static inline void
addr_from16(struct ipaddr *a, const uint8_t *p)
{
	memcpy(a->a_w, p, 16);
}

static inline void
addr_to16(const struct ipaddr *a, uint8_t *p)
{
	memcpy(p, a->a_w, 16);
}

const char	*addr_str(const struct ipaddr *, char *, size_t);
const char	*addr_port_str(const struct ipaddr *, uint16_t, char *,
		    size_t);
size_t		 addr_sockaddr(const struct ipaddr *, uint16_t, void *);

#endif

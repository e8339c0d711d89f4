/* The PROXY protocol header; see pp.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "handoff/pp.h"

/* v2: the signature, chosen by the spec to be rejected by servers that do
 * not expect it; then version 2 with the PROXY command (0x21).  The family
 * byte and the length of the addresses follow: TCP over IPv4 (0x11) with
 * 12 bytes of addresses and ports, or TCP over IPv6 (0x21) with 36. */
static const uint8_t pp_v2_sig[13] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21,
};
#define PP_V2_HEAD	16

/* v1: one line of text; inet_ntop's forms are the spec's (IPv4 dotted
 * decimal without leading zeros, IPv6 as RFC 4291 allows). */
static size_t
pp_encode_v1(const struct pp_conn *c, uint8_t *buf, size_t len)
{
	char	 line[PP_MAX + 1];	/* snprintf's NUL is no part of it */
	char	 s[ADDR_STRLEN], d[ADDR_STRLEN];
	int	 n;

	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
	    addr_is4(&c->pc_saddr) ? "TCP4" : "TCP6",
	    addr_str(&c->pc_saddr, s, sizeof(s)),
	    addr_str(&c->pc_daddr, d, sizeof(d)),
	    ntohs(c->pc_sport), ntohs(c->pc_dport));
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > len)
		return 0;
	memcpy(buf, line, (size_t)n);
	return (size_t)n;
}

/* v2: the fields are in network byte order already. */
static size_t
pp_encode_v2(const struct pp_conn *c, uint8_t *buf, size_t len)
{
	int		 v4 = addr_is4(&c->pc_saddr);
	size_t		 alen = v4 ? 4 : 16;
	size_t		 total = PP_V2_HEAD + 2 * alen + 4;
	uint8_t		*p = buf + PP_V2_HEAD;

	if (len < total)
		return 0;
	memcpy(buf, pp_v2_sig, sizeof(pp_v2_sig));
	buf[13] = v4 ? 0x11 : 0x21;
	buf[14] = 0;
	buf[15] = (uint8_t)(2 * alen + 4);
	if (v4) {
		uint32_t s = addr_get4(&c->pc_saddr);
		uint32_t d = addr_get4(&c->pc_daddr);

		memcpy(p, &s, 4);
		memcpy(p + 4, &d, 4);
	} else {
		addr_to16(&c->pc_saddr, p);
		addr_to16(&c->pc_daddr, p + 16);
	}
	memcpy(p + 2 * alen, &c->pc_sport, 2);
	memcpy(p + 2 * alen + 2, &c->pc_dport, 2);
	return total;
}

/* Writes version's header for c into buf; returns its length, or 0 for an
 * unknown version, a buffer too short (PP_MAX always suffices), or
 * endpoints of two families. */
size_t
pp_encode(int version, const struct pp_conn *c, uint8_t *buf, size_t len)
{
	if (addr_is4(&c->pc_saddr) != addr_is4(&c->pc_daddr))
		return 0;
	switch (version) {
	case 1:
		return pp_encode_v1(c, buf, len);
	case 2:
		return pp_encode_v2(c, buf, len);
	default:
		return 0;
	}
}

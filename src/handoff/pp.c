/* The PROXY protocol header; see pp.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "handoff/pp.h"

/* v2: the signature, chosen by the spec to be rejected by servers that do
 * not expect it; then version 2 with the PROXY command (0x21), TCP over
 * IPv4 (0x11), and 12 bytes of addresses and ports. */
static const uint8_t pp_v2_head[16] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
};
#define PP_V2_LEN	(sizeof(pp_v2_head) + 12)

/* v1: one line of text, decimal without leading zeros. */
static size_t
pp_encode_v1(const struct pp_conn *c, uint8_t *buf, size_t len)
{
	char	 line[PP_MAX + 1];	/* snprintf's NUL is no part of it */
	uint8_t	 s[4], d[4];
	int	 n;

	memcpy(s, &c->pc_saddr, sizeof(s));
	memcpy(d, &c->pc_daddr, sizeof(d));
	n = snprintf(line, sizeof(line),
	    "PROXY TCP4 %u.%u.%u.%u %u.%u.%u.%u %u %u\r\n",
	    s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3],
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
	uint8_t	*p = buf + sizeof(pp_v2_head);

	if (len < PP_V2_LEN)
		return 0;
	memcpy(buf, pp_v2_head, sizeof(pp_v2_head));
	memcpy(p, &c->pc_saddr, 4);
	memcpy(p + 4, &c->pc_daddr, 4);
	memcpy(p + 8, &c->pc_sport, 2);
	memcpy(p + 10, &c->pc_dport, 2);
	return PP_V2_LEN;
}

/* Writes version's header for c into buf; returns its length, or 0 for an
 * unknown version or a buffer too short (PP_MAX always suffices). */
size_t
pp_encode(int version, const struct pp_conn *c, uint8_t *buf, size_t len)
{
	switch (version) {
	case 1:
		return pp_encode_v1(c, buf, len);
	case 2:
		return pp_encode_v2(c, buf, len);
	default:
		return 0;
	}
}

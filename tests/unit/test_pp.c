/*
 * The PROXY protocol header, byte for byte against HAProxy's
 * proxy-protocol.txt: its v1 example line and longest TCP4 line, and the
 * v2 layout of section 2.2 for the same connection.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "handoff/pp.h"
#include "t.h"

static struct ipaddr
ip(const char *s)
{
	return strchr(s, ':') == NULL ? t_ip(s) : t_ip6(s);
}

static struct pp_conn
conn(const char *saddr, uint16_t sport, const char *daddr, uint16_t dport)
{
	struct pp_conn	 c;

	c.pc_saddr = ip(saddr);
	c.pc_daddr = ip(daddr);
	c.pc_sport = htons(sport);
	c.pc_dport = htons(dport);
	return c;
}

/* v1 is exactly want, and needs exactly its length of buffer. */
static void
check_v1(const struct pp_conn *c, const char *want)
{
	uint8_t	 buf[PP_MAX + 8];
	size_t	 n = strlen(want);

	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(1, c, buf, sizeof(buf)), n);
	CHECK(memcmp(buf, want, n) == 0);
	CHECK_INTEQ(buf[n], 0xee);		/* no NUL or more after it */
	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(1, c, buf, n), n);
	CHECK(memcmp(buf, want, n) == 0);
	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(1, c, buf, n - 1), 0);
	CHECK_INTEQ(buf[0], 0xee);		/* nothing written */
}

static void
test_v1(void)
{
	struct pp_conn	 c;

	/* The spec's example, section 2.1. */
	c = conn("192.168.0.1", 56324, "192.168.0.11", 443);
	check_v1(&c, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
	/* The longest TCP4 line the spec names: 56 bytes, PP_MAX. */
	c = conn("255.255.255.255", 65535, "255.255.255.255", 65535);
	check_v1(&c, "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535"
	    "\r\n");
	CHECK_INTEQ(PP_MAX, 107);
	/* No leading zeros, and zero itself as "0". */
	c = conn("10.0.0.2", 0, "10.9.0.1", 80);
	check_v1(&c, "PROXY TCP4 10.0.0.2 10.9.0.1 0 80\r\n");
	/* TCP6, addresses in RFC 5952's form; the longest is 104 bytes. */
	c = conn("2001:db8::1", 40000, "2001:db8:0:1::80", 443);
	check_v1(&c, "PROXY TCP6 2001:db8::1 2001:db8:0:1::80 40000 443\r\n");
	c = conn("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	check_v1(&c, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n");
}

static void
test_v2(void)
{
	/* Section 2.2: signature, 0x21 (v2, PROXY), 0x11 (TCP over IPv4),
	 * length 12, then source, destination, source port, destination
	 * port, all in network byte order. */
	static const uint8_t want[28] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
		0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		192, 168, 0, 1,  192, 168, 0, 11,  0xdc, 0x04,  0x01, 0xbb,
	};
	struct pp_conn	 c = conn("192.168.0.1", 56324, "192.168.0.11", 443);
	uint8_t		 buf[PP_MAX];

	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(buf)), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_INTEQ(buf[sizeof(want)], 0xee);
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(want)), sizeof(want));
	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(want) - 1), 0);
	CHECK_INTEQ(buf[0], 0xee);
}

/* TCP over IPv6 (0x21), length 36: two 16-byte addresses, two ports. */
static void
test_v2_ipv6(void)
{
	static const uint8_t want[52] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
		0x55, 0x49, 0x54, 0x0a, 0x21, 0x21, 0x00, 0x24,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x80,
		0x9c, 0x40,  0x01, 0xbb,
	};
	struct pp_conn	 c = conn("2001:db8::1", 40000, "2001:db8:0:1::80",
	    443);
	uint8_t		 buf[PP_MAX];

	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(buf)), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_INTEQ(buf[sizeof(want)], 0xee);
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(want) - 1), 0);
	/* A client of one family and a VIP of the other cannot be said. */
	c = conn("2001:db8::1", 40000, "10.9.0.1", 80);
	CHECK_INTEQ(pp_encode(1, &c, buf, sizeof(buf)), 0);
	CHECK_INTEQ(pp_encode(2, &c, buf, sizeof(buf)), 0);
}

/* Versions the spec does not define write nothing. */
static void
test_versions(void)
{
	struct pp_conn	 c = conn("10.0.0.2", 40000, "10.9.0.1", 80);
	uint8_t		 buf[PP_MAX];

	memset(buf, 0xee, sizeof(buf));
	CHECK_INTEQ(pp_encode(0, &c, buf, sizeof(buf)), 0);
	CHECK_INTEQ(pp_encode(3, &c, buf, sizeof(buf)), 0);
	CHECK_INTEQ(pp_encode(-1, &c, buf, sizeof(buf)), 0);
	CHECK_INTEQ(buf[0], 0xee);
}

int
main(void)
{
	t_start(10);
	test_v1();
	test_v2();
	test_v2_ipv6();
	test_versions();
	return t_done("test_pp");
}

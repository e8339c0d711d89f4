/*
 * The per-packet rewrite: both directions against the sequence algebra,
 * with options at even and odd offsets, checksums checked by full
 * recomputation, and window rescaling.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "flow.h"
#include "pkt.h"
#include "handoff/rw.h"
#include "t.h"

/* Hand-laid option areas: the rewrite must not assume Linux's layout. */
static const struct {
	const char	*name;
	uint8_t		 opts[40];
	size_t		 len;
	int		 ts_at;		/* offset of TS kind in the area, -1 */
	int		 sack_at;
} layouts[] = {
	{ "nop nop ts", { 1, 1, 8, 10, 0,0,0,1, 0,0,0,2 }, 12, 2, -1 },
	{ "nop ts nop", { 1, 8, 10, 0,0,0,1, 0,0,0,2, 1 }, 12, 1, -1 },
	{ "ts nop nop", { 8, 10, 0,0,0,1, 0,0,0,2, 1, 1 }, 12, 0, -1 },
	{ "nop nop ts nop nop sack1",
	    { 1, 1, 8, 10, 0,0,0,1, 0,0,0,2, 1, 1, 5, 10,
	      0,0,1,0, 0,0,2,0 }, 24, 2, 14 },
	{ "nop ts nop sack2 nop nop",
	    { 1, 8, 10, 0,0,0,1, 0,0,0,2, 1, 5, 18,
	      0,0,1,0, 0,0,2,0, 0,0,3,0, 0,0,4,0, 1, 1 }, 32, 1, 12 },
	{ "nop sack1 nop nop nop", { 1, 5, 10, 0,0,1,0, 0,0,2,0, 1, 1, 1 },
	    14 + 2, -1, 1 },
};

static size_t
build(uint8_t *buf, int li, uint8_t flags)
{
	uint8_t		 pay[100];
	struct pkt	 p;
	size_t		 len, optlen = (layouts[li].len + 3) & ~3u;

	memset(pay, 'x', sizeof(pay));
	len = pkt_build_tcp(buf, 2048, T_IPP("10.0.0.2"), htons(40000),
	    T_IPP("10.9.0.1"), htons(80), 5000, 70000, flags, 1000, NULL,
	    NULL, 0, 1);
	/* Splice in the option area, then the payload. */
	memset(buf + 40, 0, optlen);
	memcpy(buf + 40, layouts[li].opts, layouts[li].len);
	memcpy(buf + 40 + optlen, pay, sizeof(pay));
	len = 40 + optlen + sizeof(pay);
	buf[20 + TCP_OFF_DOFF] = (uint8_t)(((20 + optlen) / 4) << 4);
	pkt_put16(buf + IP_OFF_TOTLEN, len);
	pkt_put16(buf + IP_OFF_CSUM, pkt_ip_csum(buf, 20));
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
	pkt_tcp_csum_set(&p);
	return len;
}

/* Checksums that differ only by the two forms of zero. */
static int
csum_same(uint16_t a, uint16_t b)
{
	return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

/* The folded sum of an IPv6/TCP packet's pseudo-header (RFC 8200 8.1). */
static uint16_t
pkt_pseudo6(const uint8_t *ip)
{
	uint32_t	 s = 0;
	size_t		 i;

	for (i = 8; i < 40; i += 2)
		s += pkt_get16(ip + i);
	s += pkt_get16(ip + 4) + (uint32_t)PKT_IPPROTO_TCP;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}


static void
test_layouts(void)
{
	uint8_t		 buf[2048];
	struct flow	 f;
	struct pkt	 p;
	size_t		 len;
	int		 li, dir;

	memset(&f, 0, sizeof(f));
	f.f_naddr = t_ip("10.2.2.2");
	f.f_nport = htons(8080);
	f.f_delta = 0x10000001;
	f.f_ts_delta = 0x01000003;
	for (li = 0; li < (int)(sizeof(layouts) / sizeof(layouts[0])); li++) {
		for (dir = 0; dir < 2; dir++) {
			uint8_t *th;

			len = build(buf, li, TH_ACK | TH_PUSH);
			CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
			th = p.p_tcp;
			if (dir == 0)
				rw_to_stack(&f, &p);
			else
				rw_to_client(&f, &p);
			if (!pkt_tcp_csum_ok(&p))
				fprintf(stderr, "layout \"%s\" dir %d\n",
				    layouts[li].name, dir);
			CHECK(pkt_tcp_csum_ok(&p));
			CHECK_INTEQ(pkt_ip_csum(buf, 20),
			    pkt_get16(buf + IP_OFF_CSUM));
			if (dir == 0) {
				CHECK(memcmp(buf + IP_OFF_DST,
				    &f.f_naddr.a_w[3], 4) == 0);
				CHECK_INTEQ(pkt_get16(th + TCP_OFF_DPORT), 8080);
				CHECK_INTEQ(pkt_get32(th + TCP_OFF_ACK),
				    70000 - 0x10000001u);
				CHECK_INTEQ(pkt_get32(th + TCP_OFF_SEQ), 5000);
			} else {
				CHECK(memcmp(buf + IP_OFF_SRC,
				    &f.f_naddr.a_w[3], 4) == 0);
				CHECK_INTEQ(pkt_get16(th + TCP_OFF_SPORT), 8080);
				CHECK_INTEQ(pkt_get32(th + TCP_OFF_SEQ),
				    5000 + 0x10000001u);
				CHECK_INTEQ(pkt_get32(th + TCP_OFF_ACK), 70000);
			}
			if (layouts[li].ts_at >= 0) {
				uint8_t *ts = th + 20 + layouts[li].ts_at;

				/* client->stack: TSecr back; stack->client:
				 * TSval forward; the other one untouched. */
				CHECK_INTEQ(pkt_get32(ts + 2), dir == 0 ? 1 :
				    1 + 0x01000003u);
				CHECK_INTEQ(pkt_get32(ts + 6), dir == 0 ?
				    2 - 0x01000003u : 2);
			}
			if (layouts[li].sack_at >= 0) {
				uint8_t *sk = th + 20 + layouts[li].sack_at;
				int n = (sk[1] - 2) / 8, b;

				for (b = 0; b < n; b++) {
					uint32_t l = 0x100u + 0x200u * b;

					CHECK_INTEQ(pkt_get32(sk + 2 + 8 * b),
					    dir == 0 ? l - 0x10000001u : l);
				}
			}
		}
	}
}

static void
test_window(void)
{
	CHECK_INTEQ(rw_window(100, 7, 7), 100);
	CHECK_INTEQ(rw_window(100, 9, 7), 400);
	CHECK_INTEQ(rw_window(100, 5, 7), 25);
	CHECK_INTEQ(rw_window(0xffff, 14, 0), 0xffff);	/* saturates */
	CHECK_INTEQ(rw_window(3, 0, 2), 0);		/* rounds down */
}

/* A window rescale through rw_to_client keeps the checksum valid. */
static void
test_window_rewrite(void)
{
	uint8_t		 buf[2048];
	struct flow	 f;
	struct pkt	 p;
	size_t		 len;

	memset(&f, 0, sizeof(f));
	f.f_naddr = t_ip("10.9.0.1");
	f.f_nport = htons(80);
	f.f_ws_in = 9;
	f.f_ws_out = 7;
	len = build(buf, 0, TH_ACK);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
	rw_to_client(&f, &p);
	CHECK(pkt_tcp_csum_ok(&p));
	CHECK_INTEQ(pkt_get16(p.p_tcp + TCP_OFF_WIN), 4000);
}

/*
 * With checksum offload the field holds the pseudo-header's sum, not
 * complemented; a rewrite of addresses must keep it the pseudo-header sum
 * of the new addresses, and leave the rest of the header to the kernel.
 */
static void
test_partial(void)
{
	uint8_t		 buf[2048], ph[12];
	struct flow	 f;
	struct pkt	 p;
	size_t		 len;
	int		 dir;

	memset(&f, 0, sizeof(f));
	f.f_naddr = t_ip("10.2.2.1");
	f.f_nport = htons(80);
	f.f_delta = 12345;
	f.f_ts_delta = 77;
	for (dir = 0; dir < 2; dir++) {
		len = build(buf, 0, TH_ACK);
		CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
		/* What the kernel leaves: the pseudo-header sum. */
		memcpy(ph, buf + IP_OFF_SRC, 8);
		ph[8] = 0;
		ph[9] = PKT_IPPROTO_TCP;
		pkt_put16(ph + 10, len - 20);
		pkt_put16(p.p_tcp + TCP_OFF_CSUM,
		    (uint16_t)~pkt_csum_partial(ph, sizeof(ph), 0));
		p.p_meta.pm_csum_partial = 1;
		if (dir == 0)
			rw_to_stack(&f, &p);
		else
			rw_to_client(&f, &p);
		memcpy(ph, buf + IP_OFF_SRC, 8);
		CHECK_INTEQ(pkt_get16(p.p_tcp + TCP_OFF_CSUM),
		    (uint16_t)~pkt_csum_partial(ph, sizeof(ph), 0));
		CHECK_INTEQ(pkt_ip_csum(buf, 20), pkt_get16(buf + IP_OFF_CSUM));
		/* ... and the kernel's completion makes it whole. */
		pkt_csum_finish(&p);
		CHECK(pkt_tcp_csum_ok(&p));
		CHECK(!p.p_meta.pm_csum_partial);
	}
}


/* IPv6: the same rewrite, with the addresses in the pseudo-header only,
 * for a whole checksum and for a partial one (offload). */
static void
test_ipv6(void)
{
	struct ipaddr	 c = t_ip6("2001:db8::2"), v = t_ip6("2001:db8:9::1");
	struct ipaddr	 s = t_ip6("fd00:2::2");
	struct pkt_opts	 o;
	uint8_t		 buf[512];
	struct flow	 f;
	struct pkt	 p;
	size_t		 len;
	int		 dir, partial;

	memset(&f, 0, sizeof(f));
	f.f_delta = 0x10000001;
	f.f_ts_delta = 0x01000003;
	for (partial = 0; partial < 2; partial++)
	for (dir = 0; dir < 2; dir++) {
		memset(&o, 0, sizeof(o));
		o.o_has_ts = 1;
		o.o_tsval = 1;
		o.o_tsecr = 2;
		o.o_nsack = 1;
		o.o_sack[0].s_left = 100000;
		o.o_sack[0].s_right = 200000;
		/* A front-end's flow names the stack, a back-end's the VIP. */
		f.f_naddr = dir == 0 ? s : v;
		f.f_nport = htons(dir == 0 ? 8080 : 80);
		if (dir == 0)
			len = pkt_build_tcp(buf, sizeof(buf), &c, htons(40000),
			    &v, htons(80), 5000, 70000, TH_ACK, 1000, &o,
			    "payload", 7, 0);
		else
			len = pkt_build_tcp(buf, sizeof(buf), &s, htons(8080),
			    &c, htons(40000), 5000, 70000, TH_ACK, 1000, &o,
			    "payload", 7, 0);
		CHECK(len > 0);
		CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
		if (partial) {
			/* The field holds the pseudo-header's sum only. */
			p.p_meta.pm_csum_partial = 1;
			pkt_put16(p.p_tcp + TCP_OFF_CSUM, pkt_pseudo6(buf));
		}
		if (dir == 0)
			rw_to_stack(&f, &p);
		else
			rw_to_client(&f, &p);
		if (partial) {
			/* Finish as the kernel would, from the new fields. */
			uint16_t ph = pkt_get16(p.p_tcp + TCP_OFF_CSUM);

			pkt_put16(p.p_tcp + TCP_OFF_CSUM, 0);
			CHECK(csum_same(ph, pkt_pseudo6(buf)));
			pkt_tcp_csum_set(&p);
		}
		CHECK(pkt_tcp_csum_ok(&p));
		CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
		if (dir == 0) {
			CHECK(addr_eq(&p.p_daddr, &s));
			CHECK(addr_eq(&p.p_saddr, &c));
			CHECK(p.p_dport == htons(8080));
			CHECK_INTEQ(p.p_ack, 70000 - 0x10000001u);
		} else {
			CHECK(addr_eq(&p.p_saddr, &v));
			CHECK(p.p_sport == f.f_nport);
			CHECK_INTEQ(p.p_seq, 5000 + 0x10000001u);
		}
		CHECK_INTEQ(pkt_opts_parse(&p, &o), 0);
		CHECK_INTEQ(dir == 0 ? o.o_tsecr : o.o_tsval,
		    dir == 0 ? 2 - 0x01000003u : 1 + 0x01000003u);
		if (dir == 0)
			CHECK_INTEQ(o.o_sack[0].s_left, 100000 - 0x10000001u);
	}
}

int
main(void)
{
	t_start(30);
	test_layouts();
	test_ipv6();
	test_window();
	test_window_rewrite();
	test_partial();
	return t_done("test_rw");
}

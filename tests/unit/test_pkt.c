/*
 * Packet core: parsing of good and malformed packets, option round trips,
 * incremental checksums against full recomputation, serial arithmetic.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "t.h"

static uint32_t t_rng = 12345;

/* xorshift: reproducible, so a failure can be replayed. */
static uint32_t
rnd(void)
{
	t_rng ^= t_rng << 13;
	t_rng ^= t_rng >> 17;
	t_rng ^= t_rng << 5;
	return t_rng;
}

static size_t
build_sample(uint8_t *buf, size_t cap, int syn, size_t paylen)
{
	struct pkt_opts	 o;
	uint8_t		 pay[2000];
	size_t		 i;

	memset(&o, 0, sizeof(o));
	o.o_has_ts = 1;
	o.o_tsval = 0x11223344;
	o.o_tsecr = syn ? 0 : 0x55667788;
	if (syn) {
		o.o_mss = 1460;
		o.o_has_ws = 1;
		o.o_ws = 7;
		o.o_sack_ok = 1;
	}
	for (i = 0; i < paylen && i < sizeof(pay); i++)
		pay[i] = (uint8_t)i;
	return pkt_build_tcp(buf, cap, T_IPP("10.0.0.2"), htons(40000),
	    T_IPP("10.9.0.1"), htons(80), 1000, syn ? 0 : 5000,
	    syn ? TH_SYN : TH_ACK | TH_PUSH, 502, &o, pay, paylen, 7);
}

static void
test_parse_good(void)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	struct pkt_opts	 o;
	size_t		 len;

	len = build_sample(buf, sizeof(buf), 1, 0);
	CHECK(len == 20 + 20 + 20);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
	CHECK_INTEQ(p.p_len, len);
	CHECK_INTEQ(p.p_iphl, 20);
	CHECK_INTEQ(p.p_thl, 40);
	CHECK_INTEQ(p.p_paylen, 0);
	CHECK_INTEQ(p.p_flags, TH_SYN);
	CHECK(addr_eq4(&p.p_saddr, inet_addr("10.0.0.2")));
	CHECK(addr_eq4(&p.p_daddr, inet_addr("10.9.0.1")));
	CHECK(p.p_sport == htons(40000));
	CHECK(p.p_dport == htons(80));
	CHECK_INTEQ(p.p_seq, 1000);
	CHECK_INTEQ(p.p_win, 502);
	CHECK(pkt_tcp_csum_ok(&p));
	CHECK_INTEQ(pkt_ip_csum(buf, 20), pkt_get16(buf + IP_OFF_CSUM));
	CHECK_INTEQ(pkt_opts_parse(&p, &o), 0);
	CHECK_INTEQ(o.o_mss, 1460);
	CHECK(o.o_has_ws && o.o_ws == 7);
	CHECK(o.o_sack_ok);
	CHECK(o.o_has_ts && o.o_tsval == 0x11223344 && o.o_tsecr == 0);
	CHECK_INTEQ(buf[20 + o.o_ts_off], TCPOPT_TS);
	CHECK_INTEQ(buf[20 + o.o_mss_off], TCPOPT_MSS);
	CHECK_INTEQ(buf[20 + o.o_ws_off], TCPOPT_WS);

	/* Data segment; trailing bytes past the total length are ignored. */
	len = build_sample(buf, sizeof(buf), 0, 100);
	CHECK_INTEQ(pkt_parse(&p, buf, len + 10), PKT_OK);
	CHECK_INTEQ(p.p_len, len);
	CHECK_INTEQ(p.p_paylen, 100);
	CHECK(pkt_tcp_csum_ok(&p));
	buf[len - 1] ^= 1;
	CHECK(!pkt_tcp_csum_ok(&p));
}

/* Every prefix of a valid packet, copied to an exact-size heap buffer so
 * that ASan catches any read past it, must be refused. */
static void
test_parse_truncated(void)
{
	uint8_t		 buf[256], *cp;
	struct pkt	 p;
	size_t		 len, n;

	len = build_sample(buf, sizeof(buf), 1, 30);
	for (n = 0; n < len; n++) {
		enum pkt_verdict v;

		cp = malloc(n ? n : 1);
		memcpy(cp, buf, n);
		v = pkt_parse(&p, cp, n);
		CHECK(v != PKT_OK);
		CHECK(v == PKT_TRUNCATED || (n == 0 && v == PKT_TRUNCATED));
		free(cp);
	}
}

static void
test_parse_malformed(void)
{
	uint8_t		 buf[256], b[256];
	struct pkt	 p;
	size_t		 len;

	len = build_sample(buf, sizeof(buf), 1, 0);

	memcpy(b, buf, len);
	b[0] = 0x55;				/* neither 4 nor 6 */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_NOT_IP);
	b[0] = 0x60;
	CHECK_INTEQ(pkt_parse(&p, b, 1), PKT_TRUNCATED);

	memcpy(b, buf, len);
	b[0] = 0x44;				/* IHL 16 bytes */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_IHL);
	b[0] = 0x4f;				/* IHL 60 > 60-byte packet? */
	CHECK_INTEQ(pkt_parse(&p, b, 40), PKT_TRUNCATED);

	memcpy(b, buf, len);
	pkt_put16(b + IP_OFF_TOTLEN, 19);
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_TOTLEN);
	pkt_put16(b + IP_OFF_TOTLEN, len + 1);
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_TRUNCATED);

	memcpy(b, buf, len);
	pkt_put16(b + IP_OFF_FRAG, 0x2000);	/* MF */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_FRAGMENT);
	pkt_put16(b + IP_OFF_FRAG, 0x0010);	/* offset */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_FRAGMENT);
	pkt_put16(b + IP_OFF_FRAG, 0x4000);	/* DF alone is fine */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_OK);

	/* IP options: a 24-byte header. */
	memcpy(b, buf, 20);
	b[0] = 0x46;
	memset(b + 20, 1, 4);
	memcpy(b + 24, buf + 20, len - 20);
	pkt_put16(b + IP_OFF_TOTLEN, len + 4);
	CHECK_INTEQ(pkt_parse(&p, b, len + 4), PKT_IP_OPTIONS);

	memcpy(b, buf, len);
	b[IP_OFF_PROTO] = PKT_IPPROTO_ICMP;
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_NOT_TCP);
	CHECK(p.p_tcp == NULL && p.p_proto == PKT_IPPROTO_ICMP);

	memcpy(b, buf, len);
	b[20 + TCP_OFF_DOFF] = 4 << 4;		/* data offset < 5 */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_TCP_OFF);
	b[20 + TCP_OFF_DOFF] = 15 << 4;		/* 60 > 40 bytes of TCP */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_TCP_OFF);

	memcpy(b, buf, len);
	pkt_put16(b + IP_OFF_TOTLEN, 30);	/* room for no TCP header */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_TRUNCATED);
}

static void
test_opts_malformed(void)
{
	struct pkt_opts	 o;
	static const struct {
		uint8_t	 b[12];
		size_t	 len;
		int	 rc;
	} cases[] = {
		{ { 2, 4, 5, 0xb4 }, 4, 0 },		/* MSS */
		{ { 2, 3, 5 }, 3, -1 },			/* MSS length 3 */
		{ { 2 }, 1, -1 },			/* kind without length */
		{ { 2, 0 }, 2, -1 },			/* length 0 */
		{ { 2, 1 }, 2, -1 },			/* length 1 */
		{ { 8, 10, 1, 2 }, 4, -1 },		/* TS runs past */
		{ { 8, 9, 0, 0, 0, 0, 0, 0, 0 }, 9, -1 },	/* TS length 9 */
		{ { 3, 4, 7, 0 }, 4, -1 },		/* WS length 4 */
		{ { 4, 3, 0 }, 3, -1 },			/* SACK-ok length 3 */
		{ { 5, 6, 0, 0, 0, 0 }, 6, -1 },	/* SACK length 6 */
		{ { 5, 11, 0 }, 11, -1 },		/* SACK length 11 */
		{ { 1, 1, 0, 99, 99 }, 5, 0 },		/* EOL stops parsing */
		{ { 99, 3, 0, 1 }, 4, 0 },		/* unknown, skipped */
		{ { 99, 5, 0, 1 }, 4, -1 },		/* unknown runs past */
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *cp = malloc(cases[i].len);

		memcpy(cp, cases[i].b, cases[i].len);
		CHECK_INTEQ(pkt_opts_parse_raw(cp, cases[i].len, 20, &o),
		    cases[i].rc);
		free(cp);
	}
	CHECK_INTEQ(pkt_opts_parse_raw((const uint8_t *)"\x63\x03\x00\x01",
	    4, 20, &o), 0);
	CHECK_INTEQ(o.o_unknown, 1);
}

/* Build then parse: every option combination comes back unchanged. */
static void
test_opts_roundtrip(void)
{
	uint8_t		 area[PKT_TCP_OPTMAX];
	struct pkt_opts	 in, out;
	size_t		 len;
	int		 mask, syn, n, i;

	for (mask = 0; mask < 16; mask++) {
		for (syn = 0; syn < 2; syn++) {
			for (n = 0; n <= PKT_SACK_MAX; n++) {
				memset(&in, 0, sizeof(in));
				if (mask & 1)
					in.o_mss = 1000 + mask;
				if (mask & 2) {
					in.o_has_ws = 1;
					in.o_ws = 14;
				}
				in.o_sack_ok = (mask & 4) != 0;
				if (mask & 8) {
					in.o_has_ts = 1;
					in.o_tsval = rnd();
					in.o_tsecr = rnd();
				}
				for (i = 0; i < n; i++) {
					in.o_sack[i].s_left = rnd();
					in.o_sack[i].s_right = rnd();
				}
				in.o_nsack = n;
				len = pkt_opts_build(area, sizeof(area), &in,
				    syn);
				CHECK(len % 4 == 0 && len <= PKT_TCP_OPTMAX);
				CHECK_INTEQ(pkt_opts_parse_raw(area, len, 20,
				    &out), 0);
				CHECK_INTEQ(out.o_has_ts, in.o_has_ts);
				if (in.o_has_ts) {
					CHECK_INTEQ(out.o_tsval, in.o_tsval);
					CHECK_INTEQ(out.o_tsecr, in.o_tsecr);
				}
				if (syn) {
					CHECK_INTEQ(out.o_mss, in.o_mss);
					CHECK_INTEQ(out.o_has_ws, in.o_has_ws);
					CHECK_INTEQ(out.o_ws, in.o_ws);
					CHECK_INTEQ(out.o_sack_ok,
					    in.o_sack_ok);
					CHECK_INTEQ(out.o_nsack, 0);
				} else {
					/* 40 bytes hold TS and 3 blocks. */
					int fit = in.o_has_ts && n > 3 ? 3 : n;

					CHECK_INTEQ(out.o_nsack, fit);
					for (i = 0; i < fit; i++) {
						CHECK_INTEQ(out.o_sack[i].s_left,
						    in.o_sack[i].s_left);
						CHECK_INTEQ(out.o_sack[i].s_right,
						    in.o_sack[i].s_right);
					}
				}
			}
		}
	}
	/* Too small a buffer is refused, not overrun. */
	memset(&in, 0, sizeof(in));
	in.o_has_ts = 1;
	CHECK_INTEQ(pkt_opts_build(area, 8, &in, 0), 0);
}

/* Equal, or both encodings of one's-complement zero. */
static int
csum_same(uint16_t a, uint16_t b)
{
	return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

/* Random rewrites of every field the daemon rewrites, through one
 * accumulator each for IP and TCP, against full recomputation. */
static void
test_csum_incremental(void)
{
	uint8_t		 buf[2048];
	struct pkt	 p;
	struct pkt_opts	 o;
	int		 iter;

	for (iter = 0; iter < 20000; iter++) {
		struct csum_acc	 ipa, tha;
		struct ipaddr	 a;
		size_t		 len, k;

		len = build_sample(buf, sizeof(buf), 0, rnd() % 1461);
		/* Random header and payload content, checksums made valid. */
		pkt_put32(buf + 20 + TCP_OFF_SEQ, rnd());
		pkt_put32(buf + 20 + TCP_OFF_ACK, rnd());
		for (k = 52; k < len; k++)
			buf[k] = (uint8_t)rnd();
		CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
		pkt_tcp_csum_set(&p);
		CHECK(pkt_tcp_csum_ok(&p));
		CHECK_INTEQ(pkt_opts_parse(&p, &o), 0);

		csum_acc_init(&ipa, pkt_get16(buf + IP_OFF_CSUM));
		csum_acc_init(&tha, pkt_get16(p.p_tcp + TCP_OFF_CSUM));
		if (rnd() & 1) {
			a = addr4(rnd());
			pkt_set_addr(&ipa, &tha, &p, 1, &a);
		}
		a = addr4(rnd());
		pkt_set_addr(&ipa, &tha, &p, 0, &a);
		if (rnd() & 1)
			pkt_set16(&tha, p.p_tcp + TCP_OFF_DPORT, rnd());
		pkt_set32(&tha, p.p_tcp + TCP_OFF_SEQ,
		    pkt_get32(p.p_tcp + TCP_OFF_SEQ) + rnd());
		pkt_set32(&tha, p.p_tcp + TCP_OFF_ACK,
		    pkt_get32(p.p_tcp + TCP_OFF_ACK) - rnd());
		pkt_set16(&tha, p.p_tcp + TCP_OFF_WIN, rnd());
		pkt_set32(&tha, p.p_tcp + o.o_ts_off + 2, rnd());
		pkt_set32(&tha, p.p_tcp + o.o_ts_off + 6, rnd());
		pkt_put16(buf + IP_OFF_CSUM, csum_acc_fold(&ipa));
		pkt_put16(p.p_tcp + TCP_OFF_CSUM, csum_acc_fold(&tha));

		CHECK(csum_same(pkt_get16(buf + IP_OFF_CSUM),
		    pkt_ip_csum(buf, 20)));
		CHECK(pkt_tcp_csum_ok(&p));
		CHECK(csum_same(pkt_get16(p.p_tcp + TCP_OFF_CSUM),
		    pkt_tcp_csum(&p)));
	}
}

/* A wrong checksum stays wrong by the same amount after a rewrite, so the
 * end host still drops a packet corrupted before it reached us. */
static void
test_csum_preserves_error(void)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	struct csum_acc	 a;
	size_t		 len;

	len = build_sample(buf, sizeof(buf), 0, 20);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
	buf[len - 3] ^= 0x40;
	CHECK(!pkt_tcp_csum_ok(&p));
	csum_acc_init(&a, pkt_get16(p.p_tcp + TCP_OFF_CSUM));
	pkt_set32(&a, p.p_tcp + TCP_OFF_SEQ, 0xdeadbeef);
	pkt_put16(p.p_tcp + TCP_OFF_CSUM, csum_acc_fold(&a));
	CHECK(!pkt_tcp_csum_ok(&p));
}

/* An ICMP "fragmentation needed" quoting a segment from 10.9.0.1:80 to
 * the client, as a router sends it (ihl bytes of quoted IP header). */
static size_t
build_icmp(uint8_t *buf, size_t ihl, size_t quoted_tcp)
{
	uint8_t		 seg[256];
	size_t		 n, len;

	n = build_sample(seg, sizeof(seg), 0, 40);
	/* the quoted segment the other way round: VIP -> client */
	memcpy(seg + 12, "\x0a\x09\x00\x01\x0a\x00\x00\x02", 8);
	memcpy(seg + 20, "\x00\x50\x9c\x40", 4);
	len = 20 + 8 + ihl + quoted_tcp;
	memset(buf, 0, len);
	buf[0] = 0x45;
	pkt_put16(buf + 2, (uint16_t)len);
	buf[8] = 64;
	buf[9] = PKT_IPPROTO_ICMP;
	memcpy(buf + 12, "\x0a\x00\x00\x01\x0a\x09\x00\x01", 8);
	buf[20] = ICMP_UNREACH;
	buf[21] = 4;
	pkt_put16(buf + 26, 1280);
	memcpy(buf + 28, seg, 20);
	buf[28] = (uint8_t)(0x40 | ihl / 4);
	memcpy(buf + 28 + ihl, seg + 20, quoted_tcp < n - 20 ? quoted_tcp :
	    n - 20);
	pkt_put16(buf + 10, pkt_ip_csum(buf, 20));
	return len;
}

static int
csum_ok(const uint8_t *d, size_t len)
{
	return pkt_csum_partial(d, len, 0) == 0;
}

static void
test_icmp(void)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	struct pkt_icmp	 ic;
	size_t		 len;

	len = build_icmp(buf, 20, 8);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	CHECK_INTEQ(ic.ic_type, ICMP_UNREACH);
	CHECK_INTEQ(ic.ic_code, 4);
	CHECK(addr_eq4(&ic.ic_isrc, inet_addr("10.9.0.1")));
	CHECK(addr_eq4(&ic.ic_idst, inet_addr("10.0.0.2")));
	CHECK(ic.ic_isport == htons(80) && ic.ic_idport == htons(40000));
	CHECK_INTEQ(ic.ic_iseq, 1000);

	/* Readdressed to the stack, about its own segment. */
	pkt_icmp_rewrite(&p, &ic, T_IPP("10.9.0.1"), T_IPP("10.2.2.1"),
	    T_IPP("10.2.2.1"), htons(8080), (uint32_t)(1000 - 4242));
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK(addr_eq4(&p.p_saddr, inet_addr("10.9.0.1")));
	CHECK(addr_eq4(&p.p_daddr, inet_addr("10.2.2.1")));
	CHECK(csum_ok(buf, 20));
	CHECK(csum_ok(buf + 20, len - 20));
	CHECK(csum_ok(buf + 28, 20));
	CHECK(pkt_icmp_csum_ok(&p));
	buf[30] ^= 1;
	CHECK(!pkt_icmp_csum_ok(&p));
	buf[30] ^= 1;
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	CHECK(addr_eq4(&ic.ic_isrc, inet_addr("10.2.2.1")));
	CHECK(ic.ic_isport == htons(8080));
	CHECK(ic.ic_iseq == (uint32_t)(1000 - 4242));
	CHECK(addr_eq4(&ic.ic_idst, inet_addr("10.0.0.2")));

	/* Quoted IP options are skipped by their length. */
	len = build_icmp(buf, 24, 8);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	CHECK_INTEQ(ic.ic_iseq, 1000);

	/* Too little quoted, a quote that is not TCP or not IPv4, a bad
	 * quoted header length, another ICMP type: not for a flow. */
	len = build_icmp(buf, 20, 7);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	len = build_icmp(buf, 20, 8);
	buf[28 + 9] = 17;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	len = build_icmp(buf, 20, 8);
	buf[28] = 0x65;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	len = build_icmp(buf, 20, 8);
	buf[28] = 0x44;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	len = build_icmp(buf, 20, 8);
	buf[28] = 0x4f;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	len = build_icmp(buf, 20, 8);
	buf[20] = 11;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
}

static void
test_serial(void)
{
	static const uint32_t base[] = { 0, 1, 0x7fffffff, 0x80000000,
	    0xfffffffe, 0xffffffff, 123456789 };
	size_t	 i;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		uint32_t a = base[i];

		CHECK(seq_lt(a, a + 1));
		CHECK(seq_lt(a, a + 0x7fffffff));
		CHECK(seq_gt(a + 1, a));
		CHECK(seq_leq(a, a) && seq_geq(a, a));
		CHECK(!seq_lt(a, a) && !seq_gt(a, a));
		CHECK(seq_gt(a, a - 1));
		CHECK(seq_lt(a - 0x7fffffff, a));
		CHECK(seq_max(a, a + 5) == a + 5);
		CHECK(seq_max(a + 5, a) == a + 5);
	}
	/* Across the wrap: 0xfffffff0 is before 0x10. */
	CHECK(seq_lt(0xfffffff0u, 0x10u));
	CHECK(seq_gt(0x10u, 0xfffffff0u));
	/* Delta algebra: (x + d) - d == x for any d. */
	for (i = 0; i < 1000; i++) {
		uint32_t x = rnd(), d = rnd();

		CHECK((uint32_t)(x + d - d) == x);
		CHECK(seq_lt(x, x + 1 + (rnd() & 0x7ffffffe)));
	}
}


/* RFC 8200's pseudo-header, summed here independently of pkt.c. */
static int
tcp6_csum_ok(const uint8_t *ip)
{
	uint32_t	 s = 0;
	size_t		 plen = pkt_get16(ip + 4), i;
	uint8_t		 last[2] = { 0, 0 };

	for (i = 8; i < 40; i += 2)
		s += pkt_get16(ip + i);
	s += (uint32_t)plen + PKT_IPPROTO_TCP;
	for (i = 0; i + 1 < plen; i += 2)
		s += pkt_get16(ip + 40 + i);
	if (plen & 1) {
		last[0] = ip[40 + plen - 1];
		s += pkt_get16(last);
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* IPv6: built and parsed back; a TCP segment must follow the fixed
 * header, extension headers are their own verdict, lengths are checked. */
static void
test_ipv6(void)
{
	struct ipaddr	 c = t_ip6("2001:db8::2"), v = t_ip6("2001:db8:9::1");
	struct ipaddr	 s = t_ip6("fd00:2::1"), v4 = t_ip("10.0.0.2");
	struct pkt_opts	 o;
	uint8_t		 buf[512], b[512];
	struct pkt	 p;
	size_t		 len;

	memset(&o, 0, sizeof(o));
	o.o_mss = 1440;
	len = pkt_build_tcp(buf, sizeof(buf), &c, htons(40000), &v, htons(80),
	    1000, 0, TH_SYN, 65535, &o, "hello", 5, 0);
	CHECK_INTEQ(len, 40 + 24 + 5);
	CHECK_INTEQ(buf[0] >> 4, 6);
	CHECK_INTEQ(pkt_get16(buf + 4), 24 + 5);
	CHECK_INTEQ(buf[6], PKT_IPPROTO_TCP);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_OK);
	CHECK(p.p_v6);
	CHECK_INTEQ(p.p_iphl, 40);
	CHECK_INTEQ(p.p_len, len);
	CHECK_INTEQ(p.p_thl, 24);
	CHECK_INTEQ(p.p_paylen, 5);
	CHECK(addr_eq(&p.p_saddr, &c) && addr_eq(&p.p_daddr, &v));
	CHECK(p.p_sport == htons(40000) && p.p_dport == htons(80));
	CHECK(pkt_tcp_csum_ok(&p));
	CHECK(tcp6_csum_ok(buf));
	/* Families do not mix. */
	CHECK_INTEQ(pkt_build_tcp(b, sizeof(b), &c, 1, &v4, 2, 0, 0, TH_ACK,
	    0, NULL, NULL, 0, 0), 0);

	/* The rewrite of an address keeps the checksum right, and leaves
	 * the (absent) IP header checksum's accumulator alone. */
	{
		struct csum_acc	 ipa, tha;

		csum_acc_init(&ipa, 0x1234);
		csum_acc_init(&tha, pkt_get16(p.p_tcp + TCP_OFF_CSUM));
		pkt_set_addr(&ipa, &tha, &p, 1, &s);
		pkt_put16(p.p_tcp + TCP_OFF_CSUM, csum_acc_fold(&tha));
		CHECK_INTEQ(csum_acc_fold(&ipa), 0x1234);
		CHECK(addr_eq(&p.p_daddr, &s));
		CHECK(memcmp(buf + 24, s.a_w, 16) == 0);
		CHECK(tcp6_csum_ok(buf));
		CHECK(pkt_tcp_csum_ok(&p));
	}

	/* Lengths: the payload length must fit what was read; bytes after
	 * it are ignored. */
	CHECK_INTEQ(pkt_parse(&p, buf, len - 1), PKT_TRUNCATED);
	CHECK_INTEQ(pkt_parse(&p, buf, 39), PKT_TRUNCATED);
	CHECK_INTEQ(pkt_parse(&p, buf, len + 3), PKT_OK);
	CHECK_INTEQ(p.p_len, len);
	memcpy(b, buf, len);
	pkt_put16(b + 4, 19);				/* shorter than TCP */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_TRUNCATED);
	memcpy(b, buf, len);
	b[40 + TCP_OFF_DOFF] = 0xf0;			/* past the segment */
	CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_TCP_OFF);

	/* Addresses no TCP peer across a network has, either way:
	 * IPv4-mapped (the daemon holds IPv4 addresses so: the packet would
	 * pass for an IPv4 one), multicast, link-local, unspecified,
	 * loopback. */
	{
		static const struct {
			int		 off;
			const char	*a;
		} bad[] = {
			{ 8, "::ffff:10.0.0.2" }, { 24, "::ffff:10.9.0.1" },
			{ 24, "ff02::1" }, { 8, "ff0e::1" },
			{ 8, "fe80::2" }, { 24, "fe80::1" }, { 24, "febf::1" },
			{ 8, "::" }, { 24, "::" }, { 8, "::1" }, { 24, "::1" },
		};
		struct ipaddr	 x;
		size_t		 i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memcpy(b, buf, len);
			x = t_ip6(bad[i].a);
			memcpy(b + bad[i].off, x.a_w, 16);
			CHECK_INTEQ(pkt_parse(&p, b, len), PKT_BAD_ADDR);
		}
		/* ... but fec0::/10, just past link-local, and ::2, just
		 * past loopback, are parsed. */
		memcpy(b, buf, len);
		x = t_ip6("fec0::1");
		memcpy(b + 8, x.a_w, 16);
		x = t_ip6("::2");
		memcpy(b + 24, x.a_w, 16);
		CHECK_INTEQ(pkt_parse(&p, b, len), PKT_OK);
	}

	/* Every extension header, fragments included, is refused. */
	{
		static const uint8_t ext[] = { 0, 43, 44, 50, 51, 60, 135,
		    139, 140, 253, 254 };
		size_t	 i;

		for (i = 0; i < sizeof(ext); i++) {
			memcpy(b, buf, len);
			b[6] = ext[i];
			CHECK_INTEQ(pkt_parse(&p, b, len), PKT_IPV6_EXT);
		}
		memcpy(b, buf, len);
		b[6] = 17;				/* UDP */
		CHECK_INTEQ(pkt_parse(&p, b, len), PKT_NOT_TCP);
		CHECK(addr_eq(&p.p_saddr, &c));
	}
}

/* ICMPv6 packet too big about a segment the VIP sent to the client,
 * readdressed to the stack about the stack's segment (RFC 4443: its
 * checksum covers the outer addresses). */
static void
test_icmp6(void)
{
	struct ipaddr	 c = t_ip6("2001:db8::2"), v = t_ip6("2001:db8:9::1");
	struct ipaddr	 r = t_ip6("2001:db8:ff::1"), s = t_ip6("fd00:2::1");
	uint8_t		 seg[128], buf[256];
	struct pkt	 p;
	struct pkt_icmp	 ic;
	size_t		 n, len, i;
	uint32_t	 sum;

	n = pkt_build_tcp(seg, sizeof(seg), &v, htons(80), &c, htons(40000),
	    5000, 1, TH_ACK, 100, NULL, "0123456789", 10, 0);
	CHECK(n > 0);
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x60;
	pkt_put16(buf + 4, (uint16_t)(8 + n));
	buf[6] = PKT_IPPROTO_ICMPV6;
	buf[7] = 64;
	memcpy(buf + 8, r.a_w, 16);
	memcpy(buf + 24, v.a_w, 16);
	buf[40] = ICMP6_PACKET_TOO_BIG;
	pkt_put32(buf + 44, 1280);
	memcpy(buf + 48, seg, n);
	len = 48 + n;
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	CHECK_INTEQ(ic.ic_type, ICMP6_PACKET_TOO_BIG);
	CHECK(addr_eq(&ic.ic_isrc, &v) && addr_eq(&ic.ic_idst, &c));
	CHECK(ic.ic_isport == htons(80) && ic.ic_idport == htons(40000));
	CHECK_INTEQ(ic.ic_iseq, 5000);

	pkt_icmp_rewrite(&p, &ic, &v, &s, &s, htons(8080), 5000 - 77);
	CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	CHECK(addr_eq(&p.p_saddr, &v) && addr_eq(&p.p_daddr, &s));
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	CHECK(addr_eq(&ic.ic_isrc, &s) && ic.ic_isport == htons(8080));
	CHECK_INTEQ(ic.ic_iseq, 5000 - 77);
	CHECK_INTEQ(pkt_get32(buf + 44), 1280);		/* the MTU kept */
	sum = (uint32_t)(len - 40) + PKT_IPPROTO_ICMPV6;
	for (i = 8; i < len; i += 2)
		sum += i + 1 < len ? pkt_get16(buf + i) :
		    (uint32_t)buf[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	CHECK_INTEQ(sum, 0xffff);
	CHECK(pkt_icmp_csum_ok(&p));
	buf[60] ^= 0x80;
	CHECK(!pkt_icmp_csum_ok(&p));
	pkt_icmp_csum(&p);
	CHECK(pkt_icmp_csum_ok(&p));
	buf[60] ^= 0x80;
	pkt_icmp_csum(&p);

	/* A quote of an IPv4-mapped address: nothing (it would name an
	 * IPv4 flow). */
	{
		uint8_t		 q[256];
		struct ipaddr	 m = t_ip6("::ffff:10.9.0.1");

		memcpy(q, buf, len);
		memcpy(q + 48 + 8, m.a_w, 16);
		CHECK_INTEQ(pkt_parse(&p, q, len), PKT_NOT_TCP);
		CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
		CHECK_INTEQ(pkt_parse(&p, buf, len), PKT_NOT_TCP);
	}

	/* Not an error about TCP, or an echo: nothing. */
	buf[40] = 128;
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
	buf[40] = ICMP6_UNREACH;
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), 0);
	buf[48 + 6] = 17;
	CHECK_INTEQ(pkt_icmp_parse(&p, &ic), -1);
}

int
main(void)
{
	t_start(60);
	test_parse_good();
	test_icmp();
	test_ipv6();
	test_icmp6();
	test_parse_truncated();
	test_parse_malformed();
	test_opts_malformed();
	test_opts_roundtrip();
	test_csum_incremental();
	test_csum_preserves_error();
	test_serial();
	return t_done("test_pkt");
}

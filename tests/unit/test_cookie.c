/*
 * SYN cookies: what a cookie remembers comes back intact, with the options
 * in the ISN or, with timestamps, in the TSval; a cookie is refused for
 * another 4-tuple, another client ISN, another key, another window shift
 * offered, or after two periods,
 * across the millisecond clock's wrap too; guessed cookies almost never
 * pass (24 bits, 32 with timestamps).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "pkt.h"
#include "sipkey.h"
#include "handoff/cookie.h"
#include "t.h"

static uint32_t t_rng = 99;

static uint32_t
rnd(void)
{
	t_rng ^= t_rng << 13;
	t_rng ^= t_rng >> 17;
	t_rng ^= t_rng << 5;
	return t_rng;
}

/* The cookie for o, checked as an ACK would bring it back. */
static int
roundtrip(struct sipkey *k, uint32_t cisn, const struct cookie_opts *o,
    uint32_t made, uint32_t checked, struct cookie_opts *got)
{
	struct ipaddr	 c = t_ip("10.0.0.2"), v = t_ip("10.9.0.1");
	uint32_t	 isn, tsval = 0, ts_off = 1;
	int		 r;

	CHECK_INTEQ(cookie_make(k, &c, &v, htons(40000), htons(80), cisn, made,
	    o, &isn, &ts_off), 0);
	/* The connection's clock, ahead if at all; not the ISN's bits. */
	if (o->co_ts) {
		tsval = cookie_tsval(made + ts_off, o);
		CHECK(seq_gt(tsval, made + ts_off));
		CHECK(seq_gt(made + ts_off + 512, tsval));
		CHECK(ts_off != isn);
	}
	r = cookie_check(k, &c, &v, htons(40000), htons(80), cisn, isn,
	    checked, o->co_ts ? &tsval : NULL, &o->co_fws, 1, got);
	/* The ACK finds the offset the SYN/ACK had. */
	if (r == 0 && o->co_ts)
		CHECK_INTEQ(got->co_ts_off, ts_off);
	return r;
}

static void
test_options(struct sipkey *k)
{
	struct cookie_opts	 o, got;
	int			 i;
	static const uint16_t mss_in[] = { 100, 536, 1000, 1220, 1300, 1440,
	    1450, 1460, 9000 };
	static const uint16_t mss_out[] = { 536, 536, 536, 1220, 1220, 1440,
	    1440, 1460, 1460 };

	for (i = 0; i < 9 * 16 * 4; i++) {
		memset(&o, 0, sizeof(o));
		o.co_mss = mss_in[i % 9];
		o.co_has_ws = (i / 9) % 16 != 15;
		o.co_ws = o.co_has_ws ? (i / 9) % 16 : 0;
		o.co_sack = (i / 144) & 1;
		o.co_ts = (i / 288) & 1;
		o.co_fws = i % 15;
		CHECK_INTEQ(roundtrip(k, 12345 + i, &o, 100000, 100000, &got),
		    0);
		CHECK_INTEQ(got.co_mss, mss_out[i % 9]);
		CHECK_INTEQ(got.co_has_ws, o.co_has_ws);
		CHECK_INTEQ(got.co_ws, o.co_has_ws ? (o.co_ws > 14 ? 14 :
		    o.co_ws) : 0);
		CHECK_INTEQ(got.co_sack, o.co_sack);
		CHECK_INTEQ(got.co_ts, o.co_ts);
		CHECK_INTEQ(got.co_fws, o.co_has_ws ? o.co_fws : 0);
	}
}

/* The shift the SYN/ACK offered is the MAC's: a cookie passes only with
 * it among those tried, and says which it was, so that a reload changing
 * the shift does not change it under a client that scales by the old one.
 * A client that offered no scaling was offered none: any shift passes. */
static void
test_shift(struct sipkey *k)
{
	struct ipaddr		 c = t_ip("10.0.0.2"), v = t_ip("10.9.0.1");
	struct cookie_opts	 o, got;
	uint32_t		 isn, tsval = 0, ts_off;
	const uint8_t		 now7[] = { 7 }, now2[] = { 2 };
	const uint8_t		 both[] = { 2, 7 };
	int			 ts;

	for (ts = 0; ts < 2; ts++) {
		memset(&o, 0, sizeof(o));
		o.co_mss = 1460;
		o.co_has_ws = 1;
		o.co_ws = 9;
		o.co_ts = ts;
		o.co_fws = 7;
		CHECK_INTEQ(cookie_make(k, &c, &v, 1, 2, 5, 100000, &o, &isn,
		    &ts_off), 0);
		tsval = cookie_tsval(100000 + ts_off, &o);
		CHECK_INTEQ(cookie_check(k, &c, &v, 1, 2, 5, isn, 100000,
		    ts ? &tsval : NULL, now2, 1, &got), -1);
		CHECK_INTEQ(cookie_check(k, &c, &v, 1, 2, 5, isn, 100000,
		    ts ? &tsval : NULL, both, 2, &got), 0);
		CHECK_INTEQ(got.co_fws, 7);
		CHECK_INTEQ(got.co_ws, 9);
		CHECK_INTEQ(cookie_check(k, &c, &v, 1, 2, 5, isn, 100000,
		    ts ? &tsval : NULL, now7, 1, &got), 0);
		CHECK_INTEQ(got.co_fws, 7);
		o.co_has_ws = 0;
		CHECK_INTEQ(cookie_make(k, &c, &v, 1, 2, 5, 100000, &o, &isn,
		    &ts_off), 0);
		tsval = cookie_tsval(100000 + ts_off, &o);
		CHECK_INTEQ(cookie_check(k, &c, &v, 1, 2, 5, isn, 100000,
		    ts ? &tsval : NULL, now2, 1, &got), 0);
		CHECK_INTEQ(got.co_has_ws, 0);
	}
}

/* Each connection's timestamp clock has an offset of its own, all 32 bits
 * of it, not the ISN's: 16 SYNs at one instant get 16 offsets, each the
 * same when made again. */
static void
test_ts_offsets(struct sipkey *k)
{
	struct ipaddr		 c = t_ip("10.0.0.2"), v = t_ip("10.9.0.1");
	struct cookie_opts	 o;
	uint32_t		 isn, off[16], again, low = 0;
	int			 i, same = 0;

	memset(&o, 0, sizeof(o));
	o.co_mss = 1460;
	o.co_ts = 1;
	for (i = 0; i < 16; i++) {
		CHECK_INTEQ(cookie_make(k, &c, &v, htons(40000), htons(80),
		    1000 + (uint32_t)i, 5000, &o, &isn, &off[i]), 0);
		CHECK(off[i] != isn);
		CHECK_INTEQ(cookie_make(k, &c, &v, htons(40000), htons(80),
		    1000 + (uint32_t)i, 5001, &o, &isn, &again), 0);
		CHECK_INTEQ(again, off[i]);
		same += i > 0 && off[i] == off[0];
		low |= off[i] & 0xff;
	}
	CHECK(same < 15);
	CHECK(low != 0);
	/* The byte above the clock, the options in the byte below. */
	CHECK_INTEQ(cookie_tsval(5000, &o), 5120 | 0x80 | 3 | 15 << 2);
	CHECK_INTEQ(cookie_tsval(0xffffff00, &o), 0x80 | 3 | 15 << 2);
}

/* Periods of 8.192 s: good in its own and the next, across the wrap. */
static void
test_time(struct sipkey *k)
{
	struct cookie_opts	 o, got;
	uint32_t		 t;
	int			 ts;

	for (ts = 0; ts < 2; ts++) {
		memset(&o, 0, sizeof(o));
		o.co_mss = 1460;
		o.co_ts = ts;
		CHECK_INTEQ(roundtrip(k, 7, &o, 100000, 100000 + 8192, &got),
		    0);
		CHECK_INTEQ(roundtrip(k, 7, &o, 100000, 100000 + 20000, &got),
		    -1);
		t = 0xffffffffu - 1000;		/* the last period */
		CHECK_INTEQ(roundtrip(k, 7, &o, t, t + 5000, &got), 0);
		CHECK_INTEQ(roundtrip(k, 7, &o, t, t + 9000, &got), 0);
		CHECK_INTEQ(roundtrip(k, 7, &o, t, t + 10000, &got), -1);
		CHECK_INTEQ(roundtrip(k, 7, &o, t, t + 140000, &got), -1);
	}
}

/* A client's network for the replay set's shares (replay.h): its /24 or
 * /48, keyed. */
static void
test_source(struct sipkey *k, struct sipkey *k2)
{
	struct ipaddr	 a = t_ip("10.0.0.2"), b = t_ip("10.0.0.250");
	struct ipaddr	 d = t_ip("10.0.1.2");
	struct ipaddr	 a6, b6, d6;
	uint32_t	 sa, sb, sd, s2;
	int		 i, same = 0;

	CHECK_INTEQ(cookie_source(k, &a, &sa), 0);
	CHECK_INTEQ(cookie_source(k, &b, &sb), 0);
	CHECK_INTEQ(cookie_source(k, &d, &sd), 0);
	CHECK_INTEQ(cookie_source(k2, &a, &s2), 0);
	CHECK_INTEQ(sa, sb);
	CHECK(sa != sd);
	CHECK(sa != s2);	/* another daemon's key, another bucket */
	inet_pton(AF_INET6, "2001:db8:1:ffff::1", a6.a_w);
	inet_pton(AF_INET6, "2001:db8:1:2::99", b6.a_w);
	inet_pton(AF_INET6, "2001:db8:2::1", d6.a_w);
	CHECK_INTEQ(cookie_source(k, &a6, &sa), 0);
	CHECK_INTEQ(cookie_source(k, &b6, &sb), 0);
	CHECK_INTEQ(cookie_source(k, &d6, &sd), 0);
	CHECK_INTEQ(sa, sb);
	CHECK(sa != sd);
	/* Networks spread over the buckets: 256 /24s, few collisions. */
	for (i = 1; i < 256; i++) {
		d = t_ip("10.0.0.0");
		d.a_w[3] = htonl(0x0a000000u | (uint32_t)i << 8);
		CHECK_INTEQ(cookie_source(k, &d, &sd), 0);
		CHECK_INTEQ(cookie_source(k, &a, &sa), 0);
		same += sd % 1024 == sa % 1024;
	}
	CHECK(same < 5);
}

/* What an ACK brings back to a front-end that offered a shift of 7. */
static int
check(struct sipkey *k, const struct ipaddr *c, const struct ipaddr *v,
    uint16_t cp, uint16_t vp, uint32_t cisn, uint32_t isn, uint32_t now,
    const uint32_t *tsecr, struct cookie_opts *got)
{
	static const uint8_t	 fws = 7;

	return cookie_check(k, c, v, cp, vp, cisn, isn, now, tsecr, &fws, 1,
	    got);
}

int
main(void)
{
	struct sipkey	*k, *k2;
	struct cookie_opts	 o, got;
	struct ipaddr		 c = t_ip("10.0.0.2"), c1 = t_ip("10.0.0.3");
	struct ipaddr		 v = t_ip("10.9.0.1"), v1 = t_ip("10.9.0.2");
	struct ipaddr		 c6 = c;
	uint16_t		 cp = htons(40000), vp = htons(80);
	uint32_t		 isn, tsval, ts_off, now = 100000, t;
	int			 i, passed = 0;

	t_start(60);
	CHECK((k = sipkey_new()) != NULL);
	CHECK((k2 = sipkey_new()) != NULL);
	test_options(k);
	test_time(k);
	test_shift(k);
	test_ts_offsets(k);
	test_source(k, k2);

	memset(&o, 0, sizeof(o));
	o.co_mss = 1460;
	CHECK_INTEQ(cookie_make(k, &c, &v, cp, vp, 777, now, &o, &isn, &ts_off),
	    0);
	/* Any other tuple, client ISN, or key: refused. */
	CHECK_INTEQ(check(k, &c1, &v, cp, vp, 777, isn, now, NULL, &got), -1);
	/* The whole address counts: an IPv6 client whose last word is the
	 * IPv4 client's. */
	c6.a_w[0] = htonl(0x20010db8);
	CHECK_INTEQ(check(k, &c6, &v, cp, vp, 777, isn, now, NULL, &got), -1);
	CHECK_INTEQ(check(k, &c, &v1, cp, vp, 777, isn, now, NULL, &got), -1);
	CHECK_INTEQ(check(k, &c, &v, cp + 1, vp, 777, isn, now, NULL, &got),
	    -1);
	CHECK_INTEQ(check(k, &c, &v, cp, vp + 1, 777, isn, now, NULL, &got),
	    -1);
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 778, isn, now, NULL, &got), -1);
	CHECK_INTEQ(check(k2, &c, &v, cp, vp, 777, isn, now, NULL, &got), -1);
	/* Tampered option bits are caught like any other change; a TSecr
	 * the client makes up does not move options out of the ISN. */
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 777, isn ^ 0x40, now, NULL, &got),
	    -1);
	t = rnd() | 0x80;
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 777, isn, now, &t, &got), 0);
	CHECK_INTEQ(got.co_ts, 0);
	/* An ISN that claims timestamps was never made without them. */
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 777, isn | 0x80, now, NULL, &got),
	    -1);
	o.co_ts = 1;
	CHECK_INTEQ(cookie_make(k, &c, &v, cp, vp, 777, now, &o, &isn, &ts_off),
	    0);
	tsval = cookie_tsval(now + ts_off, &o);
	t = tsval ^ 0x40;
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 777, isn, now, &t, &got), -1);
	CHECK_INTEQ(check(k, &c, &v, cp, vp, 777, isn, now, NULL, &got), -1);
	/*
	 * Guesses: each passes with 1 chance in 2^24 (in the ISN) or 2^32
	 * (with timestamps), and the key is random, so 20000 of each expect
	 * 0.0012 passes.  More than 3 would happen by chance once in 10^13
	 * runs; a weaker MAC passes hundreds.
	 */
	for (i = 0; i < 20000; i++) {
		if (check(k, &c, &v, cp, vp, 777, rnd(), now, NULL, &got) == 0)
			passed++;
		t = tsval;
		if (check(k, &c, &v, cp, vp, 777, rnd(), now, &t, &got) == 0)
			passed++;
	}
	CHECK(passed <= 3);
	sipkey_free(k);
	sipkey_free(k2);
	return t_done("test_cookie");
}

/*
 * SYN cookies: what a cookie remembers comes back intact; a cookie is
 * refused for another 4-tuple, another client ISN, or after two periods;
 * guessed cookies almost never pass (24 bits).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

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

int
main(void)
{
	struct cookie_key	*k, *k2;
	struct cookie_opts	 o, got;
	uint32_t		 c = inet_addr("10.0.0.2"), v = inet_addr("10.9.0.1");
	uint16_t		 cp = htons(40000), vp = htons(80);
	uint32_t		 isn, now = 100000;
	int			 i, passed = 0;
	static const uint16_t mss_in[] = { 100, 536, 1000, 1220, 1300, 1440,
	    1450, 1460, 9000 };
	static const uint16_t mss_out[] = { 536, 536, 536, 1220, 1220, 1440,
	    1440, 1460, 1460 };

	t_start(60);
	CHECK((k = cookie_key_new()) != NULL);
	CHECK((k2 = cookie_key_new()) != NULL);

	/* Every option combination round-trips. */
	for (i = 0; i < 9 * 16 * 4; i++) {
		memset(&o, 0, sizeof(o));
		o.co_mss = mss_in[i % 9];
		o.co_has_ws = (i / 9) % 16 != 15;
		o.co_ws = o.co_has_ws ? (i / 9) % 16 : 0;
		o.co_sack = (i / 144) & 1;
		o.co_ts = (i / 288) & 1;
		isn = cookie_make(k, c, v, cp, vp, 12345 + i, now, &o);
		CHECK_INTEQ(cookie_check(k, c, v, cp, vp, 12345 + i, isn, now,
		    &got), 0);
		CHECK_INTEQ(got.co_mss, mss_out[i % 9]);
		CHECK_INTEQ(got.co_has_ws, o.co_has_ws);
		CHECK_INTEQ(got.co_ws, o.co_has_ws ? (o.co_ws > 14 ? 14 :
		    o.co_ws) : 0);
		CHECK_INTEQ(got.co_sack, o.co_sack);
		CHECK_INTEQ(got.co_ts, o.co_ts);
	}

	memset(&o, 0, sizeof(o));
	o.co_mss = 1460;
	isn = cookie_make(k, c, v, cp, vp, 777, now, &o);
	/* Next period: still good.  Two periods on: expired. */
	CHECK_INTEQ(cookie_check(k, c, v, cp, vp, 777, isn, now + 64, &got), 0);
	CHECK_INTEQ(cookie_check(k, c, v, cp, vp, 777, isn, now + 130, &got),
	    -1);
	/* Any other tuple, client ISN, or key: refused. */
	CHECK_INTEQ(cookie_check(k, c + 1, v, cp, vp, 777, isn, now, &got), -1);
	CHECK_INTEQ(cookie_check(k, c, v + 1, cp, vp, 777, isn, now, &got), -1);
	CHECK_INTEQ(cookie_check(k, c, v, cp + 1, vp, 777, isn, now, &got), -1);
	CHECK_INTEQ(cookie_check(k, c, v, cp, vp + 1, 777, isn, now, &got), -1);
	CHECK_INTEQ(cookie_check(k, c, v, cp, vp, 778, isn, now, &got), -1);
	CHECK_INTEQ(cookie_check(k2, c, v, cp, vp, 777, isn, now, &got), -1);
	/* Tampered option bits are caught like any other change. */
	CHECK_INTEQ(cookie_check(k, c, v, cp, vp, 777, isn ^ 0x40, now, &got),
	    -1);
	/*
	 * Guesses: each passes with 1 chance in 2^24, and the key is random,
	 * so 20000 guesses expect 0.0012 passes.  More than 3 would happen by
	 * chance once in 10^13 runs; a weaker MAC passes hundreds.
	 */
	for (i = 0; i < 20000; i++)
		if (cookie_check(k, c, v, cp, vp, 777, rnd(), now, &got) == 0)
			passed++;
	CHECK(passed <= 3);
	cookie_key_free(k);
	cookie_key_free(k2);
	return t_done("test_cookie");
}

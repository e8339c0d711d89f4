/*
 * The token bucket (budget.h): a second's worth at first and at most,
 * exactly rate a second however often it is asked (a rate that is not a
 * multiple of 1000 included), and a clock that wraps.
 */
#include <stdint.h>
#include <string.h>

#include "budget.h"
#include "t.h"

/* Tokens taken from b at time now, asking until it says no. */
static unsigned int
drain(struct budget *b, uint32_t rate, uint32_t now)
{
	unsigned int	 n = 0;

	while (budget_take(b, rate, now))
		n++;
	return n;
}

static void
test_rate(uint32_t rate, uint32_t t0)
{
	struct budget	 b;
	unsigned int	 n = 0;
	uint32_t	 ms;

	memset(&b, 0, sizeof(b));
	CHECK_INTEQ(drain(&b, rate, t0), rate);
	/* Asked every millisecond, many times, for ten seconds: rate a
	 * second, to the token. */
	for (ms = 1; ms <= 10000; ms++)
		n += drain(&b, rate, t0 + ms);
	CHECK_INTEQ(n, 10 * rate);
	/* Idle for a minute: a second's worth, no more. */
	CHECK_INTEQ(drain(&b, rate, t0 + 70000), rate);
}

int
main(void)
{
	t_start(60);
	test_rate(1000, 5);
	test_rate(1001, 5);
	test_rate(1500, 0xfffff000u);	/* the clock wraps */
	test_rate(3, 7);
	test_rate(999999, 11);
	return t_done("test_budget");
}

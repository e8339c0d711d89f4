/*
 * A token bucket: rate tokens a second, at most a second's worth saved.
 * Kept in thousandths of a token, so that any rate pays out exactly,
 * however often it is asked.  Pure: the caller gives the clock (ms).
 */
#ifndef HANDOFFD_BUDGET_H
#define HANDOFFD_BUDGET_H

#include <stdint.h>

struct budget {
	uint64_t	 b_milli;	/* thousandths of a token */
	uint32_t	 b_t;		/* ms, last filled */
	int		 b_started;
};

/* Takes a token if there is one: 1, else 0. */
static inline int
budget_take(struct budget *b, uint32_t rate, uint32_t now)
{
	uint64_t	 cap = (uint64_t)rate * 1000;

	if (!b->b_started) {
		b->b_started = 1;
		b->b_milli = cap;
	} else
		b->b_milli += (uint64_t)(uint32_t)(now - b->b_t) * rate;
	b->b_t = now;
	if (b->b_milli > cap)
		b->b_milli = cap;
	if (b->b_milli < 1000)
		return 0;
	b->b_milli -= 1000;
	return 1;
}

#endif

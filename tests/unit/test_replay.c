/*
 * The set of cookies that opened a connection: each opens one while it is
 * good, generations pass with the periods (across the 16-bit wrap), and a
 * full set refuses rather than forgets.
 */
#include <stdint.h>

#include "handoff/replay.h"
#include "t.h"

static void
test_once(void)
{
	struct replay	*r;
	uint64_t	 id;

	CHECK((r = replay_new(1000)) != NULL);
	for (id = 1; id <= 500; id++) {
		CHECK_INTEQ(replay_check(r, id * 0x9e3779b97f4a7c15ull, 0, 7),
		    REPLAY_NEW);
		replay_add(r, id * 0x9e3779b97f4a7c15ull, 0, 7);
	}
	/* Seen in its period and the next; forgotten in the one after. */
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 0, 7),
	    REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 0, 8),
	    REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 0x1234, 0, 8), REPLAY_NEW);
	replay_add(r, 0x1234, 0, 8);
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 0, 9),
	    REPLAY_NEW);
	CHECK_INTEQ(replay_check(r, 0x1234, 0, 9), REPLAY_SEEN);
	/* A gap of periods forgets everything. */
	CHECK_INTEQ(replay_check(r, 0x1234, 0, 12), REPLAY_NEW);
	/* Id 0 is a valid id, not an empty slot. */
	replay_add(r, 0, 0, 12);
	CHECK_INTEQ(replay_check(r, 0, 0, 12), REPLAY_SEEN);
	replay_free(r);
}

static void
test_wrap(void)
{
	struct replay	*r;

	CHECK((r = replay_new(16)) != NULL);
	replay_add(r, 42, 0, 0xffff);
	CHECK_INTEQ(replay_check(r, 42, 0, 0), REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 42, 0, 1), REPLAY_NEW);
	replay_free(r);
}

static void
test_full(void)
{
	struct replay	*r;
	uint64_t	 id;

	CHECK((r = replay_new(100)) != NULL);
	for (id = 1; id <= 100; id++) {
		CHECK_INTEQ(replay_check(r, id, (uint32_t)id, 3), REPLAY_NEW);
		replay_add(r, id, (uint32_t)id, 3);
	}
	/* Each from a network of its own.  Full: new ones are refused, seen
	 * ones still seen. */
	CHECK_INTEQ(replay_check(r, 1000, 1000, 3), REPLAY_FULL);
	CHECK_INTEQ(replay_check(r, 50, 50, 3), REPLAY_SEEN);
	/* The next period has room again, and still knows the last. */
	CHECK_INTEQ(replay_check(r, 1000, 1000, 4), REPLAY_NEW);
	CHECK_INTEQ(replay_check(r, 50, 50, 4), REPLAY_SEEN);
	replay_free(r);
}

/* One network may fill half a generation; then one that holds a
 * sixteenth of it opens nothing more in the period, others still do, and
 * the next period starts afresh. */
static void
test_busy(void)
{
	struct replay	*r;
	uint64_t	 id;

	CHECK((r = replay_new(1600)) != NULL);
	for (id = 1; id < 800; id++) {
		CHECK_INTEQ(replay_check(r, id, 7, 3), REPLAY_NEW);
		replay_add(r, id, 7, 3);
	}
	/* Half full with the 800th: network 7 is busy from then on, and so
	 * is whoever shares its bucket. */
	CHECK_INTEQ(replay_check(r, 800, 7, 3), REPLAY_NEW);
	replay_add(r, 800, 7, 3);
	CHECK_INTEQ(replay_check(r, 801, 7, 3), REPLAY_BUSY);
	CHECK_INTEQ(replay_check(r, 801, 7 + REPLAY_SOURCES, 3), REPLAY_BUSY);
	CHECK_INTEQ(replay_check(r, 5, 7, 3), REPLAY_SEEN);
	/* Others fill the rest, each below its share. */
	for (id = 1001; id <= 1800; id++) {
		CHECK_INTEQ(replay_check(r, id, (uint32_t)(id % 10 + 100), 3),
		    REPLAY_NEW);
		replay_add(r, id, (uint32_t)(id % 10 + 100), 3);
	}
	CHECK_INTEQ(replay_check(r, 5000, 11, 3), REPLAY_FULL);
	CHECK_INTEQ(replay_check(r, 5000, 7, 4), REPLAY_NEW);
	replay_free(r);
}

int
main(void)
{
	t_start(60);
	test_once();
	test_wrap();
	test_full();
	test_busy();
	return t_done("test_replay");
}

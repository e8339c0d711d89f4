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
		CHECK_INTEQ(replay_check(r, id * 0x9e3779b97f4a7c15ull, 7),
		    REPLAY_NEW);
		replay_add(r, id * 0x9e3779b97f4a7c15ull, 7);
	}
	/* Seen in its period and the next; forgotten in the one after. */
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 7), REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 8), REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 0x1234, 8), REPLAY_NEW);
	replay_add(r, 0x1234, 8);
	CHECK_INTEQ(replay_check(r, 3 * 0x9e3779b97f4a7c15ull, 9), REPLAY_NEW);
	CHECK_INTEQ(replay_check(r, 0x1234, 9), REPLAY_SEEN);
	/* A gap of periods forgets everything. */
	CHECK_INTEQ(replay_check(r, 0x1234, 12), REPLAY_NEW);
	/* Id 0 is a valid id, not an empty slot. */
	replay_add(r, 0, 12);
	CHECK_INTEQ(replay_check(r, 0, 12), REPLAY_SEEN);
	replay_free(r);
}

static void
test_wrap(void)
{
	struct replay	*r;

	CHECK((r = replay_new(16)) != NULL);
	replay_add(r, 42, 0xffff);
	CHECK_INTEQ(replay_check(r, 42, 0), REPLAY_SEEN);
	CHECK_INTEQ(replay_check(r, 42, 1), REPLAY_NEW);
	replay_free(r);
}

static void
test_full(void)
{
	struct replay	*r;
	uint64_t	 id;

	CHECK((r = replay_new(100)) != NULL);
	for (id = 1; id <= 100; id++) {
		CHECK_INTEQ(replay_check(r, id, 3), REPLAY_NEW);
		replay_add(r, id, 3);
	}
	/* Full: new ones are refused, seen ones still seen. */
	CHECK_INTEQ(replay_check(r, 1000, 3), REPLAY_FULL);
	CHECK_INTEQ(replay_check(r, 50, 3), REPLAY_SEEN);
	/* The next period has room again, and still knows the last. */
	CHECK_INTEQ(replay_check(r, 1000, 4), REPLAY_NEW);
	CHECK_INTEQ(replay_check(r, 50, 4), REPLAY_SEEN);
	replay_free(r);
}

int
main(void)
{
	t_start(60);
	test_once();
	test_wrap();
	test_full();
	return t_done("test_replay");
}

/* Flow table: insert, lookup, remove, capacity, handles, expiry. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "t.h"

static const struct flow_ops ops = { "test", NULL, 0, NULL, NULL, NULL,
    NULL, NULL };

static struct flow_key
key(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.k_raddr = 0x0a000000u + (i >> 10);	/* many clients, many ports */
	k.k_rport = (uint16_t)(1024 + (i & 1023));
	k.k_laddr = 0x0a090001u;
	k.k_lport = 80;
	return k;
}

static void
test_insert_lookup_remove(void)
{
	struct flow_table	*t = flow_table_new(5000);
	struct flow_key		 k;
	struct flow		*f;
	uint32_t		 i;

	CHECK(t != NULL);
	for (i = 0; i < 5000; i++) {
		k = key(i);
		f = flow_insert(t, &k, 1, &ops);
		CHECK(f != NULL);
		f->f_delta = i;
	}
	CHECK_INTEQ(flow_count(t), 5000);
	/* Full: a new key is refused with ENOSPC, the table does not grow. */
	k = key(5000);
	errno = 0;
	CHECK(flow_insert(t, &k, 1, &ops) == NULL && errno == ENOSPC);
	/* A present key is refused with EEXIST. */
	k = key(42);
	errno = 0;
	CHECK(flow_insert(t, &k, 1, &ops) == NULL && errno == EEXIST);
	for (i = 0; i < 5000; i++) {
		k = key(i);
		f = flow_lookup(t, &k);
		CHECK(f != NULL && f->f_delta == i);
	}
	k = key(5001);
	CHECK(flow_lookup(t, &k) == NULL);
	/* Remove every other flow; the rest stay reachable. */
	for (i = 0; i < 5000; i += 2) {
		k = key(i);
		flow_remove(t, flow_lookup(t, &k));
	}
	CHECK_INTEQ(flow_count(t), 2500);
	for (i = 0; i < 5000; i++) {
		k = key(i);
		f = flow_lookup(t, &k);
		CHECK((i % 2 == 0) == (f == NULL));
		if (f != NULL)
			CHECK_INTEQ(f->f_delta, i);
	}
	/* Freed slots are reused. */
	for (i = 10000; i < 12500; i++) {
		k = key(i);
		CHECK(flow_insert(t, &k, 1, &ops) != NULL);
	}
	CHECK_INTEQ(flow_count(t), 5000);
	flow_table_free(t);
}

static void
test_handles(void)
{
	struct flow_table	*t = flow_table_new(4);
	struct flow_key		 k = key(1), k2 = key(2);
	struct flow		*f, *g;
	uint64_t		 h;

	f = flow_insert(t, &k, 0, &ops);
	h = flow_handle(t, f);
	CHECK(flow_by_handle(t, h) == f);
	flow_remove(t, f);
	CHECK(flow_by_handle(t, h) == NULL);
	/* The same slot reused for another flow: the old handle misses. */
	g = flow_insert(t, &k2, 0, &ops);
	CHECK(g == f);
	CHECK(flow_by_handle(t, h) == NULL);
	CHECK(flow_by_handle(t, flow_handle(t, g)) == g);
	CHECK(flow_by_handle(t, (uint64_t)1 << 32 | 99) == NULL);
	flow_table_free(t);
}

struct expired {
	struct flow_table	*t;
	unsigned int		 n;
};

static void
on_expire(struct flow *f, void *arg)
{
	struct expired *e = arg;

	e->n++;
	flow_remove(e->t, f);
}

/* Expiry across the 32-bit wrap of the millisecond clock. */
static void
test_expire(void)
{
	struct flow_table	*t = flow_table_new(1000);
	struct expired		 e = { t, 0 };
	uint32_t		 now = 0xfffff000u, i;
	struct flow_key		 k;
	struct flow		*f;

	for (i = 0; i < 1000; i++) {
		k = key(i);
		f = flow_insert(t, &k, now, &ops);
		f->f_timeout = i < 500 ? 1000 : 100000;
	}
	/* Not yet: nothing expires, however much is scanned. */
	CHECK_INTEQ(flow_expire(t, now + 1000, 5000, on_expire, &e), 0);
	/* The clock wraps; the short half expires, over several budgets. */
	now += 0x2000;
	for (i = 0; i < 10; i++)
		flow_expire(t, now, 100, on_expire, &e);
	CHECK_INTEQ(e.n, 500);
	CHECK_INTEQ(flow_count(t), 500);
	/* A touched flow lives on. */
	k = key(700);
	flow_touch(flow_lookup(t, &k), now + 99000);
	e.n = 0;
	flow_expire(t, now + 100001, 1000, on_expire, &e);
	CHECK_INTEQ(e.n, 499);
	CHECK(flow_lookup(t, &k) != NULL);
	flow_table_free(t);
}

static void
test_bad_size(void)
{
	CHECK(flow_table_new(0) == NULL);
	CHECK(flow_table_new(1u << 30) == NULL);
}

int
main(void)
{
	t_start(60);
	test_insert_lookup_remove();
	test_handles();
	test_expire();
	test_bad_size();
	return t_done("test_flow");
}

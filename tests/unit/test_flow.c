/* Flow table: insert, lookup, remove, capacity, handles, expiry, and the
 * adoption of another process's slots. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "t.h"

static const struct flow_ops ops = { "test", 1, NULL, 0, NULL, NULL, NULL,
    NULL, NULL, NULL };

static struct flow_key
key(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.k_raddr = addr4(0x0a000000u + (i >> 10)); /* many clients, ports */
	k.k_rport = (uint16_t)(1024 + (i & 1023));
	k.k_laddr = addr4(0x0a090001u);
	k.k_lport = 80;
	return k;
}

static void
test_insert_lookup_remove(void)
{
	struct flow_table	*t = flow_table_new(5000, NULL);
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
	struct flow_table	*t = flow_table_new(4, NULL);
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
	struct flow_table	*t = flow_table_new(1000, NULL);
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

struct adopted {
	int	 n;
	int	 lost;
	int	 drop;	/* remove the flows cb sees */
	struct flow_table *t;
};

static void
on_adopt(struct flow *f, int lost, void *arg)
{
	struct adopted *a = arg;

	a->n++;
	a->lost += lost;
	CHECK(f->f_ctx == NULL);
	if (a->drop)
		flow_remove(a->t, f);
}

/*
 * A table over given slots takes them as free until it adopts them; the
 * next process's table (a copy of the slots) finds the flows by key and
 * by handle, drops those of an unknown owner, of a clock ahead of its own
 * and duplicates, tells which had slow-path state, and frees the rest
 * with generations that no old handle matches.
 */
static void
test_adopt(void)
{
	static const struct flow_ops *const owners[] = { NULL, &ops };
	struct flow		*slots = calloc(64, sizeof(*slots));
	struct flow		*copy = calloc(64, sizeof(*slots));
	struct flow_table	*t = flow_table_new(64, slots), *t2;
	struct flow_key		 k;
	struct flow		*f, *g;
	struct adopted		 a;
	uint64_t		 h[40], hfree;
	uint32_t		 i;
	int			 dummy;

	CHECK(t != NULL);
	for (i = 0; i < 40; i++) {
		k = key(i);
		CHECK((f = flow_insert(t, &k, 1000, &ops)) != NULL);
		f->f_delta = 7 * i;
		h[i] = flow_handle(t, f);
	}
	k = key(39);
	f = flow_lookup(t, &k);
	hfree = h[39];
	flow_remove(t, f);		/* a freed slot stays free */
	k = key(1);
	flow_lookup(t, &k)->f_ctx = &dummy;
	k = key(2);
	flow_lookup(t, &k)->f_owner = 2;	/* no such owner now */
	k = key(3);
	flow_lookup(t, &k)->f_last = 900000;	/* another boot's clock */
	/* a slot torn mid-insert: a second flow with key 4 */
	k = key(4);
	f = flow_lookup(t, &k);
	g = &slots[63];
	CHECK(g->f_ops == NULL);
	*g = *f;
	memcpy(copy, slots, 64 * sizeof(*slots));
	flow_table_free(t);		/* the slots are not its to free */

	t2 = flow_table_new(64, copy);
	memset(&a, 0, sizeof(a));
	a.t = t2;
	CHECK_INTEQ(flow_table_adopt(t2, owners, 2, 2000, on_adopt, &a), 37);
	CHECK_INTEQ(a.n, 37);
	CHECK_INTEQ(a.lost, 1);
	CHECK_INTEQ(flow_count(t2), 37);
	for (i = 0; i < 39; i++) {
		k = key(i);
		f = flow_lookup(t2, &k);
		if (i == 2 || i == 3) {
			CHECK(f == NULL);
			CHECK(flow_by_handle(t2, h[i]) == NULL);
			continue;
		}
		CHECK(f != NULL && f->f_ops == &ops);
		CHECK(flow_by_handle(t2, h[i]) == f);
		CHECK_INTEQ(f->f_delta, 7 * i);
	}
	CHECK(flow_by_handle(t2, hfree) == NULL);
	/* the duplicate went: one flow with key 4 */
	CHECK(copy[63].f_ops == NULL);
	/* the rest is free: 27 more fit, the 28th does not */
	for (i = 100; i < 127; i++) {
		k = key(i);
		CHECK((f = flow_insert(t2, &k, 2000, &ops)) != NULL);
		for (uint32_t j = 0; j < 39; j++)
			CHECK(flow_handle(t2, f) != h[j]);
	}
	k = key(127);
	CHECK(flow_insert(t2, &k, 2000, &ops) == NULL && errno == ENOSPC);
	flow_table_free(t2);

	/* an owner may end what it adopts */
	memset(copy, 0, 64 * sizeof(*copy));
	t2 = flow_table_new(64, copy);
	for (i = 0; i < 10; i++) {
		k = key(i);
		CHECK(flow_insert(t2, &k, 1000, &ops) != NULL);
	}
	flow_table_free(t2);
	t2 = flow_table_new(64, copy);
	memset(&a, 0, sizeof(a));
	a.t = t2;
	a.drop = 1;
	CHECK_INTEQ(flow_table_adopt(t2, owners, 2, 1000, on_adopt, &a), 0);
	CHECK_INTEQ(a.n, 10);
	for (i = 0; i < 64; i++) {
		k = key(200 + i);
		CHECK(flow_insert(t2, &k, 1000, &ops) != NULL);
	}
	flow_table_free(t2);
	free(slots);
	free(copy);
}

/* Whatever the slots hold (a file another build or a crash left), the
 * table adopted from them is consistent: every flow it keeps is found by
 * its key and its handle, and free slots plus flows make the capacity. */
static void
test_adopt_garbage(void)
{
	static const struct flow_ops *const owners[] = { NULL, &ops, &ops };
	struct flow		*slots = calloc(512, sizeof(*slots));
	struct flow_table	*t;
	struct flow_key		 k;
	struct flow		*f;
	struct adopted		 a;
	uint32_t		 i, n, found, seed = 12345;
	int			 round;

	for (round = 0; round < 200; round++) {
		uint8_t *b = (uint8_t *)slots;

		for (i = 0; i < 512 * sizeof(*slots); i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		/* some slots keyed alike, some owners valid, clocks near */
		for (i = 0; i < 512; i++) {
			slots[i].f_owner = (uint8_t)(slots[i].f_owner % 4);
			if (i % 3 == 0)
				slots[i].f_key = key(i % 7);
			if (i % 2 == 0)
				slots[i].f_last = 5000 + (slots[i].f_last % 3000);
		}
		t = flow_table_new(512, slots);
		CHECK(t != NULL);
		memset(&a, 0, sizeof(a));
		a.t = t;
		a.drop = round % 5 == 0;
		n = flow_table_adopt(t, owners, 3, 6000, on_adopt, &a);
		CHECK_INTEQ(n, flow_count(t));
		found = 0;
		for (i = 0; i < 512; i++) {
			f = &slots[i];
			if (f->f_ops == NULL)
				continue;
			found++;
			k = f->f_key;
			CHECK(flow_lookup(t, &k) == f);
			CHECK(flow_by_handle(t, flow_handle(t, f)) == f);
			CHECK((int32_t)(6000 - f->f_last) >= -1000);
		}
		CHECK_INTEQ(found, n);
		/* the rest is free: exactly that many new flows fit */
		for (i = 0; i < 512 - n; i++) {
			k = key(100000 + i);
			CHECK(flow_insert(t, &k, 6000, &ops) != NULL);
		}
		k = key(200000);
		CHECK(flow_insert(t, &k, 6000, &ops) == NULL && errno == ENOSPC);
		flow_table_free(t);
	}
	free(slots);
}

static struct ipaddr
parse_addr(const char *s)
{
	struct ipaddr	 a;
	uint8_t		 b[16];

	if (inet_pton(AF_INET6, s, b) == 1)
		addr_from16(&a, b);
	else
		a = t_ip(s);
	return a;
}

/* n flows of o from client, at ports from port up, each said to be of a
 * client that proved its address (twice: once counts). */
static void
net_insert(struct flow_table *t, const struct flow_ops *o, const char *client,
    uint16_t port, int n)
{
	struct flow_key	 k;
	struct flow	*f;

	memset(&k, 0, sizeof(k));
	k.k_raddr = parse_addr(client);
	k.k_laddr = addr4(0x0a090001u);
	k.k_lport = 80;
	while (n-- > 0) {
		k.k_rport = port++;
		CHECK((f = flow_insert(t, &k, 1000, o)) != NULL);
		flow_net_join(t, f);
		flow_net_join(t, f);
	}
}

/*
 * The front-end's flows are counted by client network, its /24 or /48,
 * once joined (not a half-open one, whose address may be spoofed); the
 * back-end's not; a removal takes one off, and the next process counts
 * what it adopts (with its own key).  Networks share a bucket one time in
 * FLOW_NETS: each check is of a difference.
 */
static void
test_net_counts(void)
{
	static const struct flow_ops be = { "be", FLOW_OWNER_BE, NULL, 0,
	    NULL, NULL, NULL, NULL, NULL, NULL };
	static const struct flow_ops *const owners[] = { NULL, &ops, &be };
	struct flow		*slots = calloc(64, sizeof(*slots));
	struct flow_table	*t = flow_table_new(64, slots), *t2;
	struct ipaddr		 a = parse_addr("10.0.1.2");
	struct ipaddr		 a6 = parse_addr("2001:db8:1:2::1");
	const char		*other[] = { "10.0.2.1", "10.1.1.1",
	    "192.0.2.1" };
	struct adopted		 ad;
	struct flow_key		 k;
	uint32_t		 n0, o[3];
	int			 i;

	CHECK(t != NULL && ops.fo_owner == FLOW_OWNER_FE);
	n0 = flow_net_count(t, &a);
	net_insert(t, &ops, "10.0.1.2", 1000, 3);
	net_insert(t, &ops, "10.0.1.250", 1000, 2);	/* the same /24 */
	CHECK_INTEQ(flow_net_count(t, &a) - n0, 5);
	CHECK_INTEQ(flow_net_count(t, T_IPP("10.0.1.99")),
	    flow_net_count(t, &a));
	net_insert(t, &be, "10.0.1.3", 1000, 4);	/* not counted */
	CHECK_INTEQ(flow_net_count(t, &a) - n0, 5);
	CHECK_INTEQ(flow_net_total(t), 5);
	/* half-open, not joined: not counted */
	memset(&k, 0, sizeof(k));
	k.k_raddr = parse_addr("10.0.1.4");
	k.k_laddr = addr4(0x0a090001u);
	k.k_lport = 80;
	k.k_rport = 5000;
	CHECK(flow_insert(t, &k, 1000, &ops) != NULL);
	CHECK_INTEQ(flow_net_count(t, &a) - n0, 5);
	CHECK_INTEQ(flow_net_total(t), 5);
	flow_remove(t, flow_lookup(t, &k));
	CHECK_INTEQ(flow_net_count(t, &a) - n0, 5);
	CHECK(flow_insert(t, &k, 1000, &ops) != NULL);	/* adopted unjoined */
	/* other networks */
	for (i = 0; i < 3; i++) {
		struct ipaddr x = parse_addr(other[i]);

		o[i] = flow_net_count(t, &x);
		net_insert(t, &ops, other[i], 2000, 1);
		CHECK_INTEQ(flow_net_count(t, &x) - o[i], 1);
	}
	n0 = flow_net_count(t, &a6);
	net_insert(t, &ops, "2001:db8:1:2::1", 1000, 2);
	net_insert(t, &ops, "2001:db8:1:ffff::5", 1000, 1);	/* its /48 */
	CHECK_INTEQ(flow_net_count(t, &a6) - n0, 3);
	CHECK_INTEQ(flow_net_total(t), 11);
	/* a removal takes one off */
	k.k_raddr = parse_addr("10.0.1.250");
	k.k_rport = 1000;
	n0 = flow_net_count(t, &a);
	flow_remove(t, flow_lookup(t, &k));
	CHECK_INTEQ(n0 - flow_net_count(t, &a), 1);
	CHECK_INTEQ(flow_net_total(t), 10);
	flow_table_free(t);

	/* the next process: every adopted FE flow of a's network counted */
	t2 = flow_table_new(64, slots);
	memset(&ad, 0, sizeof(ad));
	ad.t = t2;
	CHECK_INTEQ(flow_table_adopt(t2, owners, FLOW_OWNER_MAX, 1000,
	    on_adopt, &ad), 4 + 4 + 1 + 3 + 3);
	CHECK_INTEQ(flow_net_total(t2), 10);
	n0 = flow_net_count(t2, &a);
	CHECK(n0 >= 4);
	for (i = 1000; i < 1003; i++) {
		k.k_raddr = a;
		k.k_rport = (uint16_t)i;
		flow_remove(t2, flow_lookup(t2, &k));
	}
	k.k_raddr = parse_addr("10.0.1.250");
	k.k_rport = 1001;
	flow_remove(t2, flow_lookup(t2, &k));
	CHECK_INTEQ(n0 - flow_net_count(t2, &a), 4);
	CHECK_INTEQ(flow_net_total(t2), 6);
	flow_table_free(t2);
	free(slots);
}

static void
test_bad_size(void)
{
	CHECK(flow_table_new(0, NULL) == NULL);
	CHECK(flow_table_new(1u << 30, NULL) == NULL);
}

int
main(void)
{
	t_start(60);
	test_insert_lookup_remove();
	test_handles();
	test_expire();
	test_adopt();
	test_adopt_garbage();
	test_net_counts();
	test_bad_size();
	return t_done("test_flow");
}

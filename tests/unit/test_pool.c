/*
 * The pool policies: weights honoured over 10,000 picks, least-conn
 * following load, Maglev hashing stable and moving about 1/N of the keys
 * when a member leaves, LARD keeping a target on its member until that
 * member crosses T_high.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "handoff/pool.h"
#include "t.h"

#define PICKS	10000

static struct cfg_pool *
mkpool(enum cfg_policy policy, const int *weights, int n)
{
	static struct cfg_pool	 cp;
	int			 i;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.cp_name, sizeof(cp.cp_name), "p");
	cp.cp_policy = policy;
	cp.cp_lard_low = 2;
	cp.cp_lard_high = 4;
	cp.cp_nmembers = n;
	for (i = 0; i < n; i++) {
		snprintf(cp.cp_members[i].cm_node,
		    sizeof(cp.cp_members[i].cm_node), "node%d", i + 1);
		cp.cp_members[i].cm_weight = weights[i];
	}
	return &cp;
}

/* Each member's share of counts is its share of the weights, within 5%. */
static void
check_shares(const int *counts, const int *weights, int n, uint64_t healthy)
{
	double	 wsum = 0, csum = 0, want;
	int	 i;

	for (i = 0; i < n; i++)
		if (healthy >> i & 1) {
			wsum += weights[i];
			csum += counts[i];
		}
	for (i = 0; i < n; i++) {
		if (!(healthy >> i & 1)) {
			CHECK_INTEQ(counts[i], 0);
			continue;
		}
		want = csum * weights[i] / wsum;
		if (counts[i] < want * 0.95 || counts[i] > want * 1.05)
			fprintf(stderr, "member %d: %d picks, want %.0f\n", i,
			    counts[i], want);
		CHECK(counts[i] >= want * 0.95 && counts[i] <= want * 1.05);
	}
}

static void
test_round_robin(void)
{
	static const int	 w[] = { 1, 2, 5, 2 };
	struct cfg_pool		*cp = mkpool(CFG_POLICY_ROUND_ROBIN, w, 4);
	struct pool_state	*ps = pool_state_new(cp);
	uint32_t		 load[4] = { 0 };
	int			 counts[4] = { 0 }, i, m, prev = -1, run = 0;

	CHECK(ps != NULL);
	for (i = 0; i < PICKS; i++) {
		m = pool_pick(cp, ps, 0xf, 0, load, "", 0);
		CHECK(m >= 0 && m < 4);
		counts[m]++;
		/* Smooth: the heavy member never runs 5 in a row. */
		run = m == prev ? run + 1 : 1;
		prev = m;
		CHECK(run <= 2);
	}
	check_shares(counts, w, 4, 0xf);
	/* New weights take effect at once. */
	cp->cp_members[2].cm_weight = 1;
	pool_state_reweigh(ps);
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < PICKS; i++)
		counts[pool_pick(cp, ps, 0xf, 0, load, "", 0)]++;
	check_shares(counts, (const int[]){ 1, 2, 1, 2 }, 4, 0xf);
	/* Member 2 out, member 0 tried already: neither is picked. */
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < PICKS; i++)
		counts[pool_pick(cp, ps, 0xb, 0x1, load, "", 0)]++;
	CHECK_INTEQ(counts[0], 0);
	CHECK_INTEQ(counts[2], 0);
	check_shares(counts, w, 4, 0xa);
	CHECK_INTEQ(pool_pick(cp, ps, 0x3, 0x3, load, "", 0), -1);
	CHECK_INTEQ(pool_pick(cp, ps, 0, 0, load, "", 0), -1);
	pool_state_free(ps);
}

/* Connections that never end: least-conn must spread them by weight. */
static void
test_least_conn(void)
{
	static const int	 w[] = { 1, 3, 2 };
	struct cfg_pool		*cp = mkpool(CFG_POLICY_LEAST_CONN, w, 3);
	struct pool_state	*ps = pool_state_new(cp);
	uint32_t		 load[3] = { 0 };
	int			 counts[3] = { 0 }, i, m;

	CHECK(ps != NULL);
	for (i = 0; i < PICKS; i++) {
		m = pool_pick(cp, ps, 0x7, 0, load, "", 0);
		counts[m]++;
		load[m]++;
	}
	check_shares(counts, w, 3, 0x7);
	/* The least loaded for its weight wins. */
	load[0] = 10;
	load[1] = 0;
	load[2] = 5;
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "", 0), 1);
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0x2, load, "", 0), 2);
	load[1] = 40;		/* 41/3 > 6/2 */
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "", 0), 2);
	pool_state_free(ps);
}

static void
test_hash(void)
{
	static const int	 w[] = { 1, 1, 1, 1, 1 };
	static const int	 wd[] = { 1, 3 };
	struct cfg_pool		*cp = mkpool(CFG_POLICY_HASH, w, 5);
	struct pool_state	*ps = pool_state_new(cp);
	uint32_t		 load[5] = { 0 };
	int			*before = calloc(PICKS, sizeof(int));
	int			 counts[5] = { 0 }, i, m, moved = 0, stray = 0;
	char			 key[32];

	CHECK(ps != NULL && before != NULL);
	for (i = 0; i < PICKS; i++) {
		snprintf(key, sizeof(key), "/file/%d.html", i);
		m = pool_pick(cp, ps, 0x1f, 0, load, key, strlen(key));
		before[i] = m;
		counts[m]++;
		/* the same key, the same member */
		CHECK_INTEQ(pool_pick(cp, ps, 0x1f, 0, load, key, strlen(key)),
		    m);
	}
	check_shares(counts, w, 5, 0x1f);
	/* Member 3 leaves: its keys move, the others' almost all stay. */
	for (i = 0; i < PICKS; i++) {
		snprintf(key, sizeof(key), "/file/%d.html", i);
		m = pool_pick(cp, ps, 0x17, 0, load, key, strlen(key));
		CHECK(m != 3);
		if (m != before[i]) {
			moved++;
			if (before[i] != 3)
				stray++;
		}
	}
	printf("hash: %d of %d keys moved when 1 of 5 left, %d of them "
	    "not the leaver's\n", moved, PICKS, stray);
	CHECK(moved <= PICKS / 5 * 12 / 10);
	CHECK(stray <= PICKS / 100 * 3);
	/* Back: every key is where it was. */
	for (i = 0; i < PICKS; i++) {
		snprintf(key, sizeof(key), "/file/%d.html", i);
		CHECK_INTEQ(pool_pick(cp, ps, 0x1f, 0, load, key, strlen(key)),
		    before[i]);
	}
	/* A tried member is stepped over, deterministically. */
	m = pool_pick(cp, ps, 0x1f, 0, load, "k", 1);
	i = pool_pick(cp, ps, 0x1f, 1ULL << m, load, "k", 1);
	CHECK(i != m && i >= 0);
	CHECK_INTEQ(pool_pick(cp, ps, 0x1f, 1ULL << m, load, "k", 1), i);
	CHECK_INTEQ(pool_pick(cp, ps, 0x1f, 0x1f, load, "k", 1), -1);
	pool_state_free(ps);
	/* Weights: 1 and 3. */
	cp = mkpool(CFG_POLICY_HASH, wd, 2);
	ps = pool_state_new(cp);
	CHECK(ps != NULL);
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < PICKS; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		counts[pool_pick(cp, ps, 0x3, 0, load, key, strlen(key))]++;
	}
	check_shares(counts, wd, 2, 0x3);
	/* A weight changed at run time (handoffctl weight): the table is
	 * rebuilt for 3 and 1 once the pool is told. */
	cp->cp_members[0].cm_weight = 3;
	cp->cp_members[1].cm_weight = 1;
	pool_state_reweigh(ps);
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < PICKS; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		counts[pool_pick(cp, ps, 0x3, 0, load, key, strlen(key))]++;
	}
	check_shares(counts, (const int[]){ 3, 1 }, 2, 0x3);
	pool_state_free(ps);
	free(before);
}

static void
test_lard(void)
{
	static const int	 w[] = { 1, 1, 1 };
	struct cfg_pool		*cp = mkpool(CFG_POLICY_LARD, w, 3);
	struct pool_state	*ps = pool_state_new(cp);
	uint32_t		 load[3] = { 0 };
	int			 m, first, i, other;

	CHECK(ps != NULL);
	/* A new target goes to the least loaded member. */
	load[0] = 3;
	load[1] = 1;
	load[2] = 2;
	first = pool_pick(cp, ps, 0x7, 0, load, "/a", 2);
	CHECK_INTEQ(first, 1);
	/* It stays there as that member's load climbs to T_high (4), even
	 * when others are lighter ... */
	for (i = 1; i <= 4; i++) {
		load[1] = (uint32_t)i;
		load[0] = 0;
		CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/a", 2), first);
	}
	/* ... and past T_high while nobody is under T_low (2) ... */
	load[0] = 2;
	load[2] = 3;
	load[1] = 7;
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/a", 2), first);
	/* ... but not past 2 T_high. */
	load[1] = 8;
	m = pool_pick(cp, ps, 0x7, 0, load, "/a", 2);
	CHECK_INTEQ(m, 0);
	/* Now it lives on member 0. */
	load[1] = 0;
	load[0] = 4;
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/a", 2), 0);
	/* Over T_high with someone under T_low: it moves to the lightest. */
	load[0] = 5;
	load[1] = 1;
	load[2] = 3;
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/a", 2), 1);
	/* Another target is independent: least loaded now, and sticky. */
	load[0] = 0;
	other = pool_pick(cp, ps, 0x7, 0, load, "/b", 2);
	CHECK_INTEQ(other, 0);
	load[0] = 3;
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/b", 2), 0);
	CHECK_INTEQ(pool_pick(cp, ps, 0x7, 0, load, "/a", 2), 1);
	/* Its member out of service: the target moves. */
	CHECK(pool_pick(cp, ps, 0x5, 0, load, "/a", 2) != 1);
	/* Many targets: the table forgets the oldest, never fails. */
	for (i = 0; i < POOL_LARD_SLOTS * 4; i++) {
		char key[32];

		snprintf(key, sizeof(key), "/t/%d", i);
		m = pool_pick(cp, ps, 0x7, 0, load, key, strlen(key));
		CHECK(m >= 0 && m < 3);
	}
	CHECK_INTEQ(pool_pick(cp, ps, 0, 0, load, "/a", 2), -1);
	pool_state_free(ps);
}

int
main(void)
{
	t_start(60);
	test_round_robin();
	test_least_conn();
	test_hash();
	test_lard();
	return t_done("test_pool");
}

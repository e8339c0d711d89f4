/*
 * The pool policies.  Each pick sees two masks of members: healthy (in
 * service at all) and tried (already failed this request).  Hash and LARD
 * decide by the healthy set alone and only then step past tried members,
 * so one failed handoff does not remap every other key.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "handoff/pool.h"

struct pool_lard_slot {
	uint64_t	 ls_hash;
	uint32_t	 ls_used;	/* pick counter when last used */
	uint8_t		 ls_member;	/* index + 1; 0: empty */
};

#define POOL_LARD_WAYS	4

struct pool_state {
	int64_t			 ps_cw[CFG_MAX_MEMBERS]; /* smooth RR */
	unsigned int		 ps_cursor;	/* least-conn tie breaks */
	/* hash */
	uint8_t			*ps_maglev;	/* member per slot */
	uint64_t		 ps_maglev_set;	/* healthy set it was built on */
	int			 ps_maglev_built;
	/* lard */
	struct pool_lard_slot	*ps_lard;
	uint32_t		 ps_lard_clock;
};

/* FNV-1a, then a 64-bit finaliser so that low bits depend on every byte. */
uint64_t
pool_hash(const char *s, size_t len, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t	 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct pool_state *
pool_state_new(const struct cfg_pool *cp)
{
	struct pool_state *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	if (cp->cp_policy == CFG_POLICY_HASH &&
	    (ps->ps_maglev = malloc(POOL_MAGLEV_SIZE)) == NULL)
		goto fail;
	if (cp->cp_policy == CFG_POLICY_LARD &&
	    (ps->ps_lard = calloc(POOL_LARD_SLOTS, sizeof(*ps->ps_lard))) ==
	    NULL)
		goto fail;
	return ps;
fail:
	pool_state_free(ps);
	return NULL;
}

void
pool_state_free(struct pool_state *ps)
{
	if (ps == NULL)
		return;
	free(ps->ps_maglev);
	free(ps->ps_lard);
	free(ps);
}

/* The weights changed: what was derived from them starts afresh (the
 * smooth round-robin's running weights; the Maglev table, rebuilt on the
 * next pick). */
void
pool_state_reweigh(struct pool_state *ps)
{
	memset(ps->ps_cw, 0, sizeof(ps->ps_cw));
	ps->ps_maglev_built = 0;
}

static int
pool_ok(uint64_t healthy, uint64_t tried, int i)
{
	return (healthy & ~tried) >> i & 1;
}

/* Smooth weighted round-robin (as nginx's upstreams): over any window the
 * picks follow the weights, and heavy members are interleaved, not run in
 * bursts. */
static int
pool_pick_rr(const struct cfg_pool *cp, struct pool_state *ps,
    uint64_t healthy, uint64_t tried)
{
	int64_t	 total = 0;
	int	 i, best = -1;

	for (i = 0; i < cp->cp_nmembers; i++) {
		if (!pool_ok(healthy, tried, i))
			continue;
		ps->ps_cw[i] += cp->cp_members[i].cm_weight;
		total += cp->cp_members[i].cm_weight;
		if (best == -1 || ps->ps_cw[i] > ps->ps_cw[best])
			best = i;
	}
	if (best != -1)
		ps->ps_cw[best] -= total;
	return best;
}

/* Is a less loaded than b for their weights? (load + 1) / weight, in
 * integers: the +1 makes an idle heavy member preferred to an idle light
 * one. */
static int
pool_lighter(const struct cfg_pool *cp, const uint32_t *load, int a, int b)
{
	uint64_t la = ((uint64_t)load[a] + 1) * (uint64_t)cp->cp_members[b].cm_weight;
	uint64_t lb = ((uint64_t)load[b] + 1) * (uint64_t)cp->cp_members[a].cm_weight;

	return la < lb;
}

/* The least loaded member for its weight; ties go round in turn. */
static int
pool_pick_least(const struct cfg_pool *cp, struct pool_state *ps,
    uint64_t healthy, uint64_t tried, const uint32_t *load)
{
	int	 n, i, best = -1;

	for (n = 0; n < cp->cp_nmembers; n++) {
		i = (int)((ps->ps_cursor + (unsigned int)n) %
		    (unsigned int)cp->cp_nmembers);
		if (!pool_ok(healthy, tried, i))
			continue;
		if (best == -1 || pool_lighter(cp, load, i, best))
			best = i;
	}
	ps->ps_cursor++;
	return best;
}

/*
 * Maglev's lookup table (Eisenbud et al., NSDI'16) over the healthy
 * members: each fills slots in the order of its own permutation of the
 * table, weight turns per round, so every member owns a share of slots in
 * proportion to its weight, and a member leaving changes little more than
 * its own slots.
 */
static void
pool_maglev_build(const struct cfg_pool *cp, struct pool_state *ps,
    uint64_t healthy)
{
	const uint32_t	 m = POOL_MAGLEV_SIZE;
	uint32_t	 offset[CFG_MAX_MEMBERS], skip[CFG_MAX_MEMBERS];
	uint32_t	 next[CFG_MAX_MEMBERS], filled = 0, c;
	int		 i, k, any = 0;

	memset(ps->ps_maglev, 0xff, m);
	for (i = 0; i < cp->cp_nmembers; i++) {
		const char *id = cp->cp_members[i].cm_node;

		offset[i] = (uint32_t)(pool_hash(id, strlen(id), 0) % m);
		skip[i] = (uint32_t)(pool_hash(id, strlen(id), 1) % (m - 1)) + 1;
		next[i] = 0;
		any |= (int)(healthy >> i & 1);
	}
	ps->ps_maglev_set = healthy;
	ps->ps_maglev_built = 1;
	if (!any)
		return;
	while (filled < m) {
		for (i = 0; i < cp->cp_nmembers && filled < m; i++) {
			if (!(healthy >> i & 1))
				continue;
			for (k = 0; k < cp->cp_members[i].cm_weight &&
			    filled < m; k++) {
				do {
					c = (uint32_t)(((uint64_t)offset[i] +
					    (uint64_t)next[i] * skip[i]) % m);
					next[i]++;
				} while (ps->ps_maglev[c] != 0xff);
				ps->ps_maglev[c] = (uint8_t)i;
				filled++;
			}
		}
	}
}

/* The members of cp as a mask. */
static uint64_t
pool_all(const struct cfg_pool *cp)
{
	return cp->cp_nmembers >= 64 ? ~0ULL : (1ULL << cp->cp_nmembers) - 1;
}

/* The key's member, or, if tried, the next untried one along the table:
 * every healthy member owns at least one slot (64 members of weight 1000
 * fill less than a round), so the walk ends. */
static int
pool_pick_hash(const struct cfg_pool *cp, struct pool_state *ps,
    uint64_t healthy, uint64_t tried, const char *key, size_t keylen)
{
	uint32_t slot, n;
	int	 i;

	healthy &= pool_all(cp);
	if ((healthy & ~tried) == 0)
		return -1;
	if (!ps->ps_maglev_built || ps->ps_maglev_set != healthy)
		pool_maglev_build(cp, ps, healthy);
	slot = (uint32_t)(pool_hash(key, keylen, 2) % POOL_MAGLEV_SIZE);
	for (n = 0; n < POOL_MAGLEV_SIZE; n++) {
		i = ps->ps_maglev[(slot + n) % POOL_MAGLEV_SIZE];
		if (i != 0xff && pool_ok(healthy, tried, i))
			return i;
	}
	return -1;
}

/* The slot remembering a target's member: found, or taken over (empty or
 * least recently used) with ls_member 0. */
static struct pool_lard_slot *
pool_lard_slot(struct pool_state *ps, uint64_t h)
{
	struct pool_lard_slot	*set, *victim;
	int			 w;

	set = &ps->ps_lard[(h % (POOL_LARD_SLOTS / POOL_LARD_WAYS)) *
	    POOL_LARD_WAYS];
	victim = &set[0];
	for (w = 0; w < POOL_LARD_WAYS; w++) {
		if (set[w].ls_member != 0 && set[w].ls_hash == h)
			return &set[w];
		if (set[w].ls_member == 0 ||
		    (victim->ls_member != 0 &&
		    (int32_t)(set[w].ls_used - victim->ls_used) < 0))
			victim = &set[w];
	}
	victim->ls_hash = h;
	victim->ls_member = 0;
	return victim;
}

/*
 * LARD (Pai et al., ASPLOS'98): a target stays with its member, whose
 * cache holds it, until that member is overloaded: more than T_high while
 * some member is under T_low, or 2 T_high in any case.  Then, and for a
 * new target, it goes to the least loaded member.
 */
static int
pool_pick_lard(const struct cfg_pool *cp, struct pool_state *ps,
    uint64_t healthy, uint64_t tried, const uint32_t *load,
    const char *key, size_t keylen)
{
	struct pool_lard_slot	*s;
	uint32_t		 high = (uint32_t)cp->cp_lard_high;
	uint32_t		 low = (uint32_t)cp->cp_lard_low;
	int			 i, cur, least;

	s = pool_lard_slot(ps, pool_hash(key, keylen, 3));
	s->ls_used = ++ps->ps_lard_clock;
	if ((least = pool_pick_least(cp, ps, healthy, tried, load)) == -1)
		return -1;
	cur = s->ls_member - 1;
	if (cur >= 0 && pool_ok(healthy, tried, cur)) {
		int idle = 0;

		for (i = 0; i < cp->cp_nmembers; i++)
			if (pool_ok(healthy, tried, i) && load[i] < low)
				idle = 1;
		if (!((load[cur] > high && idle) || load[cur] >= 2 * high))
			return cur;
	}
	s->ls_member = (uint8_t)(least + 1);
	return least;
}

/*
 * A member for a request: an index into cp_members, or -1 when no healthy
 * untried member is left.  load[i] is member i's active connections; key
 * is what hash and LARD pools look at (the path, the Host, a header).
 */
int
pool_pick(const struct cfg_pool *cp, struct pool_state *ps, uint64_t healthy,
    uint64_t tried, const uint32_t *load, const char *key, size_t keylen)
{
	switch (cp->cp_policy) {
	case CFG_POLICY_LEAST_CONN:
		return pool_pick_least(cp, ps, healthy, tried, load);
	case CFG_POLICY_HASH:
		return pool_pick_hash(cp, ps, healthy, tried, key, keylen);
	case CFG_POLICY_LARD:
		return pool_pick_lard(cp, ps, healthy, tried, load, key,
		    keylen);
	case CFG_POLICY_ROUND_ROBIN:
	default:
		return pool_pick_rr(cp, ps, healthy, tried);
	}
}

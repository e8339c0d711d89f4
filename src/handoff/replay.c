/* The cookies that opened a connection; see replay.h.  Each generation is
 * an open-addressing set of 64-bit ids (keyed hashes, so nobody can aim
 * ids at one another), at most half full, probed linearly. */
#include <stdlib.h>
#include <string.h>

#include "handoff/replay.h"

struct replay_gen {
	uint64_t	*rg_ids;	/* 0: an empty slot */
	uint32_t	 rg_src[REPLAY_SOURCES];	/* ids by network */
	uint32_t	 rg_count;
	uint16_t	 rg_period;
	int		 rg_live;	/* rg_period means something */
};

struct replay {
	struct replay_gen r_gen[2];	/* [0]: the current period */
	uint32_t	 r_mask;	/* slots - 1 */
	uint32_t	 r_max;		/* ids per generation */
};

struct replay *
replay_new(uint32_t max)
{
	struct replay	*r;
	uint32_t	 slots = 64;
	int		 i;

	if (max < 16)
		max = 16;
	while (slots < 2 * max && slots < (1u << 30))
		slots <<= 1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->r_mask = slots - 1;
	r->r_max = slots / 2 < max ? slots / 2 : max;
	for (i = 0; i < 2; i++)
		if ((r->r_gen[i].rg_ids = calloc(slots,
		    sizeof(uint64_t))) == NULL) {
			replay_free(r);
			return NULL;
		}
	return r;
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	free(r->r_gen[0].rg_ids);
	free(r->r_gen[1].rg_ids);
	free(r);
}

static void
replay_clear(struct replay *r, struct replay_gen *g)
{
	if (g->rg_count > 0) {
		memset(g->rg_ids, 0, ((size_t)r->r_mask + 1) * sizeof(uint64_t));
		memset(g->rg_src, 0, sizeof(g->rg_src));
	}
	g->rg_count = 0;
	g->rg_live = 0;
}

/* Brings the generations to period (cookie_period's, which wraps): the
 * current one becomes the last if period is the next, and anything older
 * goes. */
static void
replay_advance(struct replay *r, uint16_t period)
{
	struct replay_gen	 g;

	if (r->r_gen[0].rg_live && r->r_gen[0].rg_period == period)
		return;
	if (r->r_gen[0].rg_live &&
	    (uint16_t)(r->r_gen[0].rg_period + 1) == period) {
		replay_clear(r, &r->r_gen[1]);
		g = r->r_gen[1];
		r->r_gen[1] = r->r_gen[0];
		r->r_gen[0] = g;
	} else {
		replay_clear(r, &r->r_gen[0]);
		replay_clear(r, &r->r_gen[1]);
	}
	r->r_gen[0].rg_period = period;
	r->r_gen[0].rg_live = 1;
}

static int
replay_has(const struct replay *r, const struct replay_gen *g, uint64_t id)
{
	uint32_t	 i = (uint32_t)id & r->r_mask;

	while (g->rg_ids[i] != 0) {
		if (g->rg_ids[i] == id)
			return 1;
		i = (i + 1) & r->r_mask;
	}
	return 0;
}

/* Whether id (of a cookie that checked out in period, from network src)
 * may open a connection. */
enum replay_verdict
replay_check(struct replay *r, uint64_t id, uint32_t src, uint16_t period)
{
	const struct replay_gen	*g = &r->r_gen[0];

	if (id == 0)
		id = 1;
	replay_advance(r, period);
	if (replay_has(r, &r->r_gen[0], id) || replay_has(r, &r->r_gen[1], id))
		return REPLAY_SEEN;
	if (g->rg_count >= r->r_max)
		return REPLAY_FULL;
	if (g->rg_count >= r->r_max / 2 &&
	    g->rg_src[src % REPLAY_SOURCES] >= r->r_max / 16)
		return REPLAY_BUSY;
	return REPLAY_NEW;
}

/* Remembers id, which replay_check found new in this period. */
void
replay_add(struct replay *r, uint64_t id, uint32_t src, uint16_t period)
{
	struct replay_gen	*g = &r->r_gen[0];
	uint32_t		 i;

	if (id == 0)
		id = 1;
	replay_advance(r, period);
	if (g->rg_count >= r->r_max)
		return;
	i = (uint32_t)id & r->r_mask;
	while (g->rg_ids[i] != 0 && g->rg_ids[i] != id)
		i = (i + 1) & r->r_mask;
	if (g->rg_ids[i] == 0) {
		g->rg_ids[i] = id;
		g->rg_count++;
		g->rg_src[src % REPLAY_SOURCES]++;
	}
}

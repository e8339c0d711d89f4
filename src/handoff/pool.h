/*
 * Picking a member of a pool for a request: the four policies of
 * handoffd.yaml(5) over the members the caller says are healthy.
 *
 * pool.c owns each pool's picking state (smooth weighted round-robin
 * weights, the Maglev lookup table of a hash pool, the target table of a
 * LARD pool).  It knows nothing of peers, flows or health: the caller
 * passes which members are healthy, which were tried already for this
 * request, and each member's load (active connections), so the policies
 * are pure functions of their inputs and tested as such.
 */
#ifndef HANDOFFD_POOL_H
#define HANDOFFD_POOL_H

#include <stddef.h>
#include <stdint.h>

struct cfg_pool;
struct pool_state;

/* Maglev lookup table size: a prime well over 100 entries a member. */
#define POOL_MAGLEV_SIZE	65537
/* Paths a LARD pool remembers (4-way sets, least recently used goes). */
#define POOL_LARD_SLOTS		8192

struct pool_state *pool_state_new(const struct cfg_pool *);
void	pool_state_free(struct pool_state *);
void	pool_state_reweigh(struct pool_state *);
int	pool_pick(const struct cfg_pool *, struct pool_state *, uint64_t,
	    uint64_t, const uint32_t *, const char *, size_t);
uint64_t pool_hash(const char *, size_t, uint64_t);

#endif

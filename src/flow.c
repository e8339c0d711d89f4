/* The flow table; see flow.h. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "flow.h"

struct flow_table {
	struct flow	*ft_flows;	/* ft_max slots */
	int		 ft_own;	/* ft_flows is ours to free */
	uint32_t	*ft_buckets;	/* index+1 of the chain head, 0: empty */
	uint32_t	 ft_max;
	uint32_t	 ft_mask;	/* buckets - 1 */
	uint32_t	 ft_count;
	uint32_t	 ft_free;	/* free list head: index+1 */
	uint32_t	 ft_hand;	/* expiry clock hand */
	uint64_t	 ft_seed[2];
	/* the front-end's flows counted by client network (flow_net_join),
	 * and in all */
	uint32_t	 ft_nets[FLOW_NETS];
	uint32_t	 ft_nets_total;
};

/* wyhash's multiply-fold. */
static inline uint64_t
flow_mix(uint64_t a, uint64_t b)
{
	__uint128_t	 r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A keyed mix of the 4-tuple: spoofed addresses and ports cannot steer
 * flows into one chain without knowing the seed.  An IPv4 key mixes its
 * two address words and the ports once (the mapped prefix is the same in
 * every IPv4 key); an IPv6 key first folds in the other words.  All 32
 * bits, for tables of a caller's own (lwIP's pcbs, with a seed of the
 * port's). */
uint32_t
flow_seeded_hash(const uint64_t seed[2], const struct flow_key *k)
{
	const uint32_t	*r = k->k_raddr.a_w, *l = k->k_laddr.a_w;
	uint64_t	 a, b;

	a = ((uint64_t)r[3] << 32 | l[3]) ^ seed[0];
	b = ((uint64_t)k->k_rport << 16 | k->k_lport) ^ seed[1];
	if (!addr_is4(&k->k_raddr) || !addr_is4(&k->k_laddr)) {
		a ^= flow_mix(((uint64_t)r[0] << 32 | r[1]) ^ seed[1],
		    ((uint64_t)r[2] << 32 | l[2]) ^ seed[0]);
		b ^= flow_mix(((uint64_t)l[0] << 32 | l[1]) ^ seed[0],
		    seed[1] | 1);
	}
	a = flow_mix(a, b | 1);
	return (uint32_t)(a ^ (a >> 32));
}

/* The table's own seeded hash of k. */
uint32_t
flow_key_hash(const struct flow_table *t, const struct flow_key *k)
{
	return flow_seeded_hash(t->ft_seed, k);
}

static inline uint32_t
flow_hash(const struct flow_table *t, const struct flow_key *k)
{
	return flow_key_hash(t, k) & t->ft_mask;
}

/* Which of FLOW_NETS a client's network (its /24, or /48 for IPv6) is:
 * keyed, so that nobody aims at another's. */
static uint32_t
flow_net(const struct flow_table *t, const struct ipaddr *client)
{
	struct flow_key	 k;

	memset(&k, 0, sizeof(k));
	k.k_raddr = *client;
	addr_client_net(&k.k_raddr);
	return flow_seeded_hash(t->ft_seed, &k) % FLOW_NETS;
}

/* A counted flow comes or goes: its client network's count. */
static void
flow_net_add(struct flow_table *t, const struct flow *f, int n)
{
	t->ft_nets[flow_net(t, &f->f_key.k_raddr)] += (uint32_t)n;
	t->ft_nets_total += (uint32_t)n;
}

/* A flow of the front-end's whose client proved its address (completed
 * a handshake): counted in its network until removed.  Once is enough. */
void
flow_net_join(struct flow_table *t, struct flow *f)
{
	if (f->f_owner != FLOW_OWNER_FE || f->f_net)
		return;
	f->f_net = 1;
	flow_net_add(t, f, 1);
}

/* How many of the front-end's flows the client's network holds (with the
 * networks that share its bucket). */
uint32_t
flow_net_count(const struct flow_table *t, const struct ipaddr *client)
{
	return t->ft_nets[flow_net(t, client)];
}

/* How many of the front-end's flows are counted. */
uint32_t
flow_net_total(const struct flow_table *t)
{
	return t->ft_nets_total;
}

static inline int
flow_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return addr_eq(&a->k_raddr, &b->k_raddr) &&
	    addr_eq(&a->k_laddr, &b->k_laddr) &&
	    a->k_rport == b->k_rport && a->k_lport == b->k_lport;
}

/* Threads the free list through every slot not in use (f_ops NULL). */
static void
flow_free_list(struct flow_table *t)
{
	uint32_t	 i;

	t->ft_free = 0;
	for (i = t->ft_max; i-- > 0; )
		if (t->ft_flows[i].f_ops == NULL) {
			t->ft_flows[i].f_hnext = t->ft_free;
			t->ft_free = i + 1;
		}
}

/*
 * A table for max flows, all memory up front: slots (max of them) when
 * given, which the table then takes as all free until flow_table_adopt()
 * says otherwise, else allocated here.
 */
struct flow_table *
flow_table_new(uint32_t max, struct flow *slots)
{
	struct flow_table	*t;
	uint32_t		 nb = 1, i;

	if (max == 0 || max > (1u << 26)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max)
		nb <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ft_own = slots == NULL;
	t->ft_flows = slots != NULL ? slots : calloc(max, sizeof(*t->ft_flows));
	t->ft_buckets = calloc(nb, sizeof(*t->ft_buckets));
	if (t->ft_flows == NULL || t->ft_buckets == NULL) {
		flow_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->ft_max = max;
	t->ft_mask = nb - 1;
	/* A given slot's owner pointer is another process's. */
	for (i = 0; i < max; i++)
		t->ft_flows[i].f_ops = NULL;
	flow_free_list(t);
	if (getrandom(t->ft_seed, sizeof(t->ft_seed), 0) !=
	    (ssize_t)sizeof(t->ft_seed)) {
		flow_table_free(t);
		errno = EIO;
		return NULL;
	}
	return t;
}

void
flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	if (t->ft_own)
		free(t->ft_flows);
	free(t->ft_buckets);
	free(t);
}

/*
 * Takes back the flows the slots given to flow_table_new() held for a
 * process before this one: those with an owner in owners (by f_owner), a
 * clock that is this boot's (not ahead of now) and a key no other has.
 * The rest are cleared, keeping their generation so that no old handle
 * names a new flow.  Each one adopted goes to cb, told whether it had
 * slow-path state.  Returns how many flows the table then holds.
 */
uint32_t
flow_table_adopt(struct flow_table *t, const struct flow_ops *const *owners,
    uint32_t nowners, uint32_t now, flow_adopt_cb cb, void *arg)
{
	struct flow	*f;
	uint32_t	 i, h, gen;

	for (i = 0; i < t->ft_max; i++) {
		f = &t->ft_flows[i];
		if (f->f_owner != 0 && f->f_owner < nowners &&
		    owners[f->f_owner] != NULL &&
		    (int32_t)(now - f->f_last) >= -1000 &&
		    flow_lookup(t, &f->f_key) == NULL) {
			f->f_ops = owners[f->f_owner];
			h = flow_hash(t, &f->f_key);
			f->f_hnext = t->ft_buckets[h];
			t->ft_buckets[h] = i + 1;
			t->ft_count++;
			if (f->f_net)
				flow_net_add(t, f, 1);
			continue;
		}
		gen = f->f_gen;
		memset(f, 0, sizeof(*f));
		f->f_gen = gen + 1;
	}
	flow_free_list(t);
	for (i = 0; i < t->ft_max; i++) {
		int lost;

		f = &t->ft_flows[i];
		if (f->f_ops == NULL)
			continue;
		lost = f->f_ctx != NULL;
		f->f_ctx = NULL;
		cb(f, lost, arg);
	}
	return t->ft_count;
}

struct flow *
flow_lookup(struct flow_table *t, const struct flow_key *k)
{
	uint32_t	 i = t->ft_buckets[flow_hash(t, k)];

	while (i != 0) {
		struct flow *f = &t->ft_flows[i - 1];

		if (flow_key_eq(&f->f_key, k))
			return f;
		i = f->f_hnext;
	}
	return NULL;
}

/*
 * Inserts a flow for k owned by ops, zeroed but for its key, owner and
 * clock.  Fails with
 * EEXIST if k is present and ENOSPC when the table is full: the caller
 * decides what a refused connection costs, the table never grows.
 */
struct flow *
flow_insert(struct flow_table *t, const struct flow_key *k, uint32_t now,
    const struct flow_ops *ops)
{
	struct flow	*f;
	uint32_t	 h, idx, gen;

	if (flow_lookup(t, k) != NULL) {
		errno = EEXIST;
		return NULL;
	}
	if (t->ft_free == 0) {
		errno = ENOSPC;
		return NULL;
	}
	idx = t->ft_free - 1;
	f = &t->ft_flows[idx];
	t->ft_free = f->f_hnext;
	gen = f->f_gen + 1;
	/* Slots may be a state file's: a kill between two stores must never
	 * leave a generation that an old handle names. */
	f->f_gen = gen;
	f->f_owner = 0;
	memset(f, 0, offsetof(struct flow, f_gen));
	memset((char *)f + offsetof(struct flow, f_gen) + sizeof(f->f_gen), 0,
	    sizeof(*f) - offsetof(struct flow, f_gen) - sizeof(f->f_gen));
	f->f_key = *k;
	f->f_last = now;
	f->f_start = now;
	f->f_ops = ops;
	f->f_owner = ops->fo_owner;
	h = flow_hash(t, k);
	f->f_hnext = t->ft_buckets[h];
	t->ft_buckets[h] = idx + 1;
	t->ft_count++;
	return f;
}

void
flow_remove(struct flow_table *t, struct flow *f)
{
	uint32_t	 idx = (uint32_t)(f - t->ft_flows);
	uint32_t	*pp = &t->ft_buckets[flow_hash(t, &f->f_key)];

	while (*pp != 0 && *pp != idx + 1)
		pp = &t->ft_flows[*pp - 1].f_hnext;
	if (*pp == 0)
		return;		/* not in the table: a bug, but harmless */
	*pp = f->f_hnext;
	if (f->f_net)
		flow_net_add(t, f, -1);
	f->f_net = 0;
	f->f_ops = NULL;
	f->f_owner = 0;
	f->f_ctx = NULL;
	f->f_gen++;
	f->f_hnext = t->ft_free;
	t->ft_free = idx + 1;
	t->ft_count--;
}

/* A handle names one flow for its lifetime: index and generation. */
uint64_t
flow_handle(const struct flow_table *t, const struct flow *f)
{
	return (uint64_t)f->f_gen << 32 | (uint32_t)(f - t->ft_flows);
}

/* The flow a handle names, or NULL if it has been freed or reused. */
struct flow *
flow_by_handle(struct flow_table *t, uint64_t h)
{
	uint32_t	 idx = (uint32_t)h;
	struct flow	*f;

	if (idx >= t->ft_max)
		return NULL;
	f = &t->ft_flows[idx];
	if (f->f_ops == NULL || f->f_gen != (uint32_t)(h >> 32))
		return NULL;
	return f;
}

uint32_t
flow_count(const struct flow_table *t)
{
	return t->ft_count;
}

uint32_t
flow_capacity(const struct flow_table *t)
{
	return t->ft_max;
}

/* What one flow costs: its slot plus its share of the buckets. */
size_t
flow_bytes_per_flow(const struct flow_table *t)
{
	return sizeof(struct flow) + ((size_t)t->ft_mask + 1) *
	    sizeof(*t->ft_buckets) / t->ft_max;
}

/*
 * Visits up to budget slots from the clock hand and hands every flow idle
 * for longer than its timeout to cb, which must remove it or touch it.
 * Called from a timer, it spreads expiry over time instead of scanning the
 * whole table at once.  Returns how many flows were handed to cb.
 */
unsigned int
flow_expire(struct flow_table *t, uint32_t now, unsigned int budget,
    flow_expire_cb cb, void *arg)
{
	unsigned int	 n = 0;

	if (budget > t->ft_max)
		budget = t->ft_max;
	while (budget-- > 0) {
		struct flow *f = &t->ft_flows[t->ft_hand];

		if (++t->ft_hand == t->ft_max)
			t->ft_hand = 0;
		if (f->f_ops == NULL)
			continue;
		if ((int32_t)(now - f->f_last) > (int32_t)f->f_timeout) {
			cb(f, arg);
			n++;
		}
	}
	return n;
}

/* Calls cb on every flow in use; cb may remove the flow it is given. */
void
flow_foreach(struct flow_table *t, flow_expire_cb cb, void *arg)
{
	uint32_t	 i;

	for (i = 0; i < t->ft_max; i++)
		if (t->ft_flows[i].f_ops != NULL)
			cb(&t->ft_flows[i], arg);
}

static const char *const flow_end_names[FLOW_END_MAX] = {
	"done", "client-reset", "server-reset", "idle", "peer-closed",
	"aborted", "refused", "responded", "handshake", "no-memory",
	"shutdown", "evicted", "restart", "unknown", "moved",
};

const char *
flow_end_name(enum flow_end e)
{
	return (unsigned int)e < FLOW_END_MAX ? flow_end_names[e] : "?";
}

/*
 * The flow table: per-connection state at a front-end or back-end, keyed by
 * the client's endpoint and our side's endpoint (the VIP at a front-end, the
 * stack endpoint at a back-end).
 *
 * flow.c owns the table: one array of flows allocated at start, a bucket
 * array of chained indices, and a free list.  Lookup is O(1) with a keyed
 * hash (no hash flooding by spoofed ports); nothing is allocated per packet
 * or per flow; a full table refuses new flows instead of growing.  The slow
 * path may hang its own state off f_ctx; flow.c never touches it.
 */
#ifndef HANDOFFD_FLOW_H
#define HANDOFFD_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* All in network byte order: keys are compared, never computed with. */
struct flow_key {
	uint32_t	 k_raddr;	/* the client */
	uint32_t	 k_laddr;	/* our side */
	uint16_t	 k_rport;
	uint16_t	 k_lport;
};

struct flow {
	struct flow_key	 f_key;
	uint32_t	 f_hnext;	/* bucket chain or free list: index+1 */
	uint32_t	 f_gen;		/* bumped on reuse: stale handles miss */
	uint32_t	 f_last;	/* last activity, ms (flow clock) */
	uint32_t	 f_timeout;	/* expires f_timeout ms after f_last */
	uint8_t		 f_role;	/* 0: free; owner-defined otherwise */
	uint8_t		 f_state;	/* owner-defined */
	uint16_t	 f_flags;	/* owner-defined */

	/* The rewrite, set up once per flow and applied to every packet. */
	uint32_t	 f_naddr;	/* replaces the address on our side */
	uint16_t	 f_nport;
	uint8_t		 f_ws_in;	/* window rescale: shift of the stack */
	uint8_t		 f_ws_out;	/* ... and shift the client expects */
	uint32_t	 f_delta;	/* sequence offset */
	uint32_t	 f_ts_delta;	/* timestamp offset */
	uint32_t	 f_irs;		/* the client's ISN */
	uint32_t	 f_cnxt;	/* the client's next sequence seen */

	uint16_t	 f_peer;	/* peer index */
	uint16_t	 f_qlen;	/* packets queued by the slow path */
	uint64_t	 f_peer_handle;	/* the peer's handle for this flow */
	void		*f_ctx;		/* slow-path state, owned by f_role */
};

struct flow_table;

typedef void	(*flow_expire_cb)(struct flow *, void *);

struct flow_table *flow_table_new(uint32_t);
void		 flow_table_free(struct flow_table *);
struct flow	*flow_lookup(struct flow_table *, const struct flow_key *);
struct flow	*flow_insert(struct flow_table *, const struct flow_key *,
		    uint32_t);
void		 flow_remove(struct flow_table *, struct flow *);
struct flow	*flow_by_handle(struct flow_table *, uint64_t);
uint64_t	 flow_handle(const struct flow_table *, const struct flow *);
uint32_t	 flow_count(const struct flow_table *);
uint32_t	 flow_capacity(const struct flow_table *);
size_t		 flow_bytes_per_flow(const struct flow_table *);
unsigned int	 flow_expire(struct flow_table *, uint32_t, unsigned int,
		    flow_expire_cb, void *);
void		 flow_foreach(struct flow_table *, flow_expire_cb, void *);

static inline void
flow_touch(struct flow *f, uint32_t now)
{
	f->f_last = now;
}

#endif

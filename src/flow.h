/*
 * The flow table: per-connection state at a front-end or back-end, keyed by
 * the client's endpoint and our side's endpoint (the VIP at a front-end, the
 * stack endpoint at a back-end).
 *
 * flow.c owns the table: one array of flows allocated at start (or given
 * by the caller: state.c's mapping, which outlives the process), a bucket
 * array of chained indices, and a free list.  Lookup is O(1) with a keyed
 * hash (no hash flooding by spoofed ports); nothing is allocated per packet
 * or per flow; a full table refuses new flows instead of growing.
 *
 * A flow belongs to the role that created it (the front-end or the
 * back-end), which gives it its handlers, struct flow_ops: the BTCP and the
 * flow clock reach a flow's owner only through them.  The owner may hang its
 * slow-path state off f_ctx; flow.c never touches it.  The table also
 * counts the front-end's flows by client network once the owner says the
 * client proved its address, so that the front-end can keep one network
 * from taking the whole table, and nobody can spoof a network's way in.
 */
#ifndef HANDOFFD_FLOW_H
#define HANDOFFD_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* All in network byte order: keys are compared, never computed with. */
struct flow_key {
	struct ipaddr	 k_raddr;	/* the client */
	struct ipaddr	 k_laddr;	/* our side */
	uint16_t	 k_rport;
	uint16_t	 k_lport;
};

struct flow;
struct hd;

/* Why a flow ended: one name per way out, for the flow log and CLOSE. */
enum flow_end {
	FLOW_END_DONE,		/* both sides finished */
	FLOW_END_CLIENT_RST,	/* the client reset it */
	FLOW_END_SERVER_RST,	/* the serving stack reset it */
	FLOW_END_IDLE,		/* nothing moved for handoff.idle */
	FLOW_END_PEER,		/* the other node forgot it */
	FLOW_END_ABORT,		/* a handoff given up on, or a newer flow */
	FLOW_END_REFUSED,	/* the back-end did not take it */
	FLOW_END_RESPONDED,	/* the front-end answered 4xx/5xx itself */
	FLOW_END_HANDSHAKE,	/* never completed its handshake */
	FLOW_END_NOMEM,
	FLOW_END_SHUTDOWN,
	FLOW_END_EVICTED,	/* young, making room for a newer one */
	FLOW_END_RESTART,	/* its state died with the last process */
	FLOW_END_UNKNOWN,	/* no member had it (fe_lookup.c) */
	FLOW_END_MOVED,		/* another front-end forwards it */
	FLOW_END_MAX
};

/* The front-end's flows whose clients proved their address are also
 * counted by client network, its /24 or /48, as a keyed hash into one of
 * FLOW_NETS (flow_net_join, flow_net_count). */
#define FLOW_NETS	1024

/* Owners by number: what a flow kept across a restart names (its f_ops
 * pointer means nothing to the next process). */
#define FLOW_OWNER_FE	1
#define FLOW_OWNER_BE	2
#define FLOW_OWNER_MAX	3

/*
 * What the owner of a flow does with it.  input: a packet from the client;
 * output: a packet from the stack that serves it (returns 1 to send it to
 * the TUN as it now is, 0 when the owner dropped or sent it itself);
 * expire: the flow has been idle for f_timeout; close: end it now.
 */
struct flow_ops {
	const char	*fo_name;
	uint8_t		 fo_owner;	/* FLOW_OWNER_*: who, across processes */
	const char *const *fo_states;	/* f_state's names */
	unsigned int	 fo_nstates;
	void		(*fo_input)(struct hd *, struct flow *, struct pkt *);
	int		(*fo_output)(struct hd *, struct flow *, struct pkt *);
	void		(*fo_expire)(struct hd *, struct flow *);
	void		(*fo_close)(struct hd *, struct flow *, enum flow_end);
	/* An ICMP error about one of the flow's segments to the client;
	 * 1 if taken, 0 for lwIP to have it.  May be NULL. */
	int		(*fo_icmp)(struct hd *, struct flow *, struct pkt *,
			    const struct pkt_icmp *);
	/* A flow of the last process (node.state_file): lost says its
	 * slow-path state or its peer is gone.  1 if it goes on; else the
	 * owner has ended it, or resets its client. */
	int		(*fo_adopt)(struct hd *, struct flow *, int lost);
};

struct flow {
	struct flow_key	 f_key;
	uint32_t	 f_hnext;	/* bucket chain or free list: index+1 */
	uint32_t	 f_gen;		/* bumped on reuse: stale handles miss */
	uint32_t	 f_last;	/* last activity, ms (flow clock) */
	uint32_t	 f_timeout;	/* expires f_timeout ms after f_last */
	const struct flow_ops *f_ops;	/* the owner's; NULL: a free slot */
	uint8_t		 f_state;	/* owner-defined */
	uint8_t		 f_end;		/* enum flow_end, once it is over */
	uint16_t	 f_flags;	/* owner-defined */
	uint8_t		 f_owner;	/* f_ops->fo_owner; 0: a free slot */
	uint8_t		 f_cws;		/* back-end: the client's window shift
					   (a front-end's is f_ws_out) */
	uint8_t		 f_net;		/* counted in its client's network
					   (flow_net_join) */
	uint32_t	 f_start;	/* created, ms (flow clock) */
	uint64_t	 f_bytes;	/* rewritten on its way, IP bytes */
	union {
		uint64_t f_sbytes;	/* back-end: payload its stack sent */
		struct {		/* front-end: the first run of client
					   bytes passed on out of order at
					   the handoff, [start, end) */
			uint32_t f_ostart;
			uint32_t f_oend;
		}	 f_orun;
	};

	/* The rewrite, set up once per flow and applied to every packet. */
	struct ipaddr	 f_naddr;	/* replaces the address on our
					   side */
	uint16_t	 f_nport;
	uint8_t		 f_ws_in;	/* window rescale: shift of the stack */
	uint8_t		 f_ws_out;	/* ... and shift the client expects */
	/* (at a front-end: the stack's shift, and the client's) */
	uint32_t	 f_delta;	/* sequence offset */
	uint32_t	 f_ts_delta;	/* timestamp offset */
	uint32_t	 f_irs;		/* the client's ISN */
	uint32_t	 f_cnxt;	/* the client's next sequence seen */
	/* (at a front-end: in order, every byte before it seen) */
	uint32_t	 f_cmax;	/* front-end: the furthest it sent */
	/* (at a back-end: the furthest its stack sent, once committed) */
	uint32_t	 f_cack;	/* the client's last acknowledgment */
	uint32_t	 f_chal;	/* last challenge ACK it caused, ms */

	uint16_t	 f_peer;	/* peer index */
	uint16_t	 f_qlen;	/* packets queued by the slow path */
	uint64_t	 f_peer_handle;	/* the peer's handle for this flow */
	/* Slow-path state, owned by f_ops.  In slots a restarted process
	 * adopts, non-NULL says the flow had some, and it died with its
	 * process. */
	void		*f_ctx;
};

struct flow_table;

typedef void	(*flow_expire_cb)(struct flow *, void *);
/* A flow a restarted process adopts: lost says its slow-path state is gone.
 * The callback may remove the flow. */
typedef void	(*flow_adopt_cb)(struct flow *, int lost, void *);

struct flow_table *flow_table_new(uint32_t, struct flow *);
uint32_t	 flow_table_adopt(struct flow_table *,
		    const struct flow_ops *const *, uint32_t, uint32_t,
		    flow_adopt_cb, void *);
void		 flow_table_free(struct flow_table *);
struct flow	*flow_lookup(struct flow_table *, const struct flow_key *);
uint32_t	 flow_key_hash(const struct flow_table *,
		    const struct flow_key *);
uint32_t	 flow_seeded_hash(const uint64_t [2], const struct flow_key *);
struct flow	*flow_insert(struct flow_table *, const struct flow_key *,
		    uint32_t, const struct flow_ops *);
void		 flow_remove(struct flow_table *, struct flow *);
struct flow	*flow_by_handle(struct flow_table *, uint64_t);
uint64_t	 flow_handle(const struct flow_table *, const struct flow *);
uint32_t	 flow_count(const struct flow_table *);
void		 flow_net_join(struct flow_table *, struct flow *);
uint32_t	 flow_net_count(const struct flow_table *,
		    const struct ipaddr *);
uint32_t	 flow_net_total(const struct flow_table *);
uint32_t	 flow_capacity(const struct flow_table *);
size_t		 flow_bytes_per_flow(const struct flow_table *);
unsigned int	 flow_expire(struct flow_table *, uint32_t, unsigned int,
		    flow_expire_cb, void *);
void		 flow_foreach(struct flow_table *, flow_expire_cb, void *);

const char	*flow_end_name(enum flow_end);

static inline void
flow_touch(struct flow *f, uint32_t now)
{
	f->f_last = now;
}

/* A key from the client's endpoint and ours, as the fields lie. */
static inline void
flow_key_set(struct flow_key *k, const struct ipaddr *raddr, uint16_t rport,
    const struct ipaddr *laddr, uint16_t lport)
{
	k->k_raddr = *raddr;
	k->k_rport = rport;
	k->k_laddr = *laddr;
	k->k_lport = lport;
}

/* The key of a packet from the client. */
static inline void
flow_key_in(struct flow_key *k, const struct pkt *p)
{
	flow_key_set(k, &p->p_saddr, p->p_sport, &p->p_daddr, p->p_dport);
}

/* The key of a packet to the client (a stack's). */
static inline void
flow_key_out(struct flow_key *k, const struct pkt *p)
{
	flow_key_set(k, &p->p_daddr, p->p_dport, &p->p_saddr, p->p_sport);
}

#endif

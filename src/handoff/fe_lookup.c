/*
 * Several front-ends for one VIP (DESIGN.md, "Several front-ends"): the
 * network (ECMP, a VRRP failover) may bring a client's segments to a
 * front-end other than the one that handed its connection off, or to one
 * that restarted without its flows.  Such a segment names no flow here;
 * instead of the reset a TCP would send, the front-end asks every member
 * whether the connection is its own (LOOKUP).  The member that serves it
 * judges the segment against its stack's sequence numbers and answers with
 * what forwarding needs (LOOKUP_ACK): the flow is forwarded from here on,
 * as if handed off here.  Only when every member said it has no such
 * connection is the client reset.
 *
 * A lookup is a flow in FE_LOOKUP, with no slow-path state: its fields
 * while it asks are
 *   f_cack  the segment's acknowledgment (where a reset must be)
 *   f_cmax  members asked
 *   f_cnxt  members that have no such connection
 *   f_qlen  members that would not say (busy, or a blind segment)
 * Segments of the connection meanwhile are dropped: the client sends
 * them again.  Lookups are bounded by handoff.lookups a second, so that
 * junk at a VIP costs the members a bounded number of messages.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "btcp.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "pkt.h"
#include "handoff/ctl.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/peer.h"
#include "handoff/fe.h"

static struct log_rl fe_rl_lookup;

/* One token a lookup, handoff.lookups of them a second. */
static int
fe_lookup_token(struct hd *hd)
{
	uint32_t	 rate = (uint32_t)hd->hd_cfg->cfg_handoff.ch_lookups;
	uint32_t	 add;

	add = (uint32_t)(((uint64_t)(hd->hd_now - hd->hd_lookup_t) * rate) /
	    1000);
	if (add > 0) {
		hd->hd_lookup_tokens = add >= rate ||
		    hd->hd_lookup_tokens + add >= rate ? rate :
		    hd->hd_lookup_tokens + add;
		hd->hd_lookup_t = hd->hd_now;
	}
	if (hd->hd_lookup_tokens == 0)
		return 0;
	hd->hd_lookup_tokens--;
	return 1;
}

static void
fe_lookup_ask(struct hd *hd, struct flow *f, int peer, const struct pkt *p)
{
	struct ctl_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_LOOKUP;
	m.m_u.lookup.lk_flow = flow_handle(hd->hd_flows, f);
	m.m_u.lookup.lk_caddr = p->p_saddr;
	m.m_u.lookup.lk_cport = p->p_sport;
	m.m_u.lookup.lk_vaddr = p->p_daddr;
	m.m_u.lookup.lk_vport = p->p_dport;
	m.m_u.lookup.lk_seq = p->p_seq;
	m.m_u.lookup.lk_ack = p->p_ack;
	if (peer_send(hd, peer, &m) == 0)
		f->f_cmax++;
}

/*
 * A client segment for a VIP that names no connection here.  Returns 1 if
 * it was taken (asked about, or dropped while the lookups are used up), 0
 * if no lookup is done: handoff.lookups is 0, or the segment is one no
 * connection can have sent (no ACK; a SYN or a reset), which the caller
 * answers as a TCP would.
 */
int
fe_lookup(struct hd *hd, struct pkt *p)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct flow_key		 k;
	struct flow		*f;
	int			 i;

	if (cfg->cfg_handoff.ch_lookups == 0 ||
	    (p->p_flags & (TH_SYN | TH_RST | TH_ACK)) != TH_ACK)
		return 0;
	if (!fe_lookup_token(hd)) {
		hd->hd_stats.st_lookups_limited++;
		return 1;
	}
	flow_key_in(&k, p);
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now, &fe_flow_ops)) ==
	    NULL) {
		hd->hd_stats.st_drop_table_full++;
		return 1;
	}
	f->f_state = FE_LOOKUP;
	f->f_peer = PEER_LOCAL;
	f->f_cack = p->p_ack;
	f->f_timeout = cfg->cfg_handoff.ch_timeout_ms;
	hd->hd_stats.st_lookups++;
	/* This node's own stack is a member like the others. */
	fe_lookup_ask(hd, f, PEER_LOCAL, p);
	for (i = 0; i < cfg->cfg_npeers; i++)
		if (peer_is_up(hd, i))
			fe_lookup_ask(hd, f, i, p);
	return 1;
}

/* The member serves the connection: it is forwarded from here on. */
static void
fe_lookup_found(struct hd *hd, struct flow *f, int peer,
    const struct ctl_lookup_ack *la)
{
	const struct cfg_handoff *ch = &hd->hd_cfg->cfg_handoff;

	f->f_naddr = la->la_saddr;
	f->f_nport = la->la_sport;
	f->f_delta = la->la_delta;
	f->f_ts_delta = la->la_ts_delta;
	f->f_irs = la->la_irs;
	/* Where the stack is; the client may be further on, which the
	 * acceptance window allows for.  f_cack stays the acknowledgment the
	 * member judged. */
	f->f_cnxt = la->la_cnxt;
	f->f_cmax = la->la_cnxt;
	f->f_ws_in = la->la_ws;
	f->f_ws_out = la->la_cws;
	f->f_qlen = 0;
	f->f_chal = 0;
	f->f_peer = peer;
	f->f_peer_handle = la->la_bflow;
	if (la->la_flags & CTL_LK_UNSCALED)
		f->f_flags |= FLOW_UNSCALED;
	if (la->la_flags & CTL_LK_CLIENT_FIN)
		f->f_flags |= FLOW_CLIENT_FIN;
	flow_touch(f, hd->hd_now);
	if (la->la_flags & CTL_LK_LINGER) {
		f->f_flags |= FLOW_PEER_DONE;
		f->f_end = FLOW_END_DONE;
		fe_set_state(f, FE_LINGER);
		f->f_timeout = ch->ch_linger_ms;
	} else {
		f->f_flags |= FLOW_ASSIGNED;
		health_assign(hd, peer, 1);
		fe_set_state(f, FE_FORWARD);
		f->f_timeout = ch->ch_idle_ms;
	}
	hd->hd_stats.st_lookups_found++;
	log_debug("fe: %08x:%u is %s's: forwarded from here on",
	    ntohl(f->f_key.k_raddr), ntohs(f->f_key.k_rport),
	    peer_id(hd, peer));
}

/* A member's answer to a lookup. */
void
fe_on_lookup_ack(struct hd *hd, int peer, const struct ctl_lookup_ack *la)
{
	struct flow	*f = flow_by_handle(hd->hd_flows, la->la_flow);

	if (f == NULL || f->f_ops != &fe_flow_ops || f->f_state != FE_LOOKUP) {
		/* Answered already, or given up on: the member's next CLOSE
		 * about it meets no flow, and a front-end that forwards it
		 * asks again. */
		hd->hd_stats.st_ctl_stale++;
		return;
	}
	log_trace("fe: lookup of %08x:%u: %s says %s",
	    ntohl(f->f_key.k_raddr), ntohs(f->f_key.k_rport),
	    peer_id(hd, peer), ctl_lookup_status_name(la->la_status));
	switch (la->la_status) {
	case CTL_LK_FOUND:
		if (fe_stack_is(hd, peer, f->f_key.k_lport, la->la_saddr)) {
			fe_lookup_found(hd, f, peer, la);
			return;
		}
		/* Not where the configuration says the member takes
		 * connections: nowhere to forward to. */
		log_ratelim(&fe_rl_lookup, "fe: %s has a connection at a stack "
		    "address that is not its stack_address: not forwarded",
		    peer_id(hd, peer));
		f->f_qlen++;
		break;
	case CTL_LK_UNKNOWN:
		f->f_cnxt++;
		break;
	default:
		f->f_qlen++;
		break;
	}
	if (f->f_cnxt + f->f_qlen < f->f_cmax)
		return;
	/* Every member answered.  No one has it: the reset a TCP sends a
	 * segment of no connection. */
	if (f->f_qlen == 0) {
		hd->hd_stats.st_lookups_unknown++;
		btcp_rst(hd, f->f_key.k_laddr, f->f_key.k_lport,
		    f->f_key.k_raddr, f->f_key.k_rport, f->f_cack, 0, 0);
	}
	fe_close(hd, f, FLOW_END_UNKNOWN);
}

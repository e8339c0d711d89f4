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
 *   f_delta the segment's sequence number
 *   f_ws_in 1 if the segment is a reset
 *   f_chal  its window, FIN, whether it has timestamps, whether it goes
 *           on once found (FE_LK_*)
 *   f_peer_handle its timestamps (value, echo; no peer's handle yet)
 *   f_cmax  members asked, and members that cannot be asked
 *   f_cnxt  members that have no such connection
 *   f_qlen  members that would not say (busy, a blind segment, down)
 * Once the connection is found, the segment the member judged goes on,
 * rebuilt from these, if it carried no payload: a client whose connection
 * is over sends nothing but the acknowledgment of each FIN the stack sends
 * again, further apart each time, and a lingering flow here may not live
 * to see the next one.  One with payload is dropped, as the others of the
 * connection meanwhile: the client sends them again (without its payload
 * it would reach the stack as a duplicate ACK, which the client never
 * sent, towards a fast retransmission).
 *
 * Lookups are bounded by handoff.lookups a second, so that junk at a VIP
 * costs the members a bounded number of messages.  A flood of junk can use
 * them up; a moved client's segments then come again (its retransmissions,
 * or its acknowledgments of the server's), where junk from random
 * addresses does not: a 4-tuple dropped for want of a token is remembered
 * for FE_LOOKUP_AGAIN_MS, and when it comes again (not at once) it draws
 * on a second budget of the same size.  A spoofer who sends each 4-tuple
 * twice, a while apart, can spend that one too.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
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

#define FE_LOOKUP_SEEN		65536	/* 4-tuples remembered, a power of 2 */
#define FE_LOOKUP_AGAIN_MS	10000
#define FE_LOOKUP_AGAIN_MIN_MS	200

/* What f_chal holds of a lookup's segment, beside its window. */
#define FE_LK_FIN		(1U << 16)
#define FE_LK_TS		(1U << 17)
#define FE_LK_REPLAY		(1U << 18)

/* A 4-tuple dropped for want of a token: its hash, and when. */
struct fe_seen {
	uint32_t	 s_hash;
	uint32_t	 s_when;
};

/* The segment that asked, kept while the members answer. */
struct fe_lk_seg {
	uint32_t	 ls_seq;
	uint32_t	 ls_ack;
	uint32_t	 ls_what;	/* window, FE_LK_FIN, FE_LK_TS */
	uint64_t	 ls_ts;		/* value << 32 | echo */
	int		 ls_rst;
};

static struct log_rl fe_rl_lookup;

void
fe_lookup_free(struct hd *hd)
{
	free(hd->hd_lookup_seen);
	hd->hd_lookup_seen = NULL;
}

/*
 * A token from first, handoff.lookups a second.  A 4-tuple that found
 * none is remembered (not over one remembered less than a second ago),
 * and draws on again when it comes again at least FE_LOOKUP_AGAIN_MIN_MS
 * later: junk sent twice at once does not.  The table, which lookups and
 * ICMP relays share, is allocated the first time a budget runs out.
 */
static int
fe_token(struct hd *hd, const struct flow_key *k, struct budget *first,
    struct budget *again)
{
	uint32_t	 rate = (uint32_t)hd->hd_cfg->cfg_handoff.ch_lookups;
	uint32_t	 h, age;
	struct fe_seen	*s;

	if (budget_take(first, rate, hd->hd_now))
		return 1;
	if (hd->hd_lookup_seen == NULL && (hd->hd_lookup_seen =
	    calloc(FE_LOOKUP_SEEN, sizeof(struct fe_seen))) == NULL)
		return 0;
	h = flow_key_hash(hd->hd_flows, k) | 1;
	s = &((struct fe_seen *)hd->hd_lookup_seen)[h & (FE_LOOKUP_SEEN - 1)];
	age = hd->hd_now - s->s_when;
	if (s->s_hash == h && age >= FE_LOOKUP_AGAIN_MIN_MS &&
	    age < FE_LOOKUP_AGAIN_MS && budget_take(again, rate, hd->hd_now)) {
		s->s_hash = 0;
		return 1;
	}
	if (s->s_hash != h && (s->s_hash == 0 || age >= 1000)) {
		s->s_hash = h;
		s->s_when = hd->hd_now;
	}
	return 0;
}

/* ... for a lookup, and no more lookups at once than a sixteenth of the
 * table: lookups must not take the room of connections. */
static int
fe_lookup_token(struct hd *hd, const struct flow_key *k)
{
	if (hd->hd_fe_nlookups >= flow_capacity(hd->hd_flows) / 16)
		return 0;
	return fe_token(hd, k, &hd->hd_lookup_first, &hd->hd_lookup_again);
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
	if (p->p_flags & TH_RST)
		m.m_u.lookup.lk_flags = CTL_LK_RST;
	if (peer_send(hd, peer, &m) == 0)
		f->f_cmax++;
}

/* What the segment that asks is, beside its numbers (f_cack, f_delta,
 * f_ws_in), so that it can go on once found: one without payload. */
static void
fe_lookup_keep(struct flow *f, const struct pkt *p)
{
	struct pkt_opts	 o;

	f->f_chal = p->p_win;
	f->f_peer_handle = 0;
	if (p->p_paylen > 0)
		return;
	f->f_chal |= FE_LK_REPLAY;
	if (p->p_flags & TH_FIN)
		f->f_chal |= FE_LK_FIN;
	if (pkt_opts_parse(p, &o) == 0 && o.o_has_ts) {
		f->f_chal |= FE_LK_TS;
		f->f_peer_handle = (uint64_t)o.o_tsval << 32 | o.o_tsecr;
	}
}

/*
 * A client segment for a VIP that names no connection here.  Returns 1 if
 * it was taken (asked about, or dropped while the lookups are used up), 0
 * if no lookup is done: handoff.lookups is 0, or the segment is one no
 * connection can have sent (a SYN, or neither an ACK nor a reset), which
 * the caller answers as a TCP would.  A member that is down may have the
 * connection: it counts as one that would not say, and so no one resets
 * the client (a front-end just started, whose channels are not up yet,
 * resets nothing); so does one of an older build, which cannot be asked
 * (psk.h).  One down for control.dead_after is gone, its connections
 * given up (fe_on_peer_gone): it has none to say.
 */
int
fe_lookup(struct hd *hd, struct pkt *p)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct flow_key		 k;
	struct flow		*f;
	int			 i;

	if (cfg->cfg_handoff.ch_lookups == 0 || (p->p_flags & TH_SYN) ||
	    !(p->p_flags & (TH_RST | TH_ACK)))
		return 0;
	flow_key_in(&k, p);
	if (!fe_lookup_token(hd, &k)) {
		hd->hd_stats.st_lookups_limited++;
		return 1;
	}
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now, &fe_flow_ops)) ==
	    NULL) {
		hd->hd_stats.st_drop_table_full++;
		return 1;
	}
	f->f_state = FE_LOOKUP;
	hd->hd_fe_nlookups++;
	f->f_peer = PEER_LOCAL;
	f->f_cack = p->p_ack;
	f->f_delta = p->p_seq;
	f->f_ws_in = (p->p_flags & TH_RST) != 0;
	fe_lookup_keep(f, p);
	f->f_timeout = cfg->cfg_handoff.ch_timeout_ms;
	hd->hd_stats.st_lookups++;
	/* This node's own stack is a member like the others. */
	fe_lookup_ask(hd, f, PEER_LOCAL, p);
	for (i = 0; i < cfg->cfg_npeers; i++) {
		/* A build that reads no IPv6 frame holds no IPv6 flow. */
		if (p->p_v6 && peer_speaks_lookup(hd, i, 0) &&
		    !peer_speaks_ipv6(hd, i, 0))
			continue;
		if (peer_speaks_lookup(hd, i, 0))
			fe_lookup_ask(hd, f, i, p);
		else if (!cfg->cfg_peers[i].cp_retired && !peer_gone(hd, i)) {
			f->f_cmax++;
			f->f_qlen++;
		}
	}
	/* None up, not even this node's own queue: nothing to wait for. */
	if (f->f_cnxt + f->f_qlen >= f->f_cmax)
		fe_close(hd, f, FLOW_END_UNKNOWN);
	return 1;
}

/* The segment that asked (fe_lookup_keep), on to the stack as any of a
 * forwarded flow: a reset, which the member found exact, or the
 * acknowledgment (and FIN) with the client's window and timestamps. */
static void
fe_lookup_replay(struct hd *hd, struct flow *f, const struct fe_lk_seg *ls)
{
	struct pkt_opts	 o, *op = NULL;
	struct pkt	 p;
	uint8_t		 flags = TH_ACK;
	size_t		 n;

	if (!ls->ls_rst && !(ls->ls_what & FE_LK_REPLAY))
		return;
	memset(&o, 0, sizeof(o));
	if (ls->ls_rst)
		flags = TH_RST;
	else if (ls->ls_what & FE_LK_FIN)
		flags |= TH_FIN;
	if (!ls->ls_rst && (ls->ls_what & FE_LK_TS)) {
		o.o_has_ts = 1;
		o.o_tsval = (uint32_t)(ls->ls_ts >> 32);
		o.o_tsecr = (uint32_t)ls->ls_ts;
		op = &o;
	}
	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &f->f_key.k_raddr,
	    f->f_key.k_rport, &f->f_key.k_laddr, f->f_key.k_lport, ls->ls_seq,
	    ls->ls_rst ? 0 : ls->ls_ack, flags,
	    ls->ls_rst ? 0 : (uint16_t)ls->ls_what, op, NULL, 0, 0);
	if (n > 0 && pkt_parse(&p, hd->hd_txbuf, n) == PKT_OK)
		fe_forward(hd, f, &p);
}

/* The member serves the connection: it is forwarded from here on. */
static void
fe_lookup_found(struct hd *hd, struct flow *f, int peer,
    const struct ctl_lookup_ack *la)
{
	const struct cfg_handoff *ch = &hd->hd_cfg->cfg_handoff;
	struct fe_lk_seg ls;
	char		 c[ADDR_PORT_STRLEN];

	ls.ls_seq = f->f_delta;
	ls.ls_ack = f->f_cack;
	ls.ls_what = f->f_chal;
	ls.ls_ts = f->f_peer_handle;
	ls.ls_rst = f->f_ws_in;

	hd->hd_fe_nlookups--;
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
	/* A member holds the connection: its client is no spoofer. */
	flow_net_join(hd->hd_flows, f);
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
	log_debug("fe: %s is %s's: forwarded from here on",
	    addr_port_str(&f->f_key.k_raddr, f->f_key.k_rport, c, sizeof(c)),
	    peer_id(hd, peer));
	fe_lookup_replay(hd, f, &ls);
}

/* A member's answer to a lookup. */
void
fe_on_lookup_ack(struct hd *hd, int peer, const struct ctl_lookup_ack *la)
{
	struct flow	*f = flow_by_handle(hd->hd_flows, la->la_flow);
	char		 c[ADDR_PORT_STRLEN];

	if (f == NULL || f->f_ops != &fe_flow_ops || f->f_state != FE_LOOKUP) {
		/* Answered already, or given up on: the member's next CLOSE
		 * about it meets no flow, and a front-end that forwards it
		 * asks again. */
		hd->hd_stats.st_ctl_stale++;
		return;
	}
	log_trace("fe: lookup of %s: %s says %s",
	    addr_port_str(&f->f_key.k_raddr, f->f_key.k_rport, c, sizeof(c)),
	    peer_id(hd, peer), ctl_lookup_status_name(la->la_status));
	switch (la->la_status) {
	case CTL_LK_FOUND:
		if (fe_stack_is(hd, peer, f->f_key.k_lport, &f->f_key.k_laddr,
		    &la->la_saddr)) {
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
	 * segment of no connection (none for a reset). */
	if (f->f_qlen == 0 && !f->f_ws_in) {
		hd->hd_stats.st_lookups_unknown++;
		btcp_rst(hd, &f->f_key.k_laddr, f->f_key.k_lport,
		    &f->f_key.k_raddr, f->f_key.k_rport, f->f_cack, 0, 0);
	}
	fe_close(hd, f, FLOW_END_UNKNOWN);
}

/*
 * An ICMP error about a segment a VIP sent that no flow here sent: ECMP
 * hashes a router's error by the router's address, not the connection's,
 * and so brings it to any front-end.  A fragmentation needed (packet too
 * big), its checksum checked (btcp_icmp), goes to this node's own stack
 * if the connection is its own (be_icmp); else it is cut after the quoted
 * TCP header's first 8 bytes, its checksum mended, and goes to every
 * member that reads ICMP frames, and the member that serves the
 * connection sends it on to its stack, whose path MTU discovery would
 * otherwise never hear of the smaller path, and whose connection would
 * hang (a black hole).  Other errors are soft for a connection that is
 * established, and go where they went before.  Frames are bounded as
 * lookups are (fe_token): handoff.lookups a second, and a second budget
 * for a 4-tuple that comes again, as a stuck connection's errors do at
 * each retransmission and a forger's from random quotes do not.  Each
 * member's stack judges the quoted sequence number.  Returns 1 if it took
 * the packet.
 */
int
fe_icmp_relay(struct hd *hd, struct pkt *p, const struct pkt_icmp *ic)
{
	uint8_t		 buf[CTL_ICMP_MAX];
	struct ctl_msg	 m;
	struct flow_key	 k;
	struct pkt	 q;
	size_t		 n;
	int		 i;

	if (p->p_v6 ? ic->ic_type != ICMP6_PACKET_TOO_BIG :
	    ic->ic_code != ICMP_UNREACH_NEEDFRAG)
		return 0;
	if (be_icmp(hd, p, ic))
		return 1;
	n = (size_t)p->p_iphl + 8 + ic->ic_inner_hl + 8;
	if (hd->hd_cfg->cfg_handoff.ch_lookups == 0 || n > sizeof(buf) ||
	    n > p->p_len)
		return 0;
	memcpy(buf, p->p_ip, n);
	if (p->p_v6)
		pkt_put16(buf + IP6_OFF_PLEN, (uint16_t)(n - PKT_IP6_HLEN));
	else {
		pkt_put16(buf + IP_OFF_TOTLEN, (uint16_t)n);
		pkt_put16(buf + IP_OFF_CSUM, pkt_ip_csum(buf, p->p_iphl));
	}
	if (pkt_parse(&q, buf, n) != PKT_NOT_TCP)
		return 0;
	pkt_icmp_csum(&q);
	flow_key_set(&k, &ic->ic_isrc, ic->ic_isport, &ic->ic_idst,
	    ic->ic_idport);
	if (!fe_token(hd, &k, &hd->hd_icmp_first, &hd->hd_icmp_again)) {
		hd->hd_stats.st_icmp_relay_limited++;
		return 1;
	}
	memset(&m, 0, sizeof(m));
	m.m_type = CTL_ICMP;
	m.m_u.icmp.ic_pkt = buf;
	m.m_u.icmp.ic_len = (uint16_t)n;
	hd->hd_stats.st_icmp_relayed++;
	for (i = 0; i < hd->hd_cfg->cfg_npeers; i++)
		if (peer_speaks_icmp(hd, i, 0))
			peer_send(hd, i, &m);
	return 1;
}

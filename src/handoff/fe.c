/*
 * The front-end: a client's connection to a VIP, from its SYN to the end of
 * its handed-off life.  In lwip handshake mode lwIP answers the handshake
 * and receives the request while the BTCP watches both directions; once
 * the request head is complete the connection is either relayed to the
 * local web server or frozen, handed off, and from the HANDOFF_ACK on only
 * forwarded: rewritten client packets to the back-end's stack.
 *
 * States (flow.f_state) and who owns the packets in each:
 *   FE_SYN      SYN seen, lwIP handshaking          -> lwIP
 *   FE_COLLECT  accepted, reading the request head  -> lwIP
 *   FE_HANDOFF  HANDOFF sent, waiting for the ACK   -> queued here
 *   FE_RESPOND  lwIP answers 400/408/431/503, drains -> lwIP
 *   FE_FORWARD  handed off                          -> rewritten to B
 *   FE_LINGER   over; last ACKs and FINs            -> rewritten to B
 *   FE_LOCAL    relayed to this node's server       -> lwIP (the relay's)
 *   FE_DEAD     lost in a restart                   -> reset
 *   FE_LOOKUP   another front-end's? members asked  -> dropped
 *
 * The request head decides the pool (route.c, the service's rules) and the
 * pool's policy the member (pool.c), among the members health.c lets in.
 * A HANDOFF that is refused, times out, or whose peer's control channel
 * drops is retried on the next member: the front-end still owns the
 * handshake and the request.  A back-end that accepts after its HANDOFF
 * timed out may already have answered the client in the sequence space
 * another member now uses; rather than let two answers mix in the
 * client's stream, such a connection is reset and counted
 * (handoffs_late).  The first request decides the back-end for the life
 * of the connection: later requests on a kept-alive connection go where
 * the first went.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

#include "btcp.h"
#include "flow.h"
#include "handoffd.h"
#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "alog.h"
#include "log.h"
#include "pkt.h"
#include "handoff/cookie.h"
#include "handoff/ctl.h"
#include "handoff/flowlog.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/hello.h"
#include "handoff/peer.h"
#include "handoff/pool.h"
#include "handoff/route.h"
#include "handoff/relay.h"
#include "handoff/rw.h"
#include "handoff/fe.h"

/* What clients' connections cause is logged at most once a second. */
static struct log_rl fe_rl_full;
static struct log_rl fe_rl_busy;
static struct log_rl fe_rl_stack;
static struct log_rl fe_rl_cancelled;
static struct log_rl fe_rl_timeout;
static struct log_rl fe_rl_refused;
static struct log_rl fe_rl_local;

static void	fe_input(struct hd *, struct flow *, struct pkt *);
static int	fe_output(struct hd *, struct flow *, struct pkt *);
static int	fe_icmp(struct hd *, struct flow *, struct pkt *,
		    const struct pkt_icmp *);
static void	fe_expire(struct hd *, struct flow *);
static int	fe_adopt(struct hd *, struct flow *, int);
static void	fe_cancel(struct fe_conn *);
static void	fe_give_up(struct fe_conn *, uint64_t, enum health_ho_result);
static void	fe_young_leave(struct fe_conn *);
static void	fe_coming_leave(struct fe_conn *);
static int	fe_local_dial(struct fe_conn *);
static void	fe_local_refused(struct fe_conn *, int);
static void	fe_syn_watch(struct hd *, struct flow *, struct fe_conn *);
static int	fe_stack_addr(const struct hd *, int, uint16_t,
		    const struct ipaddr *, struct ipaddr *);

static const char *const fe_state_names[] = {
	"none", "syn", "collect", "handoff", "forward", "linger", "respond",
	"dead", "local", "lookup"
};

const struct flow_ops fe_flow_ops = {
	"front-end", FLOW_OWNER_FE, fe_state_names,
	sizeof(fe_state_names) / sizeof(fe_state_names[0]),
	fe_input, fe_output, fe_expire, fe_close, fe_icmp, fe_adopt
};

void
fe_set_state(struct flow *f, enum fe_state st)
{
	char	 c[ADDR_PORT_STRLEN];

	log_trace("fe: flow %s %s -> %s", addr_port_str(&f->f_key.k_raddr,
	    f->f_key.k_rport, c, sizeof(c)), fe_state_names[f->f_state],
	    fe_state_names[st]);
	f->f_state = st;
	if (st != FE_SYN && st != FE_COLLECT && f->f_ctx != NULL)
		fe_young_leave(f->f_ctx);
}

/* The young: connections not handed off yet, half-open or reading their
 * request, whose number a flood would raise.  An eighth of the table; in a
 * small one 64, but at most half of what the front-end may fill (past
 * that, a flood would fill it before the oldest ever gave way). */
static uint32_t
fe_young_max(const struct hd *hd)
{
	uint32_t cap = flow_capacity(hd->hd_flows);
	uint32_t floor = (cap - cap / 8) / 2;

	if (floor > 64)
		floor = 64;
	return cap / 8 < floor ? floor : cap / 8;
}

static void
fe_young_join(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;

	TAILQ_INSERT_TAIL(&hd->hd_fe_young, fc, fc_young);
	fc->fc_is_young = 1;
	hd->hd_fe_nyoung++;
}

static void
fe_young_leave(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;

	if (!fc->fc_is_young)
		return;
	TAILQ_REMOVE(&hd->hd_fe_young, fc, fc_young);
	fc->fc_is_young = 0;
	hd->hd_fe_nyoung--;
}

/*
 * Room for a new connection at a VIP from client: the young ones are
 * bounded, the oldest giving way (a half-open one silently: it may be
 * spoofed), so that a flood neither fills the table nor keeps a real client
 * out for long; an eighth of the table stays for connections handed to
 * this node; and once the front-end's connections fill half the rest, a
 * client network that holds a sixteenth of it (FE_NET_MIN at least) opens
 * no more, so that filling it takes nine networks holding connections of
 * their own, while one busy network alone (a large NAT) may still fill
 * half.  Returns -1 when there is none.
 */
int
fe_make_room(struct hd *hd, const struct ipaddr *client)
{
	uint32_t	 cap = flow_capacity(hd->hd_flows);
	uint32_t	 fe_cap = cap - cap / 8;
	struct fe_conn	*old;
	char		 a[ADDR_STRLEN];

	if (flow_net_total(hd->hd_flows) >= fe_cap / 2 &&
	    flow_net_count(hd->hd_flows, client) >= (fe_cap / 16 > FE_NET_MIN ?
	    fe_cap / 16 : FE_NET_MIN)) {
		hd->hd_stats.st_drop_network_busy++;
		log_ratelim(&fe_rl_busy, "fe: the network of %s holds its "
		    "share of the flow table, which is half full: new "
		    "connection dropped", addr_str(client, a, sizeof(a)));
		return -1;
	}
	if (hd->hd_fe_nyoung >= fe_young_max(hd) &&
	    (old = TAILQ_FIRST(&hd->hd_fe_young)) != NULL) {
		hd->hd_stats.st_fe_evicted++;
		if (old->fc_cookie)
			fe_cookie_reset(old);
		fe_close(hd, old->fc_flow, old->fc_flow->f_state == FE_SYN ?
		    FLOW_END_HANDSHAKE : FLOW_END_EVICTED);
	}
	if (flow_count(hd->hd_flows) >= fe_cap) {
		hd->hd_stats.st_drop_table_full++;
		log_ratelim(&fe_rl_full, "fe: flow table full (%u flows, %u "
		    "kept for handoffs): new connection dropped", cap,
		    cap / 8);
		return -1;
	}
	return 0;
}

static void
fe_queue_free(struct fe_conn *fc)
{
	struct fe_qpkt	*q;

	while ((q = fc->fc_qhead) != NULL) {
		fc->fc_qhead = q->q_next;
		free(q);
	}
	fc->fc_qtail = &fc->fc_qhead;
	fc->fc_flow->f_qlen = 0;
}

/* Detaches our callbacks from lwIP's pcb: lwIP must never call into a
 * freed fe_conn. */
static void
fe_detach_pcb(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

/* Opens lwIP's window for what it was held shut on: lwIP resets a
 * connection closed with unread bytes, and a relay expects them read. */
static void
fe_release_window(struct fe_conn *fc)
{
	if (fc->fc_pcb != NULL && fc->fc_withheld > 0) {
		port_tcp_recved(fc->fc_pcb, fc->fc_withheld);
		fc->fc_withheld = 0;
	}
}

/* The flow no longer counts against the member it was handed to. */
static void
fe_unassign(struct hd *hd, struct flow *f)
{
	if (f->f_flags & FLOW_ASSIGNED) {
		health_assign(hd, f->f_peer, -1);
		f->f_flags &= ~FLOW_ASSIGNED;
	}
}

/* Who fe_on_peer_gone() looks for. */
struct fe_gone {
	struct hd	*g_hd;
	int		 g_peer;
	int		 g_lost;
};

/*
 * Resets the client of a forwarded flow from the VIP, at its last
 * acknowledgment: the sequence number it most likely expects, as RFC 5961
 * wants; if it expects more, its challenge ACK meets no flow here, and the
 * VIP answers that with the reset a TCP gives a segment of no connection.
 */
static void
fe_reset_client(struct hd *hd, const struct flow *f)
{
	btcp_rst(hd, &f->f_key.k_laddr, f->f_key.k_lport, &f->f_key.k_raddr,
	    f->f_key.k_rport, f->f_cack, f->f_cmax, TH_ACK);
}

/* A connection is done with the configuration it started under; one a
 * reload replaced goes with the last of them. */
static void
fe_cfg_unref(struct hd *hd, struct cfg *cfg)
{
	if (--cfg->cfg_refs == 0 && cfg != hd->hd_cfg)
		cfg_free(cfg);
}

/* What the per-service counters see of fc's service: nothing once a
 * reload took it away. */
static const struct cfg_service *
fe_svc_counted(const struct fe_conn *fc)
{
	return fc->fc_cfg == fc->fc_hd->hd_cfg ? fc->fc_svc : NULL;
}

/* The slow-path state is over: the flow is forwarded, or ends. */
static void
fe_conn_free(struct flow *f)
{
	struct fe_conn	*fc = f->f_ctx;

	fe_young_leave(fc);
	fe_coming_leave(fc);
	if (fc->fc_ldial != NULL) {
		int fd = event_get_fd(fc->fc_ldial);

		event_free(fc->fc_ldial);
		close(fd);
		health_assign(fc->fc_hd, PEER_LOCAL, -1);
	}
	fe_queue_free(fc);
	if (fc->fc_timer != NULL)
		event_free(fc->fc_timer);
	evbuffer_free(fc->fc_req);
	req_free(fc->fc_rp);
	free(fc->fc_key);
	free(fc->fc_alreq);
	fe_cfg_unref(fc->fc_hd, fc->fc_cfg);
	free(fc);
	f->f_ctx = NULL;
}

/* The part of a front-end's line its flow knows, or 0 when the line is
 * written already or there is none (the flag is in the flow so that a
 * restart's next process knows too). */
static int
fe_alog_begin(struct hd *hd, struct flow *f, struct alog_fe *a)
{
	if (hd->hd_alog == NULL || (f->f_flags & FLOW_LOGGED) ||
	    f->f_state == FE_SYN)
		return 0;
	f->f_flags |= FLOW_LOGGED;
	memset(a, 0, sizeof(*a));
	a->af_caddr = f->f_key.k_raddr;
	a->af_cport = f->f_key.k_rport;
	a->af_vaddr = f->f_key.k_laddr;
	a->af_vport = f->f_key.k_lport;
	a->af_outcome = "reset";
	a->af_latency_us = -1;
	return 1;
}

/*
 * The connection's one line in the access log: what was decided (outcome)
 * and, for a member that has it, which (peer; -1: none).  A connection
 * that never completed its handshake has none: it may be spoofed.
 */
void
fe_alog(struct fe_conn *fc, const char *outcome, int peer)
{
	struct hd	*hd = fc->fc_hd;
	struct alog_fe	 a;

	if (!fe_alog_begin(hd, fc->fc_flow, &a))
		return;
	a.af_req = fc->fc_alreq;
	a.af_pool = fc->fc_pool >= 0 ?
	    hd->hd_cfg->cfg_pools[fc->fc_pool].cp_name : NULL;
	a.af_member = peer != -1 ? peer_id(hd, peer) : NULL;
	a.af_outcome = outcome;
	if (peer != -1 && fc->fc_t0_us != 0)
		a.af_latency_us = log_mono_us() - fc->fc_t0_us;
	alog_fe(hd->hd_alog, &a);
}

/* Ends that leave the client nothing polite to be told. */
static int
fe_end_resets(enum flow_end why)
{
	return why == FLOW_END_ABORT || why == FLOW_END_NOMEM ||
	    why == FLOW_END_SHUTDOWN;
}

/*
 * The one way a front-end flow ends.  A pcb still ours is closed politely
 * (lwIP finishes the FIN exchange on its own) or, for an end that resets,
 * aborted.
 */
void
fe_close(struct hd *hd, struct flow *f, enum flow_end why)
{
	struct fe_conn	*fc = f->f_ctx;

	/* A lookup that found nothing is no connection's record.  A local
	 * relay's flow gets its record here only if it goes before the relay
	 * ends (fe_on_local_done): at a stop, or idle. */
	if (f->f_state == FE_LOOKUP)
		hd->hd_fe_nlookups--;
	else
		flowlog_end(hd, f, "fe", &f->f_key.k_laddr, f->f_key.k_lport,
		    fc != NULL ? fc->fc_peer : f->f_peer,
		    f->f_state == FE_LINGER ? f->f_end : why);
	if (fc != NULL)
		fe_alog(fc, why == FLOW_END_DONE ? "closed" : "reset", -1);
	fe_unassign(hd, f);
	if (fc != NULL) {
		if (fc->fc_synpcb != NULL) {
			/* Half-open: gone without a word (it may be spoofed). */
			fe_detach_pcb(fc->fc_synpcb);
			tcp_abandon(fc->fc_synpcb, 0);
			fc->fc_synpcb = NULL;
		}
		if (fc->fc_pcb != NULL) {
			fe_detach_pcb(fc->fc_pcb);
			fe_release_window(fc);
			if (fe_end_resets(why) || tcp_close(fc->fc_pcb) != ERR_OK)
				tcp_abort(fc->fc_pcb);
		}
		fe_conn_free(f);
	}
	flow_remove(hd->hd_flows, f);
}

/* Sends a CLOSE about f to its back-end. */
static void
fe_send_close(struct hd *hd, struct flow *f, int peer, uint64_t bflow,
    enum ctl_reason why, uint32_t seq)
{
	struct ctl_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_flow = bflow;
	m.m_u.close.cl_sflow = flow_handle(hd->hd_flows, f);
	m.m_u.close.cl_reason = why;
	m.m_u.close.cl_seq = seq;
	m.m_u.close.cl_caddr = f->f_key.k_raddr;
	m.m_u.close.cl_cport = f->f_key.k_rport;
	m.m_u.close.cl_vport = f->f_key.k_lport;
	if (peer_send(hd, peer, &m) == -1)
		log_debug("fe: CLOSE to %s lost: control channel down",
		    peer_id(hd, peer));
}

/* The slow-path state of a new front-end flow, or NULL. */
struct fe_conn *
fe_conn_new(struct hd *hd, struct flow *f, const struct cfg_service *svc)
{
	struct fe_conn	*fc;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	/* A TLS service's head is its ClientHello, bounded like a request
	 * head. */
	if ((fc->fc_req = evbuffer_new()) == NULL ||
	    (fc->fc_rp = svc->cs_protocol == CFG_PROTO_TLS ?
	    req_new_tls((size_t)hd->hd_cfg->cfg_handoff.ch_request_head_max) :
	    req_new()) == NULL) {
		if (fc->fc_req != NULL)
			evbuffer_free(fc->fc_req);
		free(fc);
		return NULL;
	}
	fc->fc_hd = hd;
	fc->fc_flow = f;
	fc->fc_cfg = hd->hd_cfg;
	fc->fc_cfg->cfg_refs++;
	fc->fc_svc = svc;
	fe_young_join(fc);
	fc->fc_qtail = &fc->fc_qhead;
	fc->fc_peer = -1;
	fc->fc_pool = -1;
	fc->fc_fws = FE_NO_WS;
	return fc;
}

/*
 * Whether p, at a VIP whose lwip handshake a reload took away, is for a
 * connection lwIP still holds there (one it relays to this node's server):
 * lwIP's, not the cookie check's.  Only such VIPs cost a walk of lwIP's
 * connections, and only until none is left there (looked at once a
 * second).
 */
static int
fe_lwip_left(struct hd *hd, const struct pkt *p)
{
	struct hd_vip_left	*vl;
	uint16_t		 port = ntohs(p->p_dport);
	int			 i;

	for (i = 0; i < hd->hd_fe_nleft; i++) {
		vl = &hd->hd_fe_left[i];
		if (!addr_eq(&vl->vl_addr, &p->p_daddr) || vl->vl_port != port)
			continue;
		if (hd->hd_now - vl->vl_checked >= 1000) {
			vl->vl_checked = hd->hd_now;
			if (!port_tcp_has_active(&vl->vl_addr, port, NULL, 0)) {
				*vl = hd->hd_fe_left[--hd->hd_fe_nleft];
				return 0;
			}
		}
		return port_tcp_has_active(&p->p_daddr, port, &p->p_saddr,
		    ntohs(p->p_sport));
	}
	return 0;
}

/* vip's place among the VIPs a reload took from lwIP, or -1. */
static int
fe_lwip_find(const struct hd *hd, const struct cfg_endpoint *vip)
{
	int	 i;

	for (i = 0; i < hd->hd_fe_nleft; i++)
		if (addr_eq(&hd->hd_fe_left[i].vl_addr, &vip->ep_addr) &&
		    hd->hd_fe_left[i].vl_port == ntohs(vip->ep_port))
			return i;
	return -1;
}

/* A reload closed the lwip listener of vip: lwIP may hold its connections
 * a while yet.  Remembered until it holds none, or the VIP listens again
 * (fe_lwip_back). */
static void
fe_lwip_gone(struct hd *hd, const struct cfg_endpoint *vip)
{
	struct hd_vip_left	*vl;

	if (fe_lwip_find(hd, vip) >= 0)
		return;
	/* Full: the oldest goes, whose connections most likely ended. */
	if (hd->hd_fe_nleft == CFG_MAX_SERVICES)
		memmove(&hd->hd_fe_left[0], &hd->hd_fe_left[1],
		    sizeof(hd->hd_fe_left[0]) * --hd->hd_fe_nleft);
	vl = &hd->hd_fe_left[hd->hd_fe_nleft++];
	vl->vl_addr = vip->ep_addr;
	vl->vl_port = ntohs(vip->ep_port);
	vl->vl_checked = hd->hd_now;
}

static void
fe_lwip_back(struct hd *hd, const struct cfg_endpoint *vip)
{
	int	 i = fe_lwip_find(hd, vip);

	if (i >= 0)
		hd->hd_fe_left[i] = hd->hd_fe_left[--hd->hd_fe_nleft];
}

/* A SYN for a VIP with no flow yet.  In the lwip handshake: remember what
 * the client offered and let lwIP answer. */
static void
fe_syn(struct hd *hd, const struct cfg_service *svc, struct pkt *p)
{
	struct flow_key	 k;
	struct flow	*f;
	struct fe_conn	*fc;
	struct pkt_opts	 o;

	/* Past the bound of half-open connections, a SYN costs nothing:
	 * it gets a cookie, as with the cookie handshake. */
	if (svc->cs_handshake == CFG_HS_COOKIE ||
	    hd->hd_fe_nyoung >= fe_young_max(hd)) {
		fe_cookie_syn(hd, svc, p);
		return;
	}
	if (pkt_opts_parse(p, &o) == -1) {
		hd->hd_stats.st_drop_bad_opts++;
		return;
	}
	flow_key_in(&k, p);
	/* A client reusing its port within lwIP's TIME_WAIT is a new
	 * connection, and lwIP must answer it as one. */
	port_tcp_forget_timewait(&p->p_daddr, ntohs(p->p_dport), &p->p_saddr,
	    ntohs(p->p_sport));
	if (fe_make_room(hd, &p->p_saddr) == -1)
		return;
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now, &fe_flow_ops)) ==
	    NULL) {
		hd->hd_stats.st_drop_table_full++;
		return;
	}
	if ((fc = fe_conn_new(hd, f, svc)) == NULL) {
		flow_remove(hd->hd_flows, f);
		hd->hd_stats.st_drop_nomem++;
		return;
	}
	fc->fc_irs = p->p_seq;
	fc->fc_cmss = o.o_mss ? o.o_mss : 536;
	fc->fc_cws = o.o_has_ws ? (o.o_ws > 14 ? 14 : o.o_ws) : FE_NO_WS;
	fc->fc_csack = o.o_sack_ok;
	fc->fc_cts = o.o_has_ts;
	fc->fc_ctsval = o.o_tsval;
	fc->fc_cwin = p->p_win;
	f->f_state = FE_SYN;
	f->f_irs = p->p_seq;
	f->f_ctx = fc;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_request_timeout_ms;
	hd->hd_stats.st_fe_syns++;
	btcp_to_lwip(hd, p);
	fe_syn_watch(hd, f, fc);
}

/*
 * A packet for a VIP that has no flow: a SYN starts one; so does the ACK
 * that returns a valid SYN cookie (in the lwip handshake too, which sends
 * cookies while its half-open connections are at their bound).  Anything
 * else may be a connection another front-end handed off, which the
 * members are asked about (fe_lookup.c), or no connection's: a cookie VIP
 * answers it with the reset a TCP sends, an lwip one leaves that to lwIP.
 */
static int
fe_vip_input(struct hd *hd, const struct cfg_service *svc, struct pkt *p)
{
	if ((p->p_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		fe_syn(hd, svc, p);
		return 1;
	}
	if (svc->cs_handshake == CFG_HS_COOKIE && fe_lwip_left(hd, p))
		return 0;
	if ((p->p_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_ACK &&
	    fe_cookie_ack(hd, svc, p))
		return 1;
	/* lwIP's own, at an lwip VIP: a connection relayed here closing, or
	 * in TIME_WAIT */
	if (svc->cs_handshake != CFG_HS_COOKIE &&
	    port_tcp_has_pcb(&p->p_daddr, ntohs(p->p_dport), &p->p_saddr,
	    ntohs(p->p_sport)))
		return 0;
	if (fe_lookup(hd, p))
		return 1;
	if (svc->cs_handshake == CFG_HS_COOKIE) {
		btcp_reply_rst(hd, p);
		return 1;
	}
	return 0;
}

/*
 * Whether a client segment of a forwarded flow is one the client can have
 * sent (RFC 5961, as far as a front-end sees): it lies within the window
 * the stack can offer of the client's next sequence number, which the
 * front-end knows because it sees every byte the client sends, and its
 * acknowledgment lies within a client's window of the last one, since the
 * server cannot have sent more than that unacknowledged.  Only such
 * segments move the flow's state; the others still go to the stack, which
 * judges them again with its exact state.  A segment behind the edge
 * counts too: after a FIN lost on the way, the client's next ACK is past
 * it, and only the FIN sent again says the client has finished.
 */
static int
fe_acceptable(const struct flow *f, const struct pkt *p)
{
	uint32_t	 rwnd = rw_max_window(f->f_ws_in);
	uint32_t	 cwnd = rw_max_window(f->f_ws_out);
	uint32_t	 end = p->p_seq + p->p_paylen + !!(p->p_flags & TH_FIN);

	/* RFC 793: a synchronized connection takes nothing without ACK. */
	if (!(p->p_flags & TH_ACK))
		return 0;
	if (seq_lt(end, f->f_cnxt - rwnd) ||
	    seq_geq(p->p_seq, f->f_cmax + rwnd))
		return 0;
	if (seq_lt(p->p_ack, f->f_cack - cwnd) ||
	    seq_gt(p->p_ack, f->f_cack + cwnd))
		return 0;
	return 1;
}

/* At most one challenge a flow per FE_CHALLENGE_MS, and none counted
 * across flows: a shared counter tells an off-path prober too much
 * (CVE-2016-5696). */
int
fe_challenge_ok(struct hd *hd, struct flow *f)
{
	if (f->f_chal != 0 &&
	    (int32_t)(hd->hd_now - f->f_chal) < FE_CHALLENGE_MS) {
		hd->hd_stats.st_challenges_limited++;
		return 0;
	}
	f->f_chal = hd->hd_now != 0 ? hd->hd_now : 1;
	hd->hd_stats.st_challenges++;
	return 1;
}

/*
 * A reset for a forwarded flow.  Only one at exactly the client's next
 * sequence number ends it (RFC 5961 3.2); one elsewhere in the window goes
 * on to the stack, rate-limited, which answers it with a challenge ACK
 * that a client who really reset answers with an exact reset; anything
 * else is blind.  Returns 1 to forward it.
 */
static int
fe_forward_rst(struct hd *hd, struct flow *f, struct pkt *p)
{
	uint32_t	 rwnd = rw_max_window(f->f_ws_in);

	if (p->p_seq == f->f_cnxt) {
		if (!(f->f_flags & FLOW_CLIENT_RST) &&
		    f->f_state == FE_FORWARD) {
			f->f_flags |= FLOW_CLIENT_RST;
			fe_send_close(hd, f, f->f_peer, f->f_peer_handle,
			    CTL_CLOSE_RST, p->p_seq);
			fe_unassign(hd, f);
			fe_set_state(f, FE_LINGER);
			f->f_end = FLOW_END_CLIENT_RST;
			f->f_timeout = hd->hd_cfg->cfg_handoff.ch_linger_ms;
		}
		return 1;
	}
	if (seq_gt(p->p_seq, f->f_cnxt) &&
	    seq_lt(p->p_seq, f->f_cmax + rwnd))
		return fe_challenge_ok(hd, f);
	hd->hd_stats.st_rst_blind++;
	return 0;
}

/*
 * What an acceptable client segment tells a forwarded flow: how far the
 * client has sent, what it has received, and that it has finished.  Only
 * a segment that continues what came before moves f_cnxt, where a reset
 * must be to end the flow here: one further on, even believable (a blind
 * sender lands one in 2^16 at window scale 7), says how far the client
 * may have sent, f_cmax, never where its stream is.  After a loss f_cnxt
 * may stay behind; the client's own reset then goes to the stack, which
 * knows exactly, as an inexact one does.
 */
static void
fe_forward_learn(struct hd *hd, struct flow *f, const struct pkt *p)
{
	int		 fin = (p->p_flags & TH_FIN) != 0;
	uint32_t	 end = p->p_seq + p->p_paylen + fin;
	uint32_t	 cmax = f->f_cmax, cack = f->f_cack;
	int		 inorder = 1;

	if (seq_leq(p->p_seq, f->f_cnxt) && seq_gt(end, f->f_cnxt))
		f->f_cnxt = end;
	else
		inorder = end == f->f_cnxt;	/* again, in order */
	/* The hole before what lwIP held out of order is filled: the client
	 * goes on after those bytes, which it never sends again. */
	if (f->f_orun.f_ostart != f->f_orun.f_oend &&
	    seq_geq(f->f_cnxt, f->f_orun.f_ostart)) {
		if (seq_lt(f->f_cnxt, f->f_orun.f_oend))
			f->f_cnxt = f->f_orun.f_oend;
		f->f_orun.f_ostart = f->f_orun.f_oend;
	}
	if (seq_gt(end, f->f_cmax))
		f->f_cmax = end;
	if (seq_gt(f->f_cnxt, f->f_cmax))
		f->f_cmax = f->f_cnxt;
	if (seq_gt(p->p_ack, f->f_cack))
		f->f_cack = p->p_ack;
	/* New bytes either way, or a bare ACK where the client's stream is
	 * (its answer to a window or keep-alive probe, a window update): the
	 * silent member still serves it.  (A client whose server died only
	 * sends again what it sent.) */
	if ((f->f_flags & FLOW_PEER_SILENT) &&
	    (seq_gt(f->f_cmax, cmax) || seq_gt(f->f_cack, cack) ||
	    (p->p_paylen == 0 && !fin && seq_geq(p->p_seq, f->f_cnxt)))) {
		f->f_timeout = hd->hd_cfg->cfg_control.cc_dead_ms;
		flow_touch(f, hd->hd_now);
	}
	if (!fin || (f->f_flags & FLOW_CLIENT_FIN))
		return;
	/* A FIN after bytes this front-end never saw in order (lost on the
	 * way here and sent again straight to the stack, or before a lookup,
	 * whose f_cnxt is where the stack was) may be the client's too: it is
	 * told, not taken for certain, and the back-end's kernel confirms it
	 * by acknowledging exactly it (be_kernel_client_fin).  A few times a
	 * flow, and only to a back-end that is up: they are guesses, which
	 * must not fill what waits for one that is down. */
	if (inorder)
		f->f_flags |= FLOW_CLIENT_FIN;
	else if (f->f_qlen >= FE_FIN_REPORTS || !peer_is_up(hd, f->f_peer))
		return;
	else
		f->f_qlen++;
	fe_send_close(hd, f, f->f_peer, f->f_peer_handle, CTL_CLOSE_FIN,
	    end - 1);
}

/* A client packet of a handed-off flow: judged, then rewritten for the
 * back-end's stack. */
void
fe_forward(struct hd *hd, struct flow *f, struct pkt *p)
{
	if (p->p_flags & TH_RST) {
		if (!fe_forward_rst(hd, f, p))
			return;
	} else if (p->p_flags & TH_SYN) {
		/* Another connection on this 4-tuple, or a blind SYN: the
		 * stack answers it with a challenge ACK (RFC 5961 4.2).  A
		 * silent member may have let the old one go with the CLOSE
		 * that said so: unless it moves, the copy goes before the
		 * client's next SYN (fe_expire), which then gets a handshake
		 * here. */
		if ((f->f_flags & FLOW_PEER_SILENT) && p->p_seq != f->f_irs)
			f->f_timeout = FLOW_DEAD_MS;
		if (p->p_seq == f->f_irs || !fe_challenge_ok(hd, f)) {
			hd->hd_stats.st_drop_stale++;
			return;
		}
	} else if (fe_acceptable(f, p))
		fe_forward_learn(hd, f, p);
	else
		hd->hd_stats.st_unacceptable++;
	rw_to_stack(f, p);
	hd->hd_stats.st_fwd_pkts++;
	hd->hd_stats.st_fwd_bytes += p->p_len;
	f->f_bytes += p->p_len;
	btcp_tun_send(hd, p->p_ip, p->p_len, &p->p_meta);
}

void
fe_queue(struct hd *hd, struct fe_conn *fc, struct pkt *p)
{
	struct fe_qpkt	*q;

	if (fc->fc_flow->f_qlen >= hd->hd_cfg->cfg_handoff.ch_queue_max ||
	    (q = malloc(sizeof(*q) + p->p_len)) == NULL) {
		/* The client retransmits what we cannot hold. */
		hd->hd_stats.st_drop_queue_full++;
		return;
	}
	q->q_next = NULL;
	q->q_meta = p->p_meta;
	q->q_len = p->p_len;
	memcpy(q->q_data, p->p_ip, p->p_len);
	*fc->fc_qtail = q;
	fc->fc_qtail = &q->q_next;
	fc->fc_flow->f_qlen++;
	hd->hd_stats.st_queued++;
}

/*
 * A client packet while lwIP owns the connection.  lwIP judges it (RFC 5961
 * included); what it would answer with a challenge ACK, a SYN with another
 * ISN or with ACK, or a reset not at its next sequence number, reaches it
 * at most once per FE_CHALLENGE_MS.
 */
static void
fe_to_lwip(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct fe_conn	*fc = f->f_ctx;
	int		 challenge;

	challenge = (p->p_flags & TH_SYN) ? p->p_seq != fc->fc_irs ||
	    (p->p_flags & TH_ACK) :
	    (p->p_flags & TH_RST) && (fc->fc_pcb == NULL ||
	    p->p_seq != fc->fc_pcb->rcv_nxt);
	if (challenge && !fe_challenge_ok(hd, f))
		return;
	btcp_to_lwip(hd, p);
}

/* A SYN whose 4-tuple's flow just went: a new connection. */
static void
fe_syn_again(struct hd *hd, struct pkt *p)
{
	const struct cfg_service *svc;

	if ((svc = btcp_service(hd, &p->p_daddr, p->p_dport)) != NULL)
		fe_syn(hd, svc, p);
}

/* A SYN for a flow whose connection is over: a new one on the 4-tuple.
 * A back-end still lingering on the old one forgets it (DONE, not an
 * abort: it ended well). */
static void
fe_restart(struct hd *hd, struct flow *f, struct pkt *p)
{
	if (!(f->f_flags & FLOW_PEER_DONE))
		fe_send_close(hd, f, f->f_peer, f->f_peer_handle,
		    CTL_CLOSE_DONE, f->f_cmax);
	fe_close(hd, f, f->f_end);
	fe_syn_again(hd, p);
}

/* Whether lwIP still has a local relay's connection (not in TIME_WAIT). */
static int
fe_local_live(const struct flow *f)
{
	return port_tcp_has_active(&f->f_key.k_laddr, ntohs(f->f_key.k_lport),
	    &f->f_key.k_raddr, ntohs(f->f_key.k_rport));
}

/* A packet from the client for a flow we know. */
static void
fe_input(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct fe_conn	*fc = f->f_ctx;

	/* A request head has a deadline, not an idle time; a flow lost in a
	 * restart, its FLOW_DEAD_MS; one whose member went silent, its
	 * progress (fe_forward_learn). */
	if (f->f_state != FE_SYN && f->f_state != FE_COLLECT &&
	    f->f_state != FE_DEAD && f->f_state != FE_LOOKUP &&
	    !(f->f_state == FE_FORWARD && (f->f_flags & FLOW_PEER_SILENT)))
		flow_touch(f, hd->hd_now);
	if ((f->f_state == FE_DEAD || f->f_state == FE_LOOKUP) &&
	    (p->p_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		/* The client has given up on it: a new connection. */
		fe_close(hd, f, f->f_state == FE_DEAD ? FLOW_END_RESTART :
		    FLOW_END_UNKNOWN);
		fe_syn_again(hd, p);
		return;
	}
	if (f->f_state == FE_LINGER &&
	    (p->p_flags & (TH_SYN | TH_ACK)) == TH_SYN &&
	    p->p_seq != f->f_irs) {
		fe_restart(hd, f, p);
		return;
	}
	switch (f->f_state) {
	case FE_SYN:
	case FE_COLLECT:
	case FE_RESPOND:
		if (fc->fc_cookie)
			fe_cookie_input(hd, f, p);
		else
			fe_to_lwip(hd, f, p);
		break;
	case FE_HANDOFF:
		fe_queue(hd, fc, p);
		break;
	case FE_FORWARD:
	case FE_LINGER:
		fe_forward(hd, f, p);
		break;
	case FE_LOCAL:
		if ((p->p_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
			/* lwIP answers one on its connection with a challenge
			 * ACK, rate-limited here; one after its connection is
			 * gone, before the relay's end removed the flow (the
			 * relay still writes the last of the request to the
			 * server after both FINs), is a new connection, whose
			 * handshake needs its own.  The old one's record is
			 * written now, as the relay's end would have written
			 * it (a reset in the same read of the TUN has not
			 * ended the relay yet). */
			if (!fe_challenge_ok(hd, f))
				break;
			if (!fe_local_live(f) &&
			    btcp_service(hd, &p->p_daddr, p->p_dport) != NULL) {
				flowlog_end(hd, f, "fe", &f->f_key.k_laddr,
				    f->f_key.k_lport, PEER_LOCAL,
				    f->f_flags & FLOW_CLIENT_RST ?
				    FLOW_END_ABORT : FLOW_END_DONE);
				flow_remove(hd->hd_flows, f);
				fe_syn_again(hd, p);
				break;
			}
		}
		if ((p->p_flags & TH_RST) && fe_local_live(f)) {
			btcp_to_lwip(hd, p);
			if (!fe_local_live(f))
				f->f_flags |= FLOW_CLIENT_RST;
		} else
			btcp_to_lwip(hd, p);
		break;
	case FE_DEAD:
		/* Its ACK says where the reset must be. */
		if ((p->p_flags & (TH_RST | TH_ACK)) == TH_ACK)
			btcp_rst(hd, &f->f_key.k_laddr, f->f_key.k_lport,
			    &f->f_key.k_raddr, f->f_key.k_rport, p->p_ack,
			    0, 0);
		if (p->p_flags & (TH_RST | TH_ACK))
			fe_close(hd, f, FLOW_END_RESTART);
		break;
	case FE_LOOKUP:
		/* the client sends it again once the answer is in */
		hd->hd_stats.st_lookup_drops++;
		break;
	}
}

/*
 * An ICMP error about a segment the client was sent, from a router that
 * could not forward it (fragmentation needed, on a path with a smaller
 * MTU) or reach the client.  Once handed off, that segment came from the
 * back-end's stack, which needs to hear of it to lower its path MTU: it
 * goes there, about the segment as the stack sent it (its address, port
 * and sequence number, which its stack checks against what it has in
 * flight).  It comes from the VIP: the router that sent it would take its
 * own address for a spoofed one, and so would this host, for a stack of
 * its own.
 */
static int
fe_icmp(struct hd *hd, struct flow *f, struct pkt *p,
    const struct pkt_icmp *ic)
{
	if (f->f_state != FE_FORWARD && f->f_state != FE_LINGER)
		return 0;
	pkt_icmp_rewrite(p, ic, &f->f_key.k_laddr, &f->f_naddr, &f->f_naddr,
	    f->f_nport, ic->ic_iseq - f->f_delta);
	hd->hd_stats.st_icmp_fwd++;
	btcp_tun_send(hd, p->p_ip, p->p_len, NULL);
	return 1;
}

/*
 * lwIP's SYN/ACK promises lwIP's MSS; the client must be promised no more
 * than every stack of the service's pools takes (fe_offer).  lwIP puts
 * the MSS option first, at an even offset.
 */
static void
fe_clamp_synack(struct hd *hd, struct fe_conn *fc, struct pkt *p,
    struct pkt_opts *o)
{
	struct fe_offer	 of;
	struct csum_acc	 a;
	uint8_t		*th = p->p_tcp;

	fe_offer(fc->fc_cfg, fc->fc_svc, &of);
	if (o->o_mss <= of.fo_mss || o->o_mss_off == 0 ||
	    (o->o_mss_off & 1) != 0)
		return;
	csum_acc_init(&a, pkt_get16(th + TCP_OFF_CSUM));
	pkt_set16(&a, th + o->o_mss_off + 2, of.fo_mss);
	pkt_put16(th + TCP_OFF_CSUM, csum_acc_fold(&a));
	o->o_mss = of.fo_mss;
}

/*
 * A packet lwIP sends for a front-end flow.  The SYN/ACK gives ISS_F and
 * the options the client was promised; every TSval is remembered so the
 * back-end's can start above it.  Returns 0 to drop the packet: a frozen
 * connection says nothing.
 */
static int
fe_output(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct fe_conn	*fc = f->f_ctx;
	struct pkt_opts	 o;

	if (fc == NULL)
		return 1;
	if (f->f_state == FE_HANDOFF)
		return 0;
	if (p->p_thl > PKT_TCP_HLEN && pkt_opts_parse(p, &o) == 0) {
		if (o.o_has_ts)
			fc->fc_ftsval = o.o_tsval;
	} else
		memset(&o, 0, sizeof(o));
	if ((p->p_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		fe_clamp_synack(hd, fc, p, &o);
		fc->fc_synack = 1;
		fc->fc_iss = p->p_seq;
		/* Until a handoff, where a reset must be (fe_adopt). */
		f->f_cack = p->p_seq + 1;
		fc->fc_fmss = o.o_mss ? o.o_mss : 536;
		fc->fc_fws = o.o_has_ws ? o.o_ws : FE_NO_WS;
		fc->fc_fsack = o.o_sack_ok;
		fc->fc_fts = o.o_has_ts;
	}
	return 1;
}

static const char fe_resp_400[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
    "Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n";
static const char fe_resp_408[] =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"
    "Content-Length: 16\r\nConnection: close\r\n\r\nRequest Timeout\n";
static const char fe_resp_431[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: text/plain\r\nContent-Length: 32\r\n"
    "Connection: close\r\n\r\nRequest Header Fields Too Large\n";
static const char fe_resp_503[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    "Content-Length: 20\r\nConnection: close\r\n\r\nService Unavailable\n";

/*
 * What a TLS client gets instead of the answer code: a reset, since the
 * front-end has no TLS session to send an alert in.  Returns -1: the
 * connection is gone.
 */
static int
fe_reset_tls(struct fe_conn *fc, int code)
{
	struct hd	*hd = fc->fc_hd;

	switch (code) {
	case 400:
		hd->hd_stats.st_tls_bad++;
		break;
	case 408:
		hd->hd_stats.st_tls_timeout++;
		break;
	case 431:
		hd->hd_stats.st_tls_too_big++;
		break;
	default:
		hd->hd_stats.st_tls_unavailable++;
		break;
	}
	if (fc->fc_cookie)
		fe_cookie_reset(fc);
	fe_close(hd, fc->fc_flow, FLOW_END_ABORT);
	return -1;
}

/*
 * Answers the client through lwIP and sends our FIN after it.  The flow
 * stays, draining what the client still sends, until the client closes or
 * FE_RESPOND_TIMEOUT_MS passes: closing at once would make lwIP reset a
 * client still sending, which may then never read the answer.  Returns -1
 * if it aborted lwIP's connection instead (a TLS client, no memory), which
 * a caller inside lwIP's callback must tell lwIP.
 */
int
fe_respond(struct fe_conn *fc, int code)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	const char	*resp;
	char		 outcome[8];

	snprintf(outcome, sizeof(outcome), "%d", code);
	fe_alog(fc, outcome, -1);
	if (fc->fc_svc->cs_protocol == CFG_PROTO_TLS)
		return fe_reset_tls(fc, code);
	switch (code) {
	case 400:
		resp = fe_resp_400;
		hd->hd_stats.st_http_400++;
		break;
	case 408:
		resp = fe_resp_408;
		hd->hd_stats.st_http_408++;
		break;
	case 431:
		resp = fe_resp_431;
		hd->hd_stats.st_http_431++;
		break;
	default:
		resp = fe_resp_503;
		hd->hd_stats.st_http_503++;
		break;
	}
	if (fc->fc_cookie) {
		fe_queue_free(fc);
		fe_cookie_respond(fc, resp, strlen(resp));
		return 0;
	}
	if (fc->fc_pcb == NULL || fc->fc_fin) {
		if (fc->fc_pcb != NULL)
			tcp_write(fc->fc_pcb, resp, (u16_t)strlen(resp),
			    TCP_WRITE_FLAG_COPY);
		fe_close(hd, f, FLOW_END_RESPONDED);
		return 0;
	}
	fe_queue_free(fc);
	fe_release_window(fc);
	fe_set_state(f, FE_RESPOND);
	f->f_timeout = FE_RESPOND_TIMEOUT_MS;
	flow_touch(f, hd->hd_now);
	if (tcp_write(fc->fc_pcb, resp, (u16_t)strlen(resp),
	    TCP_WRITE_FLAG_COPY) != ERR_OK ||
	    tcp_shutdown(fc->fc_pcb, 0, 1) != ERR_OK) {
		fe_close(hd, f, FLOW_END_NOMEM);
		return -1;
	}
	tcp_output(fc->fc_pcb);
	return 0;
}

/*
 * Client bytes, in either handshake mode: all join the buffer (the HANDOFF
 * carries every byte acknowledged to the client) and the parser sees them
 * until the head is complete.
 */
int
fe_feed(struct fe_conn *fc, const void *data, size_t len)
{
	if (evbuffer_add(fc->fc_req, data, len) == -1)
		return REQ_NOMEM;
	if (fc->fc_dispatched || fc->fc_headres != REQ_MORE)
		return fc->fc_headres;
	fc->fc_headres = req_feed(fc->fc_rp, data, len);
	return fc->fc_headres;
}

/*
 * What the bytes so far call for, once per request: 400 for what is not
 * HTTP (or TLS), 431 for a head over the limit, routing for a complete
 * head.  deferred: route on the next turn of the loop (from inside lwIP).
 * Returns -1 if it aborted lwIP's connection (fe_respond).
 */
int
fe_decide(struct fe_conn *fc, int deferred)
{
	const struct cfg_handoff *ch = &fc->fc_hd->hd_cfg->cfg_handoff;

	/* A request waiting for a member takes in no more than one being
	 * routed may (fe_wait_coming). */
	if (fc->fc_coming && evbuffer_get_length(fc->fc_req) >
	    req_head_len(fc->fc_rp) + (size_t)ch->ch_request_buffer_max) {
		evtimer_del(fc->fc_timer);
		fe_coming_leave(fc);
		return fe_respond(fc, 503);
	}
	if (fc->fc_flow->f_state != FE_COLLECT || fc->fc_dispatched)
		return 0;
	if (fc->fc_headres == REQ_BAD)
		return fe_respond(fc, 400);
	if (fc->fc_headres == REQ_BIG)
		return fe_respond(fc, 431);
	if (fc->fc_headres == REQ_MORE) {
		if (evbuffer_get_length(fc->fc_req) >
		    (size_t)ch->ch_request_head_max)
			return fe_respond(fc, 431);
	} else if (req_head_len(fc->fc_rp) > (size_t)ch->ch_request_head_max)
		return fe_respond(fc, 431);
	else {
		fc->fc_dispatched = 1;
		if (deferred)
			event_active(fc->fc_timer, 0, 0);
		else
			fe_dispatch(fc);
	}
	return 0;
}

/*
 * Client bytes from lwIP.  Every byte joins the buffer (the HANDOFF carries
 * all lwIP acknowledged), and the parser sees them until the head is
 * complete.  The decision is taken outside lwIP's input processing, so that
 * lwIP first acknowledges what it received.
 */
static err_t
fe_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct fe_conn	*fc = arg;
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	const struct cfg_handoff *ch = &hd->hd_cfg->cfg_handoff;
	enum req_result	 r;
	struct pbuf	*q;

	if (p == NULL) {
		/* A ClientHello cut short is a malformed one. */
		if (f->f_state == FE_COLLECT && !fc->fc_dispatched &&
		    fc->fc_svc->cs_protocol == CFG_PROTO_TLS)
			return fe_respond(fc, 400) == -1 ? ERR_ABRT : ERR_OK;
		if (f->f_state == FE_RESPOND || !fc->fc_dispatched) {
			/* Done with us, or gone before its request was. */
			fe_close(hd, f, f->f_state == FE_RESPOND ?
			    FLOW_END_RESPONDED : FLOW_END_DONE);
			return ERR_OK;
		}
		fc->fc_fin = 1;		/* travels with the request */
		return ERR_OK;
	}
	if (f->f_state == FE_RESPOND) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	for (q = p; q != NULL; q = q->next) {
		r = fe_feed(fc, q->payload, q->len);
		if (r == REQ_NOMEM) {
			pbuf_free(p);
			fe_close(hd, f, FLOW_END_NOMEM);
			return ERR_ABRT;
		}
	}
	/* Past the buffer's limit, or while the request waits for a member,
	 * the window stays shut: lwIP's own window bounds what can still
	 * come. */
	if (evbuffer_get_length(fc->fc_req) <=
	    (size_t)ch->ch_request_buffer_max && !fc->fc_coming)
		tcp_recved(pcb, p->tot_len);
	else
		fc->fc_withheld += p->tot_len;
	pbuf_free(p);
	/* Routing waits until lwIP has finished with this input, so that
	 * its ACK leaves first. */
	return fe_decide(fc, 1) == -1 ? ERR_ABRT : ERR_OK;
}

/* lwIP freed the pcb: a reset from the client, or retransmissions gave up. */
static void
fe_err(void *arg, err_t err)
{
	struct fe_conn	*fc = arg;

	fc->fc_pcb = NULL;
	fe_close(fc->fc_hd, fc->fc_flow, FLOW_END_CLIENT_RST);
}


/* lwIP gave up a half-open connection (a reset, or no ACK): so does the
 * flow. */
static void
fe_syn_err(void *arg, err_t err)
{
	struct fe_conn	*fc = arg;

	fc->fc_synpcb = NULL;
	fe_close(fc->fc_hd, fc->fc_flow, FLOW_END_HANDSHAKE);
}

/*
 * lwIP has just made the half-open pcb for a SYN, found by the flow's
 * 4-tuple: the flow keeps it, so that evicting or expiring the flow frees
 * it too, and lwIP's callbacks find the flow.  No pcb: no flow.
 */
static void
fe_syn_watch(struct hd *hd, struct flow *f, struct fe_conn *fc)
{
	const struct flow_key *k = &f->f_key;
	struct tcp_pcb	*pcb;

	pcb = port_tcp_active(&k->k_laddr, ntohs(k->k_lport), &k->k_raddr,
	    ntohs(k->k_rport));
	if (pcb != NULL && pcb->state == SYN_RCVD) {
		fc->fc_synpcb = pcb;
		tcp_setprio(pcb, PORT_PRIO_YOUNG);
		tcp_arg(pcb, fc);
		tcp_err(pcb, fe_syn_err);
		return;
	}
	fe_close(hd, f, FLOW_END_HANDSHAKE);
}

/* lwIP completed a handshake on a VIP. */
static err_t
fe_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct fe_conn	*fc = arg;
	struct flow	*f;

	/* Every half-open pcb was given its fe_conn (fe_syn_watch). */
	if (err != ERR_OK || pcb == NULL || fc == NULL ||
	    fc->fc_synpcb != pcb || !fc->fc_synack ||
	    (fc->fc_timer = evtimer_new(fc->fc_hd->hd_base, fe_on_timer,
	    fc)) == NULL) {
		if (pcb != NULL)
			tcp_abort(pcb);
		return ERR_ABRT;
	}
	f = fc->fc_flow;
	fc->fc_synpcb = NULL;
	fc->fc_pcb = pcb;
	fc->fc_ts_off = pcb->ts_off;
	port_tcp_clamp_mss(pcb);
	tcp_recv(pcb, fe_recv);
	tcp_err(pcb, fe_err);
	tcp_nagle_disable(pcb);
	fe_set_state(f, FE_COLLECT);
	flow_net_join(fc->fc_hd->hd_flows, f);
	return ERR_OK;
}

/* Policies that look at the request, not only at the members. */
static int
fe_pool_keyed(const struct cfg_pool *cp)
{
	return cp->cp_policy == CFG_POLICY_HASH ||
	    cp->cp_policy == CFG_POLICY_LARD;
}

/* What a keyed pool looks at: LARD's targets are paths, a hash pool's key
 * is configured. */
static const char *
fe_pool_key(const struct cfg_pool *cp, const struct route_req *rr,
    size_t *len)
{
	const char	*v;

	if (cp->cp_policy == CFG_POLICY_HASH &&
	    cp->cp_hash_key == CFG_HASH_HOST) {
		*len = rr->rr_hostlen;
		return rr->rr_host;
	}
	if (cp->cp_policy == CFG_POLICY_HASH &&
	    cp->cp_hash_key == CFG_HASH_HEADER) {
		if ((v = route_header(rr, cp->cp_hash_header, len)) == NULL)
			*len = 0;
		return v != NULL ? v : "";
	}
	*len = rr->rr_pathlen;
	return rr->rr_path;
}

/* Keeps what a keyed pool looks at; -1 after answering 503. */
static int
fe_set_key(struct fe_conn *fc, const char *key, size_t klen)
{
	free(fc->fc_key);
	if ((fc->fc_key = malloc(klen + 1)) == NULL) {
		fe_respond(fc, 503);
		return -1;
	}
	memcpy(fc->fc_key, key, klen);
	fc->fc_key[klen] = '\0';
	fc->fc_keylen = klen;
	return 0;
}

/* A TLS service's pool by its ClientHello, which hello.c has checked, and
 * the server name as a hash pool's key (the only key conf.c lets it have). */
static int
fe_route_hello(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct hello	*h = req_hello(fc->fc_rp);
	const char		*name;
	size_t			 len;

	if (h == NULL) {	/* never: fe_conn_reload keeps protocols */
		fe_respond(fc, 503);
		return -1;
	}
	if ((name = route_hello_name(h, &len)) == NULL) {
		hd->hd_stats.st_tls_no_sni++;
		name = "";
	}
	if (hd->hd_alog != NULL) {
		free(fc->fc_alreq);
		fc->fc_alreq = alog_req(NULL, NULL, 0, name, len);
	}
	fc->fc_pool = route_hello_pool(fc->fc_svc, h);
	if (!fe_pool_keyed(&hd->hd_cfg->cfg_pools[fc->fc_pool]))
		return 0;
	return fe_set_key(fc, name, len);
}

/*
 * Reads the request head once per connection for the pool it goes to and
 * the key that pool's policy needs.  A head that cannot be routed is
 * answered (400, 431) whether or not the service has rules, so that every
 * back-end's server sees heads the front-end could read.  Returns -1 after
 * answering the client.
 */
static int
fe_route(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_service *svc = fc->fc_svc;
	const struct cfg_pool	*cp;
	size_t			 hlen = req_head_len(fc->fc_rp), klen;
	struct route_req	*rr;
	const char		*key;
	enum route_result	 r;
	int			 rc = 0;

	if (svc->cs_protocol == CFG_PROTO_TLS)
		return fe_route_hello(fc);
	if ((rr = malloc(sizeof(*rr))) == NULL)
		r = ROUTE_NOMEM;
	else
		r = route_inspect((const char *)evbuffer_pullup(fc->fc_req,
		    (ev_ssize_t)hlen), hlen, rr);
	if (r != ROUTE_OK) {
		free(rr);
		fe_respond(fc, r == ROUTE_BAD ? 400 :
		    r == ROUTE_TOO_MANY ? 431 : 503);
		return -1;
	}
	if (hd->hd_alog != NULL) {
		free(fc->fc_alreq);
		fc->fc_alreq = alog_req(rr->rr_method, rr->rr_url,
		    rr->rr_urllen, rr->rr_host, rr->rr_hostlen);
	}
	fc->fc_pool = route_pool(svc, rr);
	cp = &hd->hd_cfg->cfg_pools[fc->fc_pool];
	if (fe_pool_keyed(cp)) {
		key = fe_pool_key(cp, rr, &klen);
		rc = fe_set_key(fc, key, klen);
	}
	route_req_free(rr);
	free(rr);
	return rc;
}

/* A member of the request's pool by its policy, among the healthy ones not
 * tried yet for this request; -1 when none is left. */
static int
fe_pick(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[fc->fc_pool];
	uint32_t		 load[CFG_MAX_MEMBERS];

	health_loads(hd, fc->fc_pool, load);
	return pool_pick(cp, hd->hd_pools[fc->fc_pool],
	    health_members(hd, fc->fc_pool), fc->fc_tried, load,
	    fc->fc_key != NULL ? fc->fc_key : "", fc->fc_keylen);
}

/*
 * A HANDOFF went nowhere: refused, or its peer's channel dropped.  The
 * client's held packets go back to lwIP, which still owns the connection,
 * and the next member is tried.
 */
static void
fe_failover(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	uint64_t	 h = flow_handle(hd->hd_flows, f);
	struct pkt	 p;

	evtimer_del(fc->fc_timer);
	fc->fc_cancel = 0;
	fe_unassign(hd, f);
	fe_set_state(f, FE_COLLECT);
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_request_timeout_ms;
	while (fc->fc_qhead != NULL) {
		struct fe_qpkt *q = fc->fc_qhead;

		fc->fc_qhead = q->q_next;
		if (fc->fc_qhead == NULL)
			fc->fc_qtail = &fc->fc_qhead;
		f->f_qlen--;
		if (pkt_parse(&p, q->q_data, q->q_len) == PKT_OK) {
			p.p_meta = q->q_meta;
			if (fc->fc_cookie)
				fe_cookie_input(hd, f, &p);
			else
				btcp_to_lwip(hd, &p);
		}
		free(q);
		/* lwIP may have ended the connection (a reset in the queue),
		 * and fc with it. */
		if (flow_by_handle(hd->hd_flows, h) != f || f->f_ctx != fc)
			return;
	}
	fe_dispatch(fc);
}

/* The timer: a deferred dispatch, a HANDOFF that timed out, or (cookie
 * mode) an answer to send again. */
void
fe_on_timer(int fd, short ev, void *arg)
{
	struct fe_conn	*fc = arg;
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;

	if (f->f_state == FE_COLLECT) {
		fe_dispatch(fc);
		return;
	}
	if (f->f_state == FE_RESPOND && fc->fc_cookie) {
		fe_cookie_on_timer(fc);
		return;
	}
	if (f->f_state != FE_HANDOFF)
		return;
	if (fc->fc_cancel) {
		log_ratelim(&fe_rl_cancelled, "fe: no answer from %s to a "
		    "cancelled handoff: client reset", peer_id(hd, fc->fc_peer));
		fe_give_up(fc, 0, HEALTH_HO_TIMEOUT);
		return;
	}
	log_ratelim(&fe_rl_timeout, "fe: no HANDOFF_ACK from %s within %d "
	    "ms: cancelling", peer_id(hd, fc->fc_peer),
	    hd->hd_cfg->cfg_handoff.ch_timeout_ms);
	hd->hd_stats.st_handoffs_timeout++;
	health_refused(hd, fc->fc_peer);
	fe_cancel(fc);
}

/* Freezes the connection and sends its state to peer.  Returns -1 if the
 * HANDOFF could not even be queued. */
static int
fe_handoff(struct fe_conn *fc, int peer)
{
	struct hd		*hd = fc->fc_hd;
	struct flow		*f = fc->fc_flow;
	struct tcp_pcb		*pcb = fc->fc_pcb;
	struct ctl_handoff	 ho;
	size_t			 len = evbuffer_get_length(fc->fc_req);
	struct timeval		 tv;
	int			 ms = hd->hd_cfg->cfg_handoff.ch_timeout_ms;
	uint32_t		 rcv_nxt = fc->fc_cookie ? fc->fc_rcv_nxt :
				    pcb->rcv_nxt;

	/* rcv_nxt counts a received FIN too. */
	if (rcv_nxt != fc->fc_irs + 1 + (uint32_t)len + !!fc->fc_fin) {
		log_warnx("fe: %u bytes acknowledged, %zu held: not handed off",
		    rcv_nxt - fc->fc_irs - 1, len);
		return -1;
	}
	/* Everything lwIP received is acknowledged before it goes quiet;
	 * this runs outside lwIP's input, so the ACK leaves now and its
	 * TSval is recorded before we tell the back-end the last one. */
	if (pcb != NULL) {
		tcp_ack_now(pcb);
		tcp_output(pcb);
	}
	memset(&ho, 0, sizeof(ho));
	ho.ho_flow = flow_handle(hd->hd_flows, f);
	ho.ho_caddr = f->f_key.k_raddr;
	ho.ho_cport = f->f_key.k_rport;
	ho.ho_vaddr = f->f_key.k_laddr;
	ho.ho_vport = f->f_key.k_lport;
	ho.ho_irs = fc->fc_irs;
	ho.ho_iss = fc->fc_iss;
	ho.ho_cmss = fc->fc_cmss;
	ho.ho_fmss = fc->fc_fmss;
	/* lwIP keeps the client's window and TSval by the RFCs' rules, from
	 * acceptable segments only. */
	if (pcb != NULL) {
		fc->fc_cwin = (uint16_t)(pcb->snd_wnd >> pcb->snd_scale > 0xffff ?
		    0xffff : pcb->snd_wnd >> pcb->snd_scale);
		fc->fc_ctsval = pcb->ts_recent;
	}
	ho.ho_cwin = fc->fc_cwin;
	if (fc->fc_cws != FE_NO_WS && fc->fc_fws != FE_NO_WS) {
		ho.ho_opts |= CTL_OPT_WS;
		ho.ho_cws = fc->fc_cws;
		ho.ho_fws = fc->fc_fws;
	}
	if (fc->fc_csack && fc->fc_fsack)
		ho.ho_opts |= CTL_OPT_SACK;
	if (fc->fc_cts && fc->fc_fts) {
		ho.ho_opts |= CTL_OPT_TS;
		ho.ho_ctsval = fc->fc_ctsval;
		/* Our TSvals follow a clock of the connection's own, lwIP's
		 * or the cookie's: nothing sent is above it now. */
		ho.ho_ftsval = seq_max(fc->fc_ftsval, port_now_ms() +
		    fc->fc_ts_off);
	}
	if (fc->fc_fin)
		ho.ho_opts |= CTL_OPT_FIN;
	ho.ho_datalen = (uint32_t)len;
	if (peer_send_handoff(hd, peer, &ho,
	    len ? evbuffer_pullup(fc->fc_req, -1) : NULL) == -1)
		return -1;
	fc->fc_peer = peer;
	f->f_peer = peer;
	f->f_flags |= FLOW_ASSIGNED;
	health_assign(hd, peer, 1);
	fe_set_state(f, FE_HANDOFF);
	f->f_timeout = ms + 60000;	/* the timer below decides */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(fc->fc_timer, &tv);
	hd->hd_stats.st_handoffs_started++;
	fc->fc_sent = health_handoff_sent(hd, fe_svc_counted(fc), fc->fc_pool,
	    peer);
	return 0;
}

/*
 * The connection is relayed to this node's server: lwIP has it, and the
 * flow stays so that the state file knows of it, for a restart to reset
 * its client (fe_adopt), and for its record when the relay ends.
 */
static void
fe_local(struct hd *hd, struct flow *f)
{
	fe_conn_free(f);
	fe_set_state(f, FE_LOCAL);
	f->f_peer = PEER_LOCAL;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_idle_ms;
	flow_touch(f, hd->hd_now);
}

/* The access log's line for a connection relayed to the local server,
 * which this node served as its own front-end. */
static void
fe_alog_local(struct hd *hd, const struct relay_summary *sum,
    enum flow_end why)
{
	struct alog_srv	 a;

	if (hd->hd_alog == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.as_caddr = sum->rs_caddr;
	a.as_cport = sum->rs_cport;
	a.as_vaddr = sum->rs_vaddr;
	a.as_vport = sum->rs_vport;
	a.as_frontend = peer_id(hd, PEER_LOCAL);
	a.as_end = flow_end_name(why);
	a.as_ms = sum->rs_ms;
	a.as_bytes = sum->rs_sent;
	alog_srv(hd->hd_alog, &a);
}

/* A connection relayed to the local server has ended: its flow, kept only
 * so that a restart knows of it (FE_LOCAL), goes, unless a stop, an
 * expiry or the client's next connection on the same ports took it
 * first; the relay tells what the access log says. */
static void
fe_on_local_done(void *arg, enum relay_end how, const struct relay_summary *sum)
{
	struct hd	*hd = arg;
	struct flow	*f;
	enum flow_end	 why = how == RELAY_DONE ? FLOW_END_DONE :
			    how == RELAY_IDLE ? FLOW_END_IDLE : FLOW_END_ABORT;

	health_assign(hd, PEER_LOCAL, -1);
	hd->hd_served--;
	if (how == RELAY_IDLE)
		hd->hd_stats.st_be_idle++;	/* served here, as handed off */
	if ((f = flow_by_handle(hd->hd_flows, sum->rs_tag)) != NULL &&
	    f->f_ops == &fe_flow_ops && f->f_state == FE_LOCAL) {
		flowlog_end(hd, f, "fe", &f->f_key.k_laddr, f->f_key.k_lport,
		    PEER_LOCAL, why);
		flow_remove(hd->hd_flows, f);
	}
	fe_alog_local(hd, sum, why);
}

/* The local server refused fc's connection (or took longer than
 * handoff.timeout): as a member that refuses a handoff, this node may
 * leave the pool, and the request goes on to the next member. */
static void
fe_local_refused(struct fe_conn *fc, int err)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_endpoint *srv = cfg_server_for(hd->hd_cfg,
				    fc->fc_svc->cs_vip.ep_port);
	char			 a[ADDR_PORT_STRLEN];

	log_ratelim(&fe_rl_local, "fe: the local server %s: %s: the request "
	    "goes to another member", addr_port_str(&srv->ep_addr,
	    srv->ep_port, a, sizeof(a)), strerror(err));
	if (err == ETIMEDOUT)
		hd->hd_stats.st_handoffs_timeout++;
	else
		hd->hd_stats.st_handoffs_failed++;
	health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, PEER_LOCAL,
	    err == ETIMEDOUT ? HEALTH_HO_TIMEOUT : HEALTH_HO_REFUSED,
	    fc->fc_sent);
	health_refused(hd, PEER_LOCAL);
}

/* The local server took the connection: lwIP's connection is relayed to
 * it from now on (fd, connected). */
static void
fe_local_relay(struct fe_conn *fc, int fd)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	struct relay	*r;

	hd->hd_stats.st_handoffs_acked++;
	health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, PEER_LOCAL,
	    HEALTH_HO_ACCEPTED, fc->fc_sent);
	health_accepted(hd, PEER_LOCAL);
	fe_release_window(fc);
	tcp_setprio(fc->fc_pcb, TCP_PRIO_NORMAL);
	if ((r = relay_new(hd, fc->fc_pcb, NULL, fd,
	    &fc->fc_svc->cs_vip.ep_addr, fc->fc_svc->cs_vip.ep_port,
	    fc->fc_req, fe_on_local_done, hd)) == NULL) {
		health_assign(hd, PEER_LOCAL, -1);
		fe_respond(fc, 503);
		return;
	}
	hd->hd_served++;
	if (fc->fc_fin)
		relay_client_eof(r);
	hd->hd_stats.st_fe_local++;
	fe_alog(fc, "local", PEER_LOCAL);
	fc->fc_pcb = NULL;	/* the relay's now */
	relay_tag(r, flow_handle(hd->hd_flows, f));
	fe_local(hd, f);
}

static void
fe_on_local_dial(int fd, short ev, void *arg)
{
	struct fe_conn	*fc = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	event_free(fc->fc_ldial);
	fc->fc_ldial = NULL;
	if (ev & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		fe_local_relay(fc, fd);
		return;
	}
	close(fd);
	health_assign(fc->fc_hd, PEER_LOCAL, -1);
	fe_young_join(fc);	/* undecided again */
	fe_local_refused(fc, err);
	fe_dispatch(fc);
}

/* Dials the local server for fc, within handoff.timeout; -1 (errno) if it
 * cannot even begin.  The request meanwhile waits as one being routed,
 * with lwIP's connection still fc's. */
static int
fe_local_dial(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_endpoint *srv = cfg_server_for(hd->hd_cfg,
				    fc->fc_svc->cs_vip.ep_port);
	int			 ms = hd->hd_cfg->cfg_handoff.ch_timeout_ms;
	struct timeval		 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, saved;

	sslen = (socklen_t)addr_sockaddr(&srv->ep_addr, srv->ep_port, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    (connect(fd, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS) ||
	    (fc->fc_ldial = event_new(hd->hd_base, fd, EV_WRITE,
	    fe_on_local_dial, fc)) == NULL ||
	    event_add(fc->fc_ldial, &tv) == -1) {
		saved = errno;
		if (fc->fc_ldial != NULL) {
			event_free(fc->fc_ldial);
			fc->fc_ldial = NULL;
		}
		close(fd);
		errno = saved;
		return -1;
	}
	/* Decided: no longer one a flood may push out, and the local
	 * member's load counts it (least-conn, lard). */
	fe_young_leave(fc);
	health_assign(hd, PEER_LOCAL, 1);
	return 0;
}

/* fc waits ms for what w says; its timer then dispatches it again. */
static void
fe_wait_start(struct fe_conn *fc, enum fe_wait w, uint32_t ms)
{
	struct timeval	 tv;

	fc->fc_coming = w;
	if (w == FE_WAIT_COMING)
		fc->fc_hd->hd_fe_ncoming++;
	else
		fc->fc_hd->hd_fe_nbusy++;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(fc->fc_timer, &tv);
}

/* fc waits no longer for a member to come up, or to be free. */
static void
fe_coming_leave(struct fe_conn *fc)
{
	if (fc->fc_coming == FE_WAIT_COMING)
		fc->fc_hd->hd_fe_ncoming--;
	else if (fc->fc_coming == FE_WAIT_BUSY)
		fc->fc_hd->hd_fe_nbusy--;
	fc->fc_coming = FE_WAIT_NONE;
}

/*
 * No member of fc's pool is in service, but one not tried yet may just
 * not have come up: this node (re)started, a reload named its peer, or
 * the peer is restarting, and its control connection is on its way.  The
 * request waits for it (fe_on_peer_up) rather than getting 503, up to
 * handoff.timeout from then.  What waits is bounded: FE_COMING_MAX
 * requests, each with no more than request_buffer_max beyond its head
 * (a cookie front-end's window stops there; lwIP's, which may let in
 * more, stays as it is meanwhile, fe_recv, and fe_decide answers 503).
 */
static int
fe_wait_coming(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[fc->fc_pool];
	uint32_t		 ms = 0, left;
	int			 i;

	if (hd->hd_fe_ncoming >= FE_COMING_MAX)
		return 0;
	for (i = 0; i < cp->cp_nmembers; i++)
		if (!(fc->fc_tried >> i & 1) &&
		    health_state(hd, fc->fc_pool, i) == HEALTH_CHANNEL &&
		    (left = peer_coming(hd, cp->cp_members[i].cm_peer,
		    (uint32_t)hd->hd_cfg->cfg_handoff.ch_timeout_ms)) > ms)
			ms = left;
	if (ms == 0)
		return 0;
	fe_wait_start(fc, FE_WAIT_COMING, ms);
	return 1;
}

/*
 * peer, tried for fc, answered busy: its stack holds another connection of
 * this client's from the same port (to another VIP it serves; a back-end's
 * stack endpoint is one address and port for every VIP), which ends soon
 * when it is one request's.  The member may be tried again (fe_wait_busy)
 * once no other is left.
 */
static void
fe_busy_mark(struct fe_conn *fc, int peer)
{
	const struct cfg_pool	*cp;
	int			 i, p;

	/* The answer to an earlier try, which timed out and was cancelled:
	 * the cancel's own answer is still to come, and would pass for the
	 * next try's. */
	if (fc->fc_pool < 0 || fc->fc_cancel)
		return;
	cp = &fc->fc_hd->hd_cfg->cfg_pools[fc->fc_pool];
	for (i = 0; i < cp->cp_nmembers; i++) {
		p = cp->cp_members[i].cm_peer < 0 ? PEER_LOCAL :
		    cp->cp_members[i].cm_peer;
		if ((fc->fc_tried >> i & 1) && p == peer)
			fc->fc_busy |= 1ULL << i;
	}
	if (fc->fc_busy != 0 && !fc->fc_busy_seen) {
		fc->fc_busy_seen = 1;
		fc->fc_busy_ms = port_now_ms();
	}
}

/*
 * Every member was tried, and some said busy (fe_busy_mark): the request
 * waits and tries them again, after 1 ms, then twice as long each time,
 * FE_BUSY_TRIES times (a quarter second in all) and never past
 * handoff.timeout from the first such answer, rather than getting 503 at
 * once.  A client's other connection that is one short request is over
 * within a few milliseconds; a kept-alive one holds the endpoint, and this
 * request gets 503 then.  Each try sends the request again, so only a
 * small one waits, and only FE_BUSY_MAX at once: a client can make these
 * at will, and must not take the waits of fe_wait_coming.
 */
static int
fe_wait_busy(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;
	uint32_t	 spent, left, ms;

	if (fc->fc_busy == 0 || fc->fc_busy_tries >= FE_BUSY_TRIES ||
	    hd->hd_fe_nbusy >= FE_BUSY_MAX ||
	    evbuffer_get_length(fc->fc_req) > FE_BUSY_BYTES)
		return 0;
	spent = port_now_ms() - fc->fc_busy_ms;
	if (spent >= (uint32_t)hd->hd_cfg->cfg_handoff.ch_timeout_ms)
		return 0;
	left = (uint32_t)hd->hd_cfg->cfg_handoff.ch_timeout_ms - spent;
	ms = FE_BUSY_FIRST_MS << fc->fc_busy_tries++;
	if (ms > left)
		ms = left;
	fc->fc_tried &= ~fc->fc_busy;
	fc->fc_busy = 0;
	fe_wait_start(fc, FE_WAIT_BUSY, ms);
	return 1;
}

/* A peer's control connection is up: the requests waiting for their
 * pool's first member try again. */
void
fe_on_peer_up(struct hd *hd)
{
	struct fe_conn	*fc;

	TAILQ_FOREACH(fc, &hd->hd_fe_young, fc_young)
		if (fc->fc_coming == FE_WAIT_COMING)
			event_active(fc->fc_timer, 0, 0);
}

/* The request head is complete: serve it here or hand it off. */
void
fe_dispatch(struct fe_conn *fc)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg	*cfg = hd->hd_cfg;
	const struct cfg_pool	*pool;
	const struct cfg_member	*m;
	int			 i;

	if (hd->hd_alog != NULL && fc->fc_t0_us == 0)
		fc->fc_t0_us = log_mono_us();
	fe_coming_leave(fc);
	/* A reload took its service away before it was routed. */
	if (fc->fc_cfg != hd->hd_cfg) {
		fe_respond(fc, 503);
		return;
	}
	if (fc->fc_pool == -1 && fe_route(fc) == -1)
		return;
	pool = &cfg->cfg_pools[fc->fc_pool];
	for (;;) {
		if ((i = fe_pick(fc)) == -1) {
			if (!fe_wait_coming(fc) && !fe_wait_busy(fc))
				fe_respond(fc, 503);
			return;
		}
		fc->fc_tried |= 1ULL << i;
		m = &pool->cp_members[i];
		if (m->cm_peer < 0 && fc->fc_cookie) {
			/* Cookie mode hands off to this node's stack too
			 * (st_fe_local when it accepts). */
			if (fe_handoff(fc, PEER_LOCAL) == 0)
				return;
			hd->hd_stats.st_handoffs_failed++;
			continue;
		}
		/* The local case keeps lwIP's connection, and relays it once
		 * the server takes a connection (fe_on_local_dial). */
		if (m->cm_peer < 0) {
			hd->hd_stats.st_handoffs_started++;
			fc->fc_sent = health_handoff_sent(hd,
			    fe_svc_counted(fc), fc->fc_pool, PEER_LOCAL);
			if (fe_local_dial(fc) == 0)
				return;
			fe_local_refused(fc, errno);
			continue;
		}
		if (fe_handoff(fc, m->cm_peer) == 0)
			return;
		hd->hd_stats.st_handoffs_failed++;
	}
}

/*
 * No answer to a HANDOFF: the back-end may have passed the commit point,
 * or not.  It is asked to cancel (CLOSE CANCEL, with our ISN, which it
 * needs to answer OK), and answers CANCELLED, after which another member
 * may have the connection, or OK.  Both go on the peer's one connection
 * in use, which is ordered, so an answer comes while it lives (one that
 * closes first leaves peer_conn another, which the CANCEL may take while
 * the HANDOFF is still unread in the first: the back-end then remembers
 * the cancel it granted, and refuses the HANDOFF, be_tomb_add).  A stall
 * of the control path shorter than control.dead_after (after which a
 * silent peer is down, fe_on_peer_down) delays the client instead of
 * resetting it.  Past that, or another handoff.timeout if longer,
 * fe_give_up: a peer that is heard from but never answers does not hold
 * the client for good.
 */
static void
fe_cancel(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;
	int		 ms = hd->hd_cfg->cfg_handoff.ch_timeout_ms;
	struct timeval	 tv;

	if (ms < hd->hd_cfg->cfg_control.cc_dead_ms)
		ms = hd->hd_cfg->cfg_control.cc_dead_ms;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	fc->fc_cancel = 1;
	fe_send_close(hd, fc->fc_flow, fc->fc_peer, 0, CTL_CLOSE_CANCEL,
	    fc->fc_iss);
	evtimer_add(fc->fc_timer, &tv);
}

/*
 * A HANDOFF whose fate we cannot learn (no answer to a cancel, or the
 * channel gone), or one accepted where it cannot work: the back-end may
 * hold the connection, so no other may have it, and one client must not
 * get two back-ends' bytes.  The client is reset; the back-end, if it ever
 * hears, lets go too (bflow: its handle, or 0 for it to find the flow by
 * the client's address).  r is what the member's counters call it.
 */
static void
fe_give_up(struct fe_conn *fc, uint64_t bflow, enum health_ho_result r)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	struct fe_qpkt	*q;
	struct pkt	 p;
	uint32_t	 ack = fc->fc_iss + 1;

	/* The back-end's server may have answered already: a client that
	 * acknowledged its bytes (in a segment queued here) drops a reset at
	 * our own edge, and would wait for the rest for ever.  It gets one
	 * at the edge it acknowledged. */
	for (q = fc->fc_qhead; q != NULL; q = q->q_next)
		if (pkt_parse(&p, q->q_data, q->q_len) == PKT_OK &&
		    (p.p_flags & (TH_ACK | TH_RST)) == TH_ACK &&
		    seq_gt(p.p_ack, ack))
			ack = p.p_ack;
	if (ack != fc->fc_iss + 1)
		btcp_rst(hd, &f->f_key.k_laddr, f->f_key.k_lport,
		    &f->f_key.k_raddr, f->f_key.k_rport, ack, 0, 0);
	hd->hd_stats.st_handoffs_failed++;
	hd->hd_stats.st_handoffs_reset++;
	/* nobody took it, or nobody can say */
	fe_alog(fc, "reset", -1);
	health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, fc->fc_peer,
	    r, fc->fc_sent);
	fe_send_close(hd, f, fc->fc_peer, bflow, CTL_CLOSE_ABORT, 0);
	/* Out of the frozen state, or the reset would be held back. */
	fe_set_state(f, FE_COLLECT);
	if (fc->fc_cookie)
		fe_cookie_reset(fc);
	fe_close(hd, f, FLOW_END_ABORT);
}

/*
 * An answer for a HANDOFF we are not waiting for.  A second OK for a flow
 * already forwarded to its sender (the answer to a cancel that crossed
 * the first) changes nothing; an OK for anything else means a back-end
 * holds a connection nobody forwards to, and it must let go.
 */
static void
fe_on_stale_ack(struct hd *hd, int peer, struct flow *f,
    const struct ctl_handoff_ack *ha)
{
	struct ctl_msg	 m;

	hd->hd_stats.st_ctl_stale++;
	if (ha->ha_status != CTL_OK)
		return;
	if (f != NULL && f->f_ops == &fe_flow_ops && f->f_ctx == NULL &&
	    f->f_peer == peer && f->f_peer_handle == ha->ha_bflow)
		return;
	hd->hd_stats.st_handoffs_late++;
	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_flow = ha->ha_bflow;
	m.m_u.close.cl_sflow = ha->ha_flow;
	m.m_u.close.cl_reason = CTL_CLOSE_ABORT;
	peer_send(hd, peer, &m);
}

/*
 * The back-end took the connection at an address its peers[].stack_address
 * does not name.  Client packets go to the configured one, never to an
 * address a peer sends, so this connection cannot work: its server has the
 * request already, so it cannot go elsewhere either.
 */
static void
fe_on_wrong_stack(struct fe_conn *fc, const struct ctl_handoff_ack *ha)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	struct ipaddr	 a;
	char		 got[ADDR_STRLEN], want[ADDR_STRLEN];

	addr_str(&ha->ha_saddr, got, sizeof(got));
	if (fe_stack_addr(hd, fc->fc_peer, f->f_key.k_lport, &f->f_key.k_laddr,
	    &a) == -1)
		snprintf(want, sizeof(want), "none");
	else
		addr_str(&a, want, sizeof(want));
	log_ratelim(&fe_rl_stack, "fe: %s took a connection at stack address "
	    "%s, but its peers[].stack_address%s is %s: client reset (correct "
	    "the configuration)", peer_id(hd, fc->fc_peer), got,
	    addr_is4(&f->f_key.k_laddr) ? "" : "6", want);
	hd->hd_stats.st_handoffs_bad_stack++;
	health_refused(hd, fc->fc_peer);
	fe_give_up(fc, ha->ha_bflow, HEALTH_HO_FAILED);
}

/* One client segment rebuilt from what lwIP held, and forwarded. */
static void
fe_forward_piece(struct hd *hd, struct flow *f, const struct tcp_hdr *th,
    uint32_t off, uint8_t flags, const struct pkt_opts *o,
    const uint8_t *data, size_t len)
{
	struct pkt	 p;
	size_t		 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &f->f_key.k_raddr,
	    f->f_key.k_rport, &f->f_key.k_laddr, f->f_key.k_lport,
	    th->seqno + off, th->ackno, flags, th->wnd, o, data, len, 0);
	if (n > 0 && pkt_parse(&p, hd->hd_txbuf, n) == PKT_OK) {
		hd->hd_stats.st_fe_ooseq++;
		fe_forward(hd, f, &p);
	}
}

/*
 * What lwIP held out of order when it let go: it SACKed those bytes, and a
 * client sends SACKed bytes again only after its retransmission timeout
 * (RFC 2018: the receiver reneged), so they go on to the back-end's stack
 * as the client's segments.  A segment lwIP took whole from a super-packet
 * is cut as the client cut it: the MSS this node offered, less the
 * options each piece carries (nothing cuts it on the way).  Each
 * carries the latest timestamp the client sent, which the back-end's
 * stack had with the request: an older one would fail its PAWS test.  The
 * first run is remembered, a FIN it ends with included: the client fills
 * the hole before it and goes on after it, and f_cnxt must cross it then
 * (fe_forward_learn).  Called after the packets queued during the handoff
 * went: they count in f_qlen, which also bounds the reports of a FIN.
 */
static void
fe_forward_ooseq(struct hd *hd, struct fe_conn *fc, const struct tcp_pcb *pcb)
{
	struct flow		*f = fc->fc_flow;
	const struct tcp_seg	*seg;
	const uint8_t		*th;
	struct pkt_opts		 o, ts;
	size_t			 n, off, len, optlen, mss;
	uint32_t		 seq;
	uint8_t			 flags;

	for (seg = pcb->ooseq; seg != NULL; seg = seg->next) {
		th = (const uint8_t *)seg->tcphdr;
		optlen = TCPH_HDRLEN_BYTES(seg->tcphdr) - TCP_HLEN;
		memset(&ts, 0, sizeof(ts));
		/* The header lies before the data in one buffer (tunif's
		 * packets are whole, lwIP reassembles nothing): checked. */
		if (th + TCP_HLEN + optlen <= (const uint8_t *)seg->p->payload &&
		    pkt_opts_parse_raw(th + TCP_HLEN, optlen, TCP_HLEN,
		    &o) == 0 && o.o_has_ts) {
			ts.o_has_ts = 1;
			ts.o_tsval = (int32_t)(o.o_tsval - pcb->ts_recent) > 0 ?
			    o.o_tsval : pcb->ts_recent;
			ts.o_tsecr = o.o_tsecr;
		}
		mss = fc->fc_fmss > TCPOLEN_TS_PADDED ? fc->fc_fmss : 536;
		if (ts.o_has_ts)
			mss -= TCPOLEN_TS_PADDED;
		/* seg->len, a u16_t, fits RELAY_READ */
		len = seg->len;
		if (pbuf_copy_partial(seg->p, hd->hd_relaybuf, (u16_t)len, 0) !=
		    len)
			continue;
		seq = seg->tcphdr->seqno;
		if (f->f_orun.f_ostart == f->f_orun.f_oend)
			f->f_orun.f_ostart = f->f_orun.f_oend = seq;
		if (f->f_orun.f_oend == seq)
			f->f_orun.f_oend = seq + (uint32_t)len;
		flags = TCPH_FLAGS(seg->tcphdr) & (TH_ACK | TH_PUSH | TH_FIN);
		if (f->f_orun.f_oend == seq + (uint32_t)len && (flags & TH_FIN))
			f->f_orun.f_oend++;
		off = 0;
		do {
			n = len - off < mss ? len - off : mss;
			fe_forward_piece(hd, f, seg->tcphdr, (uint32_t)off,
			    off + n < len ? flags & ~(TH_PUSH | TH_FIN) : flags,
			    &ts, hd->hd_relaybuf + off, n);
			off += n;
		} while (off < len);
	}
}

/* The back-end has the connection (or refused it). */
void
fe_on_handoff_ack(struct hd *hd, int peer, const struct ctl_handoff_ack *ha)
{
	struct flow	*f = flow_by_handle(hd->hd_flows, ha->ha_flow);
	struct fe_conn	*fc;
	struct fe_qpkt	*q;
	struct pkt	 p;

	if (f == NULL || f->f_ops != &fe_flow_ops || f->f_state != FE_HANDOFF ||
	    (fc = f->f_ctx) == NULL || fc->fc_peer != peer) {
		fe_on_stale_ack(hd, peer, f, ha);
		return;
	}
	evtimer_del(fc->fc_timer);
	if (ha->ha_status == CTL_CANCELLED) {
		/* Nothing reached its server: the next member may have it.
		 * The timeout counted against it already. */
		hd->hd_stats.st_handoffs_failed++;
		health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, peer,
		    HEALTH_HO_TIMEOUT, fc->fc_sent);
		fe_failover(fc);
		return;
	}
	if (ha->ha_status != CTL_OK) {
		/* busy is a client's ordinary choice of ports, not news */
		if (ha->ha_status == CTL_BUSY)
			log_debug("fe: %s is busy with the client's endpoint",
			    peer_id(hd, peer));
		else
			log_ratelim(&fe_rl_refused, "fe: %s refused a "
			    "handoff: %s", peer_id(hd, peer),
			    ctl_status_name(ha->ha_status));
		hd->hd_stats.st_handoffs_refused++;
		/* A member that cannot take this one connection (another of
		 * the client's, from the same port to another VIP, holds its
		 * stack endpoint there: busy, or bad-handoff from an older
		 * build) is no less healthy: counted, a client choosing its
		 * ports took it out of every pool. */
		if (ha->ha_status == CTL_BUSY)
			fe_busy_mark(fc, peer);
		else if (ha->ha_status != CTL_BAD_HANDOFF)
			health_refused(hd, peer);
		health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, peer,
		    HEALTH_HO_REFUSED, fc->fc_sent);
		fe_failover(fc);
		return;
	}
	if (peer != PEER_LOCAL && !fe_stack_is(hd, peer, f->f_key.k_lport,
	    &f->f_key.k_laddr, &ha->ha_saddr)) {
		fe_on_wrong_stack(fc, ha);
		return;
	}
	health_accepted(hd, peer);
	health_handoff_done(hd, fe_svc_counted(fc), fc->fc_pool, peer,
	    HEALTH_HO_ACCEPTED, fc->fc_sent);
	if (peer == PEER_LOCAL)
		hd->hd_stats.st_fe_local++;
	fe_alog(fc, peer == PEER_LOCAL ? "local" : "handoff", peer);
	f->f_naddr = ha->ha_saddr;
	f->f_nport = ha->ha_sport;
	f->f_delta = fc->fc_iss - ha->ha_iss;
	f->f_ts_delta = ha->ha_ts_delta;
	f->f_peer_handle = ha->ha_bflow;
	f->f_cnxt = fc->fc_irs + 1 + (uint32_t)evbuffer_get_length(fc->fc_req) +
	    !!fc->fc_fin;
	f->f_cmax = f->f_cnxt;
	f->f_cack = fc->fc_iss + 1;
	f->f_ws_in = ha->ha_ws;
	f->f_ws_out = fc->fc_cws != FE_NO_WS ? fc->fc_cws : 0;
	if (fc->fc_cws != FE_NO_WS && fc->fc_fws != FE_NO_WS &&
	    !(ha->ha_opts & CTL_OPT_WS))
		f->f_flags |= FLOW_UNSCALED;
	fe_set_state(f, FE_FORWARD);
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_idle_ms;
	hd->hd_stats.st_handoffs_acked++;
	while ((q = fc->fc_qhead) != NULL) {
		fc->fc_qhead = q->q_next;
		if (pkt_parse(&p, q->q_data, q->q_len) == PKT_OK) {
			p.p_meta = q->q_meta;
			fe_forward(hd, f, &p);
		}
		free(q);
		f->f_qlen--;
	}
	/* lwIP lets go without a word: no RST, no FIN. */
	if (fc->fc_pcb != NULL) {
		fe_forward_ooseq(hd, fc, fc->fc_pcb);
		fe_detach_pcb(fc->fc_pcb);
		tcp_abandon(fc->fc_pcb, 0);
		fc->fc_pcb = NULL;
	}
	fe_conn_free(f);
}

/* The back-end is done with a flow: keep rewriting stragglers a while. */
void
fe_on_close(struct hd *hd, int peer, struct flow *f,
    const struct ctl_close *cl)
{
	if (f->f_peer != peer || f->f_ctx != NULL || f->f_state == FE_DEAD ||
	    f->f_peer_handle != cl->cl_sflow)
		return;
	if (cl->cl_reason == CTL_CLOSE_MOVED) {
		/* Another front-end forwards it now (fe_lookup.c): nothing to
		 * tell anyone. */
		hd->hd_stats.st_fe_moved++;
		fe_close(hd, f, FLOW_END_MOVED);
		return;
	}
	if (cl->cl_reason == CTL_CLOSE_IDLE) {
		/* The back-end forgot it: nothing serves the client now. */
		fe_reset_client(hd, f);
		fe_close(hd, f, FLOW_END_IDLE);
		return;
	}
	f->f_flags |= FLOW_PEER_DONE;
	f->f_end = FLOW_END_DONE;
	if (cl->cl_reason == CTL_CLOSE_RST) {
		f->f_flags |= FLOW_STACK_RST;
		f->f_end = FLOW_END_SERVER_RST;
	}
	fe_unassign(hd, f);
	fe_set_state(f, FE_LINGER);
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_linger_ms;
	flow_touch(f, hd->hd_now);
}

static void
fe_peer_down_one(struct flow *f, void *arg)
{
	int		*peer = arg;
	struct fe_conn	*fc;

	if (f->f_ops != &fe_flow_ops || f->f_state != FE_HANDOFF ||
	    f->f_peer != *peer)
		return;
	/* One whose cancel was waiting for an answer had timed out first. */
	fc = f->f_ctx;
	fe_give_up(fc, 0, fc->fc_cancel ? HEALTH_HO_TIMEOUT :
	    HEALTH_HO_FAILED);
}

static void
fe_peer_gone_one(struct flow *f, void *arg)
{
	struct fe_gone	*g = arg;

	if (f->f_ops != &fe_flow_ops || f->f_ctx != NULL ||
	    f->f_peer != g->g_peer)
		return;
	if (f->f_state == FE_FORWARD && !g->g_lost) {
		/* Silence may be a cut control path alone, the member and
		 * the connection's packets well: kept while the client shows
		 * it moving, for control.dead_after at a time (fe_expire). */
		f->f_flags |= FLOW_PEER_SILENT;
		f->f_timeout = g->g_hd->hd_cfg->cfg_control.cc_dead_ms;
		flow_touch(f, g->g_hd->hd_now);
		return;
	}
	if (f->f_state == FE_FORWARD)
		fe_reset_client(g->g_hd, f);
	fe_close(g->g_hd, f, FLOW_END_PEER);
}

/* A peer is gone with the rewrite state of its connections (restarted, or
 * its daemon not running): their clients are reset rather than left to time
 * out.  Or it may be (silent for control.dead_after): its connections are
 * kept while they move. */
void
fe_on_peer_gone(struct hd *hd, int peer, int lost)
{
	struct fe_gone	 g = { hd, peer, lost };

	flow_foreach(hd->hd_flows, fe_peer_gone_one, &g);
}

/* The peer is back (msg.c): a client's FIN it may not have heard of is
 * said again.  A flow kept through its silence stays FLOW_PEER_SILENT:
 * the peer dropped what it had to say of it when it found this node gone,
 * so a copy that stops moving is forgotten, and found again by a lookup if
 * the connection is alive. */
void
fe_resend(struct hd *hd, struct flow *f)
{
	if (f->f_ctx == NULL && f->f_state == FE_FORWARD &&
	    (f->f_flags & FLOW_CLIENT_FIN))
		fe_send_close(hd, f, f->f_peer, f->f_peer_handle,
		    CTL_CLOSE_FIN, f->f_cnxt - 1);
}

/* A peer's control channel is gone: what it did with the handoffs in
 * flight cannot be learnt, so their clients are reset (fe_give_up);
 * established flows keep going, their packets need no control channel. */
void
fe_on_peer_down(struct hd *hd, int peer)
{
	flow_foreach(hd->hd_flows, fe_peer_down_one, &peer);
}

/* A lost flow asks its client where it is (FE_DEAD in fe_input answers),
 * FLOW_DEAD_PROBES times a FLOW_DEAD_MS apart (f_qlen counts them: a dead
 * flow queues nothing). */
static void
fe_dead_probe(struct hd *hd, struct flow *f)
{
	f->f_timeout = FLOW_DEAD_MS;
	flow_touch(f, hd->hd_now);
	f->f_qlen++;
	btcp_probe(hd, &f->f_key.k_laddr, f->f_key.k_lport, &f->f_key.k_raddr,
	    f->f_key.k_rport, f->f_cack - 0x40000000, f->f_cnxt);
}

/* Where member peer (PEER_LOCAL: this node) takes handed-off connections
 * to a VIP of vip's family on port vport: 0, or -1 when it takes none
 * (it has no address of that family). */
static int
fe_stack_addr(const struct hd *hd, int peer, uint16_t vport,
    const struct ipaddr *vip, struct ipaddr *a)
{
	const struct cfg	*cfg = hd->hd_cfg;
	int			 v4 = addr_is4(vip);

	memset(a, 0, sizeof(*a));
	if (peer != PEER_LOCAL)
		*a = v4 ? addr4(cfg->cfg_peers[peer].cp_stack_addr) :
		    cfg->cfg_peers[peer].cp_stack_addr6;
	else if (cfg->cfg_handoff.ch_stack != CFG_STACK_KERNEL)
		*a = v4 ? addr4(cfg->cfg_lwip.cl_addr) : cfg->cfg_lwip.cl_addr6;
	else
		*a = v4 ? cfg_server_for(cfg, vport)->ep_addr :
		    cfg->cfg_node.cn_server6;
	return addr_is_none(a) ? -1 : 0;
}

/* Whether addr is where member peer takes handed-off connections to
 * vip's port vport: what a peer's HANDOFF_ACK must say
 * (fe_on_handoff_ack), or what this node's own stack says. */
int
fe_stack_is(const struct hd *hd, int peer, uint16_t vport,
    const struct ipaddr *vip, const struct ipaddr *addr)
{
	struct ipaddr	 a;

	return fe_stack_addr(hd, peer, vport, vip, &a) == 0 &&
	    addr_eq(&a, addr);
}

/*
 * A flow the last process left in node.state_file.  A handed-off one goes
 * on: its rewrite is all in the flow, and its member counts it again.
 * One whose state died with that process (lwIP's pcb, the request, the
 * handoff in flight) cannot: a half-open one goes without a word (it may
 * be spoofed); the others' clients are reset, at the sequence number
 * their answer to a probe names (FE_DEAD in fe_input).
 */
static int
fe_adopt(struct hd *hd, struct flow *f, int lost)
{
	const struct cfg_handoff *ch = &hd->hd_cfg->cfg_handoff;
	struct alog_fe		 a;

	/* Packets go where the configuration says the peer takes them, and
	 * not for longer than it says (the file could be another's). */
	if (!lost && (f->f_state == FE_FORWARD || f->f_state == FE_LINGER) &&
	    fe_stack_is(hd, f->f_peer, f->f_key.k_lport, &f->f_key.k_laddr,
	    &f->f_naddr)) {
		/* the time the daemon was down is not the flow's idleness */
		flow_touch(f, hd->hd_now);
		f->f_timeout = f->f_state == FE_FORWARD ? ch->ch_idle_ms :
		    ch->ch_linger_ms;
		if (f->f_flags & FLOW_ASSIGNED)
			health_assign(hd, f->f_peer, 1);
		return 1;
	}
	f->f_flags &= ~FLOW_ASSIGNED;
	/* A lookup's answers went to the last process. */
	if (f->f_state == FE_LOOKUP) {
		flow_remove(hd->hd_flows, f);
		return 0;
	}
	if (f->f_state != FE_COLLECT && f->f_state != FE_HANDOFF &&
	    f->f_state != FE_RESPOND && f->f_state != FE_FORWARD &&
	    f->f_state != FE_LINGER && f->f_state != FE_DEAD &&
	    f->f_state != FE_LOCAL) {
		fe_close(hd, f, FLOW_END_RESTART);
		return 0;
	}
	/* Given up on, undecided or with its line not yet written (a kill):
	 * what its request was died with the process. */
	if (fe_alog_begin(hd, f, &a))
		alog_fe(hd->hd_alog, &a);
	/* Its relay, and what it counted, died with the process: the line
	 * it would have written says so (no bytes known). */
	if (f->f_state == FE_LOCAL) {
		struct relay_summary	 sum;

		memset(&sum, 0, sizeof(sum));
		sum.rs_caddr = f->f_key.k_raddr;
		sum.rs_cport = f->f_key.k_rport;
		sum.rs_vaddr = f->f_key.k_laddr;
		sum.rs_vport = f->f_key.k_lport;
		sum.rs_ms = hd->hd_now - f->f_start;
		fe_alog_local(hd, &sum, FLOW_END_RESTART);
	}
	/* A member that has (or may have) the connection lets it go (again,
	 * for one a restart before this one lost: that ABORT may have died
	 * with its process). */
	if (!(f->f_flags & FLOW_ORPHAN) && (f->f_state == FE_HANDOFF ||
	    f->f_state == FE_FORWARD || f->f_state == FE_LINGER ||
	    f->f_state == FE_DEAD))
		fe_send_close(hd, f, f->f_peer, f->f_peer_handle,
		    CTL_CLOSE_ABORT, f->f_cnxt);
	/* Before a handoff, nothing went past the SYN/ACK but an answer
	 * (FE_RESPOND) or a local relay's (FE_LOCAL, whose edge only the
	 * probe's answer tells): the reset there is exact. */
	if ((f->f_state == FE_COLLECT || f->f_state == FE_HANDOFF) &&
	    f->f_cack != 0)
		btcp_rst(hd, &f->f_key.k_laddr, f->f_key.k_lport,
		    &f->f_key.k_raddr, f->f_key.k_rport, f->f_cack, 0, 0);
	fe_set_state(f, FE_DEAD);
	f->f_qlen = 0;
	fe_dead_probe(hd, f);
	return 0;
}

/* The flow clock says a front-end flow has been idle too long. */
static void
fe_expire(struct hd *hd, struct flow *f)
{
	struct fe_conn	*fc = f->f_ctx;

	switch (f->f_state) {
	case FE_SYN:
		fe_close(hd, f, FLOW_END_HANDSHAKE);
		break;
	case FE_COLLECT:
		/* A whole request waiting for a member, or for the local
		 * server's answer: its timer decides. */
		if (fc->fc_coming || fc->fc_ldial != NULL) {
			flow_touch(f, hd->hd_now);
			break;
		}
		fe_respond(fc, 408);
		break;
	case FE_RESPOND:
		/* the client had its chance to read */
		fe_close(hd, f, FLOW_END_RESPONDED);
		break;
	case FE_FORWARD:
		/* Idle here; the back-end, which sees the stack, resets the
		 * client if the connection is idle there too: another
		 * front-end may forward it now (one that never looked it up,
		 * or was never told it moved).  A back-end that is down is
		 * waited for (gone, its clients are reset: fe_on_peer_gone);
		 * one of an older build leaves the reset to us.  One gone
		 * silent whose connection stopped moving here: reset while
		 * the member is still down (dead, most likely: a client
		 * waiting to receive would wait for ever; the ABORT waits for
		 * the member); forgotten quietly once it is back, which may
		 * have it (its client's next segment is looked up). */
		if (f->f_flags & FLOW_PEER_SILENT) {
			if (!peer_is_up(hd, f->f_peer)) {
				fe_reset_client(hd, f);
				fe_send_close(hd, f, f->f_peer,
				    f->f_peer_handle, CTL_CLOSE_ABORT,
				    f->f_cnxt);
			}
			fe_close(hd, f, FLOW_END_PEER);
			break;
		}
		if (!peer_is_up(hd, f->f_peer)) {
			flow_touch(f, hd->hd_now);
			break;
		}
		hd->hd_stats.st_fe_idle++;
		if (!peer_speaks_lookup(hd, f->f_peer, 0))
			fe_reset_client(hd, f);
		fe_send_close(hd, f, f->f_peer, f->f_peer_handle,
		    CTL_CLOSE_IDLE, f->f_cmax);
		fe_close(hd, f, FLOW_END_IDLE);
		break;
	case FE_HANDOFF:
		flow_touch(f, hd->hd_now);	/* its timer decides */
		break;
	case FE_LINGER:
		fe_close(hd, f, f->f_end);
		break;
	case FE_DEAD:
		if (f->f_qlen < FLOW_DEAD_PROBES)
			fe_dead_probe(hd, f);
		else
			fe_close(hd, f, FLOW_END_RESTART);
		break;
	case FE_LOCAL:
		flow_touch(f, hd->hd_now);	/* its relay's idleness decides */
		break;
	case FE_LOOKUP:
		/* A member did not answer: it may have it, so no reset. */
		fe_close(hd, f, FLOW_END_UNKNOWN);
		break;
	}
}

/* lwIP's listener on a VIP whose service uses the lwip handshake; NULL if
 * it could not be had. */
static struct tcp_pcb *
fe_listen(struct hd *hd, const struct cfg_service *svc)
{
	struct tcp_pcb	*pcb, *lpcb;
	ip_addr_t	 a;

	port_to_ip(&svc->cs_vip.ep_addr, &a);
	if ((pcb = tcp_new_ip_type(IP_GET_TYPE(&a))) == NULL)
		return NULL;
	/* Inherited by what it accepts, so that after a reload a new
	 * listener binds beside them. */
	ip_set_option(pcb, SOF_REUSEADDR);
	tcp_bind_netif(pcb, tunif_netif(hd->hd_lwip));
	if (tcp_bind(pcb, &a, ntohs(svc->cs_vip.ep_port)) != ERR_OK) {
		tcp_abort(pcb);
		return NULL;
	}
	if ((lpcb = tcp_listen(pcb)) == NULL) {
		tcp_abort(pcb);
		return NULL;
	}
	/* fe_syn gives each half-open pcb its own; one that came any other
	 * way finds none in fe_accept, and is aborted. */
	tcp_arg(lpcb, NULL);
	tcp_accept(lpcb, fe_accept);
	return lpcb;
}

/* The pools' picking state, for the configuration as it is. */
static int
fe_pools_start(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	int			 i;

	for (i = 0; i < CFG_MAX_POOLS; i++) {
		pool_state_free(hd->hd_pools[i]);
		hd->hd_pools[i] = NULL;
	}
	for (i = 0; i < cfg->cfg_npools; i++)
		if ((hd->hd_pools[i] = pool_state_new(&cfg->cfg_pools[i])) ==
		    NULL)
			return -1;
	return 0;
}

/* Listens on every VIP whose service uses the lwip handshake. */
int
fe_init(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	int			 i;

	hd->hd_vip_input = fe_vip_input;
	hd->hd_icmp_input = fe_icmp_relay;
	if (fe_pools_start(hd) == -1)
		return -1;
	for (i = 0; i < cfg->cfg_nservices; i++) {
		const struct cfg_service *svc = &cfg->cfg_services[i];

		if (svc->cs_handshake == CFG_HS_LWIP &&
		    (hd->hd_fe_listen[i] = fe_listen(hd, svc)) == NULL)
			return -1;
	}
	return 0;
}

/*
 * A connection not handed off yet goes on under the new configuration
 * (hd_cfg; old is the one before): its service found again by VIP, its
 * pool by name, the members it tried by node.  One whose service is gone
 * keeps the old service, and is answered 503 if it still needs routing;
 * one whose pool is gone is routed again if it must fail over.
 */
static void
fe_conn_reload(struct fe_conn *fc, const struct cfg *old)
{
	struct hd		*hd = fc->fc_hd;
	const struct cfg_pool	*op, *np;
	uint64_t		 tried = 0, busy = 0;
	int			 svc, pool = -1, i, j;

	/* Another protocol or handshake on the VIP is another service: this
	 * connection's parser and TCP are the old one's. */
	svc = cfg_service_at(hd->hd_cfg, &fc->fc_svc->cs_vip.ep_addr,
	    fc->fc_svc->cs_vip.ep_port);
	if (svc >= 0 && (hd->hd_cfg->cfg_services[svc].cs_protocol !=
	    fc->fc_svc->cs_protocol || hd->hd_cfg->cfg_services[svc].cs_handshake
	    != fc->fc_svc->cs_handshake))
		svc = -1;
	if (svc >= 0) {
		if (fc->fc_cfg != old)	/* nor hd_cfg: from before old */
			fe_cfg_unref(hd, fc->fc_cfg);
		else
			fc->fc_cfg->cfg_refs--;
		fc->fc_cfg = hd->hd_cfg;
		fc->fc_cfg->cfg_refs++;
		fc->fc_svc = &hd->hd_cfg->cfg_services[svc];
	}
	if (fc->fc_pool >= 0 && fc->fc_cfg == hd->hd_cfg) {
		op = &old->cfg_pools[fc->fc_pool];
		if ((pool = cfg_pool_by_name(hd->hd_cfg, op->cp_name)) >= 0) {
			np = &hd->hd_cfg->cfg_pools[pool];
			for (i = 0; i < op->cp_nmembers; i++) {
				if (!(fc->fc_tried & (1ULL << i)))
					continue;
				for (j = 0; j < np->cp_nmembers; j++) {
					if (np->cp_members[j].cm_peer !=
					    op->cp_members[i].cm_peer)
						continue;
					tried |= 1ULL << j;
					if (fc->fc_busy & (1ULL << i))
						busy |= 1ULL << j;
				}
			}
		}
	}
	fc->fc_pool = pool;
	fc->fc_tried = tried;
	fc->fc_busy = busy;
}

static void
fe_reload_one(struct flow *f, void *arg)
{
	if (f->f_ops == &fe_flow_ops && f->f_ctx != NULL)
		fe_conn_reload(f->f_ctx, arg);
}

/*
 * A reload replaced old with hd_cfg: new pools, a listener for each lwip
 * handshake service (those on the same VIP keep theirs; a removed one's
 * half-open connections are reset by lwIP), and every connection not
 * handed off yet moved over.  lwIP owns the new VIPs already (node.c).
 */
int
fe_reload(struct hd *hd, const struct cfg *old)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct tcp_pcb		*listen[CFG_MAX_SERVICES] = { NULL };
	int			 i, j, ws, rc = 0;

	for (i = 0; i < old->cfg_nservices; i++) {
		if (hd->hd_fe_listen[i] == NULL)
			continue;
		j = cfg_service_at(cfg, &old->cfg_services[i].cs_vip.ep_addr,
		    old->cfg_services[i].cs_vip.ep_port);
		if (j >= 0 && cfg->cfg_services[j].cs_handshake == CFG_HS_LWIP)
			listen[j] = hd->hd_fe_listen[i];
		else {
			tcp_close(hd->hd_fe_listen[i]);
			fe_lwip_gone(hd, &old->cfg_services[i].cs_vip);
		}
		hd->hd_fe_listen[i] = NULL;
	}
	for (j = 0; j < cfg->cfg_nservices; j++) {
		if (listen[j] == NULL &&
		    cfg->cfg_services[j].cs_handshake == CFG_HS_LWIP) {
			fe_lwip_back(hd, &cfg->cfg_services[j].cs_vip);
			if ((listen[j] = fe_listen(hd,
			    &cfg->cfg_services[j])) == NULL) {
				log_warnx("reload: service %s: cannot listen "
				    "in lwIP", cfg->cfg_services[j].cs_name);
				rc = -1;
			}
		}
		hd->hd_fe_listen[j] = listen[j];
	}
	if (fe_pools_start(hd) == -1)
		rc = -1;
	if (old->cfg_handoff.ch_window_scale !=
	    cfg->cfg_handoff.ch_window_scale) {
		ws = old->cfg_handoff.ch_window_scale;
		hd->hd_cookie_ws_old |= 1u << ws;
		hd->hd_cookie_ws_at[ws] = hd->hd_now;
	}
	flow_foreach(hd->hd_flows, fe_reload_one, (void *)(uintptr_t)old);
	return rc;
}

/* Closes the VIPs' listeners and the pools; the flows have been closed
 * through their handlers. */
void
fe_shutdown(struct hd *hd)
{
	int	 i;

	for (i = 0; i < hd->hd_cfg->cfg_nservices; i++)
		if (hd->hd_fe_listen[i] != NULL) {
			tcp_close(hd->hd_fe_listen[i]);
			hd->hd_fe_listen[i] = NULL;
		}
	for (i = 0; i < CFG_MAX_POOLS; i++) {
		pool_state_free(hd->hd_pools[i]);
		hd->hd_pools[i] = NULL;
	}
	fe_lookup_free(hd);
}

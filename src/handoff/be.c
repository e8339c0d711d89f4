/*
 * The back-end: a handed-off connection's new home.  On HANDOFF the
 * client's SYN is rebuilt and injected into this node's stack; the
 * stack's SYN/ACK is captured (never sent: the client already has one from
 * the front-end) and gives ISS_B; the client's ACK and the request bytes
 * follow, and HANDOFF_ACK tells the front-end where to send the rest.
 * From then on everything the stack sends for the flow is rewritten to
 * come from the VIP, in the front-end's sequence space, straight to the
 * client.
 *
 * With the kernel stack the SYN, ACK and request go into the TUN device and
 * the host's own TCP takes the connection: the web server accept()s it from
 * the client's real address.  Only what the server sends passes through
 * here (policy routing brings it into the TUN); the client's packets go
 * straight to the socket, so the client's FIN is learnt from the
 * front-end's CLOSE.  With the lwIP stack, the injected connection is
 * relayed to the web server over a socket (relay.c).
 *
 * The commit point is where the request reaches the server: the first
 * request byte injected into the kernel (whose server may read it at
 * once), or the lwIP relay's connection to the server established (before
 * that its bytes wait in the relay).  Before it, nothing the stack sends
 * reaches the client and a failure is a refusal, which the front-end may
 * try elsewhere; from it on, the connection is this node's whatever
 * happens: HANDOFF_ACK goes out at once, the stack's packets go to the
 * client, and nothing is refused, so that one client never gets the bytes
 * of two back-ends and a request never runs twice.  A front-end with no
 * answer asks (CLOSE CANCEL); the answer is CANCELLED before the commit
 * point and OK after it.
 *
 * States (flow.f_state):
 *   BE_INJECT  SYN injected, waiting for the stack's SYN/ACK
 *   BE_DATA    ACK and request injected within the stack's window, until
 *              the stack has acknowledged every byte (the front-end acked
 *              them to the client: the client will never resend them)
 *   BE_ESTAB   every request byte taken; the stack's packets go to the
 *              client once committed
 *   BE_LINGER  over; the stack's last FINs and ACKs are still rewritten
 *   BE_DEAD    lost in a restart: the client and the stack are reset
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

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
#include "handoff/ctl.h"
#include "handoff/flowlog.h"
#include "handoff/handoff.h"
#include "handoff/peer.h"
#include "handoff/relay.h"
#include "handoff/rw.h"

/* A stack answering a SYN from TIME_WAIT twice more is not going to let
 * go. */
#define BE_TW_KILLS	2
/* A lingering flow waits this long at most for the stack's next
 * retransmission (TCP_RTO_MAX: Linux's and lwIP's backoff stop there). */
#define BE_LINGER_REXMIT_MAX	120000

/* CANCELs granted for HANDOFFs not seen, remembered (a ring) so that
 * each HANDOFF, should it come after all, is refused: enough for every
 * handoff in flight on stalled paths at 4,000 a second with the default
 * handoff.timeout. */
#define BE_TOMBS	4096
#define BE_MOVES	4096

enum be_state {
	BE_INJECT = 1,
	BE_ESTAB,
	BE_LINGER,
	BE_DATA,
	BE_DEAD,
};

struct be_conn {
	struct hd		*bc_hd;
	struct flow		*bc_flow;
	int			 bc_peer;
	struct ctl_handoff	 bc_ho;		/* bc_ho.ho_data: bc_data */
	uint8_t			*bc_data;
	struct event		*bc_timer;	/* injection retries */
	uint32_t		 bc_start;
	struct relay		*bc_relay;
	uint32_t		 bc_sent;	/* request bytes injected */
	uint32_t		 bc_acked;	/* ... and acknowledged */
	uint32_t		 bc_wnd;	/* the stack's window, bytes */
	uint16_t		 bc_mss;	/* the stack's MSS */
	uint8_t			 bc_fin_sent;
	uint8_t			 bc_tw_kills;	/* TIME_WAITs reset */
	uint8_t			 bc_synack;	/* the stack's SYN/ACK seen */
	uint8_t			 bc_rst;	/* the stack refused */
	uint8_t			 bc_committed;	/* the request reached it */
	uint8_t			 bc_ws;
	uint8_t			 bc_has_ws;
	uint8_t			 bc_has_ts;
	uint32_t		 bc_iss;
	uint32_t		 bc_tsval;
};

/* A HANDOFF this node answered CANCELLED before it came: its front-end
 * and that one's handle for it, its client's endpoint, the front-end's
 * ISN (a new connection of the same endpoint has another), and when. */
struct be_tomb {
	struct ipaddr	 bt_caddr;
	uint64_t	 bt_sflow;
	uint16_t	 bt_cport;
	uint16_t	 bt_vport;
	uint32_t	 bt_iss;
	uint32_t	 bt_ms;
	int		 bt_peer;
};

/* A move this node told the front-end that forwarded the flow before (a
 * CLOSE moved written to its live control connection): what was said, to
 * whom, and when. */
struct be_moved {
	struct ctl_close bm_close;
	uint32_t	 bm_ms;
	int		 bm_peer;
};

/* What handoffs and their packets cause is logged at most once a second. */
static struct log_rl be_rl_full;
static struct log_rl be_rl_tomb;
static struct log_rl be_rl_vip;
static struct log_rl be_rl_ack_lost;
static struct log_rl be_rl_refused;
static struct log_rl be_rl_late;

static void	be_input(struct hd *, struct flow *, struct pkt *);
static int	be_output(struct hd *, struct flow *, struct pkt *);
static void	be_expire(struct hd *, struct flow *);
static void	be_close(struct hd *, struct flow *, enum flow_end);
static void	be_reset_client(struct hd *, const struct flow *);
static uint32_t	be_client_edge(const struct flow *);
static int	be_adopt(struct hd *, struct flow *, int);

static const char *const be_state_names[] = {
	"none", "inject", "established", "linger", "data", "dead"
};

const struct flow_ops be_flow_ops = {
	"back-end", FLOW_OWNER_BE, be_state_names,
	sizeof(be_state_names) / sizeof(be_state_names[0]),
	be_input, be_output, be_expire, be_close, NULL, be_adopt
};

static int
be_kernel(const struct hd *hd)
{
	return hd->hd_cfg->cfg_handoff.ch_stack == CFG_STACK_KERNEL;
}

/*
 * The key of the flow of the client caddr:cport to the VIP's port vport
 * (network order) at this node's stack, which takes it at the endpoint of
 * the web server for that port with the kernel (node.servers, else
 * node.server; for an IPv6 client node.server_address6 at that port),
 * at lwIP's address of the client's family otherwise (lwip.address or
 * lwip.address6).  Without an address of that family the key names ::,
 * no flow's.
 */
static void
be_key(const struct hd *hd, struct flow_key *k, const struct ipaddr *caddr,
    uint16_t cport, uint16_t vport)
{
	const struct cfg_endpoint *srv;

	k->k_raddr = *caddr;
	k->k_rport = cport;
	memset(&k->k_laddr, 0, sizeof(k->k_laddr));
	if (be_kernel(hd)) {
		srv = cfg_server_for(hd->hd_cfg, vport);
		if (addr_is4(caddr))
			k->k_laddr = srv->ep_addr;
		else
			k->k_laddr = hd->hd_cfg->cfg_node.cn_server6;
		k->k_lport = srv->ep_port;
	} else {
		if (addr_is4(caddr))
			k->k_laddr = addr4(hd->hd_cfg->cfg_lwip.cl_addr);
		else
			k->k_laddr = hd->hd_cfg->cfg_lwip.cl_addr6;
		k->k_lport = vport;
	}
}

/* The injection state is not needed once the stack has the connection
 * and nothing is relayed (the kernel stack). */
static void
be_conn_free(struct flow *f)
{
	struct be_conn	*bc = f->f_ctx;

	if (bc->bc_timer != NULL)
		event_free(bc->bc_timer);
	free(bc->bc_data);
	free(bc);
	f->f_ctx = NULL;
}

/* Answers a HANDOFF.  The stack's ISN goes back as the front-end's ISN
 * minus the flow's delta, which also answers a repeated HANDOFF after the
 * injection state is gone. */
static void
be_send_ack(struct hd *hd, int peer, const struct ctl_handoff *ho,
    struct flow *f, enum ctl_status st)
{
	struct ctl_msg		 m;
	struct ctl_handoff_ack	*ha = &m.m_u.ack;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_HANDOFF_ACK;
	ha->ha_flow = ho->ho_flow;
	ha->ha_status = st;
	if (st == CTL_OK && f != NULL) {
		ha->ha_bflow = flow_handle(hd->hd_flows, f);
		ha->ha_ws = f->f_ws_in;
		ha->ha_mss = hd->hd_cfg->cfg_handoff.ch_mss;
		ha->ha_iss = ho->ho_iss - f->f_delta;
		ha->ha_ts_delta = f->f_ts_delta;
		ha->ha_saddr = f->f_key.k_laddr;
		ha->ha_sport = f->f_key.k_lport;
		if ((ho->ho_opts & CTL_OPT_WS) &&
		    !(f->f_flags & FLOW_UNSCALED))
			ha->ha_opts |= CTL_OPT_WS;
	}
	if (peer_send(hd, peer, &m) == -1)
		log_ratelim(&be_rl_ack_lost, "be: HANDOFF_ACK to %s lost: "
		    "control channel down", peer_id(hd, peer));
}

/* A flow that is over or lingering is no load: what LOAD reports and
 * least-conn and LARD weigh is connections being served. */
static void
be_unserve(struct hd *hd, struct flow *f)
{
	if (f->f_flags & FLOW_SERVING) {
		f->f_flags &= ~FLOW_SERVING;
		hd->hd_served--;
	}
}

/* Whether the stack's packets may reach the client. */
static int
be_committed(const struct flow *f)
{
	const struct be_conn *bc = f->f_ctx;

	return bc == NULL || bc->bc_committed;
}

/* A served connection's line in the access log, once: when it is over
 * for its client and server, not after the linger that rewrites their
 * last packets.  Before the commit point the front-end still decides. */
static void
be_alog(struct hd *hd, struct flow *f, enum flow_end why)
{
	struct alog_srv	 a;

	if (hd->hd_alog == NULL || !be_committed(f) ||
	    (f->f_flags & FLOW_LOGGED))
		return;
	f->f_flags |= FLOW_LOGGED;
	memset(&a, 0, sizeof(a));
	a.as_caddr = f->f_key.k_raddr;
	a.as_cport = f->f_key.k_rport;
	a.as_vaddr = f->f_naddr;
	a.as_vport = f->f_nport;
	a.as_frontend = peer_id(hd, f->f_peer);
	a.as_end = flow_end_name(why);
	a.as_ms = hd->hd_now - f->f_start;
	a.as_bytes = f->f_sbytes;
	alog_srv(hd->hd_alog, &a);
}

/*
 * The node stops: the client of a connection relayed from lwIP, which
 * cannot outlive it, is reset where it last acknowledged and at the last
 * byte the stack sent, when they differ (a window probe's byte lies past
 * what a zero window took): one is exact, the other draws at most a
 * challenge ACK.  A lingering one (its relay done) still has a pcb when
 * lwIP has yet to deliver the answer or its FIN.
 */
static void
be_stop_reset(struct hd *hd, const struct flow *f, const struct tcp_pcb *pcb)
{
	uint32_t	 acked;

	if (pcb != NULL && (acked = pcb->lastack + f->f_delta) !=
	    be_client_edge(f))
		btcp_rst(hd, &f->f_naddr, f->f_nport, &f->f_key.k_raddr,
		    f->f_key.k_rport, acked, f->f_cnxt, TH_ACK);
	be_reset_client(hd, f);
}

/* The one way a back-end flow ends.  With a relay still running, its
 * connection is reset; the flow goes first, so that the reset, having no
 * flow, never reaches the client, unless the node stops: a connection
 * relayed from lwIP cannot outlive it, and its client is reset. */
/* lwIP's pcb of f's, if it still holds bytes or a FIN its client has not
 * acknowledged. */
static struct tcp_pcb *
be_lwip_holding(const struct flow *f)
{
	struct tcp_pcb	*pcb;

	pcb = port_tcp_active(&f->f_key.k_laddr, ntohs(f->f_key.k_lport),
	    &f->f_key.k_raddr, ntohs(f->f_key.k_rport));
	return pcb != NULL && (pcb->unsent != NULL || pcb->unacked != NULL) ?
	    pcb : NULL;
}

static void
be_close(struct hd *hd, struct flow *f, enum flow_end why)
{
	struct be_conn	*bc = f->f_ctx;
	struct relay	*r = NULL;
	struct tcp_pcb	*pcb;

	if (f->f_state == BE_LINGER) {
		/* lwIP still has bytes for the client.  With the flow gone
		 * nothing it sends reaches the client, and its backoff (with no
		 * 120 s cap) would keep them for up to three quarters of an
		 * hour: let go of them, as a kernel does at its last retry. */
		if (!be_kernel(hd) && (f->f_flags & FLOW_COMMITTED) &&
		    (pcb = be_lwip_holding(f)) != NULL) {
			if (why == FLOW_END_SHUTDOWN)
				be_stop_reset(hd, f, pcb);
			else
				tcp_abandon(pcb, 0);
		}
		why = f->f_end;
	}
	flowlog_end(hd, f, "be", &f->f_naddr, f->f_nport, f->f_peer, why);
	be_alog(hd, f, why);
	if (bc != NULL) {
		r = bc->bc_relay;
		if (r != NULL && why == FLOW_END_SHUTDOWN && bc->bc_committed)
			be_stop_reset(hd, f, relay_pcb(r));
		be_conn_free(f);
	}
	be_unserve(hd, f);
	flow_remove(hd->hd_flows, f);
	if (r != NULL)
		relay_abort(r);
}

/* The CLOSE about f for its front-end. */
static void
be_close_of(struct hd *hd, const struct flow *f, enum ctl_reason why,
    struct ctl_close *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->cl_flow = f->f_peer_handle;
	cl->cl_sflow = flow_handle(hd->hd_flows, f);
	cl->cl_reason = why;
	cl->cl_caddr = f->f_key.k_raddr;
	cl->cl_cport = f->f_key.k_rport;
	cl->cl_vport = f->f_nport;
}

static int
be_close_send(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct ctl_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close = *cl;
	return (peer_send(hd, peer, &m));
}

/* A CLOSE about f to its front-end. */
static void
be_tell(struct hd *hd, const struct flow *f, enum ctl_reason why)
{
	struct ctl_close cl;

	be_close_of(hd, f, why, &cl);
	if (be_close_send(hd, f->f_peer, &cl) == -1)
		log_debug("be: CLOSE to %s not sent: control channel down",
		    peer_id(hd, f->f_peer));
}

static void
be_send_close(struct hd *hd, struct flow *f, enum ctl_reason why)
{
	if (f->f_flags & FLOW_CLOSE_SENT)
		return;
	f->f_flags |= FLOW_CLOSE_SENT;
	be_tell(hd, f, why);
}

/* A restart's lost flow is over: the front-end may stop forwarding. */
static void
be_dead_end(struct hd *hd, struct flow *f)
{
	if (!(f->f_flags & FLOW_ORPHAN))
		be_send_close(hd, f, CTL_CLOSE_RST);
	be_close(hd, f, FLOW_END_RESTART);
}

/* Where the client's stream ends as far as the stack sent it, in the
 * client's sequence space. */
static uint32_t
be_client_edge(const struct flow *f)
{
	return f->f_cmax + f->f_delta + !!(f->f_flags & FLOW_STACK_FIN);
}

/* A lost flow asks its client where it is (BE_DEAD in be_input answers,
 * for the lwIP stack: the kernel's clients answer the kernel),
 * FLOW_DEAD_PROBES times a FLOW_DEAD_MS apart (f_qlen counts them: a dead
 * flow queues nothing). */
static void
be_dead_probe(struct hd *hd, struct flow *f)
{
	f->f_timeout = FLOW_DEAD_MS;
	flow_touch(f, hd->hd_now);
	f->f_qlen++;
	btcp_probe(hd, &f->f_naddr, f->f_nport, &f->f_key.k_raddr,
	    f->f_key.k_rport, be_client_edge(f) - 0x40000000, f->f_cnxt);
}

static void	be_linger(struct hd *, struct flow *, enum flow_end);
static void	be_kernel_fin(struct hd *, struct flow *);
static void	be_kernel_client_fin(struct hd *, struct flow *, uint32_t);
static void	be_refuse(struct hd *, struct flow *, enum ctl_status);

/*
 * The commit point (see the top of this file): the front-end learns at
 * once that the connection is ours, and the stack's packets start going
 * to the client.
 */
static void
be_commit(struct be_conn *bc)
{
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;

	if (bc->bc_committed)
		return;
	bc->bc_committed = 1;
	f->f_flags |= FLOW_COMMITTED;
	f->f_cmax = bc->bc_iss + 1;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_idle_ms;
	hd->hd_stats.st_be_accepted++;
	be_send_ack(hd, bc->bc_peer, &bc->bc_ho, f, CTL_OK);
}

/* The relay reached the web server: the request is on its way to it. */
static void
be_relay_connected(void *arg)
{
	be_commit(arg);
}

/* The relay is over: keep rewriting the stack's last packets a while, and
 * tell the front-end so it can do the same and then forget the flow. */
static void
be_relay_done(void *arg, enum relay_end how, const struct relay_summary *sum)
{
	struct be_conn	*bc = arg;
	struct flow	*f = bc->bc_flow;
	struct hd	*hd = bc->bc_hd;

	bc->bc_relay = NULL;
	if (!bc->bc_committed) {
		/* The server never had the request (it refused, or lwIP's
		 * connection died first): another member may. */
		be_refuse(hd, f, CTL_REFUSED);
		return;
	}
	be_conn_free(f);
	if (sum->rs_client_fin)
		f->f_flags |= FLOW_CLIENT_FIN;
	if (sum->rs_client_rst)
		f->f_flags |= FLOW_CLIENT_RST;
	if (how == RELAY_DONE)
		be_linger(hd, f, FLOW_END_DONE);
	else if (how == RELAY_IDLE) {
		/* As be_expire: lwIP reset the client, the relay the server;
		 * the front-end is told why. */
		hd->hd_stats.st_be_idle++;
		be_send_close(hd, f, CTL_CLOSE_IDLE);
		be_linger(hd, f, FLOW_END_IDLE);
	} else
		be_linger(hd, f, f->f_flags & FLOW_CLIENT_RST ?
		    FLOW_END_CLIENT_RST : FLOW_END_SERVER_RST);
}

/* The stack accepted the injected connection: relay it to the server. */
static err_t
be_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct hd	*hd = arg;
	struct flow_key	 k;
	struct flow	*f;
	struct be_conn	*bc;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	port_pcb_key(pcb, &k);
	f = flow_lookup(hd->hd_flows, &k);
	if (f == NULL || f->f_ops != &be_flow_ops || (bc = f->f_ctx) == NULL ||
	    bc->bc_relay != NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_nagle_disable(pcb);
	port_tcp_clamp_mss(pcb);
	/* This daemon answered its SYN/ACK itself, at once: the ACK, which
	 * lwIP reads after this callback, is no RTT sample (Karn's rule),
	 * else the first loss probes went at the probe timeout's floor, long
	 * before a client's ACK could come back. */
	if (pcb->unacked != NULL)
		pcb->unacked->flags |= TF_SEG_RETX;
	/* lwIP listens on the VIP's port: its server is that port's. */
	bc->bc_relay = relay_new(hd, pcb, cfg_server_for(hd->hd_cfg, k.k_lport),
	    -1, &f->f_naddr, f->f_nport, NULL, be_relay_done, bc);
	if (bc->bc_relay == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	relay_on_connect(bc->bc_relay, be_relay_connected);
	return ERR_OK;
}

/* lwIP's listener at a:port (host order), or NULL. */
static struct tcp_pcb *
be_listen_at(struct hd *hd, const struct ipaddr *a, uint16_t port)
{
	struct tcp_pcb	*pcb, *lpcb;
	ip_addr_t	 ip;

	port_to_ip(a, &ip);
	if ((pcb = tcp_new_ip_type(IP_GET_TYPE(&ip))) == NULL)
		return NULL;
	if (tcp_bind(pcb, &ip, port) != ERR_OK ||
	    (lpcb = tcp_listen(pcb)) == NULL) {
		tcp_abort(pcb);
		return NULL;
	}
	tcp_arg(lpcb, hd);
	tcp_accept(lpcb, be_accept);
	return lpcb;
}

/* A listener on the stack addresses for every VIP port handed to us. */
static int
be_listen(struct hd *hd, uint16_t port)
{
	const struct cfg_lwip	*cl = &hd->hd_cfg->cfg_lwip;
	struct tcp_pcb		**l;
	struct ipaddr		 a = addr4(cl->cl_addr);
	int			 i;

	for (i = 0; i < hd->hd_be_nlisten; i++)
		if (hd->hd_be_listen_port[i] == port)
			return 0;
	if (hd->hd_be_nlisten == HD_MAX_BE_PORTS)
		return -1;
	l = hd->hd_be_listen[hd->hd_be_nlisten];
	if ((l[0] = be_listen_at(hd, &a, ntohs(port))) == NULL)
		return -1;
	l[1] = NULL;
	if (!addr_is_none(&cl->cl_addr6) &&
	    (l[1] = be_listen_at(hd, &cl->cl_addr6, ntohs(port))) == NULL) {
		tcp_close(l[0]);
		return -1;
	}
	hd->hd_be_listen_port[hd->hd_be_nlisten++] = port;
	return 0;
}

/*
 * The window an injected segment carries.  lwIP takes the SYN's window
 * (never scaled) for the largest the client offered, and cuts its
 * segments to half of that: the client's in bytes, as far as 64 KB go (a
 * zero window says nothing of its size).  A kernel takes the window of
 * the handshake's ACK.
 */
static uint16_t
be_window(const struct be_conn *bc, uint8_t flags)
{
	const struct ctl_handoff *ho = &bc->bc_ho;

	if (flags & TH_SYN) {
		if (be_kernel(bc->bc_hd) || ho->ho_cwin == 0)
			return 0xffff;
		return rw_window(ho->ho_cwin, ho->ho_cws, 0);
	}
	if (bc->bc_flow->f_flags & FLOW_UNSCALED)
		return rw_window(ho->ho_cwin, ho->ho_cws, 0);
	return ho->ho_cwin;
}

/* Builds one segment from the client to the stack and injects it. */
static void
be_inject(struct be_conn *bc, uint32_t seq, uint32_t ack, uint8_t flags,
    const struct pkt_opts *o, const uint8_t *data, size_t len)
{
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	size_t		 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &f->f_key.k_raddr,
	    f->f_key.k_rport, &f->f_key.k_laddr, f->f_key.k_lport, seq, ack,
	    flags, be_window(bc, flags), o, data, len, 0);
	if (n == 0)
		return;
	hd->hd_stats.st_injected++;
	if (be_kernel(hd))
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
	else
		tunif_input(hd->hd_lwip, hd->hd_txbuf, n);
}

/* The client's SYN, restricted to what the front-end's SYN/ACK agreed to. */
static void
be_inject_syn(struct be_conn *bc)
{
	const struct ctl_handoff *ho = &bc->bc_ho;
	struct pkt_opts	 o;

	memset(&o, 0, sizeof(o));
	o.o_mss = ho->ho_cmss;
	if (ho->ho_opts & CTL_OPT_WS) {
		o.o_has_ws = 1;
		o.o_ws = ho->ho_cws;
	}
	o.o_sack_ok = (ho->ho_opts & CTL_OPT_SACK) != 0;
	if (ho->ho_opts & CTL_OPT_TS) {
		o.o_has_ts = 1;
		o.o_tsval = ho->ho_ctsval;
	}
	be_inject(bc, ho->ho_irs, 0, TH_SYN, &o, NULL, 0);
}

/* The client's side of every injected segment after the SYN. */
static void
be_client_opts(const struct be_conn *bc, struct pkt_opts *o)
{
	memset(o, 0, sizeof(*o));
	if ((bc->bc_ho.ho_opts & CTL_OPT_TS) && bc->bc_has_ts) {
		o->o_has_ts = 1;
		o->o_tsval = bc->bc_ho.ho_ctsval;
		o->o_tsecr = bc->bc_tsval;
	}
}

/*
 * The stack acknowledges acked bytes after the client's ISN.  Past the
 * commit point the client's own packets reach the stack too, so an
 * acknowledgment may cover more than the request: the stack then has all
 * of it.
 */
static void
be_stack_acked(struct be_conn *bc, uint32_t acked)
{
	const struct ctl_handoff *ho = &bc->bc_ho;
	uint32_t	 target = ho->ho_datalen + !!(ho->ho_opts & CTL_OPT_FIN);

	if (seq_gt(acked, target))
		acked = target;
	if (seq_gt(acked, bc->bc_acked))
		bc->bc_acked = acked;
}

/* What lwIP has taken in so far, read from its pcb: lwIP processes an
 * injected segment at once but may delay its ACK. */
static void
be_stack_progress(struct be_conn *bc)
{
	const struct tcp_pcb *pcb;

	if (bc->bc_relay == NULL || (pcb = relay_pcb(bc->bc_relay)) == NULL)
		return;
	be_stack_acked(bc, pcb->rcv_nxt - bc->bc_ho.ho_irs - 1);
	bc->bc_wnd = pcb->rcv_wnd;
}

/*
 * Injects request bytes from bc_sent on, in the stack's MSS and no further
 * than its window allows, then the client's FIN if it came with them.
 * Returns -1 if the flow went away meanwhile (the stack reset it).
 */
static int
be_push_data(struct be_conn *bc)
{
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	const struct ctl_handoff *ho = &bc->bc_ho;
	uint64_t	 h = flow_handle(hd->hd_flows, f);
	uint32_t	 n, end = ho->ho_datalen, seq0 = ho->ho_irs + 1;
	struct pkt_opts	 o;

	be_client_opts(bc, &o);
	while (bc->bc_sent < end) {
		be_stack_progress(bc);
		n = end - bc->bc_sent;
		if (n > bc->bc_mss)
			n = bc->bc_mss;
		if (bc->bc_sent + n > bc->bc_acked + bc->bc_wnd)
			break;		/* the window is full: wait for acks */
		be_inject(bc, seq0 + bc->bc_sent, bc->bc_iss + 1,
		    TH_ACK | (bc->bc_sent + n == end ? TH_PUSH : 0), &o,
		    bc->bc_data + bc->bc_sent, n);
		bc->bc_sent += n;
		if (flow_by_handle(hd->hd_flows, h) != f || f->f_ctx != bc)
			return -1;
	}
	if (bc->bc_sent == end && (ho->ho_opts & CTL_OPT_FIN) &&
	    !bc->bc_fin_sent) {
		be_inject(bc, seq0 + end, bc->bc_iss + 1, TH_ACK | TH_FIN, &o,
		    NULL, 0);
		bc->bc_fin_sent = 1;
		if (flow_by_handle(hd->hd_flows, h) != f || f->f_ctx != bc)
			return -1;
	}
	/* The kernel's server may read what it has been given at once. */
	if (be_kernel(hd) && bc->bc_sent > 0)
		be_commit(bc);
	return 0;
}

/*
 * Once the stack has acknowledged every request byte, injection is over.
 * lwIP may delay its ACK, but it has processed the segments when injection
 * returns, so its pcb is asked directly.
 */
static void
be_check_data(struct be_conn *bc)
{
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	const struct ctl_handoff *ho = &bc->bc_ho;
	uint32_t	 target = ho->ho_datalen + !!(ho->ho_opts & CTL_OPT_FIN);

	be_stack_progress(bc);
	if (bc->bc_acked < target)
		return;
	evtimer_del(bc->bc_timer);
	f->f_state = BE_ESTAB;
	if (be_kernel(hd)) {
		be_conn_free(f);
		/* The server may have answered and closed already. */
		if (f->f_flags & FLOW_STACK_RST)
			be_linger(hd, f, FLOW_END_SERVER_RST);
		else
			be_kernel_fin(hd, f);
	}
}

/*
 * The stack's SYN/ACK is in: set up the rewrite, then the client's ACK
 * and the request bytes.
 */
static void
be_inject_rest(struct be_conn *bc)
{
	struct hd		*hd = bc->bc_hd;
	struct flow		*f = bc->bc_flow;
	const struct ctl_handoff *ho = &bc->bc_ho;
	struct pkt_opts		 o;
	uint64_t		 h = flow_handle(hd->hd_flows, f);

	f->f_delta = ho->ho_iss - bc->bc_iss;
	if (ho->ho_opts & CTL_OPT_WS) {
		f->f_ws_in = bc->bc_ws;
		f->f_ws_out = ho->ho_fws;
		f->f_cws = ho->ho_cws;
		/* A kernel without window scaling (tcp_window_scaling=0, or
		 * a SYN cookie that could not hold it): the front-end scales
		 * what the client says for it, as we do here. */
		if (!bc->bc_has_ws)
			f->f_flags |= FLOW_UNSCALED;
	}
	/* The client must see TSvals above the last one the front-end sent
	 * (PAWS): start the stack's one above it. */
	if ((ho->ho_opts & CTL_OPT_TS) && bc->bc_has_ts)
		f->f_ts_delta = ho->ho_ftsval + 1 - bc->bc_tsval;
	f->f_irs = ho->ho_irs;
	f->f_cnxt = ho->ho_irs + 1 + ho->ho_datalen +
	    !!(ho->ho_opts & CTL_OPT_FIN);
	/* The client's FIN came with the request: no CLOSE will say so. */
	if (ho->ho_opts & CTL_OPT_FIN)
		f->f_flags |= FLOW_CLIENT_FIN;
	f->f_state = BE_DATA;
	/* The handshake's last ACK alone, so the stack knows the client's
	 * window before any data. */
	be_client_opts(bc, &o);
	be_inject(bc, ho->ho_irs + 1, bc->bc_iss + 1, TH_ACK, &o, NULL, 0);
	if (flow_by_handle(hd->hd_flows, h) != f || f->f_ctx != bc)
		return;
	if (be_push_data(bc) == 0)
		be_check_data(bc);
}

/* The client's next sequence number as far as injection went, 0 once the
 * injection state is gone (f_cnxt then knows). */
static uint32_t
be_client_next(const struct flow *f)
{
	const struct be_conn *bc = f->f_ctx;

	return bc != NULL ? bc->bc_ho.ho_irs + 1 + bc->bc_sent : 0;
}

/*
 * Resets the kernel's connection from the client's side, so that a flow
 * we drop does not leave the web server retransmitting into the void, nor
 * an injected SYN a half-open connection.  seq is the client's next
 * sequence number (0: the one we injected up to); the kernel takes a reset
 * at exactly that (RFC 5961), and ignores one for a connection it does not
 * have.
 */
static void
be_kernel_rst(struct hd *hd, const struct flow *f, uint32_t seq)
{
	size_t	 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &f->f_key.k_raddr,
	    f->f_key.k_rport, &f->f_key.k_laddr, f->f_key.k_lport, seq, 0,
	    TH_RST, 0, NULL, NULL, 0, 0);
	if (n > 0)
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
}

static void
be_kernel_reset(struct hd *hd, struct flow *f, uint32_t seq)
{
	if (!be_kernel(hd) || f->f_state == BE_LINGER)
		return;
	be_kernel_rst(hd, f, seq != 0 ? seq : f->f_cnxt);
}

static void
be_refuse(struct hd *hd, struct flow *f, enum ctl_status st)
{
	struct be_conn	*bc = f->f_ctx;

	hd->hd_stats.st_be_refused++;
	log_ratelim(&be_rl_refused, "be: handoff from %s refused: %s",
	    peer_id(hd, bc->bc_peer), ctl_status_name(st));
	be_send_ack(hd, bc->bc_peer, &bc->bc_ho, NULL, st);
	if (!bc->bc_rst)	/* else the stack has nothing to forget */
		be_kernel_reset(hd, f, be_client_next(f));
	be_close(hd, f, FLOW_END_REFUSED);
}

/*
 * The injection's clock: the SYN until the stack answers, then the request
 * bytes from the last one acknowledged, until all are or the handoff
 * timeout says the stack will not take them.
 */
static void
be_on_inject_timer(int fd, short ev, void *arg)
{
	struct be_conn	*bc = arg;
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	uint64_t	 h = flow_handle(hd->hd_flows, f);
	int		 retry = hd->hd_cfg->cfg_handoff.ch_inject_retry_ms;
	struct timeval	 tv = { retry / 1000, (retry % 1000) * 1000 };

	/* Past the commit point only idle expiry ends it. */
	if (!bc->bc_committed && (int32_t)(port_now_ms() - bc->bc_start) >=
	    hd->hd_cfg->cfg_handoff.ch_timeout_ms) {
		be_refuse(hd, f, CTL_STACK_TIMEOUT);
		return;
	}
	if (f->f_state == BE_DATA) {
		/* A timeout goes back to the last byte acknowledged; a kick
		 * (the stack's window opened) just carries on. */
		if (ev & EV_TIMEOUT) {
			bc->bc_sent = bc->bc_acked;
			bc->bc_fin_sent = 0;
		}
		if (be_push_data(bc) == -1)
			return;
		be_check_data(bc);
		if (flow_by_handle(hd->hd_flows, h) != f || f->f_ctx != bc ||
		    f->f_state != BE_DATA)
			return;
		/* An activated timer is no longer pending: arm it again. */
		evtimer_add(bc->bc_timer, &tv);
		return;
	}
	if (!bc->bc_synack && !bc->bc_rst)
		be_inject_syn(bc);
	if (bc->bc_rst) {
		be_refuse(hd, f, CTL_REFUSED);
		return;
	}
	if (bc->bc_synack) {
		be_inject_rest(bc);
		/* Unless it is done, or the stack dropped it (and bc). */
		if (flow_by_handle(hd->hd_flows, h) == f && f->f_ctx == bc &&
		    f->f_state == BE_DATA)
			evtimer_add(bc->bc_timer, &tv);
		return;
	}
	evtimer_add(bc->bc_timer, &tv);
}

/* A front-end hands us a connection. */
/*
 * Whether a handoff from peer makes f an older connection, over: the
 * front-end that forwards f's client to the same VIP completed a new
 * handshake with it (a new ISN), which it does only once it has no
 * connection of that client endpoint: its word that f ended (a CLOSE) was
 * lost with a control connection, or never sent (the client's reset only
 * the stack judged exact).  A client's endpoint to another VIP on the same
 * port, or from another front-end, is another live connection.
 */
static int
be_superseded(const struct flow *f, int peer, const struct ctl_handoff *ho)
{
	return f->f_ops == &be_flow_ops && be_committed(f) &&
	    f->f_state != BE_LINGER && f->f_peer == peer &&
	    f->f_irs != ho->ho_irs && f->f_nport == ho->ho_vport &&
	    addr_eq(&f->f_naddr, &ho->ho_vaddr);
}

/*
 * How long a tomb lasts: the HANDOFF it stands for waits, unread, in a
 * control connection this node has heard nothing more on since before
 * the CANCEL came (the connection is ordered), which is closed
 * control.dead_after later, at the next heartbeat tick; and the
 * handoff.timeout more.  (A connection that trickles, each frame ahead
 * of the HANDOFF a little under dead_after after the last, could bring
 * it later still.)
 */
static uint32_t
be_tomb_life(const struct hd *hd)
{
	return (uint32_t)hd->hd_cfg->cfg_control.cc_dead_ms +
	    (uint32_t)hd->hd_cfg->cfg_control.cc_heartbeat_ms +
	    (uint32_t)hd->hd_cfg->cfg_handoff.ch_timeout_ms;
}

/* A CANCEL for a HANDOFF this node has not seen: the two came on different
 * control connections (the front-end's one in use changed between them),
 * and the HANDOFF may still come, after the front-end gave the client to
 * another member. */
static void
be_tomb_add(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct be_tomb	*t;

	if (hd->hd_be_tombs == NULL &&
	    (hd->hd_be_tombs = calloc(BE_TOMBS, sizeof(*t))) == NULL) {
		log_warn("be: a cancel cannot be remembered");
		return;
	}
	t = &hd->hd_be_tombs[hd->hd_be_ntombs % BE_TOMBS];
	if (hd->hd_be_ntombs >= BE_TOMBS &&
	    port_now_ms() - t->bt_ms < be_tomb_life(hd))
		log_ratelim(&be_rl_tomb, "be: more than %d handoffs cancelled "
		    "unseen within %u ms: the oldest is forgotten, and would "
		    "be run if it came", BE_TOMBS, be_tomb_life(hd));
	/* Past one round, the whole ring is searched. */
	if (++hd->hd_be_ntombs == 2 * BE_TOMBS)
		hd->hd_be_ntombs = BE_TOMBS;
	t->bt_caddr = cl->cl_caddr;
	t->bt_cport = cl->cl_cport;
	t->bt_vport = cl->cl_vport;
	t->bt_sflow = cl->cl_sflow;
	t->bt_iss = cl->cl_seq;
	t->bt_peer = peer;
	t->bt_ms = hd->hd_be_tomb_ms = port_now_ms();
}

/* Whether ho is a HANDOFF whose cancel this node granted already. */
static int
be_tomb_find(struct hd *hd, int peer, const struct ctl_handoff *ho)
{
	const struct be_tomb	*t;
	uint32_t		 now = port_now_ms(), life = be_tomb_life(hd);
	uint32_t		 i, n;

	if (hd->hd_be_tombs == NULL || now - hd->hd_be_tomb_ms >= life)
		return 0;
	/* Newest first, as far as the first expired one: the ring is in the
	 * order they were made. */
	n = hd->hd_be_ntombs < BE_TOMBS ? hd->hd_be_ntombs : BE_TOMBS;
	for (i = 0; i < n; i++) {
		t = &hd->hd_be_tombs[(hd->hd_be_ntombs - 1 - i) % BE_TOMBS];
		if (now - t->bt_ms >= life)
			break;
		if (t->bt_peer == peer && t->bt_sflow == ho->ho_flow &&
		    t->bt_iss == ho->ho_iss &&
		    t->bt_cport == ho->ho_cport &&
		    t->bt_vport == ho->ho_vport &&
		    addr_eq(&t->bt_caddr, &ho->ho_caddr))
			return 1;
	}
	return 0;
}

/*
 * Whether lingering flow f may give its stack endpoint to ho.  Another
 * connection on the same 4-tuple to the same VIP tells that the client
 * has done with f's.  One to another VIP (the same client port) does not:
 * a client that half-closed may still be reading f's answer, whose last
 * bytes and FIN the stack holds until they are acknowledged, and which
 * ending f would cut (lwIP's let go, the kernel's reset by be_output's
 * TIME_WAIT rule).  Only a stack with nothing unacknowledged there gives
 * the endpoint up: lwIP's pcb, or the kernel's socket by sock_diag, which
 * leaves it at TIME_WAIT or closed; a kernel that cannot be asked never.
 */
static int
be_linger_free(struct hd *hd, const struct flow *f,
    const struct ctl_handoff *ho)
{
	const struct flow_key	*k = &f->f_key;

	if (addr_eq(&f->f_naddr, &ho->ho_vaddr) && f->f_nport == ho->ho_vport)
		return 1;
	if (be_kernel(hd))
		return ksock_live(&hd->hd_ksock, &k->k_laddr, k->k_lport,
		    &k->k_raddr, k->k_rport) == 0;
	return be_lwip_holding(f) == NULL;
}

void
be_on_handoff(struct hd *hd, int peer, const struct ctl_handoff *ho)
{
	struct flow_key	 k;
	struct flow	*f;
	struct be_conn	*bc;
	char		 a[ADDR_STRLEN];

	/* Only this node's own services: a peer's word is no licence to
	 * make the web server's answers come from any address. */
	if (btcp_service(hd, &ho->ho_vaddr, ho->ho_vport) == NULL) {
		addr_str(&ho->ho_vaddr, a, sizeof(a));
		log_ratelim(&be_rl_vip, "be: %s handed off a connection to "
		    "%s:%u, which is none of this node's services: refused",
		    peer_id(hd, peer), a, ntohs(ho->ho_vport));
		hd->hd_stats.st_be_refused++;
		hd->hd_stats.st_be_unknown_vip++;
		be_send_ack(hd, peer, ho, NULL, CTL_BAD_HANDOFF);
		return;
	}
	be_key(hd, &k, &ho->ho_caddr, ho->ho_cport, ho->ho_vport);
	/* An IPv6 client, and no stack here for IPv6 (a peer configured
	 * otherwise). */
	if (addr_is_none(&k.k_laddr)) {
		hd->hd_stats.st_be_refused++;
		be_send_ack(hd, peer, ho, NULL, CTL_BAD_HANDOFF);
		return;
	}
	if ((f = flow_lookup(hd->hd_flows, &k)) != NULL) {
		if (f->f_ops == &be_flow_ops && f->f_peer == peer &&
		    f->f_peer_handle == ho->ho_flow) {
			/* HANDOFF is idempotent: answer again once
			 * committed. */
			if (be_committed(f))
				be_send_ack(hd, peer, ho, f, CTL_OK);
			return;
		}
	}
	/* Cancelled already (CANCELLED, be_on_cancel): the front-end may
	 * have given the client to another member. */
	if (be_tomb_find(hd, peer, ho)) {
		log_ratelim(&be_rl_late, "be: %s's handoff came after its "
		    "cancel: refused", peer_id(hd, peer));
		hd->hd_stats.st_be_refused++;
		hd->hd_stats.st_be_late++;
		be_send_ack(hd, peer, ho, NULL, CTL_CANCELLED);
		return;
	}
	/* A node a reload removed keeps what it handed here (above), and
	 * hands nothing more, nor ends what others handed. */
	if (peer != PEER_LOCAL && hd->hd_cfg->cfg_peers[peer].cp_retired) {
		hd->hd_stats.st_be_refused++;
		be_send_ack(hd, peer, ho, NULL, CTL_REFUSED);
		return;
	}
	if (f != NULL && be_superseded(f, peer, ho)) {
		hd->hd_stats.st_be_superseded++;
		be_kernel_reset(hd, f, 0);
		be_close(hd, f, FLOW_END_ABORT);
		f = NULL;
	}
	if (f != NULL) {
		/* The stack endpoint holds one connection per client endpoint:
		 * another live one (the same client port to another VIP) keeps
		 * it, and the front-end tries elsewhere, or here again soon
		 * (busy; an older build knows only bad-handoff).  A lingering
		 * one gives it up once it is over for its client too. */
		if (f->f_ops != &be_flow_ops || f->f_state != BE_LINGER ||
		    !be_linger_free(hd, f, ho)) {
			hd->hd_stats.st_be_refused++;
			be_send_ack(hd, peer, ho, NULL,
			    peer_speaks_busy(hd, peer) ? CTL_BUSY :
			    CTL_BAD_HANDOFF);
			return;
		}
		be_close(hd, f, FLOW_END_DONE);
	}
	/* lwIP would answer the SYN from TIME_WAIT with the old ACK. */
	if (!be_kernel(hd))
		port_tcp_forget_timewait(&k.k_laddr, ntohs(k.k_lport),
		    &k.k_raddr, ntohs(k.k_rport));
	if (!be_kernel(hd) && be_listen(hd, ho->ho_vport) == -1) {
		be_send_ack(hd, peer, ho, NULL, CTL_NO_RESOURCES);
		return;
	}
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now, &be_flow_ops)) ==
	    NULL) {
		log_ratelim(&be_rl_full, "be: flow table full (%u flows): "
		    "handoff refused", flow_capacity(hd->hd_flows));
		hd->hd_stats.st_drop_table_full++;
		be_send_ack(hd, peer, ho, NULL, CTL_NO_RESOURCES);
		return;
	}
	if ((bc = calloc(1, sizeof(*bc))) == NULL ||
	    (ho->ho_datalen > 0 &&
	    (bc->bc_data = malloc(ho->ho_datalen)) == NULL) ||
	    (bc->bc_timer = evtimer_new(hd->hd_base, be_on_inject_timer,
	    bc)) == NULL) {
		if (bc != NULL)
			free(bc->bc_data);
		free(bc);
		flow_remove(hd->hd_flows, f);
		be_send_ack(hd, peer, ho, NULL, CTL_NO_RESOURCES);
		return;
	}
	bc->bc_hd = hd;
	bc->bc_flow = f;
	bc->bc_peer = peer;
	bc->bc_ho = *ho;
	if (ho->ho_datalen > 0)
		memcpy(bc->bc_data, ho->ho_data, ho->ho_datalen);
	bc->bc_ho.ho_data = bc->bc_data;
	bc->bc_start = port_now_ms();
	f->f_flags |= FLOW_SERVING;
	f->f_naddr = ho->ho_vaddr;
	f->f_nport = ho->ho_vport;
	hd->hd_served++;
	f->f_state = BE_INJECT;
	f->f_peer = peer;
	f->f_peer_handle = ho->ho_flow;
	f->f_ctx = bc;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_timeout_ms + 60000;
	hd->hd_stats.st_be_handoffs++;
	be_on_inject_timer(-1, 0, bc);
}

/* The end of a back-end flow's useful life: tell the front-end, keep
 * rewriting the stack's stragglers for a linger.  The kernel needs nothing
 * injected any more. */
static void
be_linger(struct hd *hd, struct flow *f, enum flow_end why)
{
	if (f->f_ctx != NULL && be_kernel(hd))
		be_conn_free(f);
	be_send_close(hd, f, why == FLOW_END_DONE ? CTL_CLOSE_DONE :
	    CTL_CLOSE_RST);
	be_unserve(hd, f);
	be_alog(hd, f, why);
	f->f_end = why;
	f->f_state = BE_LINGER;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_linger_ms;
	flow_touch(f, hd->hd_now);
}

/*
 * Data or a FIN from the stack of a lingering flow is sent again: the
 * client has not acknowledged it, and its path may be down for longer than
 * the linger.  The stack backs off, each retransmission twice as late as
 * the last, so the flow waits twice the last gap for the next one and a
 * margin (a kernel's timers fire up to an eighth late, and the linger at
 * least), up to TCP's longest RTO and its margin: its client still gets
 * the answer when its path comes back, instead of a reset into the stack.
 */
static void
be_linger_rexmit(struct hd *hd, struct flow *f)
{
	uint32_t	 gap = hd->hd_now - f->f_last, want;
	uint32_t	 linger = (uint32_t)hd->hd_cfg->cfg_handoff.ch_linger_ms;

	if (gap > BE_LINGER_REXMIT_MAX)
		gap = BE_LINGER_REXMIT_MAX;
	want = 2 * gap + (gap / 2 > linger ? gap / 2 : linger);
	if (want > BE_LINGER_REXMIT_MAX + BE_LINGER_REXMIT_MAX / 8)
		want = BE_LINGER_REXMIT_MAX + BE_LINGER_REXMIT_MAX / 8;
	if (want > f->f_timeout)
		f->f_timeout = want;
}

/* The kernel stack sees one direction: a flow is over when the server
 * has sent its FIN and the front-end has seen the client's. */
static void
be_kernel_fin(struct hd *hd, struct flow *f)
{
	if ((f->f_flags & (FLOW_STACK_FIN | FLOW_CLIENT_FIN)) ==
	    (FLOW_STACK_FIN | FLOW_CLIENT_FIN) && f->f_state == BE_ESTAB)
		be_linger(hd, f, FLOW_END_DONE);
}

/*
 * The kernel answered the SYN of another connection on f's endpoints (a
 * front-end sends a client's SYN on for the challenge ACK of RFC 5961
 * 4.2) with a SYN/ACK: it has no connection there any more.  f's ended
 * without a word that reached us: a client's reset the front-end could not
 * judge exact and the kernel did, or a CLOSE lost with a control
 * connection.  The new half-open connection is reset, and the front-end
 * told to stop forwarding, so that the client's next SYN gets a handshake
 * of its own instead of reaching the kernel for good.
 */
static void
be_kernel_forgot(struct hd *hd, struct flow *f, const struct pkt *p)
{
	hd->hd_stats.st_be_stack_gone++;
	be_kernel_rst(hd, f, p->p_ack);
	if (!(f->f_flags & FLOW_ORPHAN))
		be_tell(hd, f, CTL_CLOSE_RST);
	be_close(hd, f, FLOW_END_SERVER_RST);
}

/*
 * A packet the stack sends for a back-end flow.  While injecting, the
 * SYN/ACK is captured and nothing leaves; afterwards every packet is
 * rewritten for the client.  Returns 0 to drop, 1 to send p.
 */
static int
be_output(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct be_conn	*bc = f->f_ctx;
	struct pkt_opts	 o;

	if (f->f_state == BE_INJECT) {
		if (p->p_flags & TH_RST)
			bc->bc_rst = 1;
		else if ((p->p_flags & (TH_SYN | TH_ACK)) ==
		    (TH_SYN | TH_ACK) && !bc->bc_synack &&
		    pkt_opts_parse(p, &o) == 0) {
			bc->bc_synack = 1;
			bc->bc_iss = p->p_seq;
			bc->bc_wnd = p->p_win;	/* never scaled in a SYN */
			bc->bc_mss = o.o_mss ? o.o_mss : 536;
			bc->bc_ws = o.o_has_ws ? o.o_ws : 0;
			bc->bc_has_ws = o.o_has_ws;
			bc->bc_has_ts = o.o_has_ts;
			bc->bc_tsval = o.o_tsval;
		}
		else if ((p->p_flags & (TH_SYN | TH_ACK | TH_FIN)) == TH_ACK &&
		    p->p_paylen == 0 && be_kernel(hd) &&
		    bc->bc_tw_kills < BE_TW_KILLS) {
			/* A bare ACK to our SYN: the kernel still holds the
			 * 4-tuple's last connection in TIME_WAIT (the client
			 * reuses its port, its timestamps from another VIP's
			 * clock).  That connection is over for the client, so
			 * end it with a reset at its own rcv_nxt, which the ACK
			 * names, and try the SYN again.  (Data or a FIN is a
			 * connection still sending, which be_linger_free kept
			 * its endpoint for: never ended here.) */
			bc->bc_tw_kills++;
			hd->hd_stats.st_be_tw_killed++;
			be_inject(bc, p->p_ack, 0, TH_RST, NULL, NULL, 0);
			be_inject_syn(bc);
			return 0;
		}
		/* The kernel answers from the TUN read loop, not from inside a
		 * stack we are calling: carry on at once. */
		if (be_kernel(hd) && (bc->bc_synack || bc->bc_rst))
			be_on_inject_timer(-1, 0, bc);
		return 0;
	}
	if (f->f_state == BE_DEAD) {
		/* The kernel's connection was reset at adoption: what it sends
		 * now is the reset a TCP gives a segment of no connection, the
		 * client's (its answer to a probe), at exactly where the
		 * client is.  Anything else it still says is answered with a
		 * reset. */
		if (!(p->p_flags & TH_RST)) {
			btcp_reply_rst(hd, p);
			return 0;
		}
		rw_to_client(f, p);
		btcp_tun_send(hd, p->p_ip, p->p_len, &p->p_meta);
		be_dead_end(hd, f);
		return 0;
	}
	if (f->f_state == BE_LINGER && (p->p_paylen > 0 || (p->p_flags &
	    (TH_FIN | TH_SYN | TH_RST)) == TH_FIN))
		be_linger_rexmit(hd, f);
	flow_touch(f, hd->hd_now);
	if (f->f_state == BE_DATA && (p->p_flags & TH_ACK) &&
	    !(p->p_flags & TH_SYN)) {
		be_stack_acked(bc, p->p_ack - bc->bc_ho.ho_irs - 1);
		bc->bc_wnd = (uint32_t)p->p_win << bc->bc_ws;
		/* lwIP opened its window from inside itself: carry on
		 * injecting once it has returned. */
		if (!be_kernel(hd))
			event_active(bc->bc_timer, EV_WRITE, 0);
	}
	if (!be_committed(f)) {
		/* Nothing reaches the client before the commit point; a
		 * kernel that resets refuses the connection. */
		if ((p->p_flags & TH_RST) && be_kernel(hd)) {
			bc->bc_rst = 1;
			be_refuse(hd, f, CTL_REFUSED);
		}
		return 0;
	}
	if ((p->p_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) &&
	    p->p_ack != f->f_irs + 1) {
		if (be_kernel(hd))
			be_kernel_forgot(hd, f, p);
		return 0;
	}
	/* What the stack acknowledges is where a reset to it must be. */
	if ((p->p_flags & TH_ACK) && seq_gt(p->p_ack, f->f_cnxt)) {
		f->f_cnxt = p->p_ack;
		if ((f->f_flags & FLOW_FIN_WAIT) && f->f_cnxt == f->f_cack + 1)
			be_kernel_client_fin(hd, f, f->f_cack);
		else if ((f->f_flags & FLOW_FIN_WAIT2) &&
		    f->f_cnxt == f->f_chal + 1)
			be_kernel_client_fin(hd, f, f->f_chal);
	}
	if ((p->p_flags & TH_FIN) && !(f->f_flags & FLOW_STACK_FIN)) {
		f->f_flags |= FLOW_STACK_FIN;
		if (be_kernel(hd))
			be_kernel_fin(hd, f);
	}
	if ((p->p_flags & TH_RST) && !(f->f_flags & FLOW_STACK_RST)) {
		f->f_flags |= FLOW_STACK_RST;
		if (be_kernel(hd))
			be_linger(hd, f, FLOW_END_SERVER_RST);
	}
	if ((p->p_flags & TH_SYN) != 0)
		return 0;	/* a SYN/ACK retransmission: the client has one */
	if (p->p_paylen > 0 && seq_gt(p->p_seq + p->p_paylen, f->f_cmax)) {
		f->f_sbytes += p->p_seq + p->p_paylen - f->f_cmax;
		f->f_cmax = p->p_seq + p->p_paylen;
	}
	rw_to_client(f, p);
	hd->hd_stats.st_rw_pkts++;
	hd->hd_stats.st_rw_bytes += p->p_len;
	f->f_bytes += p->p_len;
	/* The kernel answers from the TUN read loop: its ACK may open the
	 * window for the rest of the request, or complete it. */
	if (f->f_state == BE_DATA && be_kernel(hd)) {
		btcp_tun_send(hd, p->p_ip, p->p_len, &p->p_meta);
		if (be_push_data(bc) == 0)
			be_check_data(bc);
		return 0;
	}
	return 1;
}

/* A client packet, forwarded by the front-end, for our stack. */
static void
be_input(struct hd *hd, struct flow *f, struct pkt *p)
{
	if (f->f_state != BE_DEAD)
		flow_touch(f, hd->hd_now);
	if (f->f_state == BE_INJECT || f->f_state == BE_DATA) {
		hd->hd_stats.st_drop_early++;
		return;
	}
	if (f->f_state == BE_DEAD) {
		/* Its ACK, in our sequence space, says where the reset must
		 * be in the client's. */
		if ((p->p_flags & (TH_RST | TH_ACK)) == TH_ACK)
			btcp_rst(hd, &f->f_naddr, f->f_nport, &f->f_key.k_raddr,
			    f->f_key.k_rport, p->p_ack + f->f_delta, 0, 0);
		if (p->p_flags & (TH_RST | TH_ACK))
			be_dead_end(hd, f);
		return;
	}
	/* A new connection's SYN on the 4-tuple of one lwIP has closed (in
	 * TIME_WAIT, or let go: lingering), sent on before our CLOSE reached
	 * the front-end (a client reusing its port at once): lwIP would reset
	 * it, and the client give up.  Dropped, it comes again once the
	 * front-end knows, and gets a handshake of its own, as it does when
	 * the kernel stack had closed (be_kernel_forgot). */
	if ((p->p_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    p->p_seq != f->f_irs && (f->f_state == BE_LINGER ||
	    !port_tcp_has_active(&p->p_daddr, ntohs(p->p_dport), &p->p_saddr,
	    ntohs(p->p_sport)))) {
		hd->hd_stats.st_drop_stale++;
		return;
	}
	/* lwIP judges its FIN or reset (be_relay_done, be_client_fin): the
	 * front-end forwards what it cannot tell from a forger's. */
	btcp_to_lwip(hd, p);
}

/* Whether the client's FIN reached the stack: the front-end saw it
 * acknowledged (the kernel's) or lwIP took it. */
static int
be_client_fin(const struct flow *f)
{
	const struct be_conn *bc = f->f_ctx;

	return (f->f_flags & FLOW_CLIENT_FIN) || (bc != NULL &&
	    bc->bc_relay != NULL && relay_client_fin(bc->bc_relay));
}

/*
 * Resets an idle connection's client from the VIP, at the edge of what the
 * stack sent, which it has acknowledged (idle), acknowledging where the
 * stack acknowledged it to be: exact (RFC 5961).  The front-end resets it
 * too when it hears of it; a front-end that forgot the flow cannot.
 */
static void
be_reset_client(struct hd *hd, const struct flow *f)
{
	btcp_rst(hd, &f->f_naddr, f->f_nport, &f->f_key.k_raddr,
	    f->f_key.k_rport, be_client_edge(f), f->f_cnxt, TH_ACK);
}

/*
 * A front-end saw the client's FIN at seq.  The kernel has it once its
 * acknowledgment is exactly seq + 1 (f_cnxt); till then it waits as a
 * candidate, and be_output() sees the acknowledgment.  A front-end cannot
 * always tell the client's FIN (one after a gap it never saw filled, or
 * after a lookup) from one a blind sender guessed into the window: the
 * kernel's word is the one that counts.  Two candidates wait, in f_cack
 * (FLOW_FIN_WAIT) and f_chal (FLOW_FIN_WAIT2); one the kernel's
 * acknowledgment went past was data, and makes room; with both still
 * ahead, a new one replaces the further, which is the likelier guess (the
 * client's FIN is at the end of what it sent).
 */
static void
be_kernel_client_fin(struct hd *hd, struct flow *f, uint32_t seq)
{
	if (f->f_flags & FLOW_CLIENT_FIN)
		return;
	if (f->f_cnxt == seq + 1) {
		f->f_flags &= ~(FLOW_FIN_WAIT | FLOW_FIN_WAIT2);
		f->f_flags |= FLOW_CLIENT_FIN;
		be_kernel_fin(hd, f);
		return;
	}
	if (seq_gt(f->f_cnxt, seq + 1))
		return;		/* the kernel took data there */
	if ((f->f_flags & FLOW_FIN_WAIT) &&
	    seq_gt(f->f_cnxt, f->f_cack + 1))
		f->f_flags &= ~FLOW_FIN_WAIT;
	if ((f->f_flags & FLOW_FIN_WAIT2) &&
	    seq_gt(f->f_cnxt, f->f_chal + 1))
		f->f_flags &= ~FLOW_FIN_WAIT2;
	if (!(f->f_flags & FLOW_FIN_WAIT) || ((f->f_flags & FLOW_FIN_WAIT2) &&
	    seq_gt(f->f_cack, f->f_chal))) {
		f->f_flags |= FLOW_FIN_WAIT;
		f->f_cack = seq;
	} else {
		f->f_flags |= FLOW_FIN_WAIT2;
		f->f_chal = seq;
	}
}

/* How long a move is said again to its old front-end when that one is
 * back: as long as it may come back with its flows (node.state_file).  A
 * link that stalls is found down up to dead_after and a heartbeat after
 * the move, and the peer may be back up to dead_after after that. */
static uint32_t
be_moved_life(const struct hd *hd)
{
	return 2 * ((uint32_t)hd->hd_cfg->cfg_control.cc_dead_ms +
	    (uint32_t)hd->hd_cfg->cfg_control.cc_heartbeat_ms);
}

/* The CLOSE moved about f went to a control connection that was up, which
 * may die before the front-end reads it (that front-end killed just after
 * the network moved its clients away): kept, to be said again. */
static void
be_moved_add(struct hd *hd, const struct flow *f)
{
	struct be_moved	*m;

	if (hd->hd_be_moves == NULL &&
	    (hd->hd_be_moves = calloc(BE_MOVES, sizeof(*m))) == NULL)
		return;
	m = &hd->hd_be_moves[hd->hd_be_nmoves % BE_MOVES];
	if (++hd->hd_be_nmoves == 2 * BE_MOVES)
		hd->hd_be_nmoves = BE_MOVES;
	be_close_of(hd, f, CTL_CLOSE_MOVED, &m->bm_close);
	m->bm_peer = f->f_peer;
	m->bm_ms = port_now_ms();
}

/* Peer is back (msg.c): the moves it was told of lately, again (if its
 * build still reads them), but for a flow that has moved back to it
 * since.  A move it had heard already names a flow it no longer has
 * (counted in its ctl_stale). */
void
be_resend_moves(struct hd *hd, int peer)
{
	const struct be_moved	*m;
	const struct flow	*f;
	uint32_t		 now = port_now_ms(), life = be_moved_life(hd);
	uint32_t		 i, n;

	if (hd->hd_be_moves == NULL || !peer_speaks_lookup(hd, peer, 0))
		return;
	n = hd->hd_be_nmoves < BE_MOVES ? hd->hd_be_nmoves : BE_MOVES;
	for (i = 0; i < n; i++) {
		m = &hd->hd_be_moves[(hd->hd_be_nmoves - 1 - i) % BE_MOVES];
		if (now - m->bm_ms >= life)
			break;
		if (m->bm_peer != peer)
			continue;
		f = flow_by_handle(hd->hd_flows, m->bm_close.cl_sflow);
		if (f != NULL && f->f_peer == peer &&
		    f->f_peer_handle == m->bm_close.cl_flow)
			continue;
		(void)be_close_send(hd, peer, &m->bm_close);
	}
}

/* Front-end peer, with its handle h, forwards f's client from now on; the
 * one before forgets it.  What it said last (a FIN) stands. */
static void
be_move(struct hd *hd, struct flow *f, int peer, uint64_t h)
{
	if (f->f_peer == peer && f->f_peer_handle == h)
		return;
	/* Only to a front-end that reads it (psk.h), waiting while it is
	 * down (a restart that keeps its flows finds it), and said again
	 * when it is back if it was up (it may have died before reading
	 * it).  One that never hears of it (of an older build, or back as a
	 * new process after control.dead_after) keeps a stale copy, which
	 * forwards what reaches it as well as the new one and, idle, resets
	 * no one (be_on_close); one of an older build resets the client when
	 * its copy idles. */
	if (!(f->f_flags & FLOW_ORPHAN) &&
	    peer_speaks_lookup(hd, f->f_peer, 1)) {
		if (f->f_peer != PEER_LOCAL && peer_is_up(hd, f->f_peer))
			be_moved_add(hd, f);
		be_tell(hd, f, CTL_CLOSE_MOVED);
	}
	hd->hd_stats.st_be_moved++;
	f->f_flags &= ~FLOW_ORPHAN;
	f->f_peer = peer;
	f->f_peer_handle = h;
}

/* The front-end says a flow is over. */
void
be_on_close(struct hd *hd, int peer, struct flow *f,
    const struct ctl_close *cl)
{
	/* The kernel's acknowledgment confirms a FIN, whoever saw it (the
	 * front-end the client was moved from may tell it late); lwIP sees
	 * the client's FIN itself (be_input). */
	if (cl->cl_reason == CTL_CLOSE_FIN) {
		if (be_kernel(hd) && be_committed(f))
			be_kernel_client_fin(hd, f, cl->cl_seq);
		return;
	}
	if (f->f_peer != peer || f->f_peer_handle != cl->cl_sflow)
		return;
	switch (cl->cl_reason) {
	case CTL_CLOSE_RST:
		f->f_flags |= FLOW_CLIENT_RST;
		if (be_kernel(hd) && (f->f_state == BE_ESTAB ||
		    f->f_state == BE_DATA))
			be_linger(hd, f, FLOW_END_CLIENT_RST);
		break;
	case CTL_CLOSE_ABORT:
		hd->hd_stats.st_be_aborted++;
		be_kernel_reset(hd, f, cl->cl_seq);
		be_close(hd, f, FLOW_END_ABORT);
		break;
	case CTL_CLOSE_MOVED:
		/* a back-end's word, never a front-end's */
		hd->hd_stats.st_ctl_stale++;
		break;
	case CTL_CLOSE_IDLE:
		/* The front-end has seen nothing of the client for
		 * handoff.idle.  The stack has, if another front-end forwards
		 * the client (one that never asked: it had the flow from its
		 * state file, or its CLOSE moved was lost): the connection is
		 * alive, and only that front-end forgot it. */
		if (be_committed(f) && hd->hd_now - f->f_last <
		    (uint32_t)hd->hd_cfg->cfg_handoff.ch_idle_ms / 2) {
			hd->hd_stats.st_be_idle_alive++;
			break;
		}
		/* Ended already (its CLOSE crossed this one): counted, and
		 * its client told, as it ended. */
		if (f->f_state == BE_LINGER)
			break;
		hd->hd_stats.st_be_idle++;
		be_reset_client(hd, f);
		be_kernel_reset(hd, f, 0);
		be_close(hd, f, FLOW_END_IDLE);
		break;
	default:
		/* The front-end forgot it: nothing more can reach us. */
		be_kernel_reset(hd, f, cl->cl_seq);
		be_close(hd, f, FLOW_END_PEER);
		break;
	}
}

/* The flow a front-end names by the client's endpoint and its own
 * handle: one it gave up on (ABORT) or asks about (CANCEL) before it knew
 * ours. */
static struct flow *
be_flow_of(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct flow_key	 k;
	struct flow	*f;

	be_key(hd, &k, &cl->cl_caddr, cl->cl_cport, cl->cl_vport);
	f = flow_lookup(hd->hd_flows, &k);
	if (f == NULL || f->f_ops != &be_flow_ops || f->f_peer != peer ||
	    f->f_peer_handle != cl->cl_sflow)
		return NULL;
	return f;
}

/* A front-end gave up on a handoff before it knew our handle. */
void
be_on_abort(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct flow	*f;

	if ((f = be_flow_of(hd, peer, cl)) != NULL) {
		hd->hd_stats.st_be_aborted++;
		be_kernel_reset(hd, f, be_client_next(f));
		be_close(hd, f, FLOW_END_ABORT);
	}
}

/*
 * A front-end had no answer to a HANDOFF and asks to cancel it: granted
 * before the commit point (a flow we never had included), refused after
 * it, when the connection is ours and the answer is OK.
 */
void
be_on_cancel(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct ctl_handoff	 ho;
	struct flow		*f = be_flow_of(hd, peer, cl);

	/* What the answer needs of the HANDOFF: its flow, and the front-end's
	 * ISN, which the CANCEL carries. */
	memset(&ho, 0, sizeof(ho));
	ho.ho_flow = cl->cl_sflow;
	ho.ho_iss = cl->cl_seq;
	if (f != NULL && be_committed(f)) {
		be_send_ack(hd, peer, &ho, f, CTL_OK);
		return;
	}
	if (f != NULL) {
		hd->hd_stats.st_be_aborted++;
		be_kernel_reset(hd, f, be_client_next(f));
		be_close(hd, f, FLOW_END_ABORT);
	} else
		be_tomb_add(hd, peer, cl);
	be_send_ack(hd, peer, &ho, NULL, CTL_CANCELLED);
}

/* Whether the segment a LOOKUP is about is one the client can have sent
 * (RFC 5961): a reset exactly where the stack acknowledged the client to
 * be; anything else within the stack's window of there, acknowledging no
 * more than the stack sent and no less than a client's window below. */
static int
be_lookup_fits(const struct flow *f, const struct ctl_lookup *lk)
{
	uint32_t	 snxt = be_client_edge(f);
	uint32_t	 rwnd = rw_max_window(f->f_ws_in);

	if (lk->lk_flags & CTL_LK_RST)
		return lk->lk_seq == f->f_cnxt;
	return !seq_gt(lk->lk_ack, snxt) &&
	    !seq_lt(lk->lk_ack, snxt - rw_max_window(f->f_cws)) &&
	    seq_lt(lk->lk_seq, f->f_cnxt + rwnd) &&
	    !seq_lt(lk->lk_seq, f->f_cnxt - rwnd);
}

/*
 * A front-end asks whether a client's connection is ours: its segment for
 * the VIP reached a front-end that has no flow for it (the network moved
 * the client from the front-end that handed it off, or that one
 * restarted without its flows).  Ours, established and past the commit
 * point, and the segment one the client can have sent (RFC 5961: its
 * sequence number within the stack's window of where the stack is, its
 * acknowledgment within the client's window below what the stack sent):
 * the asker has everything it needs to forward it, and is the flow's
 * front-end from now on; the one before is told (CLOSE MOVED), so that it
 * forgets the flow without a word to the client.  A blind segment, or
 * one of a connection still being handed off, moves nothing.
 */
void
be_on_lookup(struct hd *hd, int peer, const struct ctl_lookup *lk)
{
	struct ctl_msg		 m;
	struct ctl_lookup_ack	*la = &m.m_u.lack;
	struct flow_key		 k;
	struct flow		*f;
	uint32_t		 snxt;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_LOOKUP_ACK;
	la->la_flow = lk->lk_flow;
	la->la_status = CTL_LK_UNKNOWN;
	be_key(hd, &k, &lk->lk_caddr, lk->lk_cport, lk->lk_vport);
	f = flow_lookup(hd->hd_flows, &k);
	if (f != NULL && (f->f_ops != &be_flow_ops || f->f_state == BE_DEAD ||
	    !addr_eq(&f->f_naddr, &lk->lk_vaddr) || f->f_nport != lk->lk_vport))
		f = NULL;
	/* Not while its front-end may still be waiting for our HANDOFF_ACK:
	 * it would ask to cancel (CLOSE CANCEL), and only its own flow is
	 * answered as committed. */
	if (f != NULL && (!be_committed(f) ||
	    (f->f_state != BE_ESTAB && f->f_state != BE_LINGER) ||
	    hd->hd_now - f->f_start <
	    2 * (uint32_t)hd->hd_cfg->cfg_handoff.ch_timeout_ms))
		la->la_status = CTL_LK_BUSY;
	else if (f != NULL) {
		snxt = be_client_edge(f);
		if (!be_lookup_fits(f, lk)) {
			hd->hd_stats.st_be_lookup_blind++;
			la->la_status = CTL_LK_BUSY;
		} else {
			be_move(hd, f, peer, lk->lk_flow);
			la->la_status = CTL_LK_FOUND;
			la->la_bflow = flow_handle(hd->hd_flows, f);
			la->la_ws = f->f_ws_in;
			la->la_cws = f->f_cws;
			la->la_irs = f->f_irs;
			la->la_delta = f->f_delta;
			la->la_ts_delta = f->f_ts_delta;
			la->la_cnxt = f->f_cnxt;
			la->la_snxt = snxt;
			la->la_saddr = f->f_key.k_laddr;
			la->la_sport = f->f_key.k_lport;
			if (f->f_state == BE_LINGER)
				la->la_flags |= CTL_LK_LINGER;
			if (f->f_flags & FLOW_UNSCALED)
				la->la_flags |= CTL_LK_UNSCALED;
			if (be_client_fin(f))
				la->la_flags |= CTL_LK_CLIENT_FIN;
		}
	}
	hd->hd_stats.st_be_lookups++;
	if (peer_send(hd, peer, &m) == -1)
		log_debug("be: LOOKUP_ACK to %s lost: control channel down",
		    peer_id(hd, peer));
}

/*
 * A flow the last process left in node.state_file.  The kernel's
 * connections go on, for a service this configuration has: their rewrite
 * is all in the flow.  One whose state died with that process cannot:
 * lwIP's connection (with its relay), or a request not all injected.
 * Before the commit point nothing of it reached the client, which the
 * front-end answers; after it, the client is reset from the VIP at the
 * furthest sequence number the stack sent, and again where its answer to
 * a probe says: to lwIP's address it comes here (BE_DEAD in be_input), to
 * the kernel's, whose connection is reset first, it draws the kernel's
 * reset, which goes to the client (BE_DEAD in be_output).
 */
static int
be_adopt(struct hd *hd, struct flow *f, int lost)
{
	if (f->f_flags & FLOW_SERVING)
		hd->hd_served++;	/* be_close() takes it off again */
	/* The kernel keeps its connections; lwIP's died with the process,
	 * lingering ones too (their last bytes and FIN were its). */
	if (!lost && be_kernel(hd) && (f->f_state == BE_ESTAB ||
	    f->f_state == BE_LINGER) &&
	    cfg_service_at(hd->hd_cfg, &f->f_naddr, f->f_nport) >= 0) {
		/* No longer than this configuration says (the file could be
		 * another's), and not counting the time the daemon was down. */
		flow_touch(f, hd->hd_now);
		f->f_timeout = f->f_state == BE_ESTAB ?
		    hd->hd_cfg->cfg_handoff.ch_idle_ms :
		    hd->hd_cfg->cfg_handoff.ch_linger_ms;
		return 1;
	}
	/* (BE_DEAD: a restart before this one lost it, and it was being
	 * reset: again.) */
	if (!(f->f_flags & FLOW_COMMITTED) || (f->f_state != BE_DATA &&
	    f->f_state != BE_ESTAB && f->f_state != BE_LINGER &&
	    f->f_state != BE_DEAD)) {
		/* The client has seen nothing of ours: the front-end, which
		 * still owns it, learns that we never had it when it asks. */
		be_kernel_reset(hd, f, f->f_irs + 1);
		be_close(hd, f, FLOW_END_RESTART);
		return 0;
	}
	be_unserve(hd, f);
	/* The kernel's connection goes now, at the client's next sequence
	 * number as it acknowledged it: from then on it answers the client
	 * with resets, which go to the client rewritten (be_output). */
	be_kernel_reset(hd, f, 0);
	f->f_state = BE_DEAD;
	btcp_rst(hd, &f->f_naddr, f->f_nport, &f->f_key.k_raddr,
	    f->f_key.k_rport, be_client_edge(f), 0, 0);
	f->f_qlen = 0;
	be_dead_probe(hd, f);
	return 0;
}

/*
 * An ICMP error about a VIP's segment that a front-end had no flow for
 * (fe_icmp_relay: this node's, or a peer's, relayed).  If it quotes a
 * segment of one of ours, as the client saw it (from the VIP), it goes to
 * the stack as a front-end with the flow sends it (fe_icmp): about the
 * segment as the stack sent it, whose sequence number the stack judges
 * against what it has in flight (RFC 5927), as for any.  The kernel stack
 * only: lwIP takes no fragmentation needed.  Returns 1 if the stack was
 * sent it (p rewritten), 0 if p is untouched.
 */
int
be_icmp(struct hd *hd, struct pkt *p, const struct pkt_icmp *ic)
{
	struct flow_key	 k;
	struct flow	*f;

	if (!be_kernel(hd))
		return 0;
	be_key(hd, &k, &ic->ic_idst, ic->ic_idport, ic->ic_isport);
	f = flow_lookup(hd->hd_flows, &k);
	if (f == NULL || f->f_ops != &be_flow_ops || !be_committed(f) ||
	    (f->f_state != BE_ESTAB && f->f_state != BE_LINGER) ||
	    !addr_eq(&f->f_naddr, &ic->ic_isrc) || f->f_nport != ic->ic_isport)
		return 0;
	pkt_icmp_rewrite(p, ic, &f->f_naddr, &f->f_key.k_laddr,
	    &f->f_key.k_laddr, f->f_key.k_lport, ic->ic_iseq - f->f_delta);
	hd->hd_stats.st_be_icmp++;
	btcp_tun_send(hd, p->p_ip, p->p_len, NULL);
	return 1;
}

/* A peer's relayed error, cut after the quote, its checksum mended. */
void
be_on_icmp(struct hd *hd, int peer, const struct ctl_icmp *ci)
{
	uint8_t		 buf[CTL_ICMP_MAX];
	struct pkt	 p;
	struct pkt_icmp	 ic;

	if (!be_kernel(hd) || ci->ic_len > sizeof(buf))
		return;
	memcpy(buf, ci->ic_pkt, ci->ic_len);
	if (pkt_parse(&p, buf, ci->ic_len) != PKT_NOT_TCP ||
	    pkt_icmp_parse(&p, &ic) == -1 || !pkt_icmp_csum_ok(&p)) {
		hd->hd_stats.st_ctl_bad_frames++;
		return;
	}
	be_icmp(hd, &p, &ic);
}

/* The peer is back (msg.c): what ended a flow, said again. */
void
be_resend(struct hd *hd, struct flow *f)
{
	if (f->f_state != BE_LINGER || !(f->f_flags & FLOW_CLOSE_SENT) ||
	    (f->f_flags & FLOW_ORPHAN))
		return;
	f->f_flags &= ~FLOW_CLOSE_SENT;
	f->f_flags |= FLOW_CLOSE_AGAIN;
	be_send_close(hd, f, f->f_end == FLOW_END_DONE ? CTL_CLOSE_DONE :
	    CTL_CLOSE_RST);
}

/*
 * A lingering flow whose front-end's control connection is down: the CLOSE
 * may not have reached it, and a front-end that never hears it forwards
 * the 4-tuple here until its idle timeout, a client's new connection on it
 * included.  The flow waits for the peer, which hears it again when it is
 * back (be_resend; once: a channel that flaps does not keep the flow), or
 * is gone after control.dead_after and forgets its copy itself.
 */
static int
be_close_unheard(const struct hd *hd, const struct flow *f)
{
	return f->f_state == BE_LINGER &&
	    !(f->f_flags & (FLOW_ORPHAN | FLOW_CLOSE_AGAIN)) &&
	    !peer_is_up(hd, f->f_peer) && !peer_gone(hd, f->f_peer);
}

/* The flow clock says a back-end flow has been idle too long. */
static void
be_expire(struct hd *hd, struct flow *f)
{
	if (f->f_state == BE_DEAD) {
		if (f->f_qlen < FLOW_DEAD_PROBES)
			be_dead_probe(hd, f);
		else
			be_dead_end(hd, f);
		return;
	}
	if (!be_committed(f) || be_close_unheard(hd, f)) {
		flow_touch(f, hd->hd_now);	/* its timer, the peer decide */
		return;
	}
	if (f->f_state != BE_LINGER) {
		hd->hd_stats.st_be_idle++;
		be_send_close(hd, f, CTL_CLOSE_IDLE);
		be_reset_client(hd, f);
		be_kernel_reset(hd, f, 0);
	}
	be_close(hd, f, FLOW_END_IDLE);
}

/* Closes the listeners lwIP took handed-off connections on; the flows
 * have been closed through their handlers. */
void
be_shutdown(struct hd *hd)
{
	int	 i;

	for (i = 0; i < hd->hd_be_nlisten; i++) {
		tcp_close(hd->hd_be_listen[i][0]);
		if (hd->hd_be_listen[i][1] != NULL)
			tcp_close(hd->hd_be_listen[i][1]);
	}
	hd->hd_be_nlisten = 0;
	free(hd->hd_be_tombs);
	hd->hd_be_tombs = NULL;
	free(hd->hd_be_moves);
	hd->hd_be_moves = NULL;
}

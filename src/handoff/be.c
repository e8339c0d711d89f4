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
 * States (flow.f_state):
 *   BE_INJECT  SYN injected, waiting for the stack's SYN/ACK
 *   BE_ESTAB   injected; the stack's packets are rewritten to the client
 *   BE_LINGER  over; the stack's last FINs and ACKs are still rewritten
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lwip/tcp.h"

#include "flow.h"
#include "handoffd.h"
#include "lwip-port/tunif.h"
#include "log.h"
#include "pkt.h"
#include "handoff/ctl.h"
#include "handoff/handoff.h"
#include "handoff/peer.h"
#include "handoff/relay.h"
#include "handoff/rw.h"

enum be_state {
	BE_INJECT = 1,
	BE_ESTAB,
	BE_LINGER,
};

/* Request bytes go into the stack in segments of at most this much. */
#define BE_INJECT_CHUNK		16384

struct be_conn {
	struct hd		*bc_hd;
	struct flow		*bc_flow;
	int			 bc_peer;
	struct ctl_handoff	 bc_ho;		/* bc_ho.ho_data: bc_data */
	uint8_t			*bc_data;
	struct event		*bc_timer;	/* injection retries */
	uint32_t		 bc_start;
	struct relay		*bc_relay;
	uint8_t			 bc_synack;	/* the stack's SYN/ACK seen */
	uint8_t			 bc_rst;	/* the stack refused */
	uint8_t			 bc_ws;
	uint8_t			 bc_has_ts;
	uint32_t		 bc_iss;
	uint32_t		 bc_tsval;
};

static struct log_rl be_rl_full;

/* Where this node's stack takes a handed-off connection to vport. */
static void
be_stack_endpoint(const struct hd *hd, uint16_t vport, uint32_t *addr,
    uint16_t *port)
{
	*addr = hd->hd_cfg->cfg_lwip.cl_addr;
	*port = vport;
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
	}
	if (peer_send(hd, peer, &m) == -1)
		log_info("be: HANDOFF_ACK to %s lost: control channel down",
		    peer_id(hd, peer));
}

/* The one way a back-end flow ends.  With a relay still running, its
 * connection is reset; the flow goes first, so that the reset, having no
 * flow, never reaches the client. */
static void
be_close(struct hd *hd, struct flow *f)
{
	struct be_conn	*bc = f->f_ctx;
	struct relay	*r = NULL;

	if (bc != NULL) {
		r = bc->bc_relay;
		if (bc->bc_timer != NULL)
			event_free(bc->bc_timer);
		free(bc->bc_data);
		free(bc);
		f->f_ctx = NULL;
	}
	flow_remove(hd->hd_flows, f);
	if (r != NULL)
		relay_abort(r);
}

static void
be_send_close(struct hd *hd, struct flow *f, enum ctl_reason why)
{
	struct ctl_msg	 m;

	if (f->f_flags & FLOW_CLOSE_SENT)
		return;
	f->f_flags |= FLOW_CLOSE_SENT;
	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_flow = f->f_peer_handle;
	m.m_u.close.cl_sflow = flow_handle(hd->hd_flows, f);
	m.m_u.close.cl_reason = why;
	m.m_u.close.cl_caddr = f->f_key.k_raddr;
	m.m_u.close.cl_cport = f->f_key.k_rport;
	peer_send(hd, f->f_peer, &m);
}

/* The relay is over: keep rewriting the stack's last packets a while, and
 * tell the front-end so it can do the same and then forget the flow. */
static void
be_relay_done(void *arg, enum relay_end how)
{
	struct be_conn	*bc = arg;
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;

	bc->bc_relay = NULL;
	be_send_close(hd, f, how == RELAY_DONE ? CTL_CLOSE_DONE :
	    CTL_CLOSE_RST);
	if (bc->bc_timer != NULL)
		event_free(bc->bc_timer);
	free(bc->bc_data);
	free(bc);
	f->f_ctx = NULL;
	f->f_state = BE_LINGER;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_linger_ms;
	flow_touch(f, hd->hd_now);
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
	k.k_raddr = ip4_addr_get_u32(&pcb->remote_ip);
	k.k_laddr = ip4_addr_get_u32(&pcb->local_ip);
	k.k_rport = htons(pcb->remote_port);
	k.k_lport = htons(pcb->local_port);
	f = flow_lookup(hd->hd_flows, &k);
	if (f == NULL || f->f_role != FLOW_BE || (bc = f->f_ctx) == NULL ||
	    bc->bc_relay != NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_nagle_disable(pcb);
	bc->bc_relay = relay_new(hd, pcb, &hd->hd_cfg->cfg_node.cn_server,
	    NULL, be_relay_done, bc);
	if (bc->bc_relay == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

/* A listener on the stack address for every VIP port handed to us. */
static int
be_listen(struct hd *hd, uint16_t port)
{
	struct tcp_pcb	*pcb, *lpcb;
	ip4_addr_t	 a;
	int		 i;

	for (i = 0; i < hd->hd_be_nlisten; i++)
		if (hd->hd_be_listen_port[i] == port)
			return 0;
	if (hd->hd_be_nlisten == HD_MAX_BE_PORTS)
		return -1;
	ip4_addr_set_u32(&a, hd->hd_cfg->cfg_lwip.cl_addr);
	if ((pcb = tcp_new()) == NULL)
		return -1;
	if (tcp_bind(pcb, &a, ntohs(port)) != ERR_OK ||
	    (lpcb = tcp_listen(pcb)) == NULL) {
		tcp_abort(pcb);
		return -1;
	}
	tcp_arg(lpcb, hd);
	tcp_accept(lpcb, be_accept);
	hd->hd_be_listen[hd->hd_be_nlisten] = lpcb;
	hd->hd_be_listen_port[hd->hd_be_nlisten++] = port;
	return 0;
}

/* Builds one segment from the client to the stack and injects it. */
static void
be_inject(struct be_conn *bc, uint32_t seq, uint32_t ack, uint8_t flags,
    const struct pkt_opts *o, const uint8_t *data, size_t len)
{
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	size_t		 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, f->f_key.k_raddr,
	    f->f_key.k_rport, f->f_key.k_laddr, f->f_key.k_lport, seq, ack,
	    flags, flags & TH_SYN ? 0xffff : bc->bc_ho.ho_cwin, o, data, len,
	    0);
	if (n == 0)
		return;
	hd->hd_stats.st_injected++;
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

/*
 * The stack's SYN/ACK is in: set up the rewrite, inject the client's ACK
 * with the request bytes, and answer the front-end.
 */
static void
be_inject_rest(struct be_conn *bc)
{
	struct hd		*hd = bc->bc_hd;
	struct flow		*f = bc->bc_flow;
	const struct ctl_handoff *ho = &bc->bc_ho;
	struct pkt_opts		 o;
	uint32_t		 seq = ho->ho_irs + 1, off = 0, n;
	uint64_t		 h = flow_handle(hd->hd_flows, f);

	f->f_naddr = ho->ho_vaddr;
	f->f_nport = ho->ho_vport;
	f->f_delta = ho->ho_iss - bc->bc_iss;
	if (ho->ho_opts & CTL_OPT_WS) {
		f->f_ws_in = bc->bc_ws;
		f->f_ws_out = ho->ho_fws;
	}
	/* The client must see TSvals above the last one the front-end sent
	 * (PAWS): start the stack's one above it. */
	if ((ho->ho_opts & CTL_OPT_TS) && bc->bc_has_ts)
		f->f_ts_delta = ho->ho_ftsval + 1 - bc->bc_tsval;
	f->f_state = BE_ESTAB;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_idle_ms;

	memset(&o, 0, sizeof(o));
	if ((ho->ho_opts & CTL_OPT_TS) && bc->bc_has_ts) {
		o.o_has_ts = 1;
		o.o_tsval = ho->ho_ctsval;
		o.o_tsecr = bc->bc_tsval;
	}
	do {
		n = ho->ho_datalen - off;
		if (n > BE_INJECT_CHUNK)
			n = BE_INJECT_CHUNK;
		be_inject(bc, seq + off, bc->bc_iss + 1,
		    TH_ACK | (n > 0 && off + n == ho->ho_datalen ? TH_PUSH : 0),
		    &o, bc->bc_data + off, n);
		off += n;
		/* The stack may have dropped the connection meanwhile. */
		if (flow_by_handle(hd->hd_flows, h) != f)
			return;
	} while (off < ho->ho_datalen);
	hd->hd_stats.st_be_accepted++;
	be_send_ack(hd, bc->bc_peer, ho, f, CTL_OK);
}

static void
be_refuse(struct hd *hd, struct flow *f, enum ctl_status st)
{
	struct be_conn	*bc = f->f_ctx;

	hd->hd_stats.st_be_refused++;
	log_info("be: handoff from %s refused: %s", peer_id(hd, bc->bc_peer),
	    ctl_status_name(st));
	be_send_ack(hd, bc->bc_peer, &bc->bc_ho, NULL, st);
	be_close(hd, f);
}

/* Injects the SYN (again) and moves on if the stack answered. */
static void
be_on_inject_timer(int fd, short ev, void *arg)
{
	struct be_conn	*bc = arg;
	struct hd	*hd = bc->bc_hd;
	struct flow	*f = bc->bc_flow;
	int		 retry = hd->hd_cfg->cfg_handoff.ch_inject_retry_ms;
	struct timeval	 tv = { retry / 1000, (retry % 1000) * 1000 };

	if (!bc->bc_synack && !bc->bc_rst)
		be_inject_syn(bc);
	if (bc->bc_rst) {
		be_refuse(hd, f, CTL_REFUSED);
		return;
	}
	if (bc->bc_synack) {
		be_inject_rest(bc);
		return;
	}
	if ((int32_t)(hd->hd_now - bc->bc_start) >=
	    hd->hd_cfg->cfg_handoff.ch_timeout_ms) {
		be_refuse(hd, f, CTL_STACK_TIMEOUT);
		return;
	}
	evtimer_add(bc->bc_timer, &tv);
}

/* A front-end hands us a connection. */
void
be_on_handoff(struct hd *hd, int peer, const struct ctl_handoff *ho)
{
	struct flow_key	 k;
	struct flow	*f;
	struct be_conn	*bc;

	k.k_raddr = ho->ho_caddr;
	k.k_rport = ho->ho_cport;
	be_stack_endpoint(hd, ho->ho_vport, &k.k_laddr, &k.k_lport);
	if ((f = flow_lookup(hd->hd_flows, &k)) != NULL) {
		if (f->f_role == FLOW_BE && f->f_peer == peer &&
		    f->f_peer_handle == ho->ho_flow) {
			/* HANDOFF is idempotent: answer again if done. */
			if (f->f_state != BE_INJECT)
				be_send_ack(hd, peer, ho, f, CTL_OK);
			return;
		}
		/* An older connection on the same 4-tuple is over. */
		be_close(hd, f);
	}
	if (be_listen(hd, ho->ho_vport) == -1) {
		be_send_ack(hd, peer, ho, NULL, CTL_NO_RESOURCES);
		return;
	}
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now)) == NULL) {
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
	bc->bc_start = hd->hd_now;
	f->f_role = FLOW_BE;
	f->f_state = BE_INJECT;
	f->f_peer = peer;
	f->f_peer_handle = ho->ho_flow;
	f->f_ctx = bc;
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_timeout_ms + 60000;
	hd->hd_stats.st_be_handoffs++;
	be_on_inject_timer(-1, 0, bc);
}

/*
 * A packet the stack sends for a back-end flow.  While injecting, the
 * SYN/ACK is captured and nothing leaves; afterwards every packet is
 * rewritten for the client.  Returns 0 to drop, 1 to send p.
 */
int
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
			bc->bc_ws = o.o_has_ws ? o.o_ws : 0;
			bc->bc_has_ts = o.o_has_ts;
			bc->bc_tsval = o.o_tsval;
		}
		return 0;
	}
	if (p->p_flags & TH_FIN)
		f->f_flags |= FLOW_STACK_FIN;
	if (p->p_flags & TH_RST)
		f->f_flags |= FLOW_STACK_RST;
	if ((p->p_flags & TH_SYN) != 0)
		return 0;	/* a SYN/ACK retransmission: the client has one */
	rw_to_client(f, p);
	hd->hd_stats.st_rw_pkts++;
	hd->hd_stats.st_rw_bytes += p->p_len;
	return 1;
}

/* A client packet, forwarded by the front-end, for our stack. */
void
be_input(struct hd *hd, struct flow *f, struct pkt *p)
{
	flow_touch(f, hd->hd_now);
	if (f->f_state == BE_INJECT) {
		hd->hd_stats.st_drop_early++;
		return;
	}
	if (p->p_flags & TH_FIN)
		f->f_flags |= FLOW_CLIENT_FIN;
	if (p->p_flags & TH_RST)
		f->f_flags |= FLOW_CLIENT_RST;
	tunif_input(hd->hd_lwip, p->p_ip, p->p_len);
}

/* The front-end says a flow is over. */
void
be_on_close(struct hd *hd, int peer, struct flow *f,
    const struct ctl_close *cl)
{
	if (f->f_peer != peer || f->f_peer_handle != cl->cl_sflow)
		return;
	switch (cl->cl_reason) {
	case CTL_CLOSE_FIN:
	case CTL_CLOSE_RST:
		/* Our stack sees the client's packets itself. */
		break;
	case CTL_CLOSE_ABORT:
		hd->hd_stats.st_be_aborted++;
		be_close(hd, f);
		break;
	default:
		/* The front-end forgot it: nothing more can reach us. */
		be_close(hd, f);
		break;
	}
}

/* A front-end gave up on a handoff before it knew our handle. */
void
be_on_abort(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct flow_key	 k;
	struct flow	*f;

	k.k_raddr = cl->cl_caddr;
	k.k_rport = cl->cl_cport;
	be_stack_endpoint(hd, cl->cl_vport, &k.k_laddr, &k.k_lport);
	f = flow_lookup(hd->hd_flows, &k);
	if (f != NULL && f->f_role == FLOW_BE && f->f_peer == peer &&
	    f->f_peer_handle == cl->cl_sflow) {
		hd->hd_stats.st_be_aborted++;
		be_close(hd, f);
	}
}

void
be_expire(struct hd *hd, struct flow *f)
{
	if (f->f_state == BE_INJECT) {
		flow_touch(f, hd->hd_now);	/* its timer decides */
		return;
	}
	if (f->f_state == BE_ESTAB) {
		hd->hd_stats.st_be_idle++;
		be_send_close(hd, f, CTL_CLOSE_IDLE);
	}
	be_close(hd, f);
}

int
be_init(struct hd *hd)
{
	return 0;
}

static void
be_shutdown_one(struct flow *f, void *arg)
{
	if (f->f_role == FLOW_BE)
		be_close(arg, f);
}

void
be_shutdown(struct hd *hd)
{
	int	 i;

	flow_foreach(hd->hd_flows, be_shutdown_one, hd);
	for (i = 0; i < hd->hd_be_nlisten; i++)
		tcp_close(hd->hd_be_listen[i]);
	hd->hd_be_nlisten = 0;
}

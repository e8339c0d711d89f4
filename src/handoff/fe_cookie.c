/*
 * The cookie handshake (seed 001, frequent handoff): the BTCP answers a
 * client's SYN itself with a SYN cookie as its ISN and keeps nothing; a
 * valid ACK creates the flow.  Until the handoff the BTCP is the client's
 * TCP peer, just enough of one: it takes in-order bytes, acknowledges
 * each segment, drops what is out of order (the client sends it again),
 * bounds the buffer by the window it advertises, and can answer 400, 408,
 * 431 or 503 itself with one segment and a FIN, resent until acknowledged.
 * Every connection is handed off, to this node's own stack too.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "btcp.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "pkt.h"
#include "handoff/cookie.h"
#include "handoff/replay.h"
#include "handoff/ctl.h"
#include "handoff/fe.h"
#include "handoff/handoff.h"

/* A 4xx/5xx segment is sent again this often, this many times. */
#define FE_RESP_RTO_MS		300
#define FE_RESP_TRIES		6


static int
fe_cookie_ws(const struct fe_conn *fc)
{
	return fc->fc_cws != FE_NO_WS && fc->fc_fws != FE_NO_WS;
}

/*
 * What the request buffer holds at most, bytes: request_buffer_max, but
 * always a unit of the window's scale past request_head_max, in whole
 * units: an advertised window is rounded down to a unit, so its edge may
 * stop up to a unit short of the buffer's end, and a head over the limit
 * must still be seen (431).  With request_buffer_max at request_head_max,
 * a head of that size stalled with less than a unit of room left (408 at
 * the deadline).
 */
static size_t
fe_cookie_capacity(const struct fe_conn *fc)
{
	const struct cfg_handoff *ch = &fc->fc_hd->hd_cfg->cfg_handoff;
	size_t	 max = (size_t)ch->ch_request_buffer_max, unit = 1;

	if (fe_cookie_ws(fc))
		unit = (size_t)1 << fc->fc_fws;
	if (max < (size_t)ch->ch_request_head_max + unit)
		max = (size_t)ch->ch_request_head_max + unit;
	return (max + unit - 1) / unit * unit;
}

/* What the request buffer can still take, bytes. */
static uint32_t
fe_cookie_room(const struct fe_conn *fc)
{
	size_t	 max = fe_cookie_capacity(fc);
	size_t	 used = evbuffer_get_length(fc->fc_req);

	return used < max ? (uint32_t)(max - used) : 0;
}

/* The window we advertise: the room, scaled, and no more than an lwIP
 * back-end's receive window (TCP_WND): a client that sent further would be
 * past that stack's window after the handoff, where lwIP answers its ACKs
 * without reading them (our lwIP patch 0016). */
static uint16_t
fe_cookie_window(const struct fe_conn *fc)
{
	uint32_t room = LWIP_MIN(fe_cookie_room(fc), TCP_WND);

	if (fe_cookie_ws(fc))
		room >>= fc->fc_fws;
	return room > 0xffff ? 0xffff : (uint16_t)room;
}

/* Sends one segment of ours to the client, from the VIP. */
static void
fe_cookie_send(struct fe_conn *fc, uint32_t seq, uint8_t flags,
    const void *data, size_t len)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	struct pkt_opts	 o;
	size_t		 n;

	memset(&o, 0, sizeof(o));
	if (fc->fc_cts && fc->fc_fts) {
		/* Never behind the SYN/ACK's TSval, which ran ahead of the
		 * clock to carry the cookie's options (PAWS). */
		o.o_has_ts = 1;
		o.o_tsval = seq_max(port_now_ms() + fc->fc_ts_off,
		    fc->fc_ftsval);
		o.o_tsecr = fc->fc_ctsval;
		fc->fc_ftsval = o.o_tsval;
	}
	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &f->f_key.k_laddr,
	    f->f_key.k_lport, &f->f_key.k_raddr, f->f_key.k_rport, seq,
	    fc->fc_rcv_nxt, flags, fe_cookie_window(fc), &o, data, len, 0);
	if (n > 0)
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
}

/*
 * A SYN for a cookie VIP: the SYN/ACK carries everything worth keeping in
 * its ISN, and nothing is kept here.
 */
void
fe_cookie_syn(struct hd *hd, const struct cfg_service *svc, struct pkt *p)
{
	struct pkt_opts		 in, out;
	struct cookie_opts	 co;
	struct fe_offer		 of;
	uint32_t		 isn, ts_off = 0;
	size_t			 n;

	/* Answered here, so checked here (a kernel would drop it too). */
	if (!p->p_meta.pm_csum_partial && !pkt_tcp_csum_ok(p)) {
		hd->hd_stats.st_drop_bad_csum++;
		return;
	}
	if (pkt_opts_parse(p, &in) == -1) {
		hd->hd_stats.st_drop_bad_opts++;
		return;
	}
	memset(&co, 0, sizeof(co));
	co.co_mss = in.o_mss ? in.o_mss : 536;
	co.co_has_ws = in.o_has_ws;
	co.co_ws = in.o_ws;
	fe_offer(hd->hd_cfg, svc, &of);
	co.co_sack = in.o_sack_ok && of.fo_sack;
	co.co_ts = in.o_has_ts && of.fo_ts;
	co.co_fws = of.fo_ws;
	if (cookie_make(hd->hd_cookie, &p->p_saddr, &p->p_daddr, p->p_sport,
	    p->p_dport, p->p_seq, hd->hd_now, &co, &isn, &ts_off) == -1) {
		/* No MAC, no cookie: nothing is answered. */
		hd->hd_stats.st_drop_nomem++;
		return;
	}

	memset(&out, 0, sizeof(out));
	out.o_mss = of.fo_mss;
	if (in.o_has_ws) {
		out.o_has_ws = 1;
		out.o_ws = of.fo_ws;
	}
	out.o_sack_ok = co.co_sack;
	if (co.co_ts) {
		out.o_has_ts = 1;
		out.o_tsval = cookie_tsval(hd->hd_now + port_ts_offset(ts_off),
		    &co);
		out.o_tsecr = in.o_tsval;
	}
	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, &p->p_daddr, p->p_dport,
	    &p->p_saddr, p->p_sport, isn, p->p_seq + 1, TH_SYN | TH_ACK, 0xffff,
	    &out, NULL, 0, 0);
	if (n > 0) {
		hd->hd_stats.st_cookie_syns++;
		hd->hd_cookie_sent = hd->hd_now;
		hd->hd_cookie_any = 1;
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
	}
}

/* Forgets the window shifts reloads replaced more than a cookie's
 * lifetime ago (fe_cookie_ack), at every expiry tick: their age is counted
 * on the 32-bit millisecond clock, which comes round.  One a tick late
 * costs an ACK two MACs more, and passes no cookie: its period is over. */
void
fe_cookie_tick(struct hd *hd)
{
	int	 ws;

	for (ws = 0; hd->hd_cookie_ws_old != 0 && ws < 15; ws++)
		if ((hd->hd_cookie_ws_old & (1u << ws)) &&
		    hd->hd_now - hd->hd_cookie_ws_at[ws] >= COOKIE_LIFETIME_MS)
			hd->hd_cookie_ws_old &= ~(1u << ws);
}

/*
 * A packet for a VIP that no flow knows: the handshake's ACK, if it
 * acknowledges a cookie we made for this client's ISN.  Then, and only
 * then, state is created.  Returns 0 for anything else, which is no
 * connection's, 1 when the packet was taken (or dropped for its checksum).
 */
int
fe_cookie_ack(struct hd *hd, const struct cfg_service *svc, struct pkt *p)
{
	struct cookie_opts	 co;
	struct fe_offer		 of;
	struct pkt_opts		 o;
	struct flow_key		 k;
	struct flow		*f;
	struct fe_conn		*fc;
	uint64_t		 id;
	uint32_t		 src;
	uint8_t			 fws[16];
	int			 nfws = 1, ws;

	/* An lwip handshake sends cookies only at its bound of half-open
	 * connections; the rest of the time, the ACKs of no flow at its VIP
	 * are those of the connections it relays to its own server, lwIP's. */
	if (svc->cs_handshake != CFG_HS_COOKIE && (!hd->hd_cookie_any ||
	    hd->hd_now - hd->hd_cookie_sent > COOKIE_LIFETIME_MS))
		return 0;
	if (!p->p_meta.pm_csum_partial && !pkt_tcp_csum_ok(p)) {
		hd->hd_stats.st_drop_bad_csum++;
		return 1;
	}
	/* The shift its SYN/ACK offered: now's, or one that reloads changed
	 * within a cookie's lifetime (fe_reload), which its client scales
	 * by. */
	fe_offer(hd->hd_cfg, svc, &of);
	fws[0] = of.fo_ws;
	for (ws = 0; hd->hd_cookie_ws_old != 0 && ws < 15; ws++)
		if (hd->hd_cookie_ws_old & (1u << ws))
			fws[nfws++] = (uint8_t)ws;
	if ((p->p_flags & (TH_ACK | TH_SYN | TH_RST)) != TH_ACK ||
	    pkt_opts_parse(p, &o) == -1 ||
	    cookie_check(hd->hd_cookie, &p->p_saddr, &p->p_daddr, p->p_sport,
	    p->p_dport, p->p_seq - 1, p->p_ack - 1, hd->hd_now,
	    o.o_has_ts ? &o.o_tsecr : NULL, fws, nfws, &co) == -1) {
		hd->hd_stats.st_cookie_bad++;
		return 0;
	}
	/* One of lwIP's connections whose numbers happen to make a cookie
	 * (one ACK in 2^24): lwIP's still. */
	if (svc->cs_handshake != CFG_HS_COOKIE &&
	    port_tcp_has_active(&p->p_daddr, ntohs(p->p_dport), &p->p_saddr,
	    ntohs(p->p_sport)))
		return 0;
	/* A cookie opens one connection: its ACK and request, replayed once
	 * that connection is over, would run the request again. */
	if (cookie_id(hd->hd_cookie, &p->p_saddr, &p->p_daddr, p->p_sport,
	    p->p_dport, p->p_seq - 1, &id) == -1 ||
	    cookie_source(hd->hd_cookie, &p->p_saddr, &src) == -1)
		return 1;
	switch (replay_check(hd->hd_replay, id, src,
	    cookie_period(hd->hd_now))) {
	case REPLAY_SEEN:
		hd->hd_stats.st_cookie_replayed++;
		return 0;
	case REPLAY_FULL:
		hd->hd_stats.st_cookie_full++;
		return 1;
	case REPLAY_BUSY:
		hd->hd_stats.st_cookie_busy++;
		return 1;
	case REPLAY_NEW:
		break;
	}
	/* A client reusing its port within lwIP's TIME_WAIT (an lwip
	 * handshake's fallback to cookies): a new connection, as in
	 * fe_syn, which lwIP's old one would answer with its last ACK. */
	if (svc->cs_handshake != CFG_HS_COOKIE)
		port_tcp_forget_timewait(&p->p_daddr, ntohs(p->p_dport),
		    &p->p_saddr, ntohs(p->p_sport));
	flow_key_in(&k, p);
	if (fe_make_room(hd, &p->p_saddr) == -1)
		return 1;
	if ((f = flow_insert(hd->hd_flows, &k, hd->hd_now, &fe_flow_ops)) ==
	    NULL) {
		hd->hd_stats.st_drop_table_full++;
		return 1;
	}
	if ((fc = fe_conn_new(hd, f, svc)) == NULL ||
	    (fc->fc_timer = evtimer_new(hd->hd_base, fe_on_timer, fc)) ==
	    NULL) {
		if (fc != NULL)
			fe_close(hd, f, FLOW_END_NOMEM);
		else
			flow_remove(hd->hd_flows, f);
		hd->hd_stats.st_drop_nomem++;
		return 1;
	}
	fc->fc_cookie = 1;
	fc->fc_irs = p->p_seq - 1;
	fc->fc_iss = p->p_ack - 1;
	fc->fc_rcv_nxt = p->p_seq;
	fc->fc_snd_nxt = p->p_ack;
	fc->fc_snd_una = p->p_ack;
	fc->fc_cmss = co.co_mss;
	fc->fc_cws = co.co_has_ws ? co.co_ws : FE_NO_WS;
	fc->fc_fws = co.co_has_ws ? co.co_fws : FE_NO_WS;
	fc->fc_csack = fc->fc_fsack = co.co_sack;
	fc->fc_cts = fc->fc_fts = co.co_ts;
	fc->fc_ctsval = o.o_has_ts ? o.o_tsval : 0;
	fc->fc_ftsval = o.o_has_ts ? o.o_tsecr : 0;
	fc->fc_ts_off = port_ts_offset(co.co_ts_off);
	fc->fc_fmss = of.fo_mss;
	fc->fc_cwin = p->p_win;
	fc->fc_synack = 1;
	f->f_irs = fc->fc_irs;
	f->f_cack = fc->fc_iss + 1;	/* where a reset must be (fe_adopt) */
	f->f_ctx = fc;
	replay_add(hd->hd_replay, id, src, cookie_period(hd->hd_now));
	fe_set_state(f, FE_COLLECT);
	flow_net_join(hd->hd_flows, f);
	f->f_timeout = hd->hd_cfg->cfg_handoff.ch_request_timeout_ms;
	hd->hd_stats.st_cookie_acks++;
	fe_cookie_input(hd, f, p);
	return 1;
}

/* Our FIN is acknowledged and the client's is in: nothing is left. */
static int
fe_cookie_done(const struct fe_conn *fc)
{
	return fc->fc_resp != NULL && fc->fc_cfin &&
	    seq_geq(fc->fc_snd_una, fc->fc_snd_nxt);
}

/* Whether seq lies in the window we advertise (a zero window still takes
 * its left edge). */
static int
fe_cookie_in_window(const struct fe_conn *fc, uint32_t seq)
{
	uint32_t room = fe_cookie_room(fc);

	return seq_geq(seq, fc->fc_rcv_nxt) &&
	    seq_lt(seq, fc->fc_rcv_nxt + (room > 0 ? room : 1));
}

/*
 * Whether a segment is one the client can have sent (RFC 793's test and
 * RFC 5961's on the acknowledgment): it overlaps the window, and acks
 * nothing we have not sent.  Only such a segment changes what we know.
 */
static int
fe_cookie_acceptable(const struct fe_conn *fc, const struct pkt *p)
{
	uint32_t end = p->p_seq + p->p_paylen + !!(p->p_flags & TH_FIN);

	if (end == p->p_seq ? !fe_cookie_in_window(fc, p->p_seq) :
	    !seq_gt(end, fc->fc_rcv_nxt) || !(fe_cookie_in_window(fc, p->p_seq) ||
	    seq_lt(p->p_seq, fc->fc_rcv_nxt)))
		return 0;
	if ((p->p_flags & TH_ACK) && (seq_leq(p->p_ack, fc->fc_iss) ||
	    seq_gt(p->p_ack, fc->fc_snd_nxt)))
		return 0;
	return 1;
}

/*
 * A reset or a SYN while the BTCP plays TCP (RFC 5961): a reset exactly at
 * our next expected sequence number ends the connection; a SYN with
 * another ISN, or a reset elsewhere in the window, gets a rate-limited
 * challenge ACK, which a client that really reset answers with an exact
 * reset; anything else is blind and dropped.
 */
static void
fe_cookie_control(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct fe_conn	*fc = f->f_ctx;

	if ((p->p_flags & TH_RST) && p->p_seq == fc->fc_rcv_nxt) {
		fe_close(hd, f, FLOW_END_CLIENT_RST);
		return;
	}
	if ((p->p_flags & TH_SYN) && p->p_seq == fc->fc_irs)
		return;		/* a late SYN: its SYN/ACK is long gone */
	if (!(p->p_flags & TH_SYN) && !fe_cookie_in_window(fc, p->p_seq)) {
		hd->hd_stats.st_rst_blind++;
		return;
	}
	if (fe_challenge_ok(hd, f))
		fe_cookie_send(fc, fc->fc_snd_nxt, TH_ACK, NULL, 0);
}

/*
 * A client packet while the BTCP is the client's TCP peer (collecting the
 * request, or answering it).  In-order bytes are taken up to the window,
 * every segment with data or FIN is acknowledged (a duplicate ACK for
 * what is out of order), and the request head is looked at as it grows.
 */
void
fe_cookie_input(struct hd *hd, struct flow *f, struct pkt *p)
{
	struct fe_conn	*fc = f->f_ctx;
	struct pkt_opts	 o;
	const uint8_t	*data = p->p_tcp + p->p_thl;
	uint32_t	 len = p->p_paylen, off, n, room;
	int		 fin = (p->p_flags & TH_FIN) != 0, took = 0;

	if (!p->p_meta.pm_csum_partial && !pkt_tcp_csum_ok(p)) {
		hd->hd_stats.st_drop_bad_csum++;
		return;
	}
	if (p->p_flags & (TH_RST | TH_SYN)) {
		fe_cookie_control(hd, f, p);
		return;
	}
	if (!fe_cookie_acceptable(fc, p)) {
		/* Old data again, or a forgery: our ACK says where we are. */
		hd->hd_stats.st_unacceptable++;
		if ((len > 0 || fin) && fe_challenge_ok(hd, f))
			fe_cookie_send(fc, fc->fc_snd_nxt, TH_ACK, NULL, 0);
		return;
	}
	if (fc->fc_cts && p->p_thl > PKT_TCP_HLEN && pkt_opts_parse(p, &o) ==
	    0 && o.o_has_ts && seq_leq(p->p_seq, fc->fc_rcv_nxt) &&
	    seq_geq(o.o_tsval, fc->fc_ctsval))
		fc->fc_ctsval = o.o_tsval;
	if (p->p_flags & TH_ACK) {
		fc->fc_cwin = p->p_win;
		if (seq_gt(p->p_ack, fc->fc_snd_una) &&
		    seq_leq(p->p_ack, fc->fc_snd_nxt))
			fc->fc_snd_una = p->p_ack;
	}
	if (len == 0 && !fin) {
		if (fe_cookie_done(fc))
			fe_close(hd, f, FLOW_END_RESPONDED);
		return;
	}
	/* The part of the segment that is new and in order. */
	if (seq_leq(p->p_seq, fc->fc_rcv_nxt) &&
	    seq_gt(p->p_seq + len + fin, fc->fc_rcv_nxt)) {
		off = fc->fc_rcv_nxt - p->p_seq;
		n = len > off ? len - off : 0;
		if (f->f_state == FE_COLLECT) {
			room = fe_cookie_room(fc);
			if (n > room)
				n = room;	/* beyond the window */
			if (n > 0 && fe_feed(fc, data + off, n) == REQ_NOMEM) {
				fe_close(hd, f, FLOW_END_NOMEM);
				return;
			}
		}
		fc->fc_rcv_nxt += n;
		took = n > 0;
		if (fin && off + n == len && !fc->fc_fin && !fc->fc_cfin) {
			fc->fc_rcv_nxt++;
			if (f->f_state == FE_COLLECT)
				fc->fc_fin = 1;	/* travels with the request */
			else
				fc->fc_cfin = 1;
			took = 1;
		}
	}
	fe_cookie_send(fc, fc->fc_snd_nxt, TH_ACK, NULL, 0);
	if (f->f_state == FE_RESPOND) {
		if (fe_cookie_done(fc))
			fe_close(hd, f, FLOW_END_RESPONDED);
		return;
	}
	if (!took || f->f_state != FE_COLLECT || fc->fc_dispatched)
		return;
	if (fc->fc_fin && fc->fc_headres == REQ_MORE) {
		/* The client is done before its request is; a ClientHello
		 * cut short is a malformed one. */
		if (fc->fc_svc->cs_protocol == CFG_PROTO_TLS)
			fe_respond(fc, 400);
		else
			fe_cookie_close(fc);
		return;
	}
	fe_decide(fc, 0);
}

/* Our answer, one segment with the FIN, until the client acknowledges it. */
void
fe_cookie_respond(struct fe_conn *fc, const char *resp, size_t len)
{
	struct hd	*hd = fc->fc_hd;
	struct flow	*f = fc->fc_flow;
	struct timeval	 tv = { 0, FE_RESP_RTO_MS * 1000 };

	if (fc->fc_fin) {
		fc->fc_cfin = 1;
		fc->fc_fin = 0;
	}
	fc->fc_resp = resp;
	fc->fc_resp_len = (uint16_t)len;
	fc->fc_resp_tries = 0;
	fe_cookie_send(fc, fc->fc_snd_nxt, TH_ACK | TH_PUSH | TH_FIN, resp,
	    len);
	fc->fc_snd_nxt += (uint32_t)len + 1;
	fe_set_state(f, FE_RESPOND);
	f->f_timeout = FE_RESPOND_TIMEOUT_MS;
	flow_touch(f, hd->hd_now);
	evtimer_add(fc->fc_timer, &tv);
}

/* The answer's timer: send it again, or give up with a reset. */
void
fe_cookie_on_timer(struct fe_conn *fc)
{
	struct hd	*hd = fc->fc_hd;
	struct timeval	 tv = { 0, FE_RESP_RTO_MS * 1000 };
	uint32_t	 start = fc->fc_snd_nxt - fc->fc_resp_len - 1;

	if (fe_cookie_done(fc)) {
		fe_close(hd, fc->fc_flow, FLOW_END_RESPONDED);
		return;
	}
	if (seq_geq(fc->fc_snd_una, fc->fc_snd_nxt))
		return;		/* delivered: the client's FIN decides */
	if (++fc->fc_resp_tries > FE_RESP_TRIES) {
		fe_cookie_reset(fc);
		fe_close(hd, fc->fc_flow, FLOW_END_ABORT);
		return;
	}
	fe_cookie_send(fc, start, TH_ACK | TH_PUSH | TH_FIN, fc->fc_resp,
	    fc->fc_resp_len);
	evtimer_add(fc->fc_timer, &tv);
}

/* The client gave up on its request: our FIN, and we forget it. */
void
fe_cookie_close(struct fe_conn *fc)
{
	fe_cookie_send(fc, fc->fc_snd_nxt, TH_ACK | TH_FIN, NULL, 0);
	fe_close(fc->fc_hd, fc->fc_flow, FLOW_END_DONE);
}

/* A reset from the VIP: a handoff that cannot be finished. */
void
fe_cookie_reset(struct fe_conn *fc)
{
	fe_cookie_send(fc, fc->fc_snd_nxt, TH_RST | TH_ACK, NULL, 0);
}

/* Control connections between nodes; see peer.h. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "sock.h"
#include "lwip-port/port.h"
#include "handoff/ctl.h"
#include "handoff/peer.h"
#include "handoff/psk.h"

/* A peer that lets this much pile up unread is not keeping up. */
#define PEER_OUT_MAX_FRAMES	64
/* Connections the listener takes before the loop gets a turn: under a
 * flood, the rest of the daemon keeps running, and connections closed to
 * make room are released before more come in. */
#define PEER_ACCEPT_BURST	16
/* CLOSE frames kept for a peer that is down: some thousands. */
#define PEER_LATER_MAX		(256 * 1024)
/* What TLS carries in one record (RFC 8446 5.1). */
#define PEER_RECORD_MAX		(16 * 1024)

/* A connection's life; only CONN_UP carries anything but a HELLO. */
enum conn_state {
	CONN_CONNECTING,	/* ours: the TCP connect is under way */
	CONN_TLS,		/* the TLS handshake is */
	CONN_HELLO,		/* TLS named the peer; its HELLO must agree */
	CONN_UP,		/* authenticated */
	CONN_CLOSING,		/* failed: its TLS alert is going out */
};

static const char *const conn_state_names[] = {
	"connecting", "in the TLS handshake", "waiting for HELLO", "up",
	"closing"
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 cc_entry;
	struct peer_set		*cc_set;
	struct bufferevent	*cc_bev;	/* TLS; TCP while connecting */
	/* frames of this turn of the event loop, handed to TLS at its end
	 * as one record (peer_on_flush): OpenSSL costs a microsecond or two
	 * a record, whatever its size */
	struct evbuffer		*cc_stage;
	int			 cc_peer;	/* dialled, or named by TLS; -1 */
	enum conn_state		 cc_state;
	unsigned int		 cc_outgoing:1;
	unsigned int		 cc_pending:1;	/* accepted, not up: capped */
	int			 cc_slot;	/* pending: whose address */
	in_addr_t		 cc_src;	/* the peer's address */
	struct psk_link		 cc_link;	/* the handshake's findings */
	struct event		*cc_deadline;	/* to be up by */
	uint32_t		 cc_last_rx;	/* port_real_ms(): heartbeats run
						   on real time, whatever the
						   flow clock says */
	char			 cc_addr[INET_ADDRSTRLEN + 8];
};

struct peer {
	struct peer_set		*p_set;
	int			 p_idx;
	const struct cfg_peer	*p_cfg;
	struct ctl_conn		*p_out;		/* the one we dialled */
	struct ctl_conn		*p_in;		/* verified, dialled by the peer */
	struct event		*p_redial;
	int			 p_backoff_ms;
	int			 p_was_up;
	int			 p_failures;	/* dial failures in a row */
	int			 p_refused;	/* the last dial was refused:
						   its daemon is not running */
	struct log_rl		 p_rl;		/* its failed handshakes */
	uint64_t		 p_boot;	/* its process's HELLO, 0: none yet */
	struct event		*p_gone;	/* down for dead_after */
	/* CLOSE frames said while it was down, for when it is up again
	 * (the same process: a restarted one has forgotten the flows) */
	struct evbuffer		*p_later;
	struct log_rl		 p_later_rl;	/* ... when it is full */
	int			 p_pending;	/* accepted from its address, not
						 * up (the first peer there) */
	uint32_t		 p_load_flows;
	uint32_t		 p_load_capacity;
	uint32_t		 p_down_ms;	/* went down (or we started), ms */
	int			 p_caps;	/* PSK_CAP_* when last up */
};

struct peer_set {
	struct hd		*ps_hd;
	struct peer_handlers	 ps_handlers;
	struct peer		 ps_peers[CFG_MAX_PEERS];
	int			 ps_npeers;
	struct evconnlistener	*ps_listener;
	struct event		*ps_heartbeat;
	int			 ps_heartbeat_ms; /* its period */
	struct event		*ps_accept_retry;
	struct event		*ps_accept_yield;
	int			 ps_accepted;	/* since the last yield */
	TAILQ_HEAD(, ctl_conn)	 ps_conns;
	struct evbuffer		*ps_local;	/* frames to this node */
	struct event		*ps_local_ev;
	struct event		*ps_flush_ev;	/* a cc_stage holds frames */
	struct psk		*ps_psk;	/* TLS for every connection */
	uint64_t		 ps_boot;	/* this process's, in every HELLO */
	int			 ps_npending;	/* accepted, not up yet */
	struct log_rl		 ps_rl_addr;	/* refused: address */
	struct log_rl		 ps_rl_busy;	/* refused: over the caps */
	struct log_rl		 ps_rl_slow;	/* past the deadline */
	struct log_rl		 ps_rl_anon;	/* failed, peer unknown */
	struct log_rl		 ps_rl_frame;	/* a frame not sent */
};

static void	peer_dial(struct peer_set *, int);

/* A peer a reload removed that no flow needs: not to be dialled again.
 * One that flows still need is, should its connection drop: it never
 * dials in (it is no peer to the listener). */
static int
peer_retired_idle(struct peer *p)
{
	struct peer_set	*ps = p->p_set;

	return p->p_cfg->cp_retired && (ps->ps_handlers.ph_holds == NULL ||
	    !ps->ps_handlers.ph_holds(ps->ps_hd, p->p_idx));
}
static void	conn_close(struct ctl_conn *, const char *, int);
static void	conn_close_flushed(struct ctl_conn *);
static int	conn_start_tls(struct ctl_conn *);

static const char *
conn_name(const struct ctl_conn *c)
{
	if (c->cc_peer >= 0)
		return c->cc_set->ps_peers[c->cc_peer].p_cfg->cp_id;
	return "?";
}

static int
conn_usable(const struct ctl_conn *c)
{
	return c != NULL && c->cc_state == CONN_UP;
}

int
peer_is_up(const struct hd *hd, int idx)
{
	const struct peer *p;

	if (idx == PEER_LOCAL)
		return 1;
	p = &hd->hd_peers->ps_peers[idx];
	return conn_usable(p->p_out) || conn_usable(p->p_in);
}

const char *
peer_id(const struct hd *hd, int idx)
{
	if (idx == PEER_LOCAL)
		return hd->hd_cfg->cfg_node.cn_id;
	return hd->hd_cfg->cfg_peers[idx].cp_id;
}

uint32_t
peer_load(const struct hd *hd, int idx)
{
	if (idx == PEER_LOCAL)
		return hd->hd_served;
	return hd->hd_peers->ps_peers[idx].p_load_flows;
}

/* Queues an encoded frame for this node itself. */
static int
peer_local_write(struct hd *hd, const void *buf, size_t len)
{
	struct peer_set	*ps = hd->hd_peers;

	if (evbuffer_add(ps->ps_local, buf, len) == -1)
		return -1;
	event_active(ps->ps_local_ev, 0, 0);
	return 0;
}

static void
conn_write(struct ctl_conn *c, const void *buf, size_t len)
{
	if (evbuffer_add(c->cc_stage, buf, len) == -1)
		log_warnx("peer %s: cannot queue %zu bytes", conn_name(c), len);
	event_active(c->cc_set->ps_flush_ev, 0, 0);
}

/* What a connection has queued and its peer has not read yet: TLS
 * encrypts what it is given at once, into its transport's buffer. */
static size_t
conn_queued(struct ctl_conn *c)
{
	struct bufferevent	*u = bufferevent_get_underlying(c->cc_bev);

	return evbuffer_get_length(c->cc_stage) +
	    evbuffer_get_length(bufferevent_get_output(c->cc_bev)) +
	    (u != NULL ? evbuffer_get_length(bufferevent_get_output(u)) : 0);
}

/*
 * The frames each connection was given in this turn go to TLS, in one
 * record per connection; beyond a record's 16 KB, as they lie (a record
 * per chunk of the buffer), not copied into one.  Writing cannot close a
 * connection under this loop: its callbacks are deferred
 * (BEV_OPT_DEFER_CALLBACKS, conn_start_tls).
 */
static void
peer_on_flush(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;
	struct ctl_conn	*c;
	size_t		 len;
	unsigned char	*b;
	int		 rc;

	TAILQ_FOREACH(c, &ps->ps_conns, cc_entry) {
		if ((len = evbuffer_get_length(c->cc_stage)) == 0 ||
		    c->cc_bev == NULL)
			continue;
		if (len > PEER_RECORD_MAX)
			rc = bufferevent_write_buffer(c->cc_bev, c->cc_stage);
		else
			rc = (b = evbuffer_pullup(c->cc_stage, -1)) == NULL ?
			    -1 : bufferevent_write(c->cc_bev, b, len);
		if (rc == -1)
			log_warnx("peer %s: cannot queue %zu bytes",
			    conn_name(c), len);
		evbuffer_drain(c->cc_stage, len);
	}
}

static int
conn_send(struct ctl_conn *c, const struct ctl_msg *m)
{
	uint8_t	 buf[256];
	size_t	 len;

	if ((len = ctl_encode(buf, sizeof(buf), m)) == 0) {
		log_warnx("peer %s: cannot encode %s", conn_name(c),
		    ctl_type_name(m->m_type));
		return -1;
	}
	conn_write(c, buf, len);
	return 0;
}

/*
 * What ends a flow must reach the other node, or its side of the flow
 * lingers until handoff.idle and then resets a client that is long gone.
 * While the peer is down (a restart keeping its flows in
 * node.state_file, a link that drops) CLOSE frames wait, up to
 * PEER_LATER_MAX bytes; other messages are about handoffs in flight, which
 * fail over instead.
 */
static int
peer_later(struct hd *hd, int idx, int type, const void *buf, size_t len)
{
	struct peer	*p = &hd->hd_peers->ps_peers[idx];

	if (type != CTL_CLOSE || p->p_later == NULL)
		return -1;
	if (evbuffer_get_length(p->p_later) + len > PEER_LATER_MAX ||
	    evbuffer_add(p->p_later, buf, len) == -1) {
		log_ratelim(&p->p_later_rl, "peer %s: down, with %zu bytes of "
		    "CLOSE messages waiting for it: more are lost (its flows "
		    "end at handoff.idle)", p->p_cfg->cp_id,
		    evbuffer_get_length(p->p_later));
		return -1;
	}
	return 0;
}

/* A peer back with a build that reads no version-3 frame held no IPv6
 * flow: what waited for it of theirs goes (the frames are our own, whole,
 * one after another). */
static void
peer_later_v3(struct hd *hd, struct peer *p)
{
	size_t		 len = evbuffer_get_length(p->p_later), off = 0, n;
	struct evbuffer	*keep;
	const uint8_t	*b;

	if (len == 0 || (keep = evbuffer_new()) == NULL)
		return;
	b = evbuffer_pullup(p->p_later, -1);
	while (b != NULL && len - off >= CTL_HDR_LEN &&
	    (n = CTL_HDR_LEN + pkt_get32(b + off + 4)) <= len - off) {
		if (b[off + 2] == CTL_VERSION_ADDR16)
			hd->hd_stats.st_ctl_not_ipv6++;
		else if (evbuffer_add(keep, b + off, n) == -1)
			break;
		off += n;
	}
	evbuffer_drain(p->p_later, len);
	evbuffer_add_buffer(p->p_later, keep);
	evbuffer_free(keep);
}

/* What waited for a peer that has forgotten its flows. */
static void
peer_later_drop(struct peer *p)
{
	if (p->p_later != NULL)
		evbuffer_drain(p->p_later, evbuffer_get_length(p->p_later));
}

/* The connection to use for a peer: ours if it is up, else theirs. */
static struct ctl_conn *
peer_conn(struct hd *hd, int idx)
{
	struct peer *p = &hd->hd_peers->ps_peers[idx];

	if (conn_usable(p->p_out))
		return p->p_out;
	if (conn_usable(p->p_in))
		return p->p_in;
	return NULL;
}

/* Whether peer idx has been down for control.dead_after (since this node
 * started, if it never was up): what it served is given up. */
int
peer_gone(const struct hd *hd, int idx)
{
	const struct peer *p;

	if (idx == PEER_LOCAL || peer_is_up(hd, idx))
		return 0;
	p = &hd->hd_peers->ps_peers[idx];
	return port_now_ms() - p->p_down_ms >=
	    (uint32_t)hd->hd_cfg->cfg_control.cc_dead_ms;
}

/* How much longer, of ms since peer idx went down (or this node started,
 * or a reload first named it), it may take to come up: 0 while it is up,
 * or past that.  A restart keeps a peer away for about that long. */
uint32_t
peer_coming(const struct hd *hd, int idx, uint32_t ms)
{
	const struct peer *p;
	uint32_t	 age;

	if (idx == PEER_LOCAL || peer_is_up(hd, idx))
		return 0;
	p = &hd->hd_peers->ps_peers[idx];
	age = port_now_ms() - p->p_down_ms;
	return age >= ms ? 0 : ms - age;
}

/* Whether peer idx is up and reads what cap says (PSK_CAP_*, psk.h); with
 * down_too, whether it did when it was last up (a CLOSE waits for it). */
static int
peer_speaks(struct hd *hd, int idx, int cap, int down_too)
{
	const struct ctl_conn *c;

	if (idx == PEER_LOCAL)
		return 1;
	if ((c = peer_conn(hd, idx)) != NULL)
		return (c->cc_link.pl_caps & cap) != 0;
	return down_too && (hd->hd_peers->ps_peers[idx].p_caps & cap) != 0;
}

/* ... LOOKUP and CLOSE moved. */
int
peer_speaks_lookup(struct hd *hd, int idx, int down_too)
{
	return peer_speaks(hd, idx, PSK_CAP_LOOKUP, down_too);
}

/* ... version-3 frames: an IPv6 connection's HANDOFF, LOOKUP and CLOSE. */
int
peer_speaks_ipv6(struct hd *hd, int idx, int down_too)
{
	return peer_speaks(hd, idx, PSK_CAP_IPV6, down_too);
}

/* ... ICMP frames. */
int
peer_speaks_icmp(struct hd *hd, int idx, int down_too)
{
	return peer_speaks(hd, idx, PSK_CAP_ICMP, down_too);
}

/* ... a HANDOFF_ACK's busy status. */
int
peer_speaks_busy(struct hd *hd, int idx)
{
	return peer_speaks(hd, idx, PSK_CAP_BUSY, 0);
}

/* A version-3 frame (IPv6 addresses) goes to a peer that reads it only:
 * an older build would close the connection (psk.h).  1 if refused.  A
 * peer that is down is judged when it is back (peer_later_v3). */
static int
peer_refuse_v3(struct hd *hd, int idx, const uint8_t *frame, int type)
{
	if (frame[2] != CTL_VERSION_ADDR16 || idx == PEER_LOCAL ||
	    peer_conn(hd, idx) == NULL || peer_speaks_ipv6(hd, idx, 0))
		return 0;
	hd->hd_stats.st_ctl_not_ipv6++;
	log_ratelim(&hd->hd_peers->ps_rl_frame, "peer %s: an IPv6 %s not "
	    "sent: its build reads no IPv6 frame", peer_id(hd, idx),
	    ctl_type_name(type));
	return 1;
}

int
peer_send(struct hd *hd, int idx, const struct ctl_msg *m)
{
	struct ctl_conn	*c;
	uint8_t		 buf[256];
	size_t		 len;

	if ((len = ctl_encode(buf, sizeof(buf), m)) == 0) {
		log_ratelim(&hd->hd_peers->ps_rl_frame, "peer %s: cannot "
		    "encode %s", peer_id(hd, idx), ctl_type_name(m->m_type));
		return -1;
	}
	if (peer_refuse_v3(hd, idx, buf, m->m_type))
		return -1;
	if (idx == PEER_LOCAL)
		return peer_local_write(hd, buf, len);
	if ((c = peer_conn(hd, idx)) == NULL)
		return peer_later(hd, idx, m->m_type, buf, len);
	conn_write(c, buf, len);
	return 0;
}

/* A HANDOFF carries the request bytes; they are written after the fixed
 * part rather than copied into one frame first. */
int
peer_send_handoff(struct hd *hd, int idx, const struct ctl_handoff *ho,
    const uint8_t *data)
{
	struct ctl_conn	*c = NULL;
	uint8_t		 head[CTL_HDR_LEN + CTL_HANDOFF_FIXED];
	size_t		 len;

	if (idx != PEER_LOCAL && (c = peer_conn(hd, idx)) == NULL)
		return -1;
	if ((len = ctl_encode_handoff_head(head, sizeof(head), ho)) == 0 ||
	    peer_refuse_v3(hd, idx, head, CTL_HANDOFF))
		return -1;
	if (len + (size_t)ho->ho_datalen >
	    (size_t)hd->hd_cfg->cfg_control.cc_frame_max) {
		log_warnx("peer %s: a HANDOFF of %u bytes exceeds frame_max",
		    peer_id(hd, idx), ho->ho_datalen);
		return -1;
	}
	/* Room for the whole frame first: half of one would be read as the
	 * start of the next. */
	if (evbuffer_expand(idx == PEER_LOCAL ? hd->hd_peers->ps_local :
	    c->cc_stage, len + ho->ho_datalen) == -1) {
		log_warnx("peer %s: no memory for a HANDOFF", peer_id(hd, idx));
		return -1;
	}
	if (idx == PEER_LOCAL)
		return peer_local_write(hd, head, len) == -1 ||
		    (ho->ho_datalen &&
		    peer_local_write(hd, data, ho->ho_datalen) == -1) ? -1 : 0;
	conn_write(c, head, len);
	if (ho->ho_datalen)
		conn_write(c, data, ho->ho_datalen);
	return 0;
}

static void
conn_send_hello(struct ctl_conn *c)
{
	struct ctl_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_HELLO;
	snprintf(m.m_u.hello.h_id, sizeof(m.m_u.hello.h_id), "%s",
	    c->cc_set->ps_hd->hd_cfg->cfg_node.cn_id);
	m.m_u.hello.h_boot = c->cc_set->ps_boot;
	conn_send(c, &m);
}

/* An accepted connection leaves the ones the caps count. */
static void
conn_pending_end(struct ctl_conn *c)
{
	struct peer_set	*ps = c->cc_set;

	if (!c->cc_pending)
		return;
	c->cc_pending = 0;
	ps->ps_npending--;
	ps->ps_peers[c->cc_slot].p_pending--;
}

/* The peer is authenticated: the connection carries handoffs. */
static void
conn_up(struct ctl_conn *c)
{
	struct peer_set	*ps = c->cc_set;
	struct hd	*hd = ps->ps_hd;
	struct peer	*p = &ps->ps_peers[c->cc_peer];
	int		 was_up = peer_is_up(hd, c->cc_peer);

	c->cc_state = CONN_UP;
	c->cc_last_rx = port_real_ms();
	evtimer_del(c->cc_deadline);
	conn_pending_end(c);
	if (c->cc_outgoing) {
		p->p_backoff_ms = hd->hd_cfg->cfg_control.cc_reconnect_min_ms;
		p->p_failures = 0;
	} else {
		struct ctl_conn *old = p->p_in;

		/* The new one first, so the peer never looks down. */
		p->p_in = c;
		if (old != NULL && old != c)
			conn_close(old, "replaced by a new connection", 0);
	}
	if (p->p_later != NULL && !(c->cc_link.pl_caps & PSK_CAP_IPV6))
		peer_later_v3(hd, p);
	if (p->p_later != NULL && evbuffer_get_length(p->p_later) > 0) {
		if (evbuffer_add_buffer(c->cc_stage, p->p_later) == -1)
			log_warnx("peer %s: cannot queue what waited",
			    conn_name(c));
		event_active(ps->ps_flush_ev, 0, 0);
	}
	p->p_caps = c->cc_link.pl_caps;
	if (!p->p_was_up)
		log_info("peer %s up (%s)", p->p_cfg->cp_id, c->cc_addr);
	p->p_was_up = 1;
	evtimer_del(p->p_gone);
	if (!was_up && ps->ps_handlers.ph_up != NULL)
		ps->ps_handlers.ph_up(hd, c->cc_peer);
}

/* Down for control.dead_after: whatever the peer held is given up. */
static void
peer_on_gone(int fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct peer_set	*ps = p->p_set;

	if (peer_is_up(ps->ps_hd, p->p_idx))
		return;
	log_info("peer %s gone for %d ms", p->p_cfg->cp_id,
	    ps->ps_hd->hd_cfg->cfg_control.cc_dead_ms);
	peer_later_drop(p);
	ps->ps_handlers.ph_gone(ps->ps_hd, p->p_idx, p->p_refused);
}

/* The peer's HELLO: TLS already said who it is; its id must agree. */
static int
conn_on_hello(struct ctl_conn *c, const struct ctl_hello *h)
{
	struct peer_set	*ps = c->cc_set;
	struct peer	*p = &ps->ps_peers[c->cc_peer];

	if (c->cc_state != CONN_HELLO) {
		conn_close(c, "second HELLO", 1);
		return -1;
	}
	if (strcmp(h->h_id, p->p_cfg->cp_id) != 0) {
		ps->ps_hd->hd_stats.st_ctl_auth_failed++;
		log_ratelim(&p->p_rl, "peer %s (%s): authentication failed: "
		    "its HELLO says \"%s\"; refused", p->p_cfg->cp_id,
		    c->cc_addr, h->h_id);
		conn_close(c, NULL, 0);
		return -1;
	}
	/* Another process of the peer: what the last one held is gone. */
	if (p->p_boot != 0 && p->p_boot != h->h_boot) {
		log_info("peer %s restarted", p->p_cfg->cp_id);
		peer_later_drop(p);
		ps->ps_handlers.ph_gone(ps->ps_hd, c->cc_peer, 1);
	}
	p->p_boot = h->h_boot;
	if (ps->ps_hd->hd_peer_boot != NULL)
		ps->ps_hd->hd_peer_boot[c->cc_peer] = h->h_boot;
	conn_up(c);
	return 0;
}

/* A message about flows, from a peer or from this node itself. */
static void
peer_deliver(struct hd *hd, int idx, const struct ctl_msg *m)
{
	hd->hd_peers->ps_handlers.ph_message(hd, idx, m);
}

/* Frames this node sent itself, delivered on a fresh turn of the loop. */
static void
peer_on_local(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;
	struct hd	*hd = ps->ps_hd;
	struct ctl_msg	 m;
	const char	*why;
	size_t		 len, used;

	while ((len = evbuffer_get_length(ps->ps_local)) >= CTL_HDR_LEN) {
		if (ctl_decode(evbuffer_pullup(ps->ps_local, -1), len,
		    (size_t)-1, &m, &used, &why) != 1) {
			/* We wrote them: a bug, not an attack. */
			log_warnx("local control message: %s",
			    why ? why : "truncated");
			evbuffer_drain(ps->ps_local, len);
			return;
		}
		peer_deliver(hd, PEER_LOCAL, &m);
		evbuffer_drain(ps->ps_local, used);
	}
}

/* One decoded frame.  Returns -1 if the connection was closed. */
static int
conn_dispatch(struct ctl_conn *c, const struct ctl_msg *m)
{
	struct hd	*hd = c->cc_set->ps_hd;
	struct peer	*p;

	if (m->m_type == CTL_HELLO)
		return conn_on_hello(c, &m->m_u.hello);
	if (c->cc_state != CONN_UP) {
		conn_close(c, "frame before authentication", 1);
		return -1;
	}
	p = &c->cc_set->ps_peers[c->cc_peer];
	if (m->m_type == CTL_LOAD) {
		p->p_load_flows = m->m_u.load.ld_flows;
		p->p_load_capacity = m->m_u.load.ld_capacity;
	} else
		peer_deliver(hd, c->cc_peer, m);
	return 0;
}

/* Bytes from a peer: decode and dispatch every whole frame. */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 frame_max, len, used, want;
	uint8_t		 hdr[CTL_HDR_LEN];
	struct ctl_msg	 m;
	const char	*why;
	int		 rc;

	if (c->cc_state != CONN_HELLO && c->cc_state != CONN_UP)
		return;
	c->cc_last_rx = port_real_ms();
	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		/* Until the peer's HELLO, nothing larger is waited for; the
		 * frames after it may come in the same read (what waited
		 * for this node, sent as soon as its HELLO arrived there). */
		frame_max = c->cc_state == CONN_UP ?
		    (size_t)c->cc_set->ps_hd->hd_cfg->cfg_control.cc_frame_max :
		    CTL_HELLO_MAX;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		/* Let the codec judge the header before pulling a frame up. */
		rc = ctl_decode(hdr, sizeof(hdr), frame_max, &m, &used, &why);
		if (rc == -1 && why != NULL &&
		    strcmp(why, "malformed frame payload") != 0) {
			c->cc_set->ps_hd->hd_stats.st_ctl_bad_frames++;
			conn_close(c, why, 1);
			return;
		}
		want = CTL_HDR_LEN + pkt_get32(hdr + 4);
		if (len < want)
			return;
		rc = ctl_decode(evbuffer_pullup(in, want), want, frame_max, &m,
		    &used, &why);
		if (rc != 1) {
			c->cc_set->ps_hd->hd_stats.st_ctl_bad_frames++;
			conn_close(c, why ? why : "truncated frame", 1);
			return;
		}
		if (conn_dispatch(c, &m) == -1)
			return;
		evbuffer_drain(in, used);
	}
}

/* The socket's or OpenSSL's last word on a connection, for the log. */
static const char *
conn_error(struct ctl_conn *c, unsigned long *sslerr)
{
	unsigned long	 e, first = 0;
	const char	*s;

	/* libevent keeps OpenSSL's errors last first; the first says why. */
	while ((e = bufferevent_get_openssl_error(c->cc_bev)) != 0)
		if (ERR_GET_LIB(e) != 0)
			first = e;
	if (sslerr != NULL)
		*sslerr = first;
	if (first != 0)
		return (s = ERR_reason_error_string(first)) != NULL ? s :
		    "TLS error";
	return evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
}

/*
 * The handshake failed: the peer did not prove the key, or this side would
 * not take it.  Counted, and logged at most once a second per peer (any
 * peer, when the connection named none).
 */
static void
conn_auth_failed(struct ctl_conn *c, const char *why, unsigned long sslerr)
{
	struct peer_set	*ps = c->cc_set;
	int		 idx = c->cc_outgoing ? c->cc_peer : c->cc_link.pl_peer;
	const char	*hint = "";

	ps->ps_hd->hd_stats.st_ctl_auth_failed++;
	if (ERR_GET_REASON(sslerr) == SSL_R_BINDER_DOES_NOT_VERIFY)
		hint = " (wrong pre-shared key, or a handshake meant for "
		    "another node)";
	else if (ERR_GET_REASON(sslerr) == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER ||
	    ERR_GET_REASON(sslerr) == SSL_R_TLSV1_ALERT_DECRYPT_ERROR)
		hint = " (wrong pre-shared key, or not the node dialled?)";
	if (idx >= 0)
		log_ratelim(&ps->ps_peers[idx].p_rl, "peer %s (%s): "
		    "authentication failed: %s%s; refused",
		    ps->ps_peers[idx].p_cfg->cp_id, c->cc_addr, why, hint);
	else if (c->cc_link.pl_identity[0] != '\0')
		log_ratelim(&ps->ps_rl_anon, "control %s: authentication "
		    "failed: %s (\"%s\"); refused", c->cc_addr, why,
		    c->cc_link.pl_identity);
	else
		log_ratelim(&ps->ps_rl_anon, "control %s: authentication "
		    "failed: %s; refused", c->cc_addr, why);
	conn_close_flushed(c);
}

/* TLS is up: check what it agreed, and say HELLO. */
static void
conn_on_tls(struct ctl_conn *c)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(c->cc_bev);

	if (ssl == NULL || psk_check(ssl, &c->cc_link) == -1) {
		conn_auth_failed(c, c->cc_link.pl_why ? c->cc_link.pl_why :
		    "no TLS", 0);
		return;
	}
	/* Every node can derive every pair's key from the cluster's: a
	 * peer is who it says only from its own address. */
	if (!c->cc_outgoing && !addr_eq4(&c->cc_set->ps_hd->hd_cfg->cfg_peers[
	    c->cc_link.pl_peer].cp_control.ep_addr, c->cc_src)) {
		conn_auth_failed(c, "the PSK identity names a peer whose "
		    "control address is another", 0);
		return;
	}
	/* A reload may have removed it while its handshake ran. */
	if (!c->cc_outgoing && c->cc_set->ps_hd->hd_cfg->cfg_peers[
	    c->cc_link.pl_peer].cp_retired) {
		conn_auth_failed(c, "the PSK identity names a peer the "
		    "configuration no longer has", 0);
		return;
	}
	c->cc_peer = c->cc_link.pl_peer;
	c->cc_state = CONN_HELLO;
	c->cc_last_rx = port_real_ms();
	conn_send_hello(c);
}

/* Events of the TLS bufferevent. */
static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;
	struct peer_set	*ps = c->cc_set;
	unsigned long	 sslerr;
	const char	*why;

	if (what & BEV_EVENT_CONNECTED) {
		conn_on_tls(c);
		return;
	}
	if (c->cc_state == CONN_TLS) {
		why = conn_error(c, &sslerr);
		if (c->cc_link.pl_why != NULL || sslerr != 0) {
			conn_auth_failed(c, c->cc_link.pl_why ?
			    c->cc_link.pl_why : why, sslerr);
			return;
		}
		/* Closed without a TLS alert. */
		if (c->cc_outgoing)
			log_ratelim(&ps->ps_peers[c->cc_peer].p_rl,
			    "peer %s (%s): closed during the TLS handshake "
			    "(does it take connections from this node's "
			    "address?)", conn_name(c), c->cc_addr);
		else
			log_ratelim(&ps->ps_rl_anon, "control %s: closed "
			    "during the TLS handshake", c->cc_addr);
		conn_close(c, NULL, 0);
		return;
	}
	why = conn_error(c, &sslerr);
	if (sslerr != 0) {
		/* A record that does not authenticate: tampering on the
		 * path, or a replay. */
		ps->ps_hd->hd_stats.st_ctl_bad_frames++;
		conn_close(c, why, 1);
	} else if (what & BEV_EVENT_EOF)
		conn_close(c, "closed by peer", 0);
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, why, 0);
}

/* Events of an outgoing connection's TCP, before TLS. */
static void
conn_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;
	struct peer	*p = &c->cc_set->ps_peers[c->cc_peer];

	if (what & BEV_EVENT_CONNECTED) {
		sock_nodelay(bufferevent_getfd(bev));
		p->p_failures = 0;
		p->p_refused = 0;
		conn_start_tls(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		p->p_refused = EVUTIL_SOCKET_ERROR() == ECONNREFUSED;
		if (p->p_failures++ == 0)
			log_info("peer %s: connect to %s: %s; retrying",
			    conn_name(c), c->cc_addr,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
		conn_close(c, NULL, 0);
	}
}

/* Not authenticated in time: a stalled or hostile peer. */
static void
conn_on_deadline(int fd, short ev, void *arg)
{
	struct ctl_conn	*c = arg;
	struct peer_set	*ps = c->cc_set;
	struct peer	*p;

	if (c->cc_state == CONN_CLOSING) {
		conn_close(c, NULL, 0);
		return;
	}
	ps->ps_hd->hd_stats.st_ctl_handshake_timeout++;
	if (c->cc_outgoing) {
		p = &ps->ps_peers[c->cc_peer];
		p->p_refused = 0;
		if (p->p_failures++ == 0)
			log_info("peer %s (%s): not up after %d ms (%s); "
			    "retrying", conn_name(c), c->cc_addr,
			    ps->ps_hd->hd_cfg->cfg_control.cc_handshake_ms,
			    conn_state_names[c->cc_state]);
	} else
		log_ratelim(&ps->ps_rl_slow, "control %s: not authenticated "
		    "after %d ms (%s); closed", c->cc_addr,
		    ps->ps_hd->hd_cfg->cfg_control.cc_handshake_ms,
		    conn_state_names[c->cc_state]);
	conn_close(c, NULL, 0);
}

/* Puts TLS over the connection's transport.  Returns -1 if it closed. */
static int
conn_start_tls(struct ctl_conn *c)
{
	struct peer_set		*ps = c->cc_set;
	struct bufferevent	*tls;
	SSL			*ssl;

	if ((ssl = psk_ssl(ps->ps_psk, &c->cc_link, !c->cc_outgoing)) ==
	    NULL) {
		log_warnx("control %s: cannot set up TLS", c->cc_addr);
		conn_close(c, NULL, 0);
		return -1;
	}
	/* On failure libevent freed the SSL, and may have freed the
	 * transport: it is left, not freed twice.  Deferred callbacks:
	 * peer_on_flush writes to every connection in one loop, which no
	 * write may close under it. */
	if ((tls = bufferevent_openssl_filter_new(ps->ps_hd->hd_base,
	    c->cc_bev, ssl, c->cc_outgoing ? BUFFEREVENT_SSL_CONNECTING :
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		log_warnx("control %s: cannot set up TLS", c->cc_addr);
		c->cc_bev = NULL;
		conn_close(c, NULL, 0);
		return -1;
	}
	/* A TCP close without close_notify ends the stream; frames are
	 * whole or dropped, so that cuts nothing but the connection. */
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->cc_bev = tls;
	c->cc_state = CONN_TLS;
	bufferevent_setcb(tls, conn_read, NULL, conn_event, c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	return 0;
}

/* A connection over bev, which it owns from now on, even on failure; for
 * a peer we dial (outgoing), or one we accepted (peer -1). */
static struct ctl_conn *
conn_new(struct peer_set *ps, struct bufferevent *bev, int peer, int outgoing,
    int slot, const struct sockaddr_in *sin)
{
	const struct cfg_control *cc = &ps->ps_hd->hd_cfg->cfg_control;
	struct timeval	 tv = { cc->cc_handshake_ms / 1000,
			     (cc->cc_handshake_ms % 1000) * 1000 };
	struct ctl_conn	*c;
	char		 ip[INET_ADDRSTRLEN];

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->cc_stage = evbuffer_new()) == NULL ||
	    (c->cc_deadline = evtimer_new(ps->ps_hd->hd_base,
	    conn_on_deadline, c)) == NULL) {
		if (c != NULL && c->cc_stage != NULL)
			evbuffer_free(c->cc_stage);
		free(c);
		bufferevent_free(bev);
		return NULL;
	}
	c->cc_set = ps;
	c->cc_peer = peer;
	c->cc_link.pl_peer = peer;
	c->cc_state = CONN_CONNECTING;
	c->cc_outgoing = outgoing;
	c->cc_src = sin->sin_addr.s_addr;
	c->cc_last_rx = port_real_ms();
	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(c->cc_addr, sizeof(c->cc_addr), "%s:%u", ip,
	    ntohs(sin->sin_port));
	c->cc_bev = bev;
	bufferevent_setcb(c->cc_bev, NULL, NULL, conn_tcp_event, c);
	evtimer_add(c->cc_deadline, &tv);
	if (!outgoing) {
		c->cc_pending = 1;
		c->cc_slot = slot;
		ps->ps_npending++;
		ps->ps_peers[slot].p_pending++;
	}
	TAILQ_INSERT_TAIL(&ps->ps_conns, c, cc_entry);
	return c;
}

/* Dials the peer again after its backoff, which doubles. */
static void
peer_redial_later(struct peer *p)
{
	const struct cfg_control *cc = &p->p_set->ps_hd->hd_cfg->cfg_control;
	struct timeval	 tv;

	if (peer_retired_idle(p))
		return;
	tv.tv_sec = p->p_backoff_ms / 1000;
	tv.tv_usec = (p->p_backoff_ms % 1000) * 1000;
	evtimer_add(p->p_redial, &tv);
	p->p_backoff_ms *= 2;
	if (p->p_backoff_ms > cc->cc_reconnect_max_ms)
		p->p_backoff_ms = cc->cc_reconnect_max_ms;
}

static void
conn_on_flushed(struct bufferevent *bev, void *arg)
{
	conn_close(arg, NULL, 0);
}

static void
conn_on_flush_event(struct bufferevent *bev, short what, void *arg)
{
	conn_close(arg, NULL, 0);
}

/*
 * Ends a connection whose handshake failed once what its transport holds
 * (OpenSSL's alert, which tells the peer why) has gone out, or after a
 * second.  TLS is over: its transport is driven directly.
 */
static void
conn_close_flushed(struct ctl_conn *c)
{
	struct bufferevent	*u = NULL;
	struct timeval		 tv = { 1, 0 };

	if (c->cc_bev != NULL)
		u = bufferevent_get_underlying(c->cc_bev);
	if (u == NULL || evbuffer_get_length(bufferevent_get_output(u)) == 0) {
		conn_close(c, NULL, 0);
		return;
	}
	c->cc_state = CONN_CLOSING;
	bufferevent_setcb(c->cc_bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->cc_bev, EV_READ | EV_WRITE);
	bufferevent_setwatermark(u, EV_WRITE, 0, 0);
	bufferevent_setcb(u, NULL, conn_on_flushed, conn_on_flush_event, c);
	bufferevent_disable(u, EV_READ);
	bufferevent_enable(u, EV_WRITE);
	evtimer_add(c->cc_deadline, &tv);
}

/* What a connection owns; what it had not sent is lost. */
static void
conn_free(struct ctl_conn *c)
{
	event_free(c->cc_deadline);
	if (c->cc_bev != NULL)
		bufferevent_free(c->cc_bev);
	evbuffer_free(c->cc_stage);
	free(c);
}

/*
 * The one way a connection ends.  why != NULL logs it (as a warning when
 * the peer broke the protocol); the peer is redialled if this was ours,
 * and in-flight handoffs fail over once no connection to it is left.
 */
static void
conn_close(struct ctl_conn *c, const char *why, int protocol_error)
{
	struct peer_set	*ps = c->cc_set;
	struct peer	*p = c->cc_peer >= 0 ? &ps->ps_peers[c->cc_peer] : NULL;
	int		 idx = c->cc_peer, was_up;

	if (why != NULL) {
		if (protocol_error)
			log_warnx("peer %s (%s): %s; connection closed",
			    conn_name(c), c->cc_addr, why);
		else if (c->cc_state == CONN_UP)
			log_info("peer %s (%s): %s", conn_name(c), c->cc_addr,
			    why);
	}
	was_up = p != NULL && peer_is_up(ps->ps_hd, idx);
	TAILQ_REMOVE(&ps->ps_conns, c, cc_entry);
	conn_pending_end(c);
	if (p != NULL && p->p_out == c)
		p->p_out = NULL;
	if (p != NULL && p->p_in == c)
		p->p_in = NULL;
	if (c->cc_outgoing && p != NULL)
		peer_redial_later(p);
	conn_free(c);
	if (was_up && !peer_is_up(ps->ps_hd, idx)) {
		int ms = ps->ps_hd->hd_cfg->cfg_control.cc_dead_ms;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

		log_info("peer %s down", p->p_cfg->cp_id);
		p->p_was_up = 0;
		p->p_down_ms = port_now_ms();
		evtimer_add(p->p_gone, &tv);
		ps->ps_handlers.ph_down(ps->ps_hd, idx);
	}
}

/* Dials a peer: TCP from this node's control address to the peer's, or
 * the node's own transport; TLS over either. */
static void
peer_dial(struct peer_set *ps, int idx)
{
	struct hd		*hd = ps->ps_hd;
	struct peer		*p = &ps->ps_peers[idx];
	struct bufferevent	*bev;
	struct sockaddr_in	 sin;
	int			 fd;

	if (p->p_out != NULL || peer_retired_idle(p))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr_get4(&p->p_cfg->cp_control.ep_addr);
	sin.sin_port = p->p_cfg->cp_control.ep_port;
	if (hd->hd_dial != NULL) {
		if ((bev = hd->hd_dial(hd->hd_dial_arg, hd, idx)) == NULL ||
		    (p->p_out = conn_new(ps, bev, idx, 1, -1, &sin)) == NULL) {
			log_ratelim(&p->p_rl, "peer %s: cannot set up a "
			    "connection", p->p_cfg->cp_id);
			peer_redial_later(p);
			return;
		}
		conn_start_tls(p->p_out);
		return;
	}
	if ((fd = sock_dialer(addr_get4(
	    &hd->hd_cfg->cfg_node.cn_control.ep_addr))) == -1) {
		log_ratelim(&p->p_rl, "peer %s: cannot dial from this node's "
		    "control address: %s", p->p_cfg->cp_id, strerror(errno));
		peer_redial_later(p);
		return;
	}
	if ((bev = bufferevent_socket_new(hd->hd_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		log_warnx("peer %s: cannot set up a connection",
		    p->p_cfg->cp_id);
		peer_redial_later(p);
		return;
	}
	if ((p->p_out = conn_new(ps, bev, idx, 1, -1, &sin)) == NULL) {
		log_warnx("peer %s: cannot set up a connection",
		    p->p_cfg->cp_id);
		peer_redial_later(p);
		return;
	}
	if (bufferevent_socket_connect(p->p_out->cc_bev,
	    (struct sockaddr *)&sin, sizeof(sin)) == -1)
		conn_close(p->p_out, NULL, 0);
}

static void
peer_on_redial(int fd, short ev, void *arg)
{
	struct peer	*p = arg;

	peer_dial(p->p_set, p->p_idx);
}

/*
 * Whether a connection from sin may start: only from a configured peer's
 * address.  Within the caps on unauthenticated connections, a new one
 * closes the oldest from its own address when that has
 * handshake_max_per_address, else, at handshake_max, the oldest from the
 * address that has the most: a flood from some addresses cannot lock out
 * the others, nor hold every place a peer dialling from its own needs.
 * Returns the slot that counts it (the first peer at that address), or -1
 * if it is refused; refusals and evictions are counted and logged (at
 * most once a second).
 */
static int
peer_admit(struct peer_set *ps, const struct sockaddr_in *sin)
{
	const struct cfg_control *cc = &ps->ps_hd->hd_cfg->cfg_control;
	struct hd_stats	*st = &ps->ps_hd->hd_stats;
	struct ctl_conn	*c;
	char		 ip[INET_ADDRSTRLEN];
	const char	*cap;
	int		 i, slot, from;

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	for (slot = 0; slot < ps->ps_npeers; slot++)
		if (!ps->ps_peers[slot].p_cfg->cp_retired &&
		    addr_eq4(&ps->ps_peers[slot].p_cfg->cp_control.ep_addr,
		    sin->sin_addr.s_addr))
			break;
	if (slot == ps->ps_npeers) {
		st->st_ctl_refused_addr++;
		log_ratelim(&ps->ps_rl_addr, "control: connection from %s "
		    "refused: not a configured peer's address", ip);
		return -1;
	}
	if (ps->ps_peers[slot].p_pending >= cc->cc_handshake_per_addr) {
		from = slot;
		cap = "handshake_max_per_address";
	} else if (ps->ps_npending >= cc->cc_handshake_max) {
		for (from = 0, i = 1; i < ps->ps_npeers; i++)
			if (ps->ps_peers[i].p_pending >
			    ps->ps_peers[from].p_pending)
				from = i;
		cap = "handshake_max";
	} else
		return slot;
	/* The list is in the order connections came. */
	TAILQ_FOREACH(c, &ps->ps_conns, cc_entry)
		if (c->cc_pending && c->cc_slot == from)
			break;
	st->st_ctl_refused_busy++;
	if (c == NULL) {
		log_ratelim(&ps->ps_rl_busy, "control: connection from %s "
		    "refused: %d not authenticated yet (%s)", ip,
		    ps->ps_npending, cap);
		return -1;
	}
	log_ratelim(&ps->ps_rl_busy, "control: %d connections not "
	    "authenticated yet (%s): %s closed for one from %s",
	    ps->ps_npending, cap, c->cc_addr, ip);
	conn_close(c, NULL, 0);
	return slot;
}

/* A connection admitted: TLS as a server, on a deadline. */
static void
peer_accept(struct peer_set *ps, struct bufferevent *bev, int slot,
    const struct sockaddr_in *sin)
{
	struct ctl_conn	*c;

	if ((c = conn_new(ps, bev, -1, 0, slot, sin)) != NULL)
		conn_start_tls(c);
}

/* The listener's: not a byte is read from a connection it refuses. */
static void
peer_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct peer_set		*ps = arg;
	struct bufferevent	*bev;
	struct timeval		 now = { 0, 0 };
	int			 slot;

	if (++ps->ps_accepted >= PEER_ACCEPT_BURST) {
		evconnlistener_disable(l);
		evtimer_add(ps->ps_accept_yield, &now);
	}
	if (sa->sa_family != AF_INET ||
	    (slot = peer_admit(ps, (struct sockaddr_in *)sa)) == -1) {
		evutil_closesocket(fd);
		return;
	}
	sock_nodelay(fd);
	if ((bev = bufferevent_socket_new(ps->ps_hd->hd_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	peer_accept(ps, bev, slot, (struct sockaddr_in *)sa);
}

/* A connection a peer opened, over any transport; takes bev. */
void
peer_accept_bev(struct hd *hd, struct bufferevent *bev,
    const struct sockaddr_in *sin)
{
	int	 slot;

	if ((slot = peer_admit(hd->hd_peers, sin)) == -1) {
		bufferevent_free(bev);
		return;
	}
	peer_accept(hd->hd_peers, bev, slot, sin);
}

static void
peer_on_accept_retry(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;

	evconnlistener_enable(ps->ps_listener);
}

/* The loop had its turn: listen again, unless out of descriptors. */
static void
peer_on_accept_yield(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;

	ps->ps_accepted = 0;
	if (!evtimer_pending(ps->ps_accept_retry, NULL))
		evconnlistener_enable(ps->ps_listener);
}

/* Out of descriptors: stop accepting for a second instead of spinning. */
static void
peer_on_accept_error(struct evconnlistener *l, void *arg)
{
	struct peer_set	*ps = arg;
	struct timeval	 tv = { 1, 0 };

	log_warn("control: accept");
	evconnlistener_disable(l);
	evtimer_add(ps->ps_accept_retry, &tv);
}

/* A peer a reload removed, with a connection still: closed once no flow
 * needs it.  Nothing is redialled, and its down and gone timers stay
 * idle, as nothing is left to be told. */
static void
peer_reap_retired(struct peer_set *ps)
{
	struct peer	*p;
	int		 i;

	for (i = 0; i < ps->ps_npeers; i++) {
		p = &ps->ps_peers[i];
		if (!p->p_cfg->cp_retired || (p->p_out == NULL &&
		    p->p_in == NULL) || (ps->ps_handlers.ph_holds != NULL &&
		    ps->ps_handlers.ph_holds(ps->ps_hd, i)))
			continue;
		log_info("peer %s: removed from the configuration and no "
		    "longer needed: its connections closed", p->p_cfg->cp_id);
		if (p->p_out != NULL)
			conn_close(p->p_out, NULL, 0);
		if (p->p_in != NULL)
			conn_close(p->p_in, NULL, 0);
		evtimer_del(p->p_gone);
		evtimer_del(p->p_redial);
		peer_later_drop(p);
	}
}

/* Every heartbeat: LOAD on each authenticated connection, the end of any
 * connection that has been silent too long, and of retired peers'. */
static void
peer_on_heartbeat(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;
	struct hd	*hd = ps->ps_hd;
	struct ctl_conn	*c, *next;
	struct ctl_msg	 m;
	uint32_t	 now = port_real_ms();
	size_t		 out_max;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_LOAD;
	/* What this node serves, not what it forwards as a front-end. */
	m.m_u.load.ld_flows = hd->hd_served;
	m.m_u.load.ld_capacity = flow_capacity(hd->hd_flows);
	out_max = (size_t)hd->hd_cfg->cfg_control.cc_frame_max *
	    PEER_OUT_MAX_FRAMES;
	for (c = TAILQ_FIRST(&ps->ps_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, cc_entry);
		/* The others have their handshake deadline. */
		if (c->cc_state != CONN_UP)
			continue;
		if ((int32_t)(now - c->cc_last_rx) >
		    hd->hd_cfg->cfg_control.cc_dead_ms) {
			conn_close(c, "no heartbeat; presumed dead", 0);
			continue;
		}
		if (conn_queued(c) > out_max) {
			conn_close(c, "not reading its control connection",
			    1);
			continue;
		}
		conn_send(c, &m);
	}
	peer_reap_retired(ps);
}

/* Listens on node.control, unless the caller provides the transport. */
static int
peer_listen(struct peer_set *ps)
{
	const struct cfg	*cfg = ps->ps_hd->hd_cfg;
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr_get4(&cfg->cfg_node.cn_control.ep_addr);
	sin.sin_port = cfg->cfg_node.cn_control.ep_port;
	ps->ps_listener = evconnlistener_new_bind(ps->ps_hd->hd_base,
	    peer_on_accept, ps, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, 64, (struct sockaddr *)&sin, sizeof(sin));
	if (ps->ps_listener == NULL) {
		log_warn("control: listen on %s:%u",
		    inet_ntoa(sin.sin_addr), ntohs(sin.sin_port));
		return -1;
	}
	evconnlistener_set_error_cb(ps->ps_listener, peer_on_accept_error);
	return 0;
}

int
peer_init(struct hd *hd, const struct peer_handlers *ph)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct peer_set		*ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return -1;
	hd->hd_peers = ps;
	ps->ps_hd = hd;
	ps->ps_handlers = *ph;
	TAILQ_INIT(&ps->ps_conns);
	/* The last process's, when its flows live on (node.state_file). */
	ps->ps_boot = hd->hd_boot;
	if (ps->ps_boot == 0 && RAND_bytes((unsigned char *)&ps->ps_boot,
	    sizeof(ps->ps_boot)) != 1)
		fatalx("cannot get random bytes for the boot id");
	ps->ps_boot |= 1;	/* never 0, which means "none yet" */
	if ((ps->ps_psk = psk_new(cfg)) == NULL) {
		const char *e = ERR_reason_error_string(ERR_get_error());

		log_warnx("control: cannot set up TLS: %s", e ? e : "?");
		return -1;
	}
	if (hd->hd_dial == NULL && peer_listen(ps) == -1)
		return -1;
	ps->ps_accept_yield = evtimer_new(hd->hd_base, peer_on_accept_yield,
	    ps);
	ps->ps_accept_retry = evtimer_new(hd->hd_base, peer_on_accept_retry,
	    ps);
	ps->ps_local = evbuffer_new();
	ps->ps_local_ev = event_new(hd->hd_base, -1, 0, peer_on_local, ps);
	ps->ps_flush_ev = event_new(hd->hd_base, -1, 0, peer_on_flush, ps);
	if (ps->ps_local == NULL || ps->ps_local_ev == NULL ||
	    ps->ps_flush_ev == NULL)
		return -1;
	ps->ps_heartbeat = event_new(hd->hd_base, -1, EV_PERSIST,
	    peer_on_heartbeat, ps);
	if (ps->ps_heartbeat == NULL || ps->ps_accept_retry == NULL ||
	    ps->ps_accept_yield == NULL || peer_reload(hd) == -1)
		return -1;
	/* With flows kept across a restart, a peer that never comes back is
	 * gone after dead_after, as if it had been up. */
	if (hd->hd_peer_boot != NULL) {
		struct timeval	 tv;
		int		 i;

		tv.tv_sec = cfg->cfg_control.cc_dead_ms / 1000;
		tv.tv_usec = (cfg->cfg_control.cc_dead_ms % 1000) * 1000;
		for (i = 0; i < ps->ps_npeers; i++)
			evtimer_add(ps->ps_peers[i].p_gone, &tv);
	}
	return 0;
}

/* A place for peer i, the first time the configuration names it. */
static int
peer_add(struct peer_set *ps, int i)
{
	struct peer	*p = &ps->ps_peers[i];
	struct hd	*hd = ps->ps_hd;

	p->p_set = ps;
	p->p_idx = i;
	p->p_backoff_ms = hd->hd_cfg->cfg_control.cc_reconnect_min_ms;
	p->p_down_ms = port_now_ms();
	p->p_redial = evtimer_new(hd->hd_base, peer_on_redial, p);
	p->p_gone = evtimer_new(hd->hd_base, peer_on_gone, p);
	p->p_later = evbuffer_new();
	if (p->p_redial == NULL || p->p_gone == NULL || p->p_later == NULL)
		return -1;
	/* Flows kept across a restart (node.state_file) know the peer's
	 * process: a different one has forgotten them. */
	if (hd->hd_peer_boot != NULL)
		p->p_boot = hd->hd_peer_boot[i];
	ps->ps_npeers = i + 1;
	return 0;
}

/*
 * Takes the node's configuration as it now is (at start, and after a
 * reload whose cfg_keep_peers() kept every peer's place): new peers are
 * dialled, a peer whose control address changed is dialled there, and a
 * retired one is left to peer_reap_retired().
 */
int
peer_reload(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct peer_set		*ps = hd->hd_peers;
	const struct cfg_peer	*old[CFG_MAX_PEERS];
	struct ctl_conn		*c, *next;
	struct timeval		 tv;
	int			 i, moved, rc = 0;

	/* First, nothing left pointing into the old configuration. */
	psk_set_cfg(ps->ps_psk, cfg);
	for (i = 0; i < cfg->cfg_npeers; i++) {
		old[i] = ps->ps_peers[i].p_cfg;
		ps->ps_peers[i].p_cfg = &cfg->cfg_peers[i];
	}
	/* A retired peer's connections not up yet go: it would be up
	 * as what it no longer is. */
	for (c = TAILQ_FIRST(&ps->ps_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, cc_entry);
		if (c->cc_peer >= 0 && c->cc_state != CONN_UP &&
		    cfg->cfg_peers[c->cc_peer].cp_retired)
			conn_close(c, NULL, 0);
	}
	for (i = 0; i < cfg->cfg_npeers; i++) {
		struct peer *p = &ps->ps_peers[i];

		if (i >= ps->ps_npeers && peer_add(ps, i) == -1) {
			rc = -1;
			break;
		}
		if (p->p_cfg->cp_retired)
			continue;
		moved = old[i] != NULL && (!addr_eq(&old[i]->cp_control.ep_addr,
		    &p->p_cfg->cp_control.ep_addr) ||
		    old[i]->cp_control.ep_port != p->p_cfg->cp_control.ep_port);
		/* The connection it dialled keeps it up meanwhile: what
		 * is under way with it goes on. */
		if (moved) {
			log_info("peer %s: control address changed",
			    p->p_cfg->cp_id);
			if (p->p_out != NULL)
				conn_close(p->p_out, NULL, 0);
		}
		/* Named again: it may take a moment to come up, as a new
		 * one (peer_coming). */
		if (old[i] != NULL && old[i]->cp_retired &&
		    !peer_is_up(ps->ps_hd, i))
			p->p_down_ms = port_now_ms();
		if (moved || old[i] == NULL || old[i]->cp_retired ||
		    !evtimer_pending(p->p_redial, NULL)) {
			evtimer_del(p->p_redial);
			p->p_backoff_ms = cfg->cfg_control.cc_reconnect_min_ms;
			peer_dial(ps, i);
		}
	}
	/* Re-adding would restart its period: reloads in a row would
	 * starve the peers of heartbeats. */
	if (ps->ps_heartbeat_ms != cfg->cfg_control.cc_heartbeat_ms) {
		ps->ps_heartbeat_ms = cfg->cfg_control.cc_heartbeat_ms;
		tv.tv_sec = ps->ps_heartbeat_ms / 1000;
		tv.tv_usec = (ps->ps_heartbeat_ms % 1000) * 1000;
		if (event_add(ps->ps_heartbeat, &tv) == -1)
			rc = -1;
	}
	return rc;
}

void
peer_shutdown(struct hd *hd)
{
	struct peer_set	*ps = hd->hd_peers;
	struct ctl_conn	*c;
	int		 i;

	if (ps == NULL)
		return;
	while ((c = TAILQ_FIRST(&ps->ps_conns)) != NULL) {
		TAILQ_REMOVE(&ps->ps_conns, c, cc_entry);
		conn_free(c);
	}
	for (i = 0; i < ps->ps_npeers; i++) {
		if (ps->ps_peers[i].p_redial != NULL)
			event_free(ps->ps_peers[i].p_redial);
		if (ps->ps_peers[i].p_gone != NULL)
			event_free(ps->ps_peers[i].p_gone);
		if (ps->ps_peers[i].p_later != NULL)
			evbuffer_free(ps->ps_peers[i].p_later);
	}
	if (ps->ps_heartbeat != NULL)
		event_free(ps->ps_heartbeat);
	if (ps->ps_accept_retry != NULL)
		event_free(ps->ps_accept_retry);
	if (ps->ps_accept_yield != NULL)
		event_free(ps->ps_accept_yield);
	if (ps->ps_listener != NULL)
		evconnlistener_free(ps->ps_listener);
	if (ps->ps_local_ev != NULL)
		event_free(ps->ps_local_ev);
	if (ps->ps_flush_ev != NULL)
		event_free(ps->ps_flush_ev);
	if (ps->ps_local != NULL)
		evbuffer_free(ps->ps_local);
	psk_free(ps->ps_psk);
	free(ps);
	hd->hd_peers = NULL;
}

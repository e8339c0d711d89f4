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
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "sock.h"
#include "lwip-port/port.h"
#include "handoff/ctl.h"
#include "handoff/peer.h"

#define PEER_AUTH_LABEL		"handoffd-auth-v1"
/* A peer that lets this much pile up unread is not keeping up. */
#define PEER_OUT_MAX_FRAMES	64

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 cc_entry;
	struct peer_set		*cc_set;
	struct bufferevent	*cc_bev;
	int			 cc_peer;	/* -1 until the HELLO names it */
	unsigned int		 cc_outgoing:1;
	unsigned int		 cc_connected:1;
	unsigned int		 cc_got_hello:1;
	unsigned int		 cc_verified:1;	/* the peer proved the key */
	uint8_t			 cc_nonce[CTL_NONCE_LEN];
	uint8_t			 cc_peer_nonce[CTL_NONCE_LEN];
	uint32_t		 cc_last_rx;
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
	uint32_t		 p_load_flows;
	uint32_t		 p_load_capacity;
};

struct peer_set {
	struct hd		*ps_hd;
	struct peer_handlers	 ps_handlers;
	struct peer		 ps_peers[CFG_MAX_PEERS];
	int			 ps_npeers;
	struct evconnlistener	*ps_listener;
	struct event		*ps_heartbeat;
	struct event		*ps_accept_retry;
	TAILQ_HEAD(, ctl_conn)	 ps_conns;
	struct evbuffer		*ps_local;	/* frames to this node */
	struct event		*ps_local_ev;
};

static void	peer_dial(struct peer_set *, int);
static void	conn_close(struct ctl_conn *, const char *, int);
static void	conn_on_connected(struct ctl_conn *);
static void	peer_redial_later(struct peer *);

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
	return c != NULL && c->cc_verified;
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
	return hd->hd_peers->ps_peers[idx].p_cfg->cp_id;
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
	if (bufferevent_write(c->cc_bev, buf, len) == -1)
		log_warnx("peer %s: cannot queue %zu bytes", conn_name(c), len);
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

int
peer_send(struct hd *hd, int idx, const struct ctl_msg *m)
{
	struct ctl_conn	*c;
	uint8_t		 buf[256];
	size_t		 len;

	if (idx == PEER_LOCAL) {
		if ((len = ctl_encode(buf, sizeof(buf), m)) == 0)
			return -1;
		return peer_local_write(hd, buf, len);
	}
	if ((c = peer_conn(hd, idx)) == NULL)
		return -1;
	return conn_send(c, m);
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
	if (CTL_HDR_LEN + CTL_HANDOFF_FIXED + (size_t)ho->ho_datalen >
	    (size_t)hd->hd_cfg->cfg_control.cc_frame_max) {
		log_warnx("peer %s: a HANDOFF of %u bytes exceeds frame_max",
		    peer_id(hd, idx), ho->ho_datalen);
		return -1;
	}
	if ((len = ctl_encode_handoff_head(head, sizeof(head), ho)) == 0)
		return -1;
	if (idx == PEER_LOCAL)
		return peer_local_write(hd, head, len) == -1 ||
		    (ho->ho_datalen &&
		    peer_local_write(hd, data, ho->ho_datalen) == -1) ? -1 : 0;
	conn_write(c, head, len);
	if (ho->ho_datalen)
		conn_write(c, data, ho->ho_datalen);
	return 0;
}

/* HMAC(key, label | receiver's nonce | sender's nonce | sender | receiver):
 * both nonces bind it to this connection, the ids to its direction. */
static void
peer_mac(const struct cfg *cfg, const uint8_t *rnonce, const uint8_t *snonce,
    const char *sender, const char *receiver, uint8_t *mac)
{
	uint8_t		 msg[sizeof(PEER_AUTH_LABEL) + 2 * CTL_NONCE_LEN +
			     2 * (CTL_ID_MAX + 1)];
	size_t		 n = 0, l;
	unsigned int	 maclen = CTL_MAC_LEN;

	memcpy(msg, PEER_AUTH_LABEL, sizeof(PEER_AUTH_LABEL));
	n += sizeof(PEER_AUTH_LABEL);
	memcpy(msg + n, rnonce, CTL_NONCE_LEN);
	n += CTL_NONCE_LEN;
	memcpy(msg + n, snonce, CTL_NONCE_LEN);
	n += CTL_NONCE_LEN;
	l = strlen(sender) + 1;
	memcpy(msg + n, sender, l);
	n += l;
	l = strlen(receiver) + 1;
	memcpy(msg + n, receiver, l);
	n += l;
	if (HMAC(EVP_sha256(), cfg->cfg_control.cc_key,
	    (int)cfg->cfg_control.cc_keylen, msg, n, mac, &maclen) == NULL ||
	    maclen != CTL_MAC_LEN)
		fatalx("HMAC failed");
}

static void
conn_send_hello(struct ctl_conn *c)
{
	struct ctl_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_HELLO;
	snprintf(m.m_u.hello.h_id, sizeof(m.m_u.hello.h_id), "%s",
	    c->cc_set->ps_hd->hd_cfg->cfg_node.cn_id);
	memcpy(m.m_u.hello.h_nonce, c->cc_nonce, CTL_NONCE_LEN);
	conn_send(c, &m);
}

static int
conn_on_hello(struct ctl_conn *c, const struct ctl_hello *h)
{
	struct peer_set	*ps = c->cc_set;
	const struct cfg *cfg = ps->ps_hd->hd_cfg;
	struct ctl_msg	 m;
	int		 idx;

	if (c->cc_got_hello) {
		conn_close(c, "second HELLO", 1);
		return -1;
	}
	idx = cfg_peer_by_id(cfg, h->h_id);
	if (idx < 0 || (c->cc_outgoing && idx != c->cc_peer)) {
		log_warnx("control %s: HELLO from \"%s\", not %s", c->cc_addr,
		    h->h_id, c->cc_outgoing ? "the peer dialled" :
		    "a configured peer");
		conn_close(c, NULL, 0);
		return -1;
	}
	c->cc_peer = idx;
	c->cc_got_hello = 1;
	memcpy(c->cc_peer_nonce, h->h_nonce, CTL_NONCE_LEN);
	memset(&m, 0, sizeof(m));
	m.m_type = CTL_AUTH;
	peer_mac(cfg, c->cc_peer_nonce, c->cc_nonce, cfg->cfg_node.cn_id,
	    h->h_id, m.m_u.mac);
	return conn_send(c, &m);
}

static int
conn_on_auth(struct ctl_conn *c, const uint8_t *mac)
{
	struct peer_set	*ps = c->cc_set;
	struct hd	*hd = ps->ps_hd;
	struct peer	*p;
	uint8_t		 want[CTL_MAC_LEN];

	if (!c->cc_got_hello || c->cc_verified) {
		conn_close(c, "AUTH out of order", 1);
		return -1;
	}
	p = &ps->ps_peers[c->cc_peer];
	peer_mac(hd->hd_cfg, c->cc_nonce, c->cc_peer_nonce, p->p_cfg->cp_id,
	    hd->hd_cfg->cfg_node.cn_id, want);
	if (CRYPTO_memcmp(want, mac, CTL_MAC_LEN) != 0) {
		hd->hd_stats.st_ctl_auth_failed++;
		log_warnx("peer %s (%s): authentication failed "
		    "(wrong pre-shared key?); refused", p->p_cfg->cp_id,
		    c->cc_addr);
		conn_close(c, NULL, 0);
		return -1;
	}
	c->cc_verified = 1;
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
	if (!p->p_was_up)
		log_info("peer %s up (%s)", p->p_cfg->cp_id, c->cc_addr);
	p->p_was_up = 1;
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
	if (m->m_type == CTL_AUTH)
		return conn_on_auth(c, m->m_u.mac);
	if (!c->cc_verified) {
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

	frame_max = c->cc_set->ps_hd->hd_cfg->cfg_control.cc_frame_max;
	c->cc_last_rx = port_now_ms();
	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
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

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		sock_nodelay(bufferevent_getfd(bev));
		c->cc_set->ps_peers[c->cc_peer].p_failures = 0;
		conn_on_connected(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		conn_close(c, "closed by peer", 0);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (!c->cc_connected) {
			struct peer *p = &c->cc_set->ps_peers[c->cc_peer];

			if (p->p_failures++ == 0)
				log_info("peer %s: connect to %s: %s; "
				    "retrying", conn_name(c), c->cc_addr,
				    evutil_socket_error_to_string(
				    EVUTIL_SOCKET_ERROR()));
			conn_close(c, NULL, 0);
		} else
			conn_close(c, evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()), 0);
	}
}

/* A connection over bev, which it owns from now on, even on failure. */
static struct ctl_conn *
conn_new(struct peer_set *ps, struct bufferevent *bev, int peer, int outgoing,
    const struct sockaddr_in *sin)
{
	struct ctl_conn	*c;
	char		 ip[INET_ADDRSTRLEN];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	c->cc_set = ps;
	c->cc_peer = peer;
	c->cc_outgoing = outgoing;
	c->cc_last_rx = port_now_ms();
	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(c->cc_addr, sizeof(c->cc_addr), "%s:%u", ip,
	    ntohs(sin->sin_port));
	if (RAND_bytes(c->cc_nonce, sizeof(c->cc_nonce)) != 1)
		fatalx("cannot get random bytes for a nonce");
	c->cc_bev = bev;
	bufferevent_setcb(c->cc_bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->cc_bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ps->ps_conns, c, cc_entry);
	return c;
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
		else if (c->cc_verified)
			log_info("peer %s (%s): %s", conn_name(c), c->cc_addr,
			    why);
	}
	was_up = p != NULL && peer_is_up(ps->ps_hd, idx);
	TAILQ_REMOVE(&ps->ps_conns, c, cc_entry);
	if (p != NULL && p->p_out == c)
		p->p_out = NULL;
	if (p != NULL && p->p_in == c)
		p->p_in = NULL;
	bufferevent_free(c->cc_bev);
	if (c->cc_outgoing && p != NULL)
		peer_redial_later(p);
	free(c);
	if (was_up && !peer_is_up(ps->ps_hd, idx)) {
		log_info("peer %s down", p->p_cfg->cp_id);
		p->p_was_up = 0;
		ps->ps_handlers.ph_down(ps->ps_hd, idx);
	}
}

/* Dials the peer again after a backoff that doubles up to its bound. */
static void
peer_redial_later(struct peer *p)
{
	const struct cfg_control *cc = &p->p_set->ps_hd->hd_cfg->cfg_control;
	struct timeval		 tv;

	tv.tv_sec = p->p_backoff_ms / 1000;
	tv.tv_usec = (p->p_backoff_ms % 1000) * 1000;
	evtimer_add(p->p_redial, &tv);
	p->p_backoff_ms *= 2;
	if (p->p_backoff_ms > cc->cc_reconnect_max_ms)
		p->p_backoff_ms = cc->cc_reconnect_max_ms;
}

/* A connection's first words: a peer's transport is up. */
static void
conn_on_connected(struct ctl_conn *c)
{
	c->cc_connected = 1;
	c->cc_last_rx = port_now_ms();
	conn_send_hello(c);
}

/* Dials a peer: TCP to its control address, or the node's own dialer. */
static void
peer_dial(struct peer_set *ps, int idx)
{
	struct hd		*hd = ps->ps_hd;
	struct peer		*p = &ps->ps_peers[idx];
	struct bufferevent	*bev;
	struct sockaddr_in	 sin;

	if (p->p_out != NULL)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = p->p_cfg->cp_control.ep_addr;
	sin.sin_port = p->p_cfg->cp_control.ep_port;
	if (hd->hd_dial != NULL)
		bev = hd->hd_dial(hd->hd_dial_arg, hd, idx);
	else
		bev = bufferevent_socket_new(hd->hd_base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL || (p->p_out = conn_new(ps, bev, idx, 1, &sin)) ==
	    NULL) {
		log_warnx("peer %s: cannot set up a connection",
		    p->p_cfg->cp_id);
		peer_redial_later(p);
		return;
	}
	if (hd->hd_dial != NULL)
		conn_on_connected(p->p_out);
	else if (bufferevent_socket_connect(p->p_out->cc_bev,
	    (struct sockaddr *)&sin, sizeof(sin)) == -1)
		conn_close(p->p_out, NULL, 0);
}

static void
peer_on_redial(int fd, short ev, void *arg)
{
	struct peer	*p = arg;

	peer_dial(p->p_set, p->p_idx);
}

static void
peer_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct peer_set		*ps = arg;
	struct bufferevent	*bev;

	if (sa->sa_family != AF_INET) {
		evutil_closesocket(fd);
		return;
	}
	sock_nodelay(fd);
	if ((bev = bufferevent_socket_new(ps->ps_hd->hd_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	peer_accept_bev(ps->ps_hd, bev, (struct sockaddr_in *)sa);
}

/* A connection a peer opened, over any transport; takes bev. */
void
peer_accept_bev(struct hd *hd, struct bufferevent *bev,
    const struct sockaddr_in *sin)
{
	struct ctl_conn	*c;

	if ((c = conn_new(hd->hd_peers, bev, -1, 0, sin)) != NULL)
		conn_on_connected(c);
}

static void
peer_on_accept_retry(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;

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

/* Every heartbeat: LOAD on each authenticated connection, and the end of
 * any connection that has been silent too long. */
static void
peer_on_heartbeat(int fd, short ev, void *arg)
{
	struct peer_set	*ps = arg;
	struct hd	*hd = ps->ps_hd;
	struct ctl_conn	*c, *next;
	struct ctl_msg	 m;
	uint32_t	 now = port_now_ms();
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
		if (!c->cc_connected)
			continue;
		if ((int32_t)(now - c->cc_last_rx) >
		    hd->hd_cfg->cfg_control.cc_dead_ms) {
			conn_close(c, "no heartbeat; presumed dead", 0);
			continue;
		}
		if (evbuffer_get_length(bufferevent_get_output(c->cc_bev)) >
		    out_max) {
			conn_close(c, "not reading its control connection",
			    1);
			continue;
		}
		if (c->cc_verified)
			conn_send(c, &m);
	}
}

/* Listens on node.control, unless the caller provides the transport. */
static int
peer_listen(struct peer_set *ps)
{
	const struct cfg	*cfg = ps->ps_hd->hd_cfg;
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = cfg->cfg_node.cn_control.ep_addr;
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
	struct timeval		 tv;
	int			 i;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return -1;
	hd->hd_peers = ps;
	ps->ps_hd = hd;
	ps->ps_handlers = *ph;
	TAILQ_INIT(&ps->ps_conns);
	if (hd->hd_dial == NULL && peer_listen(ps) == -1)
		return -1;
	ps->ps_accept_retry = evtimer_new(hd->hd_base, peer_on_accept_retry,
	    ps);
	ps->ps_local = evbuffer_new();
	ps->ps_local_ev = event_new(hd->hd_base, -1, 0, peer_on_local, ps);
	if (ps->ps_local == NULL || ps->ps_local_ev == NULL)
		return -1;
	ps->ps_npeers = cfg->cfg_npeers;
	for (i = 0; i < ps->ps_npeers; i++) {
		struct peer *p = &ps->ps_peers[i];

		p->p_set = ps;
		p->p_idx = i;
		p->p_cfg = &cfg->cfg_peers[i];
		p->p_backoff_ms = cfg->cfg_control.cc_reconnect_min_ms;
		p->p_redial = evtimer_new(hd->hd_base, peer_on_redial, p);
		if (p->p_redial == NULL)
			return -1;
		peer_dial(ps, i);
	}
	tv.tv_sec = cfg->cfg_control.cc_heartbeat_ms / 1000;
	tv.tv_usec = (cfg->cfg_control.cc_heartbeat_ms % 1000) * 1000;
	ps->ps_heartbeat = event_new(hd->hd_base, -1, EV_PERSIST,
	    peer_on_heartbeat, ps);
	if (ps->ps_heartbeat == NULL || ps->ps_accept_retry == NULL ||
	    event_add(ps->ps_heartbeat, &tv) == -1)
		return -1;
	return 0;
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
		bufferevent_free(c->cc_bev);
		free(c);
	}
	for (i = 0; i < ps->ps_npeers; i++)
		if (ps->ps_peers[i].p_redial != NULL)
			event_free(ps->ps_peers[i].p_redial);
	if (ps->ps_heartbeat != NULL)
		event_free(ps->ps_heartbeat);
	if (ps->ps_accept_retry != NULL)
		event_free(ps->ps_accept_retry);
	if (ps->ps_listener != NULL)
		evconnlistener_free(ps->ps_listener);
	if (ps->ps_local_ev != NULL)
		event_free(ps->ps_local_ev);
	if (ps->ps_local != NULL)
		evbuffer_free(ps->ps_local);
	free(ps);
	hd->hd_peers = NULL;
}

/* The lwIP <-> server socket relay; see relay.h. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "sock.h"
#include "handoff/pp.h"
#include "handoff/relay.h"

/* Bytes held for the server before lwIP's window stops opening; room in
 * lwIP's send buffer that reading the server again waits for; and bytes
 * handed to lwIP in one tcp_write (its length is a u16_t). */
#define RELAY_HIGH	(256 * 1024)
#define RELAY_WAKE	(64 * 1024)
#define RELAY_CHUNK	(16 * 1024)
/* What a relay may always queue in lwIP, and all one whose client took
 * less in the last RELAY_RATE_MS may while lwIP's memory is at its budget
 * (port_mem_pressed): clients that do not read would otherwise hold a
 * whole send buffer each, 256 KB times handoff.max_flows. */
#define RELAY_FLOOR	(16 * 1024)
#define RELAY_RATE_MS	1000
#define RELAY_RATE_SPAN	4000
/* lwIP's memory for a queued segment beyond its data (struct tcp_seg,
 * its pbuf, the headers): what a relay queues is counted with it, so
 * that a client with a tiny MSS pins no more memory than another. */
#define RELAY_SEG_COST	128
/* Segments of lwIP's queue kept free: for the FIN, and the one pbuf a
 * write may add to the last segment */
#define RELAY_QSPARE	6
#if RELAY_CHUNK > 0xffff || RELAY_WAKE > TCP_SND_BUF
#error "relay: tcp_write takes at most 64 KB - 1; reading waits for room lwIP can have"
#endif

struct relay {
	TAILQ_ENTRY(relay)	 r_entry;
	struct hd		*r_hd;
	struct tcp_pcb		*r_pcb;		/* NULL once lwIP freed it */
	struct bufferevent	*r_bev;		/* the server, written */
	struct event		*r_rd;		/* the server, read; added
						   once connected */
	struct event		*r_kick;	/* deferred close decisions */
	relay_done_cb		 r_done;
	void			(*r_on_connect)(void *);
	void			*r_arg;
	uint32_t		 r_held;	/* received, not yet tcp_recved */
	uint32_t		 r_last;	/* last activity, ms: hd_relays
						   is in its order */
	/* what the client acknowledged in the RELAY_RATE_MS from r_rate_ms,
	 * and in the one before */
	uint32_t		 r_rate_ms;
	uint32_t		 r_acked;
	uint32_t		 r_acked_prev;
	struct relay_summary	 r_sum;
	unsigned int		 r_connected:1;
	unsigned int		 r_cl_eof:1;	/* the client sent FIN */
	unsigned int		 r_srv_eof:1;	/* the server closed */
	unsigned int		 r_srv_shut:1;	/* we shut the socket's write side */
	unsigned int		 r_cl_shut:1;	/* we sent FIN to the client */
	unsigned int		 r_failed:1;
};

/* Each relay is a client's connection: logged at most once a second. */
static struct log_rl relay_rl_stuck;
static struct log_rl relay_rl_connect;

static void	relay_pump_to_client(struct relay *);
static void	relay_finish(struct relay *, enum relay_end);

/* Activity now: the relay goes to the end of the node's list, which is
 * then oldest first, so that relay_expire() looks only at the idle. */
static void
relay_touch(struct relay *r)
{
	r->r_last = r->r_hd->hd_now;
	TAILQ_REMOVE(&r->r_hd->hd_relays, r, r_entry);
	TAILQ_INSERT_TAIL(&r->r_hd->hd_relays, r, r_entry);
}

/* Detaches our callbacks so that lwIP never calls into a freed relay. */
static void
relay_detach_pcb(struct relay *r)
{
	if (r->r_pcb == NULL)
		return;
	tcp_arg(r->r_pcb, NULL);
	tcp_recv(r->r_pcb, NULL);
	tcp_sent(r->r_pcb, NULL);
	tcp_err(r->r_pcb, NULL);
}

/*
 * Both FINs are out: nothing more goes to the client, and lwIP frees the
 * pcb on its own, with no callback (from TIME_WAIT at its timer or when
 * trimmed; from LAST_ACK when the client acknowledges, where it would call
 * the error callback and reset what the server still has to read).  The
 * relay lets go of it and finishes with the server alone.
 */
static void
relay_let_go(struct relay *r)
{
	relay_detach_pcb(r);
	r->r_pcb = NULL;
}

static void
relay_kick(struct relay *r)
{
	event_active(r->r_kick, 0, 0);
}

/* Client bytes: to the server, with lwIP's window held shut while the
 * server lags by more than RELAY_HIGH. */
static err_t
relay_lwip_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct relay	*r = arg;
	struct evbuffer	*out;
	struct pbuf	*q;
	u16_t		 n;

	relay_touch(r);
	if (p == NULL) {
		r->r_cl_eof = r->r_sum.rs_client_fin = 1;
		if (r->r_cl_shut)
			relay_let_go(r);
		relay_kick(r);
		return ERR_OK;
	}
	out = bufferevent_get_output(r->r_bev);
	for (q = p; q != NULL; q = q->next)
		if (evbuffer_add(out, q->payload, q->len) == -1) {
			r->r_failed = 1;
			relay_kick(r);
			break;
		}
	n = p->tot_len;
	pbuf_free(p);
	if (evbuffer_get_length(out) <= RELAY_HIGH)
		tcp_recved(pcb, n);
	else
		r->r_held += n;
	return ERR_OK;
}

/* lwIP freed more send buffer: move more of the server's bytes. */
static err_t
relay_lwip_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct relay	*r = arg;
	uint32_t	 now = r->r_hd->hd_now;

	relay_touch(r);		/* the client is still taking bytes */
	if (now - r->r_rate_ms >= 2 * RELAY_RATE_MS) {
		r->r_acked_prev = 0;
		r->r_acked = 0;
		r->r_rate_ms = now;
	} else if (now - r->r_rate_ms >= RELAY_RATE_MS) {
		r->r_acked_prev = r->r_acked;
		r->r_acked = 0;
		r->r_rate_ms += RELAY_RATE_MS;
	}
	r->r_acked = r->r_acked > UINT32_MAX - len ? UINT32_MAX :
	    r->r_acked + len;
	relay_pump_to_client(r);
	return ERR_OK;
}

/* What the client acknowledged in the last RELAY_RATE_MS or so: the
 * larger of the current interval and the one before it. */
static size_t
relay_drained(const struct relay *r)
{
	uint32_t	 age = r->r_hd->hd_now - r->r_rate_ms;

	if (age >= 2 * RELAY_RATE_MS)
		return 0;
	if (age >= RELAY_RATE_MS)
		return r->r_acked;
	return r->r_acked > r->r_acked_prev ? r->r_acked : r->r_acked_prev;
}

/* What a relay may queue while lwIP holds its memory budget: what its
 * client acknowledged in the last second, or, for a client further than
 * half a second away (a second's bytes are less than two of its round
 * trips'), that much per two round trips, up to RELAY_RATE_SPAN. */
static size_t
relay_allowance(const struct relay *r)
{
	const struct tcp_pcb *pcb = r->r_pcb;
	uint64_t	 d = relay_drained(r);
	uint32_t	 span;

	if (!(pcb->sack_flags & TCP_SACK_RTT) ||
	    (span = (pcb->srtt8_us >> 2) / 1000) <= RELAY_RATE_MS)
		return (size_t)d;
	if (span > RELAY_RATE_SPAN)
		span = RELAY_RATE_SPAN;
	return (size_t)(d * span / RELAY_RATE_MS);
}

/* lwIP already freed the pcb (a reset, or too many retransmissions).
 * lwip_strerr() is empty unless lwIP was built with LWIP_DEBUG. */
static void
relay_lwip_err(void *arg, err_t err)
{
	struct relay	*r = arg;

	r->r_pcb = NULL;
	r->r_failed = 1;
	r->r_sum.rs_client_rst = err == ERR_RST;
	log_debug("relay: client connection lost: %s", err == ERR_RST ?
	    "reset by the client" : err == ERR_ABRT ?
	    "aborted (retransmissions unanswered, or no memory)" : "closed");
	relay_kick(r);
}

/* Bytes of the server's stream lwIP puts in one segment to this client,
 * as tcp_write() cuts them: the MSS, or half the largest window seen,
 * less the timestamp option. */
static size_t
relay_seg_bytes(const struct tcp_pcb *pcb)
{
	size_t	 m = pcb->mss, w = pcb->snd_wnd_max / 2;

	if (w > 0 && w < m)
		m = w;
	if (pcb->flags & TF_TIMESTAMP) {
		if (m <= LWIP_TCP_OPT_LEN_TS_OUT)
			return 1;
		m -= LWIP_TCP_OPT_LEN_TS_OUT;
	}
	return m > 0 ? m : 1;
}

/*
 * What a relay may have queued in lwIP: twice what the client's window
 * and lwIP's congestion window let be in flight, as Linux sizes a send
 * buffer, and at least RELAY_FLOOR.  A client that never opened its
 * window pins 16 KB, not a whole send buffer.  One that opened it and
 * stopped reading still pins what is in flight, which lwIP must keep
 * until it is acknowledged: while lwIP holds its memory budget, a relay
 * queues no more than its client took in the last second or two round
 * trips (relay_allowance, at least RELAY_FLOOR), so that stalled clients
 * queue no more and clients that read keep their pace.  Clients that read
 * fast and then stop can still pin what they had in flight: past the hard
 * bound (node.c: the budget and 20 KB a flow, more than clients held at
 * RELAY_FLOOR can take) every relay queues RELAY_FLOOR, so that what
 * they pin is bounded, at the cost of everyone's pace.  Counted in memory
 * (RELAY_SEG_COST a segment), in whole segments: a cap a few bytes past
 * one would send a runt after every window.
 */
static size_t
relay_cap(const struct relay *r)
{
	const struct tcp_pcb *pcb = r->r_pcb;
	size_t	 w = pcb->snd_wnd < pcb->cwnd ? pcb->snd_wnd : pcb->cwnd;
	size_t	 cap = 2 * w, seg = relay_seg_bytes(pcb), d;

	if (cap < RELAY_FLOOR)
		cap = RELAY_FLOOR;
	switch (port_mem_pressed()) {
	case PORT_MEM_HARD:
		cap = RELAY_FLOOR;
		break;
	case PORT_MEM_PRESSED:
		if (cap > (d = relay_allowance(r)))
			cap = d > RELAY_FLOOR ? d : RELAY_FLOOR;
		break;
	}
	if (cap > TCP_SND_BUF)
		cap = TCP_SND_BUF;
	cap = (size_t)((uint64_t)cap * seg / (seg + RELAY_SEG_COST));
	return cap > seg ? cap - cap % seg : seg;
}

/* Bytes lwIP takes now: its send buffer's room (snd_buf itself:
 * tcp_sndbuf() stops at 64 KB - 1) within relay_cap, and what its
 * segment queue still holds, each segment a pbuf and a write adding at
 * most one more to the last: a client with a small MSS fills the queue
 * long before the buffer. */
static size_t
relay_room(const struct relay *r)
{
	size_t	 q, room, queued, cap;

	if (r->r_pcb == NULL ||
	    (q = tcp_sndqueuelen(r->r_pcb)) + RELAY_QSPARE >= TCP_SND_QUEUELEN)
		return 0;
	room = (TCP_SND_QUEUELEN - RELAY_QSPARE - q) * relay_seg_bytes(r->r_pcb);
	if (room > r->r_pcb->snd_buf)
		room = r->r_pcb->snd_buf;
	queued = r->r_pcb->snd_buf < TCP_SND_BUF ?
	    TCP_SND_BUF - r->r_pcb->snd_buf : 0;
	if (queued >= (cap = relay_cap(r)))
		return 0;
	return room < cap - queued ? room : cap - queued;
}

/* Room that reading the server again waits for: RELAY_WAKE, or half what
 * the segment queue holds for a client with a small MSS, or a quarter of
 * relay_cap, so that a capped relay reads again while lwIP still has most
 * of a window queued.  A relay that waits has that much queued, whose
 * acknowledgment asks again. */
static size_t
relay_wake(const struct relay *r)
{
	size_t	 half = (TCP_SND_QUEUELEN - RELAY_QSPARE) *
		    relay_seg_bytes(r->r_pcb) / 2;
	size_t	 cap = relay_cap(r) / 4;

	if (half > cap)
		half = cap;
	return half < RELAY_WAKE ? half : RELAY_WAKE;
}

/* Hands lwIP what it takes of len bytes at p (more: others follow, no
 * PSH yet); returns how many it took. */
static size_t
relay_give(struct relay *r, const uint8_t *p, size_t len, int more)
{
	size_t	 done = 0, n, seg;

	while (done < len && (n = relay_room(r)) > 0) {
		if (n > len - done)
			n = len - done;
		if (n > RELAY_CHUNK)
			n = RELAY_CHUNK;
		/* Whole segments while more follows: room is counted in
		 * them, and a part-filled one would take a slot for less. */
		seg = relay_seg_bytes(r->r_pcb);
		if (done + n < len && n > seg)
			n -= n % seg;
		if (tcp_write(r->r_pcb, p + done, (u16_t)n, TCP_WRITE_FLAG_COPY |
		    (more || done + n < len ? TCP_WRITE_FLAG_MORE : 0)) !=
		    ERR_OK) {
			/* With nothing queued no ACK comes to try again. */
			if (r->r_pcb->unsent == NULL &&
			    r->r_pcb->unacked == NULL) {
				log_ratelim(&relay_rl_stuck, "relay: lwIP "
				    "takes none of the server's bytes");
				r->r_failed = 1;
				relay_kick(r);
			}
			break;
		}
		done += n;
	}
	r->r_sum.rs_sent += done;
	return done;
}

/* Moves what lwIP did not take before into lwIP while its send buffer has
 * room; reads the server only once all it read is in lwIP and lwIP has
 * room. */
static void
relay_pump_to_client(struct relay *r)
{
	struct evbuffer	*in;
	size_t		 len, n, k;
	int		 wrote = 0;

	if (r->r_pcb == NULL || r->r_cl_shut)
		return;
	in = bufferevent_get_input(r->r_bev);
	while ((len = evbuffer_get_length(in)) > 0) {
		n = len < RELAY_CHUNK ? len : RELAY_CHUNK;
		k = relay_give(r, evbuffer_pullup(in, (ev_ssize_t)n), n, n < len);
		evbuffer_drain(in, k);
		wrote |= k > 0;
		if (k < n)
			break;
	}
	if (wrote)
		tcp_output(r->r_pcb);
	/* Reading waits for RELAY_WAKE of room: less means bytes in flight,
	 * whose acknowledgment calls here again, and a read per ACK of a few
	 * KB would cost a read and two epoll_ctl calls each. */
	if (r->r_connected) {
		if (evbuffer_get_length(in) > 0 || r->r_srv_eof ||
		    relay_room(r) < relay_wake(r))
			event_del(r->r_rd);
		else
			event_add(r->r_rd, NULL);
	}
	if (r->r_srv_eof && evbuffer_get_length(in) == 0)
		relay_kick(r);
}

/*
 * The server sent: one read, straight from the socket into the node's
 * relay buffer, of no more than lwIP takes now (up to RELAY_READ), and on
 * into lwIP; what lwIP still refuses waits in the input buffer, what the
 * server sends beyond in its socket.  The server is read only while that
 * buffer is empty, so its bytes stay in order.
 *
 * When the server's FIN came with its last bytes (EV_CLOSED, where the
 * event backend reports it) and the read took all there was, a second
 * read confirms the end at once: the client's FIN then leaves with the
 * last segment of data instead of in a packet of its own, one packet and
 * one ACK fewer through both daemons.  The read that would have found the
 * end on the next turn of the loop is the one spent.
 */
static void
relay_srv_read(struct relay *r, int fd, short ev)
{
	uint8_t		*buf = r->r_hd->hd_relaybuf;
	ssize_t		 n, m;
	size_t		 want, k;
	int		 eof = 0;

	if (r->r_cl_shut || (want = relay_room(r)) == 0) {
		event_del(r->r_rd);	/* nowhere to put the bytes */
		return;
	}
	/* In whole segments when the read is the limit: the rest of one
	 * would leave at once, a runt in the middle of the stream (Nagle is
	 * off). */
	if (want > RELAY_READ) {
		k = relay_seg_bytes(r->r_pcb);
		want = RELAY_READ > k ? RELAY_READ - RELAY_READ % k : RELAY_READ;
	}
	if ((n = read(fd, buf, want)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_debug("relay: server connection lost: %s",
		    strerror(errno));
		r->r_failed = 1;
		relay_kick(r);
		return;
	}
	relay_touch(r);
	if (n == 0) {
		r->r_srv_eof = 1;
		event_del(r->r_rd);
		relay_pump_to_client(r);
		relay_kick(r);
		return;
	}
	if ((ev & EV_CLOSED) && (size_t)n < want) {
		if ((m = read(fd, buf + n, want - (size_t)n)) == 0)
			eof = 1;
		else if (m > 0)
			n += m;
	}
	k = relay_give(r, buf, (size_t)n, 0);
	if (k < (size_t)n && evbuffer_add(bufferevent_get_input(r->r_bev),
	    buf + k, (size_t)n - k) == -1) {
		r->r_failed = 1;
		relay_kick(r);
		return;
	}
	if (eof) {
		r->r_srv_eof = 1;
		event_del(r->r_rd);
	}
	/* All of it in lwIP before the end: the FIN goes out with it, from
	 * relay_on_kick(). */
	if (k > 0 && !(eof && k == (size_t)n))
		tcp_output(r->r_pcb);
	relay_pump_to_client(r);
}

static void
relay_on_srv_readable(int fd, short ev, void *arg)
{
	port_clock_hold();
	relay_srv_read(arg, fd, ev);
	port_clock_release();
}

/* The server took everything we had: open lwIP's window again. */
static void
relay_srv_write(struct bufferevent *bev, void *arg)
{
	struct relay	*r = arg;

	if (r->r_held > 0 && r->r_pcb != NULL) {
		port_tcp_recved(r->r_pcb, r->r_held);
		r->r_held = 0;
	}
	if (r->r_cl_eof)
		relay_kick(r);
}

static void
relay_srv_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;

	if (what & BEV_EVENT_CONNECTED) {
		r->r_connected = 1;
		sock_nodelay(bufferevent_getfd(bev));
		/* The request leaves for the server from here on: the owner
		 * commits first, so that a failure below ends the client's
		 * connection rather than send the request to another. */
		if (r->r_on_connect != NULL)
			r->r_on_connect(r->r_arg);
		if (event_add(r->r_rd, NULL) == -1) {
			r->r_failed = 1;
			relay_kick(r);
			return;
		}
		/* The client may have finished before the server answered. */
		if (r->r_cl_eof)
			relay_kick(r);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		log_debug("relay: server %s: %s", r->r_connected ?
		    "connection lost" : "connect failed",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		r->r_failed = 1;
		relay_kick(r);
	}
}

/*
 * Decides what the relay's state calls for, outside any lwIP or
 * libevent callback: half-closes, the final close, or the abort.
 */
static void
relay_on_kick(int fd, short ev, void *arg)
{
	struct relay	*r = arg;
	struct evbuffer	*in = bufferevent_get_input(r->r_bev);
	struct evbuffer	*out = bufferevent_get_output(r->r_bev);

	if (r->r_failed) {
		relay_finish(r, RELAY_RESET);
		return;
	}
	/* The client is done and the server has all its bytes. */
	if (r->r_cl_eof && !r->r_srv_shut && r->r_connected &&
	    evbuffer_get_length(out) == 0) {
		shutdown(bufferevent_getfd(r->r_bev), SHUT_WR);
		r->r_srv_shut = 1;
	}
	/* The server is done and lwIP has all its bytes: FIN the client. */
	if (r->r_srv_eof && !r->r_cl_shut && r->r_pcb != NULL &&
	    evbuffer_get_length(in) == 0) {
		if (tcp_shutdown(r->r_pcb, 0, 1) != ERR_OK) {
			relay_finish(r, RELAY_RESET);
			return;
		}
		r->r_cl_shut = 1;
		if (r->r_cl_eof)
			relay_let_go(r);
	}
	if (r->r_srv_shut && r->r_cl_shut) {
		relay_finish(r, RELAY_DONE);
		return;
	}
	/* What relay_on_srv_readable() left for a FIN that could not go yet
	 * goes alone: no ACK would come to send it. */
	if (r->r_pcb != NULL && !r->r_cl_shut)
		tcp_output(r->r_pcb);
}

/*
 * The one way out.  A clean end leaves the pcb to lwIP, which delivers
 * what is queued and finishes the FIN exchange on its own; a failed one
 * resets the client.
 */
static void
relay_finish(struct relay *r, enum relay_end how)
{
	relay_done_cb	 done = r->r_done;
	void		*arg = r->r_arg;
	struct relay_summary sum = r->r_sum;
	const struct hd	*hd = r->r_hd;

	if (r->r_pcb != NULL) {
		relay_detach_pcb(r);
		if (r->r_held > 0)
			port_tcp_recved(r->r_pcb, r->r_held);
		if (how == RELAY_DONE) {
			if (tcp_close(r->r_pcb) != ERR_OK)
				tcp_abort(r->r_pcb);
		} else
			tcp_abort(r->r_pcb);
		r->r_pcb = NULL;
	}
	TAILQ_REMOVE(&r->r_hd->hd_relays, r, r_entry);
	event_free(r->r_rd);
	bufferevent_free(r->r_bev);
	event_free(r->r_kick);
	free(r);
	if (done != NULL) {
		sum.rs_ms = hd->hd_now - sum.rs_ms;
		done(arg, how, &sum);
	}
}

/* The PROXY header, when the configuration asks for one, goes into the
 * server's output before any of the client's bytes: nothing is written
 * before the connection is up, so it leaves first, and only once. */
static int
relay_add_pp(struct relay *r, const struct tcp_pcb *pcb,
    const struct ipaddr *vaddr, uint16_t vport)
{
	int		 v = r->r_hd->hd_cfg->cfg_handoff.ch_proxy_protocol;
	struct pp_conn	 c;
	uint8_t		 buf[PP_MAX];
	size_t		 n;

	if (v == CFG_PP_OFF)
		return 0;
	c.pc_saddr = port_addr(&pcb->remote_ip);
	c.pc_sport = htons(pcb->remote_port);
	c.pc_daddr = *vaddr;
	c.pc_dport = vport;
	if ((n = pp_encode(v, &c, buf, sizeof(buf))) == 0)
		return -1;
	return evbuffer_add(bufferevent_get_output(r->r_bev), buf, n);
}

/*
 * Starts relaying pcb, a client's connection to the VIP vaddr:vport
 * (network byte order), to the server srv, or over fd, a connection to it
 * the caller made (-1: none), which the relay owns from now on, fail or
 * not.  initial holds the client's bytes received so far (already
 * acknowledged to lwIP); its contents move into the relay.  Returns NULL,
 * with pcb untouched, if nothing could be set up.
 */
struct relay *
relay_new(struct hd *hd, struct tcp_pcb *pcb, const struct cfg_endpoint *srv,
    int fd, const struct ipaddr *vaddr, uint16_t vport,
    struct evbuffer *initial, relay_done_cb done, void *arg)
{
	struct relay		*r;
	struct sockaddr_storage	 ss;
	size_t			 sslen;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	r->r_hd = hd;
	r->r_pcb = pcb;
	r->r_last = hd->hd_now;
	r->r_rate_ms = hd->hd_now;
	r->r_sum.rs_caddr = port_addr(&pcb->remote_ip);
	r->r_sum.rs_cport = htons(pcb->remote_port);
	r->r_sum.rs_vaddr = *vaddr;
	r->r_sum.rs_vport = vport;
	r->r_sum.rs_ms = hd->hd_now;	/* its start, until the end */
	r->r_done = done;
	r->r_arg = arg;
	r->r_bev = bufferevent_socket_new(hd->hd_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	r->r_kick = event_new(hd->hd_base, -1, 0, relay_on_kick, r);
	if (r->r_bev == NULL && fd != -1)
		close(fd);
	if (r->r_bev == NULL || r->r_kick == NULL)
		goto fail;
	bufferevent_setcb(r->r_bev, NULL, relay_srv_write, relay_srv_event,
	    r);
	bufferevent_setwatermark(r->r_bev, EV_WRITE, 0, 0);
	if (relay_add_pp(r, pcb, vaddr, vport) == -1)
		goto fail;
	if (initial != NULL &&
	    evbuffer_add_buffer(bufferevent_get_output(r->r_bev), initial) == -1)
		goto fail;
	/* A connected socket (fd) is taken as one: libevent reports it
	 * connected once it is writable. */
	if (fd != -1)
		sslen = 0;
	else
		sslen = addr_sockaddr(&srv->ep_addr, srv->ep_port, &ss);
	if (bufferevent_socket_connect(r->r_bev, fd != -1 ? NULL :
	    (struct sockaddr *)&ss, (int)sslen) == -1) {
		log_ratelim(&relay_rl_connect, "relay: connect to the "
		    "server: %s", strerror(errno));
		goto fail;
	}
	/* Added once connected: the input buffer takes bytes only then. */
	r->r_rd = event_new(hd->hd_base, bufferevent_getfd(r->r_bev),
	    EV_READ | EV_CLOSED | EV_PERSIST, relay_on_srv_readable, r);
	if (r->r_rd == NULL)
		goto fail;
	bufferevent_enable(r->r_bev, EV_WRITE);
	tcp_arg(pcb, r);
	tcp_recv(pcb, relay_lwip_recv);
	tcp_sent(pcb, relay_lwip_sent);
	tcp_err(pcb, relay_lwip_err);
	TAILQ_INSERT_TAIL(&hd->hd_relays, r, r_entry);
	return r;
fail:
	if (r->r_rd != NULL)
		event_free(r->r_rd);
	if (r->r_bev != NULL)
		bufferevent_free(r->r_bev);
	if (r->r_kick != NULL)
		event_free(r->r_kick);
	free(r);
	return NULL;
}

/* The owner ends the relay at once: the client is reset. */
void
relay_abort(struct relay *r)
{
	r->r_done = NULL;
	relay_finish(r, RELAY_RESET);
}

/* The owner learns when the server's connection is up (with the done
 * callback's argument). */
void
relay_on_connect(struct relay *r, void (*cb)(void *))
{
	r->r_on_connect = cb;
}

/* Names what the relay serves, for its end to find it again (the key may
 * be a newer connection's by then). */
void
relay_tag(struct relay *r, uint64_t tag)
{
	r->r_sum.rs_tag = tag;
}

/* lwIP's connection to the client, NULL once lwIP freed it or the relay
 * let go of it (both FINs out): the only pointer to it worth keeping. */
const struct tcp_pcb *
relay_pcb(const struct relay *r)
{
	return r->r_pcb;
}

/* The client finished sending before the relay took over. */
void
relay_client_eof(struct relay *r)
{
	r->r_cl_eof = r->r_sum.rs_client_fin = 1;
	relay_kick(r);
}

/* Whether lwIP took the client's FIN: the client's word, judged. */
int
relay_client_fin(const struct relay *r)
{
	return r->r_cl_eof;
}

/* Resets every relay idle for longer than idle_ms: a client that vanished
 * without a word would otherwise hold its relay for ever. */
void
relay_expire(struct hd *hd, uint32_t now, uint32_t idle_ms)
{
	struct relay	*r;

	/* Oldest first: the first that is not idle ends the look. */
	while ((r = TAILQ_FIRST(&hd->hd_relays)) != NULL &&
	    (int32_t)(now - r->r_last) > (int32_t)idle_ms) {
		log_debug("relay: idle for %u ms: reset", idle_ms);
		relay_finish(r, RELAY_IDLE);
	}
}

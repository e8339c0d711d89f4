/*
 * Scenario tests: the real front-end, back-end, control channel and
 * rewrite, driven packet by packet from text fixtures, without root.
 *
 * Every node of a scenario is a real node (node.c) on one event loop in this
 * process: its TUN is a recorder, its control connections to the other
 * nodes are in-memory bufferevent pairs with this harness in the middle (so
 * that a link can be held or cut), and the clock is the harness's (TSvals
 * follow it with a fixed offset, SC_TS_OFF).  A fixture
 * (tests/scenarios/NAME.scn) says, one line each, what enters a node's TUN
 * and what must come out of it, in a tcpdump-like notation:
 *
 *   node n1 ... end          a node's handoffd.yaml (paths relative to a
 *                            private directory holding cluster.key;
 *                            @SERVER@ is an in-process web server's address,
 *                            @STALL@ one whose kernel drops every SYN,
 *                            @CLOSED@ a port where nothing listens)
 *   config n1 ... end        what n1's file says from now on
 *   n1 reload                n1 reads its file again (SIGHUP); must apply
 *   n1 reload-fails          ... and must be refused
 *   n1 kill                  n1's process dies (SIGKILL): its control links
 *                            close, its node.state_file stays as it was
 *   n1 stop                  n1 exits cleanly (SIGTERM); the same, but the
 *                            state file is as its exit left it
 *   n1 start                 n1 starts again
 *   start                    starts every node and lets the peers meet
 *   n1 tun< PACKET           a packet the kernel routes into n1's TUN
 *   n1 tun<+ PACKET          the same, and the next one comes in the same
 *                            read of the TUN (nothing deferred runs between)
 *   n1 tun> PACKET           the next packet n1 writes must match (n1
 *                            stopped: what its stop wrote)
 *   n1 tun> none             n1 has written nothing more
 *   n1 stat NAME VALUE       a counter of n1's
 *   n1 flows N               n1's flow table holds N flows
 *   n1 alog TEXT             a line of n1's access log (its node.access_log
 *                            must be n1.access) holds TEXT
 *   n1 alogs N TEXT          exactly N lines of it do
 *   log TEXT                 a line the nodes logged (with -v's flow
 *                            records) holds TEXT
 *   n1 show                  prints what n1 wrote and nobody expected yet
 *                            (for writing a fixture; checks nothing)
 *   n1 drain                 forgets it (what a fixture does not pin, such
 *                            as whether lwIP acknowledged before answering)
 *   n1 server-ahead          waits until every connection to n1's web
 *                            server holds a relay's whole read (RELAY_READ
 *                            bytes) unread, so that no read comes short:
 *                            where short reads cut the stream into
 *                            segments is not pinned
 *   n1 cookie NAME PACKET    binds $NAME to the SYN cookie (the ISN, options
 *                            in its low byte) n1 would answer the SYN PACKET
 *                            with now: the ACK a forger hits by chance
 *   wait MS                  the flow clock moves on; expiry and lwIP's
 *                            timers run (once: lwIP runs a late timer once)
 *   wait MS by STEP          the same, STEP ms at a time (lwIP's slow timer
 *                            ticks every 100 ms)
 *   wait USus                the clock moves on by US microseconds, as
 *                            lwIP's RTTs do (its timers run only if it
 *                            passes a millisecond)
 *   sleep MS                 the same, in real time too (libevent timers)
 *   hold A B / release A B   what A sends B on the control links up now
 *                            stalls / goes on (a link dialled later, after
 *                            a cut, is not held)
 *   cut A B                  A and B's control links close (the nodes
 *                            dial again at once, in real time)
 *   hold|release|cut A B via C   the same, on the link C (A or B) dialled
 *   part A B / heal A B      A and B's control links close, and neither
 *                            can dial the other / until this
 *   lwip-budget BYTES [HARD] lwIP's memory budget (every node's: lwIP's
 *                            memory is the process's) is BYTES from now
 *                            on, and its hard bound HARD (none if not
 *                            given), until a node starts or reloads
 * lwip.loss_tolerance auto is 0 in every scenario, whatever the host's
 * congestion control.
 *
 * PACKET: SRC:PORT > DST:PORT FLAGS [seq V] [ack V] [win V] [<OPTIONS>]
 * [len N] ["payload" | "prefix"... | ..."suffix"] where FLAGS are
 * tcpdump's (S F R P and . for ACK; p: PSH or not, which the relay's reads
 * of its server decide), OPTIONS are "mss V", "wscale V", "sackOK",
 * "TS val V ecr V", "sack V:V", "nop", separated by commas, and a value V
 * is a number or $NAME, $NAME+N, $NAME-N: a name is bound the first time
 * it is seen in an expected packet and checked after.  An expected packet checks only the fields it gives,
 * and always both checksums.
 *
 * usage: test_scenario [FILE...]   (default: every $TESTS_SRCDIR/scenarios/
 * *.scn, each in a child process; SC_JOBS of them at a time)
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "btcp.h"
#include "conf.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "pkt.h"
#include "handoff/cookie.h"
#include "handoff/peer.h"
#include "handoff/relay.h"
#include "t.h"

#define SC_NODES	4
#define SC_LINKS	64
#define SC_VARS		64
#define SC_QUEUE	256
#define SC_LINE		4096
#define SC_WAIT_MS	3000	/* for a packet that depends on a web server */
#define SC_QUIET_MS	200	/* for "none" */
#define SC_MAXJOBS	8

struct sc_pkt {
	uint8_t		*sp_data;
	size_t		 sp_len;
};

struct sc_node {
	char		 n_name[CFG_ID_MAX];
	char		*n_yaml;
	struct hd	 n_hd;
	int		 n_started;
	int		 n_dead;	/* being killed: writes nothing */
	int		 n_killed;	/* killed, not started again */
	char		 n_state[4096];	/* a killed node's state file */
	struct sc_pkt	 n_q[SC_QUEUE];	/* written to its TUN */
	int		 n_qhead;
	int		 n_qlen;
	struct evhttp	*n_http;	/* its web server, if it has one */
	uint16_t	 n_http_port;
	struct sc_pending {
		struct bufferevent	*pa_bev;
		struct sockaddr_in	 pa_sin;
	}		 n_pending[SC_NODES];	/* accepts before it started */
	int		 n_npending;
};

/* A control connection, dialler's end <-> (l_a | l_b) <-> acceptor's. */
struct sc_link {
	struct bufferevent *l_a;
	struct bufferevent *l_b;
	int		 l_n1;		/* the dialler */
	int		 l_n2;
	int		 l_held12;	/* what n1 sends n2 stalls */
	int		 l_held21;
};

struct sc_var {
	char		 v_name[32];
	uint32_t	 v_val;
};

static struct sc {
	const char	*s_file;
	int		 s_line;
	char		 s_dir[256];
	struct event_base *s_base;
	struct sc_node	 s_nodes[SC_NODES];
	int		 s_nnodes;
	struct sc_link	 s_links[SC_LINKS];
	int		 s_nlinks;
	int		 s_parted[SC_NODES][SC_NODES];	/* part A B */
	struct sc_var	 s_vars[SC_VARS];
	int		 s_nvars;
	int		 s_servers;		/* web servers started */
	uint16_t	 s_stall_port;		/* @STALL@'s, 0: none yet */
	uint16_t	 s_closed_port;		/* @CLOSED@'s, 0: none yet */
	int		 s_gso;			/* TUNs with offloads: lwIP's
						   segments joined, sums left
						   partial, the kernel's part
						   done by sc_tun_write */
} sc;

static uint32_t	sc_now = 1000000;
static uint32_t	sc_now_us;	/* past sc_now, under 1000 (wait USus) */
/* What the nodes' TSvals add to sc_now: they wrap 192 ms into every
 * scenario (a fixture's first TSval is 2^32 - 192, 4294967104). */
#define SC_TS_OFF	0xfff0bd00u

static uint64_t
sc_clock(void)
{
	return (uint64_t)sc_now * 1000 + sc_now_us;
}

/* The scenario's directory is its own (mkdtemp): status files, what
 * "reload" wrote, access logs and the key all go, after a failure too, where
 * nothing of it is needed to read the failure. */
static void
sc_remove_dir(void)
{
	char		 path[512];
	DIR		*d;
	struct dirent	*e;

	if (sc.s_dir[0] == '\0' || (d = opendir(sc.s_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sc.s_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(sc.s_dir);
}

static void __attribute__((format(printf, 1, 2), noreturn))
sc_fail(const char *fmt, ...)
{
	va_list	 ap;
	int	 i;

	fprintf(stderr, "%s:%d: ", sc.s_file, sc.s_line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (i = 0; i < sc.s_nvars; i++)
		fprintf(stderr, "  $%s = %u\n", sc.s_vars[i].v_name,
		    sc.s_vars[i].v_val);
	sc_remove_dir();
	exit(1);
}

/* ------------------------------------------------------------------ */
/* Nodes, their TUNs and their control links. */

static struct sc_node *
sc_node(const char *name)
{
	int	 i;

	for (i = 0; i < sc.s_nnodes; i++)
		if (strcmp(sc.s_nodes[i].n_name, name) == 0)
			return &sc.s_nodes[i];
	return NULL;
}

/* Queues one packet the node wrote, as the kernel has it. */
static struct sc_pkt *
sc_tun_queue(struct sc_node *n, const uint8_t *pkt, size_t len)
{
	struct sc_pkt	*sp;

	if (n->n_qlen == SC_QUEUE)
		sc_fail("%s wrote more than %d packets nobody expected",
		    n->n_name, SC_QUEUE);
	sp = &n->n_q[(n->n_qhead + n->n_qlen++) % SC_QUEUE];
	if ((sp->sp_data = malloc(len)) == NULL)
		sc_fail("out of memory");
	memcpy(sp->sp_data, pkt, len);
	sp->sp_len = len;
	return sp;
}

/* A segment's TCP checksum as the kernel makes it from a super-packet's
 * partial one (tcp_gso_segment): the field is taken for the
 * pseudo-header's sum over the whole's length, moved to the segment's
 * length, and the segment is summed over it, so that a wrong seed shows. */
static void
sc_tun_cut_csum(const uint8_t *whole, const struct pkt *p, struct pkt *q)
{
	uint32_t	 s = pkt_get16(whole + p->p_iphl + TCP_OFF_CSUM);

	s += (uint16_t)~(uint16_t)(p->p_len - p->p_iphl);
	s += (uint16_t)(q->p_len - q->p_iphl);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	pkt_put16(q->p_tcp + TCP_OFF_CSUM, (uint16_t)s);
	pkt_put16(q->p_tcp + TCP_OFF_CSUM, pkt_csum_partial(q->p_tcp,
	    q->p_len - q->p_iphl, 0));
}

/* What the kernel does with a super-packet (offloads): cuts its data into
 * segments of gso_size, each with the headers, its sequence number, IP
 * length, IPv4 ID counted up, FIN and PSH on the last alone, CWR on the
 * first alone, and its sums. */
static void
sc_tun_cut(struct sc_node *n, const uint8_t *pkt, size_t len,
    const struct pkt_meta *m)
{
	static uint8_t	 whole[PKT_MAXLEN], seg[PKT_MAXLEN];
	struct pkt	 p, q;
	size_t		 hlen, off, k;
	uint16_t	 i;

	memcpy(whole, pkt, len);
	if (pkt_parse(&p, whole, len) != PKT_OK || p.p_tcp == NULL ||
	    p.p_paylen == 0 || m->pm_gso_size == 0 ||
	    m->pm_hdr_len != p.p_iphl + p.p_thl || m->pm_gso_tcp6 != p.p_v6)
		sc_fail("%s wrote a super-packet the kernel refuses",
		    n->n_name);
	hlen = m->pm_hdr_len;
	for (off = 0, i = 0; off < p.p_paylen; off += k, i++) {
		k = p.p_paylen - off < m->pm_gso_size ? p.p_paylen - off :
		    m->pm_gso_size;
		memcpy(seg, whole, hlen);
		memcpy(seg + hlen, whole + hlen + off, k);
		if (p.p_v6)
			pkt_put16(seg + IP6_OFF_PLEN,
			    (uint16_t)(hlen + k - PKT_IP6_HLEN));
		else {
			pkt_put16(seg + IP_OFF_TOTLEN, (uint16_t)(hlen + k));
			pkt_put16(seg + IP_OFF_ID, (uint16_t)(pkt_get16(whole +
			    IP_OFF_ID) + i));
			pkt_put16(seg + IP_OFF_CSUM, 0);
			pkt_put16(seg + IP_OFF_CSUM, pkt_ip_csum(seg, p.p_iphl));
		}
		pkt_put32(seg + p.p_iphl + TCP_OFF_SEQ, p.p_seq + (uint32_t)off);
		if (off + k < p.p_paylen)
			seg[p.p_iphl + TCP_OFF_FLAGS] &= ~(TH_FIN | TH_PUSH);
		if (off > 0)
			seg[p.p_iphl + TCP_OFF_FLAGS] &= ~TH_CWR;
		if (pkt_parse(&q, seg, hlen + k) != PKT_OK)
			sc_fail("%s: a segment of a super-packet does not parse",
			    n->n_name);
		if (m->pm_csum_partial)
			sc_tun_cut_csum(whole, &p, &q);
		else
			pkt_tcp_csum_set(&q);
		sc_tun_queue(n, seg, hlen + k);
	}
}

static ssize_t
sc_tun_write(void *arg, const uint8_t *pkt, size_t len,
    const struct pkt_meta *m)
{
	struct sc_node	*n = arg;
	struct sc_pkt	*sp;

	if (n->n_dead)
		return (ssize_t)len;
	if (m != NULL && (m->pm_gso_tcp4 || m->pm_gso_tcp6)) {
		sc_tun_cut(n, pkt, len, m);
		return (ssize_t)len;
	}
	sp = sc_tun_queue(n, pkt, len);
	/* What the kernel does with a checksum left partial (offloads): sums
	 * from csum_start on, the field (the pseudo-header's sum) included,
	 * and stores the complement; the match then checks the result. */
	if (m != NULL && m->pm_csum_partial) {
		struct pkt	 p;

		if (pkt_parse(&p, sp->sp_data, len) == PKT_OK &&
		    p.p_tcp != NULL && m->pm_csum_start == p.p_iphl &&
		    m->pm_csum_offset == TCP_OFF_CSUM)
			pkt_put16(p.p_tcp + TCP_OFF_CSUM, pkt_csum_partial(
			    p.p_tcp, p.p_len - p.p_iphl, 0));
	}
	return (ssize_t)len;
}

static void
sc_link_move(struct bufferevent *from, struct bufferevent *to)
{
	evbuffer_add_buffer(bufferevent_get_output(to),
	    bufferevent_get_input(from));
}

static struct sc_link *
sc_link_of(struct bufferevent *bev)
{
	int	 i;

	for (i = 0; i < sc.s_nlinks; i++)
		if (sc.s_links[i].l_a == bev || sc.s_links[i].l_b == bev)
			return &sc.s_links[i];
	return NULL;
}

static void
sc_link_read(struct bufferevent *bev, void *arg)
{
	struct sc_link	*l = sc_link_of(bev);

	if (l == NULL || (bev == l->l_a ? l->l_held12 : l->l_held21))
		return;
	sc_link_move(bev, bev == l->l_a ? l->l_b : l->l_a);
}

static void
sc_link_event(struct bufferevent *bev, short what, void *arg)
{
}

/*
 * peer.c dials a peer: two in-memory pairs with the harness between them.
 * The far end goes to the peer now, or when it starts.
 */
static struct bufferevent *
sc_dial(void *arg, struct hd *hd, int idx)
{
	struct sc_node		*from = arg, *to;
	struct bufferevent	*p1[2], *p2[2];
	struct sc_link		*l;
	struct sockaddr_in	 sin;

	if ((to = sc_node(hd->hd_cfg->cfg_peers[idx].cp_id)) == NULL ||
	    to->n_killed || sc.s_parted[from - sc.s_nodes][to - sc.s_nodes])
		return NULL;	/* a killed node refuses connections */
	/* Refusing would pass for a partition the fixture never made. */
	if (sc.s_nlinks == SC_LINKS)
		sc_fail("more than %d control connections dialled", SC_LINKS);
	if (bufferevent_pair_new(sc.s_base, BEV_OPT_DEFER_CALLBACKS, p1) ||
	    bufferevent_pair_new(sc.s_base, BEV_OPT_DEFER_CALLBACKS, p2))
		sc_fail("bufferevent_pair_new");
	l = &sc.s_links[sc.s_nlinks++];
	l->l_a = p1[1];
	l->l_b = p2[0];
	l->l_n1 = (int)(from - sc.s_nodes);
	l->l_n2 = (int)(to - sc.s_nodes);
	l->l_held12 = l->l_held21 = 0;
	bufferevent_setcb(l->l_a, sc_link_read, NULL, sc_link_event, NULL);
	bufferevent_setcb(l->l_b, sc_link_read, NULL, sc_link_event, NULL);
	bufferevent_enable(l->l_a, EV_READ | EV_WRITE);
	bufferevent_enable(l->l_b, EV_READ | EV_WRITE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr_get4(&hd->hd_cfg->cfg_node.cn_control.ep_addr);
	sin.sin_port = htons(40000 + sc.s_nlinks);
	if (to->n_started)
		peer_accept_bev(&to->n_hd, p2[1], &sin);
	else {
		to->n_pending[to->n_npending].pa_bev = p2[1];
		to->n_pending[to->n_npending++].pa_sin = sin;
	}
	return p1[0];
}

static void
sc_http_hello(struct evhttp_request *req, void *arg)
{
	struct sc_node	*n = arg;
	struct evbuffer	*b = evbuffer_new();
	const char	*uri = evhttp_request_get_uri(req);
	unsigned long	 size;
	char		*end;

	/* /size/N: N bytes (up to 1 MB) of 'b', for segment sizes. */
	if (strncmp(uri, "/size/", 6) == 0 &&
	    (size = strtoul(uri + 6, &end, 10)) <= 1 << 20 && *end == '\0') {
		char	 chunk[1024];
		size_t	 k;

		memset(chunk, 'b', sizeof(chunk));
		for (; size > 0; size -= k) {
			k = size < sizeof(chunk) ? size : sizeof(chunk);
			evbuffer_add(b, chunk, k);
		}
	} else
		evbuffer_add_printf(b, "hello from %s\n", n->n_name);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* The node's web server: evhttp on a loopback port of the system's
 * choosing, answering every request with one line naming the node, but
 * /size/N. */
static void
sc_http_start(struct sc_node *n)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);

	if (n->n_http != NULL)
		return;
	if ((n->n_http = evhttp_new(sc.s_base)) == NULL ||
	    (bs = evhttp_bind_socket_with_handle(n->n_http, "127.0.0.1",
	    0)) == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &slen) == -1)
		sc_fail("cannot start a web server for %s", n->n_name);
	evhttp_set_gencb(n->n_http, sc_http_hello, n);
	n->n_http_port = ntohs(sin.sin_port);
	sc.s_servers++;
}

/* A TCP socket bound to a loopback port of the system's choosing, its
 * address in sin; -1 on failure. */
static int
sc_loopback_bound(struct sockaddr_in *sin)
{
	socklen_t	 slen = sizeof(*sin);
	int		 fd;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &slen) == -1)
		return -1;
	return fd;
}

/* A server that takes no connection: a listening socket whose accept
 * queue one connection fills, after which the kernel drops every SYN (a
 * server overwhelmed): a connect to it waits.  Both sockets stay open for
 * the process's life. */
static uint16_t
sc_stall_start(void)
{
	struct sockaddr_in	 sin;
	int			 l, c;

	if (sc.s_stall_port != 0)
		return sc.s_stall_port;
	if ((l = sc_loopback_bound(&sin)) == -1 || listen(l, 0) == -1 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		sc_fail("cannot set up a stalled server");
	sc.s_stall_port = ntohs(sin.sin_port);
	return sc.s_stall_port;
}

/* A port where nothing listens, kept bound (not listening) so that no
 * one else takes it: a connect to it is refused. */
static uint16_t
sc_closed_start(void)
{
	struct sockaddr_in	 sin;

	if (sc.s_closed_port != 0)
		return sc.s_closed_port;
	if (sc_loopback_bound(&sin) == -1)
		sc_fail("cannot set up a closed port");
	sc.s_closed_port = ntohs(sin.sin_port);
	return sc.s_closed_port;
}

/* The node's configuration with @SERVER@, @STALL@ and @CLOSED@ replaced,
 * and the private file name it has, so that relative paths find
 * cluster.key. */
static void
sc_config_text(struct sc_node *n, char *text, size_t size, char *path,
    size_t pathsize)
{
	char		 srv[32];
	static const char *const tokens[] = { "@SERVER@", "@STALL@",
				    "@CLOSED@" };
	const char	*s = n->n_yaml, *at, *t;
	size_t		 len = 0, i, which;

	text[0] = '\0';
	for (;;) {
		at = NULL;
		which = 0;
		for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
			if ((t = strstr(s, tokens[i])) != NULL &&
			    (at == NULL || t < at)) {
				at = t;
				which = i;
			}
		if (at == NULL)
			break;
		if (which == 0)
			sc_http_start(n);
		snprintf(srv, sizeof(srv), "127.0.0.1:%u", which == 0 ?
		    n->n_http_port : which == 1 ? sc_stall_start() :
		    sc_closed_start());
		len += snprintf(text + len, size - len, "%.*s%s",
		    (int)(at - s), s, srv);
		s = at + strlen(tokens[which]);
	}
	snprintf(text + len, size - len, "%s", s);
	snprintf(path, pathsize, "%s/%s.yaml", sc.s_dir, n->n_name);
}

static struct cfg *
sc_config(struct sc_node *n)
{
	char		 text[16384], path[512], err[1024];
	struct cfg	*cfg;

	sc_config_text(n, text, sizeof(text), path, sizeof(path));
	if ((cfg = cfg_parse(path, text, strlen(text), err, sizeof(err))) ==
	    NULL)
		sc_fail("node %s: %s", n->n_name, err);
	/* The nodes of a scenario share the process and the host's /run. */
	cfg->cfg_node.cn_admin_socket[0] = '\0';
	return cfg;
}

/* lwip.loss_tolerance auto reads the host's congestion control, which must
 * not change a scenario's outcome: auto is 0 here. */
static void
sc_loss_tolerance(const struct hd *hd)
{
	if (hd->hd_cfg->cfg_lwip.cl_loss_tol == CFG_LOSS_AUTO)
		port_set_loss_tolerance(0);
}

static void
sc_start_node(struct sc_node *n)
{
	struct hd	*hd = &n->n_hd;
	int		 i;

	memset(hd, 0, sizeof(*hd));
	hd->hd_cfg = sc_config(n);
	hd->hd_base = sc.s_base;
	hd->hd_tun_fd = -1;
	hd->hd_tun_out.bt_write = sc_tun_write;
	hd->hd_tun_out.bt_arg = n;
	hd->hd_tun_out.bt_offload = sc.s_gso;
	hd->hd_dial = sc_dial;
	hd->hd_dial_arg = n;
	hd->hd_manual_clock = 1;
	node_start(hd);
	sc_loss_tolerance(hd);
	n->n_started = 1;
	for (i = 0; i < n->n_npending; i++)
		peer_accept_bev(hd, n->n_pending[i].pa_bev,
		    &n->n_pending[i].pa_sin);
	n->n_npending = 0;
}

/* Runs what is ready: deferred callbacks, ready sockets, due timers. */
static void
sc_settle(void)
{
	int	 i;

	for (i = 0; i < 64; i++)
		event_base_loop(sc.s_base, EVLOOP_NONBLOCK);
}

/* The clock moves on by ms and us: every node's timers and expiry run. */
static void
sc_advance_us(uint32_t ms, uint32_t us)
{
	int	 i;

	sc_now_us += us;
	sc_now += ms + sc_now_us / 1000;
	sc_now_us %= 1000;
	for (i = 0; i < sc.s_nnodes; i++)
		if (sc.s_nodes[i].n_started) {
			sc.s_nodes[i].n_hd.hd_now = sc_now;
			node_tick(&sc.s_nodes[i].n_hd);
		}
	sc_settle();
}

static int
sc_elapsed_ms(const struct timespec *a)
{
	struct timespec	 b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (int)((b.tv_sec - a->tv_sec) * 1000 +
	    (b.tv_nsec - a->tv_nsec) / 1000000);
}

/* ... by ms. */
static void
sc_advance(uint32_t ms)
{
	sc_advance_us(ms, 0);
}

/* ms of real time pass, for libevent's timers, and of the clock with it. */
static void
sc_run_for(int ms)
{
	struct timespec	 a;
	int		 done = 0, e;

	clock_gettime(CLOCK_MONOTONIC, &a);
	while (done < ms) {
		usleep(1000);
		e = sc_elapsed_ms(&a);
		if (e > ms)
			e = ms;
		sc_advance((uint32_t)(e - done));
		done = e;
	}
}

/* ------------------------------------------------------------------ */
/* The packet notation. */

enum sc_vkind { SC_NONE, SC_LIT, SC_VAR };

struct sc_val {
	enum sc_vkind	 v_kind;
	uint32_t	 v_lit;
	char		 v_var[32];
	int64_t		 v_off;
};

#define SC_OPTS		16

struct sc_opt {
	uint8_t		 o_kind;	/* TCPOPT_* */
	struct sc_val	 o_v[8];	/* mss/ws: [0]; TS: val, ecr; SACK */
	int		 o_nv;
};

struct sc_spec {
	struct ipaddr	 s_saddr, s_daddr;
	uint16_t	 s_sport, s_dport;	/* host order */
	uint8_t		 s_flags;
	uint8_t		 s_flags_any;	/* not checked: PSH written 'p' */
	struct sc_val	 s_seq, s_ack, s_win;
	int		 s_has_opts;
	struct sc_opt	 s_opts[SC_OPTS];
	int		 s_nopts;
	int		 s_has_len;
	uint32_t	 s_len;
	char		*s_payload;		/* NULL: none given */
	size_t		 s_paylen;
	int		 s_pay_part;		/* 1: a prefix, -1: a suffix */
	int		 s_bad_csum;
};

static char *
sc_word(char **s)
{
	char	*w;

	while (isspace((unsigned char)**s))
		(*s)++;
	if (**s == '\0')
		return NULL;
	w = *s;
	while (**s != '\0' && !isspace((unsigned char)**s))
		(*s)++;
	if (**s != '\0')
		*(*s)++ = '\0';
	return w;
}

static void
sc_parse_val(const char *w, struct sc_val *v)
{
	char	*end;
	const char *op;

	memset(v, 0, sizeof(*v));
	if (w == NULL)
		sc_fail("a value is missing");
	if (w[0] == '$') {
		v->v_kind = SC_VAR;
		op = strpbrk(w + 1, "+-");
		if (op == NULL)
			op = w + strlen(w);
		if (op - w - 1 <= 0 || op - w - 1 >= (int)sizeof(v->v_var))
			sc_fail("bad variable \"%s\"", w);
		memcpy(v->v_var, w + 1, op - w - 1);
		if (*op != '\0') {
			v->v_off = strtoll(op + 1, &end, 0);
			if (*end != '\0')
				sc_fail("bad offset in \"%s\"", w);
			if (*op == '-')
				v->v_off = -v->v_off;
		}
		return;
	}
	v->v_kind = SC_LIT;
	errno = 0;
	v->v_lit = (uint32_t)strtoul(w, &end, 0);
	if (*end != '\0' || errno != 0)
		sc_fail("bad number \"%s\"", w);
}

static struct sc_var *
sc_var(const char *name)
{
	int	 i;

	for (i = 0; i < sc.s_nvars; i++)
		if (strcmp(sc.s_vars[i].v_name, name) == 0)
			return &sc.s_vars[i];
	return NULL;
}

/* The value of v for input: every variable must be bound. */
static uint32_t
sc_eval(const struct sc_val *v)
{
	struct sc_var	*x;

	if (v->v_kind == SC_LIT)
		return v->v_lit;
	if ((x = sc_var(v->v_var)) == NULL)
		sc_fail("$%s is not bound yet", v->v_var);
	return x->v_val + (uint32_t)v->v_off;
}

/* Whether actual matches v, binding v's variable on first sight. */
static int
sc_match(const struct sc_val *v, uint32_t actual)
{
	struct sc_var	*x;

	if (v->v_kind == SC_NONE)
		return 1;
	if (v->v_kind == SC_LIT)
		return actual == v->v_lit;
	if ((x = sc_var(v->v_var)) == NULL) {
		if (sc.s_nvars == SC_VARS)
			sc_fail("too many variables");
		x = &sc.s_vars[sc.s_nvars++];
		snprintf(x->v_name, sizeof(x->v_name), "%s", v->v_var);
		x->v_val = actual - (uint32_t)v->v_off;
		return 1;
	}
	return actual == x->v_val + (uint32_t)v->v_off;
}

static void
sc_parse_endpoint(const char *w, struct ipaddr *addr, uint16_t *port)
{
	char		 buf[64], *colon;
	struct in_addr	 a;

	if (w == NULL || strlen(w) >= sizeof(buf))
		sc_fail("an endpoint is missing");
	snprintf(buf, sizeof(buf), "%s", w);
	if ((colon = strrchr(buf, ':')) == NULL)
		sc_fail("bad endpoint \"%s\"", w);
	*colon = '\0';
	/* [IPv6 address]:port */
	if (buf[0] == '[' && colon > buf + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		if (inet_pton(AF_INET6, buf + 1, addr->a_w) != 1)
			sc_fail("bad address \"%s\"", buf + 1);
		*port = (uint16_t)atoi(colon + 1);
		return;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		sc_fail("bad address \"%s\"", buf);
	*addr = addr4(a.s_addr);
	*port = (uint16_t)atoi(colon + 1);
}

static void
sc_parse_flags(const char *w, struct sc_spec *sp)
{
	uint8_t	 f = 0;

	sp->s_flags_any = 0;
	for (; *w != '\0'; w++)
		switch (*w) {
		case 'S': f |= TH_SYN; break;
		case 'F': f |= TH_FIN; break;
		case 'R': f |= TH_RST; break;
		case 'P': f |= TH_PUSH; break;
		case 'p': sp->s_flags_any |= TH_PUSH; break;
		case 'U': f |= TH_URG; break;
		case 'E': f |= TH_ECE; break;
		case 'W': f |= TH_CWR; break;
		case '.': f |= TH_ACK; break;
		default: sc_fail("bad flags \"%s\"", w);
		}
	sp->s_flags = f;
}

/* "<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>", from after the '<'. */
static void
sc_parse_opts(char **s, struct sc_spec *sp)
{
	char	*end = strchr(*s, '>'), *item, *save = NULL, *w, *ws;

	if (end == NULL)
		sc_fail("options without '>'");
	*end = '\0';
	sp->s_has_opts = 1;
	for (item = strtok_r(*s, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		struct sc_opt *o;

		if (sp->s_nopts == SC_OPTS)
			sc_fail("too many options");
		o = &sp->s_opts[sp->s_nopts++];
		memset(o, 0, sizeof(*o));
		ws = item;
		w = sc_word(&ws);
		if (w == NULL)
			sc_fail("empty option");
		if (strcmp(w, "mss") == 0) {
			o->o_kind = TCPOPT_MSS;
			sc_parse_val(sc_word(&ws), &o->o_v[o->o_nv++]);
		} else if (strcmp(w, "wscale") == 0) {
			o->o_kind = TCPOPT_WS;
			sc_parse_val(sc_word(&ws), &o->o_v[o->o_nv++]);
		} else if (strcmp(w, "sackOK") == 0)
			o->o_kind = TCPOPT_SACK_OK;
		else if (strcmp(w, "nop") == 0)
			o->o_kind = TCPOPT_NOP;
		else if (strcmp(w, "TS") == 0) {
			o->o_kind = TCPOPT_TS;
			if ((w = sc_word(&ws)) == NULL || strcmp(w, "val"))
				sc_fail("TS val V ecr V");
			sc_parse_val(sc_word(&ws), &o->o_v[o->o_nv++]);
			if ((w = sc_word(&ws)) == NULL || strcmp(w, "ecr"))
				sc_fail("TS val V ecr V");
			sc_parse_val(sc_word(&ws), &o->o_v[o->o_nv++]);
		} else if (strcmp(w, "sack") == 0) {
			o->o_kind = TCPOPT_SACK;
			while ((w = sc_word(&ws)) != NULL) {
				char *colon = strchr(w, ':');

				if (colon == NULL || o->o_nv + 2 > 8)
					sc_fail("sack L:R ...");
				*colon = '\0';
				sc_parse_val(w, &o->o_v[o->o_nv++]);
				sc_parse_val(colon + 1, &o->o_v[o->o_nv++]);
			}
		} else
			sc_fail("unknown option \"%s\"", w);
		if (sc_word(&ws) != NULL)
			sc_fail("junk after option \"%s\"", item);
	}
	*s = end + 1;
}

/* A C-like string from after the opening quote. */
static void
sc_parse_payload(char **s, struct sc_spec *sp)
{
	char	*p = *s, *out;

	if ((out = sp->s_payload = malloc(strlen(p) + 1)) == NULL)
		sc_fail("out of memory");
	for (; *p != '"'; p++) {
		if (*p == '\0')
			sc_fail("unterminated payload");
		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		switch (*++p) {
		case 'r': *out++ = '\r'; break;
		case 'n': *out++ = '\n'; break;
		case 't': *out++ = '\t'; break;
		case '\\': *out++ = '\\'; break;
		case '"': *out++ = '"'; break;
		case 'x': {
			char hex[3] = { p[1], p[2], 0 };

			*out++ = (char)strtoul(hex, NULL, 16);
			p += 2;
			break;
		}
		default:
			sc_fail("bad escape in payload");
		}
	}
	sp->s_paylen = (size_t)(out - sp->s_payload);
	*s = p + 1;
}

static void
sc_parse_packet(char *s, struct sc_spec *sp)
{
	char	*w;

	memset(sp, 0, sizeof(*sp));
	sc_parse_endpoint(sc_word(&s), &sp->s_saddr, &sp->s_sport);
	if ((w = sc_word(&s)) == NULL || strcmp(w, ">") != 0)
		sc_fail("expected '>'");
	sc_parse_endpoint(sc_word(&s), &sp->s_daddr, &sp->s_dport);
	if ((w = sc_word(&s)) == NULL)
		sc_fail("flags are missing");
	sc_parse_flags(w, sp);
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (*s == '<') {
			s++;
			sc_parse_opts(&s, sp);
			continue;
		}
		if (*s == '"' || strncmp(s, "...\"", 4) == 0) {
			if (*s == '.') {
				sp->s_pay_part = -1;
				s += 3;
			}
			s++;
			sc_parse_payload(&s, sp);
			if (strncmp(s, "...", 3) == 0 && sp->s_pay_part == 0) {
				sp->s_pay_part = 1;
				s += 3;
			}
			continue;
		}
		w = sc_word(&s);
		if (strcmp(w, "seq") == 0)
			sc_parse_val(sc_word(&s), &sp->s_seq);
		else if (strcmp(w, "ack") == 0)
			sc_parse_val(sc_word(&s), &sp->s_ack);
		else if (strcmp(w, "win") == 0)
			sc_parse_val(sc_word(&s), &sp->s_win);
		else if (strcmp(w, "len") == 0) {
			struct sc_val v;

			sc_parse_val(sc_word(&s), &v);
			sp->s_has_len = 1;
			sp->s_len = sc_eval(&v);
		} else if (strcmp(w, "csum") == 0 && (w = sc_word(&s)) != NULL &&
		    strcmp(w, "bad") == 0)
			sp->s_bad_csum = 1;
		else
			sc_fail("unknown field \"%s\"", w);
	}
}

/* The option bytes of a packet to send, in the order given. */
static size_t
sc_build_opts(const struct sc_spec *sp, uint8_t *b)
{
	size_t	 n = 0;
	int	 i, j;

	for (i = 0; i < sp->s_nopts; i++) {
		const struct sc_opt *o = &sp->s_opts[i];

		switch (o->o_kind) {
		case TCPOPT_NOP:
			b[n++] = TCPOPT_NOP;
			break;
		case TCPOPT_MSS:
			b[n++] = TCPOPT_MSS;
			b[n++] = 4;
			pkt_put16(b + n, (uint16_t)sc_eval(&o->o_v[0]));
			n += 2;
			break;
		case TCPOPT_WS:
			b[n++] = TCPOPT_WS;
			b[n++] = 3;
			b[n++] = (uint8_t)sc_eval(&o->o_v[0]);
			break;
		case TCPOPT_SACK_OK:
			b[n++] = TCPOPT_SACK_OK;
			b[n++] = 2;
			break;
		case TCPOPT_TS:
			b[n++] = TCPOPT_TS;
			b[n++] = 10;
			pkt_put32(b + n, sc_eval(&o->o_v[0]));
			pkt_put32(b + n + 4, sc_eval(&o->o_v[1]));
			n += 8;
			break;
		case TCPOPT_SACK:
			b[n++] = TCPOPT_SACK;
			b[n++] = (uint8_t)(2 + 4 * o->o_nv);
			for (j = 0; j < o->o_nv; j++, n += 4)
				pkt_put32(b + n, sc_eval(&o->o_v[j]));
			break;
		}
	}
	while (n % 4 != 0)
		b[n++] = TCPOPT_EOL;
	if (n > PKT_TCP_OPTMAX)
		sc_fail("options over 40 bytes");
	return n;
}

/* Builds the packet a tun< line describes; returns its length. */
static size_t
sc_build(const struct sc_spec *sp, uint8_t *buf, size_t max)
{
	uint8_t		 opts[64];
	size_t		 optlen = sc_build_opts(sp, opts), paylen, len, iphl;
	struct pkt	 p;

	paylen = sp->s_payload != NULL ? sp->s_paylen :
	    sp->s_has_len ? sp->s_len : 0;
	if (PKT_IP6_HLEN + PKT_TCP_HLEN + optlen + paylen > max)
		sc_fail("packet too long");
	if (sp->s_pay_part != 0)
		sc_fail("a packet to send has its whole payload");
	len = pkt_build_tcp(buf, max, &sp->s_saddr, htons(sp->s_sport),
	    &sp->s_daddr, htons(sp->s_dport), sc_eval(&sp->s_seq),
	    sp->s_ack.v_kind != SC_NONE ? sc_eval(&sp->s_ack) : 0, sp->s_flags,
	    sp->s_win.v_kind != SC_NONE ? (uint16_t)sc_eval(&sp->s_win) :
	    65535, NULL, NULL, 0, 0);
	if (len == 0)
		sc_fail("cannot build the packet");
	/* Splice in our option area and payload, then the checksums. */
	if (sp->s_payload != NULL)
		memcpy(buf + len + optlen, sp->s_payload, paylen);
	else
		memset(buf + len + optlen, 'x', paylen);
	memcpy(buf + len, opts, optlen);
	iphl = addr_is4(&sp->s_saddr) ? PKT_IP_HLEN : PKT_IP6_HLEN;
	buf[iphl + TCP_OFF_DOFF] = (uint8_t)((PKT_TCP_HLEN + optlen) / 4 << 4);
	len += optlen + paylen;
	if (iphl == PKT_IP_HLEN) {
		pkt_put16(buf + IP_OFF_TOTLEN, (uint16_t)len);
		pkt_put16(buf + IP_OFF_CSUM, pkt_ip_csum(buf, PKT_IP_HLEN));
	} else
		pkt_put16(buf + IP6_OFF_PLEN, (uint16_t)(len - iphl));
	if (pkt_parse(&p, buf, len) != PKT_OK)
		sc_fail("built a packet that does not parse");
	pkt_tcp_csum_set(&p);
	if (sp->s_bad_csum)
		buf[iphl + TCP_OFF_CSUM] ^= 0x5a;
	return len;
}

/* An actual packet in the notation, for a failure's message. */
static void
sc_format(uint8_t *buf, size_t len, char *out, size_t outlen)
{
	struct pkt	 p;
	char		 a[ADDR_PORT_STRLEN], b[ADDR_PORT_STRLEN], fl[12];
	const uint8_t	*o;
	size_t		 n = 0, i, olen;
	int		 k = 0;

	if (pkt_parse(&p, buf, len) != PKT_OK) {
		snprintf(out, outlen, "(%zu bytes, not TCP)", len);
		return;
	}
	addr_port_str(&p.p_saddr, p.p_sport, a, sizeof(a));
	addr_port_str(&p.p_daddr, p.p_dport, b, sizeof(b));
	if (p.p_flags & TH_SYN) fl[k++] = 'S';
	if (p.p_flags & TH_FIN) fl[k++] = 'F';
	if (p.p_flags & TH_RST) fl[k++] = 'R';
	if (p.p_flags & TH_PUSH) fl[k++] = 'P';
	if (p.p_flags & TH_ACK) fl[k++] = '.';
	fl[k] = '\0';
	n += snprintf(out + n, outlen - n, "%s > %s %s seq %u ack %u win %u", a,
	    b, fl, p.p_seq, p.p_ack, p.p_win);
	o = p.p_tcp + PKT_TCP_HLEN;
	olen = p.p_thl - PKT_TCP_HLEN;
	if (olen > 0)
		n += snprintf(out + n, outlen - n, " <");
	for (i = 0; i < olen && n < outlen - 64;) {
		const char *sep = i ? "," : "";

		if (o[i] == TCPOPT_EOL)
			break;
		if (o[i] == TCPOPT_NOP) {
			n += snprintf(out + n, outlen - n, "%snop", sep);
			i++;
			continue;
		}
		if (i + 1 >= olen || o[i + 1] < 2 || i + o[i + 1] > olen)
			break;
		if (o[i] == TCPOPT_MSS && o[i + 1] == 4)
			n += snprintf(out + n, outlen - n, "%smss %u", sep,
			    pkt_get16(o + i + 2));
		else if (o[i] == TCPOPT_WS && o[i + 1] == 3)
			n += snprintf(out + n, outlen - n, "%swscale %u", sep,
			    o[i + 2]);
		else if (o[i] == TCPOPT_SACK_OK)
			n += snprintf(out + n, outlen - n, "%ssackOK", sep);
		else if (o[i] == TCPOPT_TS && o[i + 1] == 10)
			n += snprintf(out + n, outlen - n, "%sTS val %u ecr %u",
			    sep, pkt_get32(o + i + 2), pkt_get32(o + i + 6));
		else if (o[i] == TCPOPT_SACK) {
			size_t j;

			n += snprintf(out + n, outlen - n, "%ssack", sep);
			for (j = i + 2; j + 8 <= i + o[i + 1]; j += 8)
				n += snprintf(out + n, outlen - n, " %u:%u",
				    pkt_get32(o + j), pkt_get32(o + j + 4));
		} else
			n += snprintf(out + n, outlen - n, "%sopt%u", sep,
			    o[i]);
		i += o[i + 1];
	}
	if (olen > 0)
		n += snprintf(out + n, outlen - n, ">");
	snprintf(out + n, outlen - n, " len %u", p.p_paylen);
}

/* The options of an actual packet, nops left out, against the spec's. */
static int
sc_match_opts(const struct sc_spec *sp, const struct pkt *p)
{
	const uint8_t	*o = p->p_tcp + PKT_TCP_HLEN;
	size_t		 olen = p->p_thl - PKT_TCP_HLEN, i = 0;
	int		 k = 0, j;

	for (;;) {
		while (k < sp->s_nopts && sp->s_opts[k].o_kind == TCPOPT_NOP)
			k++;
		while (i < olen && o[i] == TCPOPT_NOP)
			i++;
		if (i >= olen || o[i] == TCPOPT_EOL)
			return k == sp->s_nopts;
		if (k == sp->s_nopts || i + 1 >= olen || o[i + 1] < 2 ||
		    i + o[i + 1] > olen || o[i] != sp->s_opts[k].o_kind)
			return 0;
		switch (o[i]) {
		case TCPOPT_MSS:
			if (!sc_match(&sp->s_opts[k].o_v[0], pkt_get16(o + i + 2)))
				return 0;
			break;
		case TCPOPT_WS:
			if (!sc_match(&sp->s_opts[k].o_v[0], o[i + 2]))
				return 0;
			break;
		case TCPOPT_TS:
			if (!sc_match(&sp->s_opts[k].o_v[0], pkt_get32(o + i + 2)) ||
			    !sc_match(&sp->s_opts[k].o_v[1], pkt_get32(o + i + 6)))
				return 0;
			break;
		case TCPOPT_SACK:
			if ((o[i + 1] - 2) / 4 != sp->s_opts[k].o_nv)
				return 0;
			for (j = 0; j < sp->s_opts[k].o_nv; j++)
				if (!sc_match(&sp->s_opts[k].o_v[j],
				    pkt_get32(o + i + 2 + 4 * j)))
					return 0;
			break;
		}
		i += o[i + 1];
		k++;
	}
}

static int
sc_match_payload(const struct sc_spec *sp, const struct pkt *p)
{
	const uint8_t	*d = p->p_tcp + p->p_thl;

	if (p->p_paylen < sp->s_paylen ||
	    (sp->s_pay_part == 0 && p->p_paylen != sp->s_paylen))
		return 0;
	if (sp->s_pay_part < 0)
		d += p->p_paylen - sp->s_paylen;
	return memcmp(d, sp->s_payload, sp->s_paylen) == 0;
}

/* Whether an actual packet is what the spec expects; binds variables. */
static int
sc_match_packet(const struct sc_spec *sp, uint8_t *buf, size_t len,
    const char **why)
{
	struct pkt	 p;

	if (pkt_parse(&p, buf, len) != PKT_OK)
		return *why = "not a TCP packet", 0;
	if (!p.p_v6 && pkt_ip_csum(buf, p.p_iphl) !=
	    pkt_get16(buf + IP_OFF_CSUM))
		return *why = "bad IP checksum", 0;
	if (!pkt_tcp_csum_ok(&p))
		return *why = "bad TCP checksum", 0;
	*why = "fields differ";
	if (!addr_eq(&p.p_saddr, &sp->s_saddr) ||
	    !addr_eq(&p.p_daddr, &sp->s_daddr) ||
	    ntohs(p.p_sport) != sp->s_sport ||
	    ntohs(p.p_dport) != sp->s_dport ||
	    (p.p_flags & ~sp->s_flags_any) != sp->s_flags)
		return 0;
	if (!sc_match(&sp->s_seq, p.p_seq) || !sc_match(&sp->s_ack, p.p_ack) ||
	    !sc_match(&sp->s_win, p.p_win))
		return 0;
	if (sp->s_has_opts && !sc_match_opts(sp, &p))
		return *why = "options differ", 0;
	if (sp->s_has_len && p.p_paylen != sp->s_len)
		return *why = "length differs", 0;
	if (sp->s_payload != NULL && !sc_match_payload(sp, &p))
		return *why = "payload differs", 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* The commands. */

static struct sc_node *
sc_node_arg(const char *name)
{
	struct sc_node	*n;

	if (name == NULL || (n = sc_node(name)) == NULL || !n->n_started)
		sc_fail("no started node \"%s\"", name ? name : "");
	return n;
}

static void
sc_cmd_input(struct sc_node *n, char *rest, int settle)
{
	struct sc_spec	 sp;
	uint8_t		 buf[PKT_MAXLEN];
	struct pkt_meta	 m;
	size_t		 len;

	sc_parse_packet(rest, &sp);
	len = sc_build(&sp, buf, sizeof(buf));
	free(sp.s_payload);
	memset(&m, 0, sizeof(m));
	n->n_hd.hd_now = sc_now;
	btcp_input(&n->n_hd, buf, len, &m);
	if (settle)
		sc_settle();
}

/* The next packet n wrote, waiting up to wait_ms of real time for what
 * real I/O (a web server's socket) may still bring. */
static struct sc_pkt *
sc_next_output(struct sc_node *n, int wait_ms)
{
	struct timespec	 a;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		sc_settle();
		if (n->n_qlen > 0)
			return &n->n_q[n->n_qhead];
		if (sc_elapsed_ms(&a) >= wait_ms)
			return NULL;
		usleep(1000);
	}
}

static void
sc_pop(struct sc_node *n)
{
	free(n->n_q[n->n_qhead].sp_data);
	n->n_qhead = (n->n_qhead + 1) % SC_QUEUE;
	n->n_qlen--;
}

static void
sc_cmd_expect(struct sc_node *n, char *rest)
{
	struct sc_spec	 sp;
	struct sc_pkt	*out;
	char		 got[1024], want[SC_LINE];
	const char	*why;

	while (isspace((unsigned char)*rest))
		rest++;
	if (strcmp(rest, "none") == 0) {
		if ((out = sc_next_output(n, SC_QUIET_MS)) != NULL) {
			sc_format(out->sp_data, out->sp_len, got, sizeof(got));
			sc_fail("%s wrote a packet, expected none:\n  got  %s",
			    n->n_name, got);
		}
		return;
	}
	snprintf(want, sizeof(want), "%s", rest);	/* parsing cuts it */
	sc_parse_packet(rest, &sp);
	/* Real time lets libevent's timers fire: wait only for what a web
	 * server's socket may bring. */
	if ((out = sc_next_output(n, sc.s_servers > 0 ? SC_WAIT_MS :
	    SC_QUIET_MS)) == NULL)
		sc_fail("%s wrote nothing, expected:\n  want %s", n->n_name,
		    want);
	if (!sc_match_packet(&sp, out->sp_data, out->sp_len, &why)) {
		sc_format(out->sp_data, out->sp_len, got, sizeof(got));
		sc_fail("%s: %s:\n  want %s\n  got  %s", n->n_name, why,
		    want, got);
	}
	free(sp.s_payload);
	sc_pop(n);
}

/*
 * Each socket of ours connected to n's web server (a relay's) gets a large
 * receive buffer, so that the server can stay a whole read ahead of it;
 * returns how many there are, and in *least the fewest bytes one holds.
 */
static int
sc_relay_socks(struct sc_node *n, int *least)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	int			 fd, k = 0, v, big = 4 * RELAY_READ;

	*least = -1;
	for (fd = 0; fd < 1024; fd++) {
		slen = sizeof(sin);
		if (getpeername(fd, (struct sockaddr *)&sin, &slen) == -1 ||
		    sin.sin_family != AF_INET ||
		    sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK) ||
		    ntohs(sin.sin_port) != n->n_http_port)
			continue;
		slen = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &slen) == -1 ||
		    (v < big && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big,
		    sizeof(big)) == -1) || ioctl(fd, FIONREAD, &v) == -1)
			sc_fail("a relay's socket: %s", strerror(errno));
		if (*least == -1 || v < *least)
			*least = v;
		k++;
	}
	return k;
}

static void
sc_cmd_server_ahead(struct sc_node *n)
{
	struct timespec	 a;
	int		 least, k;

	if (n->n_http == NULL)
		sc_fail("%s has no web server", n->n_name);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		sc_settle();
		if ((k = sc_relay_socks(n, &least)) > 0 && least >= RELAY_READ)
			return;
		if (sc_elapsed_ms(&a) >= SC_WAIT_MS)
			sc_fail("%s's web server: %d connections, the emptiest "
			    "holds %d bytes unread, expected %d", n->n_name, k,
			    least, RELAY_READ);
		usleep(1000);
	}
}

static void
sc_cmd_show(struct sc_node *n)
{
	char	 got[1024];
	int	 i;

	sc_next_output(n, SC_QUIET_MS);
	for (i = 0; i < n->n_qlen; i++) {
		struct sc_pkt *sp = &n->n_q[(n->n_qhead + i) % SC_QUEUE];

		sc_format(sp->sp_data, sp->sp_len, got, sizeof(got));
		/* stderr, as a failure's report: in order with it */
		fprintf(stderr, "%s:%d: %s tun> %s\n", sc.s_file, sc.s_line,
		    n->n_name, got);
	}
}

static void
sc_cmd_stat(struct sc_node *n, char *rest)
{
	char		*name = sc_word(&rest), *want = sc_word(&rest);
	char		 path[512], line[256], k[128];
	unsigned long long v;
	FILE		*fp;

	if (name == NULL || want == NULL)
		sc_fail("stat NAME VALUE");
	snprintf(path, sizeof(path), "%s/%s.status", sc.s_dir, n->n_name);
	if (stats_write(&n->n_hd, path) == -1 ||
	    (fp = fopen(path, "r")) == NULL)
		sc_fail("cannot write %s's counters", n->n_name);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%127s %llu", k, &v) == 2 &&
		    strcmp(k, name) == 0) {
			fclose(fp);
			if (v != strtoull(want, NULL, 0))
				sc_fail("%s: %s is %llu, expected %s",
				    n->n_name, name, v, want);
			return;
		}
	fclose(fp);
	sc_fail("%s has no counter %s", n->n_name, name);
}

static void
sc_cmd_alog(struct sc_node *n, char *rest, int counted)
{
	char	 path[512], line[1024], *end;
	long	 want = -1, have = 0;
	FILE	*fp;

	if (counted && ((want = strtol(rest, &end, 10)) < 0 || end == rest))
		sc_fail("alogs N TEXT");
	if (counted)
		rest = end;
	while (*rest == ' ')
		rest++;
	if (*rest == '\0')
		sc_fail("alog TEXT");
	sc_settle();
	snprintf(path, sizeof(path), "%s/%s.access", sc.s_dir, n->n_name);
	if ((fp = fopen(path, "r")) == NULL)
		sc_fail("%s has no access log at %s", n->n_name, path);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, rest) != NULL)
			have++;
	if (want == -1 ? have == 0 : have != want) {
		rewind(fp);	/* the whole log, to see what it said instead */
		while (fgets(line, sizeof(line), fp) != NULL)
			fprintf(stderr, "  %s", line);
		fclose(fp);
		sc_fail("%s's access log has %ld lines with \"%s\", expected "
		    "%s%ld", n->n_name, have, rest, want == -1 ? "some, not " :
		    "", want == -1 ? 0 : want);
	}
	fclose(fp);
}

/* The links between two nodes (or the one that "via" dialled): what a
 * sends b (hold, release), or both ways (cut). */
static void
sc_cmd_link(const char *cmd, char *rest)
{
	struct sc_node	*a = sc_node_arg(sc_word(&rest));
	struct sc_node	*b = sc_node_arg(sc_word(&rest));
	char		*via = sc_word(&rest);
	int		 i, ia = (int)(a - sc.s_nodes), ib = (int)(b - sc.s_nodes);
	int		 hold = strcmp(cmd, "hold") == 0, *held, dialler = -1;

	if (strcmp(cmd, "part") == 0 || strcmp(cmd, "heal") == 0) {
		if (via != NULL)
			sc_fail("%s A B", cmd);
		sc.s_parted[ia][ib] = sc.s_parted[ib][ia] = cmd[0] == 'p';
		if (cmd[0] == 'h')
			return;
		cmd = "cut";
	}
	if (via != NULL) {
		if (strcmp(via, "via") != 0 || (via = sc_word(&rest)) == NULL ||
		    ((dialler = (int)(sc_node_arg(via) - sc.s_nodes)) != ia &&
		    dialler != ib))
			sc_fail("%s A B [via A|B]", cmd);
	}
	for (i = 0; i < sc.s_nlinks; i++) {
		struct sc_link *l = &sc.s_links[i];

		if (l->l_a == NULL || !((l->l_n1 == ia && l->l_n2 == ib) ||
		    (l->l_n1 == ib && l->l_n2 == ia)) ||
		    (dialler != -1 && l->l_n1 != dialler))
			continue;
		held = l->l_n1 == ia ? &l->l_held12 : &l->l_held21;
		if (hold)
			*held = 1;
		else if (strcmp(cmd, "release") == 0) {
			*held = 0;
			if (l->l_n1 == ia)
				sc_link_move(l->l_a, l->l_b);
			else
				sc_link_move(l->l_b, l->l_a);
		} else {
			/* Both nodes see their end closed, as by a reset. */
			bufferevent_flush(l->l_a, EV_WRITE, BEV_FINISHED);
			bufferevent_flush(l->l_b, EV_WRITE, BEV_FINISHED);
			bufferevent_free(l->l_a);
			bufferevent_free(l->l_b);
			l->l_a = l->l_b = NULL;
		}
	}
	sc_settle();
}

/* "node NAME ... end", a new node's configuration, or "config NAME ...
 * end" (again), what a node's file says from now on. */
static void
sc_cmd_node_block(FILE *fp, char *rest, int again)
{
	char		 line[SC_LINE], *name = sc_word(&rest);
	struct sc_node	*n;
	size_t		 len = 0, cap = 0, indent = (size_t)-1, i;

	if (again) {
		if (name == NULL || (n = sc_node(name)) == NULL)
			sc_fail("config NAME (a node's)");
		free(n->n_yaml);
		n->n_yaml = NULL;
	} else {
		if (name == NULL || sc.s_nnodes == SC_NODES ||
		    sc_node(name) != NULL)
			sc_fail("node NAME (a new one, at most %d)", SC_NODES);
		n = &sc.s_nodes[sc.s_nnodes++];
		memset(n, 0, sizeof(*n));
		snprintf(n->n_name, sizeof(n->n_name), "%s", name);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		sc.s_line++;
		for (i = 0; line[i] == ' ' || line[i] == '\t'; i++)
			;
		if (strncmp(line + i, "end", 3) == 0 &&
		    (line[i + 3] == '\n' || line[i + 3] == '\0'))
			return;
		if (line[i] != '\n' && indent == (size_t)-1)
			indent = i;
		i = indent != (size_t)-1 && strlen(line) > indent ? indent : 0;
		if (len + strlen(line + i) + 1 > cap) {
			cap = (cap + strlen(line)) * 2 + 256;
			if ((n->n_yaml = realloc(n->n_yaml, cap)) == NULL)
				sc_fail("out of memory");
		}
		memcpy(n->n_yaml + len, line + i, strlen(line + i) + 1);
		len += strlen(line + i);
	}
	sc_fail("node %s: no \"end\"", name);
}

/* "n1 reload" (or reload-fails): the node's file as its config block now
 * says (admin_socket: none, as a reload reads the file itself), and the
 * daemon's SIGHUP. */
static void
sc_cmd_reload(struct sc_node *n, int fails)
{
	char	 text[16384], path[512], err[1024];
	FILE	*fp;
	int	 rc;

	sc_config_text(n, text, sizeof(text), path, sizeof(path));
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF)
		sc_fail("cannot write %s", path);
	rc = node_reload(&n->n_hd, err, sizeof(err));
	sc_loss_tolerance(&n->n_hd);
	if ((rc == -1) != fails)
		sc_fail("%s reload: %s", n->n_name, rc == -1 ? err :
		    "applied, but expected to fail");
	sc_settle();
}

/* Reads or writes a whole file, for "kill". */
static void *
sc_file_get(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 || (buf = malloc((size_t)n + 1)) ==
	    NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n)
		sc_fail("cannot read %s", path);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
sc_file_put(const char *path, char *buf, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL || fwrite(buf, 1, len, fp) != len ||
	    fclose(fp) == EOF)
		sc_fail("cannot write %s", path);
	free(buf);
}

/*
 * "n1 kill": what SIGKILL leaves.  The node's links close (its peers see
 * resets) and its state file is as it was at the moment of death; the
 * node's memory is freed (node_stop) without a word on its TUN, and its
 * state file and access log then put back as the kill left them.  "n1
 * stop" (clean): the same, but the files are as node_stop() leaves them,
 * and what node_stop() writes to the TUN (the resets of what lwIP held) is
 * written, as after SIGTERM, whose handoffd closes its device after it
 * stops the node.
 */
static void
sc_cmd_kill(struct sc_node *n, int clean)
{
	char	 path[4096], alog[4096], *snap = NULL, *asnap = NULL;
	size_t	 len = 0, alen = 0;
	int	 i, me = (int)(n - sc.s_nodes);

	if (!n->n_started)
		sc_fail("%s is not running", n->n_name);
	snprintf(path, sizeof(path), "%s",
	    n->n_hd.hd_cfg->cfg_node.cn_state_file);
	snprintf(alog, sizeof(alog), "%s/%s.access", sc.s_dir, n->n_name);
	if (path[0] != '\0' && !clean)
		snap = sc_file_get(path, &len);
	/* A killed process writes no line as it dies. */
	if (!clean)
		asnap = sc_file_get(alog, &alen);
	for (i = 0; i < sc.s_nlinks; i++) {
		struct sc_link *l = &sc.s_links[i];

		if (l->l_a == NULL || (l->l_n1 != me && l->l_n2 != me))
			continue;
		bufferevent_flush(l->l_a, EV_WRITE, BEV_FINISHED);
		bufferevent_flush(l->l_b, EV_WRITE, BEV_FINISHED);
		bufferevent_free(l->l_a);
		bufferevent_free(l->l_b);
		l->l_a = l->l_b = NULL;
	}
	n->n_dead = !clean;
	node_stop(&n->n_hd);
	cfg_free(n->n_hd.hd_cfg);
	n->n_started = 0;
	n->n_dead = 0;
	n->n_killed = 1;
	snprintf(n->n_state, sizeof(n->n_state), "%s", path);
	if (snap != NULL)
		sc_file_put(path, snap, len);
	if (asnap != NULL)
		sc_file_put(alog, asnap, alen);
	sc_settle();
}

/* The cookie the node's key makes for a client's SYN now, in the form
 * without timestamps. */
static void
sc_cmd_cookie(struct sc_node *n, char *rest)
{
	struct sc_spec		 sp;
	struct cookie_opts	 co;
	struct pkt_opts		 o;
	struct pkt		 p;
	struct sc_val		 v;
	uint8_t			 buf[PKT_MAXLEN];
	uint32_t		 isn, ts_off;
	size_t			 len;
	char			*name = sc_word(&rest);

	if (name == NULL || name[0] != '$')
		sc_fail("cookie $NAME PACKET");
	sc_parse_packet(rest, &sp);
	len = sc_build(&sp, buf, sizeof(buf));
	free(sp.s_payload);
	if (pkt_parse(&p, buf, len) != PKT_OK || pkt_opts_parse(&p, &o) == -1)
		sc_fail("cookie: not a TCP packet");
	memset(&co, 0, sizeof(co));
	co.co_mss = o.o_mss ? o.o_mss : 536;
	co.co_has_ws = o.o_has_ws;
	co.co_ws = o.o_ws;
	co.co_sack = o.o_sack_ok;
	co.co_fws = n->n_hd.hd_cfg->cfg_handoff.ch_window_scale;
	if (cookie_make(n->n_hd.hd_cookie, &p.p_saddr, &p.p_daddr, p.p_sport,
	    p.p_dport, p.p_seq, sc_now, &co, &isn, &ts_off) == -1)
		sc_fail("cookie: no MAC");
	sc_parse_val(name, &v);
	if (v.v_off != 0 || sc_var(v.v_var) != NULL)
		sc_fail("cookie: $NAME must be new");
	sc_match(&v, isn);
}

static void
sc_cmd_node(char *first, char *rest)
{
	struct sc_node	*n;
	char		*cmd = sc_word(&rest), *w;

	if (cmd != NULL && strcmp(cmd, "start") == 0) {
		if ((n = sc_node(first)) == NULL || n->n_started)
			sc_fail("no stopped node \"%s\"", first);
		n->n_killed = 0;
		sc_start_node(n);
		sc_settle();
		return;
	}
	if (cmd != NULL && strcmp(cmd, "tun>") == 0 &&
	    (n = sc_node(first)) != NULL && !n->n_started) {
		sc_cmd_expect(n, rest);		/* what its stop wrote */
		return;
	}
	n = sc_node_arg(first);
	if (cmd == NULL)
		sc_fail("a command after the node's name");
	if (strcmp(cmd, "tun<") == 0 || strcmp(cmd, "tun<+") == 0)
		sc_cmd_input(n, rest, cmd[4] == '\0');
	else if (strcmp(cmd, "tun>") == 0)
		sc_cmd_expect(n, rest);
	else if (strcmp(cmd, "stat") == 0)
		sc_cmd_stat(n, rest);
	else if (strcmp(cmd, "show") == 0)
		sc_cmd_show(n);
	else if (strcmp(cmd, "drain") == 0) {
		sc_next_output(n, SC_QUIET_MS);
		while (n->n_qlen > 0)
			sc_pop(n);
	}
	else if (strcmp(cmd, "server-ahead") == 0)
		sc_cmd_server_ahead(n);
	else if (strcmp(cmd, "cookie") == 0)
		sc_cmd_cookie(n, rest);
	else if (strcmp(cmd, "reload") == 0 ||
	    strcmp(cmd, "reload-fails") == 0)
		sc_cmd_reload(n, cmd[6] == '-');
	else if (strcmp(cmd, "kill") == 0 || strcmp(cmd, "stop") == 0)
		sc_cmd_kill(n, cmd[0] == 's');

	else if (strcmp(cmd, "alog") == 0 || strcmp(cmd, "alogs") == 0)
		sc_cmd_alog(n, rest, cmd[4] == 's');
	else if (strcmp(cmd, "flows") == 0) {
		sc_settle();
		if ((w = sc_word(&rest)) == NULL)
			sc_fail("flows N");
		if (flow_count(n->n_hd.hd_flows) != strtoul(w, NULL, 0))
			sc_fail("%s holds %u flows, expected %s", n->n_name,
			    flow_count(n->n_hd.hd_flows), w);
	} else
		sc_fail("unknown command \"%s\"", cmd);
}

/* Whether the process's log so far (its standard error, the runner's
 * file) holds text. */
static int
sc_log_has(const char *text)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 found;

	fflush(stderr);
	if (fstat(2, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL)
		sc_fail("cannot read the log back (not a file?)");
	if ((n = pread(2, buf, (size_t)st.st_size, 0)) < 0)
		sc_fail("cannot read the log back: %s", strerror(errno));
	buf[n] = '\0';
	found = strstr(buf, text) != NULL;
	free(buf);
	return found;
}

/* "log TEXT": a line of some node's log holds TEXT, now or within the
 * time a web server's answer may take (nothing moves the clock). */
static void
sc_cmd_log(char *rest)
{
	struct timespec	 a;

	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest == '\0')
		sc_fail("log TEXT");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		sc_settle();
		if (sc_log_has(rest))
			return;
		if (sc_elapsed_ms(&a) >= SC_WAIT_MS)
			sc_fail("no log line holds \"%s\"", rest);
		usleep(1000);
	}
}

static void
sc_cmd_start(void)
{
	int	 i;

	for (i = 0; i < sc.s_nnodes; i++)
		sc_start_node(&sc.s_nodes[i]);
	sc_settle();
}

static void
sc_line(FILE *fp, char *line)
{
	char	*rest = line, *w = sc_word(&rest);
	long	 ms;

	if (w == NULL || w[0] == '#')
		return;
	if (strcmp(w, "node") == 0 || strcmp(w, "config") == 0)
		sc_cmd_node_block(fp, rest, w[0] == 'c');
	else if (strcmp(w, "start") == 0)
		sc_cmd_start();
	else if (strcmp(w, "wait") == 0 || strcmp(w, "sleep") == 0) {
		char *a = sc_word(&rest), *end;
		long step;

		if (a == NULL || (ms = strtol(a, &end, 0)) < 0 ||
		    (*end != '\0' && (w[0] != 'w' || strcmp(end, "us") ||
		    ms > 100000 || sc_word(&rest) != NULL)))
			sc_fail("%s MS%s", w, w[0] == 'w' ? " or wait USus" : "");
		if (*end != '\0') {
			sc_advance_us(0, (uint32_t)ms);
			return;
		}
		step = ms;
		if (w[0] == 'w' && (a = sc_word(&rest)) != NULL &&
		    (strcmp(a, "by") || (a = sc_word(&rest)) == NULL ||
		    (step = strtol(a, &end, 0)) <= 0 || *end != '\0'))
			sc_fail("wait MS by STEP");
		if (w[0] == 's')
			sc_run_for((int)ms);
		else
			do {
				long d = ms < step ? ms : step;

				sc_advance((uint32_t)d);
				ms -= d;
			} while (ms > 0);
	} else if (strcmp(w, "hold") == 0 || strcmp(w, "release") == 0 ||
	    strcmp(w, "cut") == 0 || strcmp(w, "part") == 0 ||
	    strcmp(w, "heal") == 0)
		sc_cmd_link(w, rest);
	else if (strcmp(w, "lwip-budget") == 0) {
		char *a = sc_word(&rest), *end;
		unsigned long long b, h = SIZE_MAX;

		if (a == NULL || (b = strtoull(a, &end, 0)) == 0 || *end != '\0' ||
		    ((a = sc_word(&rest)) != NULL &&
		    ((h = strtoull(a, &end, 0)) == 0 || *end != '\0')))
			sc_fail("lwip-budget BYTES [HARD]");
		port_set_limits((size_t)b, (size_t)h, TCP_OOSEQ_MAX_BYTES);
	} else if (strcmp(w, "log") == 0)
		sc_cmd_log(rest);
	else
		sc_cmd_node(w, rest);
}

/* ------------------------------------------------------------------ */

static void
sc_cleanup(void)
{
	int	 i;

	for (i = 0; i < sc.s_nnodes; i++) {
		struct sc_node *n = &sc.s_nodes[i];

		if (n->n_started) {
			node_stop(&n->n_hd);
			if (n->n_hd.hd_cfg->cfg_node.cn_state_file[0] != '\0')
				unlink(n->n_hd.hd_cfg->cfg_node.cn_state_file);
			cfg_free(n->n_hd.hd_cfg);
		} else if (n->n_killed && n->n_state[0] != '\0')
			unlink(n->n_state);
		while (n->n_qlen > 0)
			sc_pop(n);
		if (n->n_http != NULL)
			evhttp_free(n->n_http);
		free(n->n_yaml);
	}
	for (i = 0; i < sc.s_nlinks; i++)
		if (sc.s_links[i].l_a != NULL) {
			bufferevent_free(sc.s_links[i].l_a);
			bufferevent_free(sc.s_links[i].l_b);
		}
	sc_settle();
	event_base_free(sc.s_base);
	sc_remove_dir();
}

/* Runs one scenario; exits non-zero on the first failed line. */
static void
sc_run(const char *file, int gso)
{
	char	 line[SC_LINE], path[512];
	FILE	*fp, *key;
	size_t	 len;

	memset(&sc, 0, sizeof(sc));
	sc.s_file = file;
	sc.s_gso = gso;
	snprintf(sc.s_dir, sizeof(sc.s_dir), "/tmp/test_scenario-XXXXXX");
	if (mkdtemp(sc.s_dir) == NULL)
		sc_fail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/cluster.key", sc.s_dir);
	if ((key = fopen(path, "w")) == NULL ||
	    fputs("scenario-key-0123456789abcdef\n", key) == EOF ||
	    fclose(key) == EOF || chmod(path, 0600) == -1)
		sc_fail("cannot write %s", path);
	if ((sc.s_base = event_base_new()) == NULL)
		sc_fail("event_base_new");
	port_set_clock(sc_clock);
	/* The fixtures pin TSvals: every connection's clock is this one
	 * plus SC_TS_OFF instead of a random offset (tests/ns/t_tsclock.sh
	 * checks those). */
	port_fix_ts_offset(SC_TS_OFF);
	if ((fp = fopen(file, "r")) == NULL)
		sc_fail("cannot open: %s", strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		sc.s_line++;
		len = strlen(line);
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		sc_line(fp, line);
	}
	fclose(fp);
	sc_cleanup();
}

static int
sc_is_scn(const struct dirent *d)
{
	size_t	 l = strlen(d->d_name);

	return l > 4 && strcmp(d->d_name + l - 4, ".scn") == 0;
}

/* One run of a scenario, in a child of its own (lwIP's state is per
 * process) whose output waits in sj_out until it is reaped, so that the
 * runs' reports do not interleave. */
struct sc_job {
	pid_t		 sj_pid;
	FILE		*sj_out;
	char		 sj_path[1024];
	int		 sj_gso;
};

static int
sc_job_start(struct sc_job *j, const char *path, int gso)
{
	snprintf(j->sj_path, sizeof(j->sj_path), "%s", path);
	j->sj_gso = gso;
	if ((j->sj_out = tmpfile()) == NULL)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((j->sj_pid = fork()) == -1)
		return -1;
	if (j->sj_pid == 0) {
		if (dup2(fileno(j->sj_out), 1) == -1 ||
		    dup2(fileno(j->sj_out), 2) == -1)
			_exit(1);
		alarm(60);
		sc_run(path, gso);
		exit(0);	/* LeakSanitizer checks at exit */
	}
	return 0;
}

/* Waits for one of the jobs to end, prints its report; 1 if it failed. */
static int
sc_job_reap(struct sc_job *jobs, int njobs)
{
	struct sc_job	*j = NULL;
	char		 buf[4096];
	size_t		 n;
	pid_t		 pid;
	int		 i, status, failed;

	while ((pid = waitpid(-1, &status, 0)) == -1 && errno == EINTR)
		;
	for (i = 0; i < njobs; i++)
		if (jobs[i].sj_pid == pid && pid > 0)
			j = &jobs[i];
	if (j == NULL) {
		fprintf(stderr, "test_scenario: waitpid: %s\n",
		    pid == -1 ? strerror(errno) : "an unknown child");
		exit(1);
	}
	rewind(j->sj_out);
	while ((n = fread(buf, 1, sizeof(buf), j->sj_out)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(j->sj_out);
	j->sj_pid = 0;
	failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	printf("%s %s%s\n", failed ? "FAIL" : "ok  ", j->sj_path,
	    j->sj_gso ? " (offloads)" : "");
	fflush(stdout);
	return failed;
}

/* Each scenario twice: on TUNs without offloads, then with them, where
 * lwIP leaves its TCP checksums to tunif and the harness checks every
 * packet's.  The runs go SC_JOBS at a time (default: two per CPU): most
 * of a run is waiting in real time, for libevent's timers and web servers,
 * and eight at a time on two CPUs pass as one at a time does. */
int
main(int argc, char *argv[])
{
	struct dirent	**ents = NULL;
	struct sc_job	 jobs[SC_MAXJOBS];
	char		 dir[512], path[1024];
	const char	*src = getenv("TESTS_SRCDIR"), *js = getenv("SC_JOBS");
	int		 i, k, n, failed = 0, ran = 0, gso, njobs, busy = 0;

	t_start(600);
	log_init(1, 0);
	/* -v's flow records, so that their code runs too. */
	log_setverbose(getenv("SC_VERBOSE") ? atoi(getenv("SC_VERBOSE")) : 1);
	njobs = js != NULL ? atoi(js) :
	    2 * (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (njobs < 1)
		njobs = 1;
	if (njobs > SC_MAXJOBS)
		njobs = SC_MAXJOBS;
	memset(jobs, 0, sizeof(jobs));
	snprintf(dir, sizeof(dir), "%s/scenarios", src ? src : "tests");
	n = argc > 1 ? argc - 1 : scandir(dir, &ents, sc_is_scn, alphasort);
	if (n <= 0) {
		fprintf(stderr, "no scenarios in %s\n", dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (argc > 1)
			snprintf(path, sizeof(path), "%s", argv[i + 1]);
		else
			snprintf(path, sizeof(path), "%s/%s", dir,
			    ents[i]->d_name);
		for (gso = 0; gso < 2; gso++) {
			if (busy == njobs) {
				failed += sc_job_reap(jobs, njobs);
				busy--;
			}
			for (k = 0; jobs[k].sj_pid != 0; k++)
				;
			if (sc_job_start(&jobs[k], path, gso) == -1) {
				fprintf(stderr, "test_scenario: cannot start "
				    "%s: %s\n", path, strerror(errno));
				return 1;
			}
			busy++;
			ran++;
		}
		if (ents != NULL)
			free(ents[i]);
	}
	while (busy-- > 0)
		failed += sc_job_reap(jobs, njobs);
	free(ents);
	printf("test_scenario: %d scenarios, %d failed\n", ran, failed);
	return failed != 0;
}

/*
 * The control transport in one process: nodes joined by bufferevent
 * pairs through hd_dial and peer_accept_bev(), with TLS over them as over
 * TCP.  Nodes with the key come up and carry messages both ways; a node
 * with another key, a handshake reflected to its sender or delivered to
 * the wrong node, a connection from an address that is no peer's, and
 * connections that never finish their handshake are refused, counted, and
 * bounded by the caps and the deadline.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conf.h"
#include "flow.h"
#include "handoffd.h"
#include "handoff/ctl.h"
#include "handoff/peer.h"
#include "t.h"

#define NNODES	3

static char	 srcdir[1024];
static char	 name[1200];
static char	 otherkey[] = "/tmp/test_peer.key.XXXXXX";

struct node {
	struct hd	 n_hd;
	int		 n_running;
	int		 n_route[NNODES];	/* peer node i's dials go to */
	in_addr_t	 n_claim[NNODES];	/* ... saying they come from */
	int		 n_msgs;
	struct ctl_msg	 n_last;
	uint8_t		 n_data[512];
	int		 n_downs;
	int		 n_gones;
	uint64_t	 n_closes[32];	/* CLOSEs' cl_flow, in order */
	int		 n_nclose;
};

static struct world {
	struct event_base	*w_base;
	struct node		 w_node[NNODES];
	struct bufferevent	*w_held[16];	/* ends the test keeps mute */
	int			 w_nheld;
	/* With w_batch set, dials go through a middle that passes bytes on
	 * every 50 ms, all that came at once, as a busy peer reads them. */
	int			 w_batch;
	struct bufferevent	*w_mid[16][2];
	int			 w_nmid;
	struct event		*w_tick;
	/* The middles keep the longest TLS application-data record toward
	 * each node: [i][0] is toward the node that accepted middle i,
	 * [i][1] toward the one that dialled; each direction's place in its
	 * current record. */
	int			 w_mid_end[16][2];
	uint8_t			 w_rec_hdr[16][2][5];
	int			 w_rec_hdrn[16][2];
	size_t			 w_rec_left[16][2];
	size_t			 w_rec_max[NNODES];
} w;

static in_addr_t
node_addr(int i)
{
	char	 a[32];

	snprintf(a, sizeof(a), "127.0.1.%d", i + 1);
	return inet_addr(a);
}

static int
node_of(const struct hd *hd)
{
	int	 i;

	for (i = 0; i < NNODES; i++)
		if (&w.w_node[i].n_hd == hd)
			return i;
	abort();
}

/* Node i's config: n1..n3 are one another's peers, but for node skip
 * (-1: none). */
static struct cfg *
node_cfg_without(int i, const char *keyfile, int skip)
{
	char		 yaml[2048], err[512];
	struct cfg	*c;
	size_t		 n;
	int		 j;

	n = (size_t)snprintf(yaml, sizeof(yaml), "node:\n  id: n%d\n"
	    "  control: 127.0.1.%d:7100\n  server: 10.2.%d.1:80\n"
	    "lwip:\n  address: 10.2.%d.2\npeers:\n", i + 1, i + 1, i + 1,
	    i + 1);
	for (j = 0; j < NNODES; j++)
		if (j != i && j != skip)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
			    "  - id: n%d\n    control: 127.0.1.%d:7100\n"
			    "    stack_address: 10.2.%d.2\n"
			    "    server: 10.2.%d.1:80\n", j + 1, j + 1, j + 1,
			    j + 1);
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "services:\n"
	    "  - {name: web, listen: 10.9.0.1:80, pool: p}\n"
	    "pools:\n  - {name: p, members: [n%d]}\n", i + 1);
	/* git checks the key out with its usual mode, 0644. */
	snprintf(yaml + n, sizeof(yaml) - n, "control:\n  key_file: %s\n"
	    "  key_file_insecure_ok: true\n  heartbeat: 50ms\n  dead_after: 2s\n  reconnect_min: 10ms\n"
	    "  reconnect_max: 100ms\n  handshake_timeout: 300ms\n", keyfile);
	if ((c = cfg_parse(name, yaml, strlen(yaml), err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	/* The listener is not used: any free port. */
	c->cfg_node.cn_control.ep_port = 0;
	return c;
}

static struct cfg *
node_cfg(int i, const char *keyfile)
{
	return node_cfg_without(i, keyfile, -1);
}

static void
on_message(struct hd *hd, int peer, const struct ctl_msg *m)
{
	struct node	*n = &w.w_node[node_of(hd)];

	n->n_msgs++;
	n->n_last = *m;
	if (m->m_type == CTL_CLOSE && n->n_nclose < 32)
		n->n_closes[n->n_nclose++] = m->m_u.close.cl_flow;
	if (m->m_type == CTL_HANDOFF &&
	    m->m_u.handoff.ho_datalen <= sizeof(n->n_data)) {
		memcpy(n->n_data, m->m_u.handoff.ho_data,
		    m->m_u.handoff.ho_datalen);
		n->n_last.m_u.handoff.ho_data = n->n_data;
	}
}

static void
on_down(struct hd *hd, int peer)
{
	w.w_node[node_of(hd)].n_downs++;
}

static void
on_gone(struct hd *hd, int peer, int restarted)
{
	w.w_node[node_of(hd)].n_gones++;
}

/* Whether node i's flows need their peers' channels. */
static int	 holds[NNODES];

static int
on_holds(struct hd *hd, int peer)
{
	return holds[node_of(hd)];
}

static const struct peer_handlers handlers = {
	on_message, on_down, on_gone, on_holds, NULL
};

/* hd_dial: a pair whose other end goes to the node the route names. */
static struct bufferevent *
test_dial(void *arg, struct hd *hd, int idx)
{
	struct node		*from = &w.w_node[node_of(hd)];
	struct bufferevent	*pair[2];
	struct sockaddr_in	 sin;
	int			 peer, to;

	/* Peer idx of node i is node j: ids are "n<j+1>". */
	peer = atoi(hd->hd_cfg->cfg_peers[idx].cp_id + 1) - 1;
	to = from->n_route[peer];
	if (to < 0 || !w.w_node[to].n_running)
		return NULL;
	if (bufferevent_pair_new(w.w_base, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS, pair) == -1)
		return NULL;
	if (w.w_batch) {
		struct bufferevent *far[2];

		CHECK(w.w_nmid < 16);
		if (bufferevent_pair_new(w.w_base, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS, far) == -1)
			return NULL;
		w.w_mid_end[w.w_nmid][0] = to;
		w.w_mid_end[w.w_nmid][1] = node_of(hd);
		w.w_mid[w.w_nmid][0] = pair[1];
		w.w_mid[w.w_nmid++][1] = far[0];
		bufferevent_enable(pair[1], EV_READ | EV_WRITE);
		bufferevent_enable(far[0], EV_READ | EV_WRITE);
		pair[1] = far[1];
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = from->n_claim[peer];
	sin.sin_port = htons(40000 + peer);
	peer_accept_bev(&w.w_node[to].n_hd, pair[1], &sin);
	return pair[0];
}

/* Reads the records in the bytes going on in direction d of middle i
 * (RFC 8446 5.1: a type, a version, a length, then that many bytes). */
static void
count_records(int i, int d, struct evbuffer *b)
{
	size_t		 len = evbuffer_get_length(b), n;
	const uint8_t	*p = evbuffer_pullup(b, -1);

	while (len > 0) {
		if (w.w_rec_left[i][d] > 0) {
			n = len < w.w_rec_left[i][d] ? len : w.w_rec_left[i][d];
			w.w_rec_left[i][d] -= n;
			p += n;
			len -= n;
			continue;
		}
		w.w_rec_hdr[i][d][w.w_rec_hdrn[i][d]++] = *p++;
		len--;
		if (w.w_rec_hdrn[i][d] < 5)
			continue;
		w.w_rec_left[i][d] = (size_t)w.w_rec_hdr[i][d][3] << 8 |
		    w.w_rec_hdr[i][d][4];
		if (w.w_rec_hdr[i][d][0] == 0x17 &&
		    w.w_rec_left[i][d] > w.w_rec_max[w.w_mid_end[i][d]])
			w.w_rec_max[w.w_mid_end[i][d]] = w.w_rec_left[i][d];
		w.w_rec_hdrn[i][d] = 0;
	}
}

/* What each middle holds goes on, both ways. */
static void
batch_tick(int fd, short ev, void *arg)
{
	int	 i;

	for (i = 0; i < w.w_nmid; i++) {
		count_records(i, 0, bufferevent_get_input(w.w_mid[i][0]));
		evbuffer_add_buffer(bufferevent_get_output(w.w_mid[i][1]),
		    bufferevent_get_input(w.w_mid[i][0]));
		count_records(i, 1, bufferevent_get_input(w.w_mid[i][1]));
		evbuffer_add_buffer(bufferevent_get_output(w.w_mid[i][0]),
		    bufferevent_get_input(w.w_mid[i][1]));
	}
}

static void
world_batch(void)
{
	struct timeval	 tv = { 0, 50000 };

	w.w_batch = 1;
	CHECK((w.w_tick = event_new(w.w_base, -1, EV_PERSIST, batch_tick,
	    NULL)) != NULL);
	CHECK(event_add(w.w_tick, &tv) == 0);
}

static void
world_init(void)
{
	int	 i, j;

	memset(&w, 0, sizeof(w));
	CHECK((w.w_base = event_base_new()) != NULL);
	for (i = 0; i < NNODES; i++)
		for (j = 0; j < NNODES; j++) {
			w.w_node[i].n_route[j] = j;
			w.w_node[i].n_claim[j] = node_addr(i);
		}
}

static void
t_node_key(int i, const char *keyfile)
{
	struct hd	*hd = &w.w_node[i].n_hd;

	hd->hd_cfg = node_cfg(i, keyfile);
	hd->hd_base = w.w_base;
	hd->hd_dial = test_dial;
	CHECK((hd->hd_flows = flow_table_new(64, NULL)) != NULL);
	w.w_node[i].n_running = 1;
	CHECK(peer_init(hd, &handlers) == 0);
}

static void
t_node(int i)
{
	t_node_key(i, "test.key");
}

static void
world_free(void)
{
	int	 i;

	for (i = 0; i < NNODES; i++) {
		struct hd *hd = &w.w_node[i].n_hd;

		if (!w.w_node[i].n_running)
			continue;
		w.w_node[i].n_running = 0;
		peer_shutdown(hd);
		flow_table_free(hd->hd_flows);
		cfg_free(hd->hd_cfg);
	}
	for (i = 0; i < w.w_nheld; i++)
		bufferevent_free(w.w_held[i]);
	for (i = 0; i < w.w_nmid; i++) {
		bufferevent_free(w.w_mid[i][0]);
		bufferevent_free(w.w_mid[i][1]);
	}
	if (w.w_tick != NULL)
		event_free(w.w_tick);
	event_base_free(w.w_base);
}

/* Runs the loop for ms milliseconds. */
static void
run(int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(w.w_base, &tv);
	event_base_dispatch(w.w_base);
}

static int
up(int i, int j)
{
	const struct hd	*hd = &w.w_node[i].n_hd;
	char		 id[8];

	snprintf(id, sizeof(id), "n%d", j + 1);
	return peer_is_up(hd, cfg_peer_by_id(hd->hd_cfg, id));
}

static int
peer_idx(int i, int j)
{
	char	 id[8];

	snprintf(id, sizeof(id), "n%d", j + 1);
	return cfg_peer_by_id(w.w_node[i].n_hd.hd_cfg, id);
}

#define STAT(i, s)	(w.w_node[i].n_hd.hd_stats.st_##s)

/* A HANDOFF of client 10.0.0.2:40000 to 10.9.0.1:80 carrying len bytes. */
static void
handoff_of(struct ctl_handoff *ho, uint64_t flow, size_t len)
{
	memset(ho, 0, sizeof(*ho));
	ho->ho_flow = flow;
	ho->ho_caddr = t_ip("10.0.0.2");
	ho->ho_cport = htons(40000);
	ho->ho_vaddr = t_ip("10.9.0.1");
	ho->ho_vport = htons(80);
	ho->ho_cmss = ho->ho_fmss = 1460;
	ho->ho_datalen = (uint32_t)len;
}

/* n1 and n2 with the key: up both ways, messages both ways. */
static void
test_up(void)
{
	struct ctl_msg		 m;
	struct ctl_handoff	 ho;
	static const char	 req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

	world_init();
	t_node(0);
	t_node(1);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	CHECK_INTEQ(STAT(0, ctl_auth_failed) + STAT(1, ctl_auth_failed), 0);

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_flow = 77;
	m.m_u.close.cl_sflow = 78;
	m.m_u.close.cl_reason = CTL_CLOSE_DONE;
	CHECK(peer_send(&w.w_node[0].n_hd, peer_idx(0, 1), &m) == 0);
	run(100);
	CHECK_INTEQ(w.w_node[1].n_msgs, 1);
	CHECK_INTEQ(w.w_node[1].n_last.m_type, CTL_CLOSE);
	CHECK(w.w_node[1].n_last.m_u.close.cl_flow == 77);

	handoff_of(&ho, 5, sizeof(req) - 1);
	CHECK(peer_send_handoff(&w.w_node[1].n_hd, peer_idx(1, 0), &ho,
	    (const uint8_t *)req) == 0);
	run(100);
	CHECK_INTEQ(w.w_node[0].n_msgs, 1);
	CHECK_INTEQ(w.w_node[0].n_last.m_type, CTL_HANDOFF);
	CHECK_INTEQ(w.w_node[0].n_last.m_u.handoff.ho_datalen, sizeof(req) - 1);
	CHECK(memcmp(w.w_node[0].n_data, req, sizeof(req) - 1) == 0);
	world_free();
}

/* n1 sends n2, in one turn, ten CLOSEs (cl_flow first, first + 1, ...),
 * a HANDOFF carrying len bytes, and one more CLOSE; returns the bytes of
 * the frames. */
static size_t
send_turn(uint64_t first, size_t len)
{
	struct hd		*n1 = &w.w_node[0].n_hd;
	struct ctl_msg		 m;
	struct ctl_handoff	 ho;
	static uint8_t		 req[20000];
	uint8_t			 buf[256];
	size_t			 total = 0;
	int			 i;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_reason = CTL_CLOSE_DONE;
	for (i = 0; i < 11; i++) {
		m.m_u.close.cl_flow = first + (uint64_t)i;
		total += ctl_encode(buf, sizeof(buf), &m);
		if (i == 10) {
			memset(req, 'a', sizeof(req));
			handoff_of(&ho, 5, len);
			CHECK(peer_send_handoff(n1, peer_idx(0, 1), &ho,
			    req) == 0);
			total += ctl_encode_handoff_head(buf, sizeof(buf), &ho) +
			    len;
		}
		CHECK(peer_send(n1, peer_idx(0, 1), &m) == 0);
	}
	return total;
}

/*
 * What a node sends a peer in one turn of its event loop goes to TLS
 * together, whole and in order: frames of a few hundred bytes together
 * travel in one record at least as long as all of them (each frame was a
 * record of its own, a HANDOFF two), and with a HANDOFF of 20 KB among
 * them (TLS carries at most 16 KB in a record) they still arrive whole and
 * in order.
 */
static void
test_one_record(void)
{
	struct node	*n2 = &w.w_node[1];
	size_t		 total;
	int		 i;

	world_init();
	world_batch();
	t_node(0);
	t_node(1);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	w.w_rec_max[1] = 0;
	total = send_turn(100, 100);
	run(200);
	CHECK_INTEQ(n2->n_nclose, 11);
	CHECK(w.w_rec_max[1] >= total);

	total = send_turn(200, 20000);
	run(200);
	CHECK_INTEQ(n2->n_nclose, 22);
	for (i = 0; i < n2->n_nclose; i++)
		CHECK(n2->n_closes[i] ==
		    (uint64_t)(i < 11 ? 100 + i : 200 + i - 11));
	CHECK_INTEQ(n2->n_last.m_type, CTL_CLOSE);
	CHECK_INTEQ(STAT(1, ctl_bad_frames), 0);
	world_free();
}

/*
 * A peer that stops reading what this node sends, while its heartbeats
 * still come, has the connection closed once more than 64 frames of
 * control.frame_max wait for it.  What waits lies in TLS's transport: TLS
 * encrypts at once what it is given, and a check of TLS's own buffer never
 * closed anything (the queue grew until dead_after).  Only n1 dials, so
 * one connection carries everything; once it is closed n1 dials again.
 */
static void
test_not_reading(void)
{
	struct hd		*n1 = &w.w_node[0].n_hd;
	struct ctl_handoff	 ho;
	static uint8_t		 req[60000];
	int			 i, k;

	world_init();
	world_batch();
	w.w_node[1].n_route[0] = -1;
	t_node(1);
	t_node(0);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	CHECK_INTEQ(w.w_nmid, 1);
	n1->hd_cfg->cfg_control.cc_frame_max = 65536;	/* 4 MB at most */
	bufferevent_disable(w.w_mid[0][0], EV_READ);	/* n1 -> n2 stops */
	for (k = 0; k < 3 && w.w_nmid == 1; k++) {
		for (i = 0; i < 100; i++) {
			handoff_of(&ho, (uint64_t)(k * 100 + i + 1),
			    sizeof(req));
			CHECK(peer_send_handoff(n1, peer_idx(0, 1), &ho,
			    req) == 0);
		}
		run(200);	/* heartbeats, every 50 ms */
	}
	CHECK(w.w_nmid > 1);
	CHECK_INTEQ(k, 1);
	world_free();
}

/*
 * A CLOSE that waited for a peer goes as soon as its HELLO arrives, so
 * that peer may read this node's HELLO and the CLOSE in one read: the
 * frames after the HELLO are held to frame_max, not to the HELLO's size (an
 * IPv6 CLOSE is larger, and was taken for an oversized frame: the
 * connection closed, the CLOSE was lost, and every reconnection did it
 * again).  n2 restarts as the same process (its state file), and only it
 * dials, so n1 answers its HELLO with the CLOSE at once; the link between
 * them passes bytes on in batches, so n2 reads n1's HELLO and the CLOSE
 * together.  (The pairs do not tell n1 of n2's end: n1 finds it down when
 * its heartbeats stop.)
 */
static void
test_later_after_hello(void)
{
	struct hd	*n1 = &w.w_node[0].n_hd, *n2 = &w.w_node[1].n_hd;
	struct ctl_msg	 m;

	world_init();
	t_node(0);
	n2->hd_boot = 0x5eed;
	t_node(1);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	w.w_node[0].n_route[1] = -1;
	world_batch();
	peer_shutdown(n2);
	run(2300);	/* control.dead_after: 2 s without a heartbeat */
	CHECK(!up(0, 1));

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_CLOSE;
	m.m_u.close.cl_flow = 77;
	m.m_u.close.cl_sflow = 78;
	m.m_u.close.cl_reason = CTL_CLOSE_FIN;
	m.m_u.close.cl_caddr = t_ip6("fd00::2");
	m.m_u.close.cl_cport = htons(40000);
	m.m_u.close.cl_vport = htons(80);
	CHECK(peer_send(n1, peer_idx(0, 1), &m) == 0);
	w.w_node[1].n_msgs = 0;
	CHECK(peer_init(n2, &handlers) == 0);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	CHECK_INTEQ(STAT(1, ctl_bad_frames), 0);
	CHECK_INTEQ(w.w_node[1].n_msgs, 1);
	CHECK_INTEQ(w.w_node[1].n_last.m_type, CTL_CLOSE);
	CHECK(w.w_node[1].n_last.m_u.close.cl_flow == 77);
	CHECK(addr_eq(&w.w_node[1].n_last.m_u.close.cl_caddr,
	    T_IP6P("fd00::2")));
	world_free();
}

/*
 * A peer that comes back as another process (its HELLO's boot id) is gone
 * with what the last one held, at once; one that stays down is gone after
 * control.dead_after more.
 */
static void
test_gone(void)
{
	struct hd	*n2 = &w.w_node[1].n_hd;

	world_init();
	t_node(0);
	t_node(1);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	CHECK_INTEQ(w.w_node[0].n_gones, 0);
	peer_shutdown(n2);
	CHECK(peer_init(n2, &handlers) == 0);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	CHECK_INTEQ(w.w_node[0].n_gones, 1);
	/* Now for good: heartbeats stop, the peer is down after dead_after
	 * (2 s) and gone 2 s later. */
	peer_shutdown(n2);
	w.w_node[1].n_running = 0;
	flow_table_free(n2->hd_flows);
	cfg_free(n2->hd_cfg);
	run(3000);
	CHECK(!up(0, 1));
	CHECK_INTEQ(w.w_node[0].n_gones, 1);
	run(2500);
	CHECK_INTEQ(w.w_node[0].n_gones, 2);
	world_free();
}

/* n3 holds another key: refused both ways, counted on both sides. */
static void
test_wrong_key(void)
{
	world_init();
	t_node(0);
	t_node_key(2, otherkey);
	run(500);
	CHECK(!up(0, 2) && !up(2, 0));
	CHECK(STAT(0, ctl_auth_failed) >= 2);	/* as client and server */
	CHECK(STAT(2, ctl_auth_failed) >= 2);
	world_free();
}

/* n1's handshake for n2 comes back to n1, "from n2's address". */
static void
test_reflection(void)
{
	world_init();
	w.w_node[0].n_route[1] = 0;
	w.w_node[0].n_claim[1] = node_addr(1);
	t_node(0);
	run(300);
	CHECK(!up(0, 1));
	CHECK(STAT(0, ctl_auth_failed) >= 2);
	world_free();
}

/* n1's handshake for n2 delivered to n3, which knows n1 well. */
static void
test_confusion(void)
{
	world_init();
	w.w_node[0].n_route[1] = 2;
	t_node(0);
	t_node(2);
	run(500);
	CHECK(!up(0, 1));
	CHECK(up(0, 2) && up(2, 0));		/* their own channel works */
	CHECK(STAT(2, ctl_auth_failed) >= 1);
	CHECK(STAT(0, ctl_auth_failed) >= 1);
	world_free();
}

/* A dial from an address that is no peer's: refused before TLS. */
static void
test_address(void)
{
	world_init();
	w.w_node[0].n_claim[1] = inet_addr("127.9.9.9");
	t_node(1);
	t_node(0);
	run(300);
	CHECK(STAT(1, ctl_refused_addr) >= 1);
	CHECK_INTEQ(STAT(1, ctl_auth_failed), 0);
	CHECK(up(0, 1) && up(1, 0));		/* n2's own dial to n1 */
	world_free();
}

/* A mute connection to node i, "from" addr; the test keeps its end. */
static void
mute(int i, in_addr_t addr, int port)
{
	struct bufferevent	*pair[2];
	struct sockaddr_in	 sin;

	CHECK(w.w_nheld < (int)(sizeof(w.w_held) / sizeof(w.w_held[0])));
	CHECK(bufferevent_pair_new(w.w_base, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS, pair) == 0);
	w.w_held[w.w_nheld++] = pair[0];
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr;
	sin.sin_port = htons(port);
	peer_accept_bev(&w.w_node[i].n_hd, pair[1], &sin);
}

/* Mute connections to n2 (handshake_max 6 here): four from n1's address
 * wait, a fifth closes the oldest of them; two from n3's join; a seventh
 * from n3's, over handshake_max, closes the oldest from n1's, the busiest
 * address.  At the deadline the six left are closed. */
static void
test_caps(void)
{
	int	 i;

	world_init();
	t_node(1);
	w.w_node[1].n_hd.hd_cfg->cfg_control.cc_handshake_max = 6;
	for (i = 0; i < 5; i++)
		mute(1, node_addr(0), 50000 + i);
	CHECK_INTEQ(STAT(1, ctl_refused_busy), 1);
	for (i = 0; i < 3; i++)
		mute(1, node_addr(2), 50000 + i);
	CHECK_INTEQ(STAT(1, ctl_refused_busy), 2);
	run(100);
	CHECK_INTEQ(STAT(1, ctl_handshake_timeout), 0);
	run(400);
	CHECK_INTEQ(STAT(1, ctl_handshake_timeout), 6);
	world_free();
}

/* The caps full of mute connections, from n1's address and from n2's,
 * do not keep n2 out: its dial (the only way up here: n1 does not dial)
 * makes room, and completes. */
static void
test_caps_peer(void)
{
	int	 i;

	world_init();
	w.w_node[0].n_route[1] = -1;
	t_node(0);
	w.w_node[0].n_hd.hd_cfg->cfg_control.cc_handshake_max = 6;
	for (i = 0; i < 4; i++)
		mute(0, node_addr(2), 50000 + i);
	for (i = 0; i < 2; i++)
		mute(0, node_addr(1), 50000 + i);
	CHECK_INTEQ(STAT(0, ctl_refused_busy), 0);
	t_node(1);
	run(250);
	CHECK(up(0, 1) && up(1, 0));	/* n2's dial is their only link */
	CHECK_INTEQ(STAT(0, ctl_refused_busy), 1);
	/* Its own address full too: the oldest of them goes. */
	w.w_node[1].n_running = 0;
	peer_shutdown(&w.w_node[1].n_hd);
	flow_table_free(w.w_node[1].n_hd.hd_flows);
	cfg_free(w.w_node[1].n_hd.hd_cfg);
	memset(&w.w_node[1].n_hd, 0, sizeof(w.w_node[1].n_hd));
	run(400);			/* the first mute ones are gone */
	for (i = 0; i < 4; i++)
		mute(0, node_addr(1), 50010 + i);
	CHECK_INTEQ(STAT(0, ctl_refused_busy), 1);
	t_node(1);
	run(250);
	CHECK(up(1, 0));		/* the new n2's own dial */
	CHECK_INTEQ(STAT(0, ctl_refused_busy), 2);
	world_free();
}

/*
 * n1 dials n2 from n3's address, which n2 admits (n3 is its peer), with
 * n1's identity and key: every node can derive every pair's key, so the
 * identity counts only from its own peer's address, and this is refused.
 */
static void
test_identity_address(void)
{
	world_init();
	w.w_node[0].n_claim[1] = node_addr(2);
	t_node(1);
	t_node(0);
	run(300);
	CHECK_INTEQ(STAT(1, ctl_refused_addr), 0);
	CHECK(STAT(1, ctl_auth_failed) >= 1);
	CHECK(up(0, 1) && up(1, 0));		/* n2's own dial to n1 */
	world_free();
}

/* What node.c does on a reload, for node i's config without peer skip. */
static void
reload_node(int i, int skip)
{
	struct hd	*hd = &w.w_node[i].n_hd;
	struct cfg	*old = hd->hd_cfg, *c;
	char		 err[256];

	c = node_cfg_without(i, "test.key", skip);
	c->cfg_node.cn_control.ep_port = old->cfg_node.cn_control.ep_port;
	CHECK(cfg_keep_peers(c, old, err, sizeof(err)) == 0);
	hd->hd_cfg = c;
	CHECK(peer_reload(hd) == 0);
	cfg_free(old);
}

/*
 * A reload takes n2 out of n1's peers: n2 keeps its place, and its channel
 * while n1's flows need it, then is closed and refused when it dials
 * again; a reload that brings it back gives it the same place, and it
 * comes up again.
 */
static void
test_retire(void)
{
	struct hd	*n1 = &w.w_node[0].n_hd;
	int		 idx;

	world_init();
	t_node(0);
	t_node(1);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	idx = peer_idx(0, 1);
	holds[0] = 1;
	reload_node(0, 1);
	CHECK_INTEQ(peer_idx(0, 1), -1);
	CHECK(n1->hd_cfg->cfg_peers[idx].cp_retired);
	run(300);
	CHECK(peer_is_up(n1, idx));
	CHECK(up(1, 0));
	holds[0] = 0;
	run(300);
	CHECK(!peer_is_up(n1, idx));
	/* n2 hears nothing for dead_after, dials again, and is refused. */
	run(2500);
	CHECK(!peer_is_up(n1, idx));
	CHECK(!up(1, 0));
	CHECK(STAT(0, ctl_refused_addr) > 0);
	reload_node(0, -1);
	CHECK_INTEQ(peer_idx(0, 1), idx);
	CHECK(!n1->hd_cfg->cfg_peers[idx].cp_retired);
	run(500);
	CHECK(up(0, 1) && up(1, 0));
	world_free();
}

int
main(void)
{
	const char	*env = getenv("TESTS_SRCDIR");
	int		 fd;

	t_start(60);
	snprintf(srcdir, sizeof(srcdir), "%s", env ? env : "../tests");
	snprintf(name, sizeof(name), "%s/data/t.yaml", srcdir);
	CHECK((fd = mkstemp(otherkey)) != -1);
	CHECK(write(fd, "an-entirely-different-key-0123456789\n", 37) == 37);
	close(fd);
	test_up();
	test_one_record();
	test_not_reading();
	test_gone();
	test_later_after_hello();
	test_wrong_key();
	test_reflection();
	test_confusion();
	test_address();
	test_caps();
	test_caps_peer();
	test_identity_address();
	test_retire();
	unlink(otherkey);
	return t_done("test_peer");
}

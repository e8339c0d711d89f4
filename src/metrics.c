/* Prometheus metrics over HTTP; see metrics.h and handoffd(8). */
#include <sys/types.h>
#include <sys/queue.h>
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
#include <event2/http.h>
#include <event2/listener.h>

#include "config.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "metrics.h"
#include "lwip-port/port.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/peer.h"

/* A request head larger than this is no scraper's. */
#define METRICS_HEADERS_MAX	8192
/* Connections at once: a scraper needs one, and every descriptor beyond
 * these would be taken from the flows.  One more closes the oldest
 * (metrics_on_new_conn). */
#define METRICS_CONNS_MAX	16

/*
 * A connection evhttp serves, as we keep it: evhttp frees its connections
 * when it likes and says nothing of those that never sent a request, so we
 * hold a reference to each one's bufferevent (set up in
 * metrics_on_new_conn) until it ends (metrics_on_conn_close) or its
 * deadline passes, METRICS_TIMEOUT_S after it was accepted however slowly
 * it trickles (evhttp's own timeout only counts silence), when its socket
 * is shut down for evhttp to see the end.
 */
struct metrics_conn {
	struct metrics			*mc_m;
	struct bufferevent		*mc_bev;	/* our reference */
	struct evhttp_connection	*mc_evcon;	/* once it asked */
	struct event			*mc_deadline;
	TAILQ_ENTRY(metrics_conn)	 mc_entry;
};

struct metrics {
	TAILQ_ENTRY(metrics)	 m_entry;	/* in metrics_servers */
	struct evhttp		*m_http;
	struct evconnlistener	*m_listener;
	struct event		*m_resume;	/* accepting again */
	TAILQ_HEAD(, metrics_conn) m_conns;
	int			 m_nconns;
	int			 m_listed;	/* in metrics_servers */
};

static struct log_rl	metrics_rl_busy, metrics_rl_accept;
/* Every running server: a listener given to evhttp calls back with the
 * evhttp, by which its server is found (one per node; the scenario tests
 * run several nodes in one process). */
static TAILQ_HEAD(, metrics) metrics_servers =
    TAILQ_HEAD_INITIALIZER(metrics_servers);

/* "# HELP" and "# TYPE" of a family, named without the prefix. */
static void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP handoffd_%s %s\n# TYPE handoffd_%s %s\n",
	    name, help, name, type);
}

/* One sample; labels is the text between the braces, or NULL.  Label
 * values are names of the configuration, which need no escaping. */
static void
metrics_sample(struct evbuffer *b, const char *name, const char *labels,
    unsigned long long v)
{
	evbuffer_add_printf(b, "handoffd_%s%s%s%s %llu\n", name,
	    labels != NULL ? "{" : "", labels != NULL ? labels : "",
	    labels != NULL ? "}" : "", v);
}

/* The counters of stats.c's table, a family's help before its first
 * sample. */
struct metrics_counters {
	struct evbuffer		*mc_buf;
	const char		*mc_family;
};

static void
metrics_counter(void *arg, const char *name, const char *family,
    const char *label, const char *help, uint64_t v)
{
	struct metrics_counters	*mc = arg;

	if (mc->mc_family == NULL || strcmp(mc->mc_family, family) != 0) {
		metrics_family(mc->mc_buf, family, "counter", help);
		mc->mc_family = family;
	}
	metrics_sample(mc->mc_buf, family, label, v);
}

/* Flows now, by role and by the service of a front-end flow. */
struct metrics_flows {
	const struct hd		*mf_hd;
	unsigned long long	 mf_fe;
	unsigned long long	 mf_be;
	unsigned long long	 mf_service[CFG_MAX_SERVICES];
};

static void
metrics_flow(struct flow *f, void *arg)
{
	struct metrics_flows	*mf = arg;
	const struct cfg	*cfg = mf->mf_hd->hd_cfg;
	int			 i;

	if (f->f_ops != &fe_flow_ops) {
		mf->mf_be++;
		return;
	}
	mf->mf_fe++;
	for (i = 0; i < cfg->cfg_nservices; i++)
		if (addr_eq(&cfg->cfg_services[i].cs_vip.ep_addr,
		    &f->f_key.k_laddr) &&
		    cfg->cfg_services[i].cs_vip.ep_port == f->f_key.k_lport)
			mf->mf_service[i]++;
}

/* The samples of one of the handoff families (part 0: started, 1: by
 * result, 2: the latency histogram) for one member or service. */
static void
metrics_ho_samples(struct evbuffer *b, int part, const char *fam,
    const char *lab, const struct health_ho *ho)
{
	char			 l[200];
	unsigned long long	 n = 0;
	int			 r;

	switch (part) {
	case 0:
		metrics_sample(b, fam, lab, ho->ho_started);
		break;
	case 1:
		for (r = 0; r < HEALTH_HO_MAX; r++) {
			snprintf(l, sizeof(l), "%s,result=\"%s\"", lab,
			    health_ho_name(r));
			metrics_sample(b, fam, l, ho->ho_ended[r]);
		}
		break;
	default:
		for (r = 0; r < HEALTH_LAT_BUCKETS; r++) {
			n += ho->ho_lat[r];
			if (r < HEALTH_LAT_BUCKETS - 1)
				snprintf(l, sizeof(l), "%s,le=\"%g\"", lab,
				    health_lat_bounds[r] / 1e6);
			else
				snprintf(l, sizeof(l), "%s,le=\"+Inf\"", lab);
			evbuffer_add_printf(b, "handoffd_%s_bucket{%s} %llu\n",
			    fam, l, n);
		}
		evbuffer_add_printf(b, "handoffd_%s_sum{%s} %.6f\n", fam, lab,
		    ho->ho_lat_sum_us / 1e6);
		evbuffer_add_printf(b, "handoffd_%s_count{%s} %llu\n", fam,
		    lab, n);
		break;
	}
}

/*
 * The handoffs the front-end reports (health.c) by service or by pool
 * member (what is "service" or "member"): sent, ended by result, and the
 * latency histogram, each family once for all of them.
 */
static void
metrics_handoffs(const struct hd *hd, struct evbuffer *b, const char *what)
{
	static const char *const fams[3][3] = {
		{ "handoffs_started_total", "counter",
		    "HANDOFF messages sent, and requests of this node's own "
		    "share given to its stack or its local server." },
		{ "handoffs_total", "counter", "Handoffs ended, by result: "
		    "accepted, refused, timeout (no answer within "
		    "handoff.timeout), failed (the control channel dropped "
		    "first)." },
		{ "handoff_duration_seconds", "histogram", "Time from HANDOFF "
		    "to HANDOFF_ACK, accepted or refused (this node's own "
		    "share: until its local server took the connection or "
		    "refused it)." },
	};
	const struct cfg	*cfg = hd->hd_cfg;
	char			 fam[64], lab[128];
	int			 part, p, i;

	for (part = 0; part < 3; part++) {
		snprintf(fam, sizeof(fam), "%s_%s", what, fams[part][0]);
		metrics_family(b, fam, fams[part][1], fams[part][2]);
		if (strcmp(what, "service") == 0) {
			for (p = 0; p < cfg->cfg_nservices; p++) {
				snprintf(lab, sizeof(lab), "service=\"%s\"",
				    cfg->cfg_services[p].cs_name);
				metrics_ho_samples(b, part, fam, lab,
				    health_service_ho(hd, p));
			}
			continue;
		}
		for (p = 0; p < cfg->cfg_npools; p++) {
			const struct cfg_pool *cp = &cfg->cfg_pools[p];

			for (i = 0; i < cp->cp_nmembers; i++) {
				snprintf(lab, sizeof(lab), "pool=\"%s\","
				    "member=\"%s\"", cp->cp_name,
				    cp->cp_members[i].cm_node);
				metrics_ho_samples(b, part, fam, lab,
				    health_member_ho(hd, p, i));
			}
		}
	}
}

/* Each pool member's state, weight and load. */
static void
metrics_members(const struct hd *hd, struct evbuffer *b)
{
	static const char *const fams[4][2] = {
		{ "member_up", "1 if the member is in service in the pool." },
		{ "member_drained", "1 if the member was drained "
		    "(handoffctl drain)." },
		{ "member_weight", "The member's weight now." },
		{ "member_load", "The member's load as least-conn and lard "
		    "see it: connections." },
	};
	const struct cfg	*cfg = hd->hd_cfg;
	uint32_t		 load[CFG_MAX_MEMBERS];
	char			 lab[128];
	unsigned long long	 v;
	enum health_state	 st;
	int			 k, p, i;

	for (k = 0; k < 4; k++) {
		metrics_family(b, fams[k][0], "gauge", fams[k][1]);
		for (p = 0; p < cfg->cfg_npools; p++) {
			const struct cfg_pool *cp = &cfg->cfg_pools[p];

			health_loads(hd, p, load);
			for (i = 0; i < cp->cp_nmembers; i++) {
				st = health_state(hd, p, i);
				v = k == 0 ? st == HEALTH_UP :
				    k == 1 ? st == HEALTH_DRAINED :
				    k == 2 ? (unsigned)cp->cp_members[i].
				    cm_weight : load[i];
				snprintf(lab, sizeof(lab), "pool=\"%s\","
				    "member=\"%s\"", cp->cp_name,
				    cp->cp_members[i].cm_node);
				metrics_sample(b, fams[k][0], lab, v);
			}
		}
	}
}

/* Each peer's control channel and load, and what this front-end gave
 * every node, itself included. */
static void
metrics_peers(const struct hd *hd, struct evbuffer *b)
{
	const struct cfg	*cfg = hd->hd_cfg;
	char			 lab[64];
	int			 k, i;

	for (k = 0; k < 2; k++) {
		if (k == 0)
			metrics_family(b, "peer_up", "gauge", "1 if the "
			    "control channel to the peer is up.");
		else
			metrics_family(b, "peer_load", "gauge", "Connections "
			    "the peer last reported serving.");
		for (i = 0; i < cfg->cfg_npeers; i++) {
			if (cfg->cfg_peers[i].cp_retired)
				continue;
			snprintf(lab, sizeof(lab), "peer=\"%s\"",
			    cfg->cfg_peers[i].cp_id);
			metrics_sample(b, k == 0 ? "peer_up" : "peer_load", lab,
			    k == 0 ? (unsigned)peer_is_up(hd, i) :
			    peer_load(hd, i));
		}
	}
	metrics_family(b, "assigned_flows", "gauge", "Connections this "
	    "front-end handed to the node, or served itself, not over yet.");
	for (i = 0; i <= cfg->cfg_npeers; i++) {
		int node = i < cfg->cfg_npeers ? i : PEER_LOCAL;

		snprintf(lab, sizeof(lab), "node=\"%s\"", peer_id(hd, node));
		metrics_sample(b, "assigned_flows", lab,
		    health_assigned(hd, node));
	}
}

/* Everything, in the text exposition format. */
void
metrics_render(const struct hd *hd, struct evbuffer *b)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct metrics_counters	 mc = { b, NULL };
	struct metrics_flows	 mf;
	char			 lab[64];
	int			 i;

	metrics_family(b, "build_info", "gauge", "The version of handoffd "
	    "and of lwIP, as labels.");
	evbuffer_add_printf(b, "handoffd_build_info{version=\"%s\","
	    "lwip=\"%s\"} 1\n", PACKAGE_VERSION, HANDOFFD_LWIP_VERSION);
	stats_foreach(hd, metrics_counter, &mc);

	memset(&mf, 0, sizeof(mf));
	mf.mf_hd = hd;
	flow_foreach(hd->hd_flows, metrics_flow, &mf);
	metrics_family(b, "flows", "gauge", "Connections in the flow table, "
	    "by this node's role.");
	metrics_sample(b, "flows", "role=\"front-end\"", mf.mf_fe);
	metrics_sample(b, "flows", "role=\"back-end\"", mf.mf_be);
	metrics_family(b, "flows_max", "gauge", "The flow table's size "
	    "(handoff.max_flows).");
	metrics_sample(b, "flows_max", NULL, flow_capacity(hd->hd_flows));
	metrics_family(b, "served_connections", "gauge", "Connections this "
	    "node's web server serves through the daemon, from every "
	    "front-end.");
	metrics_sample(b, "served_connections", NULL, hd->hd_served);
	metrics_family(b, "lwip_bytes", "gauge", "Memory the embedded lwIP "
	    "stack holds: buffers, segments, connections.");
	metrics_sample(b, "lwip_bytes", NULL, port_mem_used());
	metrics_family(b, "lwip_pressure", "gauge", "0, or 1 while the "
	    "embedded lwIP stack holds its memory budget, 2 past its hard "
	    "bound (handoff.max_flows).");
	metrics_sample(b, "lwip_pressure", NULL,
	    (unsigned long long)port_mem_pressed());
	metrics_family(b, "service_flows", "gauge", "Front-end connections "
	    "to the service's VIP.");
	for (i = 0; i < cfg->cfg_nservices; i++) {
		snprintf(lab, sizeof(lab), "service=\"%s\"",
		    cfg->cfg_services[i].cs_name);
		metrics_sample(b, "service_flows", lab, mf.mf_service[i]);
	}
	metrics_handoffs(hd, b, "service");
	metrics_peers(hd, b);
	metrics_members(hd, b);
	metrics_handoffs(hd, b, "member");
}

static void
metrics_conn_free(struct metrics_conn *mc)
{
	struct metrics	*m = mc->mc_m;

	TAILQ_REMOVE(&m->m_conns, mc, mc_entry);
	m->m_nconns--;
	if (mc->mc_evcon != NULL)
		evhttp_connection_set_closecb(mc->mc_evcon, NULL, NULL);
	event_free(mc->mc_deadline);
	bufferevent_decref(mc->mc_bev);
	free(mc);
}

/* evhttp frees a connection that asked: its last reference is evhttp's. */
static void
metrics_on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	metrics_conn_free(arg);
}

/* Too slow, or the oldest of one too many: its socket is shut down,
 * evhttp reads the end and frees the connection. */
static void
metrics_conn_end(struct metrics_conn *mc)
{
	evutil_socket_t	 s = bufferevent_getfd(mc->mc_bev);

	if (s != -1)
		shutdown(s, SHUT_RDWR);
	metrics_conn_free(mc);
}

static void
metrics_on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	metrics_conn_end(arg);
}

/* evhttp accepted a connection (evhttp_set_bevcb): its bufferevent, which
 * we keep a reference to. */
static struct bufferevent *
metrics_on_new_conn(struct event_base *base, void *arg)
{
	struct metrics		*m = arg;
	struct metrics_conn	*mc, *old;
	struct bufferevent	*bev;
	struct timeval		 tv = { METRICS_TIMEOUT_S, 0 };

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	/* Once evhttp has let go of it (an error it answered itself) our
	 * reference keeps it reading till its deadline: not beyond a head. */
	bufferevent_setwatermark(bev, EV_READ, 0, 2 * METRICS_HEADERS_MAX);
	if ((mc = calloc(1, sizeof(*mc))) == NULL ||
	    (mc->mc_deadline = evtimer_new(base, metrics_on_deadline, mc)) ==
	    NULL) {
		/* evhttp makes one of its own: this one goes unkept */
		free(mc);
		bufferevent_free(bev);
		return NULL;
	}
	bufferevent_incref(bev);
	mc->mc_m = m;
	mc->mc_bev = bev;
	/* One too many: the oldest that is not being answered goes (one
	 * that asked nothing yet, or is idle after its answer), so that
	 * connections a client closed before asking (which evhttp does not
	 * tell us of) wait no deadline before they make room; with all 16
	 * being answered, the oldest of them: a scraper reads its answer
	 * at once, and a client that does not read its own must not hold a
	 * place till its deadline.  Holding scrapers out then takes opening
	 * connections faster than a scrape takes. */
	if (m->m_nconns == METRICS_CONNS_MAX) {
		TAILQ_FOREACH(old, &m->m_conns, mc_entry)
			if (evbuffer_get_length(bufferevent_get_output(
			    old->mc_bev)) == 0)
				break;
		log_ratelim(&metrics_rl_busy, "metrics: more than %d "
		    "connections at once: the oldest %s closed",
		    METRICS_CONNS_MAX, old != NULL ? "idle one" :
		    "one being answered");
		metrics_conn_end(old != NULL ? old : TAILQ_FIRST(&m->m_conns));
	}
	TAILQ_INSERT_TAIL(&m->m_conns, mc, mc_entry);
	m->m_nconns++;
	evtimer_add(mc->mc_deadline, &tv);
	return bev;
}

/* The connection req came on, ours to watch till it ends. */
static void
metrics_watch(struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent	*bev;
	struct metrics_conn	*mc;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return;
	TAILQ_FOREACH(mc, &m->m_conns, mc_entry)
		if (mc->mc_bev == bev) {
			if (mc->mc_evcon == NULL) {
				mc->mc_evcon = evcon;
				evhttp_connection_set_closecb(evcon,
				    metrics_on_conn_close, mc);
			}
			return;
		}
}

/* GET /metrics (or HEAD, its headers alone: evhttp 2.1 sends the body). */
static void
metrics_on_request(struct evhttp_request *req, void *arg)
{
	const struct hd	*hd = arg;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer	*b;
	char		 len[32];

	metrics_watch(hd->hd_metrics, req);
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	metrics_render(hd, b);
	evhttp_add_header(out, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(b));
		evhttp_add_header(out, "Content-Length", len);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
	} else
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* Anything but /metrics. */
static void
metrics_on_other(struct evhttp_request *req, void *arg)
{
	metrics_watch(arg, req);
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
}

static void
metrics_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct metrics	*m = arg;

	evconnlistener_enable(m->m_listener);
}

/* accept() failed: out of descriptors, it would fail again at once (and
 * libevent's listener would spin), so accepting waits a second. */
static void
metrics_on_accept_error(struct evconnlistener *l, void *http)
{
	struct metrics	*m;
	struct timeval	 tv = { 1, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	log_ratelim(&metrics_rl_accept, "metrics: accept: %s",
	    evutil_socket_error_to_string(e));
	TAILQ_FOREACH(m, &metrics_servers, m_entry)
		if (m->m_http == http && m->m_listener == l) {
			evconnlistener_disable(l);
			evtimer_add(m->m_resume, &tv);
			return;
		}
}

/* The listening socket.  Not evhttp_bind_socket(): its getaddrinfo()
 * finds no IPv4 address on a host whose only one is the loopback's. */
static int
metrics_listen(const struct cfg_endpoint *ep)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, one = 1;

	sslen = (socklen_t)addr_sockaddr(&ep->ep_addr, ep->ep_port, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Listens on metrics.listen, if set. */
int
metrics_start(struct hd *hd)
{
	const struct cfg_endpoint *ep = &hd->hd_cfg->cfg_metrics.cm_listen;
	struct metrics		*m;
	char			 addr[ADDR_STRLEN];
	int			 fd;

	if (ep->ep_port == 0)
		return 0;
	addr_str(&ep->ep_addr, addr, sizeof(addr));
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	TAILQ_INIT(&m->m_conns);
	hd->hd_metrics = m;
	if ((m->m_http = evhttp_new(hd->hd_base)) == NULL ||
	    (m->m_resume = evtimer_new(hd->hd_base, metrics_on_resume, m)) ==
	    NULL)
		return -1;
	evhttp_set_bevcb(m->m_http, metrics_on_new_conn, m);
	evhttp_set_allowed_methods(m->m_http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(m->m_http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->m_http, 0);
	evhttp_set_timeout(m->m_http, METRICS_TIMEOUT_S);
	if (evhttp_set_cb(m->m_http, "/metrics", metrics_on_request, hd) != 0)
		return -1;
	evhttp_set_gencb(m->m_http, metrics_on_other, m);
	if ((fd = metrics_listen(ep)) == -1 ||
	    (m->m_listener = evconnlistener_new(hd->hd_base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL ||
	    evhttp_bind_listener(m->m_http, m->m_listener) == NULL) {
		log_warn("metrics: cannot listen on %s:%u", addr,
		    ntohs(ep->ep_port));
		if (m->m_listener != NULL)
			evconnlistener_free(m->m_listener);
		else if (fd != -1)
			close(fd);
		m->m_listener = NULL;
		return -1;
	}
	evconnlistener_set_error_cb(m->m_listener, metrics_on_accept_error);
	TAILQ_INSERT_TAIL(&metrics_servers, m, m_entry);
	m->m_listed = 1;
	log_debug("metrics on http://%s:%u/metrics", addr, ntohs(ep->ep_port));
	return 0;
}

void
metrics_stop(struct hd *hd)
{
	struct metrics	*m = hd->hd_metrics;

	if (m == NULL)
		return;
	if (m->m_listed)
		TAILQ_REMOVE(&metrics_servers, m, m_entry);
	/* evhttp frees the listener it was given, and its connections: those
	 * that asked leave our list as they go (metrics_on_conn_close). */
	if (m->m_http != NULL)
		evhttp_free(m->m_http);
	else if (m->m_listener != NULL)
		evconnlistener_free(m->m_listener);
	while (!TAILQ_EMPTY(&m->m_conns))
		metrics_conn_free(TAILQ_FIRST(&m->m_conns));
	if (m->m_resume != NULL)
		event_free(m->m_resume);
	free(m);
	hd->hd_metrics = NULL;
}

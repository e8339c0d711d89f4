/*
 * Member health and load.  A member is out of its pools while
 *  - the operator drained it (handoffctl drain), or
 *  - its node's control channel is down (this node never is),
 *  - its node refused the pool's fail_threshold last handoffs in a row (a
 *    refusal or a timeout): it gets a trial handoff again check_interval
 *    after the last one, and one acceptance brings it back, or
 *  - the pool checks check_path and the member's server failed
 *    HEALTH_FALL checks in a row (HEALTH_RISE good ones bring it back).
 * A member not checked yet counts as healthy: a restarted front-end must
 * not answer 503 until its first checks come back.
 *
 * What the operator changes lives as long as the configuration: a drain
 * here, a weight in the configuration the pools pick from, so that a
 * reload, which brings a new configuration, starts afresh.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "handoff/health.h"
#include "handoff/peer.h"
#include "handoff/pool.h"

struct health_check {
	struct health		*hc_health;
	int			 hc_pool;
	int			 hc_member;
	struct evhttp_connection *hc_conn;
	struct event		*hc_timer;
	int			 hc_busy;	/* a request is out */
	int			 hc_down;
	int			 hc_run;	/* same results in a row */
};

struct health_node {
	uint32_t		 hn_refusals;	/* in a row */
	uint32_t		 hn_last_refusal; /* ms */
	uint32_t		 hn_assigned;	/* our connections on it */
};

struct health {
	struct hd		*h_hd;
	struct health_node	 h_nodes[CFG_MAX_PEERS + 1];
	struct health_check	*h_checks[CFG_MAX_POOLS][CFG_MAX_MEMBERS];
	uint64_t		 h_drained[CFG_MAX_POOLS];	/* members */
	struct health_ho	*h_member_ho[CFG_MAX_POOLS];	/* per member */
	struct health_ho	 h_service_ho[CFG_MAX_SERVICES];
	uint64_t		 h_since_us;	/* the counts start (a reload) */
};

/* 100 µs to 5 s: a handoff within one site takes well under a
 * millisecond, and handoff.timeout is at most a minute. */
const uint32_t health_lat_bounds[HEALTH_LAT_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 5000000,
};

static const char *const health_state_names[] = {
	[HEALTH_UP] = "up",
	[HEALTH_DRAINED] = "drained",
	[HEALTH_CHANNEL] = "channel-down",
	[HEALTH_REFUSING] = "refusing",
	[HEALTH_CHECK] = "check-failed",
};

static const char *const health_ho_names[HEALTH_HO_MAX] = {
	[HEALTH_HO_ACCEPTED] = "accepted",
	[HEALTH_HO_REFUSED] = "refused",
	[HEALTH_HO_TIMEOUT] = "timeout",
	[HEALTH_HO_FAILED] = "failed",
};

static int
health_node(const struct cfg_member *m)
{
	return m->cm_peer < 0 ? PEER_LOCAL : m->cm_peer;
}

/* Whether a node's refusals in a row keep it out of pool cp, until it
 * accepts one: the state operators see and alert on. */
static int
health_refusing(const struct health_node *n, const struct cfg_pool *cp)
{
	return n->hn_refusals >= (uint32_t)cp->cp_fail_threshold;
}

/* Whether a refusing node may have a trial handoff now: check_interval
 * after its last refusal. */
static int
health_trial_due(const struct health_node *n, const struct cfg_pool *cp)
{
	return port_now_ms() - n->hn_last_refusal >=
	    (uint32_t)cp->cp_check_interval_ms;
}

/* Whether node is among pool cp's members. */
static int
health_in_pool(const struct cfg_pool *cp, int node)
{
	int	 i;

	for (i = 0; i < cp->cp_nmembers; i++)
		if (health_node(&cp->cp_members[i]) == node)
			return 1;
	return 0;
}

/* Member i of pool: in service, or why not.  A drain says most about
 * what will happen next, so it shows before any failure. */
enum health_state
health_state(const struct hd *hd, int pool, int i)
{
	struct health		*h = hd->hd_health;
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[pool];
	const struct cfg_member	*m = &cp->cp_members[i];
	struct health_node	*n = &h->h_nodes[health_node(m)];
	struct health_check	*c = h->h_checks[pool][i];

	if (h->h_drained[pool] >> i & 1)
		return HEALTH_DRAINED;
	if (m->cm_peer >= 0 && !peer_is_up(hd, m->cm_peer))
		return HEALTH_CHANNEL;
	if (health_refusing(n, cp))
		return HEALTH_REFUSING;
	if (c != NULL && c->hc_down)
		return HEALTH_CHECK;
	return HEALTH_UP;
}

const char *
health_state_name(enum health_state st)
{
	return health_state_names[st];
}

const char *
health_ho_name(enum health_ho_result r)
{
	return health_ho_names[r];
}

/* The members of pool that may get a request now, as a mask: those in
 * service, and refusing ones due a trial whose server passes its checks. */
uint64_t
health_members(const struct hd *hd, int pool)
{
	const struct health	*h = hd->hd_health;
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[pool];
	const struct health_check *c;
	uint64_t		 ok = 0;
	enum health_state	 st;
	int			 i;

	for (i = 0; i < cp->cp_nmembers; i++) {
		st = health_state(hd, pool, i);
		c = h->h_checks[pool][i];
		if (st == HEALTH_UP || (st == HEALTH_REFUSING &&
		    health_trial_due(&h->h_nodes[health_node(
		    &cp->cp_members[i])], cp) && (c == NULL || !c->hc_down)))
			ok |= 1ULL << i;
	}
	return ok;
}

/* The index of node (a peer, or PEER_LOCAL) among pool's members, or -1. */
int
health_member(const struct hd *hd, int pool, int node)
{
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[pool];
	int			 i;

	for (i = 0; i < cp->cp_nmembers; i++)
		if (health_node(&cp->cp_members[i]) == node)
			return i;
	return -1;
}

/* Drains member i of pool (on), or puts it back: a drained member gets
 * no new connection and keeps those it has. */
void
health_drain(struct hd *hd, int pool, int i, int on)
{
	uint64_t	*d = &hd->hd_health->h_drained[pool];

	if (on)
		*d |= 1ULL << i;
	else
		*d &= ~(1ULL << i);
}

/* Gives member i of pool a new weight, in the configuration the pools
 * pick from; the pool rebuilds what it derived from the old one. */
void
health_set_weight(struct hd *hd, int pool, int i, int weight)
{
	hd->hd_cfg->cfg_pools[pool].cp_members[i].cm_weight = weight;
	pool_state_reweigh(hd->hd_pools[pool]);
}

/* Connections this front-end handed to node that are not over yet. */
uint32_t
health_assigned(const struct hd *hd, int node)
{
	return hd->hd_health->h_nodes[node].hn_assigned;
}

/* A monotonic clock in µs: handoffs take less than the flow clock's
 * millisecond. */
static uint64_t
health_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * The front-end sent a HANDOFF for a connection to service svc, routed to
 * pool, to node (svc NULL, pool -1: one a reload took away).  Returns the
 * time it was sent, which the front-end gives back to
 * health_handoff_done().
 */
uint64_t
health_handoff_sent(struct hd *hd, const struct cfg_service *svc, int pool,
    int node)
{
	struct health	*h = hd->hd_health;
	int		 i = pool >= 0 ? health_member(hd, pool, node) : -1;

	if (svc != NULL)
		h->h_service_ho[svc - hd->hd_cfg->cfg_services].ho_started++;
	/* (a pool a reload could not set up, out of memory, has none) */
	if (i >= 0 && h->h_member_ho[pool] != NULL)
		h->h_member_ho[pool][i].ho_started++;
	return health_now_us();
}

static void
health_ho_count(struct health_ho *ho, enum health_ho_result r, uint64_t us)
{
	int	 b;

	ho->ho_ended[r]++;
	if (r != HEALTH_HO_ACCEPTED && r != HEALTH_HO_REFUSED)
		return;
	for (b = 0; b < HEALTH_LAT_BUCKETS - 1; b++)
		if (us <= health_lat_bounds[b])
			break;
	ho->ho_lat[b]++;
	ho->ho_lat_sum_us += us;
}

/* The handoff sent at sent (health_handoff_sent's) ended: the latency of
 * those a HANDOFF_ACK answered goes to the histogram. */
void
health_handoff_done(struct hd *hd, const struct cfg_service *svc, int pool,
    int node, enum health_ho_result r, uint64_t sent)
{
	struct health	*h = hd->hd_health;
	uint64_t	 us = health_now_us() - sent;
	int		 i = pool >= 0 ? health_member(hd, pool, node) : -1;

	/* Started before the counts did: its end is not theirs. */
	if (sent < h->h_since_us)
		return;
	if (svc != NULL)
		health_ho_count(&h->h_service_ho[svc -
		    hd->hd_cfg->cfg_services], r, us);
	if (i >= 0 && h->h_member_ho[pool] != NULL)
		health_ho_count(&h->h_member_ho[pool][i], r, us);
}

const struct health_ho *
health_member_ho(const struct hd *hd, int pool, int i)
{
	static const struct health_ho none;

	if (hd->hd_health->h_member_ho[pool] == NULL)
		return &none;
	return &hd->hd_health->h_member_ho[pool][i];
}

const struct health_ho *
health_service_ho(const struct hd *hd, int svc)
{
	return &hd->hd_health->h_service_ho[svc];
}

/* Each member's load: the larger of the connections this front-end has
 * on it and what the node last said it serves (other front-ends' too). */
void
health_loads(const struct hd *hd, int pool, uint32_t *load)
{
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[pool];
	int			 i, node;
	uint32_t		 served;

	for (i = 0; i < cp->cp_nmembers; i++) {
		node = health_node(&cp->cp_members[i]);
		served = peer_load(hd, node);
		load[i] = hd->hd_health->h_nodes[node].hn_assigned;
		if (served > load[i])
			load[i] = served;
	}
}

/* The log lines of a member leaving pool cp, or coming back, by the
 * handoffs it refused in a row. */
static void
health_log_out(struct hd *hd, int node, const struct cfg_pool *cp,
    uint32_t refusals)
{
	log_warnx("health: %s is out of pool %s: %u handoff%s refused in a "
	    "row", peer_id(hd, node), cp->cp_name, refusals,
	    refusals == 1 ? "" : "s");
}

static void
health_log_back(struct hd *hd, int node, const struct cfg_pool *cp)
{
	log_info("health: %s is back in pool %s", peer_id(hd, node),
	    cp->cp_name);
}

/* Names the pools node just left by refusing its refusals'th handoff in
 * a row (a timeout counts as one): those whose fail_threshold it reached. */
static void
health_refused_out(struct hd *hd, int node)
{
	const struct cfg	*cfg = hd->hd_cfg;
	const struct cfg_pool	*cp;
	uint32_t		 refusals = hd->hd_health->h_nodes[node].hn_refusals;
	int			 p;

	for (p = 0; p < cfg->cfg_npools; p++) {
		cp = &cfg->cfg_pools[p];
		if (refusals == (uint32_t)cp->cp_fail_threshold &&
		    health_in_pool(cp, node))
			health_log_out(hd, node, cp, refusals);
	}
}

/* A reload changed the pools under node's refusals in a row: it leaves
 * those whose new threshold it has reached, and comes back to those whose
 * new one it has not. */
static void
health_reload_node(struct hd *hd, const struct cfg *old, int node)
{
	const struct cfg	*cfg = hd->hd_cfg;
	const struct health_node *n = &hd->hd_health->h_nodes[node];
	const struct cfg_pool	*cp;
	int			 p, o, was, is;

	for (p = 0; p < cfg->cfg_npools; p++) {
		cp = &cfg->cfg_pools[p];
		if (!health_in_pool(cp, node))
			continue;
		o = cfg_pool_by_name(old, cp->cp_name);
		was = o >= 0 && health_in_pool(&old->cfg_pools[o], node) &&
		    health_refusing(n, &old->cfg_pools[o]);
		is = health_refusing(n, cp);
		if (is && !was)
			health_log_out(hd, node, cp, n->hn_refusals);
		else if (was && !is)
			health_log_back(hd, node, cp);
	}
}

/* A handoff to node was refused or timed out. */
void
health_refused(struct hd *hd, int node)
{
	struct health_node *n = &hd->hd_health->h_nodes[node];

	n->hn_refusals++;
	n->hn_last_refusal = port_now_ms();
	if (n->hn_refusals == 1 || n->hn_refusals % 100 == 0)
		log_info("health: %s refused %u handoff%s in a row",
		    peer_id(hd, node), n->hn_refusals,
		    n->hn_refusals == 1 ? "" : "s");
	health_refused_out(hd, node);
}

void
health_accepted(struct hd *hd, int node)
{
	struct health_node	*n = &hd->hd_health->h_nodes[node];
	const struct cfg	*cfg = hd->hd_cfg;
	const struct cfg_pool	*cp;
	int			 p;

	if (n->hn_refusals == 0)
		return;
	log_info("health: %s accepts handoffs again after %u refusal%s",
	    peer_id(hd, node), n->hn_refusals, n->hn_refusals == 1 ? "" : "s");
	/* Out of a pool, or there on trial (past check_interval). */
	for (p = 0; p < cfg->cfg_npools; p++) {
		cp = &cfg->cfg_pools[p];
		if (n->hn_refusals >= (uint32_t)cp->cp_fail_threshold &&
		    health_in_pool(cp, node))
			health_log_back(hd, node, cp);
	}
	n->hn_refusals = 0;
}

/* delta (+1 or -1) connections of this front-end on node. */
void
health_assign(struct hd *hd, int node, int delta)
{
	struct health_node *n = &hd->hd_health->h_nodes[node];

	if (delta < 0 && n->hn_assigned == 0) {
		log_warnx("health: %s: connection count would go negative",
		    peer_id(hd, node));
		return;
	}
	n->hn_assigned += (uint32_t)delta;
}

/* For the status file, four "name value" lines per member, named
 * "member/POOL/NODE/": up (1 or 0), state, weight and load. */
void
health_print(const struct hd *hd, FILE *fp)
{
	const struct cfg	*cfg = hd->hd_cfg;
	uint32_t		 load[CFG_MAX_MEMBERS];
	enum health_state	 st;
	int			 p, i;

	for (p = 0; p < cfg->cfg_npools; p++) {
		const struct cfg_pool *cp = &cfg->cfg_pools[p];

		health_loads(hd, p, load);
		for (i = 0; i < cp->cp_nmembers; i++) {
			const char *name = cp->cp_members[i].cm_node;

			st = health_state(hd, p, i);
			fprintf(fp, "member/%s/%s/up %d\n"
			    "member/%s/%s/state %s\n"
			    "member/%s/%s/weight %d\n"
			    "member/%s/%s/load %u\n",
			    cp->cp_name, name, st == HEALTH_UP,
			    cp->cp_name, name, health_state_name(st),
			    cp->cp_name, name, cp->cp_members[i].cm_weight,
			    cp->cp_name, name, load[i]);
		}
	}
}

static const char *
health_member_name(const struct health_check *c)
{
	const struct cfg *cfg = c->hc_health->h_hd->hd_cfg;

	return cfg->cfg_pools[c->hc_pool].cp_members[c->hc_member].cm_node;
}

/* One check's result: HEALTH_FALL failures in a row take the member out,
 * HEALTH_RISE successes bring it back. */
static void
health_check_result(struct health_check *c, int ok, const char *why)
{
	const struct cfg_pool *cp =
	    &c->hc_health->h_hd->hd_cfg->cfg_pools[c->hc_pool];

	c->hc_busy = 0;
	if (ok == !c->hc_down) {
		c->hc_run = 0;
		return;
	}
	if (++c->hc_run < (ok ? HEALTH_RISE : HEALTH_FALL))
		return;
	c->hc_run = 0;
	c->hc_down = !ok;
	if (ok)
		log_info("health: %s is back in pool %s", health_member_name(c),
		    cp->cp_name);
	else
		log_warnx("health: %s is out of pool %s: GET %s %s",
		    health_member_name(c), cp->cp_name, cp->cp_check_path, why);
}

static void
health_on_response(struct evhttp_request *req, void *arg)
{
	struct health_check	*c = arg;
	char			 why[32];
	int			 code;

	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code == 0)
		snprintf(why, sizeof(why), "got no answer");
	else
		snprintf(why, sizeof(why), "answered %d", code);
	health_check_result(c, code >= 200 && code < 400, why);
}

/* The member's server address: where its node says it serves for a
 * peer, node.server for this node. */
static const struct cfg_endpoint *
health_server(const struct hd *hd, const struct cfg_member *m)
{
	if (m->cm_peer < 0)
		return &hd->hd_cfg->cfg_node.cn_server;
	return &hd->hd_cfg->cfg_peers[m->cm_peer].cp_server;
}

static void
health_on_timer(int fd, short ev, void *arg)
{
	struct health_check	*c = arg;
	struct hd		*hd = c->hc_health->h_hd;
	const struct cfg_pool	*cp = &hd->hd_cfg->cfg_pools[c->hc_pool];
	const struct cfg_endpoint *ep;
	struct evhttp_request	*req;
	char			 host[ADDR_STRLEN];

	(void)fd;
	(void)ev;
	if (c->hc_busy)
		return;		/* the connection's timeout will answer */
	ep = health_server(hd, &cp->cp_members[c->hc_member]);
	addr_str(&ep->ep_addr, host, sizeof(host));
	if (c->hc_conn == NULL) {
		struct timeval tv;
		int ms = cp->cp_check_interval_ms;

		if ((c->hc_conn = evhttp_connection_base_new(hd->hd_base,
		    NULL, host, ntohs(ep->ep_port))) == NULL) {
			health_check_result(c, 0, "could not be sent");
			return;
		}
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evhttp_connection_set_timeout_tv(c->hc_conn, &tv);
		evhttp_connection_set_retries(c->hc_conn, 0);
	}
	if ((req = evhttp_request_new(health_on_response, c)) == NULL) {
		health_check_result(c, 0, "could not be sent");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "User-Agent", "handoffd-check");
	c->hc_busy = 1;
	if (evhttp_make_request(c->hc_conn, req, EVHTTP_REQ_GET,
	    cp->cp_check_path) == -1)
		health_check_result(c, 0, "could not be sent");
}

/* Starts a check for every member of every pool with a check_path. */
static int
health_pools_start(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	struct health		*h = hd->hd_health;
	struct health_check	*c;
	int			 p, i;

	h->h_since_us = health_now_us();
	for (p = 0; p < cfg->cfg_npools; p++) {
		const struct cfg_pool *cp = &cfg->cfg_pools[p];
		struct timeval tv = { cp->cp_check_interval_ms / 1000,
		    (cp->cp_check_interval_ms % 1000) * 1000 };

		if ((h->h_member_ho[p] = calloc((size_t)cp->cp_nmembers,
		    sizeof(*h->h_member_ho[p]))) == NULL)
			return -1;
		if (cp->cp_check_path[0] == '\0')
			continue;
		for (i = 0; i < cp->cp_nmembers; i++) {
			if ((c = calloc(1, sizeof(*c))) == NULL)
				return -1;
			h->h_checks[p][i] = c;
			c->hc_health = h;
			c->hc_pool = p;
			c->hc_member = i;
			if ((c->hc_timer = event_new(hd->hd_base, -1,
			    EV_PERSIST, health_on_timer, c)) == NULL ||
			    event_add(c->hc_timer, &tv) == -1)
				return -1;
		}
	}
	return 0;
}

/* Ends the checks and forgets what the pools' members did; the nodes'
 * state stays. */
static void
health_pools_stop(struct health *h)
{
	int	 p, i;

	for (p = 0; p < CFG_MAX_POOLS; p++) {
		free(h->h_member_ho[p]);
		h->h_member_ho[p] = NULL;
		h->h_drained[p] = 0;
		for (i = 0; i < CFG_MAX_MEMBERS; i++) {
			struct health_check *c = h->h_checks[p][i];

			if (c == NULL)
				continue;
			if (c->hc_timer != NULL)
				event_free(c->hc_timer);
			/* Frees a pending request without calling back. */
			if (c->hc_conn != NULL)
				evhttp_connection_free(c->hc_conn);
			free(c);
			h->h_checks[p][i] = NULL;
		}
	}
	memset(h->h_service_ho, 0, sizeof(h->h_service_ho));
}

int
health_init(struct hd *hd)
{
	struct health	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->h_hd = hd;
	hd->hd_health = h;
	return health_pools_start(hd);
}

/*
 * A reload brought new pools: what their members did starts afresh (drains,
 * refusal counts per pool, check results, handoff counts); what each node
 * carries (connections, refusals in a row) stays, as nodes keep their
 * places.
 */
int
health_reload(struct hd *hd, const struct cfg *old)
{
	int	 node;

	health_pools_stop(hd->hd_health);
	for (node = 0; node <= CFG_MAX_PEERS; node++)
		if (hd->hd_health->h_nodes[node].hn_refusals > 0)
			health_reload_node(hd, old, node);
	return health_pools_start(hd);
}

void
health_shutdown(struct hd *hd)
{
	struct health	*h = hd->hd_health;

	if (h == NULL)
		return;
	health_pools_stop(h);
	free(h);
	hd->hd_health = NULL;
}

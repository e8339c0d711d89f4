/* The admin socket and its commands; see admin.h and handoffctl(8). */
#define _GNU_SOURCE		/* glibc: struct ucred */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "admin.h"
#include "alog.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/msg.h"
#include "handoff/peer.h"

#define ADMIN_WORDS_MAX	8	/* "-j weight pool/node 10" has 4 */
#define ADMIN_COLS_MAX	12	/* columns of a table */
#define ADMIN_FLOWS_MAX	4194304	/* handoff.max_flows' largest */

struct admin_conn {
	TAILQ_ENTRY(admin_conn)	 ac_entry;
	struct admin		*ac_admin;
	struct bufferevent	*ac_bev;
	struct event		*ac_deadline;	/* accept + ADMIN_TIMEOUT_S */
};

struct admin {
	struct hd		*a_hd;
	struct evconnlistener	*a_listener;
	struct event		*a_retry;	/* accept again after EMFILE */
	TAILQ_HEAD(, admin_conn) a_conns;
	int			 a_nconns;
	ino_t			 a_ino;		/* the socket's, to remove it */
	dev_t			 a_dev;
	time_t			 a_start;	/* monotonic seconds */
	struct log_rl		 a_rl_uid;	/* refused: not root or us */
	struct log_rl		 a_rl_busy;	/* refused: too many */
};

/* One answer in the making: the body, or why the request failed. */
struct admin_out {
	struct hd		*o_hd;
	struct evbuffer		*o_body;
	int			 o_json;
	char			 o_err[1200];
};

/* A table whose columns are as wide as their widest cell. */
struct admin_table {
	struct evbuffer		*t_rows;	/* cells split by tabs */
	size_t			 t_width[ADMIN_COLS_MAX];
	int			 t_ncols;
};

static int __attribute__((format(printf, 2, 3)))
admin_fail(struct admin_out *o, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(o->o_err, sizeof(o->o_err), fmt, ap);
	va_end(ap);
	return -1;
}

static time_t
admin_now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A JSON string; names are plain already, anything else is escaped. */
static void
admin_json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			evbuffer_add_printf(b, "\\u%04x", c);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* Appends a row of t_ncols cells, which hold no tab or newline. */
static void
admin_table_add(struct admin_table *t, const char *const *cells)
{
	size_t	 len;
	int	 i;

	if (t->t_rows == NULL)
		return;
	for (i = 0; i < t->t_ncols; i++) {
		len = strlen(cells[i]);
		if (len > t->t_width[i])
			t->t_width[i] = len;
		evbuffer_add_printf(t->t_rows, "%s%c", cells[i],
		    i + 1 < t->t_ncols ? '\t' : '\n');
	}
}

static void
admin_table_init(struct admin_table *t, int ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->t_ncols = ncols;
	t->t_rows = evbuffer_new();
	if (head != NULL)
		admin_table_add(t, head);
}

/* Writes the rows out with their columns aligned, two blanks apart. */
static int
admin_table_end(struct admin_table *t, struct admin_out *o)
{
	char	*line, *cell, *save;
	size_t	 n;
	int	 i;

	if (t->t_rows == NULL)
		return admin_fail(o, "out of memory");
	while ((line = evbuffer_readln(t->t_rows, &n, EVBUFFER_EOL_LF)) !=
	    NULL) {
		for (i = 0, cell = strtok_r(line, "\t", &save); cell != NULL;
		    i++, cell = strtok_r(NULL, "\t", &save)) {
			if (i + 1 < t->t_ncols)
				evbuffer_add_printf(o->o_body, "%-*s  ",
				    (int)t->t_width[i], cell);
			else
				evbuffer_add_printf(o->o_body, "%s\n", cell);
		}
		free(line);
	}
	evbuffer_free(t->t_rows);
	return 0;
}

/* The longest value status shows: the handoffs line with every count at
 * its largest (a line cut short gave wrong counts). */
#define ADMIN_STATUS_VALUE	sizeof("18446744073709551615 started, " \
	"18446744073709551615 accepted, 18446744073709551615 refused, " \
	"18446744073709551615 timed out, 18446744073709551615 failed")
_Static_assert(ADMIN_STATUS_VALUE > CFG_ID_MAX, "status: the node's name");

/* status: the node at a glance. */
static int
admin_status(struct admin *a, struct admin_out *o)
{
	static const char *const names[12] = { "node", "version", "pid",
	    "uid", "uptime", "tun", "flows", "served", "peers", "services",
	    "pools", "handoffs" };
	struct hd		*hd = a->a_hd;
	const struct cfg	*cfg = hd->hd_cfg;
	const struct hd_stats	*st = &hd->hd_stats;
	struct admin_table	 t;
	char			 v[12][ADMIN_STATUS_VALUE];
	int			 i, up = 0;

	for (i = 0; i < cfg->cfg_npeers; i++)
		up += !cfg->cfg_peers[i].cp_retired && peer_is_up(hd, i);
	if (o->o_json) {
		evbuffer_add_printf(o->o_body, "{\"node\":");
		admin_json_str(o->o_body, cfg->cfg_node.cn_id);
		evbuffer_add_printf(o->o_body, ",\"version\":\"%s\","
		    "\"lwip\":\"%s\",\"pid\":%ld,\"uid\":%u,"
		    "\"uptime_seconds\":%lld,\"tun\":", PACKAGE_VERSION,
		    HANDOFFD_LWIP_VERSION, (long)getpid(),
		    (unsigned int)geteuid(),
		    (long long)(admin_now_s() - a->a_start));
		admin_json_str(o->o_body, cfg->cfg_tun.ct_name);
		evbuffer_add_printf(o->o_body, ",\"flows\":%u,"
		    "\"max_flows\":%u,\"served\":%u,\"peers\":%d,"
		    "\"peers_up\":%d,\"services\":%d,\"pools\":%d,"
		    "\"handoffs\":{\"started\":%llu,\"accepted\":%llu,"
		    "\"refused\":%llu,\"timeout\":%llu,\"failed\":%llu}}\n",
		    flow_count(hd->hd_flows), flow_capacity(hd->hd_flows),
		    hd->hd_served, cfg_active_peers(cfg), up, cfg->cfg_nservices,
		    cfg->cfg_npools,
		    (unsigned long long)st->st_handoffs_started,
		    (unsigned long long)st->st_handoffs_acked,
		    (unsigned long long)st->st_handoffs_refused,
		    (unsigned long long)st->st_handoffs_timeout,
		    (unsigned long long)st->st_handoffs_failed);
		return 0;
	}
	snprintf(v[0], sizeof(v[0]), "%s", cfg->cfg_node.cn_id);
	snprintf(v[1], sizeof(v[1]), "%s (lwIP %s)", PACKAGE_VERSION,
	    HANDOFFD_LWIP_VERSION);
	snprintf(v[2], sizeof(v[2]), "%ld", (long)getpid());
	snprintf(v[3], sizeof(v[3]), "%u", (unsigned int)geteuid());
	snprintf(v[4], sizeof(v[4]), "%llds",
	    (long long)(admin_now_s() - a->a_start));
	snprintf(v[5], sizeof(v[5]), "%s", cfg->cfg_tun.ct_name);
	snprintf(v[6], sizeof(v[6]), "%u of %u", flow_count(hd->hd_flows),
	    flow_capacity(hd->hd_flows));
	snprintf(v[7], sizeof(v[7]), "%u", hd->hd_served);
	snprintf(v[8], sizeof(v[8]), "%d of %d up", up, cfg_active_peers(cfg));
	snprintf(v[9], sizeof(v[9]), "%d", cfg->cfg_nservices);
	snprintf(v[10], sizeof(v[10]), "%d", cfg->cfg_npools);
	snprintf(v[11], sizeof(v[11]), "%llu started, %llu accepted, "
	    "%llu refused, %llu timed out, %llu failed",
	    (unsigned long long)st->st_handoffs_started,
	    (unsigned long long)st->st_handoffs_acked,
	    (unsigned long long)st->st_handoffs_refused,
	    (unsigned long long)st->st_handoffs_timeout,
	    (unsigned long long)st->st_handoffs_failed);
	admin_table_init(&t, 2, NULL);
	for (i = 0; i < 12; i++)
		admin_table_add(&t, (const char *[]){ names[i], v[i] });
	return admin_table_end(&t, o);
}

/* peers: each peer's control channel and load. */
static int
admin_peers(struct admin *a, struct admin_out *o)
{
	static const char *const head[] = { "PEER", "CONTROL", "STACK",
	    "STACK_ADDRESS", "CHANNEL", "LOAD", "FLOWS" };
	struct hd		*hd = a->a_hd;
	const struct cfg	*cfg = hd->hd_cfg;
	struct admin_table	 t;
	char			 ctl[ADDR_PORT_STRLEN], sa[INET_ADDRSTRLEN];
	char			 sa6[ADDR_STRLEN], both[INET_ADDRSTRLEN +
				    ADDR_STRLEN], load[16], n[16];
	int			 i, shown = 0;

	if (o->o_json)
		evbuffer_add_printf(o->o_body, "{\"peers\":[");
	else
		admin_table_init(&t, 7, head);
	for (i = 0; i < cfg->cfg_npeers; i++) {
		const struct cfg_peer *cp = &cfg->cfg_peers[i];

		/* A peer a reload removed is shown while connections need
		 * its channel (handed to it, or handed here by it), or the
		 * channel is up. */
		if (cp->cp_retired && !peer_is_up(hd, i) &&
		    !msg_peer_needed(hd, i))
			continue;
		addr_port_str(&cp->cp_control.ep_addr, cp->cp_control.ep_port,
		    ctl, sizeof(ctl));
		inet_ntop(AF_INET, &cp->cp_stack_addr, sa, sizeof(sa));
		sa6[0] = '\0';
		if (!addr_is_none(&cp->cp_stack_addr6))
			addr_str(&cp->cp_stack_addr6, sa6, sizeof(sa6));
		snprintf(both, sizeof(both), "%s%s%s", sa, sa6[0] ? "," : "",
		    sa6);
		snprintf(load, sizeof(load), "%u", peer_load(hd, i));
		snprintf(n, sizeof(n), "%u", health_assigned(hd, i));
		if (!o->o_json) {
			admin_table_add(&t, (const char *[]){ cp->cp_id, ctl,
			    cfg_stack_name(cp->cp_stack), both,
			    peer_is_up(hd, i) ? (cp->cp_retired ?
			    "up,removed" : "up") : (cp->cp_retired ?
			    "down,removed" : "down"), load, n });
			continue;
		}
		evbuffer_add_printf(o->o_body, "%s{\"peer\":",
		    shown++ ? "," : "");
		admin_json_str(o->o_body, cp->cp_id);
		evbuffer_add_printf(o->o_body, ",\"control\":\"%s\","
		    "\"stack\":\"%s\",\"stack_address\":\"%s\","
		    "\"stack_address6\":\"%s\","
		    "\"up\":%s,\"removed\":%s,\"load\":%s,\"flows\":%s}",
		    ctl, cfg_stack_name(cp->cp_stack), sa, sa6,
		    peer_is_up(hd, i) ? "true" : "false",
		    cp->cp_retired ? "true" : "false", load, n);
	}
	if (o->o_json) {
		evbuffer_add_printf(o->o_body, "]}\n");
		return 0;
	}
	return admin_table_end(&t, o);
}

/* pools: every member's state, weight, load and handoffs. */
static int
admin_pools(struct admin *a, struct admin_out *o)
{
	static const char *const head[] = { "POOL", "POLICY", "MEMBER",
	    "STATE", "WEIGHT", "LOAD", "STARTED", "ACCEPTED", "REFUSED",
	    "TIMEOUT", "FAILED" };
	struct hd		*hd = a->a_hd;
	const struct cfg	*cfg = hd->hd_cfg;
	struct admin_table	 t;
	uint32_t		 load[CFG_MAX_MEMBERS];
	char			 v[7][24];
	int			 p, i, r;

	if (o->o_json)
		evbuffer_add_printf(o->o_body, "{\"pools\":[");
	else
		admin_table_init(&t, 11, head);
	for (p = 0; p < cfg->cfg_npools; p++) {
		const struct cfg_pool *cp = &cfg->cfg_pools[p];

		health_loads(hd, p, load);
		if (o->o_json) {
			evbuffer_add_printf(o->o_body, "%s{\"pool\":",
			    p ? "," : "");
			admin_json_str(o->o_body, cp->cp_name);
			evbuffer_add_printf(o->o_body, ",\"policy\":\"%s\","
			    "\"members\":[", cfg_policy_name(cp->cp_policy));
		}
		for (i = 0; i < cp->cp_nmembers; i++) {
			const struct health_ho *ho = health_member_ho(hd, p, i);
			const char *st = health_state_name(health_state(hd, p,
			    i));

			snprintf(v[0], sizeof(v[0]), "%d",
			    cp->cp_members[i].cm_weight);
			snprintf(v[1], sizeof(v[1]), "%u", load[i]);
			snprintf(v[2], sizeof(v[2]), "%llu",
			    (unsigned long long)ho->ho_started);
			for (r = 0; r < HEALTH_HO_MAX; r++)
				snprintf(v[3 + r], sizeof(v[3 + r]), "%llu",
				    (unsigned long long)ho->ho_ended[r]);
			if (!o->o_json) {
				admin_table_add(&t, (const char *[]){
				    cp->cp_name, cfg_policy_name(cp->cp_policy),
				    cp->cp_members[i].cm_node, st, v[0], v[1],
				    v[2], v[3 + HEALTH_HO_ACCEPTED],
				    v[3 + HEALTH_HO_REFUSED],
				    v[3 + HEALTH_HO_TIMEOUT],
				    v[3 + HEALTH_HO_FAILED] });
				continue;
			}
			evbuffer_add_printf(o->o_body, "%s{\"member\":",
			    i ? "," : "");
			admin_json_str(o->o_body, cp->cp_members[i].cm_node);
			evbuffer_add_printf(o->o_body, ",\"state\":\"%s\","
			    "\"weight\":%s,\"load\":%s,\"handoffs\":"
			    "{\"started\":%s", st, v[0], v[1], v[2]);
			for (r = 0; r < HEALTH_HO_MAX; r++)
				evbuffer_add_printf(o->o_body, ",\"%s\":%s",
				    health_ho_name(r), v[3 + r]);
			evbuffer_add_printf(o->o_body, "}}");
		}
		if (o->o_json)
			evbuffer_add_printf(o->o_body, "]}");
	}
	if (o->o_json) {
		evbuffer_add_printf(o->o_body, "]}\n");
		return 0;
	}
	return admin_table_end(&t, o);
}

/* What admin_flow_one() needs across the table walk. */
struct admin_flows {
	struct admin		*af_admin;
	struct admin_out	*af_out;
	struct admin_table	 af_table;
	unsigned long		 af_max;
	unsigned long		 af_shown;
	uint32_t		 af_now;	/* ms, the flow clock */
};

/*
 * One flow.  The other node is the back-end a front-end flow was handed
 * to, once it was (FLOW_ASSIGNED, or the front-end let go of its setup
 * state), or the front-end that handed a back-end flow over; the VIP is
 * the key's own side at the front-end, what the back-end rewrites to.
 */
static void
admin_flow_one(struct flow *f, void *arg)
{
	struct admin_flows	*af = arg;
	struct admin_out	*o = af->af_out;
	struct hd		*hd = af->af_admin->a_hd;
	char			 c[ADDR_PORT_STRLEN], vip[ADDR_PORT_STRLEN];
	char			 state[16], age[24], bytes[24];
	const char		*peer = NULL;
	int			 fe = f->f_ops == &fe_flow_ops;
	uint32_t		 ms = af->af_now - f->f_start;

	if (af->af_shown >= af->af_max)
		return;
	addr_port_str(&f->f_key.k_raddr, f->f_key.k_rport, c, sizeof(c));
	if (fe)
		addr_port_str(&f->f_key.k_laddr, f->f_key.k_lport, vip,
		    sizeof(vip));
	else
		addr_port_str(&f->f_naddr, f->f_nport, vip, sizeof(vip));
	if (!fe || (f->f_flags & FLOW_ASSIGNED) || f->f_ctx == NULL)
		peer = peer_id(hd, f->f_peer);
	if (f->f_state < f->f_ops->fo_nstates)
		snprintf(state, sizeof(state), "%s",
		    f->f_ops->fo_states[f->f_state]);
	else
		snprintf(state, sizeof(state), "%u", f->f_state);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)f->f_bytes);
	if (!o->o_json) {
		snprintf(age, sizeof(age), "%u.%03us", ms / 1000, ms % 1000);
		admin_table_add(&af->af_table, (const char *[]){ c, vip,
		    f->f_ops->fo_name, peer != NULL ? peer : "-", state, age,
		    bytes });
	} else {
		evbuffer_add_printf(o->o_body, "%s{\"client\":\"%s\","
		    "\"vip\":\"%s\",\"role\":", af->af_shown ? "," : "", c,
		    vip);
		admin_json_str(o->o_body, f->f_ops->fo_name);
		evbuffer_add_printf(o->o_body, ",\"peer\":");
		if (peer != NULL)
			admin_json_str(o->o_body, peer);
		else
			evbuffer_add_printf(o->o_body, "null");
		evbuffer_add_printf(o->o_body, ",\"state\":");
		admin_json_str(o->o_body, state);
		evbuffer_add_printf(o->o_body, ",\"age_ms\":%u,\"bytes\":%s}",
		    ms, bytes);
	}
	af->af_shown++;
}

/* A number in lo..hi, the whole word. */
static int
admin_number(const char *s, long lo, long hi, long *v)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || *v < lo || *v > hi ? -1 : 0;
}

/* flows [-n N]: up to N connections of the flow table. */
static int
admin_flows(struct admin *a, struct admin_out *o, int argc, char **argv)
{
	static const char *const head[] = { "CLIENT", "VIP", "ROLE", "PEER",
	    "STATE", "AGE", "BYTES" };
	struct hd		*hd = a->a_hd;
	struct admin_flows	 af;
	long			 n = ADMIN_FLOWS_DEFAULT;
	uint32_t		 total = flow_count(hd->hd_flows);

	if (argc == 3 && strcmp(argv[1], "-n") == 0) {
		if (admin_number(argv[2], 1, ADMIN_FLOWS_MAX, &n) == -1)
			return admin_fail(o, "-n: \"%.20s\" is not a number "
			    "from 1 to %d", argv[2], ADMIN_FLOWS_MAX);
	} else if (argc != 1)
		return admin_fail(o, "usage: flows [-n count]");
	memset(&af, 0, sizeof(af));
	af.af_admin = a;
	af.af_out = o;
	af.af_max = (unsigned long)n;
	af.af_now = port_now_ms();
	if (o->o_json)
		evbuffer_add_printf(o->o_body, "{\"total\":%u,\"flows\":[",
		    total);
	else
		admin_table_init(&af.af_table, 7, head);
	flow_foreach(hd->hd_flows, admin_flow_one, &af);
	if (o->o_json) {
		evbuffer_add_printf(o->o_body, "]}\n");
		return 0;
	}
	if (admin_table_end(&af.af_table, o) == -1)
		return -1;
	if (af.af_shown < total)
		evbuffer_add_printf(o->o_body, "(%lu of %u flows shown)\n",
		    af.af_shown, total);
	return 0;
}

/*
 * The members a request names: "NODE" is that node in every pool it is a
 * member of, "POOL/NODE" in that pool only.  Fills pools[] and members[]
 * and returns how many, or -1 with the reason.
 */
static int
admin_members(struct hd *hd, struct admin_out *o, const char *spec,
    int *pools, int *members)
{
	const struct cfg	*cfg = hd->hd_cfg;
	const char		*slash = strchr(spec, '/');
	const char		*node = slash != NULL ? slash + 1 : spec;
	int			 p, idx, m, n = 0, only = -1;

	if (slash != NULL) {
		for (p = 0; p < cfg->cfg_npools; p++)
			if (strlen(cfg->cfg_pools[p].cp_name) ==
			    (size_t)(slash - spec) && strncmp(spec,
			    cfg->cfg_pools[p].cp_name, (size_t)(slash - spec)) ==
			    0)
				only = p;
		if (only == -1)
			return admin_fail(o, "no pool \"%.*s\"",
			    (int)(slash - spec > 40 ? 40 : slash - spec), spec);
	}
	if (strcmp(node, cfg->cfg_node.cn_id) == 0)
		idx = PEER_LOCAL;
	else if ((idx = cfg_peer_by_id(cfg, node)) == -1)
		return admin_fail(o, "no node \"%.40s\": neither this node nor "
		    "a peer", node);
	for (p = 0; p < cfg->cfg_npools; p++) {
		if (only != -1 && p != only)
			continue;
		if ((m = health_member(hd, p, idx)) == -1)
			continue;
		pools[n] = p;
		members[n++] = m;
	}
	if (n == 0 && only != -1)
		return admin_fail(o, "%s is not a member of pool %s", node,
		    cfg->cfg_pools[only].cp_name);
	if (n == 0)
		return admin_fail(o, "%s is a member of no pool", node);
	return n;
}

/* drain, enable and weight: change members, then show them. */
static int
admin_change(struct admin *a, struct admin_out *o, int argc, char **argv)
{
	struct hd		*hd = a->a_hd;
	const struct cfg	*cfg = hd->hd_cfg;
	int			 pools[CFG_MAX_POOLS], members[CFG_MAX_POOLS];
	int			 i, n, weight = strcmp(argv[0], "weight") == 0;
	long			 w = 0;

	if (argc != (weight ? 3 : 2))
		return admin_fail(o, "usage: %s member%s", argv[0],
		    weight ? " n" : "");
	if (weight && admin_number(argv[2], 1, 1000, &w) == -1)
		return admin_fail(o, "weight: \"%.20s\" is not a number from 1 "
		    "to 1000", argv[2]);
	if ((n = admin_members(hd, o, argv[1], pools, members)) == -1)
		return -1;
	if (o->o_json)
		evbuffer_add_printf(o->o_body, "{\"members\":[");
	for (i = 0; i < n; i++) {
		const struct cfg_pool *cp = &cfg->cfg_pools[pools[i]];
		const char *name = cp->cp_members[members[i]].cm_node;
		const char *st;

		if (weight)
			health_set_weight(hd, pools[i], members[i], (int)w);
		else
			health_drain(hd, pools[i], members[i],
			    argv[0][0] == 'd');
		st = health_state_name(health_state(hd, pools[i], members[i]));
		if (weight)
			log_info("admin: %s/%s weight %ld", cp->cp_name, name,
			    w);
		else
			log_info("admin: %s/%s %s, now %s", cp->cp_name, name,
			    argv[0][0] == 'd' ? "drained" : "enabled", st);
		if (!o->o_json) {
			evbuffer_add_printf(o->o_body, "%s/%s %s weight %d\n",
			    cp->cp_name, name, st,
			    cp->cp_members[members[i]].cm_weight);
			continue;
		}
		evbuffer_add_printf(o->o_body, "%s{\"pool\":", i ? "," : "");
		admin_json_str(o->o_body, cp->cp_name);
		evbuffer_add_printf(o->o_body, ",\"member\":");
		admin_json_str(o->o_body, name);
		evbuffer_add_printf(o->o_body, ",\"state\":\"%s\","
		    "\"weight\":%d}", st, cp->cp_members[members[i]].cm_weight);
	}
	if (o->o_json)
		evbuffer_add_printf(o->o_body, "]}\n");
	return 0;
}

/* handoffctl reload: what SIGHUP does, with the reason when it fails. */
static int
admin_reload(struct admin *a, struct admin_out *o)
{
	char	 err[1024];

	if (o->o_json)
		return admin_fail(o, "reload has no JSON form");
	log_info("admin: reloading the configuration");
	if (a->a_hd->hd_reload(a->a_hd, err, sizeof(err)) == -1) {
		log_warnx("reload: %s", err);
		return admin_fail(o, "%s", err);
	}
	evbuffer_add_printf(o->o_body, "configuration reloaded\n");
	return 0;
}

/* handoffctl reopen: what SIGUSR2 does. */
static int
admin_reopen(struct admin *a, struct admin_out *o, int argc)
{
	char	 err[256];

	if (argc != 1)
		return admin_fail(o, "usage: reopen");
	if (o->o_json)
		return admin_fail(o, "reopen has no JSON form");
	if (a->a_hd->hd_alog == NULL)
		return admin_fail(o, "no access log (node.access_log)");
	if (alog_reopen(a->a_hd->hd_alog, err, sizeof(err)) == -1)
		return admin_fail(o, "cannot reopen the access log: %s", err);
	evbuffer_add_printf(o->o_body, "access log reopened\n");
	return 0;
}

static const char admin_help[] =
    "status               the node, its flows, peers and handoffs\n"
    "peers                each peer's control channel and load\n"
    "pools                each pool member's state, weight, load and "
    "handoffs\n"
    "flows [-n count]     connections in the flow table (default 100)\n"
    "drain member         no new connections for member (node or "
    "pool/node)\n"
    "enable member        new connections for member again\n"
    "weight member n      member's weight, 1 to 1000\n"
    "reload               the configuration file again\n"
    "reopen               the access log again (after logrotate)\n"
    "help                 this list\n";

/* Runs one request: its words, without "-j". */
static int
admin_run(struct admin *a, struct admin_out *o, int argc, char **argv)
{
	const char	*cmd = argv[0];

	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "peers") == 0 ||
	    strcmp(cmd, "pools") == 0 || strcmp(cmd, "reload") == 0 ||
	    strcmp(cmd, "help") == 0) {
		if (argc != 1)
			return admin_fail(o, "usage: %s", cmd);
		if (cmd[0] == 's')
			return admin_status(a, o);
		if (cmd[0] == 'p' && cmd[1] == 'e')
			return admin_peers(a, o);
		if (cmd[0] == 'p')
			return admin_pools(a, o);
		if (cmd[0] == 'r')
			return admin_reload(a, o);
		if (o->o_json)
			return admin_fail(o, "help has no JSON form");
		evbuffer_add(o->o_body, admin_help, sizeof(admin_help) - 1);
		return 0;
	}
	if (strcmp(cmd, "reopen") == 0)
		return admin_reopen(a, o, argc);
	if (strcmp(cmd, "flows") == 0)
		return admin_flows(a, o, argc, argv);
	if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "enable") == 0 ||
	    strcmp(cmd, "weight") == 0)
		return admin_change(a, o, argc, argv);
	return admin_fail(o, "unknown command \"%.40s\" (try help)", cmd);
}

/* Splits a request line into its words and runs it; the answer goes to
 * out, status line first. */
static void
admin_request(struct admin *a, char *line, size_t len, struct evbuffer *out)
{
	struct admin_out	 o;
	char			*argv[ADMIN_WORDS_MAX], *w, *save;
	int			 argc = 0, rc = -1;
	size_t			 i;

	memset(&o, 0, sizeof(o));
	o.o_hd = a->a_hd;
	if ((o.o_body = evbuffer_new()) == NULL) {
		evbuffer_add_printf(out, "error: out of memory\n\n");
		return;
	}
	/* A NUL would cut the line short without a word. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			break;
	if (i < len)
		admin_fail(&o, "the request is not a line of text");
	else {
		while ((w = strtok_r(argc == 0 ? line : NULL, " ", &save)) !=
		    NULL && argc < ADMIN_WORDS_MAX)
			argv[argc++] = w;
		if (argc > 0 && strcmp(argv[0], "-j") == 0) {
			o.o_json = 1;
			memmove(argv, argv + 1, (size_t)--argc * sizeof(*argv));
		}
		if (w != NULL)
			admin_fail(&o, "too many words");
		else if (argc == 0)
			admin_fail(&o, "empty request (try help)");
		else
			rc = admin_run(a, &o, argc, argv);
	}
	if (rc == 0) {
		evbuffer_add_printf(out, "ok\n");
		evbuffer_add_buffer(out, o.o_body);
	} else
		evbuffer_add_printf(out, "error: %s\n", o.o_err);
	evbuffer_add_printf(out, "\n");
	evbuffer_free(o.o_body);
}

static void
admin_conn_free(struct admin_conn *c)
{
	struct admin	*a = c->ac_admin;

	TAILQ_REMOVE(&a->a_conns, c, ac_entry);
	a->a_nconns--;
	bufferevent_free(c->ac_bev);
	event_free(c->ac_deadline);
	free(c);
}

/* The answer is out: the connection is done. */
static void
admin_on_written(struct bufferevent *bev, void *arg)
{
	admin_conn_free(arg);
}

/* EOF or an error: whatever was asked goes unanswered. */
static void
admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	admin_conn_free(arg);
}

/* Its time is up, however slowly it was still sending or reading: one
 * that trickles must not keep one of the ADMIN_CONNS_MAX for good. */
static void
admin_on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	admin_conn_free(arg);
}

/* A request line, or not yet; one per connection. */
static void
admin_on_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(bev);
	char			*line;
	size_t			 n;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (line == NULL && evbuffer_get_length(in) < ADMIN_LINE_MAX)
		return;
	if (line != NULL && n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (line == NULL || n >= ADMIN_LINE_MAX)
		evbuffer_add_printf(out, "error: the request is longer than "
		    "%d bytes\n\n", ADMIN_LINE_MAX - 1);
	else
		admin_request(c->ac_admin, line, n, out);
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, admin_on_written, admin_on_event, c);
}

/* Writes a last word to a connection that gets nothing else. */
static void
admin_refuse(int fd, const char *msg)
{
	(void)send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	evutil_closesocket(fd);
}

/* The uid of the process at the other end of fd, or -1. */
static int
admin_peer_uid(int fd, uid_t *uid)
{
#ifdef SO_PEERCRED
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return -1;
	*uid = cr.uid;
	return 0;
#else
	gid_t		 gid;

	return getpeereid(fd, uid, &gid);
#endif
}

/*
 * A new connection: root's and the daemon's own user's only, within the
 * cap on connections, each with a deadline for its request and answer.
 */
static void
admin_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin		*a = arg;
	struct admin_conn	*c;
	struct timeval		 tv = { ADMIN_TIMEOUT_S, 0 };
	uid_t			 uid;

	if (admin_peer_uid(fd, &uid) == -1)
		uid = (uid_t)-1;
	if (uid != 0 && uid != geteuid()) {
		log_ratelim(&a->a_rl_uid, "admin: refused a connection from "
		    "uid %ld: only root and uid %u may connect",
		    uid == (uid_t)-1 ? -1L : (long)uid,
		    (unsigned int)geteuid());
		admin_refuse(fd, "error: permission denied\n\n");
		return;
	}
	if (a->a_nconns >= ADMIN_CONNS_MAX) {
		log_ratelim(&a->a_rl_busy, "admin: more than %d connections "
		    "at once: refused one", ADMIN_CONNS_MAX);
		admin_refuse(fd, "error: too many connections\n\n");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ac_deadline = evtimer_new(a->a_hd->hd_base, admin_on_deadline,
	    c)) == NULL ||
	    (c->ac_bev = bufferevent_socket_new(a->a_hd->hd_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (c != NULL && c->ac_deadline != NULL)
			event_free(c->ac_deadline);
		free(c);
		admin_refuse(fd, "error: out of memory\n\n");
		return;
	}
	c->ac_admin = a;
	TAILQ_INSERT_TAIL(&a->a_conns, c, ac_entry);
	a->a_nconns++;
	/* Reading stops at a line's worth: a longer one is refused. */
	bufferevent_setwatermark(c->ac_bev, EV_READ, 0, ADMIN_LINE_MAX);
	evtimer_add(c->ac_deadline, &tv);
	bufferevent_setcb(c->ac_bev, admin_on_read, NULL, admin_on_event, c);
	bufferevent_enable(c->ac_bev, EV_READ | EV_WRITE);
}

static void
admin_on_accept_retry(int fd, short ev, void *arg)
{
	struct admin	*a = arg;

	evconnlistener_enable(a->a_listener);
}

/* Out of descriptors: stop accepting for a second instead of spinning. */
static void
admin_on_accept_error(struct evconnlistener *l, void *arg)
{
	struct admin	*a = arg;
	struct timeval	 tv = { 1, 0 };

	log_warn("admin: accept");
	evconnlistener_disable(l);
	evtimer_add(a->a_retry, &tv);
}

/* Creates the socket's directory when it is missing: /run/handoffd is
 * gone after every boot. */
static int
admin_mkdir(const char *path)
{
	char		 dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	const char	*slash = strrchr(path, '/');
	int		 fd = -1;

	if (slash == NULL || slash == path)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (mkdir(dir, 0755) == -1) {
		if (errno == EEXIST)
			return 0;
		log_warn("admin socket %s: cannot create %s", path, dir);
		return -1;
	}
	/* 0755 whatever the umask: others find the socket, and the socket's
	 * own mode and the peer check keep them out.  Through a descriptor
	 * of the directory just made: whoever may write its parent could
	 * have put a link to another in its place since. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fchmod(fd, 0755) == -1) {
		log_warn("admin socket %s: cannot chmod %s", path, dir);
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Something already has the socket's name.  A socket nobody answers on
 * was left by a daemon that is gone, and is replaced; a running daemon's
 * socket, or anything that is not a socket, is left alone.
 */
static int
admin_clear(const char *path, const struct sockaddr_un *sun)
{
	struct stat	 sb;
	int		 fd, rc;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("admin socket %s: exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("admin socket %s", path);
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == -1 && errno == ECONNREFUSED) {
		close(fd);
		if (unlink(path) == -1 && errno != ENOENT) {
			log_warn("admin socket %s: cannot remove the old one",
			    path);
			return -1;
		}
		return 0;
	}
	close(fd);
	log_warnx("admin socket %s: another daemon answers on it", path);
	return -1;
}

/* The listening socket, mode 0600 from the start, then the user's. */
static int
admin_socket(struct admin *a, const char *path)
{
	const struct cfg_node	*cn = &a->a_hd->hd_cfg->cfg_node;
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 old;
	int			 fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("admin socket %s: name too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (admin_mkdir(path) == -1 || admin_clear(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("admin socket %s", path);
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || listen(fd, ADMIN_CONNS_MAX) == -1 ||
	    lstat(path, &sb) == -1) {
		log_warn("admin socket %s", path);
		close(fd);
		return -1;
	}
	if (cn->cn_user[0] != '\0' && geteuid() == 0 &&
	    lchown(path, cn->cn_uid, cn->cn_gid) == -1) {
		log_warn("admin socket %s: chown to %s", path, cn->cn_user);
		close(fd);
		unlink(path);
		return -1;
	}
	a->a_ino = sb.st_ino;
	a->a_dev = sb.st_dev;
	return fd;
}

/* Removes the socket if it is still ours (another daemon may have taken
 * the name since) and the daemon's user may. */
static void
admin_unlink(void *arg)
{
	const struct admin *a = arg;
	const char	*path = a->a_hd->hd_cfg->cfg_node.cn_admin_socket;
	struct stat	 sb;

	if (lstat(path, &sb) == 0 && sb.st_ino == a->a_ino &&
	    sb.st_dev == a->a_dev && unlink(path) == -1)
		log_debug("admin socket %s: not removed: %s", path,
		    strerror(errno));
}

/* Opens node.admin_socket, if set, on hd's loop.  A fatal exit from now
 * on removes it, as a clean one does. */
int
admin_start(struct hd *hd)
{
	const char	*path = hd->hd_cfg->cfg_node.cn_admin_socket;
	struct admin	*a;
	int		 fd;

	if (path[0] == '\0')
		return 0;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->a_hd = hd;
	a->a_start = admin_now_s();
	TAILQ_INIT(&a->a_conns);
	hd->hd_admin = a;
	if ((fd = admin_socket(a, path)) == -1)
		return -1;
	log_on_fatal(admin_unlink, a);
	if ((a->a_listener = evconnlistener_new(hd->hd_base, admin_on_accept,
	    a, LEV_OPT_CLOSE_ON_FREE, 0, fd)) == NULL) {
		close(fd);
		return -1;
	}
	if ((a->a_retry = evtimer_new(hd->hd_base, admin_on_accept_retry,
	    a)) == NULL)
		return -1;
	evconnlistener_set_error_cb(a->a_listener, admin_on_accept_error);
	log_debug("admin socket %s", path);
	return 0;
}

/* Closes the socket and its connections, and removes it if it is still
 * ours and the daemon's user may. */
void
admin_stop(struct hd *hd)
{
	struct admin		*a = hd->hd_admin;
	struct admin_conn	*c;

	if (a == NULL)
		return;
	while ((c = TAILQ_FIRST(&a->a_conns)) != NULL)
		admin_conn_free(c);
	if (a->a_listener != NULL)
		evconnlistener_free(a->a_listener);
	if (a->a_ino != 0) {
		log_on_fatal(NULL, NULL);
		admin_unlink(a);
	}
	if (a->a_retry != NULL)
		event_free(a->a_retry);
	free(a);
	hd->hd_admin = NULL;
}

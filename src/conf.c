/*
 * The configuration loader: handoffd.yaml(5) into a struct cfg; see conf.h.
 *
 * Every key of every section is a row of a static table: its type, where
 * it lands in the structure, its range and its default, written as a string
 * and parsed by the same code as the file, so that documentation, defaults
 * and validation cannot drift apart.  One generic walker applies the tables
 * to the libyaml document; checks that span several keys run afterwards.
 * The first error stops everything: one line "file:line:col: key: what".
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "alog.h"
#include "conf.h"

#define CFG_FILE_MAX	(16 << 20)	/* larger files are not configs */
#define CFG_DEPTH_MAX	16		/* the schema needs 5 levels */
#define CFG_KEYS_MAX	16		/* keys in one section's table */
#define CFG_PATH_MAX	64		/* "services[31].rules[63].header_value" */
#define CFG_STR_MAX	1024		/* strings of rules */
#define CFG_REGEX_MAX	512
#define CFG_REGEX_COST	20000		/* copies of atoms, see cfg_regex_sane() */

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define MS(n)		((long long)(n))
#define SEC(n)		(MS(n) * 1000)
#define MIN(n)		(SEC(n) * 60)
#define HOUR(n)		(MIN(n) * 60)
#define KB(n)		((long long)(n) * 1024)
#define MB(n)		(KB(n) * 1024)

/* Enumerations are stored through an int pointer. */
_Static_assert(sizeof(enum cfg_stack) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_handshake) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_proxy_protocol) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_protocol) == sizeof(int), "enum size");

enum cfg_type {
	T_MAP,		/* a section: k_aux is its schema */
	T_SEQ,		/* a list of sections: k_aux is its schema */
	T_ID,		/* [A-Za-z0-9._-], 1 .. sizeof(field) - 1 */
	T_IFNAME,	/* the same, IFNAMSIZ */
	T_ADDR,		/* a.b.c.d */
	T_ENDPOINT,	/* a.b.c.d:port */
	T_VIP,		/* a.b.c.d:port or [v6]:port */
	T_ADDR6,	/* an IPv6 address into a struct ipaddr */
	T_PREFIX,	/* a.b.c.d/len into struct cfg_tun */
	T_INT,		/* k_min .. k_max */
	T_DURATION,	/* 500ms, 2s, 1m, 1h, stored in ms */
	T_SIZE,		/* 512, 8k, 1m, stored in bytes */
	T_ENUM,		/* k_aux names the values, in enum order */
	T_HASHKEY,	/* path | host | header:NAME into struct cfg_pool */
	T_PATH,		/* resolved against the config file's directory */
	T_STR,		/* a fixed buffer, or the heap with K_HEAP */
	T_REGEX,	/* POSIX ERE into struct cfg_rule */
};

#define K_REQ		0x01	/* the key must be present */
#define K_HEAP		0x02	/* T_STR: a strdup()ed char * */
#define K_SLASH		0x04	/* T_STR: starts with "/" */
#define K_TOKEN		0x08	/* T_STR: an HTTP token (header name) */
#define K_METHOD	0x10	/* T_STR: an upper-case HTTP token */
#define K_HOST		0x20	/* T_STR: a host name, or "*.suffix" */
#define K_NONE		0x40	/* T_PATH: "none" leaves it empty */
#define K_SNI		0x80	/* T_STR: a server name, or "*.suffix" */
#define K_ALPN		0x100	/* T_STR: an ALPN protocol name */
#define K_SYSLOG	0x200	/* T_PATH: or "syslog", or "syslog:" and one */

#define CFG_ALPN_MAX	255	/* an ALPN name's length byte (RFC 7301) */

struct cfg_key {
	const char	*k_name;
	enum cfg_type	 k_type;
	size_t		 k_off;		/* in the section's structure */
	size_t		 k_size;	/* of the field */
	long long	 k_min;		/* numbers, in ms or bytes */
	long long	 k_max;
	const char	*k_def;		/* NULL: none (the field stays 0/"") */
	int		 k_flags;
	const void	*k_aux;
};

/* A section, or each element of a sequence of sections. */
struct cfg_schema {
	const struct cfg_key	*s_keys;
	size_t			 s_nkeys;
	size_t			 s_elsize;	/* sequences: one element */
	size_t			 s_countoff;	/* sequences: int count in parent */
	int			 s_min;		/* sequences: fewest elements */
	int			 s_max;		/* sequences: most elements */
	long			 s_posoff;	/* struct cfg_pos per element, -1 */
	const char		*s_scalar;	/* key "- value" stands for */
};

/* Where a value of the file landed, for the checks after parsing. */
struct cfg_mark {
	const void	*m_addr;	/* the field, or the section */
	int		 m_section;	/* m_addr is a section, not a field */
	struct cfg_pos	 m_pos;
	char		 m_path[CFG_PATH_MAX];
};

struct cfg_ctx {
	const char	*x_name;
	const char	*x_base;	/* where relative paths start */
	struct cfg	*x_cfg;
	const struct cfg *x_old;	/* the running one, on a reload */
	char		*x_err;
	size_t		 x_errlen;
	int		 x_failed;
	char		 x_why[512];	/* a setter's complaint, no position */
	char		 x_q[200];	/* the quoted value x_why names */
	struct cfg_mark	*x_marks;
	size_t		 x_nmarks;
	size_t		 x_maxmarks;
};

static const char *const cfg_stacks[] = { "lwip", "kernel", NULL };
static const char *const cfg_onoff[] = { "off", "on", NULL };
static const char *const cfg_bool[] = { "false", "true", NULL };
static const char *const cfg_handshakes[] = { "lwip", "cookie", NULL };
static const char *const cfg_proxy_protocols[] = { "off", "v1", "v2", NULL };
static const char *const cfg_protocols[] = { "http", "tls", NULL };
/* lwip.loss_tolerance: CFG_LOSS_AUTO, then whole percents from 0. */
static const char *const cfg_loss_tols[] = { "auto", "0", "1", "2", "3", "4",
    "5", NULL };
static const char *const cfg_policies[] = {
	"round-robin", "least-conn", "hash", "lard", NULL
};

#define KEY(st, field, name, type, min, max, def, flags, aux)		\
	{ name, type, offsetof(st, field), sizeof(((st *)NULL)->field),	\
	  min, max, def, flags, aux }

#define CFG_SCHEMA(var, keys, ...)					\
	_Static_assert(nitems(keys) <= CFG_KEYS_MAX, #keys);		\
	static const struct cfg_schema var = {				\
		keys, nitems(keys), __VA_ARGS__				\
	}

#define V(f, ...)	KEY(struct cfg_port_server, f, __VA_ARGS__)
static const struct cfg_key cfg_port_server_keys[] = {
	V(ps_port,	"port",	  T_INT,      1, 65535, NULL, K_REQ, NULL),
	V(ps_server,	"server", T_ENDPOINT, 0, 0, NULL, K_REQ, NULL),
};
#undef V
CFG_SCHEMA(cfg_port_server_schema, cfg_port_server_keys,
    sizeof(struct cfg_port_server), offsetof(struct cfg_node, cn_nservers), 0,
    CFG_MAX_SERVERS, offsetof(struct cfg_port_server, ps_pos), NULL);

#define N(f, ...)	KEY(struct cfg_node, f, __VA_ARGS__)
static const struct cfg_key cfg_node_keys[] = {
	N(cn_id,	  "id",		 T_ID,	     0, 0, NULL, K_REQ, NULL),
	N(cn_control,	  "control",	 T_ENDPOINT, 0, 0, NULL, K_REQ, NULL),
	N(cn_server,	  "server",	 T_ENDPOINT, 0, 0, NULL, K_REQ, NULL),
	N(cn_server6,	  "server_address6", T_ADDR6, 0, 0, NULL, 0, NULL),
	N(cn_servers,	  "servers",	 T_SEQ,	     0, 0, NULL, 0,
	    &cfg_port_server_schema),
	N(cn_status_file, "status_file", T_PATH,     0, 0, NULL, 0, NULL),
	N(cn_state_file,  "state_file",	 T_PATH,     0, 0, NULL, 0, NULL),
	N(cn_admin_socket, "admin_socket", T_PATH,   0, 0,
	    "/run/handoffd/handoffd.sock", K_NONE, NULL),
	N(cn_access_log, "access_log",	 T_PATH,     0, 0, NULL, K_SYSLOG, NULL),
	N(cn_access_log_facility, "access_log_facility", T_ENUM, 0, 0,
	    "local0", 0, alog_facility_names),
	N(cn_user,	  "user",	 T_ID,	     0, 0, NULL, 0, NULL),
	N(cn_group,	  "group",	 T_ID,	     0, 0, NULL, 0, NULL),
};
#undef N
CFG_SCHEMA(cfg_node_schema, cfg_node_keys, 0, 0, 0, 0, -1, NULL);

#define T(f, ...)	KEY(struct cfg_tun, f, __VA_ARGS__)
static const struct cfg_key cfg_tun_keys[] = {
	T(ct_name,	"name",	   T_IFNAME, 0, 0, "hoff0", 0, NULL),
	T(ct_addr,	"address", T_PREFIX, 0, 0, NULL, 0, NULL),
	T(ct_mtu,	"mtu",	   T_INT,    576, 65535, "1500", 0, NULL),
	T(ct_offload,	"offload", T_ENUM,   0, 0, "on", 0, cfg_onoff),
	T(ct_table,	"table",   T_INT,    1, 2147483647, "100", 0, NULL),
};
#undef T
CFG_SCHEMA(cfg_tun_schema, cfg_tun_keys, 0, 0, 0, 0, -1, NULL);

static const struct cfg_key cfg_lwip_keys[] = {
	KEY(struct cfg_lwip, cl_addr, "address", T_ADDR, 0, 0, NULL, K_REQ,
	    NULL),
	KEY(struct cfg_lwip, cl_addr6, "address6", T_ADDR6, 0, 0, NULL, 0,
	    NULL),
	KEY(struct cfg_lwip, cl_loss_tol, "loss_tolerance", T_ENUM, 0, 0,
	    "auto", 0, cfg_loss_tols),
};
CFG_SCHEMA(cfg_lwip_schema, cfg_lwip_keys, 0, 0, 0, 0, -1, NULL);

#define P(f, ...)	KEY(struct cfg_peer, f, __VA_ARGS__)
static const struct cfg_key cfg_peer_keys[] = {
	P(cp_id,	 "id",		  T_ID,	      0, 0, NULL, K_REQ, NULL),
	P(cp_control,	 "control",	  T_ENDPOINT, 0, 0, NULL, K_REQ, NULL),
	P(cp_stack_addr, "stack_address", T_ADDR,     0, 0, NULL, K_REQ, NULL),
	P(cp_stack_addr6, "stack_address6", T_ADDR6,  0, 0, NULL, 0, NULL),
	P(cp_server,	 "server",	  T_ENDPOINT, 0, 0, NULL, K_REQ, NULL),
	P(cp_stack,	 "stack",	  T_ENUM,     0, 0, "lwip", 0, cfg_stacks),
};
#undef P
CFG_SCHEMA(cfg_peer_schema, cfg_peer_keys, sizeof(struct cfg_peer),
    offsetof(struct cfg, cfg_npeers), 0, CFG_MAX_PEERS,
    offsetof(struct cfg_peer, cp_pos), NULL);

#define R(f, ...)	KEY(struct cfg_rule, f, __VA_ARGS__)
static const struct cfg_key cfg_rule_keys[] = {
	R(cr_host,	   "host",	   T_STR,   0, 0, NULL, K_HEAP | K_HOST,
	    NULL),
	R(cr_path_prefix,  "path_prefix",  T_STR,   0, 0, NULL,
	    K_HEAP | K_SLASH, NULL),
	R(cr_path_regex,   "path_regex",   T_REGEX, 0, 0, NULL, 0, NULL),
	R(cr_method,	   "method",	   T_STR,   0, 0, NULL,
	    K_HEAP | K_METHOD, NULL),
	R(cr_header,	   "header",	   T_STR,   0, 0, NULL,
	    K_HEAP | K_TOKEN, NULL),
	R(cr_header_value, "header_value", T_STR,   0, 0, NULL, K_HEAP, NULL),
	R(cr_sni,	   "sni",	   T_STR,   0, 0, NULL, K_HEAP | K_SNI,
	    NULL),
	R(cr_alpn,	   "alpn",	   T_STR,   0, 0, NULL, K_HEAP | K_ALPN,
	    NULL),
	R(cr_pool,	   "pool",	   T_ID,    0, 0, NULL, K_REQ, NULL),
};
#undef R
CFG_SCHEMA(cfg_rule_schema, cfg_rule_keys, sizeof(struct cfg_rule),
    offsetof(struct cfg_service, cs_nrules), 0, CFG_MAX_RULES,
    offsetof(struct cfg_rule, cr_pos), NULL);

/* No default for handshake: an absent one is handoff.handshake's. */
#define S(f, ...)	KEY(struct cfg_service, f, __VA_ARGS__)
static const struct cfg_key cfg_service_keys[] = {
	S(cs_name,	"name",	     T_ID,	 0, 0, NULL, K_REQ, NULL),
	S(cs_vip,	"listen",    T_VIP,	 0, 0, NULL, K_REQ, NULL),
	S(cs_handshake,	"handshake", T_ENUM,	 0, 0, NULL, 0, cfg_handshakes),
	S(cs_protocol,	"protocol",  T_ENUM,	 0, 0, "http", 0, cfg_protocols),
	S(cs_pool,	"pool",	     T_ID,	 0, 0, NULL, K_REQ, NULL),
	S(cs_rules,	"rules",     T_SEQ,	 0, 0, NULL, 0,
	    &cfg_rule_schema),
};
#undef S
CFG_SCHEMA(cfg_service_schema, cfg_service_keys, sizeof(struct cfg_service),
    offsetof(struct cfg, cfg_nservices), 0, CFG_MAX_SERVICES,
    offsetof(struct cfg_service, cs_pos), NULL);

#define M(f, ...)	KEY(struct cfg_member, f, __VA_ARGS__)
static const struct cfg_key cfg_member_keys[] = {
	M(cm_node,	"node",	  T_ID,	 0, 0, NULL, K_REQ, NULL),
	M(cm_weight,	"weight", T_INT, 1, 1000, "1", 0, NULL),
};
#undef M
CFG_SCHEMA(cfg_member_schema, cfg_member_keys, sizeof(struct cfg_member),
    offsetof(struct cfg_pool, cp_nmembers), 1, CFG_MAX_MEMBERS,
    offsetof(struct cfg_member, cm_pos), "node");

#define L(f, ...)	KEY(struct cfg_pool, f, __VA_ARGS__)
static const struct cfg_key cfg_pool_keys[] = {
	L(cp_name,	 "name",	   T_ID,      0, 0, NULL, K_REQ, NULL),
	L(cp_policy,	 "policy",	   T_ENUM,    0, 0, "round-robin", 0,
	    cfg_policies),
	L(cp_hash_key,	 "hash_key",	   T_HASHKEY, 0, 0, "path", 0, NULL),
	L(cp_lard_low,	 "lard_low",	   T_INT,     1, 100000, "25", 0, NULL),
	L(cp_lard_high,	 "lard_high",	   T_INT,     1, 100000, "65", 0, NULL),
	L(cp_fail_threshold, "fail_threshold", T_INT, 1, 1000, "3", 0, NULL),
	L(cp_check_path, "check_path",	   T_STR,     0, 0, NULL, K_SLASH, NULL),
	L(cp_check_interval_ms, "check_interval", T_DURATION,
	    MS(100), HOUR(1), "2s", 0, NULL),
	L(cp_members,	 "members",	   T_SEQ,     0, 0, NULL, K_REQ,
	    &cfg_member_schema),
};
#undef L
CFG_SCHEMA(cfg_pool_schema, cfg_pool_keys, sizeof(struct cfg_pool),
    offsetof(struct cfg, cfg_npools), 0, CFG_MAX_POOLS,
    offsetof(struct cfg_pool, cp_pos), NULL);

#define H(f, ...)	KEY(struct cfg_handoff, f, __VA_ARGS__)
static const struct cfg_key cfg_handoff_keys[] = {
	H(ch_handshake,	"handshake",	T_ENUM, 0, 0, "lwip", 0,
	    cfg_handshakes),
	H(ch_stack,	"stack",	T_ENUM, 0, 0, "lwip", 0, cfg_stacks),
	H(ch_timeout_ms, "timeout",	T_DURATION, MS(10), SEC(60), "1s", 0,
	    NULL),
	H(ch_inject_retry_ms, "inject_retry", T_DURATION, MS(10), SEC(10),
	    "200ms", 0, NULL),
	H(ch_request_head_max, "request_head_max", T_SIZE, 256, MB(1), "8k",
	    0, NULL),
	H(ch_request_buffer_max, "request_buffer_max", T_SIZE, KB(1), MB(16),
	    "64k", 0, NULL),
	H(ch_request_timeout_ms, "request_timeout", T_DURATION, SEC(1),
	    MIN(10), "30s", 0, NULL),
	H(ch_queue_max,	"queue_max",	T_INT, 1, 4096, "64", 0, NULL),
	H(ch_linger_ms,	"linger",	T_DURATION, MS(100), MIN(10), "5s", 0,
	    NULL),
	H(ch_idle_ms,	"idle",		T_DURATION, SEC(1), HOUR(24), "300s",
	    0, NULL),
	H(ch_max_flows,	"max_flows",	T_INT, 16, 4194304, "65536", 0, NULL),
	H(ch_window_scale, "window_scale", T_INT, 0, 14, "7", 0, NULL),
	H(ch_mss,	"mss",		T_INT, 536, 65495, "1460", 0, NULL),
	H(ch_proxy_protocol, "proxy_protocol", T_ENUM, 0, 0, "off", 0,
	    cfg_proxy_protocols),
	H(ch_lookups,	"lookups",	T_INT, 0, 1000000, "1000", 0, NULL),
};
#undef H
CFG_SCHEMA(cfg_handoff_schema, cfg_handoff_keys, 0, 0, 0, 0, -1, NULL);

#define C(f, ...)	KEY(struct cfg_control, f, __VA_ARGS__)
static const struct cfg_key cfg_control_keys[] = {
	C(cc_key_file,	"key_file",	T_PATH, 0, 0, NULL, K_REQ, NULL),
	C(cc_key_insecure_ok, "key_file_insecure_ok", T_ENUM, 0, 0, "false", 0,
	    cfg_bool),
	C(cc_heartbeat_ms, "heartbeat",	T_DURATION, MS(50), SEC(60), "1s", 0,
	    NULL),
	C(cc_dead_ms,	"dead_after",	T_DURATION, MS(100), MIN(10), "5s", 0,
	    NULL),
	C(cc_reconnect_min_ms, "reconnect_min", T_DURATION, MS(10), SEC(60),
	    "100ms", 0, NULL),
	C(cc_reconnect_max_ms, "reconnect_max", T_DURATION, MS(100), MIN(10),
	    "5s", 0, NULL),
	C(cc_frame_max,	"frame_max",	T_SIZE, KB(4), MB(16), "1m", 0,
	    NULL),
	C(cc_handshake_ms, "handshake_timeout", T_DURATION, MS(100), SEC(60),
	    "5s", 0, NULL),
	C(cc_handshake_max, "handshake_max", T_INT, 1, 4096, "64", 0, NULL),
	C(cc_handshake_per_addr, "handshake_max_per_address", T_INT, 1, 4096,
	    "4", 0, NULL),
};
#undef C
CFG_SCHEMA(cfg_control_schema, cfg_control_keys, 0, 0, 0, 0, -1, NULL);

static const struct cfg_key cfg_metrics_keys[] = {
	KEY(struct cfg_metrics, cm_listen, "listen", T_ENDPOINT, 0, 0, NULL,
	    0, NULL),
};
CFG_SCHEMA(cfg_metrics_schema, cfg_metrics_keys, 0, 0, 0, 0, -1, NULL);

#define X(f, ...)	KEY(struct cfg, f, __VA_ARGS__)
static const struct cfg_key cfg_root_keys[] = {
	X(cfg_node,	"node",	    T_MAP, 0, 0, NULL, K_REQ, &cfg_node_schema),
	X(cfg_tun,	"tun",	    T_MAP, 0, 0, NULL, 0, &cfg_tun_schema),
	X(cfg_lwip,	"lwip",	    T_MAP, 0, 0, NULL, K_REQ, &cfg_lwip_schema),
	X(cfg_peers,	"peers",    T_SEQ, 0, 0, NULL, 0, &cfg_peer_schema),
	X(cfg_services,	"services", T_SEQ, 0, 0, NULL, 0,
	    &cfg_service_schema),
	X(cfg_pools,	"pools",    T_SEQ, 0, 0, NULL, 0, &cfg_pool_schema),
	X(cfg_handoff,	"handoff",  T_MAP, 0, 0, NULL, 0,
	    &cfg_handoff_schema),
	X(cfg_control,	"control",  T_MAP, 0, 0, NULL, K_REQ,
	    &cfg_control_schema),
	X(cfg_metrics,	"metrics",  T_MAP, 0, 0, NULL, 0, &cfg_metrics_schema),
};
#undef X
CFG_SCHEMA(cfg_root_schema, cfg_root_keys, 0, 0, 0, 0, -1, NULL);

static int	cfg_set_name(struct cfg_ctx *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_addr(struct cfg_ctx *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_addr6(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_endpoint(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_prefix(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_number(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_enum(struct cfg_ctx *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_hashkey(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_path(struct cfg_ctx *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_str(struct cfg_ctx *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_regex(struct cfg_ctx *, const struct cfg_key *,
		    void *, const char *);

/* What each type is called in "expected X, got Y", and its parser. */
static const struct cfg_typeinfo {
	const char	*t_noun;
	int		(*t_set)(struct cfg_ctx *, const struct cfg_key *,
			    void *, const char *);
} cfg_types[] = {
	[T_MAP] =	{ "a mapping", NULL },
	[T_SEQ] =	{ "a sequence", NULL },
	[T_ID] =	{ "a name", cfg_set_name },
	[T_IFNAME] =	{ "an interface name", cfg_set_name },
	[T_ADDR] =	{ "an IPv4 address", cfg_set_addr },
	[T_ENDPOINT] =	{ "an IPv4 address:port", cfg_set_endpoint },
	[T_VIP] =	{ "an address:port", cfg_set_endpoint },
	[T_ADDR6] =	{ "an IPv6 address", cfg_set_addr6 },
	[T_PREFIX] =	{ "an IPv4 prefix", cfg_set_prefix },
	[T_INT] =	{ "a number", cfg_set_number },
	[T_DURATION] =	{ "a duration", cfg_set_number },
	[T_SIZE] =	{ "a size", cfg_set_number },
	[T_ENUM] =	{ "a keyword", cfg_set_enum },
	[T_HASHKEY] =	{ "a hash key", cfg_set_hashkey },
	[T_PATH] =	{ "a path", cfg_set_path },
	[T_STR] =	{ "a string", cfg_set_str },
	[T_REGEX] =	{ "a regular expression", cfg_set_regex },
};

static int	cfg_map(struct cfg_ctx *, const struct cfg_schema *, void *,
		    yaml_document_t *, yaml_node_t *, yaml_mark_t,
		    const char *);

/* Records the first error as "name:line:col: path: message". */
static int __attribute__((format(printf, 4, 0)))
cfg_vfail(struct cfg_ctx *x, const struct cfg_pos *pos, const char *path,
    const char *fmt, va_list ap)
{
	char	 msg[768];
	char	*nl;

	if (x->x_failed++ || x->x_err == NULL || x->x_errlen == 0)
		return -1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line, whatever a message quoted (strerror, regerror). */
	while ((nl = strpbrk(msg, "\r\n")) != NULL)
		*nl = ' ';
	if (pos != NULL)
		snprintf(x->x_err, x->x_errlen, "%s:%d:%d: %s%s%s", x->x_name,
		    pos->pos_line, pos->pos_col, path, *path ? ": " : "", msg);
	else
		snprintf(x->x_err, x->x_errlen, "%s: %s%s%s", x->x_name,
		    path, *path ? ": " : "", msg);
	return -1;
}

/* Fails at a position of the YAML document. */
static int __attribute__((format(printf, 4, 5)))
cfg_fail(struct cfg_ctx *x, yaml_mark_t m, const char *path,
    const char *fmt, ...)
{
	struct cfg_pos	 pos;
	va_list		 ap;

	pos.pos_line = (int)m.line + 1;
	pos.pos_col = (int)m.column + 1;
	va_start(ap, fmt);
	cfg_vfail(x, &pos, path, fmt, ap);
	va_end(ap);
	return -1;
}

/* Fails without a position: the file as a whole is wrong. */
static int __attribute__((format(printf, 2, 3)))
cfg_fail_file(struct cfg_ctx *x, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	cfg_vfail(x, NULL, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* A setter's complaint; the caller adds where it was. */
static int __attribute__((format(printf, 2, 3)))
cfg_why(struct cfg_ctx *x, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(x->x_why, sizeof(x->x_why), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Quotes a value for a message: printable ASCII as is, anything else
 * escaped, long values cut, so that an error stays one readable line.
 */
static const char *
cfg_quote(struct cfg_ctx *x, const char *s)
{
	char		*q = x->x_q;
	size_t		 n = 0, cap = sizeof(x->x_q);
	unsigned char	 c;

	q[n++] = '"';
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (n + 9 >= cap) {
			memcpy(q + n, "...", 3);
			n += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			q[n++] = '\\';
			q[n++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			q[n++] = (char)c;
		else
			n += (size_t)snprintf(q + n, cap - n, "\\x%02x", c);
	}
	q[n++] = '"';
	q[n] = '\0';
	return q;
}

/* Remembers where a field or section was set, for later checks. */
static int
cfg_mark(struct cfg_ctx *x, const void *addr, int section, yaml_mark_t m,
    const char *path)
{
	struct cfg_mark	*mk;
	size_t		 max;

	if (x->x_nmarks == x->x_maxmarks) {
		max = x->x_maxmarks ? x->x_maxmarks * 2 : 64;
		mk = reallocarray(x->x_marks, max, sizeof(*mk));
		if (mk == NULL)
			return cfg_fail(x, m, path, "out of memory");
		x->x_marks = mk;
		x->x_maxmarks = max;
	}
	mk = &x->x_marks[x->x_nmarks++];
	mk->m_addr = addr;
	mk->m_section = section;
	mk->m_pos.pos_line = (int)m.line + 1;
	mk->m_pos.pos_col = (int)m.column + 1;
	snprintf(mk->m_path, sizeof(mk->m_path), "%s", path);
	return 0;
}

/* Where a field was set; NULL if it kept its default. */
static const struct cfg_mark *
cfg_mark_find(const struct cfg_ctx *x, const void *addr, int section)
{
	size_t	 i;

	for (i = x->x_nmarks; i-- > 0; )
		if (x->x_marks[i].m_addr == addr &&
		    x->x_marks[i].m_section == section)
			return &x->x_marks[i];
	return NULL;
}

/* Fails at the value of a field set by the file. */
static int __attribute__((format(printf, 3, 4)))
cfg_fail_mark(struct cfg_ctx *x, const struct cfg_mark *mk,
    const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	if (mk != NULL)
		cfg_vfail(x, &mk->m_pos, mk->m_path, fmt, ap);
	else
		cfg_vfail(x, NULL, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* "a.b" or "a" at the top. */
static void
cfg_path_join(char *dst, size_t len, const char *path, const char *name)
{
	snprintf(dst, len, "%s%s%s", path, *path ? "." : "", name);
}

/* Parses a decimal number; -1: none, -2: overflow; *end is the rest. */
static int
cfg_strtonum(const char *s, long long *v, const char **end)
{
	char	*e;

	/* A number has no sign: strtoll() would also take blanks, a "+" and
	 * a "-". */
	if (!(*s >= '0' && *s <= '9'))
		return -1;
	errno = 0;
	*v = strtoll(s, &e, 10);
	*end = e;
	return errno == ERANGE ? -2 : 0;
}

/* A whole string of digits in lo..hi, like iproute2's get_u32(). */
static int
cfg_uint(const char *s, long long lo, long long hi, long long *v)
{
	const char	*end;
	int		 r;

	if ((r = cfg_strtonum(s, v, &end)) == -1 || *end != '\0')
		return -1;
	return r == 0 && *v >= lo && *v <= hi ? 0 : -2;
}

/* Characters of node, pool and service names and interface names. */
static int
cfg_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* RFC 9110 tchar: header names and methods. */
static int
cfg_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* Is every character of s (and at least one) accepted by ok()? */
static int
cfg_all(const char *s, int (*ok)(char))
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!ok(*s))
			return 0;
	return 1;
}

/* The field a key describes inside its section. */
static void *
cfg_field(void *base, const struct cfg_key *k)
{
	return (char *)base + k->k_off;
}

/* T_ID and T_IFNAME: a name that fits its buffer. */
static int
cfg_set_name(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	size_t	 len = strlen(s);

	if (len >= k->k_size || !cfg_all(s, cfg_namechar))
		return cfg_why(x, "%s is not %s (1 to %zu of A-Z a-z 0-9 . _ -)",
		    cfg_quote(x, s), cfg_types[k->k_type].t_noun,
		    k->k_size - 1);
	memcpy(cfg_field(base, k), s, len + 1);
	return 0;
}

/* inet_pton() alone: no "10.1", no octal, no names. */
static int
cfg_inet(const char *s, size_t len, in_addr_t *a)
{
	char		 buf[INET_ADDRSTRLEN];
	struct in_addr	 in;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	*a = in.s_addr;
	return 0;
}

/* T_ADDR: a.b.c.d, stored in network byte order. */
static int
cfg_set_addr(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	in_addr_t	 a;

	if (cfg_inet(s, strlen(s), &a) == -1)
		return cfg_why(x, "%s is not an IPv4 address", cfg_quote(x, s));
	memcpy(cfg_field(base, k), &a, sizeof(a));
	return 0;
}

/*
 * An IPv6 address as a host on the Internet or a private network has
 * one: inet_pton's forms, but not unspecified, loopback, IPv4-mapped,
 * link-local (it would need a zone) or multicast.
 */
static int
cfg_inet6(const char *s, size_t len, struct ipaddr *a)
{
	char		 buf[INET6_ADDRSTRLEN];
	struct in6_addr	 in;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &in) != 1 ||
	    IN6_IS_ADDR_UNSPECIFIED(&in) || IN6_IS_ADDR_LOOPBACK(&in) ||
	    IN6_IS_ADDR_V4MAPPED(&in) || IN6_IS_ADDR_V4COMPAT(&in) ||
	    IN6_IS_ADDR_LINKLOCAL(&in) || IN6_IS_ADDR_MULTICAST(&in))
		return -1;
	memcpy(a->a_w, &in, 16);
	return 0;
}

/* T_ADDR6: an IPv6 address; :: stands for none. */
static int
cfg_set_addr6(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	struct ipaddr	 a;

	if (cfg_inet6(s, strlen(s), &a) == -1)
		return cfg_why(x, "%s is not an IPv6 address of a host (no "
		    "brackets, zone, loopback, link-local, multicast or IPv4 "
		    "form)", cfg_quote(x, s));
	memcpy(cfg_field(base, k), &a, sizeof(a));
	return 0;
}

/* T_ENDPOINT: a.b.c.d:port, both in network byte order; T_VIP also
 * [IPv6 address]:port. */
static int
cfg_set_endpoint(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	struct cfg_endpoint	 ep;
	const char		*colon = strrchr(s, ':');
	long long		 port;
	in_addr_t		 a;
	int			 r, bad;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (k->k_type != T_VIP)
			return cfg_why(x, "%s: only a service's listen "
			    "address may be IPv6", cfg_quote(x, s));
		bad = close == NULL || close[1] != ':' ||
		    cfg_inet6(s + 1, (size_t)(close - s - 1), &ep.ep_addr);
		colon = close != NULL ? close + 1 : NULL;
	} else {
		bad = colon == NULL || cfg_inet(s, (size_t)(colon - s), &a);
		if (!bad)
			ep.ep_addr = addr4(a);
	}
	if (bad || (r = cfg_uint(colon + 1, 1, 65535, &port)) == -1)
		return cfg_why(x, "%s is not %s", cfg_quote(x, s),
		    k->k_type == T_VIP ? "an IPv4 address:port or [IPv6 "
		    "address]:port" : "an IPv4 address:port");
	if (r != 0)
		return cfg_why(x, "%s: port %s is out of range 1..65535",
		    cfg_quote(x, s), colon + 1);
	ep.ep_port = htons((in_port_t)port);
	memcpy(cfg_field(base, k), &ep, sizeof(ep));
	return 0;
}

/* tun.address: the address and its prefix length, and that there is one. */
static int
cfg_set_prefix(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	struct cfg_tun	*t = base;
	const char	*slash = strchr(s, '/');
	long long	 len;
	in_addr_t	 a;

	(void)k;
	if (slash == NULL || cfg_inet(s, (size_t)(slash - s), &a) ||
	    cfg_uint(slash + 1, 0, 32, &len) != 0)
		return cfg_why(x, "%s is not an IPv4 prefix (like 10.2.1.1/24)",
		    cfg_quote(x, s));
	t->ct_addr = a;
	t->ct_prefix = (int)len;
	t->ct_has_addr = 1;
	return 0;
}

/* Prints a duration or size in the largest unit that divides it. */
static const char *
cfg_fmt(char *buf, size_t len, enum cfg_type t, long long v)
{
	static const struct {
		enum cfg_type	 type;
		long long	 mul;
		const char	*unit;
	} units[] = {
		{ T_DURATION, HOUR(1), "h" }, { T_DURATION, MIN(1), "m" },
		{ T_DURATION, SEC(1), "s" }, { T_DURATION, 1, "ms" },
		{ T_SIZE, MB(1), "m" }, { T_SIZE, KB(1), "k" },
	};
	size_t	 i;

	for (i = 0; i < nitems(units); i++)
		if (units[i].type == t && v != 0 && v % units[i].mul == 0) {
			snprintf(buf, len, "%lld%s", v / units[i].mul,
			    units[i].unit);
			return buf;
		}
	snprintf(buf, len, "%lld%s", v, t == T_DURATION ? "ms" : "");
	return buf;
}

/* T_INT, T_DURATION and T_SIZE: a number, its unit, its range. */
static int
cfg_set_number(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	static const struct {
		const char	*unit;
		long long	 mul;
	} durations[] = {
		{ "ms", 1 }, { "s", SEC(1) }, { "m", MIN(1) }, { "h", HOUR(1) },
	}, sizes[] = {
		{ "", 1 }, { "k", KB(1) }, { "K", KB(1) }, { "m", MB(1) },
		{ "M", MB(1) },
	};
	const char	*end;
	char		 lo[32], hi[32];
	long long	 v, mul = 0;
	size_t		 i;
	int		 r;

	r = cfg_strtonum(s, &v, &end);
	switch (k->k_type) {
	case T_DURATION:
		if (r != -1 && *end == '\0')
			return cfg_why(x, "%s needs a unit (ms, s, m or h)",
			    cfg_quote(x, s));
		for (i = 0; r != -1 && i < nitems(durations); i++)
			if (strcmp(end, durations[i].unit) == 0)
				mul = durations[i].mul;
		if (mul == 0)
			return cfg_why(x, "%s is not a duration (like 500ms, "
			    "2s, 1m)", cfg_quote(x, s));
		break;
	case T_SIZE:
		for (i = 0; r != -1 && i < nitems(sizes); i++)
			if (strcmp(end, sizes[i].unit) == 0)
				mul = sizes[i].mul;
		if (mul == 0)
			return cfg_why(x, "%s is not a size (like 512, 8k, 1m)",
			    cfg_quote(x, s));
		break;
	default:
		if (r == -1 || *end != '\0')
			return cfg_why(x, "%s is not an integer",
			    cfg_quote(x, s));
		mul = 1;
		break;
	}
	if (r == -2 || v > LLONG_MAX / mul || v < LLONG_MIN / mul ||
	    v * mul < k->k_min || v * mul > k->k_max)
		return cfg_why(x, "%.40s is out of range %s..%s", s,
		    cfg_fmt(lo, sizeof(lo), k->k_type, k->k_min),
		    cfg_fmt(hi, sizeof(hi), k->k_type, k->k_max));
	*(int *)cfg_field(base, k) = (int)(v * mul);
	return 0;
}

/* "a, b or c" for an enumeration's names. */
static const char *
cfg_enum_list(char *buf, size_t len, const char *const *names)
{
	size_t	 i, n = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		    i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ",
		    names[i]);
	return buf;
}

/* T_ENUM: one of the names, stored as its index. */
static int
cfg_set_enum(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	const char *const	*names = k->k_aux;
	char			 list[128];
	int			 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0) {
			*(int *)cfg_field(base, k) = i;
			return 0;
		}
	return cfg_why(x, "%s is not %s", cfg_quote(x, s),
	    cfg_enum_list(list, sizeof(list), names));
}

/* pools[].hash_key: what a hash pool hashes, and the header it names. */
static int
cfg_set_hashkey(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	struct cfg_pool	*p = base;
	const char	*h = s + strlen("header:");

	(void)k;
	p->cp_hash_header[0] = '\0';
	if (strcmp(s, "path") == 0)
		p->cp_hash_key = CFG_HASH_PATH;
	else if (strcmp(s, "host") == 0)
		p->cp_hash_key = CFG_HASH_HOST;
	else if (strncmp(s, "header:", strlen("header:")) == 0 &&
	    cfg_all(h, cfg_tchar) && strlen(h) < sizeof(p->cp_hash_header)) {
		p->cp_hash_key = CFG_HASH_HEADER;
		memcpy(p->cp_hash_header, h, strlen(h) + 1);
	} else
		return cfg_why(x, "%s is not path, host or header:NAME",
		    cfg_quote(x, s));
	return 0;
}

/*
 * A path relative to the config file's directory, so that a config and
 * its key can move together, and a daemon that chdir()s still finds it.
 */
static int
cfg_set_path(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	char		*dst = cfg_field(base, k);
	const char	*dir = x->x_base;
	int		 n;

	if (*s == '\0')
		return cfg_why(x, "a path cannot be empty");
	if ((k->k_flags & K_NONE) && strcmp(s, "none") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if ((k->k_flags & K_SYSLOG) && strcmp(s, "syslog") == 0) {
		snprintf(dst, k->k_size, "%s", s);
		return 0;
	}
	if ((k->k_flags & K_SYSLOG) && strncmp(s, "syslog:", 7) == 0) {
		if (s[7] != '/')
			return cfg_why(x, "%s: a syslog socket's path must be "
			    "absolute", cfg_quote(x, s));
		if (strlen(s + 7) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return cfg_why(x, "%s: a socket's path has at most "
			    "%zu bytes", cfg_quote(x, s),
			    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		snprintf(dst, k->k_size, "%s", s);
		return 0;
	}
	if (s[0] == '/' || strcmp(dir, ".") == 0)
		n = snprintf(dst, k->k_size, "%s", s);
	else
		n = snprintf(dst, k->k_size, "%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", s);
	if (n < 0 || (size_t)n >= k->k_size) {
		dst[0] = '\0';
		return cfg_why(x, "%s is too long (at most %zu bytes)",
		    cfg_quote(x, s), k->k_size - 1);
	}
	return 0;
}

/* Characters of hosts to match: "example.com:8080", "[::1]". */
static int
cfg_hostchar(char c)
{
	return cfg_namechar(c) || c == ':' || c == '[' || c == ']';
}

/* Whether s holds a control character: requests carry none, so a rule
 * with one could never match. */
static int
cfg_has_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 1;
	return 0;
}

/* T_STR: text for a fixed buffer or the heap, with its K_ checks. */
static int
cfg_set_str(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	size_t	 len = strlen(s), max;
	char	*dup;
	size_t	 i;

	max = k->k_flags & K_HEAP ? CFG_STR_MAX : k->k_size - 1;
	if (len == 0)
		return cfg_why(x, "the value cannot be empty");
	if (len > max)
		return cfg_why(x, "%s is too long (at most %zu bytes)",
		    cfg_quote(x, s), max);
	if (cfg_has_controls(s))
		return cfg_why(x, "%s contains control characters",
		    cfg_quote(x, s));
	if ((k->k_flags & K_SLASH) && s[0] != '/')
		return cfg_why(x, "%s does not start with \"/\"",
		    cfg_quote(x, s));
	if ((k->k_flags & K_SLASH) && strchr(s, ' ') != NULL)
		return cfg_why(x, "%s contains a blank", cfg_quote(x, s));
	if ((k->k_flags & K_TOKEN) && !cfg_all(s, cfg_tchar))
		return cfg_why(x, "%s is not a header name (letters, digits "
		    "and !#$%%&'*+-.^_`|~)", cfg_quote(x, s));
	if (k->k_flags & K_METHOD) {
		for (i = 0; i < len; i++)
			if (!cfg_tchar(s[i]) || (s[i] >= 'a' && s[i] <= 'z'))
				return cfg_why(x, "%s is not an HTTP method "
				    "(an upper-case token, like GET)",
				    cfg_quote(x, s));
	}
	if ((k->k_flags & K_HOST) && (!cfg_all(s[0] == '*' && s[1] == '.' ?
	    s + 2 : s, cfg_hostchar)))
		return cfg_why(x, "%s is not a host name (exact, or *.suffix)",
		    cfg_quote(x, s));
	/* A ClientHello names a host without port or brackets. */
	if ((k->k_flags & K_SNI) && (!cfg_all(s[0] == '*' && s[1] == '.' ?
	    s + 2 : s, cfg_namechar)))
		return cfg_why(x, "%s is not a server name (exact, or *.suffix; "
		    "A-Z a-z 0-9 . _ -)", cfg_quote(x, s));
	if ((k->k_flags & K_ALPN) && len > CFG_ALPN_MAX)
		return cfg_why(x, "%s is longer than an ALPN protocol name (at "
		    "most %d bytes)", cfg_quote(x, s), CFG_ALPN_MAX);
	/* A name is compared without its final dot, as requests' are. */
	if ((k->k_flags & (K_HOST | K_SNI)) && s[len - 1] == '.') {
		size_t	 name = s[0] == '*' && s[1] == '.' ? 2 : 0;

		if (--len <= name || s[len - 1] == '.')
			return cfg_why(x, "%s names no host", cfg_quote(x, s));
	}
	if (k->k_flags & K_HEAP) {
		if ((dup = strndup(s, len)) == NULL)
			return cfg_why(x, "out of memory");
		free(*(char **)cfg_field(base, k));
		*(char **)cfg_field(base, k) = dup;
	} else {
		memcpy(cfg_field(base, k), s, len);
		((char *)cfg_field(base, k))[len] = '\0';
	}
	return 0;
}

/* A repetition count after "{", capped; *pp is left on its last digit. */
static unsigned long long
cfg_regex_count(const char **pp)
{
	unsigned long long	 n = 0;

	while ((*pp)[1] >= '0' && (*pp)[1] <= '9') {
		(*pp)++;
		if (n <= CFG_REGEX_COST)
			n = n * 10 + (unsigned)(**pp - '0');
	}
	return n;
}

/* The end of a bracket expression: "[]a]", "[^]a]", "[[:alpha:]_]". */
static const char *
cfg_regex_bracket(const char *p)
{
	const char	*e;

	p += p[1] == '^' ? 2 : 1;
	if (*p == ']')
		p++;
	for (; *p != '\0' && *p != ']'; p++)
		if (*p == '[' && p[1] != '\0' && strchr(":.=", p[1]) != NULL &&
		    (e = strchr(p + 2, ']')) != NULL)
			p = e;
	return p;
}

/*
 * Refuses expressions that would make regcomp() or regexec() a denial of
 * service.  glibc copies an atom once per count of a{m,n} and once more
 * for a+, so nested repetitions multiply: a 20-byte expression can ask for
 * gigabytes.  This bounds the copies, with each group's size on a stack.
 * Back-references make matching exponential on paths chosen by clients.
 */
static const char *
cfg_regex_sane(const char *s)
{
	unsigned long long	 sum[CFG_REGEX_MAX + 2];	/* per group */
	unsigned long long	 last[CFG_REGEX_MAX + 2];	/* its last atom */
	unsigned long long	 n, m;
	const char		*p;
	size_t			 d = 0;

	if (strlen(s) > CFG_REGEX_MAX)
		return "is too long";
	sum[0] = last[0] = 0;
	for (p = s; *p != '\0'; p++) {
		n = 1;			/* an atom by default */
		switch (*p) {
		case '(':
			d++;
			sum[d] = last[d] = 0;
			continue;
		case ')':
			if (d == 0)
				break;	/* regcomp() says why */
			d--;
			n = sum[d + 1] + 1;
			break;
		case '|':
		case '*':
		case '?':
			continue;
		case '+':
			n = 2;
			/* FALLTHROUGH */
		case '{':
			if (*p == '{') {
				n = cfg_regex_count(&p);
				if (p[1] == ',') {
					p++;
					if ((m = cfg_regex_count(&p)) > n)
						n = m;
				}
				/* the "}" is no atom: a{m}{n} repeats a{m} */
				if (p[1] == '}')
					p++;
			}
			if (n > 1) {
				sum[d] += last[d] * (n - 1);
				last[d] *= n;
			}
			n = 0;
			break;
		case '\\':
			if (p[1] >= '1' && p[1] <= '9')
				return "uses a back-reference";
			if (p[1] != '\0')
				p++;
			break;
		case '[':
			if (*(p = cfg_regex_bracket(p)) == '\0')
				return NULL;	/* regcomp() says why */
			break;
		default:
			break;
		}
		if (n > 0) {
			last[d] = n;
			sum[d] += n;
		}
		if (sum[d] > CFG_REGEX_COST)
			return "repeats too much";
	}
	return NULL;
}

/* rules[].path_regex: kept as text for messages, compiled once here. */
static int
cfg_set_regex(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    const char *s)
{
	struct cfg_rule	*r = base;
	const char	*why;
	char		 msg[128];
	int		 rc;

	(void)k;
	if (cfg_has_controls(s))
		return cfg_why(x, "%s contains control characters",
		    cfg_quote(x, s));
	if ((why = cfg_regex_sane(s)) != NULL)
		return cfg_why(x, "%s %s", cfg_quote(x, s), why);
	free(r->cr_path_regex);
	if (r->cr_has_regex)
		regfree(&r->cr_regex);
	r->cr_has_regex = 0;
	if ((r->cr_path_regex = strdup(s)) == NULL)
		return cfg_why(x, "out of memory");
	if ((rc = regcomp(&r->cr_regex, s, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &r->cr_regex, msg, sizeof(msg));
		return cfg_why(x, "%s is not a regular expression: %s",
		    cfg_quote(x, s), msg);
	}
	r->cr_has_regex = 1;
	return 0;
}

/* A plain empty value, "~" or "null": YAML's way of writing nothing. */
static int
cfg_is_null(const yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

/* What a node is, for "expected X, got Y". */
static const char *
cfg_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a scalar";
	}
}

/* Optimal string alignment distance, for "did you mean". */
static size_t
cfg_distance(const char *a, const char *b)
{
	size_t	 d[CFG_PATH_MAX + 1][CFG_PATH_MAX + 1];
	size_t	 la = strlen(a), lb = strlen(b), i, j, c;

	if (la > CFG_PATH_MAX || lb > CFG_PATH_MAX)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

/* Unknown key: say so, and name the key it was probably meant to be. */
static int
cfg_unknown(struct cfg_ctx *x, const struct cfg_schema *s,
    const yaml_node_t *kn, const char *path)
{
	const char	*name = (const char *)kn->data.scalar.value;
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < s->s_nkeys; i++)
		if ((d = cfg_distance(name, s->s_keys[i].k_name)) < bestd) {
			bestd = d;
			best = s->s_keys[i].k_name;
		}
	if (best != NULL)
		return cfg_fail(x, kn->start_mark, path, "unknown key %s (did "
		    "you mean \"%s\"?)", cfg_quote(x, name), best);
	return cfg_fail(x, kn->start_mark, path, "unknown key %s",
	    cfg_quote(x, name));
}

/* Parses the value of one sequence key: each element is a section. */
static int
cfg_seq(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    yaml_document_t *d, yaml_node_t *n, yaml_mark_t where, const char *path)
{
	const struct cfg_schema	*s = k->k_aux;
	int			*count = (int *)((char *)base + s->s_countoff);
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	char			*elem;
	char			 p[CFG_PATH_MAX];

	if (n != NULL && !cfg_is_null(n)) {
		if (n->type != YAML_SEQUENCE_NODE)
			return cfg_fail(x, n->start_mark, path,
			    "expected a sequence, got %s", cfg_kind(n));
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			if ((item = yaml_document_get_node(d, *it)) == NULL)
				return cfg_fail(x, n->start_mark, path,
				    "broken YAML document");
			if (*count >= s->s_max)
				return cfg_fail(x, item->start_mark, path,
				    "too many entries (at most %d)", s->s_max);
			/* Counted first: cfg_free() must see what it holds. */
			elem = (char *)base + k->k_off +
			    (size_t)*count * s->s_elsize;
			if (snprintf(p, sizeof(p), "%s[%d]", path,
			    (*count)++) >= (int)sizeof(p))
				return cfg_fail(x, item->start_mark, path,
				    "nested too deeply");
			if (s->s_posoff >= 0) {
				struct cfg_pos *pos = (struct cfg_pos *)(elem +
				    s->s_posoff);

				pos->pos_line = (int)item->start_mark.line + 1;
				pos->pos_col = (int)item->start_mark.column + 1;
			}
			if (cfg_map(x, s, elem, d, item, item->start_mark,
			    p) == -1)
				return -1;
		}
	}
	if (*count < s->s_min)
		return cfg_fail(x, n != NULL && !cfg_is_null(n) ?
		    n->start_mark : where, path, "needs at least %d entr%s",
		    s->s_min, s->s_min == 1 ? "y" : "ies");
	return 0;
}

/* Parses the value of one key, kn being the key (or the value alone). */
static int
cfg_value(struct cfg_ctx *x, const struct cfg_key *k, void *base,
    yaml_document_t *d, yaml_node_t *kn, yaml_node_t *vn, const char *path)
{
	char		 p[CFG_PATH_MAX], list[128];
	const char	*s, *noun;

	cfg_path_join(p, sizeof(p), path, k->k_name);
	if (k->k_type == T_MAP)
		return cfg_map(x, k->k_aux, cfg_field(base, k), d, vn,
		    kn->start_mark, p);
	if (k->k_type == T_SEQ)
		return cfg_seq(x, k, base, d, vn, kn->start_mark, p);
	noun = cfg_types[k->k_type].t_noun;
	if (k->k_type == T_ENUM) {
		snprintf(x->x_why, sizeof(x->x_why), "%s",
		    cfg_enum_list(list, sizeof(list), k->k_aux));
		noun = x->x_why;
	}
	if (vn->type != YAML_SCALAR_NODE)
		return cfg_fail(x, vn->start_mark, p, "expected %s, got %s",
		    noun, cfg_kind(vn));
	if (cfg_is_null(vn))
		return cfg_fail(x, vn->start_mark, p, "missing value "
		    "(expected %s)", noun);
	s = (const char *)vn->data.scalar.value;
	if (strlen(s) != vn->data.scalar.length)
		return cfg_fail(x, vn->start_mark, p, "the value contains a "
		    "NUL character");
	if (cfg_types[k->k_type].t_set(x, k, base, s) == -1)
		return cfg_fail(x, vn->start_mark, p, "%s", x->x_why);
	return cfg_mark(x, cfg_field(base, k), 0, vn->start_mark, p);
}

/*
 * Parses one section: its table's defaults, then each key of the file,
 * then what is missing.  A NULL or null node is an empty section, which
 * still gets its defaults.  where is the position to blame for missing
 * keys: the section's key, or the sequence element.
 */
static int
cfg_map(struct cfg_ctx *x, const struct cfg_schema *s, void *base,
    yaml_document_t *d, yaml_node_t *n, yaml_mark_t where, const char *path)
{
	yaml_node_t		*seen[CFG_KEYS_MAX] = { NULL };
	yaml_node_pair_t	*pr;
	yaml_node_t		*kn, *vn;
	const struct cfg_key	*k;
	char			 p[CFG_PATH_MAX];
	size_t			 i;

	if (cfg_mark(x, base, 1, where, path) == -1)
		return -1;
	for (k = s->s_keys; k < s->s_keys + s->s_nkeys; k++)
		if (k->k_def != NULL &&
		    cfg_types[k->k_type].t_set(x, k, base, k->k_def) == -1) {
			cfg_path_join(p, sizeof(p), path, k->k_name);
			return cfg_fail(x, where, p, "bad built-in default: %s",
			    x->x_why);
		}
	if (n == NULL || cfg_is_null(n))
		;
	else if (n->type == YAML_SCALAR_NODE && s->s_scalar != NULL) {
		/* "- n1" for "- {node: n1}". */
		for (i = 0; strcmp(s->s_keys[i].k_name, s->s_scalar) != 0; i++)
			;
		seen[i] = n;
		if (cfg_value(x, &s->s_keys[i], base, d, n, n, path) == -1)
			return -1;
	} else if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(x, n->start_mark, path, "expected a mapping%s, "
		    "got %s", s->s_scalar ? " or a name" : "", cfg_kind(n));
	else {
		for (pr = n->data.mapping.pairs.start;
		    pr < n->data.mapping.pairs.top; pr++) {
			kn = yaml_document_get_node(d, pr->key);
			vn = yaml_document_get_node(d, pr->value);
			if (kn == NULL || vn == NULL)
				return cfg_fail(x, n->start_mark, path,
				    "broken YAML document");
			if (kn->type != YAML_SCALAR_NODE)
				return cfg_fail(x, kn->start_mark, path,
				    "a key must be a name, not %s",
				    cfg_kind(kn));
			for (i = 0; i < s->s_nkeys; i++)
				if (strcmp((char *)kn->data.scalar.value,
				    s->s_keys[i].k_name) == 0)
					break;
			if (i == s->s_nkeys)
				return cfg_unknown(x, s, kn, path);
			if (seen[i] != NULL)
				return cfg_fail(x, kn->start_mark, path,
				    "duplicate key \"%s\" (first at %d:%d)",
				    s->s_keys[i].k_name,
				    (int)seen[i]->start_mark.line + 1,
				    (int)seen[i]->start_mark.column + 1);
			seen[i] = kn;
			if (cfg_value(x, &s->s_keys[i], base, d, kn, vn,
			    path) == -1)
				return -1;
		}
	}
	for (i = 0; i < s->s_nkeys; i++) {
		k = &s->s_keys[i];
		if (seen[i] != NULL)
			continue;
		if (k->k_flags & K_REQ)
			return cfg_fail(x, where, path, "missing required key "
			    "\"%s\"", k->k_name);
		/* An absent section still needs its defaults. */
		cfg_path_join(p, sizeof(p), path, k->k_name);
		if (k->k_type == T_MAP && cfg_map(x, k->k_aux,
		    cfg_field(base, k), d, NULL, where, p) == -1)
			return -1;
	}
	return 0;
}

static int
cfg_ep_ne(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	return !addr_eq(&a->ep_addr, &b->ep_addr) || a->ep_port != b->ep_port;
}

/*
 * A duplicate among n strings (or endpoints) stride bytes apart: blamed on
 * the later one, naming where the first was.
 */
static int
cfg_unique(struct cfg_ctx *x, const void *first, int n, size_t stride,
    int endpoint, const char *what)
{
	const struct cfg_endpoint	*ea, *eb;
	const struct cfg_mark		*ma, *mb;
	const char			*a, *b;
	char				 addr[ADDR_STRLEN];
	int				 i, j;

	for (i = 1; i < n; i++)
		for (j = 0; j < i; j++) {
			a = (const char *)first + (size_t)j * stride;
			b = (const char *)first + (size_t)i * stride;
			ea = (const void *)a;
			eb = (const void *)b;
			if (endpoint ? cfg_ep_ne(ea, eb) : strcmp(a, b) != 0)
				continue;
			ma = cfg_mark_find(x, a, 0);
			mb = cfg_mark_find(x, b, 0);
			if (endpoint) {
				addr_str(&eb->ep_addr, addr, sizeof(addr));
				return cfg_fail_mark(x, mb, "duplicate %s "
				    "%s:%u (first at %d:%d)", what, addr,
				    ntohs(eb->ep_port), ma ? ma->m_pos.pos_line :
				    0, ma ? ma->m_pos.pos_col : 0);
			}
			return cfg_fail_mark(x, mb, "duplicate %s %s (first "
			    "at %d:%d)", what, cfg_quote(x, b),
			    ma ? ma->m_pos.pos_line : 0,
			    ma ? ma->m_pos.pos_col : 0);
		}
	return 0;
}

/*
 * Requires lo + add < hi (strict) or lo + add <= hi.  Blames hi if the
 * file set it, else lo: the value to change is one the operator wrote.
 */
static int
cfg_order(struct cfg_ctx *x, enum cfg_type t, const int *lo,
    const char *loname, long long add, const int *hi, const char *hiname,
    int strict, const void *section)
{
	const struct cfg_mark	*mk;
	char			 a[32], b[32], c[32];

	if (strict ? *lo + add < *hi : *lo + add <= *hi)
		return 0;
	cfg_fmt(c, sizeof(c), t, add);
	if ((mk = cfg_mark_find(x, hi, 0)) != NULL)
		return cfg_fail_mark(x, mk, "%s must be %s %s%s%s (%s)",
		    cfg_fmt(a, sizeof(a), t, *hi),
		    strict ? "greater than" : "at least", loname,
		    add ? " + " : "", add ? c : "",
		    cfg_fmt(b, sizeof(b), t, *lo + add));
	if ((mk = cfg_mark_find(x, lo, 0)) == NULL)
		mk = cfg_mark_find(x, section, 1);
	return cfg_fail_mark(x, mk, "%s must be %s %s%s%s (%s)",
	    cfg_fmt(a, sizeof(a), t, *lo), strict ? "less than" : "at most",
	    hiname, add ? " - " : "", add ? c : "",
	    cfg_fmt(b, sizeof(b), t, *hi - add));
}

/* The index of a pool by name, or -1. */
int
cfg_pool_by_name(const struct cfg *c, const char *name)
{
	int	 i;

	for (i = 0; i < c->cfg_npools; i++)
		if (strcmp(c->cfg_pools[i].cp_name, name) == 0)
			return i;
	return -1;
}

/* Resolves a pool name into its index, blaming the name if unknown. */
static int
cfg_pool_ref(struct cfg_ctx *x, const char *name, int *idx)
{
	if ((*idx = cfg_pool_by_name(x->x_cfg, name)) == -1)
		return cfg_fail_mark(x, cfg_mark_find(x, name, 0),
		    "unknown pool %s", cfg_quote(x, name));
	return 0;
}

/* Checks of a pool: names of members and the LARD thresholds. */
static int
cfg_check_pool(struct cfg_ctx *x, struct cfg_pool *p)
{
	struct cfg		*c = x->x_cfg;
	struct cfg_member	*m;
	int			 i;

	if (cfg_order(x, T_INT, &p->cp_lard_low, "lard_low", 0,
	    &p->cp_lard_high, "lard_high", 1, p) == -1)
		return -1;
	for (i = 0; i < p->cp_nmembers; i++) {
		m = &p->cp_members[i];
		if (strcmp(m->cm_node, c->cfg_node.cn_id) == 0)
			m->cm_peer = -1;
		else if ((m->cm_peer = cfg_peer_by_id(c, m->cm_node)) == -1)
			return cfg_fail_mark(x, cfg_mark_find(x, m->cm_node, 0),
			    "%s is neither this node nor a peer",
			    cfg_quote(x, m->cm_node));
	}
	return cfg_unique(x, p->cp_members[0].cm_node, p->cp_nmembers,
	    sizeof(*m), 0, "member");
}

/*
 * A rule's conditions must be ones its service's clients show: a request
 * head's for http, a ClientHello's for tls.
 */
static int
cfg_check_rule(struct cfg_ctx *x, const struct cfg_service *s,
    struct cfg_rule *r)
{
	const void	*http, *tls;

	http = r->cr_host != NULL ? (void *)&r->cr_host :
	    r->cr_path_prefix != NULL ? (void *)&r->cr_path_prefix :
	    r->cr_path_regex != NULL ? (void *)&r->cr_path_regex :
	    r->cr_method != NULL ? (void *)&r->cr_method :
	    r->cr_header != NULL ? (void *)&r->cr_header : NULL;
	tls = r->cr_sni != NULL ? (void *)&r->cr_sni :
	    r->cr_alpn != NULL ? (void *)&r->cr_alpn : NULL;
	/* Before the rule's own check: header_value alone is a condition
	 * missing its header, not none at all. */
	if (r->cr_header_value != NULL && r->cr_header == NULL)
		return cfg_fail_mark(x, cfg_mark_find(x, &r->cr_header_value, 0),
		    "needs \"header\" in the same rule");
	if (http == NULL && tls == NULL)
		return cfg_fail_mark(x, cfg_mark_find(x, r, 1), "a rule "
		    "needs a condition (host, path_prefix, path_regex, "
		    "method, header, sni or alpn)");
	if (s->cs_protocol == CFG_PROTO_TLS && http != NULL)
		return cfg_fail_mark(x, cfg_mark_find(x, http, 0), "an HTTP "
		    "condition in a service of protocol tls, whose rules "
		    "match sni and alpn");
	if (s->cs_protocol == CFG_PROTO_HTTP && tls != NULL)
		return cfg_fail_mark(x, cfg_mark_find(x, tls, 0), "needs "
		    "\"protocol: tls\" in the service");
	return cfg_pool_ref(x, r->cr_pool, &r->cr_pool_idx);
}

/*
 * A pool of a tls service picks members by what a ClientHello shows: it
 * has no path and no headers, only a server name for hash_key host.
 */
static int
cfg_check_tls_pool(struct cfg_ctx *x, const char *ref, int idx)
{
	const struct cfg_pool	*p = &x->x_cfg->cfg_pools[idx];
	const char		*why;

	if (p->cp_policy == CFG_POLICY_LARD)
		why = "uses lard, which follows request paths";
	else if (p->cp_policy == CFG_POLICY_HASH &&
	    p->cp_hash_key == CFG_HASH_PATH)
		why = "hashes request paths";
	else if (p->cp_policy == CFG_POLICY_HASH &&
	    p->cp_hash_key == CFG_HASH_HEADER)
		why = "hashes a request header";
	else
		return 0;
	return cfg_fail_mark(x, cfg_mark_find(x, ref, 0), "pool %s %s: a "
	    "ClientHello shows none (a service of protocol tls needs "
	    "round-robin, least-conn, or hash with hash_key: host, the server "
	    "name)", cfg_quote(x, p->cp_name), why);
}

/* Checks of a service: its pools, and rules that can match. */
static int
cfg_check_service(struct cfg_ctx *x, struct cfg_service *s)
{
	int	 i;

	if (cfg_mark_find(x, &s->cs_handshake, 0) == NULL)
		s->cs_handshake = x->x_cfg->cfg_handoff.ch_handshake;
	if (cfg_pool_ref(x, s->cs_pool, &s->cs_pool_idx) == -1)
		return -1;
	for (i = 0; i < s->cs_nrules; i++)
		if (cfg_check_rule(x, s, &s->cs_rules[i]) == -1)
			return -1;
	if (s->cs_protocol != CFG_PROTO_TLS)
		return 0;
	if (cfg_check_tls_pool(x, s->cs_pool, s->cs_pool_idx) == -1)
		return -1;
	for (i = 0; i < s->cs_nrules; i++)
		if (cfg_check_tls_pool(x, s->cs_rules[i].cr_pool,
		    s->cs_rules[i].cr_pool_idx) == -1)
			return -1;
	return 0;
}

/*
 * node.servers: one server per port, and with the kernel stack each on
 * node.server's address, the one its policy rule brings back into the
 * TUN device.
 */
static int
cfg_check_servers(struct cfg_ctx *x)
{
	const struct cfg_node	*cn = &x->x_cfg->cfg_node;
	const struct cfg_mark	*mk;
	char			 a[ADDR_STRLEN];
	int			 i, j;

	for (i = 0; i < cn->cn_nservers; i++) {
		const struct cfg_port_server *ps = &cn->cn_servers[i];

		for (j = 0; j < i; j++) {
			if (cn->cn_servers[j].ps_port != ps->ps_port)
				continue;
			mk = cfg_mark_find(x, &cn->cn_servers[j].ps_port, 0);
			return cfg_fail_mark(x, cfg_mark_find(x, &ps->ps_port,
			    0), "duplicate port %d (first at %d:%d)",
			    ps->ps_port, mk ? mk->m_pos.pos_line : 0,
			    mk ? mk->m_pos.pos_col : 0);
		}
		if (x->x_cfg->cfg_handoff.ch_stack != CFG_STACK_KERNEL ||
		    addr_eq(&ps->ps_server.ep_addr, &cn->cn_server.ep_addr))
			continue;
		mk = cfg_mark_find(x, &ps->ps_server, 0);
		addr_str(&cn->cn_server.ep_addr, a, sizeof(a));
		return cfg_fail_mark(x, mk, "with handoff.stack kernel, every "
		    "server must be on node.server's address %s", a);
	}
	return 0;
}

/* A key file others may read or write: whoever holds the key can inject
 * connections into every back-end. */
static int
cfg_key_mode(struct cfg_ctx *x, const struct cfg_mark *mk,
    const struct stat *st)
{
	const struct cfg_control *cc = &x->x_cfg->cfg_control;

	if ((st->st_mode & (S_IRWXG | S_IRWXO)) == 0 || cc->cc_key_insecure_ok)
		return 0;
	return cfg_fail_mark(x, mk, "%s is open to group or others (mode "
	    "%04o): chmod 600 %s", cfg_quote(x, cc->cc_key_file),
	    (unsigned int)(st->st_mode & 07777), cc->cc_key_file);
}

/* What says a key file is the one read before, its content unchanged:
 * its inode, size and modification time (not its change time: a chown or
 * chmod, as making it root's own after a first start, changes no key). */
static void
cfg_key_stamp(struct cfg_control *cc, const struct stat *st)
{
	cc->cc_key_dev = st->st_dev;
	cc->cc_key_ino = st->st_ino;
	cc->cc_key_size = st->st_size;
	cc->cc_key_mtime = st->st_mtim;
}

static int
cfg_key_same(const struct cfg_control *cc, const struct stat *st)
{
	return cc->cc_key_dev == st->st_dev && cc->cc_key_ino == st->st_ino &&
	    cc->cc_key_size == st->st_size &&
	    cc->cc_key_mtime.tv_sec == st->st_mtim.tv_sec &&
	    cc->cc_key_mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * A reload by a daemon that gave up root may not read a key file only root
 * can (handoffd(8) EXAMPLES makes it so).  The key cannot change while the
 * daemon runs anyway: the running one is kept when the file is the one it
 * was read from, unchanged (stat(2) needs no right to read it); a file
 * changed since is an error that says to restart.
 */
static int
cfg_keep_key(struct cfg_ctx *x, const struct cfg_mark *mk)
{
	struct cfg_control	*cc = &x->x_cfg->cfg_control;
	const struct cfg_control *oc = &x->x_old->cfg_control;
	struct stat		 st;

	if (strcmp(cc->cc_key_file, oc->cc_key_file) == 0 &&
	    stat(cc->cc_key_file, &st) == 0 && cfg_key_same(oc, &st)) {
		if (cfg_key_mode(x, mk, &st) == -1)
			return -1;
		memcpy(cc->cc_key, oc->cc_key, oc->cc_keylen);
		cc->cc_keylen = oc->cc_keylen;
		cfg_key_stamp(cc, &st);
		return 0;
	}
	return cfg_fail_mark(x, mk, "cannot read %s: %s, and it is not the "
	    "file read at start, unchanged (restart the daemon to use another "
	    "key)", cfg_quote(x, cc->cc_key_file), strerror(EACCES));
}

/*
 * Reads the pre-shared key.  Refuses anything but a regular file, so that
 * a mistaken path to a FIFO or a device cannot hang or flood the daemon,
 * and a file others may read or write: whoever holds the key can inject
 * connections into every back-end.  The mode is the one of the file
 * opened, so that it cannot be swapped between the check and the read.
 */
static int
cfg_read_key(struct cfg_ctx *x)
{
	struct cfg_control	*cc = &x->x_cfg->cfg_control;
	const struct cfg_mark	*mk = cfg_mark_find(x, cc->cc_key_file, 0);
	uint8_t			 buf[CFG_KEY_MAX + 3];
	struct stat		 st;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd, rc = -1;

	if ((fd = open(cc->cc_key_file, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		if (errno == EACCES && x->x_old != NULL)
			return cfg_keep_key(x, mk);
		return cfg_fail_mark(x, mk, "cannot read %s: %s",
		    cfg_quote(x, cc->cc_key_file), strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		cfg_fail_mark(x, mk, "cannot read %s: %s",
		    cfg_quote(x, cc->cc_key_file), strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_fail_mark(x, mk, "%s is not a regular file",
		    cfg_quote(x, cc->cc_key_file));
		goto done;
	}
	if (cfg_key_mode(x, mk, &st) == -1)
		goto done;
	while (len < sizeof(buf)) {
		if ((n = read(fd, buf + len, sizeof(buf) - len)) == -1) {
			if (errno == EINTR)
				continue;
			cfg_fail_mark(x, mk, "cannot read %s: %s",
			    cfg_quote(x, cc->cc_key_file), strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* One line ending, as "echo key > file" leaves it. */
	if (len > 0 && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	if (len > CFG_KEY_MAX)
		cfg_fail_mark(x, mk, "the key in %s is longer than %d bytes",
		    cfg_quote(x, cc->cc_key_file), CFG_KEY_MAX);
	else if (len < CFG_KEY_MIN)
		cfg_fail_mark(x, mk, "the key in %s is %zu bytes, at least %d "
		    "are needed", cfg_quote(x, cc->cc_key_file), len,
		    CFG_KEY_MIN);
	else {
		memcpy(cc->cc_key, buf, len);
		cc->cc_keylen = len;
		cfg_key_stamp(cc, &st);
		rc = 0;
	}
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* Why getpwnam() or getgrnam() found nothing: NULL if the name is unknown. */
static const char *
cfg_lookup_error(int error)
{
	if (error == 0 || error == ENOENT || error == ESRCH || error == EBADF ||
	    error == EPERM)
		return NULL;
	return strerror(error);
}

/* node.group into cn_gid; root's group is refused like root. */
static int
cfg_check_group(struct cfg_ctx *x, struct cfg_node *cn)
{
	const struct cfg_mark	*mg = cfg_mark_find(x, cn->cn_group, 0);
	struct group		*gr;
	const char		*why;

	errno = 0;
	if ((gr = getgrnam(cn->cn_group)) == NULL) {
		if ((why = cfg_lookup_error(errno)) != NULL)
			return cfg_fail_mark(x, mg, "cannot look up group %s: "
			    "%s", cfg_quote(x, cn->cn_group), why);
		return cfg_fail_mark(x, mg, "unknown group %s",
		    cfg_quote(x, cn->cn_group));
	}
	if (gr->gr_gid == 0)
		return cfg_fail_mark(x, mg, "%s is root's group (gid 0)",
		    cfg_quote(x, cn->cn_group));
	cn->cn_gid = gr->gr_gid;
	return 0;
}

/* Whether gid 0 is among the groups initgroups() gives user (gid, its
 * primary group, and its supplementary groups); -1 if they cannot be
 * read. */
static int
cfg_user_root_group(const char *user, gid_t gid)
{
	gid_t	*groups = NULL, *g;
	int	 n = 64, m, i, in = 0;

	for (;;) {
		if ((g = reallocarray(groups, (size_t)n, sizeof(*g))) == NULL) {
			free(groups);
			return -1;
		}
		groups = g;
		m = n;
		if (getgrouplist(user, gid, groups, &m) != -1)
			break;
		if (n >= NGROUPS_MAX) {
			free(groups);
			return -1;
		}
		n = m > n ? m : 2 * n;
	}
	for (i = 0; i < m; i++)
		if (groups[i] == 0)
			in = 1;
	free(groups);
	return in;
}

/*
 * node.user and node.group into ids now, so that a typo is an error of
 * the file and not of a daemon that already opened its devices.  Root is
 * refused: the daemon could not prove that it gave root up; and so is
 * root's group, primary or supplementary, unless node.group replaces them.
 */
static int
cfg_check_user(struct cfg_ctx *x)
{
	struct cfg_node		*cn = &x->x_cfg->cfg_node;
	const struct cfg_mark	*mu = cfg_mark_find(x, cn->cn_user, 0);
	struct passwd		*pw;
	const char		*why;

	if (cn->cn_user[0] == '\0' && cn->cn_group[0] != '\0')
		return cfg_fail_mark(x, cfg_mark_find(x, cn->cn_group, 0),
		    "needs \"user\" in the same section");
	if (cn->cn_user[0] == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(cn->cn_user)) == NULL) {
		if ((why = cfg_lookup_error(errno)) != NULL)
			return cfg_fail_mark(x, mu, "cannot look up user %s: "
			    "%s", cfg_quote(x, cn->cn_user), why);
		return cfg_fail_mark(x, mu, "unknown user %s",
		    cfg_quote(x, cn->cn_user));
	}
	if (pw->pw_uid == 0)
		return cfg_fail_mark(x, mu, "%s is root (leave node.user out "
		    "to run as root)", cfg_quote(x, cn->cn_user));
	cn->cn_uid = pw->pw_uid;
	cn->cn_gid = pw->pw_gid;
	if (cn->cn_group[0] != '\0')
		return cfg_check_group(x, cn);
	if (cn->cn_gid == 0)
		return cfg_fail_mark(x, mu, "the primary group of %s is root's "
		    "(gid 0): set node.group", cfg_quote(x, cn->cn_user));
	switch (cfg_user_root_group(cn->cn_user, cn->cn_gid)) {
	case -1:
		return cfg_fail_mark(x, mu, "cannot read the groups of %s",
		    cfg_quote(x, cn->cn_user));
	case 1:
		return cfg_fail_mark(x, mu, "%s is in root's group (gid 0): "
		    "set node.group", cfg_quote(x, cn->cn_user));
	}
	return 0;
}

/*
 * A PROXY header is what node.server then expects of every connection
 * (the spec forbids guessing), but the kernel stack hands it connections
 * without one, and so do this node's active checks.
 */
static int
cfg_check_proxy(struct cfg_ctx *x)
{
	const struct cfg	*c = x->x_cfg;
	const struct cfg_pool	*p;
	int			 i, j;

	if (c->cfg_handoff.ch_proxy_protocol == CFG_PP_OFF)
		return 0;
	if (c->cfg_handoff.ch_stack == CFG_STACK_KERNEL)
		return cfg_fail_mark(x,
		    cfg_mark_find(x, &c->cfg_handoff.ch_proxy_protocol, 0),
		    "needs handoff.stack lwip (the kernel stack hands "
		    "node.server connections without the header)");
	for (i = 0; i < c->cfg_npools; i++) {
		p = &c->cfg_pools[i];
		if (p->cp_check_path[0] == '\0')
			continue;
		for (j = 0; j < p->cp_nmembers; j++)
			if (p->cp_members[j].cm_peer == -1)
				return cfg_fail_mark(x,
				    cfg_mark_find(x, p->cp_check_path, 0),
				    "the check of this node (%s) would reach "
				    "node.server without the PROXY header "
				    "that handoff.proxy_protocol makes it "
				    "expect", c->cfg_node.cn_id);
	}
	return 0;
}

/* Whether two paths name one file: the same string, or (a path given
 * relative to another directory, or through a link) one that exists with
 * the same device and inode. */
static int
cfg_same_file(const char *a, const char *b)
{
	struct stat	 sa, sb;

	if (strcmp(a, b) == 0)
		return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* node.state_file is emptied when it is not a state file: it must not
 * name another file the daemon has, nor the configuration itself. */
static int
cfg_check_state_file(struct cfg_ctx *x)
{
	const struct cfg	*c = x->x_cfg;
	const char		*sf = c->cfg_node.cn_state_file;
	const struct {
		const char	*o_key;
		const char	*o_path;
	}			 other[] = {
		{ "control.key_file", c->cfg_control.cc_key_file },
		{ "node.status_file", c->cfg_node.cn_status_file },
		{ "node.access_log", c->cfg_node.cn_access_log },
		{ "node.admin_socket", c->cfg_node.cn_admin_socket },
		{ "the configuration file", c->cfg_path },
	};
	size_t			 i;

	if (sf[0] == '\0')
		return 0;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (other[i].o_path != NULL && other[i].o_path[0] != '\0' &&
		    cfg_same_file(sf, other[i].o_path))
			return cfg_fail_mark(x, cfg_mark_find(x, sf, 0),
			    "is %s too (the state file would overwrite it)",
			    other[i].o_key);
	return 0;
}

/*
 * IPv6 services: every node that may take their connections has an IPv6
 * address where its stack takes them (this node's server_address6 or
 * lwip.address6, by its stack; each peer's stack_address6).
 */
static int
cfg_check_ipv6(struct cfg_ctx *x)
{
	struct cfg		*c = x->x_cfg;
	const struct cfg_service *s = NULL;
	const struct ipaddr	*own, *any = NULL;
	int			 i, kernel;

	for (i = 0; i < c->cfg_nservices && s == NULL; i++)
		if (!addr_is4(&c->cfg_services[i].cs_vip.ep_addr))
			s = &c->cfg_services[i];
	kernel = c->cfg_handoff.ch_stack == CFG_STACK_KERNEL;
	own = kernel ? &c->cfg_node.cn_server6 : &c->cfg_lwip.cl_addr6;
	if (!addr_is_none(&c->cfg_node.cn_server6))
		any = &c->cfg_node.cn_server6;
	else if (!addr_is_none(&c->cfg_lwip.cl_addr6))
		any = &c->cfg_lwip.cl_addr6;
	/* A back-end with an IPv6 address takes IPv6 handoffs too. */
	if ((s != NULL || any != NULL) && c->cfg_tun.ct_mtu < 1280)
		return cfg_fail_mark(x, s != NULL ? cfg_mark_find(x,
		    &s->cs_vip, 0) : cfg_mark_find(x, any, 0), "%s needs "
		    "tun.mtu 1280 or more, IPv6's minimum (Linux takes IPv6 "
		    "off a smaller device)", s != NULL ? "an IPv6 service" :
		    "an IPv6 address");
	if (s == NULL)
		return 0;
	if (addr_is_none(own))
		return cfg_fail_mark(x, cfg_mark_find(x, &s->cs_vip, 0),
		    "service %s: an IPv6 VIP needs %s, where this node's "
		    "stack (handoff.stack %s) takes IPv6 connections",
		    s->cs_name, kernel ? "node.server_address6" :
		    "lwip.address6", kernel ? "kernel" : "lwip");
	for (i = 0; i < c->cfg_npeers; i++) {
		const struct cfg_peer *p = &c->cfg_peers[i];

		if (addr_is_none(&p->cp_stack_addr6))
			return cfg_fail_mark(x, cfg_mark_find(x, p->cp_id, 0),
			    "peer %s: with an IPv6 service (%s), every peer "
			    "needs a stack_address6", p->cp_id, s->cs_name);
	}
	return 0;
}

/* A VIP is an address of its own: lwIP's address takes what peers hand
 * this node, and a VIP there would take them for new connections. */
static int
cfg_check_vips(struct cfg_ctx *x)
{
	const struct cfg	*c = x->x_cfg;
	const struct cfg_service *s;
	struct ipaddr		 l4 = addr4(c->cfg_lwip.cl_addr);
	int			 i;

	for (i = 0; i < c->cfg_nservices; i++) {
		s = &c->cfg_services[i];
		if (addr_eq(&s->cs_vip.ep_addr, &l4) ||
		    (!addr_is_none(&c->cfg_lwip.cl_addr6) &&
		    addr_eq(&s->cs_vip.ep_addr, &c->cfg_lwip.cl_addr6)))
			return cfg_fail_mark(x, cfg_mark_find(x, &s->cs_vip,
			    0), "is lwIP's own address (lwip.address%s): a "
			    "VIP needs one of its own",
			    addr_eq(&s->cs_vip.ep_addr, &l4) ? "" : "6");
	}
	return 0;
}

/* What the tables cannot say: references, uniqueness, orderings. */
static int
cfg_check(struct cfg_ctx *x)
{
	struct cfg		*c = x->x_cfg;
	struct cfg_handoff	*h = &c->cfg_handoff;
	struct cfg_control	*cc = &c->cfg_control;
	int			 i;

	for (i = 0; i < c->cfg_npeers; i++)
		if (strcmp(c->cfg_peers[i].cp_id, c->cfg_node.cn_id) == 0)
			return cfg_fail_mark(x,
			    cfg_mark_find(x, c->cfg_peers[i].cp_id, 0),
			    "%s is this node's own id (node.id)",
			    cfg_quote(x, c->cfg_peers[i].cp_id));
	for (i = 0; i < c->cfg_npeers; i++)
		if (!cfg_ep_ne(&c->cfg_peers[i].cp_control,
		    &c->cfg_node.cn_control))
			return cfg_fail_mark(x,
			    cfg_mark_find(x, &c->cfg_peers[i].cp_control, 0),
			    "is this node's own control address "
			    "(node.control)");
	if (cfg_check_vips(x) == -1)
		return -1;
	if (cfg_unique(x, c->cfg_peers[0].cp_id, c->cfg_npeers,
	    sizeof(c->cfg_peers[0]), 0, "id") == -1 ||
	    cfg_unique(x, &c->cfg_peers[0].cp_control, c->cfg_npeers,
	    sizeof(c->cfg_peers[0]), 1, "control address") == -1 ||
	    cfg_unique(x, c->cfg_pools[0].cp_name, c->cfg_npools,
	    sizeof(c->cfg_pools[0]), 0, "pool name") == -1 ||
	    cfg_unique(x, c->cfg_services[0].cs_name, c->cfg_nservices,
	    sizeof(c->cfg_services[0]), 0, "service name") == -1 ||
	    cfg_unique(x, &c->cfg_services[0].cs_vip, c->cfg_nservices,
	    sizeof(c->cfg_services[0]), 1, "listen address") == -1)
		return -1;
	for (i = 0; i < c->cfg_npools; i++)
		if (cfg_check_pool(x, &c->cfg_pools[i]) == -1)
			return -1;
	for (i = 0; i < c->cfg_nservices; i++)
		if (cfg_check_service(x, &c->cfg_services[i]) == -1)
			return -1;
	if (cfg_check_ipv6(x) == -1)
		return -1;
	/* A back-end takes a handoff to its own services only, so a node
	 * without any would refuse its peers every one. */
	if (c->cfg_npeers > 0 && c->cfg_nservices == 0)
		return cfg_fail_mark(x, cfg_mark_find(x, c->cfg_peers[0].cp_id,
		    0), "a node with peers lists the cluster's services (a "
		    "back-end accepts handoffs to its own services only)");
	if (cfg_order(x, T_SIZE, &h->ch_request_head_max, "request_head_max",
	    0, &h->ch_request_buffer_max, "request_buffer_max", 0, h) == -1 ||
	    cfg_order(x, T_DURATION, &cc->cc_heartbeat_ms, "heartbeat", 0,
	    &cc->cc_dead_ms, "dead_after", 1, cc) == -1 ||
	    cfg_order(x, T_DURATION, &cc->cc_reconnect_min_ms,
	    "reconnect_min", 0, &cc->cc_reconnect_max_ms, "reconnect_max", 0,
	    cc) == -1 ||
	    cfg_order(x, T_INT, &cc->cc_handshake_per_addr,
	    "handshake_max_per_address", 0, &cc->cc_handshake_max,
	    "handshake_max", 0, cc) == -1 ||
	    /* A HANDOFF carries the buffer and what lwIP's 256k receive
	     * window let in besides, plus its own 1k of framing. */
	    cfg_order(x, T_SIZE, &h->ch_request_buffer_max,
	    "handoff.request_buffer_max", KB(257), &cc->cc_frame_max,
	    "control.frame_max", 0, h) == -1)
		return -1;
	if (c->cfg_tun.ct_table >= 253 && c->cfg_tun.ct_table <= 255)
		return cfg_fail_mark(x, cfg_mark_find(x, &c->cfg_tun.ct_table, 0),
		    "%d is the kernel's own %s table", c->cfg_tun.ct_table,
		    c->cfg_tun.ct_table == 253 ? "default" :
		    c->cfg_tun.ct_table == 254 ? "main" : "local");
	if (cfg_check_proxy(x) == -1 || cfg_check_servers(x) == -1 ||
	    cfg_check_user(x) == -1 || cfg_check_state_file(x) == -1)
		return -1;
	return cfg_read_key(x);
}

/* Line and column of a byte offset, for the reader's errors. */
static yaml_mark_t
cfg_offset_mark(const char *buf, size_t len, size_t off)
{
	yaml_mark_t	 m = { 0, 0, 0 };
	size_t		 i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else
			m.column++;
	}
	return m;
}

/* libyaml's own complaint: its problem, where it found it. */
static int
cfg_yaml_error(struct cfg_ctx *x, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	yaml_mark_t	 m = p->problem_mark;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return cfg_fail_file(x, "out of memory");
	case YAML_READER_ERROR:
		m = cfg_offset_mark(buf, len, p->problem_offset);
		break;
	default:
		break;
	}
	return cfg_fail(x, m, "", "YAML syntax: %s",
	    p->problem ? p->problem : "unknown error");
}

/*
 * Walks the event stream before building the document: one document, no
 * anchors or aliases (the document API would share their nodes, and a
 * "billion laughs" expands nothing here but confuses every position),
 * bounded nesting.
 */
static int
cfg_prescan(struct cfg_ctx *x, const char *buf, size_t len, int *docs)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	const char	*anchor, *tag;
	int		 depth = 0, rc = 1;

	*docs = 0;
	if (!yaml_parser_initialize(&p))
		return cfg_fail_file(x, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (rc == 1) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = cfg_yaml_error(x, &p, buf, len);
			break;
		}
		anchor = tag = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			rc = 0;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++*docs > 1)
				rc = cfg_fail(x, ev.start_mark, "", "only one "
				    "YAML document is allowed");
			break;
		case YAML_ALIAS_EVENT:
			anchor = (const char *)ev.data.alias.anchor;
			break;
		case YAML_SCALAR_EVENT:
			anchor = (const char *)ev.data.scalar.anchor;
			tag = (const char *)ev.data.scalar.tag;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = (const char *)ev.data.sequence_start.anchor;
			tag = (const char *)ev.data.sequence_start.tag;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = (const char *)ev.data.mapping_start.anchor;
			tag = (const char *)ev.data.mapping_start.tag;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (rc == 1 && (anchor != NULL || ev.type == YAML_ALIAS_EVENT))
			rc = cfg_fail(x, ev.start_mark, "", "YAML aliases "
			    "and anchors are not supported");
		/* A tag would say a type the value is not read as. */
		else if (rc == 1 && tag != NULL)
			rc = cfg_fail(x, ev.start_mark, "", "YAML tags "
			    "(%.40s) are not supported", tag);
		else if (rc == 1 && depth > CFG_DEPTH_MAX)
			rc = cfg_fail(x, ev.start_mark, "", "YAML nested "
			    "deeper than %d levels", CFG_DEPTH_MAX);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* Parses buf with relative paths starting at base (a directory). */
static struct cfg *
cfg_parse_at(const char *name, const char *base, const struct cfg *old,
    const char *buf, size_t len, char *err, size_t errlen)
{
	struct cfg_ctx	 x;
	yaml_parser_t	 p;
	yaml_document_t	 d;
	yaml_node_t	*root;
	yaml_mark_t	 top = { 0, 0, 0 };
	struct cfg	*c = NULL;
	int		 docs, rc = -1;

	memset(&x, 0, sizeof(x));
	x.x_name = name;
	x.x_base = base;
	x.x_old = old;
	x.x_err = err;
	x.x_errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg_prescan(&x, buf, len, &docs) == -1)
		return NULL;
	if (docs == 0) {
		cfg_fail(&x, top, "", "empty configuration");
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		cfg_fail_file(&x, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		cfg_yaml_error(&x, &p, buf, len);
		yaml_parser_delete(&p);
		return NULL;
	}
	root = yaml_document_get_root_node(&d);
	if (root == NULL || cfg_is_null(root))
		cfg_fail(&x, top, "", "empty configuration");
	else if (root->type != YAML_MAPPING_NODE)
		cfg_fail(&x, root->start_mark, "", "expected a mapping at the "
		    "top, got %s", cfg_kind(root));
	else if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->cfg_path = strdup(name)) == NULL)
		cfg_fail_file(&x, "out of memory");
	else {
		x.x_cfg = c;
		if (cfg_map(&x, &cfg_root_schema, c, &d, root,
		    root->start_mark, "") == 0 && cfg_check(&x) == 0)
			rc = 0;
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	free(x.x_marks);
	if (rc == -1) {
		cfg_free(c);
		return NULL;
	}
	return c;
}

/* The directory part of a file name, like dirname(3) without its quirks. */
static void
cfg_dirname(char *dir, size_t len, const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Parses a configuration held in memory; name is its file's name. */
struct cfg *
cfg_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	char	 dir[4096];

	cfg_dirname(dir, sizeof(dir), name);
	return cfg_parse_at(name, dir, NULL, buf, len, err, errlen);
}

/*
 * Reads and parses a configuration file.  Relative paths in it start at
 * the real directory of the file, so they survive a later chdir("/").
 * On a reload, old is the running configuration.
 */
static struct cfg *
cfg_read_file(const char *path, const struct cfg *old, char *err,
    size_t errlen)
{
	struct cfg_ctx	 x;
	struct cfg	*c = NULL;
	struct stat	 st;
	char		*buf = NULL, *real = NULL, dir[4096];
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	memset(&x, 0, sizeof(x));
	x.x_name = path;
	x.x_err = err;
	x.x_errlen = errlen;
	/* Non-blocking: opening a FIFO would wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		cfg_fail_file(&x, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		cfg_fail_file(&x, "%s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		cfg_fail_file(&x, "%s", strerror(EISDIR));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_fail_file(&x, "not a regular file");
		goto done;
	}
	if ((buf = malloc(CFG_FILE_MAX + 1)) == NULL) {
		cfg_fail_file(&x, "out of memory");
		goto done;
	}
	for (;;) {
		n = read(fd, buf + len, CFG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cfg_fail_file(&x, "%s", strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if ((len += (size_t)n) > CFG_FILE_MAX) {
			cfg_fail_file(&x, "larger than %d bytes: not a "
			    "configuration", CFG_FILE_MAX);
			goto done;
		}
	}
	cfg_dirname(dir, sizeof(dir), path);
	real = realpath(dir, NULL);
	c = cfg_parse_at(path, real ? real : dir, old, buf, len, err, errlen);
done:
	free(real);
	free(buf);
	close(fd);
	return c;
}

struct cfg *
cfg_load(const char *path, char *err, size_t errlen)
{
	return cfg_read_file(path, NULL, err, errlen);
}

/* The file of the running configuration old again (handoffd(8) RELOAD). */
struct cfg *
cfg_reload(const struct cfg *old, char *err, size_t errlen)
{
	return cfg_read_file(old->cfg_path, old, err, errlen);
}

/* Frees a configuration and what its rules hold; NULL is fine. */
void
cfg_free(struct cfg *c)
{
	struct cfg_rule	*r;
	int		 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->cfg_nservices; i++)
		for (j = 0; j < c->cfg_services[i].cs_nrules; j++) {
			r = &c->cfg_services[i].cs_rules[j];
			free(r->cr_host);
			free(r->cr_path_prefix);
			free(r->cr_path_regex);
			free(r->cr_method);
			free(r->cr_header);
			free(r->cr_header_value);
			free(r->cr_sni);
			free(r->cr_alpn);
			if (r->cr_has_regex)
				regfree(&r->cr_regex);
		}
	explicit_bzero(c->cfg_control.cc_key, sizeof(c->cfg_control.cc_key));
	free(c->cfg_path);
	free(c);
}

/* The name of a value of an enumeration, for logs and status. */
static const char *
cfg_enum_name(const char *const *names, size_t n, unsigned int v)
{
	return v < n - 1 ? names[v] : "unknown";
}

const char *
cfg_stack_name(enum cfg_stack s)
{
	return cfg_enum_name(cfg_stacks, nitems(cfg_stacks), s);
}

const char *
cfg_handshake_name(enum cfg_handshake h)
{
	return cfg_enum_name(cfg_handshakes, nitems(cfg_handshakes), h);
}

const char *
cfg_policy_name(enum cfg_policy p)
{
	return cfg_enum_name(cfg_policies, nitems(cfg_policies), p);
}

/* The index of a peer by id, or -1; a retired peer is none. */
int
cfg_peer_by_id(const struct cfg *c, const char *id)
{
	int	 i;

	for (i = 0; i < c->cfg_npeers; i++)
		if (!c->cfg_peers[i].cp_retired &&
		    strcmp(c->cfg_peers[i].cp_id, id) == 0)
			return i;
	return -1;
}

/* The index of the service at a VIP's address and port (network order),
 * or -1. */
int
cfg_service_at(const struct cfg *c, const struct ipaddr *addr,
    uint16_t port)
{
	int	 i;

	for (i = 0; i < c->cfg_nservices; i++)
		if (addr_eq(&c->cfg_services[i].cs_vip.ep_addr, addr) &&
		    c->cfg_services[i].cs_vip.ep_port == port)
			return i;
	return -1;
}

/* The peers of the configuration, those a reload retired left out. */
int
cfg_active_peers(const struct cfg *c)
{
	int	 i, n = 0;

	for (i = 0; i < c->cfg_npeers; i++)
		n += !c->cfg_peers[i].cp_retired;
	return n;
}

/* Appends name to the comma-separated list in buf when changed. */
static void
cfg_fixed_note(char *buf, size_t len, int *n, const char *name, int changed)
{
	size_t	 used = strlen(buf);

	if (!changed)
		return;
	snprintf(buf + used, len - used, "%s%s", (*n)++ ? ", " : "", name);
}


/* Whether two nodes' servers by VIP port differ.  A back-end finds a
 * handed-off connection by its stack endpoint, which the port's server
 * sets: remapped, the live connections could no longer be found by
 * lookups, cancels and aborts. */
static int
cfg_servers_ne(const struct cfg_node *a, const struct cfg_node *b)
{
	int	 i, j;

	if (a->cn_nservers != b->cn_nservers)
		return 1;
	/* Ports are unique in a list (cfg_check_servers), so equal counts and each
	 * of a's in b make the same map, in any order. */
	for (i = 0; i < a->cn_nservers; i++) {
		for (j = 0; j < b->cn_nservers; j++)
			if (a->cn_servers[i].ps_port ==
			    b->cn_servers[j].ps_port &&
			    !cfg_ep_ne(&a->cn_servers[i].ps_server,
			    &b->cn_servers[j].ps_server))
				break;
		if (j == b->cn_nservers)
			return 1;
	}
	return 0;
}

/*
 * The settings a running daemon cannot change (handoffd(8) RELOAD): they
 * name this node, its device, its sockets and files, its key, and what its
 * tables were sized for.  Lists those that differ between old and new in
 * buf; returns how many.
 */
int
cfg_fixed_changes(const struct cfg *o, const struct cfg *c, char *buf,
    size_t len)
{
	const struct cfg_node	*on = &o->cfg_node, *cn = &c->cfg_node;
	const struct cfg_tun	*ot = &o->cfg_tun, *ct = &c->cfg_tun;
	int			 n = 0;

	buf[0] = '\0';
	cfg_fixed_note(buf, len, &n, "node.id", strcmp(on->cn_id, cn->cn_id));
	cfg_fixed_note(buf, len, &n, "node.control",
	    cfg_ep_ne(&on->cn_control, &cn->cn_control));
	cfg_fixed_note(buf, len, &n, "node.server",
	    cfg_ep_ne(&on->cn_server, &cn->cn_server));
	cfg_fixed_note(buf, len, &n, "node.server_address6",
	    !addr_eq(&on->cn_server6, &cn->cn_server6));
	cfg_fixed_note(buf, len, &n, "node.servers",
	    cfg_servers_ne(on, cn));
	cfg_fixed_note(buf, len, &n, "node.status_file",
	    strcmp(on->cn_status_file, cn->cn_status_file));
	cfg_fixed_note(buf, len, &n, "node.state_file",
	    strcmp(on->cn_state_file, cn->cn_state_file));
	cfg_fixed_note(buf, len, &n, "node.admin_socket",
	    strcmp(on->cn_admin_socket, cn->cn_admin_socket));
	cfg_fixed_note(buf, len, &n, "node.access_log",
	    strcmp(on->cn_access_log, cn->cn_access_log));
	cfg_fixed_note(buf, len, &n, "node.access_log_facility",
	    on->cn_access_log_facility != cn->cn_access_log_facility);
	cfg_fixed_note(buf, len, &n, "node.user",
	    strcmp(on->cn_user, cn->cn_user));
	cfg_fixed_note(buf, len, &n, "node.group",
	    strcmp(on->cn_group, cn->cn_group));
	cfg_fixed_note(buf, len, &n, "tun", strcmp(ot->ct_name, ct->ct_name) ||
	    ot->ct_has_addr != ct->ct_has_addr || ot->ct_addr != ct->ct_addr ||
	    ot->ct_prefix != ct->ct_prefix || ot->ct_mtu != ct->ct_mtu ||
	    ot->ct_offload != ct->ct_offload || ot->ct_table != ct->ct_table);
	cfg_fixed_note(buf, len, &n, "lwip.address",
	    o->cfg_lwip.cl_addr != c->cfg_lwip.cl_addr);
	cfg_fixed_note(buf, len, &n, "lwip.address6",
	    !addr_eq(&o->cfg_lwip.cl_addr6, &c->cfg_lwip.cl_addr6));
	cfg_fixed_note(buf, len, &n, "handoff.stack",
	    o->cfg_handoff.ch_stack != c->cfg_handoff.ch_stack);
	cfg_fixed_note(buf, len, &n, "handoff.max_flows",
	    o->cfg_handoff.ch_max_flows != c->cfg_handoff.ch_max_flows);
	cfg_fixed_note(buf, len, &n, "control.key_file",
	    strcmp(o->cfg_control.cc_key_file, c->cfg_control.cc_key_file) ||
	    o->cfg_control.cc_keylen != c->cfg_control.cc_keylen ||
	    memcmp(o->cfg_control.cc_key, c->cfg_control.cc_key,
	    o->cfg_control.cc_keylen) != 0);
	cfg_fixed_note(buf, len, &n, "metrics.listen",
	    cfg_ep_ne(&o->cfg_metrics.cm_listen, &c->cfg_metrics.cm_listen));
	return n;
}

/*
 * Gives the peers of c, a configuration replacing o, the places they had
 * in o: flows and control connections know peers by place.  A peer o had
 * and c has not keeps its place, retired; a new one takes the next place
 * never used, so that no place ever names two nodes.  Pool members are
 * found again by id.  Returns -1 (err says why) if the places run out.
 */
int
cfg_keep_peers(struct cfg *c, const struct cfg *o, char *err, size_t errlen)
{
	struct cfg_peer	 kept[CFG_MAX_PEERS];
	int		 n = o->cfg_npeers, i, j, p;
	int		 placed[CFG_MAX_PEERS] = { 0 };

	for (i = 0; i < o->cfg_npeers; i++) {
		kept[i] = o->cfg_peers[i];
		kept[i].cp_retired = 1;
		for (j = 0; j < c->cfg_npeers; j++)
			if (strcmp(c->cfg_peers[j].cp_id,
			    o->cfg_peers[i].cp_id) == 0) {
				kept[i] = c->cfg_peers[j];
				placed[j] = 1;
			}
	}
	for (j = 0; j < c->cfg_npeers; j++) {
		if (placed[j])
			continue;
		if (n == CFG_MAX_PEERS) {
			snprintf(err, errlen, "%s: peer %s: no place left: %d "
			    "peers since the daemon started, removed ones "
			    "included (restart it to apply this configuration)",
			    c->cfg_path, c->cfg_peers[j].cp_id, CFG_MAX_PEERS);
			return -1;
		}
		kept[n++] = c->cfg_peers[j];
	}
	memcpy(c->cfg_peers, kept, sizeof(kept[0]) * (size_t)n);
	c->cfg_npeers = n;
	for (p = 0; p < c->cfg_npools; p++)
		for (i = 0; i < c->cfg_pools[p].cp_nmembers; i++) {
			struct cfg_member *m = &c->cfg_pools[p].cp_members[i];

			if (m->cm_peer >= 0)
				m->cm_peer = cfg_peer_by_id(c, m->cm_node);
		}
	return 0;
}

/* This node's web server for connections to a VIP on port vport (network
 * order): node.servers' for that port, else node.server. */
const struct cfg_endpoint *
cfg_server_for(const struct cfg *c, in_port_t vport)
{
	int	 i;

	for (i = 0; i < c->cfg_node.cn_nservers; i++)
		if (c->cfg_node.cn_servers[i].ps_port == ntohs(vport))
			return &c->cfg_node.cn_servers[i].ps_server;
	return &c->cfg_node.cn_server;
}

/* A name or path as the file would write it: "none" for an unset one
 * whose default is not. */
static void
cfg_format_name(char *buf, size_t len, const struct cfg_key *k,
    const void *base)
{
	const char	*s = (const char *)base + k->k_off;

	if (s[0] == '\0' && (k->k_flags & K_NONE) && k->k_def != NULL)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s", s);
}

/* One value as the file would write it; unset values are empty. */
static void
cfg_format(char *buf, size_t len, const struct cfg_key *k, const void *base)
{
	const void		*fld = (const char *)base + k->k_off;
	const struct cfg_endpoint *ep = fld;
	const struct cfg_tun	*t = base;
	const struct cfg_pool	*p = base;
	char			 a[ADDR_STRLEN];
	const char		*s;
	int			 v;

	buf[0] = '\0';
	switch (k->k_type) {
	case T_ADDR:
		inet_ntop(AF_INET, fld, buf, (socklen_t)len);
		break;
	case T_ENDPOINT:
	case T_VIP:
		if (ep->ep_port != 0)
			addr_port_str(&ep->ep_addr, ep->ep_port, buf, len);
		break;
	case T_ADDR6:
		if (!addr_is_none(fld))
			addr_str(fld, buf, len);
		break;
	case T_PREFIX:
		if (t->ct_has_addr)
			snprintf(buf, len, "%s/%d", inet_ntop(AF_INET,
			    &t->ct_addr, a, sizeof(a)), t->ct_prefix);
		break;
	case T_INT:
		snprintf(buf, len, "%d", *(const int *)fld);
		break;
	case T_DURATION:
	case T_SIZE:
		v = *(const int *)fld;
		cfg_fmt(buf, len, k->k_type, v);
		break;
	case T_ENUM:
		snprintf(buf, len, "%s",
		    ((const char *const *)k->k_aux)[*(const int *)fld]);
		break;
	case T_HASHKEY:
		snprintf(buf, len, "%s%s", p->cp_hash_key == CFG_HASH_PATH ?
		    "path" : p->cp_hash_key == CFG_HASH_HOST ? "host" :
		    "header:", p->cp_hash_header);
		break;
	case T_REGEX:
		s = *(char *const *)fld;
		snprintf(buf, len, "%s", s != NULL ? s : "");
		break;
	case T_STR:
		s = k->k_flags & K_HEAP ? *(char *const *)fld : fld;
		snprintf(buf, len, "%s", s != NULL ? s : "");
		break;
	default:			/* names and paths */
		cfg_format_name(buf, len, k, base);
		break;
	}
}

/*
 * Prints what key names in section base of schema s: path is what is left
 * of the key, like "listen" or "members[].node"; "[]" walks every element
 * of a sequence, "[N]" one.  Without fp it only checks that the key names
 * a value, and base may be NULL.
 */
static int
cfg_print_at(const struct cfg_schema *s, const void *base, const char *path,
    FILE *fp)
{
	const struct cfg_key	*k;
	const char		*rest, *fld;
	char			 buf[4200], *end;
	size_t			 n = strcspn(path, ".[");
	long			 i, lo, hi;

	for (k = s->s_keys; k < s->s_keys + s->s_nkeys; k++)
		if (strlen(k->k_name) == n && strncmp(k->k_name, path, n) == 0)
			break;
	if (n == 0 || k == s->s_keys + s->s_nkeys)
		return -1;
	rest = path + n;
	fld = fp != NULL ? (const char *)base + k->k_off : NULL;
	switch (k->k_type) {
	case T_MAP:
		if (*rest != '.')
			return -1;
		return cfg_print_at(k->k_aux, fld, rest + 1, fp);
	case T_SEQ:
		s = k->k_aux;
		lo = 0;
		hi = fp != NULL ?
		    *(const int *)((const char *)base + s->s_countoff) : 0;
		if (rest[0] != '[')
			return -1;
		if (rest[1] == ']')
			rest += 2;
		else {
			if (rest[1] < '0' || rest[1] > '9')
				return -1;
			i = strtol(rest + 1, &end, 10);
			if (*end != ']')
				return -1;
			lo = i;
			hi = i < hi ? i + 1 : i;
			rest = end + 1;
		}
		if (*rest != '.')
			return -1;
		if (fp == NULL)
			return cfg_print_at(s, NULL, rest + 1, NULL);
		for (i = lo; i < hi; i++)
			if (cfg_print_at(s, fld + (size_t)i * s->s_elsize,
			    rest + 1, fp) == -1)
				return -1;
		return 0;
	default:
		if (*rest != '\0')
			return -1;
		if (fp != NULL) {
			cfg_format(buf, sizeof(buf), k, base);
			fprintf(fp, "%s\n", buf);
		}
		return 0;
	}
}

/*
 * Prints the value of a key of the configuration, one line per value,
 * defaults included, for scripts: "tun.name", "services[].listen".
 * Returns -1 with a message in err for a key that names no value.
 */
int
cfg_print(const struct cfg *c, const char *key, FILE *fp, char *err,
    size_t errlen)
{
	if (cfg_print_at(&cfg_root_schema, c, key, NULL) == -1) {
		snprintf(err, errlen, "%s: no such key (like tun.name, or "
		    "services[].listen for every service)", key);
		return -1;
	}
	return cfg_print_at(&cfg_root_schema, c, key, fp);
}

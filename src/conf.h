/*
 * The configuration: the YAML schema of handoffd.yaml(5) as C structures.
 *
 * conf.c owns parsing and validation.  A struct cfg is built whole or not at
 * all: on any error cfg_load()/cfg_parse() return NULL with one message of
 * the form "file:line:col: key: what is wrong" and leave nothing allocated.
 * Every default lives in conf.c's key tables, nowhere else.
 */
#ifndef HANDOFFD_CONF_H
#define HANDOFFD_CONF_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <net/if.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "addr.h"

#define CFG_ID_MAX	32	/* node, peer, pool and service names, NUL included */
#define CFG_USER_MAX	33	/* user and group names as useradd(8) takes them */
#define CFG_MAX_PEERS	64
#define CFG_MAX_SERVICES 32
#define CFG_MAX_POOLS	64
#define CFG_MAX_MEMBERS	64	/* per pool */
#define CFG_MAX_RULES	64	/* per service */
#define CFG_MAX_SERVERS	16	/* node.servers */
#define CFG_KEY_MIN	16	/* pre-shared key bytes */
#define CFG_KEY_MAX	256

/* Who finally owns a connection handed to a node. */
enum cfg_stack {
	CFG_STACK_LWIP,
	CFG_STACK_KERNEL,
};

/* How the front-end answers a client's handshake. */
enum cfg_handshake {
	CFG_HS_LWIP,		/* lwIP accepts; rare handoff (seed 000) */
	CFG_HS_COOKIE,		/* BTCP answers with a SYN cookie (seed 001) */
};

/* What a relay writes to the web server before the client's bytes: the
 * PROXY protocol header of that version (the values are its numbers). */
enum cfg_proxy_protocol {
	CFG_PP_OFF,
	CFG_PP_V1,
	CFG_PP_V2,
};

/* What a service's clients send first, which the front-end routes by. */
enum cfg_protocol {
	CFG_PROTO_HTTP,		/* an HTTP request head */
	CFG_PROTO_TLS,		/* a TLS ClientHello: its SNI and ALPN */
};

enum cfg_policy {
	CFG_POLICY_ROUND_ROBIN,
	CFG_POLICY_LEAST_CONN,
	CFG_POLICY_HASH,
	CFG_POLICY_LARD,
};

/* What a hash pool hashes. */
enum cfg_hash_key {
	CFG_HASH_PATH,
	CFG_HASH_HOST,
	CFG_HASH_HEADER,	/* cp_hash_header names it */
};

/* An endpoint; the port in network byte order.  IPv6 only where a key
 * says so (services[].listen); IPv4 mapped (addr.h). */
struct cfg_endpoint {
	struct ipaddr	 ep_addr;
	in_port_t	 ep_port;
};

/* Where a value came from, for errors found after parsing. */
struct cfg_pos {
	int		 pos_line;	/* 1-based */
	int		 pos_col;	/* 1-based */
};

/* node.servers: this node's web server for the VIPs of one port. */
struct cfg_port_server {
	int			 ps_port;	/* host order */
	struct cfg_endpoint	 ps_server;
	struct cfg_pos		 ps_pos;
};

struct cfg_node {
	char			 cn_id[CFG_ID_MAX];
	struct cfg_endpoint	 cn_control;	/* control channel listen */
	struct cfg_endpoint	 cn_server;	/* local web server */
	struct ipaddr		 cn_server6;	/* ... its IPv6 address */
	struct cfg_port_server	 cn_servers[CFG_MAX_SERVERS]; /* by VIP port */
	int			 cn_nservers;
	char			 cn_status_file[4096]; /* "" = none */
	char			 cn_state_file[4096]; /* "" = none */
	/* "" = none; a UNIX socket's name fits sun_path */
	char			 cn_admin_socket[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	/* "" = none; "syslog", "syslog:SOCKET" or a file */
	char			 cn_access_log[4096];
	int			 cn_access_log_facility; /* alog_facility_names */
	char			 cn_user[CFG_USER_MAX];	/* "" = stay who we are */
	char			 cn_group[CFG_USER_MAX]; /* "" = the user's groups */
	uid_t			 cn_uid;	/* cn_user's, resolved at load */
	gid_t			 cn_gid;	/* cn_group's, else cn_user's */
};

struct cfg_tun {
	char			 ct_name[IFNAMSIZ];
	int			 ct_has_addr;	/* configure the address? */
	in_addr_t		 ct_addr;	/* host side of the TUN */
	int			 ct_prefix;
	int			 ct_mtu;
	int			 ct_offload;	/* TSO and checksum offload */
	int			 ct_table;	/* kernel stack's policy table */
};

struct cfg_lwip {
	in_addr_t		 cl_addr;	/* lwIP's side of the TUN */
	struct ipaddr		 cl_addr6;	/* ... for IPv6, or :: */
	int			 cl_loss_tol;	/* CFG_LOSS_AUTO, or 1 + % */
};
#define CFG_LOSS_AUTO		0

struct cfg_peer {
	char			 cp_id[CFG_ID_MAX];
	struct cfg_endpoint	 cp_control;
	in_addr_t		 cp_stack_addr;	/* where its handed-off flows go */
	struct ipaddr		 cp_stack_addr6; /* ... IPv6 ones, or :: */
	struct cfg_endpoint	 cp_server;
	enum cfg_stack		 cp_stack;
	struct cfg_pos		 cp_pos;
	/* Left out by a reload, kept in its place for the flows that name
	 * it (cfg_keep_peers); no peer by cfg_peer_by_id. */
	int			 cp_retired;
};

/* One match condition set; every present condition must hold. */
struct cfg_rule {
	char			*cr_host;	/* exact, or "*.suffix" */
	char			*cr_path_prefix;
	char			*cr_path_regex;
	regex_t			 cr_regex;	/* compiled cr_path_regex */
	int			 cr_has_regex;
	char			*cr_method;
	char			*cr_header;	/* header name */
	char			*cr_header_value; /* NULL: presence only */
	char			*cr_sni;	/* exact, or "*.suffix" */
	char			*cr_alpn;	/* offered by the client */
	char			 cr_pool[CFG_ID_MAX];
	int			 cr_pool_idx;
	struct cfg_pos		 cr_pos;
};

struct cfg_service {
	char			 cs_name[CFG_ID_MAX];
	struct cfg_endpoint	 cs_vip;
	enum cfg_handshake	 cs_handshake;
	enum cfg_protocol	 cs_protocol;
	struct cfg_rule		 cs_rules[CFG_MAX_RULES];
	int			 cs_nrules;
	char			 cs_pool[CFG_ID_MAX];	/* default pool */
	int			 cs_pool_idx;
	struct cfg_pos		 cs_pos;
};

struct cfg_member {
	char			 cm_node[CFG_ID_MAX];
	int			 cm_peer;	/* index in cfg_peers, -1: this node */
	int			 cm_weight;
	struct cfg_pos		 cm_pos;
};

struct cfg_pool {
	char			 cp_name[CFG_ID_MAX];
	enum cfg_policy		 cp_policy;
	enum cfg_hash_key	 cp_hash_key;
	char			 cp_hash_header[64];
	int			 cp_lard_low;	/* T_low, active flows */
	int			 cp_lard_high;	/* T_high */
	int			 cp_fail_threshold; /* refusals before ejection */
	char			 cp_check_path[128]; /* "" = no active check */
	int			 cp_check_interval_ms;
	struct cfg_member	 cp_members[CFG_MAX_MEMBERS];
	int			 cp_nmembers;
	struct cfg_pos		 cp_pos;
};

struct cfg_handoff {
	enum cfg_handshake	 ch_handshake;	/* default for services */
	enum cfg_stack		 ch_stack;	/* this node's stack */
	int			 ch_timeout_ms;	/* HANDOFF -> HANDOFF_ACK */
	int			 ch_inject_retry_ms;
	int			 ch_request_head_max;
	int			 ch_request_buffer_max;
	int			 ch_request_timeout_ms;	/* SYN to whole head */
	int			 ch_queue_max;	/* packets queued per flow */
	int			 ch_linger_ms;
	int			 ch_idle_ms;
	int			 ch_max_flows;
	int			 ch_window_scale; /* offered by cookie mode */
	int			 ch_mss;	 /* offered by cookie mode */
	enum cfg_proxy_protocol	 ch_proxy_protocol; /* relays' header */
	int			 ch_lookups;	/* LOOKUPs a second; 0: none */
};

struct cfg_control {
	char			 cc_key_file[4096];
	uint8_t			 cc_key[CFG_KEY_MAX];
	size_t			 cc_keylen;
	/* the key file as read: a reload that may not read it keeps the key
	 * while these hold */
	dev_t			 cc_key_dev;
	ino_t			 cc_key_ino;
	off_t			 cc_key_size;
	struct timespec		 cc_key_mtime;
	int			 cc_key_insecure_ok; /* others may read the key */
	int			 cc_heartbeat_ms;
	int			 cc_dead_ms;
	int			 cc_reconnect_min_ms;
	int			 cc_reconnect_max_ms;
	int			 cc_frame_max;
	int			 cc_handshake_ms;	/* to authenticate */
	int			 cc_handshake_max;	/* unauthenticated, all */
	int			 cc_handshake_per_addr;	/* ... from one address */
};

struct cfg_metrics {
	struct cfg_endpoint	 cm_listen;	/* port 0: no metrics */
};

struct cfg {
	char			*cfg_path;
	int			 cfg_refs;	/* the daemon's: connections that
						 * still use it after a reload */
	struct cfg_node		 cfg_node;
	struct cfg_tun		 cfg_tun;
	struct cfg_lwip		 cfg_lwip;
	struct cfg_peer		 cfg_peers[CFG_MAX_PEERS];
	int			 cfg_npeers;
	struct cfg_service	 cfg_services[CFG_MAX_SERVICES];
	int			 cfg_nservices;
	struct cfg_pool		 cfg_pools[CFG_MAX_POOLS];
	int			 cfg_npools;
	struct cfg_handoff	 cfg_handoff;
	struct cfg_control	 cfg_control;
	struct cfg_metrics	 cfg_metrics;
};

struct cfg	*cfg_load(const char *, char *, size_t);
struct cfg	*cfg_reload(const struct cfg *, char *, size_t);
struct cfg	*cfg_parse(const char *, const char *, size_t, char *, size_t);
void		 cfg_free(struct cfg *);
const char	*cfg_stack_name(enum cfg_stack);
const char	*cfg_handshake_name(enum cfg_handshake);
const char	*cfg_policy_name(enum cfg_policy);
int		 cfg_peer_by_id(const struct cfg *, const char *);
int		 cfg_active_peers(const struct cfg *);
int		 cfg_pool_by_name(const struct cfg *, const char *);
int		 cfg_service_at(const struct cfg *, const struct ipaddr *,
		    uint16_t);
int		 cfg_fixed_changes(const struct cfg *, const struct cfg *,
		    char *, size_t);
int		 cfg_keep_peers(struct cfg *, const struct cfg *, char *,
		    size_t);
const struct cfg_endpoint *cfg_server_for(const struct cfg *, in_port_t);
int		 cfg_print(const struct cfg *, const char *, FILE *, char *,
		    size_t);

#endif

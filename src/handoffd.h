/*
 * A node's context: one struct hd per running node owns its configuration,
 * its flow table, its roles' state and its counters, and names the event
 * loop and the TUN it runs on.  Modules get it passed in.  What is global
 * besides: log.c's settings, lwIP's own state (one stack per process, whose
 * netifs each node adds; packets leave by the netif of their source
 * address, so two nodes can share it in a test), and port.c's clock and
 * ISN key.
 */
#ifndef HANDOFFD_H
#define HANDOFFD_H

#include <sys/queue.h>
#include <stdint.h>

#include "btcp.h"
#include "budget.h"
#include "conf.h"
#include "ksock.h"
#include "pkt.h"
#include "tun.h"
#include "handoff/peer.h"

struct event_base;
struct event;
struct flow_table;
struct peer_set;
struct relay;
struct tcp_pcb_listen;
struct tcp_pcb;
struct tunif;
struct sipkey;
struct fe_conn;
struct health;
struct pool_state;
struct admin;
struct metrics;
struct alog;

#define HD_MAX_BE_PORTS	32

/* Counters, printed on SIGUSR1 and written to the status file; stats.c
 * names each one. */
struct hd_stats {
	uint64_t	 st_tun_rx_pkts;
	uint64_t	 st_tun_rx_bytes;
	uint64_t	 st_tun_tx_pkts;
	uint64_t	 st_tun_tx_bytes;
	uint64_t	 st_tun_tx_errors;
	uint64_t	 st_to_lwip;
	uint64_t	 st_lwip_tw_cut;	/* TIME_WAITs ended early */
	uint64_t	 st_lwip_dupack_loss;	/* losses from SACK-less dupacks */
	uint64_t	 st_lwip_sent;		/* struct port_tcp_counts */
	uint64_t	 st_lwip_resent;
	uint64_t	 st_lwip_loss_cut;
	uint64_t	 st_lwip_loss_kept;
	uint64_t	 st_lwip_loss_late;
	uint64_t	 st_lwip_loss_undone;
	uint64_t	 st_lwip_rto;
	uint64_t	 st_drop[PKT_VERDICT_MAX];	/* by parse verdict */
	uint64_t	 st_drop_bad_opts;
	uint64_t	 st_drop_table_full;
	uint64_t	 st_drop_network_busy;	/* fe_make_room */
	uint64_t	 st_drop_queue_full;
	uint64_t	 st_drop_nomem;
	uint64_t	 st_drop_stale;		/* stack packets of no flow */
	uint64_t	 st_drop_no_flow;	/* to the stack address, no flow */
	uint64_t	 st_drop_early;		/* client packets mid-inject */
	uint64_t	 st_drop_bad_csum;	/* consumed packets only */
	uint64_t	 st_drop_tun_queue;	/* the kernel's, into the TUN */
	uint64_t	 st_rst_blind;		/* resets outside any window */
	uint64_t	 st_challenges;		/* challenge ACKs caused */
	uint64_t	 st_challenges_limited;	/* ... or held back */
	uint64_t	 st_unacceptable;	/* forwarded, not believed */
	uint64_t	 st_cookie_syns;	/* SYN/ACKs with a cookie */
	uint64_t	 st_cookie_acks;	/* valid cookies: new flows */
	uint64_t	 st_cookie_bad;		/* ACKs with no valid cookie */
	uint64_t	 st_cookie_replayed;	/* valid, but used already */
	uint64_t	 st_cookie_full;	/* valid, no room to remember */
	uint64_t	 st_cookie_busy;	/* ... its network's share used */
	/* front-end */
	uint64_t	 st_fe_syns;
	uint64_t	 st_fe_local;
	uint64_t	 st_fe_idle;
	uint64_t	 st_fe_evicted;		/* young ones, for new ones */
	uint64_t	 st_fe_ooseq;		/* out-of-order, passed on */
	uint64_t	 st_handoffs_started;
	uint64_t	 st_handoffs_acked;
	uint64_t	 st_handoffs_refused;
	uint64_t	 st_handoffs_failed;
	uint64_t	 st_handoffs_timeout;
	uint64_t	 st_handoffs_late;	/* acked after we gave up */
	uint64_t	 st_handoffs_reset;	/* fate unknown: client reset */
	uint64_t	 st_handoffs_bad_stack;	/* not at peers[].stack_address */
	uint64_t	 st_lookups;		/* members asked about a segment */
	uint64_t	 st_lookups_found;	/* ... one has it: forwarded */
	uint64_t	 st_lookups_unknown;	/* ... none has it: reset */
	uint64_t	 st_lookups_limited;	/* not asked: handoff.lookups */
	uint64_t	 st_lookup_drops;	/* segments while asking */
	uint64_t	 st_fe_moved;		/* another front-end has it now */
	uint64_t	 st_access_log_lines;	/* access log lines */
	uint64_t	 st_access_log_lost;	/* ... lost */
	uint64_t	 st_queued;
	uint64_t	 st_fwd_pkts;		/* client -> back-end */
	uint64_t	 st_fwd_bytes;
	uint64_t	 st_icmp_fwd;		/* errors sent on to a stack */
	uint64_t	 st_icmp_relayed;	/* ... of no flow, to the members */
	uint64_t	 st_icmp_relay_limited;	/* ... not: handoff.lookups */
	uint64_t	 st_http_400;
	uint64_t	 st_http_408;
	uint64_t	 st_http_431;
	uint64_t	 st_http_503;
	uint64_t	 st_tls_no_sni;		/* default pool: no name, ECH */
	uint64_t	 st_tls_bad;		/* reset: not TLS, malformed */
	uint64_t	 st_tls_too_big;	/* reset: over request_head_max */
	uint64_t	 st_tls_timeout;	/* reset: not whole in time */
	uint64_t	 st_tls_unavailable;	/* reset: no member left */
	/* back-end */
	uint64_t	 st_be_handoffs;
	uint64_t	 st_be_accepted;
	uint64_t	 st_be_refused;
	uint64_t	 st_be_unknown_vip;	/* refused: none of ours */
	uint64_t	 st_be_aborted;
	uint64_t	 st_be_late;		/* HANDOFFs after their CANCEL */
	uint64_t	 st_be_idle;
	uint64_t	 st_be_tw_killed;	/* the kernel's TIME_WAIT reset */
	uint64_t	 st_be_lookups;		/* LOOKUPs answered */
	uint64_t	 st_be_lookup_blind;	/* ... for segments out of window */
	uint64_t	 st_be_icmp;		/* relayed errors sent to the stack */
	uint64_t	 st_be_moved;		/* to another front-end */
	uint64_t	 st_be_idle_alive;	/* idle there, not here */
	uint64_t	 st_be_superseded;	/* ended for a newer handoff */
	uint64_t	 st_be_stack_gone;	/* the kernel had lost it */
	uint64_t	 st_injected;
	uint64_t	 st_rw_pkts;		/* stack -> client */
	uint64_t	 st_rw_bytes;
	/* control channel */
	uint64_t	 st_ctl_auth_failed;	/* handshakes refused */
	uint64_t	 st_ctl_refused_addr;	/* not from a peer's address */
	uint64_t	 st_ctl_refused_busy;	/* over the handshake caps */
	uint64_t	 st_ctl_handshake_timeout;
	uint64_t	 st_ctl_bad_frames;
	uint64_t	 st_ctl_stale;
	uint64_t	 st_ctl_not_ipv6;	/* an IPv6 frame held back */
	/* node.state_file */
	uint64_t	 st_state_adopted;	/* went on after a restart */
	uint64_t	 st_state_lost;		/* died with the last process */
};

struct hd {
	struct cfg		*hd_cfg;
	/* Set by whoever runs the node, before node_start(). */
	struct event_base	*hd_base;
	struct btcp_tun		 hd_tun_out;	/* where packets go */
	peer_dial_fn		 hd_dial;	/* NULL: TCP to the peers */
	void			*hd_dial_arg;
	int			 hd_manual_clock; /* the caller calls node_tick */
	int			 hd_tun_fd;	/* the device, if one is open */
	struct tun_info		 hd_tun;
	struct ksock		 hd_ksock;	/* the kernel stack's sockets */
	int			 hd_loss_tol;	/* lwIP's, per mille; -1: unset */
	uint32_t		 hd_tun_drops_ms; /* when they were read */

	uint32_t		 hd_now;	/* ms, the flow clock */
	struct ipaddr		 hd_kstack_addr; /* kernel stack; or 0.0.0.0 */
	struct ipaddr		 hd_kstack_addr6; /* ... IPv6; or :: */
	btcp_vip_fn		 hd_vip_input;	/* the front-end's */
	btcp_icmp_fn		 hd_icmp_input;	/* ... */
	TAILQ_HEAD(, fe_conn)	 hd_fe_young;	/* not handed off yet */
	uint32_t		 hd_fe_nyoung;
	uint32_t		 hd_fe_ncoming;	/* waiting for a member to come up */
	uint32_t		 hd_fe_nbusy;	/* ... for a busy one */
	struct event		*hd_lwip_tmr;	/* on hd_lwip_tfd */
	int			 hd_lwip_tfd;	/* a timerfd, or -1 */
	int			 hd_lwip_idle;	/* no fast timer work: slow ticks */
	struct event		*hd_lwip_after;	/* lwIP was at work */
	struct event		*hd_status_tmr;
	struct event		*hd_expire_tmr;
	struct flow_table	*hd_flows;
	struct state		*hd_state;	/* node.state_file, or NULL */
	uint64_t		 hd_boot;	/* the HELLO's boot id, 0: new */
	/* peers' boot ids by index, kept with the flows; NULL: not kept */
	uint64_t		*hd_peer_boot;
	struct tunif		*hd_lwip;
	struct peer_set		*hd_peers;
	struct sipkey		*hd_cookie;	/* cookie handshake's secret */
	struct replay		*hd_replay;	/* cookies that opened one */
	uint32_t		 hd_cookie_sent; /* ms, the last cookie sent */
	int			 hd_cookie_any;	/* ... if any was */
	/* Window shifts cookies offered before reloads changed them (a bit
	 * each), and when (ms): for a cookie's lifetime one of those may
	 * come back, whose client scales by it (fe_cookie_ack) */
	uint16_t		 hd_cookie_ws_old;
	uint32_t		 hd_cookie_ws_at[15];
	TAILQ_HEAD(, relay)	 hd_relays;
	struct pool_state	*hd_pools[CFG_MAX_POOLS]; /* fe.c's picking */
	struct health		*hd_health;
	struct admin		*hd_admin;	/* the admin socket */
	struct metrics		*hd_metrics;	/* the metrics' HTTP server */
	struct alog		*hd_alog;	/* NULL: no access log */
	/* node_reload, for the admin socket, which node.c starts */
	int			(*hd_reload)(struct hd *, char *, size_t);
	uint32_t		 hd_served;	/* connections this node serves */
	/* VIP:ports whose lwip handshake a reload took away while lwIP may
	 * still hold connections there (fe.c) */
	struct hd_vip_left {
		struct ipaddr	 vl_addr;
		uint16_t	 vl_port;
		uint32_t	 vl_checked;	/* ms, lwIP last looked at */
	}			 hd_fe_left[CFG_MAX_SERVICES];
	int			 hd_fe_nleft;
	/* fe_lookup.c's budgets: first asks, and 4-tuples that come again */
	struct budget		 hd_lookup_first, hd_lookup_again;
	struct budget		 hd_icmp_first, hd_icmp_again;
	void			*hd_lookup_seen; /* fe_lookup.c's, or NULL */
	uint32_t		 hd_fe_nlookups; /* flows in FE_LOOKUP */
	struct tcp_pcb		*hd_fe_listen[CFG_MAX_SERVICES];
	/* lwIP's listeners at its IPv4 and IPv6 (NULL: none) addresses */
	struct tcp_pcb		*hd_be_listen[HD_MAX_BE_PORTS][2];
	uint16_t		 hd_be_listen_port[HD_MAX_BE_PORTS];
	int			 hd_be_nlisten;
	/* be.c's CANCELs granted for HANDOFFs not seen (NULL: none yet) */
	struct be_tomb		*hd_be_tombs;
	uint32_t		 hd_be_ntombs;	/* added; past BE_TOMBS, a ring */
	uint32_t		 hd_be_tomb_ms;	/* the latest, port_now_ms */
	/* be.c's moves told to front-ends that were up (NULL: none yet) */
	struct be_moved		*hd_be_moves;
	uint32_t		 hd_be_nmoves;	/* added; past BE_MOVES, a ring */
	struct hd_stats		 hd_stats;
	uint8_t			*hd_rxbuf;		/* one TUN read */
	uint8_t			*hd_txbuf;		/* one built packet */
	uint8_t			*hd_relaybuf;		/* one relay read
							   (RELAY_READ) */
};

/* node.c */
int	node_start(struct hd *);
int	node_reload(struct hd *, char *, size_t);
void	node_tick(struct hd *);
void	node_stop(struct hd *);

/* stats.c */
typedef void	(*stats_fn)(void *, const char *, const char *, const char *,
		    const char *, uint64_t);
void	stats_foreach(const struct hd *, stats_fn, void *);
void	stats_log(const struct hd *);
int	stats_write(const struct hd *, const char *);

#endif

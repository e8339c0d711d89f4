/*
 * The front-end's private state, shared by fe.c (the lwip handshake and
 * everything common), fe_cookie.c (the cookie handshake, where the BTCP
 * itself plays TCP until the handoff) and fe_lookup.c (connections another
 * front-end handed off).
 */
#ifndef HANDOFFD_FE_H
#define HANDOFFD_FE_H

#include <sys/queue.h>
#include <stdint.h>

#include "flow.h"
#include "pkt.h"

struct cfg_service;
struct evbuffer;
struct event;
struct flow;
struct hd;
struct req_parser;
struct tcp_pcb;

enum fe_state {
	FE_SYN = 1,
	FE_COLLECT,
	FE_HANDOFF,
	FE_FORWARD,
	FE_LINGER,
	FE_RESPOND,
	FE_DEAD,	/* lost in a restart: its client is reset */
	FE_LOCAL,	/* relayed by lwIP to this node's server */
	FE_LOOKUP,	/* no flow here: the members are asked (fe_lookup.c) */
};

/* ... and this long to read our 4xx/5xx before we close. */
#define FE_RESPOND_TIMEOUT_MS	5000
#define FE_NO_WS		0xff
/* A flow causes at most one challenge ACK (RFC 5961) this often. */
#define FE_CHALLENGE_MS		500
/* Requests that wait at once for a member to come up (fe_wait_coming):
 * those of a restart's moment; past them, 503 as before. */
#define FE_COMING_MAX		1024
/* fe_wait_busy: requests that wait at once for a busy member (their
 * own budget: a client can make them at will), the most each may have
 * received, its tries after the first (each sends it again), and the
 * first wait, doubled at each try (1 + 2 + ... + 128: a quarter second). */
#define FE_BUSY_MAX		128
#define FE_BUSY_BYTES		8192
#define FE_BUSY_TRIES		8
#define FE_BUSY_FIRST_MS	1
/* The fewest connections a client network may always hold (fe_make_room):
 * a sixteenth of a small table would hold out an ordinary busy NAT. */
#define FE_NET_MIN		64

/* A client packet held while a HANDOFF is in flight. */
struct fe_qpkt {
	struct fe_qpkt	*q_next;
	struct pkt_meta	 q_meta;
	uint16_t	 q_len;
	uint8_t		 q_data[];
};

/* What a request waits for (fc_coming). */
enum fe_wait {
	FE_WAIT_NONE,
	FE_WAIT_COMING,		/* a member's first control connection */
	FE_WAIT_BUSY		/* a member's stack endpoint for the client */
};

/* Slow-path state of a front-end flow, from the SYN until the handoff is
 * acknowledged (or the connection is relayed locally). */
struct fe_conn {
	struct hd		*fc_hd;
	struct flow		*fc_flow;
	TAILQ_ENTRY(fe_conn)	 fc_young;	/* hd_fe_young, oldest first */
	int			 fc_is_young;
	struct tcp_pcb		*fc_synpcb;	/* lwIP's, half-open */
	struct tcp_pcb		*fc_pcb;	/* NULL until accepted */
	struct cfg		*fc_cfg;	/* fc_svc's; refs counted */
	const struct cfg_service *fc_svc;
	struct evbuffer		*fc_req;	/* every byte lwIP acked */
	struct req_parser	*fc_rp;
	struct event		*fc_timer;	/* dispatch, handoff timeout */
	struct fe_qpkt		*fc_qhead;
	struct fe_qpkt		**fc_qtail;
	uint64_t		 fc_tried;	/* pool members tried */
	uint64_t		 fc_sent;	/* health_handoff_sent()'s time */
	int			 fc_pool;	/* hd_cfg's, routed to; -1: not
						 * yet (or no longer) */
	char			*fc_key;	/* what a keyed pool looks at */
	size_t			 fc_keylen;
	int			 fc_dispatched;	/* the head went to fe_dispatch */
	int			 fc_coming;	/* waits for a member: FE_WAIT_* */
	uint64_t		 fc_busy;	/* members that answered busy */
	uint32_t		 fc_busy_ms;	/* port_now_ms() at the first */
	uint8_t			 fc_busy_seen;	/* ... which came */
	uint8_t			 fc_busy_tries;	/* fe_wait_busy's so far */
	struct event		*fc_ldial;	/* the local server's connect */
	int			 fc_headres;	/* enum req_result so far */
	int			 fc_cookie;	/* the BTCP owns the connection */
	int			 fc_fin;	/* the client's FIN came with it */
	uint32_t		 fc_withheld;	/* received, window kept shut */
	int			 fc_peer;	/* current handoff target */
	int			 fc_cancel;	/* no answer: asked to cancel */
	/* the client's SYN */
	uint32_t		 fc_irs;
	uint16_t		 fc_cmss;
	uint8_t			 fc_cws;	/* FE_NO_WS: none */
	uint8_t			 fc_csack;
	uint8_t			 fc_cts;
	uint32_t		 fc_ctsval;	/* latest TSval from the client */
	uint16_t		 fc_cwin;	/* latest window field */
	/* lwIP's SYN/ACK */
	uint8_t			 fc_synack;
	uint8_t			 fc_fws;
	uint8_t			 fc_fsack;
	uint8_t			 fc_fts;
	uint16_t		 fc_fmss;
	uint32_t		 fc_iss;
	uint32_t		 fc_ftsval;	/* latest TSval we (lwIP) sent */
	/* cookie mode: the BTCP's own TCP state */
	uint32_t		 fc_rcv_nxt;
	uint32_t		 fc_snd_nxt;
	uint32_t		 fc_snd_una;
	uint32_t		 fc_ts_off;	/* our TSvals: port_now_ms() + this
						   (lwIP's pcb's, or the cookie's) */
	const char		*fc_resp;	/* 4xx/5xx being delivered */
	uint16_t		 fc_resp_len;
	uint8_t			 fc_resp_tries;
	uint8_t			 fc_cfin;	/* our FIN acked, client's seen */
	/* the access log's, when there is one (written: FLOW_LOGGED) */
	char			*fc_alreq;	/* alog_req()'s fields */
	int64_t			 fc_t0_us;	/* the head complete */
};


void	fe_set_state(struct flow *, enum fe_state);
void	fe_alog(struct fe_conn *, const char *, int);
int	fe_make_room(struct hd *, const struct ipaddr *);
int	fe_challenge_ok(struct hd *, struct flow *);
void	fe_close(struct hd *, struct flow *, enum flow_end);
struct fe_conn *fe_conn_new(struct hd *, struct flow *,
	    const struct cfg_service *);
void	fe_queue(struct hd *, struct fe_conn *, struct pkt *);
void	fe_forward(struct hd *, struct flow *, struct pkt *);
int	fe_feed(struct fe_conn *, const void *, size_t);
int	fe_decide(struct fe_conn *, int);
void	fe_dispatch(struct fe_conn *);
int	fe_respond(struct fe_conn *, int);
void	fe_on_timer(int, short, void *);
int	fe_stack_is(const struct hd *, int, uint16_t, const struct ipaddr *,
	    const struct ipaddr *);

/* fe_lookup.c */
void	fe_lookup_free(struct hd *);
int	fe_lookup(struct hd *, struct pkt *);
int	fe_icmp_relay(struct hd *, struct pkt *, const struct pkt_icmp *);

/* fe_cookie.c */
void	fe_cookie_syn(struct hd *, const struct cfg_service *, struct pkt *);
int	fe_cookie_ack(struct hd *, const struct cfg_service *, struct pkt *);
void	fe_cookie_input(struct hd *, struct flow *, struct pkt *);
void	fe_cookie_respond(struct fe_conn *, const char *, size_t);
void	fe_cookie_reset(struct fe_conn *);
void	fe_cookie_close(struct fe_conn *);
void	fe_cookie_on_timer(struct fe_conn *);

#endif

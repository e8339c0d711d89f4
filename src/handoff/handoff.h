/*
 * The handoff protocol's two halves.
 *
 * fe.c, the front-end, owns the flows with fe_flow_ops: it watches the
 * handshake lwIP makes on a VIP (or answers it with SYN cookies,
 * fe_cookie.c), collects the request, dispatches it, and then either
 * relays locally or hands the connection off and forwards the client's
 * packets.  be.c, the back-end, owns the flows with be_flow_ops: it
 * injects a handed-off connection into its stack and rewrites what the
 * stack sends.  The BTCP reaches both through their flows' handlers and
 * the front-end's VIP handler; the control messages reach them through
 * msg.c.  Neither calls the other.
 */
#ifndef HANDOFFD_HANDOFF_H
#define HANDOFFD_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct flow_ops;
struct ctl_close;
struct ctl_handoff;
struct ctl_handoff_ack;
struct ctl_icmp;
struct ctl_lookup;
struct ctl_lookup_ack;
struct cfg_service;
struct flow;
struct hd;
struct pkt;
struct pkt_icmp;

/* flow.f_flags, shared by both roles */
#define FLOW_CLIENT_FIN	0x0001	/* the client sent FIN */
#define FLOW_CLIENT_RST	0x0002
#define FLOW_STACK_FIN	0x0004	/* the serving stack sent FIN */
#define FLOW_STACK_RST	0x0008
#define FLOW_CLOSE_SENT	0x0010	/* our CLOSE went to the peer */
#define FLOW_PEER_DONE	0x0020	/* the peer's CLOSE arrived */
#define FLOW_ASSIGNED	0x0040	/* FE: counts in member f_peer's load */
#define FLOW_SERVING	0x0080	/* BE: counts in hd_served */
/* The serving stack refused window scaling that the client and the
 * front-end agreed to: it reads the client's windows unscaled. */
#define FLOW_UNSCALED	0x0100
/* Adopted after a restart whose configuration no longer has its peer:
 * f_peer is PEER_LOCAL, and nothing is sent about it. */
#define FLOW_ORPHAN	0x0200
/* BE: the request reached the stack (the commit point) */
#define FLOW_COMMITTED	0x0400
/* BE, kernel stack: a front-end saw the client's FIN, at f_cack (and
 * another, at f_chal); the kernel has not acknowledged it yet. */
#define FLOW_FIN_WAIT	0x0800
#define FLOW_FIN_WAIT2	0x1000
/* Its access-log line is written (a back-end's when it began to linger),
 * or a stop left nothing to say of it: kept in node.state_file, so that
 * the next process writes no second one. */
#define FLOW_LOGGED	0x2000
/* BE: its CLOSE was said again to a peer back up (be_resend): a lingering
 * flow waits for a peer that is down once, not through every flap. */
#define FLOW_CLOSE_AGAIN 0x4000
/* FE: forwarded to a member gone silent (its control path cut, or the
 * node dead): kept while the client shows the connection moving; after
 * control.dead_after without, reset while the member is down, forgotten
 * once it is back (fe_on_peer_gone, fe_expire) */
#define FLOW_PEER_SILENT 0x8000
/* FE: how many FINs out of order one flow may tell its back-end of (in
 * f_qlen, which a forwarded flow does not use otherwise). */
#define FE_FIN_REPORTS	4
/* A restart's lost flow (FE_DEAD, BE_DEAD) is reset from the first client
 * segment, which names the exact sequence number; it probes the client
 * this often, FLOW_DEAD_PROBES times, then ends. */
#define FLOW_DEAD_MS	1000
#define FLOW_DEAD_PROBES 5

/* offer.c: what a front-end's SYN/ACK offers for a service */
struct fe_offer {
	uint16_t	 fo_mss;
	uint8_t		 fo_ws;		/* window shift */
	uint8_t		 fo_sack;
	uint8_t		 fo_ts;
};

void	 fe_offer(const struct cfg *, const struct cfg_service *,
	    struct fe_offer *);

/* fe.c */
extern const struct flow_ops fe_flow_ops;
int	 fe_init(struct hd *);
int	 fe_reload(struct hd *, const struct cfg *);
void	 fe_shutdown(struct hd *);
void	 fe_on_handoff_ack(struct hd *, int, const struct ctl_handoff_ack *);
void	 fe_on_close(struct hd *, int, struct flow *, const struct ctl_close *);
void	 fe_on_peer_down(struct hd *, int);
void	 fe_on_peer_up(struct hd *);
void	 fe_on_peer_gone(struct hd *, int, int);
void	 fe_resend(struct hd *, struct flow *);
void	 fe_on_lookup_ack(struct hd *, int, const struct ctl_lookup_ack *);
/* fe_cookie.c */
void	 fe_cookie_tick(struct hd *);

/* be.c */
extern const struct flow_ops be_flow_ops;
void	 be_shutdown(struct hd *);
void	 be_on_handoff(struct hd *, int, const struct ctl_handoff *);
void	 be_on_close(struct hd *, int, struct flow *, const struct ctl_close *);
void	 be_on_abort(struct hd *, int, const struct ctl_close *);
void	 be_on_cancel(struct hd *, int, const struct ctl_close *);
void	 be_resend(struct hd *, struct flow *);
void	 be_resend_moves(struct hd *, int);
void	 be_on_lookup(struct hd *, int, const struct ctl_lookup *);
void	 be_on_icmp(struct hd *, int, const struct ctl_icmp *);
int	 be_icmp(struct hd *, struct pkt *, const struct pkt_icmp *);

/* req.c: just enough HTTP to find the end of a request head; for a TLS
 * service the head is the ClientHello (hello.c). */
enum req_result {
	REQ_MORE,		/* the head is not complete yet */
	REQ_DONE,		/* complete: req_head_len() bytes */
	REQ_BAD,		/* not HTTP (not TLS): answer 400 */
	REQ_NOMEM,		/* out of memory */
	REQ_BIG,		/* cannot fit its bound: answer 431 */
};

/* http-parser's limit on a head, which it reports as an error (80 KB by
 * default, HTTP_MAX_HEADER_SIZE), set (it is global) by req.c and route.c,
 * each before it parses: above request_head_max's largest (1m), which the
 * front-end enforces itself, answering 431. */
#define REQ_PARSER_HEAD_MAX	(2u * 1024 * 1024)

struct hello;
struct req_parser;
struct req_parser *req_new(void);
struct req_parser *req_new_tls(size_t);
void	 req_free(struct req_parser *);
enum req_result req_feed(struct req_parser *, const char *, size_t);
size_t	 req_head_len(const struct req_parser *);
const struct hello *req_hello(const struct req_parser *);

#endif

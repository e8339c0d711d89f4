/*
 * A byte-stream relay between a TCP connection owned by lwIP and a socket
 * to a web server: the front-end's local case in lwip handshake mode, and a
 * back-end whose stack is lwIP.
 *
 * relay.c owns the lwIP pcb and the server socket from relay_new() on, with
 * backpressure both ways (lwIP's window opens only as the server takes the
 * bytes; the server is read only while lwIP has send buffer) and half-close
 * in both directions.  It frees itself after calling the done callback once.
 * With handoff.proxy_protocol, a PROXY header naming the client and the VIP
 * goes to the server first.
 */
#ifndef HANDOFFD_RELAY_H
#define HANDOFFD_RELAY_H

#include <stdint.h>

#include "addr.h"

/* The most a relay reads from its server at once, into the node's
 * hd_relaybuf (node.c allocates it). */
#define RELAY_READ	(64 * 1024)

struct evbuffer;
struct hd;
struct relay;
struct tcp_pcb;
struct cfg_endpoint;

enum relay_end {
	RELAY_DONE,		/* both directions closed cleanly */
	RELAY_RESET,		/* either side reset or failed */
	RELAY_IDLE,		/* silent for handoff.idle: both reset */
};

/* What the done callback learns of the connection. */
struct relay_summary {
	struct ipaddr	 rs_caddr;	/* ports in network order */
	uint16_t	 rs_cport;
	struct ipaddr	 rs_vaddr;
	uint16_t	 rs_vport;
	uint32_t	 rs_ms;		/* from relay_new() */
	uint64_t	 rs_sent;	/* the server's bytes into lwIP */
	uint64_t	 rs_tag;	/* relay_tag()'s, 0 unless set */
	uint8_t		 rs_client_fin;	/* lwIP took the client's FIN */
	uint8_t		 rs_client_rst;	/* ... or its reset */
};

typedef void	(*relay_done_cb)(void *, enum relay_end,
		    const struct relay_summary *);

struct relay	*relay_new(struct hd *, struct tcp_pcb *,
		    const struct cfg_endpoint *, int, const struct ipaddr *,
		    uint16_t, struct evbuffer *, relay_done_cb, void *);
void		 relay_abort(struct relay *);
void		 relay_on_connect(struct relay *, void (*)(void *));
void		 relay_tag(struct relay *, uint64_t);
void		 relay_client_eof(struct relay *);
int		 relay_client_fin(const struct relay *);
const struct tcp_pcb *relay_pcb(const struct relay *);
void		 relay_expire(struct hd *, uint32_t, uint32_t);

#endif

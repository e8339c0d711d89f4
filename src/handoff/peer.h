/*
 * Control connections to the configured peers.
 *
 * peer.c owns a listener on node.control and, for every peer, the
 * connection we dial (from node.control's address, re-dialled with
 * exponential backoff) and the one the peer dialled to us.  The listener
 * takes connections from configured peers' addresses only (anything else
 * is closed before a byte is read), and keeps at most
 * control.handshake_max unauthenticated ones, handshake_max_per_address
 * from one address, closing the oldest to make room.
 * Every connection is TLS 1.3 with a pre-shared key per ordered pair of
 * nodes (psk.h), which names the peer; its first frame each way is a
 * HELLO with the sender's id, which must agree.  TLS handshake and HELLO
 * must be done within control.handshake_timeout, and before the HELLO
 * nothing larger than a HELLO is read.  Heartbeats (LOAD) flow every
 * control.heartbeat; a connection silent for control.dead_after is
 * closed.  A malformed or oversized frame closes its connection with a log
 * line and nothing else.  Messages to PEER_LOCAL are queued and delivered
 * on the next turn of the loop, never from inside the sender.
 *
 * After a reload (peer_reload), a peer left out of the configuration is
 * retired: it keeps its place and its connections while the caller's
 * ph_holds says flows need them, but is neither dialled nor accepted
 * again; a new one is dialled; one whose control address changed is
 * dialled there.
 *
 * peer.c is a transport: it knows nothing of flows, and hands every
 * decoded message about them to the handlers its caller gave it
 * (msg.c routes them to the front-end or the back-end).
 */
#ifndef HANDOFFD_PEER_H
#define HANDOFFD_PEER_H

#include <stdint.h>

#include "conf.h"

/* The "peer" that stands for this node: a handoff to its own stack in
 * cookie mode goes through the same messages, delivered in-process. */
#define PEER_LOCAL	CFG_MAX_PEERS

struct bufferevent;
struct ctl_handoff;
struct ctl_msg;
struct hd;
struct sockaddr_in;

/* Where peer.c delivers what it receives: every message about flows
 * (HANDOFF, HANDOFF_ACK, CLOSE), from a peer or from this node itself; the
 * news that a peer's control channel is down; and that the peer is gone,
 * with whatever state it held: down for control.dead_after, or back as a
 * new process (its HELLO's boot id changed). */
struct peer_handlers {
	void	(*ph_message)(struct hd *, int, const struct ctl_msg *);
	void	(*ph_down)(struct hd *, int);
	/* ... gone: its int is 1 when its connections are known lost (back
	 * as a new process, or its node refuses the control connection: its
	 * daemon is not running), 0 when it stayed silent (which a cut
	 * control path alone can cause) */
	void	(*ph_gone)(struct hd *, int, int);
	/* Whether anything still needs the peer's channel: a peer a reload
	 * removed keeps it until nothing does. */
	int	(*ph_holds)(struct hd *, int);
	/* The peer is up after being down (or at this node's start): what
	 * the link may have lost, said again. */
	void	(*ph_up)(struct hd *, int);
};

/* The control transport, when it is not TCP: a connected bufferevent to
 * peer idx (a test joins two nodes in one process this way), whose other
 * end the peer gets through peer_accept_bev(), with the dialling node's
 * control address.  TLS runs over it as over TCP; a bufferevent pair must
 * defer its callbacks (BEV_OPT_DEFER_CALLBACKS), or each side's handshake
 * would run inside the other's. */
typedef struct bufferevent *(*peer_dial_fn)(void *, struct hd *, int);

int	 peer_init(struct hd *, const struct peer_handlers *);
void	 peer_accept_bev(struct hd *, struct bufferevent *,
	    const struct sockaddr_in *);
void	 peer_shutdown(struct hd *);
int	 peer_reload(struct hd *);
int	 peer_is_up(const struct hd *, int);
int	 peer_speaks_lookup(struct hd *, int, int);
int	 peer_speaks_ipv6(struct hd *, int, int);
int	 peer_speaks_icmp(struct hd *, int, int);
int	 peer_speaks_busy(struct hd *, int);
int	 peer_gone(const struct hd *, int);
uint32_t peer_coming(const struct hd *, int, uint32_t);
int	 peer_send(struct hd *, int, const struct ctl_msg *);
int	 peer_send_handoff(struct hd *, int, const struct ctl_handoff *,
	    const uint8_t *);
uint32_t peer_load(const struct hd *, int);
const char *peer_id(const struct hd *, int);

#endif

/*
 * Control connections to the configured peers.
 *
 * peer.c owns a listener on node.control and, for every peer, the
 * connection we dial (re-dialled with exponential backoff) and the one the
 * peer dialled to us.  A connection carries nothing but HELLO and AUTH until
 * the peer has proved it holds the pre-shared key: each side sends a fresh
 * nonce, and answers the other's with HMAC-SHA256(key, label, the other's
 * nonce, its own nonce, its id, the other's id).  Heartbeats (LOAD) flow
 * every control.heartbeat; a connection silent for control.dead_after is
 * closed.  A malformed or oversized frame closes its connection with a log
 * line and nothing else.  Messages to PEER_LOCAL are queued and delivered
 * on the next turn of the loop, never from inside the sender.
 */
#ifndef HANDOFFD_PEER_H
#define HANDOFFD_PEER_H

#include <stdint.h>

#include "conf.h"

/* The "peer" that stands for this node: a handoff to its own stack in
 * cookie mode goes through the same messages, delivered in-process. */
#define PEER_LOCAL	CFG_MAX_PEERS

struct hd;
struct ctl_msg;
struct ctl_handoff;

int	 peer_init(struct hd *);
void	 peer_shutdown(struct hd *);
int	 peer_is_up(const struct hd *, int);
int	 peer_send(struct hd *, int, const struct ctl_msg *);
int	 peer_send_handoff(struct hd *, int, const struct ctl_handoff *,
	    const uint8_t *);
uint32_t peer_load(const struct hd *, int);
const char *peer_id(const struct hd *, int);

#endif

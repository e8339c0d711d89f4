/*
 * The control messages about flows, routed to the role they concern:
 * HANDOFF to the back-end, HANDOFF_ACK to the front-end, CLOSE to the
 * owner of the flow it names (or, for an ABORT or a CANCEL that names none
 * yet, to the back-end, which finds the flow by the client's endpoint).  A peer's
 * channel going down concerns the front-end's handoffs in flight.
 *
 * msg.c owns nothing; msg_handlers is what node.c gives peer.c.
 */
#ifndef HANDOFFD_MSG_H
#define HANDOFFD_MSG_H

#include "handoff/peer.h"

extern const struct peer_handlers msg_handlers;

int	msg_peer_needed(struct hd *, int);

#endif

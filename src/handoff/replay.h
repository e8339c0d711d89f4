/*
 * The SYN cookies that opened a connection, until they expire.  A cookie
 * proves that a client completed a handshake, not that the connection is
 * new: a copy of its ACK and request, replayed once the connection is
 * over, would open it again and run the request a second time.  So a
 * cookie opens one connection.
 *
 * replay.c owns two generations of a fixed-size set of cookie ids
 * (cookie_id), one per cookie period: a cookie is good in the period it
 * was made and the next, so one used in period p can come back until p+1
 * is over, and the set of p-1 is cleared when p+1 begins.  Each generation
 * holds at most the number of ids it was made for; past that, a new
 * cookie connection is refused until the period ends (it fails closed:
 * never a replay let in).
 *
 * So that one network cannot fill a generation and shut everyone out,
 * each cookie also names its client's network (cookie_source: one of
 * REPLAY_SOURCES keyed buckets), and once a generation is half full a
 * bucket that holds a sixteenth of it opens nothing more in that period:
 * one busy network alone (a benchmark, a large NAT) is never limited
 * while there is room, and filling the whole set takes nine networks'
 * buckets (one its first half, eight a sixteenth each).
 */
#ifndef HANDOFFD_REPLAY_H
#define HANDOFFD_REPLAY_H

#include <stdint.h>

enum replay_verdict {
	REPLAY_NEW,		/* not seen: may open a connection */
	REPLAY_SEEN,		/* opened one already */
	REPLAY_FULL,		/* no room to remember it */
	REPLAY_BUSY,		/* its network's share is used up */
};

#define REPLAY_SOURCES	1024

struct replay;

struct replay		*replay_new(uint32_t);
void			 replay_free(struct replay *);
enum replay_verdict	 replay_check(struct replay *, uint64_t, uint32_t,
			    uint16_t);
void			 replay_add(struct replay *, uint64_t, uint32_t,
			    uint16_t);

#endif

/*
 * SYN cookies for the cookie handshake mode.  cookie.c owns nothing: cookies
 * are made with the node's secret key (sipkey.h) and checked without any
 * state per SYN.
 */
#ifndef HANDOFFD_COOKIE_H
#define HANDOFFD_COOKIE_H

#include <stdint.h>
#include <stdlib.h>

#include "addr.h"

/* What a client's SYN offered, as far as a cookie remembers it. */
struct cookie_opts {
	uint16_t	 co_mss;	/* rounded down to the cookie's table */
	uint8_t		 co_has_ws;
	uint8_t		 co_ws;
	uint8_t		 co_sack;
	uint8_t		 co_ts;
	uint8_t		 co_fws;	/* ours: in the MAC, not carried */
	uint32_t	 co_ts_off;	/* ours: our TSvals' offset (H') */
};

/* A cookie is good in the 8.192-second period of the millisecond clock it
 * was made in and the next: long enough for a client's ACK, or its
 * request when the ACK is lost, and its retransmissions; short, since a
 * front-end remembers every cookie that opened a connection while it is
 * good (replay.h). */
#define COOKIE_PERIOD_SHIFT	13
#define COOKIE_LIFETIME_MS	(2u << COOKIE_PERIOD_SHIFT)

struct sipkey;

int		 cookie_make(const struct sipkey *,
		    const struct ipaddr *, const struct ipaddr *,
		    uint16_t, uint16_t, uint32_t, uint32_t,
		    const struct cookie_opts *, uint32_t *, uint32_t *);
uint32_t	 cookie_tsval(uint32_t, const struct cookie_opts *);
int		 cookie_check(const struct sipkey *,
		    const struct ipaddr *, const struct ipaddr *,
		    uint16_t, uint16_t, uint32_t, uint32_t, uint32_t,
		    const uint32_t *, const uint8_t *, int,
		    struct cookie_opts *);
int		 cookie_id(const struct sipkey *,
		    const struct ipaddr *, const struct ipaddr *,
		    uint16_t, uint16_t, uint32_t, uint64_t *);
int		 cookie_source(const struct sipkey *,
		    const struct ipaddr *, uint32_t *);
uint16_t	 cookie_period(uint32_t);

#endif

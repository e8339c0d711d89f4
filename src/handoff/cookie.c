/*
 * SYN cookies: the front-end's ISN in cookie handshake mode carries all it
 * needs to remember about a SYN, so that a SYN costs no memory and only a
 * valid ACK creates state.
 *
 * opts packs what the client offered: its MSS (2 bits, rounded down to a
 * table), window shift (4 bits, 15: none), SACK-permitted and timestamps.
 * Without timestamps (as Linux does when it cannot use them):
 *   ISN = (H & 0xffffff00) | opts
 * With them, opts rides in the low byte of our TSval, which the client
 * echoes in its TSecr, and the whole ISN is MAC:
 *   ISN = H, TSval = (clock + H') | opts (cookie_tsval)
 *   H.H' = SipHash-2-4(key; client, VIP, ports, client ISN, t, opts, fws,
 *                      form)
 * H', the MAC's other half, offsets the connection's timestamp clock so
 * that no TSval shows the clock (RFC 7323 5.4), not even its low bits.
 * fws, the window shift the SYN/ACK offered, is hashed but not carried:
 * it is the configuration's, which a reload may change while the client
 * still scales by the old one (cookie_check tries the shifts it is given).
 * An attacker who cannot see the SYN/ACK guesses 24 bits, or 32 with
 * timestamps; the option bits are hashed, so changing them is as hard.
 * t counts 8.192-second periods of the millisecond clock, 16 bits of it,
 * so that a cookie survives the clock's 32-bit wrap; a cookie is good in
 * its period and the next.  A MAC that cannot be computed makes no cookie
 * and passes none.
 */
#include <stdint.h>
#include <string.h>

#include "pkt.h"
#include "sipkey.h"
#include "handoff/cookie.h"

#define COOKIE_WS_NONE		15
#define COOKIE_TS		0x80	/* opts: timestamps */

/* Where the options travel; or, for cookie_id, none. */
enum cookie_form {
	COOKIE_IN_ISN,
	COOKIE_IN_TSVAL,
	COOKIE_ID,
	COOKIE_SOURCE,
};

static const uint16_t cookie_mss[] = { 536, 1220, 1440, 1460 };

/* A SYN flood runs through here: no allocation, one SipHash, the first 8
 * bytes of which go to h64 if not NULL, and the first 4 to h.  Returns -1
 * if the MAC cannot be computed. */
static int
cookie_mac(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint32_t t, uint8_t opts,
    uint8_t fws, enum cookie_form form, uint32_t *h, uint64_t *h64)
{
	uint8_t		 msg[47], out[SIPKEY_OUT];

	addr_to16(saddr, msg);
	addr_to16(daddr, msg + 16);
	memcpy(msg + 32, &sport, 2);
	memcpy(msg + 34, &dport, 2);
	pkt_put32(msg + 36, cisn);
	pkt_put32(msg + 40, t & 0xffff);
	msg[44] = opts;
	msg[45] = (uint8_t)form;
	msg[46] = fws;
	if (sipkey_hash(k, msg, sizeof(msg), out) == -1)
		return -1;
	*h = pkt_get32(out);
	if (h64 != NULL)
		*h64 = (uint64_t)pkt_get32(out) << 32 | pkt_get32(out + 4);
	return 0;
}

static int
cookie_hash(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint32_t t, uint8_t opts,
    uint8_t fws, enum cookie_form form, uint32_t *h)
{
	return cookie_mac(k, saddr, daddr, sport, dport, cisn, t, opts, fws,
	    form, h, NULL);
}

/* The period a cookie made at now_ms is of, as cookies count them. */
uint16_t
cookie_period(uint32_t now_ms)
{
	return (uint16_t)(now_ms >> COOKIE_PERIOD_SHIFT);
}

/* The id of the connection a cookie opens (replay.h): a keyed hash of its
 * endpoints and the client's ISN.  -1 if it cannot be computed. */
int
cookie_id(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint64_t *id)
{
	uint32_t	 h;

	return cookie_mac(k, saddr, daddr, sport, dport, cisn, 0, 0, 0,
	    COOKIE_ID, &h, id);
}

/* Which of REPLAY_SOURCES a client's network is (replay.h): a keyed hash
 * of its /24 (IPv4) or /48 (IPv6), so that nobody aims at another's.  -1
 * if it cannot be computed. */
int
cookie_source(const struct sipkey *k, const struct ipaddr *saddr,
    uint32_t *src)
{
	struct ipaddr	 net = *saddr, none;

	memset(&none, 0, sizeof(none));
	addr_client_net(&net);
	return cookie_hash(k, &net, &none, 0, 0, 0, 0, 0, 0, COOKIE_SOURCE,
	    src);
}

static uint8_t
cookie_pack(const struct cookie_opts *o)
{
	uint8_t	 idx = 0, i;

	for (i = 0; i < sizeof(cookie_mss) / sizeof(cookie_mss[0]); i++)
		if (o->co_mss >= cookie_mss[i])
			idx = i;
	return (uint8_t)(idx | (o->co_has_ws ? (o->co_ws > 14 ? 14 :
	    o->co_ws) : COOKIE_WS_NONE) << 2 | (o->co_sack ? 0x40 : 0) |
	    (o->co_ts ? COOKIE_TS : 0));
}

static void
cookie_unpack(uint8_t b, struct cookie_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->co_mss = cookie_mss[b & 3];
	o->co_ws = (b >> 2) & 15;
	o->co_has_ws = o->co_ws != COOKIE_WS_NONE;
	if (!o->co_has_ws)
		o->co_ws = 0;
	o->co_sack = (b & 0x40) != 0;
	o->co_ts = (b & COOKIE_TS) != 0;
}

/* The shift a cookie's MAC covers: none is offered to a client that
 * offers none. */
static uint8_t
cookie_fws(uint8_t opts, uint8_t fws)
{
	return ((opts >> 2) & 15) == COOKIE_WS_NONE ? 0 : fws;
}

/*
 * The ISN for a SYN (addresses and ports in network order), and with
 * timestamps (o->co_ts) H', the offset of the connection's timestamp
 * clock (*ts_off); o->co_fws is the window shift the SYN/ACK offers.
 * Returns -1, and no cookie, when the MAC fails.
 */
int
cookie_make(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint32_t now_ms,
    const struct cookie_opts *o, uint32_t *isn, uint32_t *ts_off)
{
	uint8_t		 opts = cookie_pack(o);
	uint8_t		 fws = cookie_fws(opts, o->co_fws);
	uint32_t	 h;
	uint64_t	 h64;

	if (o->co_ts) {
		if (cookie_mac(k, saddr, daddr, sport, dport, cisn,
		    now_ms >> COOKIE_PERIOD_SHIFT, opts, fws, COOKIE_IN_TSVAL,
		    &h, &h64) == -1)
			return -1;
		*isn = h;
		*ts_off = (uint32_t)h64;
		return 0;
	}
	if (cookie_hash(k, saddr, daddr, sport, dport, cisn,
	    now_ms >> COOKIE_PERIOD_SHIFT, opts, fws, COOKIE_IN_ISN, &h) == -1)
		return -1;
	*isn = (h & 0xffffff00) | opts;
	return 0;
}

/* The SYN/ACK's TSval for a cookie made with timestamps, with clock the
 * connection's timestamp clock now: a clock still, never behind it (the
 * byte above), with the options in its low byte. */
uint32_t
cookie_tsval(uint32_t clock, const struct cookie_opts *o)
{
	return (((clock >> 8) + 1) << 8) | cookie_pack(o);
}

/* Whether h of this period or the last one, made with one of the nfws
 * shifts, is the cookie; if so, o is what it says. */
static int
cookie_match(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint32_t isn,
    uint32_t now_ms, uint8_t opts, const uint8_t *fws, int nfws,
    enum cookie_form form, struct cookie_opts *o)
{
	uint32_t	 t = now_ms >> COOKIE_PERIOD_SHIFT, h, mask;
	uint64_t	 h64;
	uint8_t		 f;
	int		 age, i;

	mask = form == COOKIE_IN_TSVAL ? 0xffffffff : 0xffffff00;
	for (i = 0; i < nfws; i++) {
		f = cookie_fws(opts, fws[i]);
		/* Without window scaling every shift is the same MAC. */
		if (i > 0 && f == cookie_fws(opts, fws[0]))
			continue;
		for (age = 0; age < 2; age++)
			if (cookie_mac(k, saddr, daddr, sport, dport, cisn,
			    t - age, opts, f, form, &h, &h64) == 0 &&
			    ((isn ^ h) & mask) == 0) {
				cookie_unpack(opts, o);
				o->co_fws = f;
				if (o->co_ts)
					o->co_ts_off = (uint32_t)h64;
				return 1;
			}
	}
	return 0;
}

/*
 * Checks the ISN an ACK acknowledges against its 4-tuple and the client's
 * ISN, and the TSecr it echoes (NULL: it has none); fws lists the nfws
 * window shifts its SYN/ACK may have offered.  Returns 0 and what the
 * client's SYN offered, with the shift that was offered and, with
 * timestamps, H' (the connection's timestamp offset, unmasked); or -1.
 */
int
cookie_check(const struct sipkey *k, const struct ipaddr *saddr,
    const struct ipaddr *daddr,
    uint16_t sport, uint16_t dport, uint32_t cisn, uint32_t isn,
    uint32_t now_ms, const uint32_t *tsecr, const uint8_t *fws, int nfws,
    struct cookie_opts *o)
{
	uint8_t	 opts;

	if (tsecr != NULL && (*tsecr & COOKIE_TS) &&
	    cookie_match(k, saddr, daddr, sport, dport, cisn, isn, now_ms,
	    (uint8_t)*tsecr, fws, nfws, COOKIE_IN_TSVAL, o))
		return 0;
	/* Options in the ISN never say timestamps: those ride in TSval. */
	opts = (uint8_t)isn;
	if (!(opts & COOKIE_TS) && cookie_match(k, saddr, daddr, sport,
	    dport, cisn, isn, now_ms, opts, fws, nfws, COOKIE_IN_ISN, o))
		return 0;
	return -1;
}

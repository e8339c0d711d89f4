/*
 * The control protocol's codec: versioned, length-prefixed binary frames in
 * network byte order.  ctl.c owns no state: it turns bytes into a struct
 * ctl_msg and back, checking every length before reading, and refusing any
 * frame that is not exactly the size its type says.
 *
 * Frame: "HD" magic, version, type, payload length (32 bits), payload.
 * Version 2 frames carry IPv4 addresses in 4 bytes; a frame that names an
 * IPv6 address says version 3 and carries every address in 16 (an IPv4
 * one never: each address has one encoding).  A node of an older build
 * refuses version 3, and only IPv6 flows use it.
 * Frames travel inside TLS (psk.h), which authenticates, protects and
 * orders them; version 1 carried them in clear with a home-made HMAC
 * handshake, and is not spoken any more.
 */
#ifndef HANDOFFD_CTL_H
#define HANDOFFD_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define CTL_VERSION	2
#define CTL_VERSION_ADDR16 3	/* ... with 16-byte addresses */
#define CTL_HDR_LEN	8
#define CTL_ID_MAX	31
/* The largest HELLO: before it, nothing larger is read. */
#define CTL_HELLO_MAX	(CTL_HDR_LEN + 1 + CTL_ID_MAX + 8)

enum ctl_type {
	CTL_HELLO = 1,		/* the sender's node id, first on a connection */
	CTL_HANDOFF,		/* front-end -> back-end: take this flow */
	CTL_HANDOFF_ACK,	/* back-end -> front-end: taken, or why not */
	CTL_CLOSE,		/* either way: this flow is over */
	CTL_LOAD,		/* heartbeat with the sender's load */
	CTL_LOOKUP,		/* front-end -> member: do you serve this
				   client's connection? */
	CTL_LOOKUP_ACK,		/* member -> front-end: how, or why not */
	CTL_ICMP,		/* front-end -> member: an ICMP error about a
				   connection not handed off here */
	CTL_TYPE_MAX
};

/* HANDOFF_ACK statuses. */
enum ctl_status {
	CTL_OK = 0,
	CTL_REFUSED,		/* nothing listens: the stack answered RST */
	CTL_NO_RESOURCES,	/* flow table full or out of memory */
	CTL_STACK_TIMEOUT,	/* the stack never answered the SYN */
	CTL_BAD_HANDOFF,	/* parameters this node cannot honour */
	CTL_CANCELLED,		/* cancelled before the commit point */
	CTL_BUSY,		/* the stack endpoint for this client is
				   another connection's: try again soon
				   (only to peers of PSK_CAP_BUSY) */
	CTL_STATUS_MAX
};

/* CLOSE reasons. */
enum ctl_reason {
	CTL_CLOSE_DONE = 1,	/* both directions finished */
	CTL_CLOSE_RST,		/* a reset was seen */
	CTL_CLOSE_IDLE,		/* expired */
	CTL_CLOSE_ABORT,	/* the front-end gave up on this handoff */
	CTL_CLOSE_FIN,		/* the client's FIN was seen (fin_seq) */
	CTL_CLOSE_CANCEL,	/* the front-end had no answer: cancel if you
				   can, and say whether (HANDOFF_ACK) */
	CTL_CLOSE_MOVED,	/* another front-end forwards it now */
	CTL_CLOSE_MAX
};

/* LOOKUP_ACK statuses. */
enum ctl_lookup_status {
	CTL_LK_FOUND = 0,	/* served here: the record follows */
	CTL_LK_UNKNOWN,		/* no such connection here */
	CTL_LK_BUSY,		/* one being handed off, or the segment that
				   asked does not fit it: ask again later */
	CTL_LK_MAX
};

/* LOOKUP flags: the segment that asks. */
#define CTL_LK_RST	0x01	/* a reset: its number must be exact */

/* LOOKUP_ACK flags: where the connection is. */
#define CTL_LK_LINGER	0x01	/* over, its last packets still rewritten */
#define CTL_LK_UNSCALED	0x02	/* the stack reads the client's windows
				   unscaled (FLOW_UNSCALED) */
#define CTL_LK_CLIENT_FIN 0x04	/* the client has sent its FIN */

/* HANDOFF option flags: what the front-end's SYN/ACK agreed to. */
#define CTL_OPT_WS	0x01
#define CTL_OPT_SACK	0x02
#define CTL_OPT_TS	0x04
#define CTL_OPT_FIN	0x08	/* the client's FIN follows the data */

struct ctl_hello {
	char		 h_id[CTL_ID_MAX + 1];
	uint64_t	 h_boot;	/* random, new each time the sender starts */
};

struct ctl_handoff {
	uint64_t	 ho_flow;	/* the front-end's handle */
	struct ipaddr	 ho_caddr;	/* client */
	uint16_t	 ho_cport;	/* network order */
	struct ipaddr	 ho_vaddr;	/* VIP */
	uint16_t	 ho_vport;	/* network order */
	uint32_t	 ho_irs;	/* client's ISN */
	uint32_t	 ho_iss;	/* front-end's ISN */
	uint16_t	 ho_cmss;	/* client's MSS */
	uint8_t		 ho_cws;	/* client's window shift */
	uint8_t		 ho_opts;	/* CTL_OPT_* */
	uint16_t	 ho_cwin;	/* client's last window field */
	uint8_t		 ho_fws;	/* front-end's window shift */
	uint16_t	 ho_fmss;	/* front-end's MSS */
	uint32_t	 ho_ctsval;	/* client's latest TSval */
	uint32_t	 ho_ftsval;	/* last TSval the front-end sent */
	const uint8_t	*ho_data;	/* request bytes, into the frame */
	uint32_t	 ho_datalen;
};

struct ctl_handoff_ack {
	uint64_t	 ha_flow;	/* the front-end's handle */
	uint64_t	 ha_bflow;	/* the back-end's handle */
	uint8_t		 ha_status;	/* enum ctl_status */
	uint8_t		 ha_ws;		/* back-end stack's window shift */
	uint16_t	 ha_mss;
	uint32_t	 ha_iss;	/* back-end stack's ISN */
	uint32_t	 ha_ts_delta;	/* added to the stack's TSval */
	struct ipaddr	 ha_saddr;	/* stack endpoint */
	uint16_t	 ha_sport;
	uint8_t		 ha_opts;	/* CTL_OPT_WS: the stack agreed to
					 * window scaling */
};

/* A CLOSE names the flow by the receiver's handle when the sender knows
 * it, and always by the sender's handle and the client's endpoint, so that
 * an ABORT reaches a back-end that never answered. */
struct ctl_close {
	uint64_t	 cl_flow;	/* the receiver's handle, 0: unknown */
	uint64_t	 cl_sflow;	/* the sender's handle */
	uint8_t		 cl_reason;	/* enum ctl_reason */
	uint32_t	 cl_seq;	/* CTL_CLOSE_FIN: the FIN's sequence */
	struct ipaddr	 cl_caddr;	/* client */
	uint16_t	 cl_cport;	/* network order */
	uint16_t	 cl_vport;	/* the VIP's port, network order */
};

/* A client segment for a VIP that names no connection here: each member
 * is asked whether the connection is its own (another front-end handed it
 * off).  The segment's numbers let the member judge it as its stack
 * would, so that a blind one moves nothing. */
struct ctl_lookup {
	uint64_t	 lk_flow;	/* the asker's handle */
	struct ipaddr	 lk_caddr;	/* client */
	uint16_t	 lk_cport;
	struct ipaddr	 lk_vaddr;	/* VIP */
	uint16_t	 lk_vport;
	uint32_t	 lk_seq;	/* the segment's sequence number */
	uint32_t	 lk_ack;	/* ... and acknowledgment */
	uint8_t		 lk_flags;	/* CTL_LK_RST */
};

/* Everything a front-end needs to forward the connection, as the member
 * knows it (DESIGN.md, several front-ends). */
struct ctl_lookup_ack {
	uint64_t	 la_flow;	/* the asker's handle */
	uint64_t	 la_bflow;	/* the member's handle */
	uint8_t		 la_status;	/* enum ctl_lookup_status */
	uint8_t		 la_flags;	/* CTL_LK_* */
	uint8_t		 la_ws;		/* the stack's window shift */
	uint8_t		 la_cws;	/* the client's */
	uint32_t	 la_irs;	/* the client's ISN */
	uint32_t	 la_delta;	/* ISS_F - ISS_B */
	uint32_t	 la_ts_delta;	/* added to the stack's TSval */
	uint32_t	 la_cnxt;	/* the client's next sequence number, as
					   the stack acknowledged it */
	uint32_t	 la_snxt;	/* the stack's furthest, client's space */
	struct ipaddr	 la_saddr;	/* stack endpoint */
	uint16_t	 la_sport;
};

/* An ICMP error (fragmentation needed, packet too big) that reached a
 * front-end with no connection for the segment it quotes, as it came, cut
 * after the quoted TCP header's first 8 bytes, its outer length mended:
 * the member that serves the connection sends it on to its stack. */
#define CTL_ICMP_MIN	(20 + 8 + 20 + 8)
#define CTL_ICMP_MAX	(60 + 8 + 60 + 8)
struct ctl_icmp {
	const uint8_t	*ic_pkt;	/* into the frame */
	uint16_t	 ic_len;
};

struct ctl_load {
	uint32_t	 ld_flows;	/* connections it serves */
	uint32_t	 ld_capacity;	/* flow table size */
};

struct ctl_msg {
	uint8_t		 m_type;
	union {
		struct ctl_hello	 hello;
		struct ctl_handoff	 handoff;
		struct ctl_handoff_ack	 ack;
		struct ctl_close	 close;
		struct ctl_load		 load;
		struct ctl_lookup	 lookup;
		struct ctl_lookup_ack	 lack;
		struct ctl_icmp		 icmp;
	} m_u;
};

int	 ctl_decode(const uint8_t *, size_t, size_t, struct ctl_msg *,
	    size_t *, const char **);
size_t	 ctl_encode(uint8_t *, size_t, const struct ctl_msg *);
size_t	 ctl_encode_handoff_head(uint8_t *, size_t, const struct ctl_handoff *);
const char *ctl_type_name(int);
const char *ctl_status_name(int);
const char *ctl_reason_name(int);
const char *ctl_lookup_status_name(int);

/* The most a HANDOFF carries before its data (with IPv6 addresses). */
#define CTL_HANDOFF_FIXED	74
#define CTL_FRAME_MIN_MAX	4096	/* no frame_max may be smaller */

#endif

/*
 * lwIP's network interfaces on the TUN link: one netif for the stack
 * addresses (IPv4, and IPv6 if the node has one) and one per VIP, all
 * sending through one output callback.
 *
 * tunif.c owns the netifs and a scratch buffer: each packet lwIP sends is
 * copied there whole and handed to the callback, which may rewrite it in
 * place (lwIP keeps its own copy for retransmission).  The callback must
 * not call back into lwIP: it runs inside lwIP.
 *
 * When the owner's TUN device takes offloads (tunif_gso), lwIP's segments
 * of one connection that follow each other are held and joined into a
 * super-packet the kernel cuts back into those segments (GSO): one write
 * for up to 64 KB instead of one per segment.  Anything else lwIP sends
 * goes out after what is held, so the order on the wire is lwIP's.
 *
 * lwIP numbers every IPv4 packet from one counter; tunif gives each
 * destination its own (tunif_ipid).
 *
 * The after callback tells the owner that lwIP has been at work: it must
 * call tunif_flush() soon, outside lwIP, and look at lwIP's timers again
 * (a packet may have started a connection).
 */
#ifndef HANDOFFD_TUNIF_H
#define HANDOFFD_TUNIF_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "lwip/netif.h"

#define TUNIF_MAX_VIPS	32
#define TUNIF_ID_BUCKETS 65536	/* IPv4 ID counters (tunif_ipid) */

struct pkt_meta;

typedef void	(*tunif_output_cb)(void *, uint8_t *, size_t,
		    const struct pkt_meta *);
typedef void	(*tunif_after_cb)(void *);

struct sipkey;

struct tunif {
	struct netif	 ti_stack;		/* lwIP's addresses */
	struct netif	 ti_vips[TUNIF_MAX_VIPS];
	int		 ti_nvips;
	tunif_output_cb	 ti_out;
	tunif_after_cb	 ti_after;
	void		*ti_arg;
	int		 ti_gso;		/* join segments */
	uint64_t	 ti_in_dropped;		/* refused by lwIP's input */
	/* the super-packet being joined, in ti_gbuf */
	size_t		 ti_glen;		/* 0: none */
	unsigned int	 ti_gsegs;
	uint16_t	 ti_ghlen;		/* IP and TCP headers */
	uint16_t	 ti_gsize;		/* each segment's payload */
	uint16_t	 ti_glast;		/* the last one's */
	uint32_t	 ti_gnext;		/* the sequence number after it */
	/* IPv4 IDs by destination, a keyed hash picking the counter; the
	 * last destination's is remembered */
	struct sipkey	*ti_id_key;
	uint16_t	 ti_ids[TUNIF_ID_BUCKETS];
	uint16_t	*ti_id_last;
	uint8_t		 ti_id_dst[4];
	uint8_t		 ti_scratch[65536];
	uint8_t		 ti_gbuf[65536];
};

void	tunif_init(struct tunif *, in_addr_t, const struct ipaddr *, int,
	    tunif_output_cb, tunif_after_cb, void *);
void	tunif_gso(struct tunif *);
void	tunif_flush(struct tunif *);
int	tunif_add_vip(struct tunif *, const struct ipaddr *);
void	tunif_input(struct tunif *, const uint8_t *, size_t);
int	tunif_owns(const struct tunif *, const struct ipaddr *);
struct netif *tunif_netif(struct tunif *);
void	tunif_shutdown(struct tunif *);

#endif

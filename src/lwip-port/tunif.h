/*
 * lwIP's network interfaces on the TUN link: one netif for the stack
 * address and one per VIP, all sending through one output callback.
 *
 * tunif.c owns the netifs and a scratch buffer: each packet lwIP sends is
 * copied there whole and handed to the callback, which may rewrite it in
 * place (lwIP keeps its own copy for retransmission).  The callback must
 * not call back into lwIP: it runs inside lwIP.
 *
 * The after callback tells the owner that lwIP has been at work: it must
 * look at lwIP's timers again, soon and outside lwIP (a packet may have
 * started a connection).
 */
#ifndef HANDOFFD_TUNIF_H
#define HANDOFFD_TUNIF_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/netif.h"

#define TUNIF_MAX_VIPS	32

typedef void	(*tunif_output_cb)(void *, uint8_t *, size_t);
typedef void	(*tunif_after_cb)(void *);

struct tunif {
	struct netif	 ti_stack;		/* the lwIP address */
	struct netif	 ti_vips[TUNIF_MAX_VIPS];
	int		 ti_nvips;
	tunif_output_cb	 ti_out;
	tunif_after_cb	 ti_after;
	void		*ti_arg;
	uint64_t	 ti_in_dropped;		/* refused by lwIP's input */
	uint8_t		 ti_scratch[65536];
};

void	tunif_init(struct tunif *, in_addr_t, int, tunif_output_cb,
	    tunif_after_cb, void *);
int	tunif_add_vip(struct tunif *, in_addr_t);
void	tunif_input(struct tunif *, const uint8_t *, size_t);
void	tunif_shutdown(struct tunif *);

#endif

/* lwIP netifs over the TUN link; see tunif.h. */
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "log.h"
#include "tunif.h"

/* netif->output: lwIP hands over a finished IPv4 packet, possibly chained. */
static err_t
tunif_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *nexthop)
{
	struct tunif	*ti = nif->state;
	u16_t		 len;

	len = pbuf_copy_partial(p, ti->ti_scratch, p->tot_len, 0);
	ti->ti_out(ti->ti_arg, ti->ti_scratch, len);
	return ERR_OK;
}

static err_t
tunif_netif_init(struct netif *nif)
{
	struct tunif	*ti = nif->state;

	nif->name[0] = 't';
	nif->name[1] = 'u';
	nif->output = tunif_output;
	nif->mtu = ti->ti_stack.mtu;
	nif->flags = 0;		/* no link layer, no broadcast */
	return ERR_OK;
}

static void
tunif_add(struct tunif *ti, struct netif *nif, in_addr_t addr, int mtu)
{
	ip4_addr_t	 a, mask, gw;

	ip4_addr_set_u32(&a, addr);
	ip4_addr_set_u32(&mask, 0xffffffff);
	ip4_addr_set_zero(&gw);
	nif->mtu = mtu;
	if (netif_add(nif, &a, &mask, &gw, ti, tunif_netif_init,
	    ip4_input) == NULL)
		fatalx("lwip: netif_add failed");
	nif->mtu = mtu;
	netif_set_up(nif);
	netif_set_link_up(nif);
}

/*
 * Starts lwIP with its stack address.  Every netif is a /32: lwIP routes
 * everything through the default netif, whose output is the TUN.
 */
void
tunif_init(struct tunif *ti, in_addr_t stack_addr, int mtu,
    tunif_output_cb out, tunif_after_cb after, void *arg)
{
	memset(ti, 0, sizeof(*ti));
	ti->ti_out = out;
	ti->ti_after = after;
	ti->ti_arg = arg;
	ti->ti_stack.mtu = mtu;
	lwip_init();
	tunif_add(ti, &ti->ti_stack, stack_addr, mtu);
	netif_set_default(&ti->ti_stack);
}

/* Lets lwIP own a VIP: its ip4_input accepts any of its netifs' addresses. */
int
tunif_add_vip(struct tunif *ti, in_addr_t vip)
{
	int	 i;

	for (i = 0; i < ti->ti_nvips; i++)
		if (ip4_addr_get_u32(netif_ip4_addr(&ti->ti_vips[i])) == vip)
			return 0;
	if (ti->ti_nvips == TUNIF_MAX_VIPS)
		return -1;
	tunif_add(ti, &ti->ti_vips[ti->ti_nvips++], vip, ti->ti_stack.mtu);
	return 0;
}

/* Feeds one IPv4 packet to lwIP; lwIP verifies its checksums itself. */
void
tunif_input(struct tunif *ti, const uint8_t *pkt, size_t len)
{
	struct pbuf	*p;

	if (len > 0xffff || (p = pbuf_alloc(PBUF_RAW, (u16_t)len,
	    PBUF_RAM)) == NULL) {
		ti->ti_in_dropped++;
		return;
	}
	memcpy(p->payload, pkt, len);
	if (ti->ti_stack.input(p, &ti->ti_stack) != ERR_OK) {
		pbuf_free(p);
		ti->ti_in_dropped++;
	}
	ti->ti_after(ti->ti_arg);
}

void
tunif_shutdown(struct tunif *ti)
{
	int	 i;

	for (i = 0; i < ti->ti_nvips; i++)
		netif_remove(&ti->ti_vips[i]);
	netif_remove(&ti->ti_stack);
}

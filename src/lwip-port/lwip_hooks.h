/* Prototypes of the hooks lwipopts.h installs into lwIP. */
#ifndef HANDOFFD_LWIP_HOOKS_H
#define HANDOFFD_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

struct netif;

u32_t	port_tcp_isn(const ip_addr_t *, u16_t, const ip_addr_t *, u16_t,
	    u32_t *);
u32_t	port_tcp_hash(const ip_addr_t *, u16_t, const ip_addr_t *, u16_t);
u32_t	port_now_us(void);
void	port_dupack_loss(void);
void	port_tcp_xmit(int);
void	port_tcp_loss(int);
void	port_tcp_rto(void);
unsigned int port_loss_tolerance(void);
struct netif *tunif_route_src(const ip4_addr_t *, const ip4_addr_t *);
struct netif *tunif_route_src6(const ip6_addr_t *, const ip6_addr_t *);

#endif

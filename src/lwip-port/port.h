/*
 * The daemon's side of the lwIP port: the clock lwIP runs on, its random
 * numbers and ISNs, the hook that routes its diagnostics into log.c, and
 * its memory, counted, with the limits on out-of-order data that follow.
 */
#ifndef HANDOFFD_PORT_H
#define HANDOFFD_PORT_H

#include <stddef.h>
#include <stdint.h>

struct flow_key;
struct tcp_pcb;

void		port_init(void);
uint32_t	port_now_ms(void);
void		port_set_clock(uint32_t (*)(void));
void		port_pcb_key(const struct tcp_pcb *, struct flow_key *);
int		port_tcp_forget_timewait(uint32_t, uint16_t, uint32_t, uint16_t);
int		port_tcp_has_pcb(uint32_t, uint16_t, uint32_t, uint16_t);
int		port_tcp_has_active(uint32_t, uint16_t, uint32_t, uint16_t);
void		port_tcp_recved(struct tcp_pcb *, uint32_t);
void		port_set_limits(size_t, uint32_t);
size_t		port_mem_used(void);

/* The priority (tcp_setprio) of a connection not routed yet: its
 * out-of-order data is bounded, and lwIP, short of memory, ends such
 * connections first. */
#define PORT_PRIO_YOUNG		1

#endif

/*
 * The daemon's side of the lwIP port: the clock lwIP runs on, its random
 * numbers and ISNs, and the hook that routes its diagnostics into log.c.
 */
#ifndef HANDOFFD_PORT_H
#define HANDOFFD_PORT_H

#include <stdint.h>

struct flow_key;
struct tcp_pcb;

void		port_init(void);
uint32_t	port_now_ms(void);
void		port_set_clock(uint32_t (*)(void));
void		port_pcb_key(const struct tcp_pcb *, struct flow_key *);
int		port_tcp_forget_timewait(uint32_t, uint16_t, uint32_t, uint16_t);
int		port_tcp_has_pcb(uint32_t, uint16_t, uint32_t, uint16_t);
void		port_tcp_recved(struct tcp_pcb *, uint32_t);

#endif

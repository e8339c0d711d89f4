/*
 * The per-packet rewrite of a handed-off flow, applied in place with
 * incremental checksums.  Both directions use the fields the flow set up
 * once at handoff time (DESIGN.md, "Sequence-number algebra"):
 *
 *   client -> stack (front-end): dst -> stack endpoint, ack -= delta,
 *                                SACK edges -= delta, TSecr -= ts_delta
 *   stack -> client (back-end):  src -> VIP, seq += delta, window
 *                                rescaled, TSval += ts_delta
 */
#ifndef HANDOFFD_RW_H
#define HANDOFFD_RW_H

#include <stdint.h>

struct flow;
struct pkt;

void	rw_to_stack(const struct flow *, struct pkt *);
void	rw_to_client(const struct flow *, struct pkt *);
uint16_t rw_window(uint16_t, unsigned int, unsigned int);
uint32_t rw_max_window(uint8_t);

#endif

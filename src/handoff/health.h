/*
 * The state of each node as a pool member: whether it may get requests
 * (its control channel is up, it has not refused too many handoffs in a
 * row, its web server answers the pool's active check) and how loaded it
 * is (connections this front-end gave it, and what it reports serving).
 *
 * health.c owns that state and the active HTTP checks (evhttp requests to
 * each checked member's server address).  Nodes are numbered as peers,
 * with PEER_LOCAL for this node.
 */
#ifndef HANDOFFD_HEALTH_H
#define HANDOFFD_HEALTH_H

#include <stdint.h>
#include <stdio.h>

struct hd;

/* Consecutive check results that flip a member down, and back up. */
#define HEALTH_FALL	2
#define HEALTH_RISE	2

int	 health_init(struct hd *);
void	 health_shutdown(struct hd *);
uint64_t health_members(const struct hd *, int);
void	 health_loads(const struct hd *, int, uint32_t *);
void	 health_refused(struct hd *, int);
void	 health_accepted(struct hd *, int);
void	 health_assign(struct hd *, int, int);
void	 health_print(const struct hd *, FILE *);

#endif

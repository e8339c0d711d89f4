/*
 * The state file (node.state_file): the flow table's slots in a shared
 * file mapping that outlives the process, so that a daemon started again
 * (after SIGKILL, a crash or an upgrade to a build of the same layout)
 * goes on rewriting the connections the last one handed off.
 *
 * state.c owns the file: its header (layout, this kernel's boot, the
 * node, its control channel boot id and the peers' ids by index), its
 * lock (one daemon at a time) and the mapping.  It decides whether the
 * slots hold a previous process's flows (state_attached); flow.c adopts
 * them and their owners decide which can go on.  A file that is not this
 * layout's, this boot's or this node's is started again empty, with a
 * line in the log, never trusted; one that another user could have
 * written is refused.
 */
#ifndef HANDOFFD_STATE_H
#define HANDOFFD_STATE_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct flow;
struct state;

struct state	*state_open(const char *, const struct cfg *, char *, size_t);
struct flow	*state_flows(struct state *);
int		 state_attached(const struct state *);
uint64_t	 state_boot(const struct state *);
int		 state_peer(const struct state *, const struct cfg *, int);
void		 state_set_peers(struct state *, const struct cfg *);
uint64_t	*state_peer_boots(struct state *);
void		 state_close(struct state *);

#endif

/*
 * Privileges: what the daemon may do once it runs.  priv_nofile() raises
 * the descriptor limit to what the configuration needs; priv_drop() gives
 * up root for node.user once the TUN device, the control listener and the
 * key are open, and keeps nothing that could win it back.  Both end the
 * process with a message saying what to fix when they cannot do their job.
 */
#ifndef HANDOFFD_PRIV_H
#define HANDOFFD_PRIV_H

struct cfg;

void	priv_nofile(const struct cfg *);
void	priv_drop(const struct cfg *);

#endif

/*
 * What the host's own TCP stack holds on a 4-tuple: asked before a
 * kernel-stack back-end gives a lingering connection's endpoint to another
 * connection, since the daemon sees only the stack's side of it and cannot
 * tell whether the client has acknowledged all of it.
 *
 * ksock-linux.c asks sock_diag (inet_diag's exact lookup) in the network
 * namespace the process runs in; ksock-bsd.c cannot ask, and says so.
 */
#ifndef HANDOFFD_KSOCK_H
#define HANDOFFD_KSOCK_H

#include <stdint.h>

struct ipaddr;

/* 1 if the kernel holds a TCP connection from laddr:lport to raddr:rport
 * (ports in network order) in a state before TIME_WAIT, whose data or FIN
 * may not be acknowledged yet; 0 if none (a listener on laddr:lport is
 * none), or one in TIME_WAIT; -1 with errno if it cannot tell. */
int	ksock_live(const struct ipaddr *, uint16_t, const struct ipaddr *,
	    uint16_t);

#endif

/*
 * What the host's own TCP stack holds on a 4-tuple: asked before a
 * kernel-stack back-end gives a lingering connection's endpoint to another
 * connection, since the daemon sees only the stack's side of it and cannot
 * tell whether the client has acknowledged all of it.
 *
 * ksock-linux.c asks sock_diag (inet_diag's exact lookup) in the network
 * namespace the process runs in, for sockets bound to the TUN device or
 * to none.  A kernel without inet_diag answers every lookup "no such
 * socket", so the first one is preceded by one of a socket that exists:
 * if that is not found either, the kernel cannot be asked, which is said
 * once.  ksock-bsd.c cannot ask.
 */
#ifndef HANDOFFD_KSOCK_H
#define HANDOFFD_KSOCK_H

#include <stdint.h>

struct ipaddr;

enum ksock_state {
	KSOCK_UNTRIED,
	KSOCK_WORKS,
	KSOCK_CANNOT
};

struct ksock {
	char		 ks_ifname[16];	/* the TUN device */
	enum ksock_state ks_state;
};

/* ks for the TUN device named ifname; asks nothing yet. */
void	ksock_init(struct ksock *, const char *);

/* 1 if the kernel holds a TCP connection from laddr:lport to raddr:rport
 * (ports in network order) in a state before TIME_WAIT, whose data or FIN
 * may not be acknowledged yet; 0 if none (a listener on laddr:lport is
 * none), or one in TIME_WAIT; -1 with errno if it cannot tell. */
int	ksock_live(struct ksock *, const struct ipaddr *, uint16_t,
	    const struct ipaddr *, uint16_t);

#endif

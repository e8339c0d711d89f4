/*
 * What on the running host contradicts the configuration: forwarding off,
 * strict reverse-path filtering on the TUN device, the device missing or
 * down, a VIP not routed into it, a kernel stack's replies not routed back
 * into it.  handoffd -n prints these, the daemon logs them at start; none
 * stops it, since the host may be set up after it starts.
 *
 * hostcheck-linux.c reads /proc/sys and asks the kernel's routing through
 * rtnetlink, in the network namespace the process runs in; hostcheck-bsd.c
 * checks nothing yet.
 *
 * hostcheck_congestion() names the kernel stack's congestion control for
 * new connections (net.ipv4.tcp_congestion_control), -1 if it cannot.
 */
#ifndef HANDOFFD_HOSTCHECK_H
#define HANDOFFD_HOSTCHECK_H

#include <stddef.h>

struct cfg;

/* Called once per problem, with one line saying what and how to fix it. */
typedef void	(*hostcheck_fn)(void *, const char *);

int	hostcheck(const struct cfg *, hostcheck_fn, void *);
int	hostcheck_congestion(char *, size_t);

#endif

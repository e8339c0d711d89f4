/*
 * One netlink request and its answer, for the Linux modules that ask the
 * kernel something once (hostcheck-linux.c's routes, ksock-linux.c's
 * sockets): a socket of the family's protocol opened, used and closed.
 */
#ifndef HANDOFFD_NL_H
#define HANDOFFD_NL_H

#include <stddef.h>
#include <sys/types.h>

/* Sends req (len bytes, a whole netlink message) on a new socket of
 * protocol proto and reads one answer into buf; returns its length, or -1
 * with errno. */
ssize_t	nl_ask(int, const void *, size_t, void *, size_t);

#endif

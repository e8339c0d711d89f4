/*
 * Readiness for a service manager: systemd's notification protocol (a
 * datagram such as "READY=1" to the socket named by $NOTIFY_SOCKET), what
 * Type=notify units wait for, without libsystemd.  notify.c owns nothing;
 * without $NOTIFY_SOCKET it does nothing.
 */
#ifndef HANDOFFD_NOTIFY_H
#define HANDOFFD_NOTIFY_H

void	notify(const char *);

#endif

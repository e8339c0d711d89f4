/*
 * The admin socket: what handoffctl(8) talks to.  A UNIX stream socket at
 * node.admin_socket, created before the daemon gives up root, mode 0600,
 * owned by node.user; a connection from a process of any other user than
 * root and the daemon's own is closed at once.
 *
 * The protocol is one request line and one answer per connection.  The
 * request is handoffctl's words: "[-j] COMMAND [ARGUMENT ...]" and a
 * newline, at most ADMIN_LINE_MAX bytes.  The answer is "ok" or "error:
 * MESSAGE" on its first line, then the body (a table, or with -j one line
 * of JSON), then an empty line; then the daemon closes.
 *
 * admin.c owns the listener and its connections.  What the commands show
 * and change belongs to other modules (flow, peer, health); admin.c only
 * reads them and asks health.c to drain, enable and reweigh members.
 */
#ifndef HANDOFFD_ADMIN_H
#define HANDOFFD_ADMIN_H

struct hd;

/* A request line, newline included; longer ones are refused. */
#define ADMIN_LINE_MAX		256
/* Connections at once; more are closed at once. */
#define ADMIN_CONNS_MAX		16
/* A connection must send its request, and take its answer, this fast. */
#define ADMIN_TIMEOUT_S		10
/* Flows listed when the request does not say. */
#define ADMIN_FLOWS_DEFAULT	100

int	admin_start(struct hd *);
void	admin_stop(struct hd *);

#endif

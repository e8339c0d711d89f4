/*
 * The access log (node.access_log): one line per client connection at the
 * front-end that decided it, and one per connection a node served, when
 * it ends.  The format is handoffd(8)'s ACCESS LOG.
 *
 * alog.c owns the destination, a file opened with O_APPEND or a datagram
 * socket to a syslog daemon, and the lines not written yet: a file's lines
 * are written once per turn of the event loop, never blocking a packet on
 * the disk; a syslog daemon that cannot take a line loses it, counted.
 * Formatting is pure (alog_escape, alog_req, alog_format_*) and tested as
 * such.
 */
#ifndef HANDOFFD_ALOG_H
#define HANDOFFD_ALOG_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct alog;
struct event_base;

/* At most this much of a request target, and of a Host, is logged. */
#define ALOG_TARGET_MAX	256
#define ALOG_HOST_MAX	256
#define ALOG_LINE_MAX	4096

/* What a front-end decided about one connection. */
struct alog_fe {
	struct ipaddr	 af_caddr;	/* ports in network order */
	uint16_t	 af_cport;
	struct ipaddr	 af_vaddr;
	uint16_t	 af_vport;
	const char	*af_req;	/* alog_req()'s, or NULL: "- - -" */
	const char	*af_pool;	/* NULL: "-" */
	const char	*af_member;	/* NULL: "-" */
	const char	*af_outcome;
	int64_t		 af_latency_us;	/* -1: "-" */
};

/* A connection this node served, at its end. */
struct alog_srv {
	struct ipaddr	 as_caddr;
	uint16_t	 as_cport;
	struct ipaddr	 as_vaddr;
	uint16_t	 as_vport;
	const char	*as_frontend;	/* the node that handed it here */
	const char	*as_end;	/* flow_end_name() */
	uint32_t	 as_ms;
	uint64_t	 as_bytes;	/* what the server sent */
};

struct alog	*alog_open(struct event_base *, const char *, const char *,
		    int, uid_t, gid_t, uint64_t *, uint64_t *, char *, size_t);
int		 alog_reopen(struct alog *, char *, size_t);
void		 alog_free(struct alog *);
void		 alog_fe(struct alog *, const struct alog_fe *);
void		 alog_srv(struct alog *, const struct alog_srv *);

size_t		 alog_escape(char *, size_t, const char *, size_t, size_t);
char		*alog_req(const char *, const char *, size_t, const char *,
		    size_t);
int		 alog_format_fe(char *, size_t, const char *, const char *,
		    const struct alog_fe *);
int		 alog_format_srv(char *, size_t, const char *, const char *,
		    const struct alog_srv *);

/* node.access_log_facility's names, in the order of its values. */
extern const char *const alog_facility_names[];

#endif

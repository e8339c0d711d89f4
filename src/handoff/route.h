/*
 * Routing by content: what a complete request head says (method, Host,
 * normalised path, headers) and which pool a service's rules give it; for
 * a TLS service, what its ClientHello says (server name, ALPN; hello.h).
 *
 * route.c owns the request view: route_inspect() parses a head that is
 * contiguous in memory (the front-end's buffer) and fills a struct
 * route_req whose pointers point into that head or into the view's own
 * path and host buffers, so the view lives no longer than both.  Nothing
 * here touches the daemon's state: the functions are pure and tested as
 * such.
 */
#ifndef HANDOFFD_ROUTE_H
#define HANDOFFD_ROUTE_H

#include <stddef.h>

struct cfg_service;
struct hello;

/* Headers a routed request may have; more is answered with 431. */
#define ROUTE_MAX_HEADERS	128
#define ROUTE_HOST_MAX		256

struct route_header {
	const char	*rh_name;
	size_t		 rh_namelen;
	const char	*rh_value;	/* without surrounding white space */
	size_t		 rh_valuelen;
};

struct route_req {
	const char		*rr_method;	/* "GET", static storage */
	char			*rr_path;	/* normalised, NUL-terminated */
	size_t			 rr_pathlen;
	const char		*rr_query;	/* as sent, without '?' */
	size_t			 rr_querylen;
	char			 rr_host[ROUTE_HOST_MAX]; /* lower case, no port */
	size_t			 rr_hostlen;
	struct route_header	 rr_headers[ROUTE_MAX_HEADERS];
	int			 rr_nheaders;
	/* parsing state */
	int			 rr_lastfield;	/* the last callback was a name */
	const char		*rr_url;
	size_t			 rr_urllen;
};

enum route_result {
	ROUTE_OK,
	ROUTE_BAD,		/* not a request we can route: 400 */
	ROUTE_TOO_MANY,		/* over ROUTE_MAX_HEADERS: 431 */
	ROUTE_NOMEM,
};

enum route_result route_inspect(const char *, size_t, struct route_req *);
void	route_req_free(struct route_req *);
int	route_normalize_path(const char *, size_t, char *, size_t *);
int	route_pool(const struct cfg_service *, const struct route_req *);
const char *route_header(const struct route_req *, const char *, size_t *);
const char *route_hello_name(const struct hello *, size_t *);
int	route_hello_pool(const struct cfg_service *, const struct hello *);

#endif

/*
 * Routing by content.  Rules are matched against the path as the back-end
 * will resolve it, not as the client spelled it: otherwise "/static/../app"
 * or "/%73tatic/x" would be routed by one reading and served by another.
 * The normalisation follows what nginx does by default: every %XX is
 * decoded (including %2F), dot-segments are removed (RFC 3986 5.2.4, never
 * above the root) and runs of slashes are merged.  A request whose path
 * cannot be decoded (a bad escape, an encoded NUL) is not routed: 400.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "conf.h"
#include "handoff/handoff.h"
#include "handoff/hello.h"
#include "handoff/route.h"

#define ROUTE_REGEX_PATH_MAX	8192	/* see route_rule_match() */

static int
route_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Normalises the path in[0..len) into out, which has room for len + 1
 * bytes; *outlen gets its length (out is NUL-terminated).  Returns -1 for a
 * path that does not start with '/', a bad escape or an encoded NUL.
 * Dot-segments are resolved after decoding, so "%2e%2e" is "..".
 */
int
route_normalize_path(const char *in, size_t len, char *out, size_t *outlen)
{
	size_t	 i, o = 0, seg;
	int	 trail = 0, hi, lo;
	char	 c;

	if (len == 0 || in[0] != '/')
		return -1;
	/* Decode in place in out first: decoding never lengthens. */
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			if ((hi = route_hex(in[i + 1])) == -1 ||
			    (lo = route_hex(in[i + 2])) == -1)
				return -1;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			i += 2;
		} else if (c == '\0')
			return -1;
		out[o++] = c;
	}
	len = o;
	/* Then resolve segments, reading ahead of where we write. */
	o = 0;
	for (i = 0; i < len; ) {
		/* out[i] is '/' here: the decoded path starts with one and
		 * every segment ends at one. */
		i++;
		seg = i;
		while (i < len && out[i] != '/')
			i++;
		if (i == seg || (i - seg == 1 && out[seg] == '.')) {
			trail = 1;		/* "//" or "/./" */
			continue;
		}
		if (i - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			trail = 1;
			continue;
		}
		out[o++] = '/';
		memmove(out + o, out + seg, i - seg);
		o += i - seg;
		trail = 0;
	}
	if (o == 0 || trail)
		out[o++] = '/';
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static int
route_on_url(http_parser *hp, const char *at, size_t len)
{
	struct route_req *rr = hp->data;

	/* The head is contiguous: pieces, if any, follow each other. */
	if (rr->rr_url == NULL)
		rr->rr_url = at;
	rr->rr_urllen = (size_t)(at + len - rr->rr_url);
	return 0;
}

static int
route_on_field(http_parser *hp, const char *at, size_t len)
{
	struct route_req	*rr = hp->data;
	struct route_header	*h;

	if (!rr->rr_lastfield) {
		if (rr->rr_nheaders == ROUTE_MAX_HEADERS) {
			rr->rr_nheaders++;	/* over: the caller's 431 */
			return -1;
		}
		h = &rr->rr_headers[rr->rr_nheaders++];
		h->rh_name = at;
		h->rh_value = NULL;
		h->rh_valuelen = 0;
		rr->rr_lastfield = 1;
	} else
		h = &rr->rr_headers[rr->rr_nheaders - 1];
	h->rh_namelen = (size_t)(at + len - h->rh_name);
	return 0;
}

static int
route_on_value(http_parser *hp, const char *at, size_t len)
{
	struct route_req	*rr = hp->data;
	struct route_header	*h = &rr->rr_headers[rr->rr_nheaders - 1];

	if (h->rh_value == NULL)
		h->rh_value = at;
	h->rh_valuelen = (size_t)(at + len - h->rh_value);
	rr->rr_lastfield = 0;
	return 0;
}

static int
route_on_headers_complete(http_parser *hp)
{
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings route_settings = {
	.on_url = route_on_url,
	.on_header_field = route_on_field,
	.on_header_value = route_on_value,
	.on_headers_complete = route_on_headers_complete,
};

/* Lower case, without the port and a final dot; -1 if it does not fit or
 * holds what no host name does. */
static int
route_set_host(struct route_req *rr, const char *h, size_t len)
{
	size_t	 i, end = len;

	if (len > 0 && h[0] == '[') {		/* an IPv6 literal */
		const char *rb = memchr(h, ']', len);

		if (rb == NULL)
			return -1;
		end = (size_t)(rb - h) + 1;
	} else {
		const char *colon = memchr(h, ':', len);

		if (colon != NULL)
			end = (size_t)(colon - h);
	}
	if (end > 0 && h[end - 1] == '.')
		end--;
	if (end >= sizeof(rr->rr_host))
		return -1;
	for (i = 0; i < end; i++) {
		if ((unsigned char)h[i] <= ' ' || h[i] == '/')
			return -1;
		rr->rr_host[i] = (char)tolower((unsigned char)h[i]);
	}
	rr->rr_host[end] = '\0';
	rr->rr_hostlen = end;
	return 0;
}

/* The value of the first header called name, or NULL. */
const char *
route_header(const struct route_req *rr, const char *name, size_t *len)
{
	size_t	 n = strlen(name);
	int	 i;

	for (i = 0; i < rr->rr_nheaders; i++) {
		const struct route_header *h = &rr->rr_headers[i];

		if (h->rh_namelen == n && strncasecmp(h->rh_name, name, n) == 0) {
			*len = h->rh_valuelen;
			return h->rh_value != NULL ? h->rh_value : "";
		}
	}
	return NULL;
}

/* Trims the optional white space around header values. */
static void
route_trim(struct route_req *rr)
{
	int	 i;

	for (i = 0; i < rr->rr_nheaders; i++) {
		struct route_header *h = &rr->rr_headers[i];

		if (h->rh_value == NULL) {
			h->rh_value = "";
			continue;
		}
		while (h->rh_valuelen > 0 && (*h->rh_value == ' ' ||
		    *h->rh_value == '\t')) {
			h->rh_value++;
			h->rh_valuelen--;
		}
		while (h->rh_valuelen > 0 &&
		    (h->rh_value[h->rh_valuelen - 1] == ' ' ||
		    h->rh_value[h->rh_valuelen - 1] == '\t' ||
		    h->rh_value[h->rh_valuelen - 1] == '\r' ||
		    h->rh_value[h->rh_valuelen - 1] == '\n'))
			h->rh_valuelen--;
	}
}

/*
 * Reads the request head head[0..len) into rr.  The target may be in
 * origin form ("/p?q"), absolute form ("http://h/p", whose host overrides
 * Host), or "*"; CONNECT's authority form has no path and routes by host.
 * On success rr owns a path buffer for route_req_free().
 */
enum route_result
route_inspect(const char *head, size_t len, struct route_req *rr)
{
	http_parser		 hp;
	struct http_parser_url	 u;
	const char		*v, *path = "/";
	size_t			 vlen, plen = 1;
	int			 connect;

	memset(rr, 0, sizeof(*rr));
	http_parser_set_max_header_size(REQ_PARSER_HEAD_MAX);
	http_parser_init(&hp, HTTP_REQUEST);
	hp.data = rr;
	http_parser_execute(&hp, &route_settings, head, len);
	if (rr->rr_nheaders > ROUTE_MAX_HEADERS)
		return ROUTE_TOO_MANY;
	if (HTTP_PARSER_ERRNO(&hp) != HPE_PAUSED || rr->rr_url == NULL)
		return ROUTE_BAD;
	route_trim(rr);
	rr->rr_method = http_method_str((enum http_method)hp.method);
	connect = hp.method == HTTP_CONNECT;
	if (rr->rr_urllen == 1 && rr->rr_url[0] == '*')
		path = "*";
	else {
		http_parser_url_init(&u);
		if (http_parser_parse_url(rr->rr_url, rr->rr_urllen, connect,
		    &u) != 0)
			return ROUTE_BAD;
		if (u.field_set & (1 << UF_PATH)) {
			path = rr->rr_url + u.field_data[UF_PATH].off;
			plen = u.field_data[UF_PATH].len;
		} else if (connect)
			plen = 0;
		if (u.field_set & (1 << UF_QUERY)) {
			rr->rr_query = rr->rr_url + u.field_data[UF_QUERY].off;
			rr->rr_querylen = u.field_data[UF_QUERY].len;
		}
		if (u.field_set & (1 << UF_HOST) &&
		    route_set_host(rr, rr->rr_url + u.field_data[UF_HOST].off,
		    u.field_data[UF_HOST].len) == -1)
			return ROUTE_BAD;
	}
	if (rr->rr_hostlen == 0 && (v = route_header(rr, "host", &vlen)) !=
	    NULL && route_set_host(rr, v, vlen) == -1)
		return ROUTE_BAD;
	if ((rr->rr_path = malloc(plen + 2)) == NULL)
		return ROUTE_NOMEM;
	if (plen == 0 || path[0] == '*') {
		memcpy(rr->rr_path, path, plen);
		rr->rr_path[plen] = '\0';
		rr->rr_pathlen = plen;
	} else if (route_normalize_path(path, plen, rr->rr_path,
	    &rr->rr_pathlen) == -1) {
		route_req_free(rr);
		return ROUTE_BAD;
	}
	return ROUTE_OK;
}

void
route_req_free(struct route_req *rr)
{
	free(rr->rr_path);
	rr->rr_path = NULL;
}

/* "*.example.com" is any name under example.com, not example.com itself. */
static int
route_host_match(const char *want, const char *host, size_t len)
{
	size_t	 n;

	if (want[0] == '*' && want[1] == '.') {
		n = strlen(want + 1);
		return len > n && strcasecmp(host + len - n, want + 1) == 0;
	}
	return strcasecmp(want, host) == 0;
}

/* Every condition of a header rule holds for some header of that name. */
static int
route_header_match(const struct cfg_rule *r, const struct route_req *rr)
{
	size_t	 n = strlen(r->cr_header), vn;
	int	 i;

	for (i = 0; i < rr->rr_nheaders; i++) {
		const struct route_header *h = &rr->rr_headers[i];

		if (h->rh_namelen != n ||
		    strncasecmp(h->rh_name, r->cr_header, n) != 0)
			continue;
		if (r->cr_header_value == NULL)
			return 1;
		vn = strlen(r->cr_header_value);
		if (h->rh_valuelen == vn &&
		    memcmp(h->rh_value, r->cr_header_value, vn) == 0)
			return 1;
	}
	return 0;
}

static int
route_rule_match(const struct cfg_rule *r, const struct route_req *rr)
{
	if (r->cr_method != NULL && strcmp(r->cr_method, rr->rr_method) != 0)
		return 0;
	if (r->cr_host != NULL &&
	    !route_host_match(r->cr_host, rr->rr_host, rr->rr_hostlen))
		return 0;
	if (r->cr_path_prefix != NULL && strncmp(rr->rr_path,
	    r->cr_path_prefix, strlen(r->cr_path_prefix)) != 0)
		return 0;
	/* A regular expression's time grows with the square of what it is
	 * run on, which a client chooses, up to request_head_max. */
	if (r->cr_has_regex && (rr->rr_pathlen > ROUTE_REGEX_PATH_MAX ||
	    regexec(&r->cr_regex, rr->rr_path, 0, NULL, 0) != 0))
		return 0;
	if (r->cr_header != NULL && !route_header_match(r, rr))
		return 0;
	return 1;
}

/* The pool of the first rule that matches, else the service's default. */
int
route_pool(const struct cfg_service *svc, const struct route_req *rr)
{
	int	 i;

	for (i = 0; i < svc->cs_nrules; i++)
		if (route_rule_match(&svc->cs_rules[i], rr))
			return svc->cs_rules[i].cr_pool_idx;
	return svc->cs_pool_idx;
}

/*
 * The server name a ClientHello is routed by, or NULL for none.  With ECH
 * it is the client-facing server's public name, whose servers hold the
 * keys; and the one name there is when a client only GREASEs ECH (as
 * browsers do for any server without an ECH configuration).
 */
const char *
route_hello_name(const struct hello *h, size_t *len)
{
	if (h->h_snilen == 0) {
		*len = 0;
		return NULL;
	}
	*len = h->h_snilen;
	return h->h_sni;
}

/*
 * The pool of a TLS service for a ClientHello: the first rule whose sni
 * and alpn hold, else the default; without a server name, the default.
 */
int
route_hello_pool(const struct cfg_service *svc, const struct hello *h)
{
	const struct cfg_rule	*r;
	const char		*name;
	size_t			 len;
	int			 i;

	if ((name = route_hello_name(h, &len)) == NULL)
		return svc->cs_pool_idx;
	for (i = 0; i < svc->cs_nrules; i++) {
		r = &svc->cs_rules[i];
		if ((r->cr_sni == NULL ||
		    route_host_match(r->cr_sni, name, len)) &&
		    (r->cr_alpn == NULL ||
		    hello_alpn_has(h, r->cr_alpn, strlen(r->cr_alpn))))
			return r->cr_pool_idx;
	}
	return svc->cs_pool_idx;
}

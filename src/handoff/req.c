/*
 * Finding the end of an HTTP request head with http-parser, fed in pieces
 * as segments arrive.  The parser is paused at on_headers_complete, so it
 * never looks at the body: the body belongs to the back-end.  A TLS
 * service's clients send a ClientHello first, and its reader (hello.c)
 * takes the parser's place: the ClientHello is the head.
 */
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "handoff/handoff.h"
#include "handoff/hello.h"

struct req_parser {
	http_parser	 rp_hp;
	struct hello_reader *rp_hello;	/* a TLS service's, else NULL */
	size_t		 rp_fed;	/* bytes consumed so far */
	size_t		 rp_head;	/* head length once complete */
	int		 rp_done;
};

static int
req_on_headers_complete(http_parser *hp)
{
	http_parser_pause(hp, 1);
	return 0;
}

/*
 * The target, in as many pieces as it came in.  http-parser lets a tab
 * and a form feed through, which no target may hold (RFC 9112 3.2); and a
 * request line without a version is HTTP/0.9's, which has no head to wait
 * for, and which the front-end does not route: both are not HTTP/1.
 */
static int
req_on_url(http_parser *hp, const char *at, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)at[i] < ' ' || at[i] == 0x7f)
			return -1;
	return hp->http_major == 0 && hp->http_minor == 9 ? -1 : 0;
}

static const http_parser_settings req_settings = {
	.on_url = req_on_url,
	.on_headers_complete = req_on_headers_complete,
};

struct req_parser *
req_new(void)
{
	struct req_parser *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	http_parser_set_max_header_size(REQ_PARSER_HEAD_MAX);
	http_parser_init(&rp->rp_hp, HTTP_REQUEST);
	return rp;
}

/* The head finder of a TLS service: a ClientHello of at most max bytes,
 * its record headers included. */
struct req_parser *
req_new_tls(size_t max)
{
	struct req_parser *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	if ((rp->rp_hello = hello_new(max)) == NULL) {
		free(rp);
		return NULL;
	}
	return rp;
}

void
req_free(struct req_parser *rp)
{
	if (rp != NULL)
		hello_free(rp->rp_hello);
	free(rp);
}

/* The ClientHello reader's verdict in the head finder's words. */
static enum req_result
req_feed_hello(struct req_parser *rp, const char *data, size_t len)
{
	switch (hello_feed(rp->rp_hello, data, len)) {
	case HELLO_MORE:
		return REQ_MORE;
	case HELLO_DONE:
		return REQ_DONE;
	case HELLO_BIG:
		return REQ_BIG;
	case HELLO_NOMEM:
		return REQ_NOMEM;
	default:
		return REQ_BAD;
	}
}

/*
 * Feeds the next len bytes of the stream.  When the parser pauses in
 * on_headers_complete it has consumed the head but for the final LF, which
 * is why the head ends one byte past what it reports consumed.
 */
enum req_result
req_feed(struct req_parser *rp, const char *data, size_t len)
{
	size_t	 n;

	if (rp->rp_hello != NULL)
		return req_feed_hello(rp, data, len);
	if (rp->rp_done)
		return REQ_DONE;
	n = http_parser_execute(&rp->rp_hp, &req_settings, data, len);
	switch (HTTP_PARSER_ERRNO(&rp->rp_hp)) {
	case HPE_OK:
		rp->rp_fed += n;
		return REQ_MORE;
	case HPE_PAUSED:
		/* HTTP/1.0 and 1.1 are routed; another version written out
		 * (0.9, 2.0, 9.9) names no request the front-end reads. */
		if (rp->rp_hp.http_major != 1)
			return REQ_BAD;
		rp->rp_head = rp->rp_fed + n + 1;
		rp->rp_done = 1;
		return REQ_DONE;
	case HPE_HEADER_OVERFLOW:
		return REQ_BIG;
	default:
		return REQ_BAD;
	}
}

size_t
req_head_len(const struct req_parser *rp)
{
	if (rp->rp_hello != NULL)
		return hello_len(rp->rp_hello);
	return rp->rp_done ? rp->rp_head : 0;
}

/* What a TLS service's complete ClientHello says; NULL before, or for
 * HTTP. */
const struct hello *
req_hello(const struct req_parser *rp)
{
	return rp->rp_hello != NULL ? hello_get(rp->rp_hello) : NULL;
}

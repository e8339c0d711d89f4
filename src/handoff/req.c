/*
 * Finding the end of an HTTP request head with http-parser, fed in pieces
 * as segments arrive.  The parser is paused at on_headers_complete, so it
 * never looks at the body: the body belongs to the back-end.
 */
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "handoff/handoff.h"

struct req_parser {
	http_parser	 rp_hp;
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

static const http_parser_settings req_settings = {
	.on_headers_complete = req_on_headers_complete,
};

struct req_parser *
req_new(void)
{
	struct req_parser *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	http_parser_init(&rp->rp_hp, HTTP_REQUEST);
	return rp;
}

void
req_free(struct req_parser *rp)
{
	free(rp);
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

	if (rp->rp_done)
		return REQ_DONE;
	n = http_parser_execute(&rp->rp_hp, &req_settings, data, len);
	switch (HTTP_PARSER_ERRNO(&rp->rp_hp)) {
	case HPE_OK:
		rp->rp_fed += n;
		return REQ_MORE;
	case HPE_PAUSED:
		rp->rp_head = rp->rp_fed + n + 1;
		rp->rp_done = 1;
		return REQ_DONE;
	default:
		return REQ_BAD;
	}
}

size_t
req_head_len(const struct req_parser *rp)
{
	return rp->rp_done ? rp->rp_head : 0;
}

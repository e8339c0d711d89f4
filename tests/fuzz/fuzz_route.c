/*
 * libFuzzer harness for request inspection: any bytes that make a request
 * head are routed or refused without reading out of bounds, and every
 * normalised path is canonical: it starts with '/', has no empty, "." or
 * ".." segment, and is no longer than what it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/handoff.h"
#include "handoff/route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_canonical(const char *p, size_t len, size_t from)
{
	size_t	 i, seg = 1;

	if (len == 0 || p[0] != '/' || len > from + 1 || strlen(p) != len)
		abort();
	for (i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		/* p[seg..i) is a segment; only the last may be empty */
		if ((i - seg == 0 && i < len) ||
		    (i - seg == 1 && p[seg] == '.') ||
		    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			abort();
		seg = i + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_req	*rr;
	struct req_parser	*rp;
	char			*buf, *out;
	size_t			 n;

	/* The path normaliser alone, on the whole input. */
	if ((out = malloc(size + 2)) == NULL)
		return 0;
	if (route_normalize_path((const char *)data, size, out, &n) == 0)
		check_canonical(out, n, size);
	free(out);

	/* A head as the front-end finds it, then inspected. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	rr = malloc(sizeof(*rr));
	rp = req_new();
	if (rr != NULL && rp != NULL &&
	    req_feed(rp, buf, size) == REQ_DONE && req_head_len(rp) <= size &&
	    route_inspect(buf, req_head_len(rp), rr) == ROUTE_OK) {
		/* "*" and CONNECT's empty path are taken as they are */
		if (rr->rr_pathlen > 0 && rr->rr_path[0] != '*')
			check_canonical(rr->rr_path, rr->rr_pathlen,
			    rr->rr_pathlen);
		route_req_free(rr);
	}
	req_free(rp);
	free(rr);
	free(buf);
	return 0;
}

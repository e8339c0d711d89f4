/*
 * libFuzzer harness for the ClientHello reader: any bytes are read
 * without going past them, fed whole or in pieces the same verdict comes
 * out, and what a complete ClientHello reports holds together: a server
 * name of name characters in lower case, as long as it says, an ALPN list
 * inside the message whose names can all be found in it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/hello.h"

#define FUZZ_MAX	4096	/* the captures in the corpus fit */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_hello(const struct hello *h, const uint8_t *msg, size_t len)
{
	size_t	 i, n;

	if (h->h_snilen > HELLO_NAME_MAX || strlen(h->h_sni) != h->h_snilen)
		abort();
	for (i = 0; i < h->h_snilen; i++)
		if (!(islower((unsigned char)h->h_sni[i]) ||
		    isdigit((unsigned char)h->h_sni[i]) ||
		    strchr("-_.", h->h_sni[i]) != NULL))
			abort();
	if (h->h_alpnlen == 0)
		return;
	if (msg != NULL && (h->h_alpn < msg ||
	    h->h_alpn + h->h_alpnlen > msg + len))
		abort();
	for (i = 0; i < h->h_alpnlen; i += n) {
		n = h->h_alpn[i++];
		if (n == 0 || i + n > h->h_alpnlen ||
		    !hello_alpn_has(h, (const char *)h->h_alpn + i, n))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hello_reader	*whole, *cut;
	enum hello_result	 rw, rc = HELLO_MORE;
	struct hello		 h;
	size_t			 step = size % 13 + 1, off, n;

	/* The input as one ClientHello body. */
	if (hello_parse(data, size, &h) == 0)
		check_hello(&h, data, size);

	/* The input as a stream, whole and in pieces. */
	whole = hello_new(FUZZ_MAX);
	cut = hello_new(FUZZ_MAX);
	if (whole == NULL || cut == NULL)
		goto done;
	rw = hello_feed(whole, data, size);
	for (off = 0; off < size && rc == HELLO_MORE; off += n) {
		n = size - off < step ? size - off : step;
		rc = hello_feed(cut, data + off, n);
	}
	if (rw != rc || hello_len(whole) != hello_len(cut) ||
	    hello_len(whole) > size || hello_len(whole) > FUZZ_MAX ||
	    (rw == HELLO_DONE) != (hello_get(whole) != NULL))
		abort();
	if (rw == HELLO_DONE) {
		check_hello(hello_get(whole), NULL, 0);
		if (strcmp(hello_get(whole)->h_sni, hello_get(cut)->h_sni) != 0)
			abort();
	}
done:
	hello_free(whole);
	hello_free(cut);
	return 0;
}

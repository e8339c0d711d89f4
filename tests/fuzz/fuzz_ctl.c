/*
 * libFuzzer harness for the control codec: decoding any bytes stays in
 * bounds, and whatever decodes re-encodes to the same frame.  The bytes
 * are what a peer that holds the key could send inside TLS; each input is
 * decoded twice, as after a HELLO (frame_max 64k) and as before one, when
 * nothing larger than CTL_HELLO_MAX may be accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/ctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_decode(const uint8_t *buf, size_t size, size_t frame_max)
{
	static uint8_t	 out[70000];
	struct ctl_msg	 m;
	const char	*why;
	size_t		 used, len, off = 0;

	while (off < size) {
		if (ctl_decode(buf + off, size - off, frame_max, &m, &used,
		    &why) != 1)
			break;
		if (used > frame_max)
			abort();
		len = ctl_encode(out, sizeof(out), &m);
		if (len != used || memcmp(out, buf + off, used) != 0)
			abort();
		off += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*buf;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	fuzz_decode(buf, size, 65536);
	fuzz_decode(buf, size, CTL_HELLO_MAX);
	free(buf);
	return 0;
}

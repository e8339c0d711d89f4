/*
 * libFuzzer harness for the control codec: decoding any bytes stays in
 * bounds, and whatever decodes re-encodes to the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/ctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t	 out[70000];
	struct ctl_msg	 m;
	const char	*why;
	uint8_t		*buf;
	size_t		 used, len, off = 0;
	int		 rc;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	while (off < size) {
		rc = ctl_decode(buf + off, size - off, 65536, &m, &used, &why);
		if (rc != 1)
			break;
		len = ctl_encode(out, sizeof(out), &m);
		if (len != used || memcmp(out, buf + off, used) != 0)
			abort();
		off += used;
	}
	free(buf);
	return 0;
}

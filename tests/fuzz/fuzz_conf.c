/*
 * libFuzzer harness for the configuration loader: whatever the bytes,
 * cfg_parse() returns a configuration or one line of error, never crashes,
 * never leaks, and never takes long (aliases, nesting and regular
 * expressions are bounded).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg	*c;
	char		 err[512];

	c = cfg_parse("fuzz.yaml", (const char *)data, size, err, sizeof(err));
	if (c == NULL && (err[0] == '\0' || strchr(err, '\n') != NULL))
		abort();	/* every error is exactly one line */
	cfg_free(c);
	return 0;
}

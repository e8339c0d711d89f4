/* The host checks on BSD: none yet (see hostcheck.h). */
#include "hostcheck.h"

int
hostcheck(const struct cfg *cfg, hostcheck_fn fn, void *arg)
{
	return 0;
}

int
hostcheck_congestion(char *buf, size_t len)
{
	return -1;
}

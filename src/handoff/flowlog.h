/*
 * The record of a flow at its end: client, VIP, the other node, bytes,
 * duration and why it ended, one line each, logged when the daemon runs
 * with -v.  Both roles end every flow through their one teardown, which
 * calls flowlog_end once.
 */
#ifndef HANDOFFD_FLOWLOG_H
#define HANDOFFD_FLOWLOG_H

#include <stdint.h>

#include "flow.h"

struct hd;

void	flowlog_end(const struct hd *, const struct flow *, const char *,
	    const struct ipaddr *, uint16_t, int, enum flow_end);

#endif

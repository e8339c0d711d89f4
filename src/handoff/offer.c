/*
 * What a front-end offers in its SYN/ACK for a service: only what every
 * stack that may end up owning the connection can honour, since the
 * client holds the whole connection to what it was offered once.
 */
#include <string.h>

#include "conf.h"
#include "handoff/handoff.h"

/* What each back-end stack takes from a client.  lwIP's segments are
 * bounded by its TCP_MSS (lwipopts.h); Linux takes any MSS the path has. */
static const struct fe_offer offer_caps[] = {
	[CFG_STACK_LWIP] =	{ 1460, 14, 1, 1 },
	[CFG_STACK_KERNEL] =	{ 65495, 14, 1, 1 },
};

static void
offer_meet(struct fe_offer *o, enum cfg_stack st)
{
	const struct fe_offer *c = &offer_caps[st];

	if (o->fo_mss > c->fo_mss)
		o->fo_mss = c->fo_mss;
	if (o->fo_ws > c->fo_ws)
		o->fo_ws = c->fo_ws;
	o->fo_sack &= c->fo_sack;
	o->fo_ts &= c->fo_ts;
}

static void
offer_pool(const struct cfg *cfg, const struct cfg_pool *pool,
    enum cfg_stack local, struct fe_offer *o)
{
	int	 i;

	for (i = 0; i < pool->cp_nmembers; i++) {
		int peer = pool->cp_members[i].cm_peer;

		if (peer >= 0)
			offer_meet(o, cfg->cfg_peers[peer].cp_stack);
		else
			offer_meet(o, local);
	}
}

/*
 * The offer for svc: the configured MSS and window shift, SACK and
 * timestamps, cut down to what every member of every pool the service
 * can route to honours.  In the lwip handshake this node's own requests
 * stay in lwIP; in the cookie handshake they go to this node's stack.
 */
void
fe_offer(const struct cfg *cfg, const struct cfg_service *svc,
    struct fe_offer *o)
{
	enum cfg_stack	 local;
	int		 i;

	local = svc->cs_handshake == CFG_HS_LWIP ? CFG_STACK_LWIP :
	    cfg->cfg_handoff.ch_stack;
	/* An IPv6 header is 20 bytes longer: the same MTU carries 20
	 * bytes less of a segment. */
	o->fo_mss = cfg->cfg_handoff.ch_mss -
	    (addr_is4(&svc->cs_vip.ep_addr) ? 0 : 20);
	o->fo_ws = cfg->cfg_handoff.ch_window_scale;
	o->fo_sack = 1;
	o->fo_ts = 1;
	offer_pool(cfg, &cfg->cfg_pools[svc->cs_pool_idx], local, o);
	for (i = 0; i < svc->cs_nrules; i++)
		offer_pool(cfg, &cfg->cfg_pools[svc->cs_rules[i].cr_pool_idx],
		    local, o);
}

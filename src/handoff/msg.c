/* Control messages to the roles they concern; see msg.h. */
#include <stddef.h>

#include "flow.h"
#include "handoffd.h"
#include "handoff/ctl.h"
#include "handoff/handoff.h"
#include "handoff/msg.h"

static void
msg_on_close(struct hd *hd, int peer, const struct ctl_close *cl)
{
	struct flow	*f = NULL;

	if (cl->cl_flow != 0)
		f = flow_by_handle(hd->hd_flows, cl->cl_flow);
	if (f != NULL && f->f_ops == &fe_flow_ops)
		fe_on_close(hd, peer, f, cl);
	else if (f != NULL && f->f_ops == &be_flow_ops)
		be_on_close(hd, peer, f, cl);
	else if (cl->cl_reason == CTL_CLOSE_ABORT)
		be_on_abort(hd, peer, cl);
	else if (cl->cl_reason == CTL_CLOSE_CANCEL)
		be_on_cancel(hd, peer, cl);
	else
		hd->hd_stats.st_ctl_stale++;
}

static void
msg_on_message(struct hd *hd, int peer, const struct ctl_msg *m)
{
	switch (m->m_type) {
	case CTL_HANDOFF:
		be_on_handoff(hd, peer, &m->m_u.handoff);
		break;
	case CTL_HANDOFF_ACK:
		fe_on_handoff_ack(hd, peer, &m->m_u.ack);
		break;
	case CTL_CLOSE:
		msg_on_close(hd, peer, &m->m_u.close);
		break;
	case CTL_LOOKUP:
		be_on_lookup(hd, peer, &m->m_u.lookup);
		break;
	case CTL_LOOKUP_ACK:
		fe_on_lookup_ack(hd, peer, &m->m_u.lack);
		break;
	case CTL_ICMP:
		be_on_icmp(hd, peer, &m->m_u.icmp);
		break;
	}
}

struct msg_count {
	int	 mc_peer;
	int	 mc_flows;
};

/* A flow that needs peer mc_peer's channel: the back-end's of a flow it
 * handed here, the front-end's of one it handed there. */
static void
msg_count_one(struct flow *f, void *arg)
{
	struct msg_count *mc = arg;

	if (f->f_peer != mc->mc_peer)
		return;
	if (f->f_ops == &be_flow_ops || (f->f_ops == &fe_flow_ops &&
	    (f->f_ctx == NULL || (f->f_flags & FLOW_ASSIGNED))))
		mc->mc_flows++;
}

/* Whether a flow needs peer's channel (a peer a reload removed is kept
 * while one does). */
int
msg_peer_needed(struct hd *hd, int peer)
{
	struct msg_count mc = { peer, 0 };

	flow_foreach(hd->hd_flows, msg_count_one, &mc);
	return mc.mc_flows > 0;
}

struct msg_up {
	struct hd	*mu_hd;
	int		 mu_peer;
};

static void
msg_up_one(struct flow *f, void *arg)
{
	struct msg_up	*mu = arg;

	if (f->f_peer != mu->mu_peer)
		return;
	if (f->f_ops == &fe_flow_ops)
		fe_resend(mu->mu_hd, f);
	else if (f->f_ops == &be_flow_ops)
		be_resend(mu->mu_hd, f);
}

/* A peer is back: a CLOSE written to the link that died, or read by a
 * process that died before handling it, is lost.  Each flow with that
 * peer says again what it said last (both roles take it twice), and so do
 * the flows moved away from it lately; requests that waited for it go. */
static void
msg_on_up(struct hd *hd, int peer)
{
	struct msg_up	 mu = { hd, peer };

	flow_foreach(hd->hd_flows, msg_up_one, &mu);
	be_resend_moves(hd, peer);
	fe_on_peer_up(hd);
}

const struct peer_handlers msg_handlers = {
	msg_on_message, fe_on_peer_down, fe_on_peer_gone, msg_peer_needed,
	msg_on_up
};

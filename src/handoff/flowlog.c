/* One line per ended flow; see flowlog.h. */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "handoff/flowlog.h"
#include "handoff/peer.h"

/*
 * role is "fe" or "be"; vaddr:vport the VIP (network order); peer the
 * other node of a handed-off flow (the back-end at a front-end, and the
 * other way round), -1 for none.
 */
void
flowlog_end(const struct hd *hd, const struct flow *f, const char *role,
    const struct ipaddr *vaddr, uint16_t vport, int peer, enum flow_end why)
{
	char	 c[ADDR_PORT_STRLEN], v[ADDR_PORT_STRLEN];

	if (log_getverbose() < 1)
		return;
	addr_port_str(&f->f_key.k_raddr, f->f_key.k_rport, c, sizeof(c));
	addr_port_str(vaddr, vport, v, sizeof(v));
	log_debug("flow: %s client %s vip %s %s %s bytes %llu ms %u "
	    "end %s", role, c, v,
	    role[0] == 'f' ? "member" : "frontend",
	    peer >= 0 ? peer_id(hd, peer) : "-",
	    (unsigned long long)f->f_bytes, hd->hd_now - f->f_start,
	    flow_end_name(why));
}

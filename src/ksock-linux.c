/* sock_diag's exact lookup of one TCP connection (ksock.h). */
#include <sys/socket.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "addr.h"
#include "ksock.h"
#include "nl.h"

static void
ksock_put(uint32_t *dst, const struct ipaddr *a)
{
	if (addr_is4(a))
		dst[0] = addr_get4(a);
	else
		memcpy(dst, a->a_w, sizeof(a->a_w));
}

int
ksock_live(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	struct {
		struct nlmsghdr		nh;
		struct inet_diag_req_v2	r;
	} req;
	union {
		struct nlmsghdr	 nh;
		char		 buf[1024];
	} rsp;
	struct nlmsghdr		*nh;
	const struct inet_diag_msg *m;
	ssize_t			 n;
	int			 len, rc = -1, err = EPROTO;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST;	/* one, not a dump */
	req.nh.nlmsg_seq = 1;
	req.r.sdiag_family = addr_is4(laddr) ? AF_INET : AF_INET6;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0U;
	req.r.id.idiag_sport = lport;
	req.r.id.idiag_dport = rport;
	ksock_put(req.r.id.idiag_src, laddr);
	ksock_put(req.r.id.idiag_dst, raddr);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if ((n = nl_ask(NETLINK_SOCK_DIAG, &req, sizeof(req), rsp.buf,
	    sizeof(rsp.buf))) == -1)
		return -1;
	len = (int)n;
	for (nh = &rsp.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_type == NLMSG_ERROR &&
		    nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			err = -((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			/* nothing on the 4-tuple */
			if (err == ENOENT)
				rc = 0;
			break;
		}
		if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(nh);
		/* The lookup falls back to a listener on the local end. */
		rc = m->idiag_state != TCP_TIME_WAIT &&
		    m->idiag_state != TCP_CLOSE &&
		    m->idiag_state != TCP_LISTEN &&
		    m->id.idiag_dport == rport;
		break;
	}
	if (rc == -1)
		errno = err;
	return rc;
}

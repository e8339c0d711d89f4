/* sock_diag's exact lookup of one TCP connection (ksock.h). */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "addr.h"
#include "ksock.h"
#include "log.h"
#include "nl.h"

void
ksock_init(struct ksock *ks, const char *ifname)
{
	memset(ks, 0, sizeof(*ks));
	snprintf(ks->ks_ifname, sizeof(ks->ks_ifname), "%s", ifname);
	ks->ks_state = KSOCK_UNTRIED;
}

static void
ksock_put(uint32_t *dst, const struct ipaddr *a)
{
	if (addr_is4(a))
		dst[0] = addr_get4(a);
	else
		memcpy(dst, a->a_w, sizeof(a->a_w));
}

/* The kernel's state of the socket on the 4-tuple (a listener on the
 * local end if none), or 0 for none; -1 with errno. */
static int
ksock_lookup(int ifindex, const struct ipaddr *laddr, uint16_t lport,
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
	int			 len, err;

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
	/* A socket bound to the device matches it, as an unbound one does
	 * (0 would match unbound ones only). */
	req.r.id.idiag_if = (uint32_t)ifindex;
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
			if (err == ENOENT)
				return 0;
			errno = err;
			return -1;
		}
		if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(nh);
		/* The lookup falls back to a listener on the local end. */
		if (m->idiag_state == TCP_LISTEN || m->id.idiag_dport != rport)
			return TCP_LISTEN;
		return m->idiag_state;
	}
	errno = EPROTO;
	return -1;
}

/* Whether lookups find anything here: a kernel without inet_diag (or
 * without tcp_diag) answers each "no such socket".  A listener of our
 * own, on any address, is what a lookup of its port must find.  -1 with
 * errno if the probe itself failed (no descriptor left: tried again at
 * the next lookup). */
static int
ksock_probe(struct ksock *ks)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct ipaddr		 lo = addr4(htonl(INADDR_LOOPBACK));
	int			 fd, st = -1, err;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(fd, 1) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		st = ksock_lookup(0, &lo, sin.sin_port, &lo, htons(1));
	err = errno;
	close(fd);
	if (st == TCP_LISTEN)
		ks->ks_state = KSOCK_WORKS;
	else if (st == 0) {
		ks->ks_state = KSOCK_CANNOT;
		log_warnx("sock_diag finds no TCP sockets here (inet_diag "
		    "and tcp_diag not loaded?): a lingering connection keeps "
		    "its client's endpoint for its whole linger");
	} else {
		errno = err;
		return -1;
	}
	return 0;
}

int
ksock_live(struct ksock *ks, const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	int	 st;

	if (ks->ks_state == KSOCK_UNTRIED && ksock_probe(ks) == -1)
		return -1;
	if (ks->ks_state == KSOCK_CANNOT) {
		errno = ENOSYS;
		return -1;
	}
	if ((st = ksock_lookup((int)if_nametoindex(ks->ks_ifname), laddr,
	    lport, raddr, rport)) == -1)
		return -1;
	return st != 0 && st != TCP_LISTEN && st != TCP_TIME_WAIT &&
	    st != TCP_CLOSE;
}

/* The host checks on Linux; see hostcheck.h. */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "hostcheck.h"
#include "nl.h"

/* Where the kernel stack's answers are tried: an address of TEST-NET-1
 * (of IPv6's documentation prefix), as far from any client as any other. */
#define HOSTCHECK_CLIENT	"192.0.2.1"
#define HOSTCHECK_CLIENT6	"2001:db8::1"

struct hostcheck_ctx {
	hostcheck_fn	 hc_fn;
	void		*hc_arg;
	int		 hc_n;
};

static void __attribute__((format(printf, 2, 3)))
hostcheck_warn(struct hostcheck_ctx *hc, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hc->hc_fn(hc->hc_arg, msg);
	hc->hc_n++;
}

/* A number of /proc/sys/net/FAMILY/ (a device's, under conf/DEV/ if dev
 * is set), -1 if it cannot be read. */
static int
hostcheck_sysctl_af(const char *family, const char *dev, const char *name)
{
	char	 path[128];
	FILE	*fp;
	int	 v;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/%s%s%s%s", family,
	    dev != NULL ? "conf/" : "", dev != NULL ? dev : "",
	    dev != NULL ? "/" : "", name);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(fp, "%d", &v) != 1)
		v = -1;
	fclose(fp);
	return v;
}

int
hostcheck_congestion(char *buf, size_t len)
{
	FILE	*fp;
	int	 rc = -1;

	if (len == 0 || (fp = fopen("/proc/sys/net/ipv4/tcp_congestion_control",
	    "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, fp) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		rc = buf[0] != '\0' ? 0 : -1;
	}
	fclose(fp);
	return rc;
}

/* A number of /proc/sys/net/ipv4/ (a device's, under conf/DEV/ if dev
 * is set), -1 if it cannot be read. */
static int
hostcheck_sysctl(const char *dev, const char *name)
{
	return hostcheck_sysctl_af("ipv4", dev, name);
}

/* The device's flags; -1 when there is no such device. */
static int
hostcheck_ifflags(const char *name, short *flags)
{
	struct ifreq	 ifr;
	int		 fd, rc;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	*flags = ifr.ifr_flags;
	return rc;
}

/* Appends an address attribute (of a's family) to a netlink request. */
static void
hostcheck_rta(struct nlmsghdr *nh, int type, const struct ipaddr *a)
{
	struct rtattr	*rta = (struct rtattr *)(void *)((char *)nh +
			    NLMSG_ALIGN(nh->nlmsg_len));
	size_t		 n = addr_is4(a) ? 4 : 16;

	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(n);
	memcpy(RTA_DATA(rta), addr_is4(a) ? &a->a_w[3] : a->a_w, n);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/*
 * The route the kernel takes to dst, from src if not NULL, as "ip route
 * get" asks for it: its output device and its type (RTN_LOCAL for an
 * address of this host).  -1 with errno when there is none.
 */
static int
hostcheck_route(const struct ipaddr *dst, const struct ipaddr *src,
    int *oif, int *type)
{
	struct {
		struct nlmsghdr	 nh;
		struct rtmsg	 rt;
		char		 attrs[64];
	} req;
	char			 buf[8192];
	struct nlmsghdr		*nh;
	struct rtmsg		*rt;
	struct rtattr		*rta;
	ssize_t			 n;
	int			 len, alen, rc = -1, err = ENETUNREACH;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = addr_is4(dst) ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = addr_is4(dst) ? 32 : 128;
	hostcheck_rta(&req.nh, RTA_DST, dst);
	if (src != NULL) {
		req.rt.rtm_src_len = req.rt.rtm_dst_len;
		hostcheck_rta(&req.nh, RTA_SRC, src);
	}
	if ((n = nl_ask(NETLINK_ROUTE, &req, req.nh.nlmsg_len, buf,
	    sizeof(buf))) == -1)
		return -1;
	len = (int)n;
	for (nh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nh, len);
	    nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_type == NLMSG_ERROR &&
		    nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			err = -((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWROUTE ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
			continue;
		rt = NLMSG_DATA(nh);
		*type = rt->rtm_type;
		*oif = 0;
		alen = (int)RTM_PAYLOAD(nh);
		for (rta = RTM_RTA(rt); RTA_OK(rta, alen);
		    rta = RTA_NEXT(rta, alen))
			if (rta->rta_type == RTA_OIF &&
			    RTA_PAYLOAD(rta) >= sizeof(int))
				memcpy(oif, RTA_DATA(rta), sizeof(int));
		rc = 0;
		break;
	}
	if (rc == -1)
		errno = err;
	return rc;
}

/* The name of a device by index, for messages. */
static const char *
hostcheck_ifname(int idx, char *buf)
{
	if (idx == 0 || if_indextoname((unsigned int)idx, buf) == NULL)
		snprintf(buf, IF_NAMESIZE, "nowhere");
	return buf;
}

/* Reverse-path filtering: the kernel applies the larger of "all" and
 * the device's (or "default" for one not created yet); 1 is strict. */
static void
hostcheck_rp_filter(struct hostcheck_ctx *hc, const char *dev, int exists)
{
	int		 all = hostcheck_sysctl("all", "rp_filter");
	int		 d = hostcheck_sysctl(exists ? dev : "default",
			    "rp_filter");

	if ((all > d ? all : d) != 1)
		return;
	hostcheck_warn(hc, "reverse-path filtering is strict on %s "
	    "(net.ipv4.conf.all.rp_filter %d, net.ipv4.conf.%s.rp_filter %d: "
	    "the kernel takes the larger): the packets the daemon writes "
	    "there with its clients' addresses are dropped (sysctl -w "
	    "net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=0)",
	    dev, all, exists ? dev : "default", d, exists ? dev : "default");
}

/* A VIP must be routed into the device, or its SYNs never reach us: fine
 * on a node that is only a back-end, whose clients arrive handed off. */
static void
hostcheck_vip(struct hostcheck_ctx *hc, const struct cfg_service *cs,
    const char *dev, int idx)
{
	char		 vip[ADDR_STRLEN], out[IF_NAMESIZE];
	const char	*ip = addr_is4(&cs->cs_vip.ep_addr) ? "ip" : "ip -6";
	int		 len = addr_is4(&cs->cs_vip.ep_addr) ? 32 : 128;
	int		 oif, type;

	addr_str(&cs->cs_vip.ep_addr, vip, sizeof(vip));
	if (hostcheck_route(&cs->cs_vip.ep_addr, NULL, &oif, &type) == -1)
		hostcheck_warn(hc, "service %s: %s is not routed: %s, so this "
		    "node front-ends none of its clients (%s route add %s/%d "
		    "dev %s)", cs->cs_name, vip, strerror(errno), ip, vip, len,
		    dev);
	else if (type == RTN_LOCAL)
		hostcheck_warn(hc, "service %s: %s is an address of this host, "
		    "so its packets never reach %s (remove it, and %s route "
		    "add %s/%d dev %s)", cs->cs_name, vip, dev, ip, vip, len,
		    dev);
	else if (oif != idx)
		hostcheck_warn(hc, "service %s: %s is routed to %s, not into %s, "
		    "so this node front-ends none of its clients (%s route "
		    "add %s/%d dev %s)", cs->cs_name, vip,
		    hostcheck_ifname(oif, out), dev, ip, vip, len, dev);
}

/* What the web server sends from srv to a client (a documentation address
 * of srv's family) must come back into the device. */
static void
hostcheck_kernel_route(struct hostcheck_ctx *hc, const struct cfg *cfg,
    const struct ipaddr *srv, const char *dev, int idx)
{
	struct ipaddr	 client = addr4(inet_addr(HOSTCHECK_CLIENT));
	const char	*ip = "ip", *who = "clients";
	char		 s[ADDR_STRLEN], out[IF_NAMESIZE];
	int		 oif = 0, type;

	if (!addr_is4(srv)) {
		inet_pton(AF_INET6, HOSTCHECK_CLIENT6, client.a_w);
		ip = "ip -6";
		who = "IPv6 clients";
	}
	if (hostcheck_route(&client, srv, &oif, &type) == 0 && oif == idx)
		return;
	addr_str(srv, s, sizeof(s));
	hostcheck_warn(hc, "handoff.stack kernel: what the web server at %s "
	    "sends to %s goes %s%s, not back into %s (%s rule add from %s%s "
	    "lookup %d; %s route add default dev %s table %d)", s, who,
	    oif != 0 ? "to " : "", hostcheck_ifname(oif, out), dev, ip, s,
	    addr_is4(srv) ? "" : " iif lo", cfg->cfg_tun.ct_table, ip, dev,
	    cfg->cfg_tun.ct_table);
}

/* With the kernel stack, what the web server sends to a client from its
 * address (and its IPv6 one) must come back into the device, for the
 * daemon to rewrite. */
static void
hostcheck_kernel(struct hostcheck_ctx *hc, const struct cfg *cfg,
    const char *dev, int idx)
{
	/* The front-end promised timestamps to clients that offered them;
	 * a kernel without them sends its segments bare. */
	if (hostcheck_sysctl(NULL, "tcp_timestamps") == 0)
		hostcheck_warn(hc, "handoff.stack kernel: net.ipv4.tcp_timestamps "
		    "is 0, so clients that agreed to timestamps with the "
		    "front-end get segments without them, which a client that "
		    "follows RFC 7323 strictly drops (sysctl -w "
		    "net.ipv4.tcp_timestamps=1)");
	/* A handoff to a client port whose last connection the kernel still
	 * holds in TIME_WAIT ends that one with a reset (be.c's TIME_WAIT
	 * rule), which RFC 1337's protection ignores. */
	if (hostcheck_sysctl(NULL, "tcp_rfc1337") == 1)
		hostcheck_warn(hc, "handoff.stack kernel: net.ipv4.tcp_rfc1337 "
		    "is 1, so the kernel ignores the reset that ends its "
		    "TIME_WAIT connection when a client comes back from the "
		    "same port, and that handoff fails (sysctl -w "
		    "net.ipv4.tcp_rfc1337=0)");
	hostcheck_kernel_route(hc, cfg, &cfg->cfg_node.cn_server.ep_addr, dev,
	    idx);
	if (!addr_is_none(&cfg->cfg_node.cn_server6))
		hostcheck_kernel_route(hc, cfg, &cfg->cfg_node.cn_server6, dev,
		    idx);
}

/* With the lwIP stack, lwIP's IPv6 address must be routed into the device
 * (as its IPv4 one is, by tun.address's prefix), or the client's packets
 * of the IPv6 connections handed to it never reach it. */
static void
hostcheck_lwip6(struct hostcheck_ctx *hc, const struct cfg *cfg,
    const char *dev, int idx)
{
	const struct ipaddr *a = &cfg->cfg_lwip.cl_addr6;
	char		 s[ADDR_STRLEN], out[IF_NAMESIZE];
	int		 oif = 0, type = 0;

	if (addr_is_none(a))
		return;
	if (hostcheck_route(a, NULL, &oif, &type) == 0 && oif == idx &&
	    type != RTN_LOCAL)
		return;
	addr_str(a, s, sizeof(s));
	if (type == RTN_LOCAL)
		hostcheck_warn(hc, "lwip.address6 %s is an address of this "
		    "host, so the IPv6 connections handed to this node never "
		    "reach lwIP (remove it, and ip -6 route add %s/128 dev %s)",
		    s, s, dev);
	else
		hostcheck_warn(hc, "lwip.address6 %s is routed %s%s, not into "
		    "%s, so the IPv6 connections handed to this node never "
		    "reach lwIP (ip -6 route add %s/128 dev %s)", s,
		    oif != 0 ? "to " : "", hostcheck_ifname(oif, out), dev, s,
		    dev);
}

/* Calls fn for everything on this host that contradicts cfg; returns how
 * many. */
int
hostcheck(const struct cfg *cfg, hostcheck_fn fn, void *arg)
{
	struct hostcheck_ctx	 hc = { fn, arg, 0 };
	const char		*dev = cfg->cfg_tun.ct_name;
	short			 flags;
	int			 i, idx;

	if (hostcheck_sysctl(NULL, "ip_forward") == 0)
		hostcheck_warn(&hc, "net.ipv4.ip_forward is 0: the kernel "
		    "forwards neither clients' packets into %s nor the "
		    "daemon's out of it (sysctl -w net.ipv4.ip_forward=1)",
		    dev);
	for (i = 0; i < cfg->cfg_nservices; i++)
		if (!addr_is4(&cfg->cfg_services[i].cs_vip.ep_addr))
			break;
	if (i < cfg->cfg_nservices &&
	    hostcheck_sysctl_af("ipv6", "all", "forwarding") != 1)
		hostcheck_warn(&hc, "net.ipv6.conf.all.forwarding is not 1, "
		    "and service %s is IPv6: the kernel forwards neither its "
		    "clients' packets into %s nor the daemon's out of it "
		    "(sysctl -w net.ipv6.conf.all.forwarding=1)",
		    cfg->cfg_services[i].cs_name, dev);
	if (hostcheck_ifflags(dev, &flags) == -1) {
		hostcheck_warn(&hc, "tun %s does not exist: the daemon creates "
		    "it, but no route leads into it yet (handoffd-setup up "
		    "prepares it)", dev);
		hostcheck_rp_filter(&hc, dev, 0);
		return hc.hc_n;
	}
	if (!(flags & IFF_UP) && !cfg->cfg_tun.ct_has_addr)
		hostcheck_warn(&hc, "tun %s is down (ip link set %s up)", dev,
		    dev);
	hostcheck_rp_filter(&hc, dev, 1);
	idx = (int)if_nametoindex(dev);
	for (i = 0; i < cfg->cfg_nservices; i++)
		hostcheck_vip(&hc, &cfg->cfg_services[i], dev, idx);
	if (cfg->cfg_handoff.ch_stack == CFG_STACK_KERNEL)
		hostcheck_kernel(&hc, cfg, dev, idx);
	else
		hostcheck_lwip6(&hc, cfg, dev, idx);
	return hc.hc_n;
}

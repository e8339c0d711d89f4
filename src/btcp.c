/* The packet layer between the TUN and the stacks; see btcp.h. */
#include <errno.h>
#include <string.h>

#include "btcp.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "pkt.h"
#include "tun.h"

/* Packets read per wakeup: bounds the time one busy TUN can hold the loop. */
#define BTCP_BATCH	64

static struct log_rl btcp_rl_write;

static const struct pkt_meta btcp_no_meta;

/* Writes one packet into the TUN for the kernel to route; m carries its
 * offload state (NULL: a plain packet). */
void
btcp_tun_send(struct hd *hd, const uint8_t *pkt, size_t len,
    const struct pkt_meta *m)
{
	const struct btcp_tun *bt = &hd->hd_tun_out;

	if (bt->bt_write == NULL)	/* a stopping node's last words */
		return;
	if (!bt->bt_offload)
		m = NULL;
	else if (m == NULL)
		m = &btcp_no_meta;
	if (bt->bt_write(bt->bt_arg, pkt, len, m) != (ssize_t)len) {
		hd->hd_stats.st_tun_tx_errors++;
		log_ratelim(&btcp_rl_write, "tun write: %s", strerror(errno));
		return;
	}
	hd->hd_stats.st_tun_tx_pkts++;
	hd->hd_stats.st_tun_tx_bytes += len;
}

/* Gives a packet to lwIP, which verifies checksums the kernel may have
 * left partial. */
void
btcp_to_lwip(struct hd *hd, struct pkt *p)
{
	pkt_csum_finish(p);
	hd->hd_stats.st_to_lwip++;
	tunif_input(hd->hd_lwip, p->p_ip, p->p_len);
}

/* Sends a bare reset; addresses and ports in network order. */
void
btcp_rst(struct hd *hd, const struct ipaddr *saddr, uint16_t sport,
    const struct ipaddr *daddr, uint16_t dport, uint32_t seq, uint32_t ack,
    uint8_t flags)
{
	size_t	 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, saddr, sport, daddr,
	    dport, seq, ack, TH_RST | flags, 0, NULL, NULL, 0, 0);
	if (n > 0)
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
}

/* A bare ACK the client finds out of its window, which it answers with an
 * ACK naming where it is (RFC 793's "unacceptable segment"): what a reset
 * must say to be taken (RFC 5961), learnt from the client itself. */
void
btcp_probe(struct hd *hd, const struct ipaddr *saddr, uint16_t sport,
    const struct ipaddr *daddr, uint16_t dport, uint32_t seq, uint32_t ack)
{
	size_t	 n;

	n = pkt_build_tcp(hd->hd_txbuf, PKT_MAXLEN, saddr, sport, daddr,
	    dport, seq, ack, TH_ACK, 0, NULL, NULL, 0, 0);
	if (n > 0)
		btcp_tun_send(hd, hd->hd_txbuf, n, NULL);
}

/* The reset a TCP sends for a segment of no connection (RFC 793, "reset
 * generation"); a reset gets none. */
void
btcp_reply_rst(struct hd *hd, const struct pkt *p)
{
	uint32_t	 len;

	if (p->p_flags & TH_RST)
		return;
	if (p->p_flags & TH_ACK) {
		btcp_rst(hd, &p->p_daddr, p->p_dport, &p->p_saddr, p->p_sport,
		    p->p_ack, 0, 0);
		return;
	}
	len = p->p_paylen + !!(p->p_flags & TH_SYN) + !!(p->p_flags & TH_FIN);
	btcp_rst(hd, &p->p_daddr, p->p_dport, &p->p_saddr, p->p_sport, 0,
	    p->p_seq + len, TH_ACK);
}

/* The service listening on a VIP:port, or NULL. */
const struct cfg_service *
btcp_service(const struct hd *hd, const struct ipaddr *addr, uint16_t port)
{
	int	 i = cfg_service_at(hd->hd_cfg, addr, port);

	return i >= 0 ? &hd->hd_cfg->cfg_services[i] : NULL;
}

/* Whether addr is one of this node's VIPs, on any port. */
static int
btcp_is_vip(const struct hd *hd, const struct ipaddr *addr)
{
	int	 i;

	for (i = 0; i < hd->hd_cfg->cfg_nservices; i++)
		if (addr_eq(&hd->hd_cfg->cfg_services[i].cs_vip.ep_addr, addr))
			return 1;
	return 0;
}

/* Whether addr is one of lwIP's stack addresses (lwip.address,
 * lwip.address6). */
int
btcp_is_lwip_stack(const struct hd *hd, const struct ipaddr *addr)
{
	const struct cfg_lwip	*cl = &hd->hd_cfg->cfg_lwip;

	return addr_eq4(addr, cl->cl_addr) ||
	    (!addr_is_none(&cl->cl_addr6) && addr_eq(addr, &cl->cl_addr6));
}

/*
 * The ICMPv6 lwIP may see: echo requests, which it answers at its
 * addresses as it does for IPv4.  Not neighbour discovery, redirects or
 * router advertisements: no one on a TUN link has a say in lwIP's routes;
 * nor a packet too big that is no flow's (btcp_icmp): lwIP's TCP takes
 * none, as it takes no IPv4 fragmentation-needed.
 */
static int
btcp_icmp6_for_lwip(const struct pkt *p)
{
	return p->p_proto == PKT_IPPROTO_ICMPV6 &&
	    p->p_len >= PKT_IP6_HLEN + 8 &&
	    p->p_ip[PKT_IP6_HLEN] == ICMP6_ECHO_REQ;
}

/* An ICMP error about a flow's segment, for the flow's owner; 1 if it
 * took the packet. */
static int
btcp_icmp(struct hd *hd, struct pkt *p)
{
	struct pkt_icmp	 ic;
	struct flow_key	 k;
	struct flow	*f;

	if (pkt_icmp_parse(p, &ic) == -1 || !pkt_icmp_csum_ok(p))
		return 0;
	/* The quoted segment went from our side to the client. */
	flow_key_set(&k, &ic.ic_idst, ic.ic_idport, &ic.ic_isrc, ic.ic_isport);
	if ((f = flow_lookup(hd->hd_flows, &k)) == NULL) {
		if (hd->hd_icmp_input != NULL &&
		    btcp_service(hd, &ic.ic_isrc, ic.ic_isport) != NULL)
			return hd->hd_icmp_input(hd, p, &ic);
		return 0;
	}
	if (f->f_ops->fo_icmp == NULL)
		return 0;
	return f->f_ops->fo_icmp(hd, f, p, &ic);
}

/* One packet from the TUN: parse, look up, hand to its owner. */
static void
btcp_dispatch(struct hd *hd, uint8_t *buf, size_t len,
    const struct pkt_meta *m)
{
	struct pkt		 p;
	struct flow_key		 k;
	struct flow		*f;
	const struct cfg_service *svc;
	enum pkt_verdict	 v;

	v = pkt_parse(&p, buf, len);
	if (v == PKT_NOT_TCP) {
		if (btcp_icmp(hd, &p))
			return;
		if (p.p_v6 && !btcp_icmp6_for_lwip(&p)) {
			hd->hd_stats.st_drop[v]++;
			return;
		}
		hd->hd_stats.st_to_lwip++;
		tunif_input(hd->hd_lwip, buf, p.p_len);
		return;
	}
	if (v != PKT_OK) {
		hd->hd_stats.st_drop[v]++;
		return;
	}
	p.p_meta = *m;
	/* The kernel stack's packets, brought into the TUN by policy
	 * routing: the flow is keyed from the client's side. */
	if (p.p_v6 ? !addr_is_none(&hd->hd_kstack_addr6) &&
	    addr_eq(&p.p_saddr, &hd->hd_kstack_addr6) :
	    addr_eq(&p.p_saddr, &hd->hd_kstack_addr)) {
		flow_key_out(&k, &p);
		if ((f = flow_lookup(hd->hd_flows, &k)) != NULL) {
			if (f->f_ops->fo_output(hd, f, &p))
				btcp_tun_send(hd, p.p_ip, p.p_len, &p.p_meta);
		} else {
			/* No client has a VIP's address: from the server's
			 * address to a VIP is a LAN host's spoof (IPv6 routes
			 * it here as a VIP's packet), which gets no reset. */
			hd->hd_stats.st_drop_stale++;
			if (!btcp_is_vip(hd, &p.p_daddr))
				btcp_reply_rst(hd, &p);
		}
		return;
	}
	flow_key_in(&k, &p);
	if ((f = flow_lookup(hd->hd_flows, &k)) != NULL) {
		f->f_ops->fo_input(hd, f, &p);
		return;
	}
	if ((svc = btcp_service(hd, &p.p_daddr, p.p_dport)) != NULL &&
	    hd->hd_vip_input(hd, svc, &p))
		return;
	/* lwIP's stack addresses take only the connections injected into
	 * them: a segment of no flow there (a spoofed SYN) never reaches
	 * them. */
	if (btcp_is_lwip_stack(hd, &p.p_daddr)) {
		hd->hd_stats.st_drop_no_flow++;
		return;
	}
	/* No flow: lwIP answers as any TCP would (a RST, or nothing). */
	btcp_to_lwip(hd, &p);
}

/* One packet from the TUN, handled at one instant (port_clock_hold). */
void
btcp_input(struct hd *hd, uint8_t *buf, size_t len, const struct pkt_meta *m)
{
	port_clock_hold();
	btcp_dispatch(hd, buf, len, m);
	port_clock_release();
}

/* The TUN is readable: drain up to a batch of packets. */
void
btcp_tun_readable(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	struct pkt_meta	 m;
	ssize_t		 n;
	int		 i;

	hd->hd_now = port_now_ms();
	memset(&m, 0, sizeof(m));
	for (i = 0; i < BTCP_BATCH; i++) {
		n = tun_read(fd, hd->hd_rxbuf, PKT_MAXLEN,
		    hd->hd_tun_out.bt_offload ? &m : NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("tun read");
			return;
		}
		hd->hd_stats.st_tun_rx_pkts++;
		hd->hd_stats.st_tun_rx_bytes += n;
		if (n == 0) {
			hd->hd_stats.st_drop[PKT_NOT_IP]++;
			continue;
		}
		btcp_input(hd, hd->hd_rxbuf, (size_t)n, &m);
	}
}

/*
 * lwIP sends a packet (m: a super-packet of its segments, or NULL).  Its
 * flow's owner may watch it, rewrite it for the client, or hold it back; a
 * TCP packet from the stack address that belongs to no flow is a leftover
 * of a flow we forgot, and must not reach a client with the stack's own
 * address on it.
 */
void
btcp_lwip_output(void *arg, uint8_t *buf, size_t len,
    const struct pkt_meta *m)
{
	struct hd	*hd = arg;
	struct pkt	 p;
	struct flow_key	 k;
	struct flow	*f;
	int		 send = 1;

	if (pkt_parse(&p, buf, len) == PKT_OK) {
		if (m != NULL)
			p.p_meta = *m;
		flow_key_out(&k, &p);
		if ((f = flow_lookup(hd->hd_flows, &k)) != NULL)
			send = f->f_ops->fo_output(hd, f, &p);
		else if (btcp_is_lwip_stack(hd, &p.p_saddr)) {
			hd->hd_stats.st_drop_stale++;
			send = 0;
		}
		if (send)
			btcp_tun_send(hd, p.p_ip, p.p_len, &p.p_meta);
		return;
	}
	btcp_tun_send(hd, buf, len, m);
}

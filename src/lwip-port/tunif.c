/* lwIP netifs over the TUN link; see tunif.h. */
#include <string.h>

#include <openssl/rand.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "log.h"
#include "lwip_hooks.h"
#include "pkt.h"
#include "port.h"
#include "sipkey.h"
#include "tunif.h"

/* Sends one packet as it is, but for the TCP checksum, which lwIP leaves to
 * us when segments may be joined (tunif_gso): summed here for a packet that
 * goes alone.  Each segment's sum is done once, where it is needed. */
static void
tunif_out_whole(struct tunif *ti, uint8_t *buf, size_t len)
{
	struct pkt	 p;

	if (ti->ti_gso && pkt_parse(&p, buf, len) == PKT_OK &&
	    p.p_tcp != NULL)
		pkt_tcp_csum_set(&p);
	ti->ti_out(ti->ti_arg, buf, len, NULL);
}

/* Sends the super-packet being joined, if any: its IP length (and IPv4
 * checksum) for the whole, its TCP checksum left to the kernel (partial,
 * over the pseudo-header alone), which sums each segment as it cuts them. */
void
tunif_flush(struct tunif *ti)
{
	struct pkt	 p;
	uint8_t		*g = ti->ti_gbuf;
	size_t		 len = ti->ti_glen;
	int		 v6 = (g[0] >> 4) == 6;

	if (len == 0)
		return;
	ti->ti_glen = 0;
	if (ti->ti_gsegs == 1) {
		tunif_out_whole(ti, g, len);
		return;
	}
	if (v6)
		pkt_put16(g + IP6_OFF_PLEN, (uint16_t)(len - PKT_IP6_HLEN));
	else {
		pkt_put16(g + IP_OFF_TOTLEN, (uint16_t)len);
		pkt_put16(g + IP_OFF_CSUM, 0);
		pkt_put16(g + IP_OFF_CSUM, pkt_ip_csum(g, (g[0] & 0x0f) * 4));
	}
	/* What tunif_join built parses: it was two such packets. */
	if (pkt_parse(&p, g, len) != PKT_OK || p.p_tcp == NULL)
		fatalx("tunif: a joined super-packet does not parse");
	pkt_tcp_csum_seed(&p);
	p.p_meta.pm_gso_tcp4 = !v6;
	p.p_meta.pm_gso_tcp6 = v6;
	p.p_meta.pm_gso_size = ti->ti_gsize;
	p.p_meta.pm_hdr_len = ti->ti_ghlen;
	ti->ti_out(ti->ti_arg, g, len, &p.p_meta);
}

/* Whether two packets' IP headers are the same but for their lengths, IDs
 * and checksums (IPv4) or payload lengths (IPv6). */
static int
tunif_same_ip(const uint8_t *a, const uint8_t *b, const struct pkt *p)
{
	if (p->p_v6)
		return (a[0] >> 4) == 6 && memcmp(a, b, 4) == 0 &&
		    memcmp(a + IP6_OFF_NH, b + IP6_OFF_NH,
		    PKT_IP6_HLEN - IP6_OFF_NH) == 0;
	return (a[0] >> 4) == 4 && a[1] == b[1] &&	/* TOS and ECN */
	    memcmp(a + IP_OFF_TTL, b + IP_OFF_TTL, 2) == 0 &&
	    memcmp(a + IP_OFF_SRC, b + IP_OFF_SRC, 8) == 0;
}

/*
 * Joins a segment to the super-packet being built if it continues it:
 * the same headers but the sequence number and PSH, no longer than the
 * segments before it, which must all be full.  Otherwise, if it could
 * start one, sends what is held and starts anew.  Returns 0 for a packet
 * that cannot be part of a super-packet (control, empty, not TCP).
 */
static int
tunif_join(struct tunif *ti, uint8_t *buf, size_t len)
{
	struct pkt	 p;
	uint8_t		*g = ti->ti_gbuf;
	uint16_t	 hlen;

	if (pkt_parse(&p, buf, len) != PKT_OK || p.p_paylen == 0 ||
	    (p.p_flags & ~TH_PUSH) != TH_ACK)
		return 0;
	hlen = p.p_iphl + p.p_thl;
	if (ti->ti_glen > 0 && hlen == ti->ti_ghlen &&
	    p.p_seq == ti->ti_gnext && ti->ti_glast == ti->ti_gsize &&
	    p.p_paylen <= ti->ti_gsize &&
	    ti->ti_glen + p.p_paylen <= sizeof(ti->ti_gbuf) - 1 &&
	    tunif_same_ip(g, buf, &p) &&
	    memcmp(g + p.p_iphl, p.p_tcp, TCP_OFF_SEQ) == 0 &&
	    memcmp(g + p.p_iphl + TCP_OFF_ACK, p.p_tcp + TCP_OFF_ACK, 5) == 0 &&
	    memcmp(g + p.p_iphl + TCP_OFF_WIN, p.p_tcp + TCP_OFF_WIN, 2) == 0 &&
	    memcmp(g + p.p_iphl + PKT_TCP_HLEN, p.p_tcp + PKT_TCP_HLEN,
	    p.p_thl - PKT_TCP_HLEN) == 0) {
		memcpy(g + ti->ti_glen, p.p_tcp + p.p_thl, p.p_paylen);
		g[p.p_iphl + TCP_OFF_FLAGS] |= p.p_flags & TH_PUSH;
		ti->ti_glen += p.p_paylen;
		ti->ti_gsegs++;
		ti->ti_glast = p.p_paylen;
		ti->ti_gnext += p.p_paylen;
		return 1;
	}
	if (ti->ti_glen > 0)
		tunif_flush(ti);
	else
		ti->ti_after(ti->ti_arg);
	memcpy(g, buf, p.p_len);
	ti->ti_glen = p.p_len;
	ti->ti_gsegs = 1;
	ti->ti_ghlen = hlen;
	ti->ti_gsize = ti->ti_glast = p.p_paylen;
	ti->ti_gnext = p.p_seq + p.p_paylen;
	return 1;
}

/*
 * An IPv4 packet's ID (RFC 6864).  lwIP takes every ID from one counter,
 * which anyone it sends to reads off their own packets: between two of
 * theirs, it counts the packets lwIP sent everyone else, such as the
 * answers a segment forged in a client's name drew, and so tells an
 * off-path attacker which ports and sequence numbers are live (the
 * inference of CVE-2016-5696).  lwIP sets no DF, so an ID must not come
 * back soon between the same hosts: each destination takes IDs from one
 * of TUNIF_ID_BUCKETS counters started at random, picked by a keyed hash
 * of its address, as Linux does (with 65536, an attacker's /24 shares a
 * given client's 1 time in 256).  A segment joined into a super-packet
 * takes its ID too: the kernel numbers the segments it cuts from the
 * first one's.  A hash that cannot be computed takes the first counter
 * rather than stop the daemon.
 */
static void
tunif_ipid(struct tunif *ti, uint8_t *buf, size_t len)
{
	uint8_t		 md[SIPKEY_OUT];
	size_t		 ihl;
	uint32_t	 h = 0;

	if (len < PKT_IP_HLEN || (buf[0] >> 4) != 4)
		return;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < PKT_IP_HLEN || ihl > len)
		return;
	if (ti->ti_id_last == NULL ||
	    memcmp(ti->ti_id_dst, buf + IP_OFF_DST, 4) != 0) {
		if (sipkey_hash(ti->ti_id_key, buf + IP_OFF_DST, 4, md) == 0)
			h = pkt_get32(md);
		ti->ti_id_last = &ti->ti_ids[h % TUNIF_ID_BUCKETS];
		memcpy(ti->ti_id_dst, buf + IP_OFF_DST, 4);
	}
	pkt_put16(buf + IP_OFF_ID, (*ti->ti_id_last)++);
	pkt_put16(buf + IP_OFF_CSUM, 0);
	pkt_put16(buf + IP_OFF_CSUM, pkt_ip_csum(buf, ihl));
}

/* lwIP hands over a finished packet, possibly chained. */
static err_t
tunif_send(struct netif *nif, struct pbuf *p)
{
	struct tunif	*ti = nif->state;
	u16_t		 len;

	len = pbuf_copy_partial(p, ti->ti_scratch, p->tot_len, 0);
	tunif_ipid(ti, ti->ti_scratch, len);
	if (ti->ti_gso && tunif_join(ti, ti->ti_scratch, len))
		return ERR_OK;
	tunif_flush(ti);
	tunif_out_whole(ti, ti->ti_scratch, len);
	/* lwIP sent something: its connection may want the fast timer now */
	ti->ti_after(ti->ti_arg);
	return ERR_OK;
}

/* netif->output: no next hop on a point-to-point link. */
static err_t
tunif_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *nexthop)
{
	return tunif_send(nif, p);
}

/* netif->output_ip6: nor neighbour discovery. */
static err_t
tunif_output6(struct netif *nif, struct pbuf *p, const ip6_addr_t *dest)
{
	return tunif_send(nif, p);
}

static err_t
tunif_netif_init(struct netif *nif)
{
	struct tunif	*ti = nif->state;

	nif->name[0] = 't';
	nif->name[1] = 'u';
	nif->output = tunif_output;
	nif->output_ip6 = tunif_output6;
	nif->mtu = ti->ti_stack.mtu;
	nif->flags = 0;		/* no link layer, no broadcast */
	return ERR_OK;
}

static void	tunif_csum_ctrl(const struct tunif *, struct netif *);

/* Gives a netif its IPv6 address, at once usable (no duplicate address
 * detection on a link of two). */
static void
tunif_set6(struct netif *nif, const struct ipaddr *a)
{
	ip_addr_t	 ip;

	port_to_ip(a, &ip);
	netif_ip6_addr_set(nif, 0, ip_2_ip6(&ip));
	netif_ip6_addr_set_state(nif, 0, IP6_ADDR_PREFERRED);
}

/* A netif for address a, IPv4 or IPv6. */
static void
tunif_add(struct tunif *ti, struct netif *nif, const struct ipaddr *a,
    int mtu)
{
	ip4_addr_t	 a4, mask, gw;

	ip4_addr_set_u32(&a4, addr_is4(a) ? addr_get4(a) : 0);
	ip4_addr_set_u32(&mask, addr_is4(a) ? 0xffffffff : 0);
	ip4_addr_set_zero(&gw);
	nif->mtu = mtu;
	if (netif_add(nif, &a4, &mask, &gw, ti, tunif_netif_init,
	    ip_input) == NULL)
		fatalx("lwip: netif_add failed");
	nif->mtu = mtu;
	if (!addr_is4(a))
		tunif_set6(nif, a);
	tunif_csum_ctrl(ti, nif);
	netif_set_up(nif);
	netif_set_link_up(nif);
}

/*
 * Starts lwIP with its stack addresses (stack6: none, or IPv6).  Every
 * netif is a single address: lwIP routes everything through the netif of
 * its source address (tunif_route_src), whose output is the TUN.
 */
void
tunif_init(struct tunif *ti, in_addr_t stack_addr,
    const struct ipaddr *stack6, int mtu, tunif_output_cb out,
    tunif_after_cb after, void *arg)
{
	struct ipaddr	 a = addr4(stack_addr);

	memset(ti, 0, sizeof(*ti));
	if (RAND_bytes((unsigned char *)ti->ti_ids, sizeof(ti->ti_ids)) != 1 ||
	    (ti->ti_id_key = sipkey_new()) == NULL)
		fatalx("tunif: no keyed hash for IPv4 IDs");
	ti->ti_out = out;
	ti->ti_after = after;
	ti->ti_arg = arg;
	ti->ti_stack.mtu = mtu;
	tunif_add(ti, &ti->ti_stack, &a, mtu);
	if (!addr_is_none(stack6))
		tunif_set6(&ti->ti_stack, stack6);
	netif_set_default(&ti->ti_stack);
}

/* What lwIP sums of what it sends: not an IPv4 header, which tunif_ipid
 * sums again once it has set the ID; nor, with super-packets, TCP, which
 * tunif_out_whole or the kernel sums. */
static void
tunif_csum_ctrl(const struct tunif *ti, struct netif *nif)
{
	NETIF_SET_CHECKSUM_CTRL(nif, NETIF_CHECKSUM_ENABLE_ALL &
	    ~NETIF_CHECKSUM_GEN_IP &
	    ~(ti->ti_gso ? NETIF_CHECKSUM_GEN_TCP : 0));
}

/* The owner's TUN device takes super-packets: join lwIP's segments, and
 * leave their TCP checksums to the kernel, which sums each segment as it
 * cuts them (and never, for a receiver on this machine). */
void
tunif_gso(struct tunif *ti)
{
	int	 i;

	ti->ti_gso = 1;
	tunif_csum_ctrl(ti, &ti->ti_stack);
	for (i = 0; i < ti->ti_nvips; i++)
		tunif_csum_ctrl(ti, &ti->ti_vips[i]);
}

/* Lets lwIP own a VIP: its input accepts any of its netifs' addresses. */
int
tunif_add_vip(struct tunif *ti, const struct ipaddr *a)
{
	if (tunif_owns(ti, a))
		return 0;
	if (ti->ti_nvips == TUNIF_MAX_VIPS)
		return -1;
	tunif_add(ti, &ti->ti_vips[ti->ti_nvips++], a, ti->ti_stack.mtu);
	return 0;
}

/* Feeds one IP packet to lwIP; lwIP verifies its checksums itself. */
void
tunif_input(struct tunif *ti, const uint8_t *pkt, size_t len)
{
	struct pbuf	*p;

	if (len > 0xffff || (p = pbuf_alloc(PBUF_RAW, (u16_t)len,
	    PBUF_RAM)) == NULL) {
		ti->ti_in_dropped++;
		return;
	}
	memcpy(p->payload, pkt, len);
	if (ti->ti_stack.input(p, &ti->ti_stack) != ERR_OK) {
		pbuf_free(p);
		ti->ti_in_dropped++;
	}
	ti->ti_after(ti->ti_arg);
}

void
tunif_shutdown(struct tunif *ti)
{
	int	 i;

	ti->ti_glen = 0;

	for (i = 0; i < ti->ti_nvips; i++)
		netif_remove(&ti->ti_vips[i]);
	netif_remove(&ti->ti_stack);
	sipkey_free(ti->ti_id_key);
	ti->ti_id_key = NULL;
}

/* Whether nif has address a. */
static int
tunif_has(const struct netif *nif, const struct ipaddr *a)
{
	ip_addr_t	 ip;

	port_to_ip(a, &ip);
	if (IP_IS_V4(&ip))
		return ip4_addr_cmp(netif_ip4_addr(nif), ip_2_ip4(&ip));
	return ip6_addr_isvalid(netif_ip6_addr_state(nif, 0)) &&
	    ip6_addr_cmp(netif_ip6_addr(nif, 0), ip_2_ip6(&ip));
}

/* Whether a is the address of one of ti's netifs. */
int
tunif_owns(const struct tunif *ti, const struct ipaddr *a)
{
	int	 i;

	if (addr_is_none(a) || addr_eq4(a, 0))
		return 0;
	if (tunif_has(&ti->ti_stack, a))
		return 1;
	for (i = 0; i < ti->ti_nvips; i++)
		if (tunif_has(&ti->ti_vips[i], a))
			return 1;
	return 0;
}

/* The netif of the stack address, where every packet of the owner's
 * arrives: what binds a pcb to this owner's packets (tcp_bind_netif). */
struct netif *
tunif_netif(struct tunif *ti)
{
	return &ti->ti_stack;
}

/* The netif of src for a packet lwIP sends: the node's whose packet lwIP
 * is reading if it has that address, else the first that has it. */
static struct netif *
tunif_route(const struct ipaddr *src)
{
	struct netif	*in = ip_current_input_netif(), *nif;

	if (in != NULL && in->state != NULL && tunif_owns(in->state, src))
		return in;
	NETIF_FOREACH(nif)
		if (tunif_has(nif, src))
			return nif;
	return NULL;
}

/*
 * LWIP_HOOK_IP4_ROUTE_SRC: a packet leaves by the netif of its source
 * address, and so reaches the output callback of the node that owns that
 * address, even with several nodes' netifs in the one lwIP of a process.
 * Nodes that share an address (a VIP every node lists) are told apart by
 * their pcbs' netifs (tcp_route) and, for what lwIP answers without a
 * pcb, by the node whose packet it is reading.
 */
struct netif *
tunif_route_src(const ip4_addr_t *src, const ip4_addr_t *dest)
{
	struct ipaddr	 a;

	if (src == NULL || ip4_addr_isany(src))
		return NULL;
	a = addr4(ip4_addr_get_u32(src));
	return tunif_route(&a);
}

/* LWIP_HOOK_IP6_ROUTE: the same for IPv6. */
struct netif *
tunif_route_src6(const ip6_addr_t *src, const ip6_addr_t *dest)
{
	struct ipaddr	 a;

	if (src == NULL || ip6_addr_isany(src))
		return NULL;
	memcpy(a.a_w, src->addr, sizeof(a.a_w));
	return tunif_route(&a);
}

/* IPv4/TCP parsing, options, checksums; see pkt.h. */
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pkt.h"

/* An IPv4 address field, as the network-order word struct ipaddr keeps. */
static uint32_t
pkt_ip4(const uint8_t *p)
{
	uint32_t	 net;

	memcpy(&net, p, 4);
	return net;
}

static void
pkt_put_ip4(uint8_t *p, const struct ipaddr *a)
{
	uint32_t	 net = addr_get4(a);

	memcpy(p, &net, 4);
}

static uint32_t	 pkt_csum_add(uint32_t, const uint8_t *, size_t);
static uint16_t	 pkt_csum_fold(uint32_t);

static const char *const pkt_verdict_names[PKT_VERDICT_MAX] = {
	[PKT_OK] = "ok",
	[PKT_NOT_IP] = "not-ip",
	[PKT_TRUNCATED] = "truncated",
	[PKT_BAD_IHL] = "bad-ihl",
	[PKT_BAD_TOTLEN] = "bad-total-length",
	[PKT_FRAGMENT] = "fragment",
	[PKT_IP_OPTIONS] = "ip-options",
	[PKT_NOT_TCP] = "not-tcp",
	[PKT_BAD_TCP_OFF] = "bad-tcp-offset",
	[PKT_IPV6_EXT] = "ipv6-ext-header",
	[PKT_BAD_ADDR] = "bad-address",
};

const char *
pkt_verdict_name(enum pkt_verdict v)
{
	if ((unsigned)v >= PKT_VERDICT_MAX)
		return "unknown";
	return pkt_verdict_names[v];
}

/* The fixed TCP header after an IP header of ihl bytes, in totlen. */
static enum pkt_verdict
pkt_parse_tcp(struct pkt *p, unsigned int ihl, unsigned int totlen)
{
	unsigned int	 thl;

	if (totlen - ihl < PKT_TCP_HLEN)
		return PKT_TRUNCATED;
	p->p_tcp = p->p_ip + ihl;
	thl = (p->p_tcp[TCP_OFF_DOFF] >> 4) * 4u;
	if (thl < PKT_TCP_HLEN || thl > totlen - ihl) {
		p->p_tcp = NULL;
		return PKT_BAD_TCP_OFF;
	}
	p->p_thl = thl;
	p->p_paylen = totlen - ihl - thl;
	p->p_flags = p->p_tcp[TCP_OFF_FLAGS];
	memcpy(&p->p_sport, p->p_tcp + TCP_OFF_SPORT, 2);
	memcpy(&p->p_dport, p->p_tcp + TCP_OFF_DPORT, 2);
	p->p_seq = pkt_get32(p->p_tcp + TCP_OFF_SEQ);
	p->p_ack = pkt_get32(p->p_tcp + TCP_OFF_ACK);
	p->p_win = pkt_get16(p->p_tcp + TCP_OFF_WIN);
	return PKT_OK;
}

/* Whether an IPv6 next-header value names an extension header (RFC 8200
 * 4, and those IANA lists since: ESP, AH, mobility, HIP, shim6, and the
 * two for experiments).  No TCP stack behind the TUN needs one; a
 * fragment would make the TCP header's place conditional. */
static int
pkt_ip6_ext(uint8_t nh)
{
	switch (nh) {
	case 0: case 43: case 44: case 50: case 51: case 60:
	case 135: case 139: case 140: case 253: case 254:
		return 1;
	default:
		return 0;
	}
}

/*
 * Whether an IPv6 address is one a TCP connection across a network may
 * have at either end: not IPv4-mapped (the daemon holds IPv4 addresses
 * so, and would take the packet for an IPv4 one's), multicast, link-local
 * (Linux forwards no packet from or to one), unspecified or loopback.  The
 * same test for sources and destinations, so that whatever a stack
 * answers to a packet taken here is taken too.
 */
static int
pkt_ip6_addr_ok(const struct ipaddr *a)
{
	struct in6_addr	 in;

	memcpy(&in, a->a_w, sizeof(in));
	return !IN6_IS_ADDR_V4MAPPED(&in) && !IN6_IS_ADDR_MULTICAST(&in) &&
	    !IN6_IS_ADDR_LINKLOCAL(&in) && !IN6_IS_ADDR_UNSPECIFIED(&in) &&
	    !IN6_IS_ADDR_LOOPBACK(&in);
}

/* The IPv6 header: a TCP segment must follow it directly. */
static enum pkt_verdict
pkt_parse6(struct pkt *p, uint8_t *buf, size_t len)
{
	unsigned int	 totlen;

	if (len < PKT_IP6_HLEN)
		return PKT_TRUNCATED;
	totlen = PKT_IP6_HLEN + pkt_get16(buf + IP6_OFF_PLEN);
	if (totlen > len || totlen > PKT_MAXLEN)
		return PKT_TRUNCATED;
	p->p_ip = buf;
	p->p_len = (uint16_t)totlen;
	p->p_iphl = PKT_IP6_HLEN;
	p->p_v6 = 1;
	p->p_proto = buf[IP6_OFF_NH];
	addr_from16(&p->p_saddr, buf + IP6_OFF_SRC);
	addr_from16(&p->p_daddr, buf + IP6_OFF_DST);
	if (!pkt_ip6_addr_ok(&p->p_saddr) || !pkt_ip6_addr_ok(&p->p_daddr))
		return PKT_BAD_ADDR;
	if (pkt_ip6_ext(p->p_proto))
		return PKT_IPV6_EXT;
	if (p->p_proto != PKT_IPPROTO_TCP)
		return PKT_NOT_TCP;
	return pkt_parse_tcp(p, PKT_IP6_HLEN, totlen);
}

/*
 * Parses the IP header and, for TCP, the fixed TCP header.  The total
 * length is trusted only when it fits the buffer; trailing bytes beyond it
 * are ignored.  Fragments, IPv4 options and IPv6 extension headers are
 * refused: no TCP stack behind the TUN needs them, and they would make
 * every later offset conditional.  Non-TCP packets come back as
 * PKT_NOT_TCP with the IP fields filled in.
 */
enum pkt_verdict
pkt_parse(struct pkt *p, uint8_t *buf, size_t len)
{
	unsigned int	 ihl, totlen, frag;

	memset(p, 0, sizeof(*p));
	if (len < 1)
		return PKT_TRUNCATED;
	if ((buf[0] >> 4) == 6)
		return pkt_parse6(p, buf, len);
	if ((buf[0] >> 4) != 4)
		return PKT_NOT_IP;
	if (len < PKT_IP_HLEN)
		return PKT_TRUNCATED;
	ihl = (buf[0] & 0x0f) * 4u;
	if (ihl < PKT_IP_HLEN)
		return PKT_BAD_IHL;
	if (ihl > len)
		return PKT_TRUNCATED;
	totlen = pkt_get16(buf + IP_OFF_TOTLEN);
	if (totlen < ihl)
		return PKT_BAD_TOTLEN;
	if (totlen > len)
		return PKT_TRUNCATED;
	frag = pkt_get16(buf + IP_OFF_FRAG);
	if (frag & 0x3fff)		/* MF or a fragment offset */
		return PKT_FRAGMENT;
	if (ihl != PKT_IP_HLEN)
		return PKT_IP_OPTIONS;

	p->p_ip = buf;
	p->p_len = totlen;
	p->p_iphl = ihl;
	p->p_proto = buf[IP_OFF_PROTO];
	p->p_saddr = addr4(pkt_ip4(buf + IP_OFF_SRC));
	p->p_daddr = addr4(pkt_ip4(buf + IP_OFF_DST));
	if (p->p_proto != PKT_IPPROTO_TCP)
		return PKT_NOT_TCP;
	return pkt_parse_tcp(p, ihl, totlen);
}

/*
 * Finds, in a packet that pkt_parse found not TCP, an ICMP error (ICMPv6's
 * destination unreachable or packet too big) whose quoted packet is TCP
 * with at least the 8 bytes of ports and sequence number every ICMP error
 * must quote.  -1: anything else.
 */
int
pkt_icmp_parse(const struct pkt *p, struct pkt_icmp *ic)
{
	const uint8_t	*icmp = p->p_ip + p->p_iphl, *in;
	size_t		 len = p->p_len - p->p_iphl, ihl;

	memset(ic, 0, sizeof(*ic));
	if (p->p_proto != (p->p_v6 ? PKT_IPPROTO_ICMPV6 : PKT_IPPROTO_ICMP) ||
	    len < 8 + 1)
		return -1;
	ic->ic_type = icmp[0];
	ic->ic_code = icmp[1];
	in = icmp + 8;
	len -= 8;
	if (p->p_v6) {
		if ((ic->ic_type != ICMP6_UNREACH &&
		    ic->ic_type != ICMP6_PACKET_TOO_BIG) ||
		    len < PKT_IP6_HLEN + 8 || (in[0] >> 4) != 6 ||
		    in[IP6_OFF_NH] != PKT_IPPROTO_TCP)
			return -1;
		ihl = PKT_IP6_HLEN;
		addr_from16(&ic->ic_isrc, in + IP6_OFF_SRC);
		addr_from16(&ic->ic_idst, in + IP6_OFF_DST);
		if (!pkt_ip6_addr_ok(&ic->ic_isrc) ||
		    !pkt_ip6_addr_ok(&ic->ic_idst))
			return -1;
	} else {
		if (ic->ic_type != ICMP_UNREACH || len < PKT_IP_HLEN + 8)
			return -1;
		ihl = (in[0] & 0x0f) * 4u;
		if ((in[0] >> 4) != 4 || ihl < PKT_IP_HLEN || ihl + 8 > len ||
		    in[IP_OFF_PROTO] != PKT_IPPROTO_TCP)
			return -1;
		ic->ic_isrc = addr4(pkt_ip4(in + IP_OFF_SRC));
		ic->ic_idst = addr4(pkt_ip4(in + IP_OFF_DST));
	}
	ic->ic_inner = p->p_ip + p->p_iphl + 8;
	ic->ic_inner_hl = (uint8_t)ihl;
	memcpy(&ic->ic_isport, in + ihl + TCP_OFF_SPORT, 2);
	memcpy(&ic->ic_idport, in + ihl + TCP_OFF_DPORT, 2);
	ic->ic_iseq = pkt_get32(in + ihl + TCP_OFF_SEQ);
	return 0;
}

/*
 * Readdresses an ICMP error (pkt_icmp_parse's) from src to dst, its quoted
 * segment as the one isrc:isport sent with sequence number iseq (the
 * quoted TCP checksum cannot be mended: the quote is cut short, and no
 * stack checks it), and sets the checksums it does have: ICMPv6's covers
 * a pseudo-header of the outer addresses (RFC 4443 2.3), ICMP's does not,
 * and IPv4's headers have their own.
 */
void
pkt_icmp_rewrite(struct pkt *p, const struct pkt_icmp *ic,
    const struct ipaddr *src, const struct ipaddr *dst,
    const struct ipaddr *isrc, uint16_t isport, uint32_t iseq)
{
	uint8_t		*in = ic->ic_inner;
	struct csum_acc	 sink;

	csum_acc_init(&sink, 0);
	memcpy(in + ic->ic_inner_hl + TCP_OFF_SPORT, &isport, 2);
	pkt_put32(in + ic->ic_inner_hl + TCP_OFF_SEQ, iseq);
	pkt_set_addr(&sink, &sink, p, 0, src);
	pkt_set_addr(&sink, &sink, p, 1, dst);
	if (p->p_v6)
		addr_to16(isrc, in + IP6_OFF_SRC);
	else {
		pkt_put_ip4(in + IP_OFF_SRC, isrc);
		pkt_put16(in + IP_OFF_CSUM, pkt_ip_csum(in, ic->ic_inner_hl));
		pkt_put16(p->p_ip + IP_OFF_CSUM, pkt_ip_csum(p->p_ip,
		    p->p_iphl));
	}
	pkt_icmp_csum(p);
}

/* The sum of an ICMP message, ICMPv6's with the pseudo-header of the
 * outer addresses (RFC 4443 2.3). */
static uint32_t
pkt_icmp_sum(const struct pkt *p)
{
	size_t		 len = p->p_len - p->p_iphl;
	uint32_t	 s = 0;
	uint8_t		 ph[8];

	if (p->p_v6) {
		s = pkt_csum_add(0, p->p_ip + IP6_OFF_SRC, 32);
		pkt_put32(ph, (uint32_t)len);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = PKT_IPPROTO_ICMPV6;
		s = pkt_csum_add(s, ph, sizeof(ph));
	}
	return pkt_csum_add(s, p->p_ip + p->p_iphl, len);
}

/* Whether an ICMP message's checksum holds: a stack that is sent one
 * rewritten, with a new checksum, can no longer tell. */
int
pkt_icmp_csum_ok(const struct pkt *p)
{
	return pkt_csum_fold(pkt_icmp_sum(p)) == 0xffff;
}

/* Sets an ICMP message's checksum, for its addresses and length now. */
void
pkt_icmp_csum(struct pkt *p)
{
	uint8_t	*icmp = p->p_ip + p->p_iphl;

	pkt_put16(icmp + 2, 0);
	pkt_put16(icmp + 2, (uint16_t)~pkt_csum_fold(pkt_icmp_sum(p)));
}

/* Parses the options of a parsed TCP packet. */
int
pkt_opts_parse(const struct pkt *p, struct pkt_opts *o)
{
	return pkt_opts_parse_raw(p->p_tcp + PKT_TCP_HLEN,
	    p->p_thl - PKT_TCP_HLEN, PKT_TCP_HLEN, o);
}

/*
 * Parses an option area of len bytes that starts base bytes into the TCP
 * header.  Returns -1 on an option whose length is malformed or runs past
 * the area; unknown options are skipped by their length and counted.
 */
int
pkt_opts_parse_raw(const uint8_t *opt, size_t len, size_t base,
    struct pkt_opts *o)
{
	size_t	 i = 0, olen, n;

	memset(o, 0, sizeof(*o));
	if (len > PKT_TCP_OPTMAX)
		return -1;
	while (i < len) {
		uint8_t kind = opt[i];

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		olen = opt[i + 1];
		if (olen < 2 || i + olen > len)
			return -1;
		switch (kind) {
		case TCPOPT_MSS:
			if (olen != 4)
				return -1;
			o->o_mss = pkt_get16(opt + i + 2);
			o->o_mss_off = base + i;
			break;
		case TCPOPT_WS:
			if (olen != 3)
				return -1;
			o->o_has_ws = 1;
			o->o_ws = opt[i + 2];
			o->o_ws_off = base + i;
			break;
		case TCPOPT_SACK_OK:
			if (olen != 2)
				return -1;
			o->o_sack_ok = 1;
			break;
		case TCPOPT_SACK:
			if (olen < 10 || (olen - 2) % 8 != 0)
				return -1;
			o->o_sack_off = base + i;
			for (n = 0; n < (olen - 2) / 8 && n < PKT_SACK_MAX; n++) {
				o->o_sack[n].s_left =
				    pkt_get32(opt + i + 2 + n * 8);
				o->o_sack[n].s_right =
				    pkt_get32(opt + i + 6 + n * 8);
			}
			o->o_nsack = n;
			break;
		case TCPOPT_TS:
			if (olen != 10)
				return -1;
			o->o_has_ts = 1;
			o->o_tsval = pkt_get32(opt + i + 2);
			o->o_tsecr = pkt_get32(opt + i + 6);
			o->o_ts_off = base + i;
			break;
		default:
			o->o_unknown++;
			break;
		}
		i += olen;
	}
	return 0;
}

/*
 * Builds an option area into buf (at most PKT_TCP_OPTMAX bytes) in Linux's
 * order and alignment.  On a SYN: MSS, SACK-permitted, timestamps, window
 * scale; otherwise timestamps and SACK blocks.  Returns the length, a
 * multiple of 4, or 0 if buf is too small.
 */
size_t
pkt_opts_build(uint8_t *buf, size_t buflen, const struct pkt_opts *o, int syn)
{
	uint8_t	 tmp[PKT_TCP_OPTMAX];
	size_t	 n = 0, i;

	if (syn && o->o_mss) {
		tmp[n++] = TCPOPT_MSS;
		tmp[n++] = 4;
		pkt_put16(tmp + n, o->o_mss);
		n += 2;
	}
	if (syn && o->o_sack_ok) {
		if (o->o_has_ts) {
			tmp[n++] = TCPOPT_SACK_OK;
			tmp[n++] = 2;
		} else {
			tmp[n++] = TCPOPT_NOP;
			tmp[n++] = TCPOPT_NOP;
			tmp[n++] = TCPOPT_SACK_OK;
			tmp[n++] = 2;
		}
	} else if (o->o_has_ts) {
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_NOP;
	}
	if (o->o_has_ts) {
		tmp[n++] = TCPOPT_TS;
		tmp[n++] = 10;
		pkt_put32(tmp + n, o->o_tsval);
		pkt_put32(tmp + n + 4, o->o_tsecr);
		n += 8;
	}
	if (syn && o->o_has_ws) {
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_WS;
		tmp[n++] = 3;
		tmp[n++] = o->o_ws;
	}
	if (!syn && o->o_nsack > 0) {
		size_t room = (PKT_TCP_OPTMAX - n - 4) / 8;
		size_t cnt = o->o_nsack < room ? o->o_nsack : room;

		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_SACK;
		tmp[n++] = 2 + 8 * cnt;
		for (i = 0; i < cnt; i++) {
			pkt_put32(tmp + n, o->o_sack[i].s_left);
			pkt_put32(tmp + n + 4, o->o_sack[i].s_right);
			n += 8;
		}
	}
	while (n % 4 != 0)
		tmp[n++] = TCPOPT_EOL;
	if (n > buflen)
		return 0;
	memcpy(buf, tmp, n);
	return n;
}

/* One's-complement sum of big-endian 16-bit words, unfolded. */
static uint32_t
pkt_csum_add(uint32_t sum, const uint8_t *d, size_t len)
{
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)(d[0] << 8 | d[1]);
		d += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)d[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

static uint16_t
pkt_csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The checksum of len bytes starting from an initial unfolded sum. */
uint16_t
pkt_csum_partial(const void *d, size_t len, uint32_t sum)
{
	return (uint16_t)~pkt_csum_fold(pkt_csum_add(sum, d, len));
}

/* The IPv4 header checksum as it should be stored (field taken as zero). */
uint16_t
pkt_ip_csum(const uint8_t *ip, size_t ihl)
{
	uint32_t s;

	s = pkt_csum_add(0, ip, IP_OFF_CSUM);
	s = pkt_csum_add(s, ip + IP_OFF_CSUM + 2, ihl - IP_OFF_CSUM - 2);
	return (uint16_t)~pkt_csum_fold(s);
}

/* The sum of the TCP pseudo-header: RFC 793's, or RFC 8200 8.1's. */
static uint32_t
pkt_tcp_pseudo(const struct pkt *p)
{
	uint8_t	 ph[12];
	uint16_t tcplen = p->p_len - p->p_iphl;
	uint32_t s;

	if (p->p_v6) {
		s = pkt_csum_add(0, p->p_ip + IP6_OFF_SRC, 32);
		pkt_put32(ph, tcplen);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = PKT_IPPROTO_TCP;
		return pkt_csum_add(s, ph, 8);
	}
	memcpy(ph, p->p_ip + IP_OFF_SRC, 8);
	ph[8] = 0;
	ph[9] = PKT_IPPROTO_TCP;
	pkt_put16(ph + 10, tcplen);
	return pkt_csum_add(0, ph, sizeof(ph));
}

/* The TCP checksum as it should be stored (field taken as zero). */
uint16_t
pkt_tcp_csum(const struct pkt *p)
{
	uint32_t s = pkt_tcp_pseudo(p);
	size_t	 tcplen = p->p_len - p->p_iphl;

	s = pkt_csum_add(s, p->p_tcp, TCP_OFF_CSUM);
	s = pkt_csum_add(s, p->p_tcp + TCP_OFF_CSUM + 2,
	    tcplen - TCP_OFF_CSUM - 2);
	return (uint16_t)~pkt_csum_fold(s);
}

void
pkt_tcp_csum_set(struct pkt *p)
{
	pkt_put16(p->p_tcp + TCP_OFF_CSUM, pkt_tcp_csum(p));
}

/* Leaves the TCP checksum to whoever cuts or sends the packet (offload):
 * the field holds the pseudo-header's sum alone, not complemented. */
void
pkt_tcp_csum_seed(struct pkt *p)
{
	pkt_put16(p->p_tcp + TCP_OFF_CSUM,
	    (uint16_t)pkt_csum_fold(pkt_tcp_pseudo(p)));
	p->p_meta.pm_csum_partial = 1;
	p->p_meta.pm_csum_start = p->p_iphl;
	p->p_meta.pm_csum_offset = TCP_OFF_CSUM;
}

/* Verifies the TCP checksum of a packet we are about to consume. */
int
pkt_tcp_csum_ok(const struct pkt *p)
{
	uint32_t s = pkt_tcp_pseudo(p);

	s = pkt_csum_add(s, p->p_tcp, p->p_len - p->p_iphl);
	return pkt_csum_fold(s) == 0xffff;
}

/*
 * Completes a checksum the kernel left partial (offload): for consumers
 * that verify, like lwIP.  The segment is complete in the buffer either
 * way; only the sum was left to do.
 */
void
pkt_csum_finish(struct pkt *p)
{
	if (!p->p_meta.pm_csum_partial || p->p_tcp == NULL)
		return;
	pkt_tcp_csum_set(p);
	p->p_meta.pm_csum_partial = 0;
}

/*
 * Builds a whole IPv4/TCP or IPv6/TCP packet (the addresses' family) with
 * fresh checksums into buf; ports in network order.  Returns the packet
 * length, 0 if it does not fit or the addresses are of two families.
 */
size_t
pkt_build_tcp(uint8_t *buf, size_t buflen, const struct ipaddr *saddr,
    uint16_t sport, const struct ipaddr *daddr, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, uint16_t win, const struct pkt_opts *o,
    const void *payload, size_t paylen, uint16_t ipid)
{
	struct pkt	 p;
	uint8_t		 opts[PKT_TCP_OPTMAX];
	size_t		 optlen = 0, thl, total, iphl;
	uint8_t		*ip = buf, *th;
	int		 v6 = !addr_is4(saddr);

	if (v6 == addr_is4(daddr))
		return 0;
	if (o != NULL)
		optlen = pkt_opts_build(opts, sizeof(opts), o,
		    (flags & TH_SYN) != 0);
	iphl = v6 ? PKT_IP6_HLEN : PKT_IP_HLEN;
	thl = PKT_TCP_HLEN + optlen;
	total = iphl + thl + paylen;
	if (total > PKT_MAXLEN || total > buflen)
		return 0;

	memset(ip, 0, iphl + thl);
	if (v6) {
		ip[0] = 0x60;
		pkt_put16(ip + IP6_OFF_PLEN, (uint16_t)(thl + paylen));
		ip[IP6_OFF_NH] = PKT_IPPROTO_TCP;
		ip[IP6_OFF_HLIM] = 64;
		addr_to16(saddr, ip + IP6_OFF_SRC);
		addr_to16(daddr, ip + IP6_OFF_DST);
	} else {
		ip[0] = 0x45;
		pkt_put16(ip + IP_OFF_TOTLEN, total);
		pkt_put16(ip + IP_OFF_ID, ipid);
		pkt_put16(ip + IP_OFF_FRAG, 0x4000);	/* DF */
		ip[IP_OFF_TTL] = 64;
		ip[IP_OFF_PROTO] = PKT_IPPROTO_TCP;
		pkt_put_ip4(ip + IP_OFF_SRC, saddr);
		pkt_put_ip4(ip + IP_OFF_DST, daddr);
		pkt_put16(ip + IP_OFF_CSUM, pkt_ip_csum(ip, PKT_IP_HLEN));
	}

	th = ip + iphl;
	memcpy(th + TCP_OFF_SPORT, &sport, 2);
	memcpy(th + TCP_OFF_DPORT, &dport, 2);
	pkt_put32(th + TCP_OFF_SEQ, seq);
	pkt_put32(th + TCP_OFF_ACK, ack);
	th[TCP_OFF_DOFF] = (uint8_t)((thl / 4) << 4);
	th[TCP_OFF_FLAGS] = flags;
	pkt_put16(th + TCP_OFF_WIN, win);
	memcpy(th + PKT_TCP_HLEN, opts, optlen);
	if (paylen)
		memcpy(th + thl, payload, paylen);

	if (pkt_parse(&p, buf, total) != PKT_OK)
		return 0;
	pkt_tcp_csum_set(&p);
	return total;
}

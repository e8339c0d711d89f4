/*
 * The packet core: IPv4 and TCP parsing that never reads past the buffer,
 * TCP option parsing and building, incremental checksum updates (RFC 1624)
 * and sequence-number arithmetic (RFC 1982).
 *
 * pkt.c owns no memory: a struct pkt points into a caller's buffer, and
 * every length it reports has been checked against that buffer.
 */
#ifndef HANDOFFD_PKT_H
#define HANDOFFD_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

#define PKT_IP_HLEN	20
#define PKT_IP6_HLEN	40
#define PKT_TCP_HLEN	20
#define PKT_TCP_OPTMAX	40
#define PKT_MAXLEN	65535
#define PKT_SACK_MAX	4

#define PKT_IPPROTO_ICMP 1
#define PKT_IPPROTO_TCP	6
#define PKT_IPPROTO_ICMPV6 58

#define TH_FIN		0x01
#define TH_SYN		0x02
#define TH_RST		0x04
#define TH_PUSH		0x08
#define TH_ACK		0x10
#define TH_URG		0x20
#define TH_ECE		0x40
#define TH_CWR		0x80

#define TCPOPT_EOL	0
#define TCPOPT_NOP	1
#define TCPOPT_MSS	2
#define TCPOPT_WS	3
#define TCPOPT_SACK_OK	4
#define TCPOPT_SACK	5
#define TCPOPT_TS	8
#define TCPOLEN_TS_PADDED 12	/* nop, nop, kind, length, two stamps */

/* Why a packet was refused; also the index of its drop counter. */
enum pkt_verdict {
	PKT_OK = 0,
	PKT_NOT_IP,		/* neither IPv4 nor IPv6 */
	PKT_TRUNCATED,		/* shorter than its headers claim */
	PKT_BAD_IHL,
	PKT_BAD_TOTLEN,
	PKT_FRAGMENT,
	PKT_IP_OPTIONS,
	PKT_NOT_TCP,		/* valid IP, another protocol */
	PKT_BAD_TCP_OFF,
	PKT_IPV6_EXT,		/* an IPv6 extension header */
	PKT_BAD_ADDR,		/* an IPv6 address no TCP peer has */
	PKT_VERDICT_MAX
};

/*
 * Offload state of one packet, where the TUN device has it (Linux's
 * virtio_net_hdr).  With offloads the kernel hands over TCP segments of up
 * to 64 KB that it cuts to the MTU itself (gso), and leaves TCP checksums
 * for later (csum_partial: the checksum field holds only the
 * pseudo-header's sum, not complemented).  All zero: an ordinary packet.
 */
struct pkt_meta {
	uint8_t		 pm_csum_partial;
	uint8_t		 pm_gso_tcp4;	/* a TCP/IPv4 super-packet */
	uint8_t		 pm_gso_tcp6;	/* ... TCP/IPv6 */
	uint8_t		 pm_gso_ecn;
	uint16_t	 pm_gso_size;	/* segment size when cut */
	uint16_t	 pm_hdr_len;	/* IP + TCP header bytes */
	uint16_t	 pm_csum_start;
	uint16_t	 pm_csum_offset;
};

/* A parsed IPv4/TCP or IPv6/TCP packet.  Ports are in network byte order
 * (they are compared and copied, never computed with); sequence numbers are
 * in host order. */
struct pkt {
	uint8_t		*p_ip;		/* IP header */
	uint8_t		*p_tcp;		/* TCP header, NULL unless TCP */
	uint16_t	 p_len;		/* IP total length, header included */
	uint8_t		 p_iphl;	/* IP header bytes */
	uint8_t		 p_v6;		/* an IPv6 packet */
	uint8_t		 p_proto;
	uint8_t		 p_thl;		/* TCP header bytes, options included */
	uint8_t		 p_flags;	/* TCP flags */
	uint16_t	 p_paylen;	/* TCP payload bytes */
	struct ipaddr	 p_saddr;
	struct ipaddr	 p_daddr;
	uint16_t	 p_sport;
	uint16_t	 p_dport;
	uint32_t	 p_seq;
	uint32_t	 p_ack;
	uint16_t	 p_win;		/* raw window field, host order */
	struct pkt_meta	 p_meta;	/* offload state, set by the reader */
};

/*
 * An ICMP error about a TCP segment (RFC 792, RFC 4443): where its inner
 * IP header and the first 8 bytes of that segment's TCP header are,
 * inside the packet that carries it.  Ports in network order, like a
 * struct pkt's; the inner segment went from isrc:isport to idst:idport.
 */
#define ICMP_UNREACH	3
#define ICMP_UNREACH_NEEDFRAG 4
#define ICMP6_UNREACH	1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_ECHO_REQ	128

struct pkt_icmp {
	uint8_t		 ic_type;
	uint8_t		 ic_code;
	uint8_t		*ic_inner;	/* the inner IP header */
	uint8_t		 ic_inner_hl;
	struct ipaddr	 ic_isrc;
	struct ipaddr	 ic_idst;
	uint16_t	 ic_isport;
	uint16_t	 ic_idport;
	uint32_t	 ic_iseq;	/* host order */
};

struct pkt_sack {
	uint32_t	 s_left;
	uint32_t	 s_right;
};

/* TCP options.  The _off fields are offsets from the start of the TCP
 * header, 0 when absent, so the fast path can rewrite in place. */
struct pkt_opts {
	uint16_t	 o_mss;		/* 0: absent */
	uint8_t		 o_ws;		/* valid if o_has_ws */
	uint8_t		 o_has_ws;
	uint8_t		 o_sack_ok;
	uint8_t		 o_has_ts;
	uint8_t		 o_nsack;
	uint8_t		 o_unknown;	/* options we do not interpret */
	uint32_t	 o_tsval;
	uint32_t	 o_tsecr;
	struct pkt_sack	 o_sack[PKT_SACK_MAX];
	uint8_t		 o_ts_off;	/* of the TS option's kind byte */
	uint8_t		 o_sack_off;	/* of the SACK option's kind byte */
	uint8_t		 o_mss_off;
	uint8_t		 o_ws_off;
};

enum pkt_verdict pkt_parse(struct pkt *, uint8_t *, size_t);
int	 pkt_opts_parse(const struct pkt *, struct pkt_opts *);
int	 pkt_opts_parse_raw(const uint8_t *, size_t, size_t, struct pkt_opts *);
size_t	 pkt_opts_build(uint8_t *, size_t, const struct pkt_opts *, int);
const char *pkt_verdict_name(enum pkt_verdict);
int	 pkt_icmp_parse(const struct pkt *, struct pkt_icmp *);
int	 pkt_icmp_csum_ok(const struct pkt *);
void	 pkt_icmp_csum(struct pkt *);
void	 pkt_icmp_rewrite(struct pkt *, const struct pkt_icmp *,
	    const struct ipaddr *, const struct ipaddr *,
	    const struct ipaddr *, uint16_t, uint32_t);

uint16_t pkt_csum_partial(const void *, size_t, uint32_t);
uint16_t pkt_ip_csum(const uint8_t *, size_t);
uint16_t pkt_tcp_csum(const struct pkt *);
void	 pkt_tcp_csum_set(struct pkt *);
void	 pkt_tcp_csum_seed(struct pkt *);
int	 pkt_tcp_csum_ok(const struct pkt *);
void	 pkt_csum_finish(struct pkt *);
size_t	 pkt_build_tcp(uint8_t *, size_t, const struct ipaddr *, uint16_t,
	    const struct ipaddr *, uint16_t, uint32_t, uint32_t, uint8_t,
	    uint16_t, const struct pkt_opts *, const void *, size_t, uint16_t);

/* Big-endian field access without alignment assumptions. */
static inline uint16_t
pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void
pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/*
 * Incremental checksum update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
 * A csum_acc collects the changes of several fields so that a rewrite folds
 * and stores the checksum once.  Values are 16-bit words as they sit in the
 * packet (host-order reads of big-endian words): one's-complement sums do
 * not care about byte order as long as it is consistent.
 */
struct csum_acc {
	uint32_t	 ca_sum;
};

static inline void
csum_acc_init(struct csum_acc *a, uint16_t check)
{
	a->ca_sum = (uint16_t)~check;
}

static inline void
csum_acc16(struct csum_acc *a, uint16_t old, uint16_t new_)
{
	a->ca_sum += (uint16_t)~old;
	a->ca_sum += new_;
}

static inline void
csum_acc32(struct csum_acc *a, uint32_t old, uint32_t new_)
{
	csum_acc16(a, old >> 16, new_ >> 16);
	csum_acc16(a, old & 0xffff, new_ & 0xffff);
}

static inline uint16_t
csum_acc_fold(const struct csum_acc *a)
{
	uint32_t s = a->ca_sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Rewrites a 16-bit big-endian field and accounts for it. */
static inline void
pkt_set16(struct csum_acc *a, uint8_t *p, uint16_t v)
{
	csum_acc16(a, pkt_get16(p), v);
	pkt_put16(p, v);
}

static inline void
pkt_set32(struct csum_acc *a, uint8_t *p, uint32_t v)
{
	csum_acc32(a, pkt_get32(p), v);
	pkt_put32(p, v);
}

/*
 * Rewrites a 32-bit field that sits at an odd offset from the start of the
 * checksummed data, as option fields after a lone NOP do.  Its bytes pair
 * with their neighbours the other way round, and a one's-complement sum
 * of byte-swapped words is the byte-swapped sum: so the swapped halves go
 * into the accumulator.
 */
static inline void
pkt_set32_odd(struct csum_acc *a, uint8_t *p, uint32_t v)
{
	csum_acc16(a, (uint16_t)(p[1] << 8 | p[0]),
	    (uint16_t)((v >> 16 & 0xff) << 8 | v >> 24));
	csum_acc16(a, (uint16_t)(p[3] << 8 | p[2]),
	    (uint16_t)((v & 0xff) << 8 | (v >> 8 & 0xff)));
	pkt_put32(p, v);
}

/* Rewrites a 32-bit field at offset off from the start of the data the
 * checksum covers, whatever the offset's parity. */
static inline void
pkt_set32_at(struct csum_acc *a, uint8_t *base, size_t off, uint32_t v)
{
	if (off & 1)
		pkt_set32_odd(a, base + off, v);
	else
		pkt_set32(a, base + off, v);
}

/* Rewrites the packet's source or destination address (dst says which)
 * to a, of the packet's family.  IPv4's is covered by the IP header
 * checksum and by the TCP pseudo-header, so both accumulators take the
 * change; IPv6 has no header checksum, and ipa is left alone. */
static inline void
pkt_set_addr(struct csum_acc *ipa, struct csum_acc *tha, struct pkt *p,
    int dst, const struct ipaddr *a)
{
	uint8_t		 b[16], *f;
	size_t		 i, n;

	if (p->p_v6) {
		f = p->p_ip + (dst ? 24 : 8);
		n = 16;
		addr_to16(a, b);
	} else {
		uint32_t net = addr_get4(a);

		f = p->p_ip + (dst ? 16 : 12);
		n = 4;
		memcpy(b, &net, 4);
	}
	for (i = 0; i < n; i += 2) {
		if (!p->p_v6)
			csum_acc16(ipa, pkt_get16(f + i), pkt_get16(b + i));
		csum_acc16(tha, pkt_get16(f + i), pkt_get16(b + i));
	}
	memcpy(f, b, n);
	if (dst)
		p->p_daddr = *a;
	else
		p->p_saddr = *a;
}

/* Serial-number arithmetic (RFC 1982) for 32-bit TCP sequence space. */
static inline int
seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline int
seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline int
seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline int
seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static inline uint32_t
seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}

/* Offsets of fields in the headers. */
#define IP_OFF_TOTLEN	2
#define IP_OFF_ID	4
#define IP_OFF_FRAG	6
#define IP_OFF_TTL	8
#define IP_OFF_PROTO	9
#define IP_OFF_CSUM	10
#define IP_OFF_SRC	12
#define IP_OFF_DST	16
#define IP6_OFF_PLEN	4
#define IP6_OFF_NH	6
#define IP6_OFF_HLIM	7
#define IP6_OFF_SRC	8
#define IP6_OFF_DST	24
#define TCP_OFF_SPORT	0
#define TCP_OFF_DPORT	2
#define TCP_OFF_SEQ	4
#define TCP_OFF_ACK	8
#define TCP_OFF_DOFF	12
#define TCP_OFF_FLAGS	13
#define TCP_OFF_WIN	14
#define TCP_OFF_CSUM	16
#define TCP_OFF_URP	18

#endif

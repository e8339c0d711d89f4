/*
 * libFuzzer harness for lwIP's TCP input as handoffd's patches change it
 * (0002-tcp-sack-recovery: the SACK scoreboard, RACK and tail loss probes;
 * 0004-tcp-rfc5961-ack-check), reached the way a hostile client reaches
 * it: through the TUN netif, to a connection lwIP accepted on a listener,
 * as at a back-end (be.c).
 *
 * Each input is one client, over IPv4 or IPv6.  Its first bytes choose the
 * family, the SYN's options
 * (MSS, tiny ones too, window scale, SACK-permitted, timestamps), the ISNs,
 * the clock and how much the server answers; the handshake completes and
 * the server writes its answer as the relay does, so that lwIP holds a
 * queue of unacknowledged and unsent segments.  The rest of the input is a
 * sequence of operations: client segments whose sequence and
 * acknowledgment numbers and SACK edges are mostly chosen relative to the
 * connection's real ones (segment boundaries of lwIP's unacked queue, its
 * SND.UNA and SND.NXT), sometimes wild; clock advances that let the RTO,
 * RACK and TLP timers fire; and the server's own moves (more data, its
 * FIN, its last data with its FIN, a close, an abort, a receive window
 * held shut).
 *
 * Whatever the client sends, lwIP must not assert or touch memory it does
 * not own, everything it sends must be a well-formed TCP packet of the
 * client's family and connection whose data is the server's stream, byte for byte, in
 * segments no longer than the MSS, what the server reads must be the
 * client's stream, byte for byte, the scoreboard must hold together, and
 * once everything is closed lwIP must hold no more memory than before the
 * input.  tests/fuzz/lwip_seeds.py writes the seed corpus.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/priv/tcp_priv.h"

#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "pkt.h"

#define FZ_SADDR	"10.2.2.2"	/* lwIP's stack address */
#define FZ_CADDR	"10.0.0.2"	/* the client */
#define FZ_SADDR6	"fd00:2:2::2"	/* ... for IPv6 */
#define FZ_CADDR6	"fd00::2"
#define FZ_SPORT	80
#define FZ_CPORT	40000
#define FZ_MTU		1500

/* Bounds that keep one input fast: operations, clock steps per
 * operation, tcp_write calls at a time, and the payload of one client
 * segment. */
#define FZ_MAX_OPS	1024
#define FZ_MAX_STEPS	32
#define FZ_MAX_WRITES	64
#define FZ_MAX_PAYLOAD	(PKT_MAXLEN - PKT_IP_HLEN - PKT_TCP_HLEN - \
			    PKT_TCP_OPTMAX)

/* What the relay hands lwIP in one tcp_write, and the segments it keeps
 * free in lwIP's queue (relay.c). */
#define FZ_CHUNK	(16 * 1024)
#define FZ_QSPARE	6

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
u32_t	__wrap_port_tcp_isn(const ip_addr_t *, u16_t, const ip_addr_t *,
	    u16_t, u32_t *);

/* The input, read from the front; past its end every byte reads 0. */
struct fz_in {
	const uint8_t	*p;
	size_t		 n;
};

static struct {
	struct tunif	 ti;
	uint32_t	 saddr, caddr;	/* network order */
	struct ipaddr	 saddr6, caddr6;
	int		 v6;		/* this input's client is IPv6 */
	size_t		 mem_base;	/* lwIP's memory with nothing open */
	uint32_t	 now;		/* the clock lwIP reads */
	uint32_t	 isn;		/* lwIP's next ISN */
	struct tcp_pcb	*listener, *listener6;

	/* The client. */
	uint32_t	 c_isn;
	uint32_t	 c_nxt;		/* lwIP's RCV.NXT, as it last acked */
	uint32_t	 c_tsval;
	uint16_t	 c_win;		/* the window field it sends */

	/* The connection as lwIP's packets show it. */
	uint32_t	 s_iss;
	uint32_t	 s_born;	/* the clock at its SYN */
	uint32_t	 s_nxt;		/* highest sequence number sent, + 1 */
	uint32_t	 s_tsval;	/* for the client's echo */

	/* The server application on the accepted pcb. */
	struct tcp_pcb	*conn;		/* NULL once closed or lwIP freed it */
	int		 fresh;		/* accepted, nothing written yet */
	int		 shut;		/* FIN asked for: no more writes */
	int		 hold;		/* reads not tcp_recved */
	uint32_t	 held;
	uint32_t	 c_read;	/* the client's stream it has read, from */
	uint32_t	 c_irs;		/* the sequence number before it */
	size_t		 written;	/* the stream handed to lwIP */
	size_t		 target;	/* what the server has to send */
	size_t		 chunk;		/* bytes per tcp_write */
	uint16_t	 mss_max;	/* the largest MSS the pcb had */
} fz;

static uint8_t
fz_u8(struct fz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t v = fz_u8(in);

	return (uint16_t)(v << 8 | fz_u8(in));
}

static uint32_t
fz_u32(struct fz_in *in)
{
	uint32_t v = fz_u16(in);

	return v << 16 | fz_u16(in);
}

static void __attribute__((noreturn))
fz_fail(const char *why)
{
	fprintf(stderr, "fuzz_lwip: %s\n", why);
	abort();
}

static uint64_t
fz_clock(void)
{
	return (uint64_t)fz.now * 1000;
}

/*
 * The server's stream: the byte at offset off is fz_stream[off %
 * FZ_PERIOD], and any stretch of up to 64 KB of it starts in this table,
 * so that every segment lwIP sends, retransmissions and probes too, is
 * checked against its place with one memcmp.  The period is prime: no
 * segment size divides it.
 */
#define FZ_PERIOD	65521
static uint8_t	fz_stream[FZ_PERIOD + 65536];

static const uint8_t *
fz_stream_at(size_t off)
{
	return fz_stream + off % FZ_PERIOD;
}

/* The client's stream: the byte at sequence number seq, whichever
 * connection, so that what the server reads is checked against its
 * place (a SYN carrying data counts one before its first byte). */
static uint8_t
fz_client_byte(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

/*
 * LWIP_HOOK_TCP_ISN_TS, in place of the port's keyed hash of the real
 * clock (the harness is linked with --wrap=port_tcp_isn): the input chooses
 * the ISN, so that it replays the same way, and may put the server's
 * sequence numbers at the wrap; the timestamp offset is the ISN too.  lwIP
 * calls it once per connection it creates from a SYN: a new stream starts.
 */
u32_t
__wrap_port_tcp_isn(const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip,
    u16_t rport, u32_t *ts_off)
{
	*ts_off = fz.isn;
	fz.s_iss = fz.isn;
	fz.s_born = fz.now;
	fz.s_nxt = fz.isn + 1;
	fz.isn += 0x10000000;	/* the next connection's differs */
	fz.written = 0;
	fz.shut = 0;
	fz.mss_max = 0;
	return fz.s_iss;
}

/* The pcb of the client's connection in any state but LISTEN, or NULL. */
static struct tcp_pcb *
fz_pcb(void)
{
	struct tcp_pcb	*lists[2] = { tcp_active_pcbs, tcp_tw_pcbs }, *pcb;
	int		 i;

	for (i = 0; i < 2; i++)
		for (pcb = lists[i]; pcb != NULL; pcb = pcb->next)
			if (pcb->local_port == FZ_SPORT &&
			    pcb->remote_port == FZ_CPORT)
				return pcb;
	return NULL;
}

/*
 * A packet lwIP sends.  A data segment must carry the server's bytes at
 * their place in its stream, inside what was written, in no more than the
 * MSS (RFC 1122 4.2.2.6: the options count against it too); a FIN must
 * come after all of it, and only once the server asked for it.
 */
static void
fz_output(void *arg, uint8_t *buf, size_t len, const struct pkt_meta *m)
{
	struct pkt	 p;
	struct pkt_opts	 o;
	uint32_t	 off;

	if (m != NULL)
		fz_fail("offload metadata without offloads");
	if (len > PKT_MAXLEN || pkt_parse(&p, buf, len) != PKT_OK ||
	    p.p_len != len || p.p_tcp == NULL || p.p_v6 != fz.v6)
		fz_fail("not a well-formed TCP packet of the client's family");
	/* lwIP has no path MTU discovery: over IPv6 nothing it sends may
	 * exceed IPv6's minimum MTU (port_tcp_clamp_mss). */
	if (p.p_v6 && p.p_len > 1280)
		fz_fail("an IPv6 packet larger than 1280 bytes");
	if ((!p.p_v6 && pkt_ip_csum(p.p_ip, p.p_iphl) !=
	    pkt_get16(p.p_ip + IP_OFF_CSUM)) || !pkt_tcp_csum_ok(&p))
		fz_fail("bad checksum");
	if (!(fz.v6 ? addr_eq(&p.p_saddr, &fz.saddr6) &&
	    addr_eq(&p.p_daddr, &fz.caddr6) : addr_eq4(&p.p_saddr, fz.saddr) &&
	    addr_eq4(&p.p_daddr, fz.caddr)) || p.p_sport != htons(FZ_SPORT) ||
	    p.p_dport != htons(FZ_CPORT))
		fz_fail("a packet of no connection of the client's");
	if (pkt_opts_parse(&p, &o) != 0)
		fz_fail("malformed TCP options");
	/* A TSval is the clock plus its connection's offset, which is its ISN
	 * here: this connection's, or the one's before (in TIME_WAIT). */
	if (o.o_has_ts) {
		if (o.o_tsval - fz.now != fz.s_iss &&
		    o.o_tsval - fz.now != fz.s_iss - 0x10000000)
			fz_fail("a TSval off its connection's clock");
		fz.s_tsval = o.o_tsval;
	}
	if (p.p_flags & TH_RST)
		return;
	if (p.p_flags & TH_ACK)
		fz.c_nxt = p.p_ack;
	if (p.p_flags & TH_SYN) {
		if (p.p_seq != fz.s_iss || p.p_paylen != 0)
			fz_fail("a SYN not at the ISN, or with data");
		return;
	}
	off = p.p_seq - (fz.s_iss + 1);
	if (p.p_paylen > 0) {
		if (p.p_paylen + (p.p_thl - PKT_TCP_HLEN) > fz.mss_max)
			fz_fail("a segment longer than the MSS");
		if (off > fz.written || p.p_paylen > fz.written - off)
			fz_fail("data the server never wrote");
		if (memcmp(p.p_tcp + p.p_thl, fz_stream_at(off),
		    p.p_paylen) != 0)
			fz_fail("data not the server's at its place");
	}
	if ((p.p_flags & TH_FIN) &&
	    (!fz.shut || off + p.p_paylen != fz.written))
		fz_fail("a FIN not after the server's last byte");
	if (seq_gt(p.p_seq + p.p_paylen + !!(p.p_flags & TH_FIN), fz.s_nxt))
		fz.s_nxt = p.p_seq + p.p_paylen + !!(p.p_flags & TH_FIN);
}

static void
fz_after(void *arg)
{
	/* Nothing held: without offloads tunif sends each packet at once. */
}

/* Bytes lwIP takes now, as relay_room() counts them: a client with a
 * small MSS fills the segment queue long before the send buffer. */
static size_t
fz_room(const struct tcp_pcb *pcb)
{
	size_t	 seg = pcb->mss, w = pcb->snd_wnd_max / 2, q, room;

	if (w > 0 && w < seg)
		seg = w;
	if (pcb->flags & TF_TIMESTAMP)
		seg = seg <= LWIP_TCP_OPT_LEN_TS_OUT ? 1 :
		    seg - LWIP_TCP_OPT_LEN_TS_OUT;
	if (seg == 0)
		seg = 1;
	if ((q = tcp_sndqueuelen(pcb)) + FZ_QSPARE >= TCP_SND_QUEUELEN)
		return 0;
	room = (TCP_SND_QUEUELEN - FZ_QSPARE - q) * seg;
	return room < pcb->snd_buf ? room : pcb->snd_buf;
}

/* Hands lwIP what it takes of the rest of the server's answer.  Each
 * tcp_write walks lwIP's whole unsent queue: a call stops after
 * FZ_MAX_WRITES, and an ACK's sent callback goes on. */
static void
fz_write(struct tcp_pcb *pcb)
{
	size_t		 n;
	unsigned int	 k;
	u8_t		 flags;

	for (k = 0; k < FZ_MAX_WRITES && !fz.shut && fz.written < fz.target;
	    k++) {
		if ((n = fz_room(pcb)) == 0)
			break;
		if (n > fz.target - fz.written)
			n = fz.target - fz.written;
		if (n > fz.chunk)
			n = fz.chunk;
		flags = TCP_WRITE_FLAG_COPY;
		if (fz.written + n < fz.target)
			flags |= TCP_WRITE_FLAG_MORE;
		if (tcp_write(pcb, fz_stream_at(fz.written), (u16_t)n, flags) !=
		    ERR_OK)
			break;
		fz.written += n;
	}
}

static void
fz_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

static err_t
fz_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct pbuf	*q;
	u16_t		 n;

	if (p == NULL) {
		/* The client's FIN.  After the server's, lwIP frees the pcb
		 * on its own, from TIME_WAIT without a word: let go of it, as
		 * relay_let_go() does. */
		if (fz.shut) {
			fz_detach(pcb);
			fz.conn = NULL;
		}
		return ERR_OK;
	}
	n = p->tot_len;
	for (q = p; q != NULL; q = q->next) {
		const uint8_t *b = q->payload;
		u16_t i;

		for (i = 0; i < q->len; i++, fz.c_read++)
			if (b[i] != fz_client_byte(fz.c_irs + 1 + fz.c_read))
				fz_fail("client data not at its place");
	}
	pbuf_free(p);
	if (fz.hold)
		fz.held += n;		/* as the relay, its server behind */
	else
		tcp_recved(pcb, n);
	return ERR_OK;
}

/* Room in lwIP's queue: more of the answer, as the relay does. */
static err_t
fz_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	fz_write(pcb);
	return ERR_OK;
}

/* lwIP freed the pcb (a reset, or too many retransmissions). */
static void
fz_err(void *arg, err_t err)
{
	fz.conn = NULL;
}

/* As be_accept(): no Nagle, the MSS raised to PORT_MSS_MIN; the answer is
 * written once lwIP's input is done, as the relay's server answers. */
static err_t
fz_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (fz.conn != NULL) {
		/* The client's connection is one at a time: lwIP cannot
		 * accept a second one on its 4-tuple. */
		fz_fail("a second connection on the client's 4-tuple");
	}
	tcp_nagle_disable(pcb);
	port_tcp_clamp_mss(pcb);
	tcp_recv(pcb, fz_recv);
	tcp_sent(pcb, fz_sent);
	tcp_err(pcb, fz_err);
	fz.conn = pcb;
	fz.fresh = 1;
	fz.hold = 0;
	fz.held = 0;
	fz.c_read = 0;
	fz.c_irs = pcb->rcv_nxt - 1;	/* the accept comes before any data */
	fz.mss_max = pcb->mss;
	return ERR_OK;
}

/* The MSS that segments are checked against: lwIP takes a client's MSS
 * option in any segment, and a segment cut before a smaller one came is
 * no error of the sender's. */
static void
fz_note_mss(void)
{
	struct tcp_pcb	*pcb = fz_pcb();

	if (pcb != NULL && pcb->state > SYN_RCVD && pcb->mss > fz.mss_max)
		fz.mss_max = pcb->mss;
}

/*
 * The scoreboard's bookkeeping (0002-tcp-sack-recovery): every segment on
 * the unacked queue was sent by this pcb, none is both SACKed and lost,
 * the pcb knows of any that is marked (tcp_sack_rexmit() looks at nothing
 * else), the latest transmission known delivered is one the pcb made, and
 * no RTT sample is longer than the connection has lived.  A segment taken
 * for sent that was not carries the stamps of a fresh allocation.
 */
static void
fz_check_scoreboard(void)
{
	struct tcp_pcb	*pcb = fz_pcb();
	struct tcp_seg	*seg;
	uint32_t	 age = fz.now - fz.s_born;

	if (pcb == NULL || pcb->state == TIME_WAIT)
		return;
	for (seg = pcb->unacked; seg != NULL; seg = seg->next) {
		if (seg->xmit_ctr == 0 || seg->xmit_ctr > pcb->xmit_ctr)
			fz_fail("an unacked segment this pcb never sent");
		if ((seg->flags & TF_SEG_SACKED) && (seg->flags & TF_SEG_LOST))
			fz_fail("a segment both SACKed and lost");
		if ((seg->flags & (TF_SEG_SACKED | TF_SEG_LOST)) &&
		    !(pcb->sack_flags & TCP_SACK_MARKS))
			fz_fail("a marked segment the pcb does not know of");
	}
	if (pcb->rack_ctr > pcb->xmit_ctr)
		fz_fail("a delivered transmission this pcb never made");
	if ((pcb->sack_flags & TCP_SACK_RTT) &&
	    (pcb->rack_rtt_us / 1000 > age || (pcb->srtt8_us >> 3) / 1000 > age + 1))
		fz_fail("an RTT longer than the connection has lived");
}

/* After anything that may have run lwIP: its scoreboard must hold
 * together, and a connection it accepted gets the server's answer. */
static void
fz_settle(void)
{
	fz_check_scoreboard();
	fz_note_mss();
	if (fz.conn != NULL && fz.fresh) {
		fz.fresh = 0;
		fz_write(fz.conn);
		tcp_output(fz.conn);
	}
}

/* Sends one client segment to lwIP; opts is optlen bytes, a multiple of
 * 4 no larger than 40. */
static void
fz_send(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
    const uint8_t *opts, size_t optlen, size_t paylen)
{
	static uint8_t	 buf[PKT_MAXLEN];
	struct pkt	 p;
	size_t		 iphl = fz.v6 ? PKT_IP6_HLEN : PKT_IP_HLEN;
	uint8_t		*ip = buf, *th = buf + iphl;
	size_t		 thl = PKT_TCP_HLEN + optlen, total, i;

	if (paylen > PKT_MAXLEN - iphl - thl)
		paylen = PKT_MAXLEN - iphl - thl;
	total = iphl + thl + paylen;
	memset(buf, 0, iphl + thl);
	if (fz.v6) {
		ip[0] = 0x60;
		pkt_put16(ip + IP6_OFF_PLEN, (uint16_t)(total - iphl));
		ip[IP6_OFF_NH] = PKT_IPPROTO_TCP;
		ip[IP6_OFF_HLIM] = 64;
		memcpy(ip + IP6_OFF_SRC, fz.caddr6.a_w, 16);
		memcpy(ip + IP6_OFF_DST, fz.saddr6.a_w, 16);
	} else {
		ip[0] = 0x45;
		pkt_put16(ip + IP_OFF_TOTLEN, (uint16_t)total);
		pkt_put16(ip + IP_OFF_FRAG, 0x4000);
		ip[IP_OFF_TTL] = 64;
		ip[IP_OFF_PROTO] = PKT_IPPROTO_TCP;
		memcpy(ip + IP_OFF_SRC, &fz.caddr, 4);
		memcpy(ip + IP_OFF_DST, &fz.saddr, 4);
		pkt_put16(ip + IP_OFF_CSUM, pkt_ip_csum(ip, PKT_IP_HLEN));
	}
	pkt_put16(th + TCP_OFF_SPORT, FZ_CPORT);
	pkt_put16(th + TCP_OFF_DPORT, FZ_SPORT);
	pkt_put32(th + TCP_OFF_SEQ, seq);
	pkt_put32(th + TCP_OFF_ACK, ack);
	th[TCP_OFF_DOFF] = (uint8_t)((thl / 4) << 4);
	th[TCP_OFF_FLAGS] = flags;
	pkt_put16(th + TCP_OFF_WIN, win);
	if (optlen > 0)
		memcpy(th + PKT_TCP_HLEN, opts, optlen);
	for (i = 0; i < paylen; i++)
		th[thl + i] = fz_client_byte(seq + ((flags & TH_SYN) ? 1 : 0) +
		    (uint32_t)i);
	if (pkt_parse(&p, buf, total) != PKT_OK)
		fz_fail("harness built a bad packet");
	pkt_tcp_csum_set(&p);
	tunif_input(&fz.ti, buf, total);
	fz_settle();
}

/* Pads options to a multiple of 4 with EOL; returns the padded length. */
static size_t
fz_pad(uint8_t *opts, size_t n)
{
	while (n % 4 != 0)
		opts[n++] = TCPOPT_EOL;
	return n;
}

/* Up to 40 option bytes straight from the input: lengths that lie,
 * options out of place (an MSS after the SYN, a SACK before it). */
static size_t
fz_raw_opts(struct fz_in *in, uint8_t *opts)
{
	size_t	 n = fz_u8(in) % (PKT_TCP_OPTMAX + 1), i;

	for (i = 0; i < n; i++)
		opts[i] = fz_u8(in);
	return fz_pad(opts, n);
}

static size_t
fz_put_ts(uint8_t *opts, size_t n, uint32_t tsval, uint32_t tsecr)
{
	opts[n++] = TCPOPT_NOP;
	opts[n++] = TCPOPT_NOP;
	opts[n++] = TCPOPT_TS;
	opts[n++] = 10;
	pkt_put32(opts + n, tsval);
	pkt_put32(opts + n + 4, tsecr);
	return n + 8;
}

/* The state lwIP's pcb shows the client, or what its packets showed. */
struct fz_ref {
	struct tcp_pcb	*pcb;
	uint32_t	 una;		/* SND.UNA */
	uint32_t	 nxt;		/* SND.NXT */
	uint32_t	 rcv;		/* RCV.NXT */
};

static void
fz_ref(struct fz_ref *r)
{
	r->pcb = fz_pcb();
	if (r->pcb != NULL) {
		r->una = r->pcb->lastack;
		r->nxt = r->pcb->snd_nxt;
		r->rcv = r->pcb->rcv_nxt;
	} else {
		r->una = fz.s_nxt - 1;
		r->nxt = fz.s_nxt;
		r->rcv = fz.c_nxt;
	}
}

/* The start of the k-th segment of lwIP's unacked queue, SND.NXT past its
 * end: edges the scoreboard marks whole segments by. */
static uint32_t
fz_boundary(const struct fz_ref *r, unsigned int k)
{
	struct tcp_seg	*seg;

	if (r->pcb == NULL)
		return r->nxt;
	for (seg = r->pcb->unacked; seg != NULL; seg = seg->next)
		if (k-- == 0)
			return lwip_ntohl(seg->tcphdr->seqno);
	return r->nxt;
}

/* A sequence number on the server's side: a segment boundary, near or
 * far in the queue; near SND.UNA or SND.NXT; or anything. */
static uint32_t
fz_edge(struct fz_in *in, const struct fz_ref *r)
{
	uint8_t	 sel = fz_u8(in);

	switch (sel >> 6) {
	case 0:
		return fz_boundary(r, sel & 0x3f);
	case 1:
		return fz_boundary(r, fz_u16(in)) + (sel & 0x3f);
	case 2:
		return ((sel & 1) ? r->nxt : r->una) + (int16_t)fz_u16(in);
	default:
		return fz.s_iss + fz_u32(in);
	}
}

/* The client's acknowledgment: duplicate, partial at a boundary or inside
 * a segment, everything, beyond SND.NXT, behind SND.UNA, or anything. */
static uint32_t
fz_ack(struct fz_in *in, const struct fz_ref *r, unsigned int mode)
{
	switch (mode) {
	case 0:
		return r->una;
	case 1:
		return r->nxt;
	case 2:
		return fz_boundary(r, fz_u8(in));
	case 3:
		return fz_boundary(r, fz_u8(in)) + fz_u8(in);
	case 4:
		return r->una + fz_u16(in);
	case 5:
		return r->una - fz_u16(in);
	case 6:
		return r->nxt + fz_u16(in);
	default:
		return fz.s_iss + fz_u32(in);
	}
}

/*
 * A client segment:
 *   kind:  ack mode (3 bits), seq mode (2), payload class (3)
 *   flags: control (3 bits), its variant (1), PSH (1), URG (1),
 *          window mode (2)
 *   opts:  timestamp (1 bit), SACK blocks (3: 5-7 raw options),
 *          tsval mode (2), any tsecr (2: 3)
 * then the values each mode reads.
 */
static void
fz_segment(struct fz_in *in)
{
	uint8_t		 kind = fz_u8(in), fl = fz_u8(in), om = fz_u8(in);
	uint8_t		 opts[PKT_TCP_OPTMAX], flags;
	struct fz_ref	 r;
	uint32_t	 seq, ack, tsecr;
	size_t		 optlen = 0, paylen;
	unsigned int	 nsack = (om >> 1) & 7, i;

	fz_ref(&r);
	ack = fz_ack(in, &r, kind & 7);
	switch ((kind >> 3) & 3) {
	case 0:
		seq = r.rcv;
		break;
	case 1:
		seq = r.rcv + fz_u16(in);
		break;
	case 2:
		seq = r.rcv - fz_u16(in);
		break;
	default:
		seq = fz.c_isn + fz_u32(in);
		break;
	}
	switch (kind >> 5) {
	case 0:
	case 1:
	case 2:
	case 3:
		paylen = 0;
		break;
	case 4:
		paylen = 1 + fz_u8(in) % 16;
		break;
	case 5:
		paylen = fz_u8(in) * 8u;
		break;
	case 6:
		paylen = fz_u16(in) % (TCP_MSS + 1);
		break;
	default:
		paylen = fz_u16(in) % (FZ_MAX_PAYLOAD + 1);
		break;
	}

	switch (fl & 7) {
	case 4:
		flags = TH_ACK | TH_FIN;
		break;
	case 5:
		flags = (fl & 8) ? TH_RST : TH_RST | TH_ACK;
		break;
	case 6:
		flags = (fl & 8) ? TH_SYN | TH_ACK : TH_SYN;
		break;
	case 7:
		flags = (fl & 8) ? TH_FIN : 0;	/* no ACK */
		break;
	default:
		flags = TH_ACK;
		break;
	}
	if (fl & 0x10)
		flags |= TH_PUSH;
	if (fl & 0x20)
		flags |= TH_URG;
	switch (fl >> 6) {
	case 1:
		fz.c_win = 0;
		break;
	case 2:
		fz.c_win = fz_u8(in);
		break;
	case 3:
		fz.c_win = fz_u16(in);
		break;
	}

	if (nsack > PKT_SACK_MAX) {
		optlen = fz_raw_opts(in, opts);
		nsack = 0;
	} else if (om & 1) {
		switch ((om >> 4) & 3) {
		case 0:
			fz.c_tsval++;
			break;
		case 1:
			fz.c_tsval += fz_u8(in);
			break;
		case 2:
			fz.c_tsval -= fz_u8(in);
			break;
		default:
			fz.c_tsval = fz_u32(in);
			break;
		}
		tsecr = (om >> 6) == 3 ? fz_u32(in) : fz.s_tsval;
		optlen = fz_put_ts(opts, 0, fz.c_tsval, tsecr);
	}
	if (nsack > 0) {
		/* Three blocks fit beside a timestamp, four alone. */
		if (optlen > 0 && nsack > 3)
			nsack = 3;
		opts[optlen++] = TCPOPT_NOP;
		opts[optlen++] = TCPOPT_NOP;
		opts[optlen++] = TCPOPT_SACK;
		opts[optlen++] = (uint8_t)(2 + 8 * nsack);
		for (i = 0; i < nsack; i++) {
			uint32_t left = fz_edge(in, &r);

			pkt_put32(opts + optlen, left);
			pkt_put32(opts + optlen + 4, fz_edge(in, &r));
			optlen += 8;
		}
	}
	fz_send(seq, ack, flags, fz.c_win, opts, optlen, paylen);
}

/* Lets n steps of step ms pass, lwIP's timers run at each as the
 * daemon's event loop runs them. */
static void
fz_tick(unsigned int n, uint32_t step)
{
	while (n-- > 0) {
		fz.now += step;
		sys_check_timeouts();
		fz_settle();
	}
}

/* The server's moves on its connection. */
static void
fz_server(struct fz_in *in, uint8_t op)
{
	struct tcp_pcb	*pcb = fz.conn;

	if (pcb == NULL)
		return;
	switch (op) {
	case 0:		/* more of the answer */
		fz.target += (1 + (size_t)fz_u8(in)) * 1024;
		fz_write(pcb);
		tcp_output(pcb);
		break;
	case 1:		/* its server behind, or caught up */
		if ((fz.hold = !fz.hold) == 0 && fz.held > 0) {
			port_tcp_recved(pcb, fz.held);
			fz.held = 0;
		}
		break;
	case 5:		/* the last of the answer and the server's close
			 * together: the FIN rides on the last segment */
		if (fz.shut)
			break;
		fz.target += (1 + (size_t)fz_u8(in)) * 512;
		fz_write(pcb);
		/* FALLTHROUGH */
	case 2:		/* its server closed: FIN after the answer */
		if (fz.shut)
			break;
		fz.target = fz.written;
		fz.shut = 1;
		if (tcp_shutdown(pcb, 0, 1) != ERR_OK)
			fz.shut = 0;
		break;
	case 3:		/* the relay is done with it */
		fz.target = fz.written;
		fz.shut = 1;
		fz_detach(pcb);
		fz.conn = NULL;
		if (tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		break;
	default:	/* it failed */
		fz_detach(pcb);
		fz.conn = NULL;
		tcp_abort(pcb);
		break;
	}
	fz_settle();
}

/* A listener at a, as be_listen() makes it. */
static struct tcp_pcb *
fz_listen_at(const struct ipaddr *a)
{
	struct tcp_pcb	*pcb, *l;
	ip_addr_t	 ip;

	port_to_ip(a, &ip);
	if ((pcb = tcp_new_ip_type(IP_GET_TYPE(&ip))) == NULL ||
	    tcp_bind(pcb, &ip, FZ_SPORT) != ERR_OK ||
	    (l = tcp_listen(pcb)) == NULL)
		fz_fail("cannot listen");
	tcp_accept(l, fz_accept);
	return l;
}

/* lwIP as at the daemon's start: its listeners at the stack addresses. */
static void
fz_listen(void)
{
	struct ipaddr	 a = addr4(fz.saddr);

	fz.listener = fz_listen_at(&a);
	fz.listener6 = fz_listen_at(&fz.saddr6);
}

/* Ends every connection and the listener, lets lwIP's TCP timer see that
 * nothing is left and stop; lwIP then holds what it held before. */
static void
fz_teardown(void)
{
	if (fz.conn != NULL)
		fz_detach(fz.conn);
	fz.conn = NULL;
	while (tcp_active_pcbs != NULL) {
		fz_detach(tcp_active_pcbs);
		tcp_abort(tcp_active_pcbs);
	}
	port_tcp_trim_timewait(0);
	tcp_close(fz.listener);
	tcp_close(fz.listener6);
	fz.listener = fz.listener6 = NULL;
	/* The TCP timer runs every TCP_TMR_INTERVAL until it stops; the
	 * IPv6 neighbour cache's, every second for ever. */
	while (sys_timeouts_sleeptime() <= TCP_TMR_INTERVAL) {
		fz.now += TCP_TMR_INTERVAL;
		sys_check_timeouts();
	}
	if (port_mem_used() != fz.mem_base) {
		fprintf(stderr, "fuzz_lwip: %zd bytes more than before the "
		    "input (a timer takes %zu), next timer in %u ms\n",
		    (ssize_t)(port_mem_used() - fz.mem_base),
		    sizeof(struct sys_timeo), sys_timeouts_sleeptime());
		fz_fail("lwIP holds memory after everything closed");
	}
}

static void
fz_init(void)
{
	uint32_t	 x = 1;
	size_t		 i;

	for (i = 0; i < sizeof(fz_stream); i++) {
		x = x * 1103515245 + 12345;
		fz_stream[i] = i < FZ_PERIOD ? (uint8_t)(x >> 23) :
		    fz_stream[i - FZ_PERIOD];
	}
	fz.saddr = inet_addr(FZ_SADDR);
	fz.caddr = inet_addr(FZ_CADDR);
	if (inet_pton(AF_INET6, FZ_SADDR6, fz.saddr6.a_w) != 1 ||
	    inet_pton(AF_INET6, FZ_CADDR6, fz.caddr6.a_w) != 1)
		fz_fail("bad address");
	port_set_clock(fz_clock);
	port_init(0);
	tunif_init(&fz.ti, fz.saddr, &fz.saddr6, FZ_MTU, fz_output, fz_after,
	    NULL);
	fz.mem_base = port_mem_used();
}

/*
 * The client's SYN, options from the input:
 *   what:  MSS (bit 0), tiny MSS (1), window scale (2), SACK-permitted
 *          (3), timestamps (4), raw options instead (5), IPv6 (6), up to
 *          three segments of any flags while lwIP is in SYN_RCVD (7)
 * then the MSS, the shift, the client's ISN and window, the server's ISN,
 * answer size and write size, the client's first timestamp.
 */
static int
fz_connect(struct fz_in *in)
{
	uint8_t		 what = fz_u8(in), opts[PKT_TCP_OPTMAX];
	uint16_t	 mss = fz_u16(in);
	uint8_t		 ws = fz_u8(in);
	size_t		 n = 0;

	fz.c_isn = fz_u32(in);
	fz.c_win = fz_u16(in);
	fz.isn = fz_u32(in);
	fz.target = (1 + (size_t)fz_u8(in)) * 2048;
	fz.chunk = 1 + fz_u16(in) % FZ_CHUNK;
	fz.c_tsval = fz_u32(in);
	fz.s_tsval = 0;
	fz.c_nxt = fz.c_isn + 1;
	fz.v6 = (what & 0x40) != 0;

	if (what & 0x20) {
		n = fz_raw_opts(in, opts);
	} else {
		if (what & 1) {
			if (what & 2)
				mss = 1 + mss % 100;
			opts[n++] = TCPOPT_MSS;
			opts[n++] = 4;
			pkt_put16(opts + n, mss);
			n += 2;
		}
		if (what & 8) {
			opts[n++] = TCPOPT_NOP;
			opts[n++] = TCPOPT_NOP;
			opts[n++] = TCPOPT_SACK_OK;
			opts[n++] = 2;
		}
		if (what & 0x10)
			n = fz_put_ts(opts, n, fz.c_tsval, 0);
		if (what & 4) {
			opts[n++] = TCPOPT_NOP;
			opts[n++] = TCPOPT_WS;
			opts[n++] = 3;
			opts[n++] = ws;
		}
	}
	fz_send(fz.c_isn, 0, TH_SYN, fz.c_win, opts, n, 0);
	if (fz_pcb() == NULL)
		return -1;		/* options lwIP refuses */
	if (what & 0x80) {
		/* Before the handshake's ACK: flags, sequence and ack numbers
		 * near the handshake's, a few bytes of data. */
		unsigned int k = fz_u8(in) % 4;

		while (k-- > 0 && fz_pcb() != NULL && fz.conn == NULL) {
			uint8_t fl = fz_u8(in);
			uint32_t ds = (uint32_t)(int32_t)(int16_t)fz_u16(in);
			uint32_t da = (uint32_t)(int32_t)(int8_t)fz_u8(in);

			fz_send(fz.c_isn + ds, fz.s_iss + 1 + da, fl, fz.c_win,
			    NULL, 0, fz_u8(in) % 64);
		}
		if (fz_pcb() == NULL)
			return -1;
	}
	n = (what & 0x10) ? fz_put_ts(opts, 0, ++fz.c_tsval, fz.s_tsval) : 0;
	fz_send(fz.c_isn + 1, fz.s_iss + 1, TH_ACK, fz.c_win, opts, n, 0);
	return fz.conn != NULL ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;
	struct fz_in	 in = { data, size };
	unsigned int	 ops;
	uint8_t		 op;

	if (!ready) {
		fz_init();
		ready = 1;
	}
	/*
	 * Each input starts from the same state: no TCP timer pending (the
	 * teardown saw to it), the slow timer's phase set by the clock
	 * jumping to the input's time, lwIP's counters relative to it.  The
	 * neighbour cache's timer is due at once: left where the last input's
	 * clock put it, it could lie 2^31 ms away, where lwIP's wrapping
	 * comparisons sort it after timers set later and it holds them back.
	 */
	fz.now = fz_u32(&in) - 1000;
	sys_restart_timeouts();
	tcp_tmr();
	fz.now += 1000;
	tcp_tmr();
	fz_listen();
	/* Loss episodes with and without the window cut (patch 0031): by
	 * the input's length, which leaves the corpus's meaning as it was. */
	port_set_loss_tolerance(size % 2 ? 50 : 0);

	if (fz_connect(&in) == 0) {
		for (ops = 0; in.n > 0 && ops < FZ_MAX_OPS; ops++) {
			op = fz_u8(&in);
			switch (op & 15) {
			case 9:
			case 10:
				fz_tick(1, fz_u8(&in));
				break;
			case 11:
				fz_tick(1 + fz_u8(&in) % FZ_MAX_STEPS,
				    TCP_TMR_INTERVAL * (1 + (uint32_t)fz_u8(&in)));
				break;
			case 12:
				fz_server(&in, 0);
				break;
			case 13:
				fz_server(&in, 1);
				break;
			case 14:
				if (fz.conn != NULL)
					tcp_output(fz.conn);
				fz_settle();
				break;
			case 15:
				fz_server(&in, 2 + fz_u8(&in) % 4);
				break;
			default:
				fz_segment(&in);
				break;
			}
		}
	}
	fz_teardown();
	return 0;
}

/*
 * lwipsim: lwIP's sender, as handoffd builds it, on a simulated path, to
 * measure its loss response where the namespace topology cannot go (this
 * kernel has no netem for delay).  One bulk download from lwIP (a server
 * writing as fast as it may, on a TUN netif) to a SACK receiver through a
 * drop-tail bottleneck of RATE Mbit/s holding QUEUE packets, a one-way
 * delay each way and random loss of the data segments, all on a virtual
 * microsecond clock: the run takes the CPU it takes, and the result is
 * the same on any machine.  The receiver acknowledges every segment, with
 * up to three SACK blocks (the latest first).
 *
 * usage: lwipsim RATE_MBIT QUEUE_PACKETS DELAY_US SECONDS [LOSS_PERCENT
 *     [TOLERANCE_PERCENT]]
 * (TOLERANCE_PERCENT as lwip.loss_tolerance sets it, 0 if not given)
 * Prints one line:
 *   goodput M Mbit/s of RATE sent N queue_drops Q (P%) random_drops R
 *   retransmitted T loss_episodes E cut C resent S timeouts O
 * where C of the E loss episodes (fast recoveries) cut cwnd, at their
 * start or later; T segments on the wire were retransmissions, S by
 * lwIP's own count (the daemon's lwip_resent), and O retransmission
 * timeouts fired.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include "addr.h"
#include "pkt.h"
#include "lwip-port/port.h"
#include "lwip-port/tunif.h"

#define SIM_QMAX	100000	/* packets on a path at once, any queue */
#define SIM_OOO		256	/* the receiver's out-of-order ranges */
#define SIM_PORT	40000

struct sim_pkt {
	uint64_t	 sp_due;	/* us: leaves this queue */
	uint16_t	 sp_len;
	uint8_t		 sp_buf[1600];
};

struct sim_queue {
	struct sim_pkt	*q_pkts;
	int		 q_head, q_len;
};

struct sim_range {
	uint32_t	 r_left, r_right;
	uint64_t	 r_touched;
};

static struct {
	uint64_t	 now;		/* us */
	double		 rate;		/* bytes per us */
	int		 qcap;
	uint64_t	 delay;
	uint32_t	 loss_ppm;
	uint32_t	 rnd;
	uint64_t	 link_free;	/* us: the bottleneck's next idle time */
	struct sim_queue bottleneck, forward, reverse;
	struct tunif	 ti;
	struct ipaddr	 client, server;
	/* the receiver */
	uint32_t	 rcv_nxt, snd_nxt, ts_recent;
	struct sim_range ooo[SIM_OOO];
	int		 nooo;
	uint64_t	 touch, delivered;
	/* the sender's counts */
	uint64_t	 sent, queue_drops, random_drops, retransmitted;
	struct tcp_pcb	*pcb;
	uint32_t	 sent_max;
	int		 sent_any;
} sim;

static char	 sim_zeros[16384];

static uint64_t
sim_clock(void)
{
	return sim.now;
}

static uint32_t
sim_random(void)
{
	sim.rnd ^= sim.rnd << 13;
	sim.rnd ^= sim.rnd >> 17;
	sim.rnd ^= sim.rnd << 5;
	return sim.rnd;
}

static void
sim_push(struct sim_queue *q, const uint8_t *buf, size_t len, uint64_t due)
{
	struct sim_pkt	*p;

	if (q->q_len >= SIM_QMAX || len > sizeof(p->sp_buf)) {
		fprintf(stderr, "lwipsim: queue overflow\n");
		exit(1);
	}
	p = &q->q_pkts[(q->q_head + q->q_len) % SIM_QMAX];
	memcpy(p->sp_buf, buf, len);
	p->sp_len = (uint16_t)len;
	p->sp_due = due;
	q->q_len++;
}

static struct sim_pkt *
sim_pop(struct sim_queue *q)
{
	struct sim_pkt	*p = &q->q_pkts[q->q_head];

	q->q_head = (q->q_head + 1) % SIM_QMAX;
	q->q_len--;
	return p;
}

/* What lwIP sends: counted, perhaps lost, else into the bottleneck. */
static void
sim_on_output(void *arg, uint8_t *buf, size_t len, const struct pkt_meta *m)
{
	struct pkt	 p;

	(void)arg;
	(void)m;
	if (pkt_parse(&p, buf, len) != PKT_OK)
		return;
	if (p.p_paylen > 0) {
		sim.sent++;
		if (sim.sent_any && seq_lt(p.p_seq, sim.sent_max))
			sim.retransmitted++;
		if (!sim.sent_any || seq_lt(sim.sent_max, p.p_seq + p.p_paylen))
			sim.sent_max = p.p_seq + p.p_paylen;
		sim.sent_any = 1;
		if (sim_random() % 1000000 < sim.loss_ppm) {
			sim.random_drops++;
			return;
		}
	}
	if (sim.bottleneck.q_len >= sim.qcap) {
		sim.queue_drops++;
		return;
	}
	sim_push(&sim.bottleneck, buf, len, 0);
}

static void
sim_on_after(void *arg)
{
	(void)arg;
}

/* The receiver's segment: an ACK with the latest-touched ranges as SACK
 * blocks (RFC 2018: the one the segment touched first), or the SYN. */
static void
sim_client_send(uint8_t flags, uint32_t ack)
{
	struct pkt_opts	 o;
	uint8_t		 buf[128];
	int		 used[SIM_OOO] = { 0 }, i, j, best;
	size_t		 n;

	memset(&o, 0, sizeof(o));
	o.o_has_ts = 1;
	o.o_tsval = (uint32_t)(sim.now / 1000);
	o.o_tsecr = sim.ts_recent;
	if (flags & TH_SYN) {
		o.o_mss = 1460;
		o.o_sack_ok = 1;
		o.o_has_ws = 1;
		o.o_ws = 7;
	}
	for (j = 0; !(flags & TH_SYN) && j < 3 && j < sim.nooo; j++) {
		for (best = -1, i = 0; i < sim.nooo; i++)
			if (!used[i] && (best < 0 ||
			    sim.ooo[i].r_touched > sim.ooo[best].r_touched))
				best = i;
		used[best] = 1;
		o.o_sack[j].s_left = sim.ooo[best].r_left;
		o.o_sack[j].s_right = sim.ooo[best].r_right;
		o.o_nsack++;
	}
	n = pkt_build_tcp(buf, sizeof(buf), &sim.client, htons(SIM_PORT),
	    &sim.server, htons(80), sim.snd_nxt, ack, flags, 65535, &o, NULL,
	    0, 1);
	if (n == 0) {
		fprintf(stderr, "lwipsim: cannot build a segment\n");
		exit(1);
	}
	sim_push(&sim.reverse, buf, n, sim.now + sim.delay);
}

/* Merges the ranges that overlap or touch. */
static void
sim_merge(void)
{
	int	 i, j, merged;

	do {
		merged = 0;
		for (i = 0; i < sim.nooo && !merged; i++)
			for (j = 0; j < sim.nooo && !merged; j++) {
				struct sim_range *a = &sim.ooo[i], *b = &sim.ooo[j];

				if (i == j || seq_lt(a->r_right, b->r_left) ||
				    seq_lt(b->r_right, a->r_left))
					continue;
				if (seq_lt(b->r_left, a->r_left))
					a->r_left = b->r_left;
				if (seq_lt(a->r_right, b->r_right))
					a->r_right = b->r_right;
				if (b->r_touched > a->r_touched)
					a->r_touched = b->r_touched;
				*b = sim.ooo[--sim.nooo];
				merged = 1;
			}
	} while (merged);
}

static void
sim_client_input(uint8_t *buf, size_t len)
{
	struct pkt	 p;
	struct pkt_opts	 o;
	uint32_t	 left, right;
	int		 i;

	if (pkt_parse(&p, buf, len) != PKT_OK)
		return;
	if (pkt_opts_parse(&p, &o) == 0 && o.o_has_ts)
		sim.ts_recent = o.o_tsval;
	if ((p.p_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		sim.rcv_nxt = p.p_seq + 1;
		sim_client_send(TH_ACK, sim.rcv_nxt);
		return;
	}
	if (p.p_paylen == 0)
		return;
	left = p.p_seq;
	right = p.p_seq + p.p_paylen;
	if (seq_lt(sim.rcv_nxt, right)) {
		if (seq_lt(left, sim.rcv_nxt))
			left = sim.rcv_nxt;
		if (sim.nooo == SIM_OOO) {
			fprintf(stderr, "lwipsim: too many holes\n");
			exit(1);
		}
		sim.ooo[sim.nooo].r_left = left;
		sim.ooo[sim.nooo].r_right = right;
		sim.ooo[sim.nooo].r_touched = ++sim.touch;
		sim.nooo++;
		sim_merge();
		for (i = 0; i < sim.nooo; i++)
			if (sim.ooo[i].r_left == sim.rcv_nxt) {
				sim.delivered += sim.ooo[i].r_right - sim.rcv_nxt;
				sim.rcv_nxt = sim.ooo[i].r_right;
				sim.ooo[i] = sim.ooo[--sim.nooo];
				break;
			}
	}
	sim_client_send(TH_ACK, sim.rcv_nxt);
}

/* The server: writes as long as lwIP takes it. */
static void
sim_fill(struct tcp_pcb *pcb)
{
	u16_t	 n;

	while ((n = LWIP_MIN(tcp_sndbuf(pcb), sizeof(sim_zeros))) > 2 * 1460 &&
	    tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 16)
		if (tcp_write(pcb, sim_zeros, n, 0) != ERR_OK)
			break;
	tcp_output(pcb);
}

static err_t
sim_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg;
	(void)len;
	sim_fill(pcb);
	return ERR_OK;
}

static void
sim_on_err(void *arg, err_t err)
{
	(void)arg;
	fprintf(stderr, "lwipsim: lwIP ended the connection (%d)\n", err);
	exit(1);
}

static err_t
sim_on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)err;
	tcp_sent(pcb, sim_on_sent);
	tcp_err(pcb, sim_on_err);
	sim.pcb = pcb;
	sim_fill(pcb);
	return ERR_OK;
}

/* lwIP takes an ACK (p) or runs its timers (p NULL). */
static void
sim_sender_turn(struct sim_pkt *p)
{
	if (p != NULL)
		tunif_input(&sim.ti, p->sp_buf, p->sp_len);
	else
		sys_check_timeouts();
}

/* The next event, in time order: the bottleneck's next departure, an
 * arrival at either end, or lwIP's timers (every ms). */
static void
sim_run(uint64_t end)
{
	uint64_t	 tick = sim.now;
	struct sim_pkt	*p;

	while (sim.now < end) {
		uint64_t t = tick;

		if (sim.bottleneck.q_len > 0 && sim.link_free < t)
			t = sim.link_free > sim.now ? sim.link_free : sim.now;
		if (sim.forward.q_len > 0 &&
		    sim.forward.q_pkts[sim.forward.q_head].sp_due < t)
			t = sim.forward.q_pkts[sim.forward.q_head].sp_due;
		if (sim.reverse.q_len > 0 &&
		    sim.reverse.q_pkts[sim.reverse.q_head].sp_due < t)
			t = sim.reverse.q_pkts[sim.reverse.q_head].sp_due;
		if (t > sim.now)
			sim.now = t;
		if (sim.bottleneck.q_len > 0 && sim.link_free <= sim.now) {
			p = sim_pop(&sim.bottleneck);
			sim.link_free = sim.now +
			    (uint64_t)(p->sp_len / sim.rate + 0.5);
			sim_push(&sim.forward, p->sp_buf, p->sp_len,
			    sim.link_free + sim.delay);
		} else if (sim.forward.q_len > 0 &&
		    sim.forward.q_pkts[sim.forward.q_head].sp_due <= sim.now) {
			p = sim_pop(&sim.forward);
			sim_client_input(p->sp_buf, p->sp_len);
		} else if (sim.reverse.q_len > 0 &&
		    sim.reverse.q_pkts[sim.reverse.q_head].sp_due <= sim.now) {
			p = sim_pop(&sim.reverse);
			sim_sender_turn(p);
		} else if (sim.now >= tick) {
			sim_sender_turn(NULL);
			tick = (sim.now / 1000 + 1) * 1000;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct tcp_pcb	*l;
	struct port_tcp_counts c;
	struct ipaddr	 none;
	double		 mbit, secs, loss = 0, tol = 0;
	uint64_t	 start;

	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: lwipsim RATE_MBIT QUEUE_PACKETS "
		    "DELAY_US SECONDS [LOSS_PERCENT [TOLERANCE_PERCENT]]\n");
		return 2;
	}
	mbit = atof(argv[1]);
	sim.qcap = atoi(argv[2]);
	sim.delay = strtoull(argv[3], NULL, 10);
	secs = atof(argv[4]);
	if (argc >= 6)
		loss = atof(argv[5]);
	if (argc == 7)
		tol = atof(argv[6]);
	if (mbit <= 0 || sim.qcap < 1 || secs <= 0 || loss < 0 || loss >= 100 ||
	    tol < 0 || tol > 5) {
		fprintf(stderr, "lwipsim: bad arguments\n");
		return 2;
	}
	sim.rate = mbit / 8;
	sim.loss_ppm = (uint32_t)(loss * 10000);
	sim.rnd = 12345;
	sim.bottleneck.q_pkts = calloc(SIM_QMAX, sizeof(struct sim_pkt));
	sim.forward.q_pkts = calloc(SIM_QMAX, sizeof(struct sim_pkt));
	sim.reverse.q_pkts = calloc(SIM_QMAX, sizeof(struct sim_pkt));
	if (sim.bottleneck.q_pkts == NULL || sim.forward.q_pkts == NULL ||
	    sim.reverse.q_pkts == NULL)
		return 1;
	sim.client = addr4(inet_addr("10.0.0.2"));
	sim.server = addr4(inet_addr("10.2.2.2"));
	memset(&none, 0, sizeof(none));
	sim.now = 1000000;
	port_set_clock(sim_clock);
	port_init(0);
	port_set_loss_tolerance((unsigned int)(tol * 10 + 0.5));
	tunif_init(&sim.ti, inet_addr("10.2.2.2"), &none, 1500, sim_on_output,
	    sim_on_after, NULL);
	if ((l = tcp_new()) == NULL || tcp_bind(l, IP_ANY_TYPE, 80) != ERR_OK ||
	    (l = tcp_listen(l)) == NULL) {
		fprintf(stderr, "lwipsim: cannot listen\n");
		return 1;
	}
	tcp_accept(l, sim_on_accept);
	sim.snd_nxt = 5000;
	sim_client_send(TH_SYN, 0);
	sim.snd_nxt++;
	start = sim.now;
	sim_run(start + (uint64_t)(secs * 1e6));
	port_take_tcp_counts(&c);
	printf("goodput %.1f Mbit/s of %.0f sent %llu queue_drops %llu "
	    "(%.2f%%) random_drops %llu retransmitted %llu loss_episodes %llu "
	    "cut %llu resent %llu timeouts %llu\n",
	    (double)sim.delivered * 8 / (double)(sim.now - start), mbit,
	    (unsigned long long)sim.sent, (unsigned long long)sim.queue_drops,
	    sim.sent ? 100.0 * (double)sim.queue_drops / (double)sim.sent : 0,
	    (unsigned long long)sim.random_drops,
	    (unsigned long long)sim.retransmitted,
	    (unsigned long long)(c.pt_loss_cut + c.pt_loss_kept),
	    (unsigned long long)(c.pt_loss_cut + c.pt_loss_late),
	    (unsigned long long)c.pt_resent, (unsigned long long)c.pt_rto);
	return 0;
}

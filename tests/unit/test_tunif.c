/*
 * lwIP's output on the TUN netif: segments that continue each other are
 * joined into a super-packet whose partial checksum completes like the
 * kernel completes it, anything else goes out after what is held, and
 * without offloads every packet goes out alone and at once; each IPv4
 * destination's IDs come from a counter of its own.  Also the port's cap
 * on lwIP's TIME_WAIT connections.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "pkt.h"
#include "t.h"

#define MSS	1448

static struct {
	uint8_t		 buf[65536];
	size_t		 len;
	int		 gso;
	struct pkt_meta	 m;
} out[8];
static int	nout, nafter;
static struct tunif ti;
static int	v6;		/* send_seg sends IPv6 */

static void
capture(void *arg, uint8_t *buf, size_t len, const struct pkt_meta *m)
{
	CHECK(nout < (int)(sizeof(out) / sizeof(out[0])));
	memcpy(out[nout].buf, buf, len);
	out[nout].len = len;
	out[nout].gso = m != NULL;
	if (m != NULL)
		out[nout].m = *m;
	nout++;
}

static void
after(void *arg)
{
	nafter++;
}

/* The payload byte at sequence number seq: any segment can be checked. */
static uint8_t
pay_at(uint32_t seq)
{
	return (uint8_t)(seq * 7 + 3);
}

/* Makes lwIP's netif send one segment of the connection from sport. */
static const char *dst4 = "10.0.0.2";	/* send_seg's IPv4 client */
static uint16_t	 lwip_id;	/* lwIP's one counter of IPv4 IDs */

static void
send_seg(uint16_t sport, uint32_t seq, size_t len, uint8_t flags)
{
	uint8_t		 buf[2048], pay[MSS];
	struct pkt_opts	 o;
	struct pbuf	*p;
	size_t		 n, i;

	for (i = 0; i < len; i++)
		pay[i] = pay_at(seq + (uint32_t)i);
	memset(&o, 0, sizeof(o));
	o.o_has_ts = 1;
	o.o_tsval = 1000;
	o.o_tsecr = 2000;
	n = pkt_build_tcp(buf, sizeof(buf), v6 ? T_IP6P("fd00:2:2::2") :
	    T_IPP("10.2.2.2"), htons(sport), v6 ? T_IP6P("fd00::2") :
	    T_IPP(dst4), htons(40000), seq, 9000, flags, 2047, &o, pay,
	    len, lwip_id++);
	CHECK(n > 0);
	/* With offloads lwIP leaves the TCP checksum to tunif (zero). */
	if (ti.ti_gso)
		pkt_put16(buf + (v6 ? 40 : 20) + TCP_OFF_CSUM, 0);
	CHECK((p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM)) != NULL);
	memcpy(p->payload, buf, n);
	if (v6)
		ti.ti_stack.output_ip6(&ti.ti_stack, p, NULL);
	else
		ti.ti_stack.output(&ti.ti_stack, p, NULL);
	pbuf_free(p);
}

/* A packet out of the netif: parsed, with its payload as sent. */
static void
check_out(int i, uint32_t seq, size_t paylen, uint8_t flags)
{
	struct pkt	 p;
	size_t		 k;

	CHECK_INTEQ(pkt_parse(&p, out[i].buf, out[i].len), PKT_OK);
	CHECK_INTEQ(p.p_v6, v6);
	CHECK_INTEQ(p.p_len, out[i].len);
	CHECK_INTEQ(p.p_seq, seq);
	CHECK_INTEQ(p.p_paylen, paylen);
	CHECK_INTEQ(p.p_flags, flags);
	if (!v6)
		CHECK_INTEQ(pkt_ip_csum(p.p_ip, p.p_iphl),
		    pkt_get16(p.p_ip + IP_OFF_CSUM));
	for (k = 0; k < paylen; k++)
		if (p.p_tcp[p.p_thl + k] != pay_at(seq + (uint32_t)k))
			CHECK(!"payload as sent");
	if (!out[i].gso) {
		CHECK(pkt_tcp_csum_ok(&p));
		return;
	}
	/* What the kernel does with a partial checksum: sum from
	 * csum_start on, the field (the pseudo-header's sum) included, and
	 * store the complement at csum_offset. */
	CHECK_INTEQ(out[i].m.pm_csum_start, p.p_iphl);
	CHECK_INTEQ(out[i].m.pm_csum_offset, TCP_OFF_CSUM);
	pkt_put16(p.p_tcp + TCP_OFF_CSUM, pkt_csum_partial(p.p_tcp,
	    p.p_len - p.p_iphl, 0));
	CHECK(pkt_tcp_csum_ok(&p));
}

static void
test_joined(void)
{
	nout = nafter = 0;
	send_seg(80, 1000, MSS, TH_ACK);
	send_seg(80, 1000 + MSS, MSS, TH_ACK | TH_PUSH);
	send_seg(80, 1000 + 2 * MSS, MSS, TH_ACK);
	send_seg(80, 1000 + 3 * MSS, 500, TH_ACK | TH_PUSH);
	CHECK_INTEQ(nout, 0);
	CHECK(nafter > 0);
	tunif_flush(&ti);
	CHECK_INTEQ(nout, 1);
	CHECK(out[0].gso);
	CHECK_INTEQ(out[0].m.pm_gso_tcp4, !v6);
	CHECK_INTEQ(out[0].m.pm_gso_tcp6, v6);
	CHECK(out[0].m.pm_csum_partial);
	CHECK_INTEQ(out[0].m.pm_gso_size, MSS);
	CHECK_INTEQ(out[0].m.pm_hdr_len, (v6 ? 40 : 20) + 32);
	check_out(0, 1000, 3 * MSS + 500, TH_ACK | TH_PUSH);
	tunif_flush(&ti);
	CHECK_INTEQ(nout, 1);
}

/* Control segments, gaps, other connections and segments longer than the
 * first end a super-packet, which leaves first; one segment alone leaves
 * as lwIP made it. */
static void
test_breaks(void)
{
	uint32_t	 i;

	nout = 0;
	send_seg(80, 1000, MSS, TH_ACK);
	send_seg(80, 1000 + MSS, MSS, TH_ACK);
	send_seg(80, 1000 + 2 * MSS, 0, TH_ACK | TH_FIN);
	CHECK_INTEQ(nout, 2);
	check_out(0, 1000, 2 * MSS, TH_ACK);
	check_out(1, 1000 + 2 * MSS, 0, TH_ACK | TH_FIN);

	nout = 0;
	send_seg(80, 1000, MSS, TH_ACK);
	send_seg(80, 1000 + 2 * MSS, MSS, TH_ACK);	/* a gap */
	send_seg(81, 1000 + 3 * MSS, MSS, TH_ACK);	/* another port */
	send_seg(81, 1000 + 4 * MSS, 100, TH_ACK);
	send_seg(81, 1000 + 4 * MSS + 100, 100, TH_ACK); /* after a short one */
	send_seg(81, 1000 + 4 * MSS + 200, MSS, TH_ACK);
	tunif_flush(&ti);
	CHECK_INTEQ(nout, 5);
	CHECK(!out[0].gso);
	check_out(0, 1000, MSS, TH_ACK);
	CHECK(!out[1].gso);
	check_out(1, 1000 + 2 * MSS, MSS, TH_ACK);
	CHECK(out[2].gso);
	check_out(2, 1000 + 3 * MSS, MSS + 100, TH_ACK);
	check_out(3, 1000 + 4 * MSS + 100, 100, TH_ACK);
	check_out(4, 1000 + 4 * MSS + 200, MSS, TH_ACK);

	/* Up to 64 KB, then a new one. */
	nout = 0;
	for (i = 0; i < 50; i++)
		send_seg(80, 1000 + i * MSS, MSS, TH_ACK);
	tunif_flush(&ti);
	CHECK_INTEQ(nout, 2);
	check_out(0, 1000, 45 * MSS, TH_ACK);
	check_out(1, 1000 + 45 * MSS, 5 * MSS, TH_ACK);
}

/* The same connection's segments in the other family (same ports,
 * sequence numbers following) are another connection's. */
static void
test_family_breaks(void)
{
	nout = 0;
	v6 = 0;
	send_seg(80, 1000, MSS, TH_ACK);
	v6 = 1;
	send_seg(80, 1000 + MSS, MSS, TH_ACK);
	send_seg(80, 1000 + 2 * MSS, MSS, TH_ACK);
	v6 = 0;
	send_seg(80, 1000 + 3 * MSS, MSS, TH_ACK);
	tunif_flush(&ti);
	CHECK_INTEQ(nout, 3);
	CHECK(!out[0].gso);
	check_out(0, 1000, MSS, TH_ACK);
	CHECK(!out[2].gso);
	check_out(2, 1000 + 3 * MSS, MSS, TH_ACK);
	v6 = 1;
	CHECK(out[1].gso);
	check_out(1, 1000 + MSS, 2 * MSS, TH_ACK);
	v6 = 0;
}

/* What a connection may hold out of order: a young one little, nobody
 * anything once lwIP holds its budget; the port counts what lwIP holds. */
static void
test_ooseq_limits(void)
{
	struct tcp_pcb	*pcb;
	size_t		 used = port_mem_used();
	void		*big;

	CHECK((pcb = tcp_new()) != NULL);
	CHECK(port_mem_used() > used);
	port_set_limits(port_mem_used() + (1 << 20), SIZE_MAX, 4096);
	CHECK_INTEQ(port_ooseq_bytes(pcb), TCP_OOSEQ_MAX_BYTES);
	CHECK_INTEQ(port_ooseq_pbufs(pcb), TCP_OOSEQ_MAX_PBUFS);
	tcp_setprio(pcb, PORT_PRIO_YOUNG);
	CHECK_INTEQ(port_ooseq_bytes(pcb), 4096);
	CHECK(port_ooseq_pbufs(pcb) < TCP_OOSEQ_MAX_PBUFS);
	CHECK((big = port_mem_malloc(2 << 20)) != NULL);
	CHECK_INTEQ(port_ooseq_bytes(pcb), 0);
	CHECK_INTEQ(port_ooseq_pbufs(pcb), 0);
	port_mem_free(big);
	CHECK_INTEQ(port_ooseq_bytes(pcb), 4096);
	tcp_abort(pcb);
	CHECK_INTEQ(port_mem_used(), used);
	port_set_limits(SIZE_MAX, SIZE_MAX, TCP_OOSEQ_MAX_BYTES);
}

/* Past PORT_TIMEWAIT_MAX, the oldest TIME_WAITs go and the newest stay. */
static void
test_timewait_cap(void)
{
	uint32_t	 vip = inet_addr("10.9.0.1"), cl = inet_addr("10.0.0.2");
	struct ipaddr	 vipa = addr4(vip), cla = addr4(cl);
	struct tcp_pcb	*pcb;
	int		 i, n = PORT_TIMEWAIT_MAX + 76;

	for (i = 0; i < n; i++) {
		if ((pcb = tcp_new()) == NULL)
			break;
		pcb->state = TIME_WAIT;
		port_to_ip(&vipa, &pcb->local_ip);
		pcb->local_port = 80;
		port_to_ip(&cla, &pcb->remote_ip);
		pcb->remote_port = (u16_t)(10000 + i);
		TCP_REG(&tcp_tw_pcbs, pcb);	/* at the head, as lwIP does */
	}
	CHECK_INTEQ(i, n);
	CHECK_INTEQ(port_tcp_trim_timewait(PORT_TIMEWAIT_MAX), 76);
	CHECK(port_tcp_has_pcb(&vipa, 80, &cla, 10000 + n - 1));
	CHECK(port_tcp_has_pcb(&vipa, 80, &cla, 10000 + 76));
	CHECK(!port_tcp_has_pcb(&vipa, 80, &cla, 10000 + 75));
	CHECK(!port_tcp_has_pcb(&vipa, 80, &cla, 10000));
	CHECK_INTEQ(port_tcp_trim_timewait(PORT_TIMEWAIT_MAX), 0);
	CHECK_INTEQ(port_tcp_trim_timewait(0), PORT_TIMEWAIT_MAX);
	CHECK(tcp_tw_pcbs == NULL);
}

/*
 * The IPv4 ID: one client's packets number on by one, and what lwIP sends
 * other clients in between does not show in them (a counter for all let
 * anyone count lwIP's answers to segments forged in another's name).  A
 * destination shares its counter with another 1 time in TUNIF_ID_BUCKETS:
 * of 200 others, 15 or more do so by chance less than once in 10^30
 * runs; a shared counter moves by 200.
 */
static void
test_ipid(void)
{
	static char	 other[32];
	uint16_t	 id;
	int		 i;

	nout = 0;
	send_seg(90, 1000, 10, TH_ACK | TH_PUSH);
	send_seg(90, 1010, 10, TH_ACK | TH_PUSH);
	CHECK_INTEQ(nout, 2);
	id = pkt_get16(out[1].buf + IP_OFF_ID);
	CHECK_INTEQ(id, (uint16_t)(pkt_get16(out[0].buf + IP_OFF_ID) + 1));
	check_out(1, 1010, 10, TH_ACK | TH_PUSH);
	for (i = 0; i < 200; i++) {
		snprintf(other, sizeof(other), "10.7.%d.%d", i / 100, i % 100);
		dst4 = other;
		nout = 0;
		send_seg(90, 1020, 10, TH_ACK | TH_PUSH);
		CHECK_INTEQ(nout, 1);
	}
	dst4 = "10.0.0.2";
	nout = 0;
	send_seg(90, 1020, 10, TH_ACK | TH_PUSH);
	CHECK_INTEQ(nout, 1);
	check_out(0, 1020, 10, TH_ACK | TH_PUSH);
	CHECK((uint16_t)(pkt_get16(out[0].buf + IP_OFF_ID) - id) < 16);
}

int
main(void)
{
	t_start(30);
	port_init(0);
	tunif_init(&ti, inet_addr("10.2.2.2"), T_IP6P("fd00:2:2::2"), 1500,
	    capture, after, NULL);
	/* Without offloads: each packet at once. */
	test_ipid();
	for (v6 = 0; v6 < 2; v6++) {
		nout = 0;
		send_seg(80, 1000, MSS, TH_ACK);
		send_seg(80, 1000 + MSS, MSS, TH_ACK);
		CHECK_INTEQ(nout, 2);
		check_out(0, 1000, MSS, TH_ACK);
		check_out(1, 1000 + MSS, MSS, TH_ACK);
	}
	tunif_gso(&ti);
	for (v6 = 0; v6 < 2; v6++) {
		test_joined();
		test_breaks();
	}
	v6 = 0;
	test_family_breaks();
	test_ooseq_limits();
	test_timewait_cap();
	tunif_shutdown(&ti);
	return t_done("test_tunif");
}

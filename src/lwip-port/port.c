/* sys_now(), diagnostics, random numbers and ISNs for lwIP; see port.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "lwip/init.h"
#include "lwip/opt.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip_hooks.h"

#include "flow.h"
#include "log.h"
#include "port.h"
#include "sipkey.h"

/* lwipopts.h relies on src/lwip-port/patches, which scripts/bootstrap
 * applies to the lwIP source. */
#ifndef TCP_SACK_SCOREBOARD
#error "lwIP source without src/lwip-port/patches: run scripts/bootstrap"
#endif

/* The most chains of lwIP's table of connections: 8 MB of them, four
 * connections each at handoff.max_flows' largest. */
#define PORT_HASH_CHAINS_MAX	(1u << 20)

/* What lwIP holds, and what bounds its out-of-order data (port_set_limits).
 * Each block carries its size in front, so that a free can count it. */
#define PORT_MEM_HDR	16
static size_t	port_mem;
static size_t	port_mem_budget = SIZE_MAX;
static size_t	port_mem_hard = SIZE_MAX;
static uint32_t	port_young_ooseq = TCP_OOSEQ_MAX_BYTES;

/* The share of a connection's transmissions, in thousandths, that may be
 * lost without a loss episode cutting its window (patch 0031). */
static unsigned int port_loss_tol;

/* lwIP's counts since port_take_tcp_counts() last asked. */
static struct port_tcp_counts port_counts;

/* RFC 6528's secret: lives for the process, never leaves it.  So does
 * the seed of lwIP's table of connections (patch 0020). */
static struct sipkey *port_isn_key;
static uint64_t	port_pcb_seed[2];
static int	port_ready;

static uint64_t	port_real_us(void);
static uint64_t	(*port_clock)(void) = port_real_us;
/* While a hold lasts (port_clock_hold), its one reading, once taken. */
static unsigned int port_held;
static int	port_held_read;
static uint64_t	port_held_us;
/* A test's offset for every connection's timestamp clock, if it set one. */
static int	port_ts_fixed;
static uint32_t	port_ts_fix;

/* Starts lwIP, once per process however many nodes run in it, for up to
 * conns connections: its table of them (patch 0020) has a chain for
 * every four, TCP_PCB_HASH_SIZE at least (patch 0025). */
void
port_init(uint32_t conns)
{
	uint32_t	 chains = TCP_PCB_HASH_SIZE;

	if (port_ready)
		return;
	if ((port_isn_key = sipkey_new()) == NULL ||
	    RAND_bytes((unsigned char *)port_pcb_seed,
	    sizeof(port_pcb_seed)) != 1)
		fatalx("cannot get random bytes for the ISN key");
	while (chains < conns / 4 && chains < PORT_HASH_CHAINS_MAX)
		chains <<= 1;
	tcp_pcb_hash_size(chains);
	lwip_init();
	port_ready = 1;
}

/* Milliseconds of real time, whatever clock a test gave port_now_ms:
 * for what runs on libevent's timers, such as heartbeats. */
uint32_t
port_real_ms(void)
{
	return (uint32_t)(port_real_us() / 1000);
}

static uint64_t
port_real_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * All that lwIP does for one packet, or for one read of a server (an ACK
 * and the dozens of segments it lets go, each stamped twice), is one
 * instant: the clock is read once for it, when first asked (after the
 * read of the server, and not at all for a packet only forwarded).  A
 * reading costs 80 ns in a paravirtualised guest, which was 8% of an lwIP
 * back-end's CPU in a download.  Holds nest; outside them every call
 * reads the clock.
 */
void
port_clock_hold(void)
{
	if (port_held++ == 0)
		port_held_read = 0;
}

void
port_clock_release(void)
{
	if (port_held == 0)
		fatalx("lwip: the clock released without a hold");
	port_held--;
}

static uint64_t
port_time(void)
{
	if (port_held == 0)
		return port_clock();
	if (!port_held_read) {
		port_held_us = port_clock();
		port_held_read = 1;
	}
	return port_held_us;
}

/* Milliseconds: lwIP's timers and the flow clock. */
uint32_t
port_now_ms(void)
{
	return (uint32_t)(port_time() / 1000);
}

/* Microseconds, wrapping: the RTT and delivery rate of lwIP's loss
 * response (LWIP_HOOK_TCP_NOW_US), finer than a LAN's round trip. */
u32_t
port_now_us(void)
{
	return (u32_t)port_time();
}

/* Replaces the clock, in microseconds (a test keeps its own time);
 * before port_init(). */
void
port_set_clock(uint64_t (*clock)(void))
{
	port_clock = clock;
}

/* lwIP's address as ours: IPv4 held IPv4-mapped, as everywhere. */
struct ipaddr
port_addr(const ip_addr_t *ip)
{
	struct ipaddr	 a;

	if (IP_IS_V4(ip))
		return addr4(ip4_addr_get_u32(ip_2_ip4(ip)));
	memcpy(a.a_w, ip_2_ip6(ip)->addr, sizeof(a.a_w));
	return a;
}

/* Ours as lwIP's. */
void
port_to_ip(const struct ipaddr *a, ip_addr_t *ip)
{
	if (addr_is4(a)) {
		ip_addr_set_ip4_u32_val(*ip, addr_get4(a));
		return;
	}
	IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
	memcpy(ip_2_ip6(ip)->addr, a->a_w, sizeof(a->a_w));
}

/* The offset of a connection's timestamp clock, given keyed, a keyed hash
 * of the connection: no TSval we send then shows how long the clock has
 * run (RFC 7323 5.4).  A test's fixed offset instead, if it set one. */
uint32_t
port_ts_offset(uint32_t keyed)
{
	return port_ts_fixed ? port_ts_fix : keyed;
}

/* Gives every connection's timestamp clock the offset off, for a test
 * that pins the TSvals a node sends. */
void
port_fix_ts_offset(uint32_t off)
{
	port_ts_fixed = 1;
	port_ts_fix = off;
}

/* The key of the flow a pcb belongs to, as the BTCP sees it. */
void
port_pcb_key(const struct tcp_pcb *pcb, struct flow_key *k)
{
	struct ipaddr	 r = port_addr(&pcb->remote_ip);
	struct ipaddr	 l = port_addr(&pcb->local_ip);

	flow_key_set(k, &r, htons(pcb->remote_port), &l,
	    htons(pcb->local_port));
}

u32_t
sys_now(void)
{
	return port_now_ms();
}

/* lwIP's LWIP_PLATFORM_DIAG lines end in their own newline. */
void
port_diag(const char *fmt, ...)
{
	char	 buf[512];
	size_t	 len;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	log_debug("lwip: %s", buf);
}

void
port_assert(const char *msg, const char *file, int line)
{
	log_warnx("lwip: assertion \"%s\" failed at %s:%d", msg, file, line);
	abort();
}

uint32_t
port_rand(void)
{
	uint32_t v;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		fatalx("cannot get random bytes");
	return v;
}

/*
 * RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock and F SipHash-2-4
 * (as Linux's secure_tcp_seq; sipkey.h says why not HMAC).  lwIP's default
 * is a counter anyone can predict, which would let an off-path host inject
 * into connections our lwIP owns.  The same keyed hash gives the
 * connection's timestamp offset (patch 0019), so that no TSval shows how
 * long the clock has run.
 */
u32_t
port_tcp_isn(const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip,
    u16_t rport, u32_t *ts_off)
{
	struct ipaddr	 l = port_addr(lip), r = port_addr(rip);
	uint8_t		 msg[36], md[SIPKEY_OUT];
	struct timespec	 ts;
	uint32_t	 f, m;

	memcpy(msg, l.a_w, 16);
	memcpy(msg + 16, r.a_w, 16);
	memcpy(msg + 32, &lport, 2);
	memcpy(msg + 34, &rport, 2);
	if (sipkey_hash(port_isn_key, msg, sizeof(msg), md) == -1)
		fatalx("cannot hash a connection's ISN");
	memcpy(&f, md, 4);
	memcpy(ts_off, md + 4, 4);
	*ts_off = port_ts_offset(*ts_off);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	m = (uint32_t)((uint64_t)ts.tv_sec * 250000 + ts.tv_nsec / 4000);
	return m + f;
}

/* The chain of lwIP's table of connections a 4-tuple (ports in host
 * order) is in (LWIP_HOOK_TCP_PCB_HASH): keyed, so that clients who pick
 * their addresses and ports cannot pile their connections into one. */
u32_t
port_tcp_hash(const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip,
    u16_t rport)
{
	struct ipaddr	 l = port_addr(lip), r = port_addr(rip);
	struct flow_key	 k;

	flow_key_set(&k, &r, rport, &l, lport);
	return flow_seeded_hash(port_pcb_seed, &k);
}

static int
port_ip_is(const ip_addr_t *ip, const struct ipaddr *a)
{
	struct ipaddr	 b = port_addr(ip);

	return addr_eq(&b, a);
}

/* lwIP's connection in TIME_WAIT at laddr:lport with raddr:rport (ports
 * in host order), found in lwIP's table; NULL if none. */
static struct tcp_pcb *
port_tcp_timewait(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	ip_addr_t	 l, r;

	port_to_ip(laddr, &l);
	port_to_ip(raddr, &r);
	return tcp_tw_find(&l, lport, &r, rport, NETIF_NO_INDEX);
}

/*
 * Forgets lwIP's TIME_WAIT pcb for a 4-tuple (ports in host order).  A
 * new connection on the tuple must be answered with a SYN/ACK, and lwIP
 * would answer its SYN from TIME_WAIT with the old connection's ACK
 * instead.  Returns 1 if there was one.
 */
int
port_tcp_forget_timewait(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	struct tcp_pcb	*pcb;

	if ((pcb = port_tcp_timewait(laddr, lport, raddr, rport)) == NULL)
		return 0;
	tcp_abort(pcb);
	return 1;
}

/* lwIP's hook: a client's third duplicate ACK without SACK blocks. */
void
port_dupack_loss(void)
{
	port_counts.pt_dupack_loss++;
}

/* lwIP's hook, for each segment it sends. */
void
port_tcp_xmit(int again)
{
	port_counts.pt_sent++;
	if (again)
		port_counts.pt_resent++;
}

/* lwIP's hook: a loss episode's response (LWIP_TCP_LOSS_*). */
void
port_tcp_loss(int what)
{
	switch (what) {
	case LWIP_TCP_LOSS_CUT:
		port_counts.pt_loss_cut++;
		break;
	case LWIP_TCP_LOSS_KEPT:
		port_counts.pt_loss_kept++;
		break;
	case LWIP_TCP_LOSS_LATE_CUT:
		port_counts.pt_loss_late++;
		break;
	case LWIP_TCP_LOSS_UNDONE:
		port_counts.pt_loss_undone++;
		break;
	}
}

/* lwIP's hook: a retransmission timeout. */
void
port_tcp_rto(void)
{
	port_counts.pt_rto++;
}

void
port_set_loss_tolerance(unsigned int permille)
{
	port_loss_tol = permille;
}

/* lwIP's hook, as a loss episode begins and at each loss it finds. */
unsigned int
port_loss_tolerance(void)
{
	return port_loss_tol;
}

/* lwIP's counts since the last call, into *c. */
void
port_take_tcp_counts(struct port_tcp_counts *c)
{
	*c = port_counts;
	memset(&port_counts, 0, sizeof(port_counts));
}

/* Ends all but the newest keep TIME_WAIT connections (lwIP adds each at
 * the head of its list).  Returns how many it ended. */
unsigned int
port_tcp_trim_timewait(unsigned int keep)
{
	struct tcp_pcb	*pcb, *next;
	unsigned int	 n = 0, cut = 0;

	for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (++n > keep) {
			tcp_abort(pcb);		/* no RST from TIME_WAIT */
			cut++;
		}
	}
	return cut;
}

/* Whether lwIP has a connection on the 4-tuple (ports in host order),
 * live or in TIME_WAIT. */
int
port_tcp_has_pcb(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	return port_tcp_active(laddr, lport, raddr, rport) != NULL ||
	    port_tcp_timewait(laddr, lport, raddr, rport) != NULL;
}

/*
 * tcp_recved() for any amount: lwIP takes a u16_t, and a window held shut
 * for longer than 64 KB of data would otherwise reopen by the remainder
 * modulo 65536, or not at all.
 */
void
port_tcp_recved(struct tcp_pcb *pcb, uint32_t len)
{
	while (len > 0) {
		u16_t n = len > 0xffff ? 0xffff : (u16_t)len;

		tcp_recved(pcb, n);
		len -= n;
	}
}

/* Called as lwIP hands over an accepted connection, before it carries
 * data: raises the client's MSS to PORT_MSS_MIN, and the largest window
 * it has announced to twice that, since lwIP cuts segments at half of it
 * too (Linux's tcp_bound_to_half_wnd has a floor as well).  Over IPv6 the
 * MSS is at most what IPv6's minimum MTU carries: lwIP's TCP has no path
 * MTU discovery, and IPv6 routers do not fragment (RFC 8200 5), so a
 * larger segment on a narrower path would be lost every time it is sent. */
void
port_tcp_clamp_mss(struct tcp_pcb *pcb)
{
	if (pcb->mss < PORT_MSS_MIN)
		pcb->mss = PORT_MSS_MIN;
	if (IP_IS_V6(&pcb->remote_ip) && pcb->mss > PORT_MSS_MAX6)
		pcb->mss = PORT_MSS_MAX6;
	if (pcb->snd_wnd_max < 2 * PORT_MSS_MIN)
		pcb->snd_wnd_max = 2 * PORT_MSS_MIN;
}

/*
 * A segment's buffer (an MSS and its headers, 1.2-2 KB) is past glibc's
 * per-thread cache (1 KB), and a download allocates and frees one per
 * segment sent: such blocks are kept on free lists of their own, one per
 * PORT_MEM_STEP of size, PORT_MEM_KEEP blocks each at most, counted at
 * their class's size while lwIP holds them.  A kept block is marked, so
 * that freeing it again stops the daemon, as glibc would, rather than
 * hand it out twice.  Not under AddressSanitizer (gcc's or clang's), which
 * finds a use after free only of memory it has not given out again.
 */
#define PORT_MEM_STEP	256
#define PORT_MEM_LO	1024
#define PORT_MEM_HI	2048
#define PORT_MEM_KEEP	128
#define PORT_MEM_KEPT	0x6b657074u	/* "kept", after the size */
#if defined(__SANITIZE_ADDRESS__)
#define PORT_MEM_CACHE	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PORT_MEM_CACHE	0
#endif
#endif
#ifndef PORT_MEM_CACHE
#define PORT_MEM_CACHE	1
#endif
#define PORT_MEM_CLASSES ((PORT_MEM_HI - PORT_MEM_LO) / PORT_MEM_STEP)
static void	*port_mem_kept[PORT_MEM_CLASSES][PORT_MEM_KEEP];
static unsigned	 port_mem_nkept[PORT_MEM_CLASSES];

/* The free list for a block of n bytes with its header, or -1. */
static int
port_mem_class(size_t n)
{
	if (!PORT_MEM_CACHE || n <= PORT_MEM_LO || n > PORT_MEM_HI)
		return -1;
	return (int)((n - PORT_MEM_LO - 1) / PORT_MEM_STEP);
}

/* What a block lwIP asked n bytes of, of class c, is counted: its whole
 * allocation. */
static size_t
port_mem_counted(size_t n, int c)
{
	return c < 0 ? n : PORT_MEM_LO + PORT_MEM_STEP * ((size_t)c + 1) -
	    PORT_MEM_HDR;
}

void *
port_mem_malloc(size_t n)
{
	uint8_t	*p;
	int	 c;

	if (n > SIZE_MAX - PORT_MEM_HDR)
		return NULL;
	c = port_mem_class(n + PORT_MEM_HDR);
	if (c >= 0 && port_mem_nkept[c] > 0)
		p = port_mem_kept[c][--port_mem_nkept[c]];
	else
		p = malloc(port_mem_counted(n, c) + PORT_MEM_HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	memset(p + sizeof(n), 0, PORT_MEM_HDR - sizeof(n));
	port_mem += port_mem_counted(n, c);
	return p + PORT_MEM_HDR;
}

void *
port_mem_calloc(size_t count, size_t size)
{
	void	*p;

	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	if ((p = port_mem_malloc(count * size)) != NULL)
		memset(p, 0, count * size);
	return p;
}

void
port_mem_free(void *v)
{
	uint8_t	*p = v;
	size_t	 n;
	uint32_t kept = PORT_MEM_KEPT, mark;
	int	 c;

	if (p == NULL)
		return;
	p -= PORT_MEM_HDR;
	memcpy(&n, p, sizeof(n));
	memcpy(&mark, p + sizeof(n), sizeof(mark));
	if (mark == kept)
		fatalx("lwip: a block freed twice");
	c = port_mem_class(n + PORT_MEM_HDR);
	port_mem -= port_mem_counted(n, c);
	if (c >= 0 && port_mem_nkept[c] < PORT_MEM_KEEP) {
		memcpy(p + sizeof(n), &kept, sizeof(kept));
		port_mem_kept[c][port_mem_nkept[c]++] = p;
	} else
		free(p);
}

/* The bytes lwIP holds: buffers, segments, pcbs. */
size_t
port_mem_used(void)
{
	return port_mem;
}

/* Whether lwIP holds its budget (port_set_limits) or more: then it keeps
 * no out-of-order data, and each relay queues little (relay.c), as a
 * kernel under tcp_mem pressure does; PORT_MEM_HARD past the hard bound,
 * where every relay queues least. */
int
port_mem_pressed(void)
{
	if (port_mem >= port_mem_hard)
		return PORT_MEM_HARD;
	return port_mem >= port_mem_budget ? PORT_MEM_PRESSED : 0;
}

/*
 * budget: lwIP memory past which no out-of-order data is kept (a sender
 * retransmits it, in order, later); hard: past which relays queue least;
 * young: the out-of-order bytes a connection of PORT_PRIO_YOUNG may have.
 */
void
port_set_limits(size_t budget, size_t hard, uint32_t young)
{
	port_mem_budget = budget;
	port_mem_hard = hard;
	port_young_ooseq = young < TCP_OOSEQ_MAX_BYTES ? young :
	    TCP_OOSEQ_MAX_BYTES;
}

/* TCP_OOSEQ_BYTES_LIMIT: what a pcb may hold out of order, checked as each
 * out-of-order segment comes (lwIP drops what lies beyond). */
unsigned int
port_ooseq_bytes(const struct tcp_pcb *pcb)
{
	if (port_mem >= port_mem_budget)
		return 0;
	return pcb->prio == PORT_PRIO_YOUNG ? port_young_ooseq :
	    TCP_OOSEQ_MAX_BYTES;
}

/* TCP_OOSEQ_PBUFS_LIMIT: the same in segments, so that tiny ones, each a
 * buffer of its own, weigh what they cost. */
unsigned short
port_ooseq_pbufs(const struct tcp_pcb *pcb)
{
	if (port_mem >= port_mem_budget)
		return 0;
	return pcb->prio == PORT_PRIO_YOUNG ?
	    (unsigned short)(port_young_ooseq / TCP_MSS + 4) :
	    TCP_OOSEQ_MAX_PBUFS;
}

/* lwIP's connection, not in TIME_WAIT, at laddr:lport (host order port)
 * with raddr:rport, found in lwIP's table, or with anyone when raddr is
 * NULL, found by walking all of them; NULL if none. */
struct tcp_pcb *
port_tcp_active(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	struct tcp_pcb	*pcb;
	ip_addr_t	 l, r;

	if (raddr != NULL) {
		port_to_ip(laddr, &l);
		port_to_ip(raddr, &r);
		return tcp_active_find(&l, lport, &r, rport, NETIF_NO_INDEX);
	}
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb->local_port == lport &&
		    port_ip_is(&pcb->local_ip, laddr))
			return pcb;
	return NULL;
}

/* Whether lwIP has such a connection. */
int
port_tcp_has_active(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	return port_tcp_active(laddr, lport, raddr, rport) != NULL;
}

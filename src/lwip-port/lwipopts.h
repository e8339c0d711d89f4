/*
 * lwIP compile-time options for handoffd.
 *
 * lwIP runs inside the daemon's single libevent loop (NO_SYS=1, raw API) and
 * sees only TCP, ICMP and ICMPv6 echo on a point-to-point TUN link (btcp.c
 * lets no other IPv6 reach it): every option here either serves that or
 * keeps the stack's TCP consistent with the kernel stacks it shares
 * connections with (window scale, SACK, timestamps).
 */
#ifndef HANDOFFD_LWIPOPTS_H
#define HANDOFFD_LWIPOPTS_H

/* One thread, one event loop: no OS layer, no locking. */
#define NO_SYS				1
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_TIMERS			1
#define LWIP_NETCONN			0
#define LWIP_SOCKET			0

/* The daemon's allocator: pools would cap connections at compile time.
 * It goes through the port, which counts what lwIP holds (port.c). */
#define MEM_LIBC_MALLOC			1
#define MEMP_MEM_MALLOC			1
#define MEM_ALIGNMENT			8
#include <stddef.h>
struct tcp_pcb;
void		*port_mem_malloc(size_t);
void		*port_mem_calloc(size_t, size_t);
void		 port_mem_free(void *);
unsigned int	 port_ooseq_bytes(const struct tcp_pcb *);
unsigned short	 port_ooseq_pbufs(const struct tcp_pcb *);
#define mem_clib_malloc			port_mem_malloc
#define mem_clib_calloc			port_mem_calloc
#define mem_clib_free			port_mem_free

/* A TUN link carries bare IP packets: no link layer, no ARP, no neighbour
 * discovery, no multicast, no autoconfiguration; every address is set by
 * the configuration. */
#define LWIP_ARP			0
#define LWIP_ETHERNET			0
#define LWIP_IPV4			1
#define LWIP_IPV6			1
#define LWIP_IPV6_NUM_ADDRESSES		1
#define LWIP_IPV6_SCOPES		0
#define LWIP_IPV6_FORWARD		0
#define LWIP_IPV6_FRAG			0
#define LWIP_IPV6_REASS			0
#define LWIP_IPV6_MLD			0
#define LWIP_IPV6_AUTOCONFIG		0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	0
#define LWIP_ND6_QUEUEING		0
#define LWIP_ND6_ALLOW_RA_UPDATES	0
#define LWIP_ND6_TCP_REACHABILITY_HINTS	0
#define LWIP_ICMP6			1
#define LWIP_RAW			0
#define LWIP_UDP			0
#define LWIP_DHCP			0
#define LWIP_AUTOIP			0
#define LWIP_IGMP			0
#define LWIP_DNS			0
#define LWIP_ICMP			1
#define PBUF_LINK_HLEN			0
/* The BTCP drops fragments, IP options and IPv6 extension headers before
 * lwIP sees them. */
#define IP_REASSEMBLY			0
#define IP_FRAG				0
#define IP_OPTIONS_ALLOWED		0
#define IP_FORWARD			0
#define IP_DEFAULT_TTL			64
/* One netif per VIP plus the stack address. */
#define LWIP_SINGLE_NETIF		0

/* Input is untrusted: verify every checksum; output checksums are generated
 * once here and then only updated incrementally by the rewrite.  IPv4
 * headers' are left to tunif_ipid, which sets the ID; with offloads, TCP's
 * to tunif.c and the kernel (tunif_gso). */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1
#define CHECKSUM_CHECK_IP		1
#define CHECKSUM_CHECK_TCP		1
#define CHECKSUM_CHECK_ICMP		1
#define CHECKSUM_GEN_IP			1
#define CHECKSUM_GEN_TCP		1
#define CHECKSUM_GEN_ICMP		1

/* A VIP's listener comes back after a reload removed its service while
 * that service's connections (or their TIME_WAITs) still hold its port:
 * the listeners, and what they accept, are SOF_REUSEADDR (fe.c). */
#define SO_REUSE			1

/* TCP tuned for a LAN-speed cluster, matching Linux's defaults closely so
 * that a connection can move between lwIP and a kernel stack unnoticed. */
#define LWIP_TCP			1
#define TCP_MSS				1460
/* RFC 6928's initial window, Linux's: ten segments (patch
 * 0026-tcp-initial-window; lwIP's own is RFC 3390's four). */
#define LWIP_TCP_CALC_INITIAL_CWND(mss) \
	((tcpwnd_size_t)LWIP_MIN(10U * (mss), LWIP_MAX(2U * (mss), 14600U)))
#define LWIP_WND_SCALE			1
/* Linux with default tcp_rmem picks 7; the same shift on every stack keeps
 * window rewriting lossless. */
#define TCP_RCV_SCALE			7
#define TCP_WND				(256 * 1024)
#define TCP_SND_BUF			(256 * 1024)
#define TCP_SND_QUEUELEN		((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
/* tcp_sent() fires below this much unsent data; lwIP keeps it in a u16_t. */
#define TCP_SNDLOWAT			(32 * 1024)
#define TCP_SNDQUEUELOWAT		(TCP_SND_QUEUELEN / 4)
#define TCP_QUEUE_OOSEQ			1
#define TCP_OOSEQ_MAX_BYTES		TCP_WND
#define TCP_OOSEQ_MAX_PBUFS		(TCP_WND / TCP_MSS)
/* Out-of-order data is what a sender may park in a receiver that cannot
 * pass it on: a request head's worth for a connection the front-end has
 * not routed yet, none at all while lwIP holds more than its budget (as
 * the kernel's tcp_mem), else a window's worth (port_set_limits). */
#define TCP_OOSEQ_BYTES_LIMIT(pcb)	port_ooseq_bytes(pcb)
#define TCP_OOSEQ_PBUFS_LIMIT(pcb)	port_ooseq_pbufs(pcb)
#define TCP_OVERSIZE			TCP_MSS
#define TCP_WND_UPDATE_THRESHOLD	(TCP_WND / 4)
#define LWIP_TCP_SACK_OUT		1
/* Recover from loss with the client's SACK blocks (our patch
 * 0002-tcp-sack-recovery): every lost segment retransmitted as soon as
 * the scoreboard shows it, lost retransmissions and tail losses found
 * without waiting for the RTO.  lwIP as released ignores them and waits
 * for a timeout at every second loss in a window.  A loss episode leaves
 * in flight the larger of CUBIC's 0.7 and the estimated bandwidth-delay
 * product (patch 0014-tcp-loss-floor), so random loss does not starve
 * the path. */
#define LWIP_TCP_SACK_RECOVERY		1
#define LWIP_TCP_MAX_SACK_NUM		4
#define LWIP_TCP_TIMESTAMPS		1
#define LWIP_TCP_KEEPALIVE		0
/* Flows are bounded by the daemon's flow table, not by a backlog. */
#define TCP_LISTEN_BACKLOG		0
/* TIME_WAIT lasts 2*MSL: 30 s instead of 2 min keeps closed relays cheap;
 * past PORT_TIMEWAIT_MAX of them the oldest end sooner (port.h). */
#define TCP_MSL				15000UL
/* The fast timer (delayed ACKs, loss detection by time, tail loss
 * probes) runs every millisecond while a connection has such work, so
 * that a tail loss on a LAN, or a flight whose last ACK was lost, goes on
 * within two: at 3% loss each way a 20 MB download met such a stall about
 * forty times, and with 5 ms ticks they were half its time (patch 0027
 * keeps those deadlines in microseconds).  It visits only the pcbs that
 * have such work (patch 0021), and the daemon lets its ticks go by while
 * none has (node.c).  The slow one (RTOs, persist,
 * TIME_WAIT) walks the TIME_WAIT pcbs too (up to PORT_TIMEWAIT_MAX, and
 * as many more as close in 100 ms), and runs every 100 ms by the clock
 * (our patch 0001-tcp-slow-timer), also when the daemon wakes lwIP less
 * often because it has no connection.
 * lwIP's RTT estimate, in its ticks, then puts the RTO at 300 ms or more on
 * a LAN, above the 40 ms a Linux client may delay an ACK. */
#define TCP_TMR_INTERVAL		1
/* Delayed ACKs still go within 5 ms, as with 5 ms ticks: sooner, the
 * front-end's lwIP acknowledged a request on its own more often before
 * the back-end's answer carried the ACK (our patch 0027) */
#define TCP_DELACK_INTERVAL		5
#define TCP_SLOW_INTERVAL		100
#define LWIP_CALLBACK_API		1
#define LWIP_EVENT_API			0
#define LWIP_ALTCP			0

#define LWIP_NETIF_TX_SINGLE_PBUF	0
#define LWIP_NETIF_STATUS_CALLBACK	0
#define LWIP_NETIF_LINK_CALLBACK	0
#define LWIP_HAVE_LOOPIF		0
#define LWIP_NETIF_LOOPBACK		0

#define LWIP_STATS			0
#define LWIP_STATS_DISPLAY		0

/* lwIP's default ISN is a counter; ours is keyed (RFC 6528), and so is
 * each connection's timestamp offset (patch 0019). */
#define LWIP_HOOK_FILENAME		"lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN_TS(lip, lport, rip, rport, ts_off) \
	port_tcp_isn((lip), (lport), (rip), (rport), (ts_off))
/* Connections are found by a keyed hash of their addresses and ports
 * (patch 0020), not by walking them all: 16,384 chains, four deep at
 * 65,536 connections; port_init() makes it a chain for every four of
 * handoff.max_flows in a larger table (patch 0025). */
#define TCP_PCB_HASH_SIZE		16384
#define LWIP_HOOK_TCP_PCB_HASH(lip, lport, rip, rport) \
	port_tcp_hash((lip), (lport), (rip), (rport))
/* TIME_WAIT ones in a table of their own (patch 0023): the port keeps
 * PORT_TIMEWAIT_MAX (256) of them past each slow tick. */
#define TCP_TW_HASH_SIZE		1024
/* The loss response's RTT and delivery rate (patch 0014), in us. */
#define LWIP_HOOK_TCP_NOW_US()		port_now_us()
/* The loss rate, in thousandths, below which a loss episode leaves cwnd
 * as it is (patch 0031): lwip.loss_tolerance. */
#define LWIP_HOOK_TCP_LOSS_TOLERANCE(pcb)	port_loss_tolerance()
/* A loss found by duplicate ACKs without SACK blocks (patch 0018):
 * counted, as a sign of clients that negotiate SACK and send none. */
#define LWIP_HOOK_TCP_DUPACK_LOSS(pcb)	port_dupack_loss()
/* Segments sent and resent, loss episodes and timeouts (patch 0032):
 * counted for the status file and metrics, so that an operator sees the
 * share of lwIP's segments resent and what its loss response did.  Not a
 * handshake's SYN/ACKs: anyone may leave handshakes half open (spoofed
 * SYNs), and their resends say nothing of the clients' paths. */
#define LWIP_HOOK_TCP_XMIT(pcb, again) \
	do { if ((pcb)->state != SYN_RCVD) port_tcp_xmit(again); } while (0)
#define LWIP_HOOK_TCP_LOSS_EPISODE(pcb, what)	port_tcp_loss(what)
#define LWIP_HOOK_TCP_RTO(pcb) \
	do { if ((pcb)->state != SYN_RCVD) port_tcp_rto(); } while (0)
/* Packets leave by the netif of their source address: each node's reach
 * its own TUN, even with two nodes in one process (the scenario tests). */
#define LWIP_HOOK_IP4_ROUTE_SRC(src, dest)	tunif_route_src((src), (dest))
#define LWIP_HOOK_IP6_ROUTE(src, dest)		tunif_route_src6((src), (dest))

#endif

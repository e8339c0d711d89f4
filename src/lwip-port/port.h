/*
 * The daemon's side of the lwIP port: the clock lwIP runs on, its random
 * numbers and ISNs, the hook that routes its diagnostics into log.c, and
 * its memory, counted, with the limits on out-of-order data that follow.
 */
#ifndef HANDOFFD_PORT_H
#define HANDOFFD_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "lwip/ip_addr.h"

struct flow_key;
struct tcp_pcb;

/*
 * lwIP keeps its TIME_WAIT connections in a list it walks for every
 * segment of no live connection (each handed-off SYN among them), and so
 * do the lookups below: past this many, the oldest are ended early (as
 * Linux does past tcp_max_tw_buckets).  A connection that reuses a
 * 4-tuple ends its TIME_WAIT anyway, so what is lost is only the re-ACK
 * of a client's retransmitted FIN: at a VIP lwIP answers, that FIN is then
 * a segment of no connection, looked up among the members (fe_lookup.c)
 * and answered with a RST.
 */
#define PORT_TIMEWAIT_MAX	256

/*
 * The smallest MSS lwIP sends with, whatever a client's SYN says (Linux's
 * tcp_min_snd_mss), also when its window is smaller (lwIP cuts segments
 * at half the largest window too): lwIP cannot cut segments no larger
 * than its timestamp option (it asserts, or its segment length wraps to
 * 64 KB), and a tiny MSS only multiplies the packets a client makes a
 * node send.
 */
#define PORT_MSS_MIN		48
#define PORT_MSS_MAX6		1220	/* 1280 - 40 - 20 */

/* What lwIP's connections met, from its hooks (patches 0018 and 0032),
 * since port_take_tcp_counts() last took them. */
struct port_tcp_counts {
	uint64_t	 pt_sent;	/* with data or FIN, probes; no SYN */
	uint64_t	 pt_resent;	/* ... of them sent before */
	uint64_t	 pt_loss_cut;	/* loss episodes that cut cwnd */
	uint64_t	 pt_loss_kept;	/* ... that left it (loss_tolerance) */
	uint64_t	 pt_loss_late;	/* kept ones cut after all */
	uint64_t	 pt_loss_undone; /* cuts D-SACKs showed needless */
	uint64_t	 pt_rto;	/* retransmission timeouts */
	uint64_t	 pt_dupack_loss; /* losses by SACK-less dupacks */
};

void		port_init(uint32_t);
uint32_t	port_now_ms(void);
void		port_clock_hold(void);
void		port_clock_release(void);
uint32_t	port_real_ms(void);
void		port_set_clock(uint64_t (*)(void));
uint32_t	port_ts_offset(uint32_t);
void		port_fix_ts_offset(uint32_t);
struct ipaddr	port_addr(const ip_addr_t *);
void		port_to_ip(const struct ipaddr *, ip_addr_t *);
void		port_pcb_key(const struct tcp_pcb *, struct flow_key *);
int		port_tcp_forget_timewait(const struct ipaddr *, uint16_t,
		    const struct ipaddr *, uint16_t);
int		port_tcp_has_pcb(const struct ipaddr *, uint16_t,
		    const struct ipaddr *, uint16_t);
unsigned int	port_tcp_trim_timewait(unsigned int);
void		port_take_tcp_counts(struct port_tcp_counts *);
struct tcp_pcb	*port_tcp_active(const struct ipaddr *, uint16_t,
		    const struct ipaddr *, uint16_t);
int		port_tcp_has_active(const struct ipaddr *, uint16_t,
		    const struct ipaddr *, uint16_t);
void		port_tcp_recved(struct tcp_pcb *, uint32_t);
void		port_tcp_clamp_mss(struct tcp_pcb *);
void		port_set_limits(size_t, size_t, uint32_t);
void		port_set_loss_tolerance(unsigned int);
size_t		port_mem_used(void);
int		port_mem_pressed(void);
#define PORT_MEM_PRESSED	1	/* port_mem_pressed: past the budget */
#define PORT_MEM_HARD		2	/* ... and past the hard bound */

/* The priority (tcp_setprio) of a connection not routed yet: its
 * out-of-order data is bounded, and lwIP, short of memory, ends such
 * connections first. */
#define PORT_PRIO_YOUNG		1

#endif

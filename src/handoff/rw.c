/* The per-packet rewrite; see rw.h.  This is the hot path of a handed-off
 * flow: no allocation, no full checksum, one pass over the options. */
#include <stdint.h>
#include <string.h>

#include "flow.h"
#include "pkt.h"
#include "handoff/handoff.h"
#include "handoff/rw.h"

/*
 * Rescales a window from the stack's shift to the one the client was
 * promised: win << ws_in is the window in bytes, and the client multiplies
 * what it sees by 2^ws_out.  Rounds down, so it never offers more than the
 * stack has room for; saturates at the largest field value.
 */
uint16_t
rw_window(uint16_t win, unsigned int ws_in, unsigned int ws_out)
{
	uint32_t	 bytes = (uint32_t)win << ws_in;

	bytes >>= ws_out;
	return bytes > 0xffff ? 0xffff : (uint16_t)bytes;
}

/* The largest window a shift lets a TCP offer, in bytes: what RFC 5961's
 * checks at either role allow for. */
uint32_t
rw_max_window(uint8_t ws)
{
	return (uint32_t)0xffff << (ws > 14 ? 14 : ws);
}

/* The option area's TS and SACK, translated by the given offsets.  The
 * common case, NOP NOP TS and nothing else, skips the general parser. */
static void
rw_opts(struct csum_acc *a, struct pkt *p, uint32_t ts_off, int is_val,
    uint32_t sack_off)
{
	struct pkt_opts	 o;
	uint8_t		*th = p->p_tcp;
	size_t		 s;
	int		 i;

	if (ts_off == 0 && sack_off == 0)
		return;
	if (p->p_thl == 32 && th[20] == TCPOPT_NOP && th[21] == TCPOPT_NOP &&
	    th[22] == TCPOPT_TS && th[23] == 10) {
		s = 24 + (is_val ? 0 : 4);
		pkt_set32(a, th + s, pkt_get32(th + s) + ts_off);
		return;
	}
	if (pkt_opts_parse(p, &o) == -1)
		return;		/* leave what we cannot parse untouched */
	/* Options need not be aligned: a lone NOP puts them at odd offsets. */
	if (o.o_has_ts) {
		s = o.o_ts_off + (is_val ? 2 : 6);
		pkt_set32_at(a, th, s, pkt_get32(th + s) + ts_off);
	}
	for (i = 0; sack_off != 0 && i < o.o_nsack; i++) {
		s = o.o_sack_off + 2 + i * 8;
		pkt_set32_at(a, th, s, pkt_get32(th + s) + sack_off);
		pkt_set32_at(a, th, s + 4, pkt_get32(th + s + 4) + sack_off);
	}
}

/*
 * The TCP checksum's accumulators.  A whole checksum takes every change;
 * a partial one (offload: the field holds the pseudo-header's sum, not
 * complemented, and the kernel sums the segment later) takes only the
 * pseudo-header's, so header and option changes go to a sink.
 */
struct rw_sums {
	struct csum_acc	 rs_ip;
	struct csum_acc	 rs_pseudo;
	struct csum_acc	 rs_sink;
	struct csum_acc	*rs_hdr;
	int		 rs_partial;
};

static void
rw_sums_init(struct rw_sums *rs, const struct pkt *p)
{
	uint16_t	 check = pkt_get16(p->p_tcp + TCP_OFF_CSUM);

	rs->rs_partial = p->p_meta.pm_csum_partial;
	csum_acc_init(&rs->rs_ip, p->p_v6 ? 0 : pkt_get16(p->p_ip +
	    IP_OFF_CSUM));
	csum_acc_init(&rs->rs_pseudo, rs->rs_partial ? (uint16_t)~check :
	    check);
	csum_acc_init(&rs->rs_sink, 0);
	rs->rs_hdr = rs->rs_partial ? &rs->rs_sink : &rs->rs_pseudo;
}

static void
rw_sums_store(struct rw_sums *rs, struct pkt *p)
{
	uint16_t	 v = csum_acc_fold(&rs->rs_pseudo);

	if (!p->p_v6)
		pkt_put16(p->p_ip + IP_OFF_CSUM, csum_acc_fold(&rs->rs_ip));
	pkt_put16(p->p_tcp + TCP_OFF_CSUM, rs->rs_partial ? (uint16_t)~v : v);
}

/* A client packet at the front-end, bound for the back-end's stack. */
void
rw_to_stack(const struct flow *f, struct pkt *p)
{
	struct rw_sums	 rs;
	uint8_t		*th = p->p_tcp;

	rw_sums_init(&rs, p);
	pkt_set_addr(&rs.rs_ip, &rs.rs_pseudo, p, 1, &f->f_naddr);
	if (p->p_dport != f->f_nport) {
		uint8_t np[2];

		memcpy(np, &f->f_nport, 2);
		pkt_set16(rs.rs_hdr, th + TCP_OFF_DPORT, pkt_get16(np));
	}
	/* The client's shift at a front-end is f_ws_out. */
	if ((f->f_flags & FLOW_UNSCALED) && !(p->p_flags & TH_SYN))
		pkt_set16(rs.rs_hdr, th + TCP_OFF_WIN,
		    rw_window(p->p_win, f->f_ws_out, 0));
	if (p->p_flags & TH_ACK) {
		pkt_set32(rs.rs_hdr, th + TCP_OFF_ACK, p->p_ack - f->f_delta);
		if (p->p_thl > PKT_TCP_HLEN)
			rw_opts(rs.rs_hdr, p, -f->f_ts_delta, 0, -f->f_delta);
	}
	rw_sums_store(&rs, p);
	p->p_dport = f->f_nport;
}

/* A packet of the back-end's stack, bound for the client. */
void
rw_to_client(const struct flow *f, struct pkt *p)
{
	struct rw_sums	 rs;
	uint8_t		*th = p->p_tcp;

	rw_sums_init(&rs, p);
	pkt_set_addr(&rs.rs_ip, &rs.rs_pseudo, p, 0, &f->f_naddr);
	if (p->p_sport != f->f_nport) {
		uint8_t np[2];

		memcpy(np, &f->f_nport, 2);
		pkt_set16(rs.rs_hdr, th + TCP_OFF_SPORT, pkt_get16(np));
	}
	pkt_set32(rs.rs_hdr, th + TCP_OFF_SEQ, p->p_seq + f->f_delta);
	if (f->f_ws_in != f->f_ws_out && !(p->p_flags & TH_SYN))
		pkt_set16(rs.rs_hdr, th + TCP_OFF_WIN,
		    rw_window(p->p_win, f->f_ws_in, f->f_ws_out));
	if (p->p_thl > PKT_TCP_HLEN)
		rw_opts(rs.rs_hdr, p, f->f_ts_delta, 1, 0);
	rw_sums_store(&rs, p);
	p->p_sport = f->f_nport;
}

/* The control protocol's codec; see ctl.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "handoff/ctl.h"
#include "pkt.h"

#define CTL_MAGIC0	'H'
#define CTL_MAGIC1	'D'

#define CTL_HELLO_MIN	(1 + 1 + 8)
#define CTL_LOAD_LEN	8

static const char *const ctl_type_names[CTL_TYPE_MAX] = {
	[CTL_HELLO] = "HELLO",
	[CTL_HANDOFF] = "HANDOFF",
	[CTL_HANDOFF_ACK] = "HANDOFF_ACK",
	[CTL_CLOSE] = "CLOSE",
	[CTL_LOAD] = "LOAD",
	[CTL_LOOKUP] = "LOOKUP",
	[CTL_LOOKUP_ACK] = "LOOKUP_ACK",
	[CTL_ICMP] = "ICMP",
};

static const char *const ctl_status_names[CTL_STATUS_MAX] = {
	[CTL_OK] = "ok",
	[CTL_REFUSED] = "refused",
	[CTL_NO_RESOURCES] = "no-resources",
	[CTL_STACK_TIMEOUT] = "stack-timeout",
	[CTL_BAD_HANDOFF] = "bad-handoff",
	[CTL_CANCELLED] = "cancelled",
	[CTL_BUSY] = "busy",
};

static const char *const ctl_reason_names[CTL_CLOSE_MAX] = {
	[CTL_CLOSE_DONE] = "done",
	[CTL_CLOSE_RST] = "reset",
	[CTL_CLOSE_IDLE] = "idle",
	[CTL_CLOSE_ABORT] = "abort",
	[CTL_CLOSE_FIN] = "client-fin",
	[CTL_CLOSE_CANCEL] = "cancel",
	[CTL_CLOSE_MOVED] = "moved",
};

static const char *const ctl_lookup_status_names[CTL_LK_MAX] = {
	[CTL_LK_FOUND] = "found",
	[CTL_LK_UNKNOWN] = "unknown",
	[CTL_LK_BUSY] = "busy",
};

const char *
ctl_type_name(int t)
{
	if (t <= 0 || t >= CTL_TYPE_MAX)
		return "unknown";
	return ctl_type_names[t];
}

const char *
ctl_status_name(int s)
{
	if (s < 0 || s >= CTL_STATUS_MAX)
		return "unknown";
	return ctl_status_names[s];
}

const char *
ctl_reason_name(int r)
{
	if (r <= 0 || r >= CTL_CLOSE_MAX)
		return "unknown";
	return ctl_reason_names[r];
}

const char *
ctl_lookup_status_name(int s)
{
	if (s < 0 || s >= CTL_LK_MAX)
		return "unknown";
	return ctl_lookup_status_names[s];
}

static uint64_t
ctl_get64(const uint8_t *p)
{
	return (uint64_t)pkt_get32(p) << 32 | pkt_get32(p + 4);
}

static void
ctl_put64(uint8_t *p, uint64_t v)
{
	pkt_put32(p, (uint32_t)(v >> 32));
	pkt_put32(p + 4, (uint32_t)v);
}

/* Node ids travel as bytes; only the configuration's charset is valid. */
static int
ctl_id_valid(const uint8_t *id, size_t len)
{
	size_t	 i;

	if (len == 0 || len > CTL_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

static int
ctl_decode_hello(const uint8_t *p, size_t len, struct ctl_hello *h)
{
	size_t	 idlen;

	if (len < CTL_HELLO_MIN)
		return -1;
	idlen = p[0];
	if (len != 1 + idlen + 8 || !ctl_id_valid(p + 1, idlen))
		return -1;
	memcpy(h->h_id, p + 1, idlen);
	h->h_id[idlen] = '\0';
	h->h_boot = ctl_get64(p + 1 + idlen);
	return 0;
}

/*
 * A cursor over a frame's payload.  Every read checks the bytes are there
 * (a short payload leaves rc_bad set and reads zeros); a frame's addresses
 * are rc_aw bytes wide: 4 in a version-2 frame, 16 in a version-3 one.
 */
struct ctl_rd {
	const uint8_t	*rc_p;
	size_t		 rc_len;
	size_t		 rc_off;
	size_t		 rc_aw;
	int		 rc_bad;
};

/* What a short read returns: zeros, as many as any field but the
 * HANDOFF's data (which is not read once rc_bad is set). */
static const uint8_t *
ctl_rd_take(struct ctl_rd *r, size_t n)
{
	static const uint8_t	 zero[16];
	const uint8_t		*q;

	if (r->rc_bad || n > r->rc_len - r->rc_off) {
		r->rc_bad = 1;
		return zero;
	}
	q = r->rc_p + r->rc_off;
	r->rc_off += n;
	return q;
}

static uint8_t
ctl_rd8(struct ctl_rd *r)
{
	return *ctl_rd_take(r, 1);
}

static uint16_t
ctl_rd16(struct ctl_rd *r)
{
	return pkt_get16(ctl_rd_take(r, 2));
}

/* A port, kept in network order. */
static uint16_t
ctl_rd_port(struct ctl_rd *r)
{
	uint16_t	 v;

	memcpy(&v, ctl_rd_take(r, 2), 2);
	return v;
}

static uint32_t
ctl_rd32(struct ctl_rd *r)
{
	return pkt_get32(ctl_rd_take(r, 4));
}

static uint64_t
ctl_rd64(struct ctl_rd *r)
{
	return ctl_get64(ctl_rd_take(r, 8));
}

/* A version-3 frame carries only what a version-2 one cannot: an IPv4
 * address in it is refused, so each address has one encoding. */
static struct ipaddr
ctl_rd_addr(struct ctl_rd *r)
{
	struct ipaddr	 a;
	uint32_t	 net;

	if (r->rc_aw == 4) {
		memcpy(&net, ctl_rd_take(r, 4), 4);
		return addr4(net);
	}
	addr_from16(&a, ctl_rd_take(r, 16));
	if (addr_is4(&a))
		r->rc_bad = 1;
	return a;
}

/* The payload was all read, and no more. */
static int
ctl_rd_done(const struct ctl_rd *r)
{
	return r->rc_bad || r->rc_off != r->rc_len ? -1 : 0;
}

static int
ctl_decode_handoff(struct ctl_rd *r, struct ctl_handoff *ho)
{
	ho->ho_flow = ctl_rd64(r);
	ho->ho_caddr = ctl_rd_addr(r);
	ho->ho_cport = ctl_rd_port(r);
	ho->ho_vaddr = ctl_rd_addr(r);
	ho->ho_vport = ctl_rd_port(r);
	ho->ho_irs = ctl_rd32(r);
	ho->ho_iss = ctl_rd32(r);
	ho->ho_cmss = ctl_rd16(r);
	ho->ho_cws = ctl_rd8(r);
	ho->ho_opts = ctl_rd8(r);
	ho->ho_cwin = ctl_rd16(r);
	ho->ho_fws = ctl_rd8(r);
	if (ctl_rd8(r) != 0)
		return -1;
	ho->ho_fmss = ctl_rd16(r);
	ho->ho_ctsval = ctl_rd32(r);
	ho->ho_ftsval = ctl_rd32(r);
	ho->ho_datalen = ctl_rd32(r);
	if (r->rc_bad || (ho->ho_opts & ~(CTL_OPT_WS | CTL_OPT_SACK |
	    CTL_OPT_TS | CTL_OPT_FIN)) != 0)
		return -1;
	/* RFC 7323: shifts above 14 are invalid. */
	if ((ho->ho_opts & CTL_OPT_WS) && (ho->ho_cws > 14 ||
	    ho->ho_fws > 14))
		return -1;
	if (ho->ho_cmss == 0 || ho->ho_fmss == 0)
		return -1;
	ho->ho_data = ctl_rd_take(r, ho->ho_datalen);
	return ctl_rd_done(r);
}

static int
ctl_decode_ack(struct ctl_rd *r, struct ctl_handoff_ack *ha)
{
	ha->ha_flow = ctl_rd64(r);
	ha->ha_bflow = ctl_rd64(r);
	ha->ha_status = ctl_rd8(r);
	ha->ha_ws = ctl_rd8(r);
	ha->ha_mss = ctl_rd16(r);
	ha->ha_iss = ctl_rd32(r);
	ha->ha_ts_delta = ctl_rd32(r);
	ha->ha_saddr = ctl_rd_addr(r);
	ha->ha_sport = ctl_rd_port(r);
	ha->ha_opts = ctl_rd8(r);
	if (ctl_rd8(r) != 0 || ha->ha_status >= CTL_STATUS_MAX ||
	    ha->ha_ws > 14 || (ha->ha_opts & ~CTL_OPT_WS) != 0)
		return -1;
	return ctl_rd_done(r);
}

static int
ctl_decode_close(struct ctl_rd *r, struct ctl_close *cl)
{
	cl->cl_flow = ctl_rd64(r);
	cl->cl_sflow = ctl_rd64(r);
	cl->cl_reason = ctl_rd8(r);
	if (ctl_rd8(r) != 0 || ctl_rd16(r) != 0)
		return -1;
	cl->cl_seq = ctl_rd32(r);
	cl->cl_caddr = ctl_rd_addr(r);
	cl->cl_cport = ctl_rd_port(r);
	cl->cl_vport = ctl_rd_port(r);
	if (cl->cl_reason == 0 || cl->cl_reason >= CTL_CLOSE_MAX)
		return -1;
	return ctl_rd_done(r);
}

static int
ctl_decode_lookup(struct ctl_rd *r, struct ctl_lookup *lk)
{
	lk->lk_flow = ctl_rd64(r);
	lk->lk_caddr = ctl_rd_addr(r);
	lk->lk_cport = ctl_rd_port(r);
	lk->lk_vaddr = ctl_rd_addr(r);
	lk->lk_vport = ctl_rd_port(r);
	lk->lk_seq = ctl_rd32(r);
	lk->lk_ack = ctl_rd32(r);
	lk->lk_flags = ctl_rd8(r);
	if (ctl_rd8(r) != 0 || ctl_rd16(r) != 0 || lk->lk_flow == 0 ||
	    (lk->lk_flags & ~CTL_LK_RST) != 0)
		return -1;
	return ctl_rd_done(r);
}

static int
ctl_decode_icmp(struct ctl_rd *r, struct ctl_icmp *ic)
{
	ic->ic_len = ctl_rd16(r);
	if (ctl_rd16(r) != 0 || ic->ic_len < CTL_ICMP_MIN ||
	    ic->ic_len > CTL_ICMP_MAX)
		return -1;
	ic->ic_pkt = ctl_rd_take(r, ic->ic_len);
	return ctl_rd_done(r);
}

static int
ctl_decode_lack(struct ctl_rd *r, struct ctl_lookup_ack *la)
{
	la->la_flow = ctl_rd64(r);
	la->la_bflow = ctl_rd64(r);
	la->la_status = ctl_rd8(r);
	la->la_flags = ctl_rd8(r);
	la->la_ws = ctl_rd8(r);
	la->la_cws = ctl_rd8(r);
	la->la_irs = ctl_rd32(r);
	la->la_delta = ctl_rd32(r);
	la->la_ts_delta = ctl_rd32(r);
	la->la_cnxt = ctl_rd32(r);
	la->la_snxt = ctl_rd32(r);
	la->la_saddr = ctl_rd_addr(r);
	la->la_sport = ctl_rd_port(r);
	if (ctl_rd16(r) != 0 || la->la_status >= CTL_LK_MAX ||
	    la->la_ws > 14 || la->la_cws > 14 ||
	    (la->la_flags & ~(CTL_LK_LINGER | CTL_LK_UNSCALED |
	    CTL_LK_CLIENT_FIN)) != 0)
		return -1;
	/* Found names the member's flow; the others name none. */
	if ((la->la_status == CTL_LK_FOUND) != (la->la_bflow != 0))
		return -1;
	return ctl_rd_done(r);
}

/*
 * Decodes the frame at the start of buf (len bytes available).  Returns 1
 * and the frame's size in *used when a whole valid frame is there, 0 when
 * more bytes are needed, -1 with *why set when the bytes cannot be a valid
 * frame: the connection must then be closed, as nothing after a bad frame
 * can be trusted to start on a frame boundary.  Decoded pointers (the
 * HANDOFF's data) point into buf.
 */
int
ctl_decode(const uint8_t *buf, size_t len, size_t frame_max,
    struct ctl_msg *m, size_t *used, const char **why)
{
	struct ctl_rd	 r;
	size_t		 plen;
	const uint8_t	*p;
	int		 rc = -1;

	*why = NULL;
	if (len < CTL_HDR_LEN)
		return 0;
	if (buf[0] != CTL_MAGIC0 || buf[1] != CTL_MAGIC1) {
		*why = "bad magic: not a handoffd control stream";
		return -1;
	}
	if (buf[2] != CTL_VERSION && buf[2] != CTL_VERSION_ADDR16) {
		*why = "unsupported protocol version";
		return -1;
	}
	if (buf[3] == 0 || buf[3] >= CTL_TYPE_MAX) {
		*why = "unknown frame type";
		return -1;
	}
	if (buf[2] == CTL_VERSION_ADDR16 && (buf[3] == CTL_HELLO ||
	    buf[3] == CTL_LOAD || buf[3] == CTL_ICMP)) {
		*why = "unsupported protocol version";
		return -1;
	}
	plen = pkt_get32(buf + 4);
	if (plen > frame_max - CTL_HDR_LEN || frame_max < CTL_HDR_LEN) {
		*why = "oversized frame";
		return -1;
	}
	if (len - CTL_HDR_LEN < plen)
		return 0;
	p = buf + CTL_HDR_LEN;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	r.rc_p = p;
	r.rc_len = plen;
	r.rc_aw = buf[2] == CTL_VERSION_ADDR16 ? 16 : 4;
	m->m_type = buf[3];
	switch (m->m_type) {
	case CTL_HELLO:
		rc = ctl_decode_hello(p, plen, &m->m_u.hello);
		break;
	case CTL_HANDOFF:
		rc = ctl_decode_handoff(&r, &m->m_u.handoff);
		break;
	case CTL_HANDOFF_ACK:
		rc = ctl_decode_ack(&r, &m->m_u.ack);
		break;
	case CTL_CLOSE:
		rc = ctl_decode_close(&r, &m->m_u.close);
		break;
	case CTL_LOAD:
		if (plen == CTL_LOAD_LEN) {
			m->m_u.load.ld_flows = pkt_get32(p);
			m->m_u.load.ld_capacity = pkt_get32(p + 4);
			rc = 0;
		}
		break;
	case CTL_LOOKUP:
		rc = ctl_decode_lookup(&r, &m->m_u.lookup);
		break;
	case CTL_LOOKUP_ACK:
		rc = ctl_decode_lack(&r, &m->m_u.lack);
		break;
	case CTL_ICMP:
		rc = ctl_decode_icmp(&r, &m->m_u.icmp);
		break;
	}
	if (rc == -1) {
		*why = "malformed frame payload";
		return -1;
	}
	*used = CTL_HDR_LEN + plen;
	return 1;
}

static void
ctl_put_hdr(uint8_t *buf, uint8_t version, uint8_t type, size_t plen)
{
	buf[0] = CTL_MAGIC0;
	buf[1] = CTL_MAGIC1;
	buf[2] = version;
	buf[3] = type;
	pkt_put32(buf + 4, (uint32_t)plen);
}

/* The writing side of struct ctl_rd: bytes that do not fit set wc_bad
 * and are not written. */
struct ctl_wr {
	uint8_t		*wc_p;
	size_t		 wc_cap;
	size_t		 wc_off;
	size_t		 wc_aw;
	int		 wc_bad;
};

static void
ctl_wr_bytes(struct ctl_wr *w, const void *b, size_t n)
{
	if (w->wc_bad || n > w->wc_cap - w->wc_off) {
		w->wc_bad = 1;
		return;
	}
	memcpy(w->wc_p + w->wc_off, b, n);
	w->wc_off += n;
}

static void
ctl_wr8(struct ctl_wr *w, uint8_t v)
{
	ctl_wr_bytes(w, &v, 1);
}

static void
ctl_wr16(struct ctl_wr *w, uint16_t v)
{
	uint8_t	 b[2];

	pkt_put16(b, v);
	ctl_wr_bytes(w, b, 2);
}

static void
ctl_wr32(struct ctl_wr *w, uint32_t v)
{
	uint8_t	 b[4];

	pkt_put32(b, v);
	ctl_wr_bytes(w, b, 4);
}

static void
ctl_wr64(struct ctl_wr *w, uint64_t v)
{
	uint8_t	 b[8];

	ctl_put64(b, v);
	ctl_wr_bytes(w, b, 8);
}

static void
ctl_wr_addr(struct ctl_wr *w, const struct ipaddr *a)
{
	uint32_t	 net = addr_get4(a);

	if (w->wc_aw == 4)
		ctl_wr_bytes(w, &net, 4);
	else
		ctl_wr_bytes(w, a->a_w, 16);
}

/* A frame's payload starts after the header; its addresses (a and b, of
 * one family: a connection's two ends) take 4 bytes each if IPv4, else
 * 16, and the header's version says which. */
static void
ctl_wr_start(struct ctl_wr *w, uint8_t *buf, size_t cap,
    const struct ipaddr *a, const struct ipaddr *b)
{
	memset(w, 0, sizeof(*w));
	w->wc_p = buf;
	w->wc_cap = cap;
	w->wc_aw = addr_is4(a) ? 4 : 16;
	if (cap < CTL_HDR_LEN || (b != NULL && addr_is4(a) != addr_is4(b)))
		w->wc_bad = 1;
	else
		w->wc_off = CTL_HDR_LEN;
}

/* Puts the header in front of what w holds; its length, 0 if it did not
 * fit.  extra: payload bytes the caller writes after it. */
static size_t
ctl_wr_end(struct ctl_wr *w, uint8_t type, size_t extra)
{
	if (w->wc_bad)
		return 0;
	ctl_put_hdr(w->wc_p, w->wc_aw == 4 ? CTL_VERSION : CTL_VERSION_ADDR16,
	    type, w->wc_off - CTL_HDR_LEN + extra);
	return w->wc_off;
}

/*
 * Encodes the header and fixed part of a HANDOFF; the caller appends
 * ho_datalen bytes of request data, so they are never copied twice.
 * Returns the bytes written, 0 if cap is too small.
 */
size_t
ctl_encode_handoff_head(uint8_t *buf, size_t cap, const struct ctl_handoff *ho)
{
	struct ctl_wr	 w;

	ctl_wr_start(&w, buf, cap, &ho->ho_caddr, &ho->ho_vaddr);
	ctl_wr64(&w, ho->ho_flow);
	ctl_wr_addr(&w, &ho->ho_caddr);
	ctl_wr_bytes(&w, &ho->ho_cport, 2);
	ctl_wr_addr(&w, &ho->ho_vaddr);
	ctl_wr_bytes(&w, &ho->ho_vport, 2);
	ctl_wr32(&w, ho->ho_irs);
	ctl_wr32(&w, ho->ho_iss);
	ctl_wr16(&w, ho->ho_cmss);
	ctl_wr8(&w, ho->ho_cws);
	ctl_wr8(&w, ho->ho_opts);
	ctl_wr16(&w, ho->ho_cwin);
	ctl_wr8(&w, ho->ho_fws);
	ctl_wr8(&w, 0);
	ctl_wr16(&w, ho->ho_fmss);
	ctl_wr32(&w, ho->ho_ctsval);
	ctl_wr32(&w, ho->ho_ftsval);
	ctl_wr32(&w, ho->ho_datalen);
	return ctl_wr_end(&w, CTL_HANDOFF, ho->ho_datalen);
}

/*
 * Encodes a whole frame into buf.  A HANDOFF is encoded with its data.
 * Returns the frame's length, 0 if cap is too small or m is invalid.
 */
size_t
ctl_encode(uint8_t *buf, size_t cap, const struct ctl_msg *m)
{
	const struct ctl_handoff	*ho = &m->m_u.handoff;
	const struct ctl_handoff_ack	*ha = &m->m_u.ack;
	const struct ctl_close		*cl = &m->m_u.close;
	const struct ctl_lookup		*lk = &m->m_u.lookup;
	const struct ctl_lookup_ack	*la = &m->m_u.lack;
	const struct ipaddr		 v4 = addr4(0);
	struct ctl_wr			 w;
	size_t				 n, idlen;

	switch (m->m_type) {
	case CTL_HELLO:
		idlen = strlen(m->m_u.hello.h_id);
		if (!ctl_id_valid((const uint8_t *)m->m_u.hello.h_id, idlen))
			return 0;
		ctl_wr_start(&w, buf, cap, &v4, NULL);
		ctl_wr8(&w, (uint8_t)idlen);
		ctl_wr_bytes(&w, m->m_u.hello.h_id, idlen);
		ctl_wr64(&w, m->m_u.hello.h_boot);
		break;
	case CTL_HANDOFF:
		if ((n = ctl_encode_handoff_head(buf, cap, ho)) == 0 ||
		    ho->ho_datalen > cap - n)
			return 0;
		if (ho->ho_datalen)
			memcpy(buf + n, ho->ho_data, ho->ho_datalen);
		return n + ho->ho_datalen;
	case CTL_HANDOFF_ACK:
		ctl_wr_start(&w, buf, cap, &ha->ha_saddr, NULL);
		ctl_wr64(&w, ha->ha_flow);
		ctl_wr64(&w, ha->ha_bflow);
		ctl_wr8(&w, ha->ha_status);
		ctl_wr8(&w, ha->ha_ws);
		ctl_wr16(&w, ha->ha_mss);
		ctl_wr32(&w, ha->ha_iss);
		ctl_wr32(&w, ha->ha_ts_delta);
		ctl_wr_addr(&w, &ha->ha_saddr);
		ctl_wr_bytes(&w, &ha->ha_sport, 2);
		ctl_wr8(&w, ha->ha_opts);
		ctl_wr8(&w, 0);
		break;
	case CTL_CLOSE:
		ctl_wr_start(&w, buf, cap, &cl->cl_caddr, NULL);
		ctl_wr64(&w, cl->cl_flow);
		ctl_wr64(&w, cl->cl_sflow);
		ctl_wr8(&w, cl->cl_reason);
		ctl_wr8(&w, 0);
		ctl_wr16(&w, 0);
		ctl_wr32(&w, cl->cl_seq);
		ctl_wr_addr(&w, &cl->cl_caddr);
		ctl_wr_bytes(&w, &cl->cl_cport, 2);
		ctl_wr_bytes(&w, &cl->cl_vport, 2);
		break;
	case CTL_LOAD:
		ctl_wr_start(&w, buf, cap, &v4, NULL);
		ctl_wr32(&w, m->m_u.load.ld_flows);
		ctl_wr32(&w, m->m_u.load.ld_capacity);
		break;
	case CTL_LOOKUP:
		ctl_wr_start(&w, buf, cap, &lk->lk_caddr, &lk->lk_vaddr);
		ctl_wr64(&w, lk->lk_flow);
		ctl_wr_addr(&w, &lk->lk_caddr);
		ctl_wr_bytes(&w, &lk->lk_cport, 2);
		ctl_wr_addr(&w, &lk->lk_vaddr);
		ctl_wr_bytes(&w, &lk->lk_vport, 2);
		ctl_wr32(&w, lk->lk_seq);
		ctl_wr32(&w, lk->lk_ack);
		ctl_wr8(&w, lk->lk_flags);
		ctl_wr8(&w, 0);
		ctl_wr16(&w, 0);
		break;
	case CTL_LOOKUP_ACK:
		ctl_wr_start(&w, buf, cap, &la->la_saddr, NULL);
		ctl_wr64(&w, la->la_flow);
		ctl_wr64(&w, la->la_bflow);
		ctl_wr8(&w, la->la_status);
		ctl_wr8(&w, la->la_flags);
		ctl_wr8(&w, la->la_ws);
		ctl_wr8(&w, la->la_cws);
		ctl_wr32(&w, la->la_irs);
		ctl_wr32(&w, la->la_delta);
		ctl_wr32(&w, la->la_ts_delta);
		ctl_wr32(&w, la->la_cnxt);
		ctl_wr32(&w, la->la_snxt);
		ctl_wr_addr(&w, &la->la_saddr);
		ctl_wr_bytes(&w, &la->la_sport, 2);
		ctl_wr16(&w, 0);
		break;
	case CTL_ICMP:
		if (m->m_u.icmp.ic_len < CTL_ICMP_MIN ||
		    m->m_u.icmp.ic_len > CTL_ICMP_MAX)
			return 0;
		ctl_wr_start(&w, buf, cap, &v4, NULL);
		ctl_wr16(&w, m->m_u.icmp.ic_len);
		ctl_wr16(&w, 0);
		ctl_wr_bytes(&w, m->m_u.icmp.ic_pkt, m->m_u.icmp.ic_len);
		break;
	default:
		return 0;
	}
	return ctl_wr_end(&w, m->m_type, 0);
}

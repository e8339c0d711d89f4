/* The control protocol's codec; see ctl.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "handoff/ctl.h"
#include "pkt.h"

#define CTL_MAGIC0	'H'
#define CTL_MAGIC1	'D'

#define CTL_HELLO_MIN	(1 + 1 + 8)
#define CTL_ACK_LEN	36
#define CTL_CLOSE_LEN	32
#define CTL_LOAD_LEN	8
#define CTL_LOOKUP_LEN	32
#define CTL_LACK_LEN	48

static const char *const ctl_type_names[CTL_TYPE_MAX] = {
	[CTL_HELLO] = "HELLO",
	[CTL_HANDOFF] = "HANDOFF",
	[CTL_HANDOFF_ACK] = "HANDOFF_ACK",
	[CTL_CLOSE] = "CLOSE",
	[CTL_LOAD] = "LOAD",
	[CTL_LOOKUP] = "LOOKUP",
	[CTL_LOOKUP_ACK] = "LOOKUP_ACK",
};

static const char *const ctl_status_names[CTL_STATUS_MAX] = {
	[CTL_OK] = "ok",
	[CTL_REFUSED] = "refused",
	[CTL_NO_RESOURCES] = "no-resources",
	[CTL_STACK_TIMEOUT] = "stack-timeout",
	[CTL_BAD_HANDOFF] = "bad-handoff",
	[CTL_CANCELLED] = "cancelled",
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

static int
ctl_decode_handoff(const uint8_t *p, size_t len, struct ctl_handoff *ho)
{
	if (len < CTL_HANDOFF_FIXED)
		return -1;
	ho->ho_flow = ctl_get64(p);
	memcpy(&ho->ho_caddr, p + 8, 4);
	memcpy(&ho->ho_cport, p + 12, 2);
	memcpy(&ho->ho_vaddr, p + 14, 4);
	memcpy(&ho->ho_vport, p + 18, 2);
	ho->ho_irs = pkt_get32(p + 20);
	ho->ho_iss = pkt_get32(p + 24);
	ho->ho_cmss = pkt_get16(p + 28);
	ho->ho_cws = p[30];
	ho->ho_opts = p[31];
	ho->ho_cwin = pkt_get16(p + 32);
	ho->ho_fws = p[34];
	ho->ho_fmss = pkt_get16(p + 36);
	ho->ho_ctsval = pkt_get32(p + 38);
	ho->ho_ftsval = pkt_get32(p + 42);
	ho->ho_datalen = pkt_get32(p + 46);
	if (p[35] != 0 || (ho->ho_opts & ~(CTL_OPT_WS | CTL_OPT_SACK |
	    CTL_OPT_TS | CTL_OPT_FIN)) != 0)
		return -1;
	/* RFC 7323: shifts above 14 are invalid. */
	if ((ho->ho_opts & CTL_OPT_WS) && (ho->ho_cws > 14 ||
	    ho->ho_fws > 14))
		return -1;
	if (ho->ho_cmss == 0 || ho->ho_fmss == 0)
		return -1;
	if (ho->ho_datalen != len - CTL_HANDOFF_FIXED)
		return -1;
	ho->ho_data = p + CTL_HANDOFF_FIXED;
	return 0;
}

static int
ctl_decode_ack(const uint8_t *p, size_t len, struct ctl_handoff_ack *ha)
{
	if (len != CTL_ACK_LEN)
		return -1;
	ha->ha_flow = ctl_get64(p);
	ha->ha_bflow = ctl_get64(p + 8);
	ha->ha_status = p[16];
	ha->ha_ws = p[17];
	ha->ha_mss = pkt_get16(p + 18);
	ha->ha_iss = pkt_get32(p + 20);
	ha->ha_ts_delta = pkt_get32(p + 24);
	memcpy(&ha->ha_saddr, p + 28, 4);
	memcpy(&ha->ha_sport, p + 32, 2);
	ha->ha_opts = p[34];
	if (ha->ha_status >= CTL_STATUS_MAX || ha->ha_ws > 14 ||
	    (ha->ha_opts & ~CTL_OPT_WS) != 0 || p[35] != 0)
		return -1;
	return 0;
}

static int
ctl_decode_close(const uint8_t *p, size_t len, struct ctl_close *cl)
{
	if (len != CTL_CLOSE_LEN)
		return -1;
	cl->cl_flow = ctl_get64(p);
	cl->cl_sflow = ctl_get64(p + 8);
	cl->cl_reason = p[16];
	cl->cl_seq = pkt_get32(p + 20);
	memcpy(&cl->cl_caddr, p + 24, 4);
	memcpy(&cl->cl_cport, p + 28, 2);
	memcpy(&cl->cl_vport, p + 30, 2);
	if (cl->cl_reason == 0 || cl->cl_reason >= CTL_CLOSE_MAX ||
	    p[17] != 0 || p[18] != 0 || p[19] != 0)
		return -1;
	return 0;
}

static int
ctl_decode_lookup(const uint8_t *p, size_t len, struct ctl_lookup *lk)
{
	if (len != CTL_LOOKUP_LEN)
		return -1;
	lk->lk_flow = ctl_get64(p);
	memcpy(&lk->lk_caddr, p + 8, 4);
	memcpy(&lk->lk_cport, p + 12, 2);
	memcpy(&lk->lk_vaddr, p + 14, 4);
	memcpy(&lk->lk_vport, p + 18, 2);
	lk->lk_seq = pkt_get32(p + 20);
	lk->lk_ack = pkt_get32(p + 24);
	lk->lk_flags = p[28];
	if (lk->lk_flow == 0 || (lk->lk_flags & ~CTL_LK_RST) != 0 ||
	    p[29] != 0 || p[30] != 0 || p[31] != 0)
		return -1;
	return 0;
}

static int
ctl_decode_lack(const uint8_t *p, size_t len, struct ctl_lookup_ack *la)
{
	if (len != CTL_LACK_LEN)
		return -1;
	la->la_flow = ctl_get64(p);
	la->la_bflow = ctl_get64(p + 8);
	la->la_status = p[16];
	la->la_flags = p[17];
	la->la_ws = p[18];
	la->la_cws = p[19];
	la->la_irs = pkt_get32(p + 20);
	la->la_delta = pkt_get32(p + 24);
	la->la_ts_delta = pkt_get32(p + 28);
	la->la_cnxt = pkt_get32(p + 32);
	la->la_snxt = pkt_get32(p + 36);
	memcpy(&la->la_saddr, p + 40, 4);
	memcpy(&la->la_sport, p + 44, 2);
	if (la->la_status >= CTL_LK_MAX || la->la_ws > 14 || la->la_cws > 14 ||
	    (la->la_flags & ~(CTL_LK_LINGER | CTL_LK_UNSCALED |
	    CTL_LK_CLIENT_FIN)) != 0 || p[46] != 0 || p[47] != 0)
		return -1;
	/* Found names the member's flow; the others name none. */
	if ((la->la_status == CTL_LK_FOUND) != (la->la_bflow != 0))
		return -1;
	return 0;
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
	if (buf[2] != CTL_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	if (buf[3] == 0 || buf[3] >= CTL_TYPE_MAX) {
		*why = "unknown frame type";
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
	m->m_type = buf[3];
	switch (m->m_type) {
	case CTL_HELLO:
		rc = ctl_decode_hello(p, plen, &m->m_u.hello);
		break;
	case CTL_HANDOFF:
		rc = ctl_decode_handoff(p, plen, &m->m_u.handoff);
		break;
	case CTL_HANDOFF_ACK:
		rc = ctl_decode_ack(p, plen, &m->m_u.ack);
		break;
	case CTL_CLOSE:
		rc = ctl_decode_close(p, plen, &m->m_u.close);
		break;
	case CTL_LOAD:
		if (plen == CTL_LOAD_LEN) {
			m->m_u.load.ld_flows = pkt_get32(p);
			m->m_u.load.ld_capacity = pkt_get32(p + 4);
			rc = 0;
		}
		break;
	case CTL_LOOKUP:
		rc = ctl_decode_lookup(p, plen, &m->m_u.lookup);
		break;
	case CTL_LOOKUP_ACK:
		rc = ctl_decode_lack(p, plen, &m->m_u.lack);
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
ctl_put_hdr(uint8_t *buf, uint8_t type, size_t plen)
{
	buf[0] = CTL_MAGIC0;
	buf[1] = CTL_MAGIC1;
	buf[2] = CTL_VERSION;
	buf[3] = type;
	pkt_put32(buf + 4, (uint32_t)plen);
}

/*
 * Encodes the header and fixed part of a HANDOFF; the caller appends
 * ho_datalen bytes of request data, so they are never copied twice.
 * Returns the bytes written, 0 if cap is too small.
 */
size_t
ctl_encode_handoff_head(uint8_t *buf, size_t cap, const struct ctl_handoff *ho)
{
	uint8_t	*p = buf + CTL_HDR_LEN;

	if (cap < CTL_HDR_LEN + CTL_HANDOFF_FIXED)
		return 0;
	ctl_put_hdr(buf, CTL_HANDOFF, CTL_HANDOFF_FIXED + ho->ho_datalen);
	ctl_put64(p, ho->ho_flow);
	memcpy(p + 8, &ho->ho_caddr, 4);
	memcpy(p + 12, &ho->ho_cport, 2);
	memcpy(p + 14, &ho->ho_vaddr, 4);
	memcpy(p + 18, &ho->ho_vport, 2);
	pkt_put32(p + 20, ho->ho_irs);
	pkt_put32(p + 24, ho->ho_iss);
	pkt_put16(p + 28, ho->ho_cmss);
	p[30] = ho->ho_cws;
	p[31] = ho->ho_opts;
	pkt_put16(p + 32, ho->ho_cwin);
	p[34] = ho->ho_fws;
	p[35] = 0;
	pkt_put16(p + 36, ho->ho_fmss);
	pkt_put32(p + 38, ho->ho_ctsval);
	pkt_put32(p + 42, ho->ho_ftsval);
	pkt_put32(p + 46, ho->ho_datalen);
	return CTL_HDR_LEN + CTL_HANDOFF_FIXED;
}

/*
 * Encodes a whole frame into buf.  A HANDOFF is encoded with its data.
 * Returns the frame's length, 0 if cap is too small or m is invalid.
 */
size_t
ctl_encode(uint8_t *buf, size_t cap, const struct ctl_msg *m)
{
	uint8_t	*p = buf + CTL_HDR_LEN;
	size_t	 plen, idlen;

	switch (m->m_type) {
	case CTL_HELLO:
		idlen = strlen(m->m_u.hello.h_id);
		if (!ctl_id_valid((const uint8_t *)m->m_u.hello.h_id, idlen))
			return 0;
		plen = 1 + idlen + 8;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		p[0] = (uint8_t)idlen;
		memcpy(p + 1, m->m_u.hello.h_id, idlen);
		ctl_put64(p + 1 + idlen, m->m_u.hello.h_boot);
		break;
	case CTL_HANDOFF:
		plen = CTL_HANDOFF_FIXED + m->m_u.handoff.ho_datalen;
		if (cap < CTL_HDR_LEN + plen ||
		    ctl_encode_handoff_head(buf, cap, &m->m_u.handoff) == 0)
			return 0;
		if (m->m_u.handoff.ho_datalen)
			memcpy(p + CTL_HANDOFF_FIXED, m->m_u.handoff.ho_data,
			    m->m_u.handoff.ho_datalen);
		return CTL_HDR_LEN + plen;
	case CTL_HANDOFF_ACK:
		plen = CTL_ACK_LEN;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		ctl_put64(p, m->m_u.ack.ha_flow);
		ctl_put64(p + 8, m->m_u.ack.ha_bflow);
		p[16] = m->m_u.ack.ha_status;
		p[17] = m->m_u.ack.ha_ws;
		pkt_put16(p + 18, m->m_u.ack.ha_mss);
		pkt_put32(p + 20, m->m_u.ack.ha_iss);
		pkt_put32(p + 24, m->m_u.ack.ha_ts_delta);
		memcpy(p + 28, &m->m_u.ack.ha_saddr, 4);
		memcpy(p + 32, &m->m_u.ack.ha_sport, 2);
		p[34] = m->m_u.ack.ha_opts;
		p[35] = 0;
		break;
	case CTL_CLOSE:
		plen = CTL_CLOSE_LEN;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		ctl_put64(p, m->m_u.close.cl_flow);
		ctl_put64(p + 8, m->m_u.close.cl_sflow);
		p[16] = m->m_u.close.cl_reason;
		p[17] = p[18] = p[19] = 0;
		pkt_put32(p + 20, m->m_u.close.cl_seq);
		memcpy(p + 24, &m->m_u.close.cl_caddr, 4);
		memcpy(p + 28, &m->m_u.close.cl_cport, 2);
		memcpy(p + 30, &m->m_u.close.cl_vport, 2);
		break;
	case CTL_LOAD:
		plen = CTL_LOAD_LEN;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		pkt_put32(p, m->m_u.load.ld_flows);
		pkt_put32(p + 4, m->m_u.load.ld_capacity);
		break;
	case CTL_LOOKUP:
		plen = CTL_LOOKUP_LEN;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		ctl_put64(p, m->m_u.lookup.lk_flow);
		memcpy(p + 8, &m->m_u.lookup.lk_caddr, 4);
		memcpy(p + 12, &m->m_u.lookup.lk_cport, 2);
		memcpy(p + 14, &m->m_u.lookup.lk_vaddr, 4);
		memcpy(p + 18, &m->m_u.lookup.lk_vport, 2);
		pkt_put32(p + 20, m->m_u.lookup.lk_seq);
		pkt_put32(p + 24, m->m_u.lookup.lk_ack);
		p[28] = m->m_u.lookup.lk_flags;
		p[29] = p[30] = p[31] = 0;
		break;
	case CTL_LOOKUP_ACK:
		plen = CTL_LACK_LEN;
		if (cap < CTL_HDR_LEN + plen)
			return 0;
		ctl_put64(p, m->m_u.lack.la_flow);
		ctl_put64(p + 8, m->m_u.lack.la_bflow);
		p[16] = m->m_u.lack.la_status;
		p[17] = m->m_u.lack.la_flags;
		p[18] = m->m_u.lack.la_ws;
		p[19] = m->m_u.lack.la_cws;
		pkt_put32(p + 20, m->m_u.lack.la_irs);
		pkt_put32(p + 24, m->m_u.lack.la_delta);
		pkt_put32(p + 28, m->m_u.lack.la_ts_delta);
		pkt_put32(p + 32, m->m_u.lack.la_cnxt);
		pkt_put32(p + 36, m->m_u.lack.la_snxt);
		memcpy(p + 40, &m->m_u.lack.la_saddr, 4);
		memcpy(p + 44, &m->m_u.lack.la_sport, 2);
		p[46] = p[47] = 0;
		break;
	default:
		return 0;
	}
	ctl_put_hdr(buf, m->m_type, plen);
	return CTL_HDR_LEN + plen;
}

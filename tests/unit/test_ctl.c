/*
 * The control codec: every message type round-trips; every truncation,
 * every wrong length and every invalid field is refused, never read past.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/ctl.h"
#include "pkt.h"
#include "t.h"

#define FRAME_MAX	(256 * 1024)

static uint8_t	 reqbytes[3000];

static void
fill_msgs(struct ctl_msg *m, int *n)
{
	int	 i = 0;
	size_t	 k;

	for (k = 0; k < sizeof(reqbytes); k++)
		reqbytes[k] = (uint8_t)(k * 7);
	memset(m, 0, sizeof(*m) * 8);
	m[i].m_type = CTL_HELLO;
	strcpy(m[i].m_u.hello.h_id, "node-1.a_b");
	i++;
	m[i].m_type = CTL_HANDOFF;
	m[i].m_u.handoff.ho_flow = 0x0102030405060708ULL;
	m[i].m_u.handoff.ho_caddr = t_ip("10.0.0.2");
	m[i].m_u.handoff.ho_cport = htons(40000);
	m[i].m_u.handoff.ho_vaddr = t_ip("10.9.0.1");
	m[i].m_u.handoff.ho_vport = htons(80);
	m[i].m_u.handoff.ho_irs = 0xfffffff0;
	m[i].m_u.handoff.ho_iss = 0x12345678;
	m[i].m_u.handoff.ho_cmss = 1460;
	m[i].m_u.handoff.ho_cws = 7;
	m[i].m_u.handoff.ho_opts = CTL_OPT_WS | CTL_OPT_SACK | CTL_OPT_TS;
	m[i].m_u.handoff.ho_cwin = 502;
	m[i].m_u.handoff.ho_fws = 7;
	m[i].m_u.handoff.ho_fmss = 1460;
	m[i].m_u.handoff.ho_ctsval = 111;
	m[i].m_u.handoff.ho_ftsval = 222;
	m[i].m_u.handoff.ho_data = reqbytes;
	m[i].m_u.handoff.ho_datalen = sizeof(reqbytes);
	i++;
	m[i].m_type = CTL_HANDOFF_ACK;
	m[i].m_u.ack.ha_flow = 42;
	m[i].m_u.ack.ha_bflow = 0xdeadbeefcafef00dULL;
	m[i].m_u.ack.ha_status = CTL_OK;
	m[i].m_u.ack.ha_ws = 7;
	m[i].m_u.ack.ha_mss = 1460;
	m[i].m_u.ack.ha_iss = 99;
	m[i].m_u.ack.ha_ts_delta = 0x80000001;
	m[i].m_u.ack.ha_saddr = t_ip("10.2.2.2");
	m[i].m_u.ack.ha_sport = htons(80);
	i++;
	m[i].m_type = CTL_CLOSE;
	m[i].m_u.close.cl_flow = 7;
	m[i].m_u.close.cl_sflow = 8;
	m[i].m_u.close.cl_reason = CTL_CLOSE_FIN;
	m[i].m_u.close.cl_seq = 0xabcdef01;
	m[i].m_u.close.cl_caddr = t_ip("10.0.0.2");
	m[i].m_u.close.cl_cport = htons(1234);
	m[i].m_u.close.cl_vport = htons(80);
	i++;
	m[i].m_type = CTL_LOAD;
	m[i].m_u.load.ld_flows = 12;
	m[i].m_u.load.ld_capacity = 65536;
	i++;
	m[i].m_type = CTL_LOOKUP;
	m[i].m_u.lookup.lk_flow = 0x1122334455667788ULL;
	m[i].m_u.lookup.lk_caddr = t_ip("10.0.0.2");
	m[i].m_u.lookup.lk_cport = htons(40000);
	m[i].m_u.lookup.lk_vaddr = t_ip("10.9.0.1");
	m[i].m_u.lookup.lk_vport = htons(80);
	m[i].m_u.lookup.lk_seq = 0xfffffffe;
	m[i].m_u.lookup.lk_ack = 0x80000000;
	m[i].m_u.lookup.lk_flags = CTL_LK_RST;
	i++;
	m[i].m_type = CTL_LOOKUP_ACK;
	m[i].m_u.lack.la_flow = 0x1122334455667788ULL;
	m[i].m_u.lack.la_bflow = 0x99;
	m[i].m_u.lack.la_status = CTL_LK_FOUND;
	m[i].m_u.lack.la_flags = CTL_LK_LINGER | CTL_LK_UNSCALED |
	    CTL_LK_CLIENT_FIN;
	m[i].m_u.lack.la_ws = 14;
	m[i].m_u.lack.la_cws = 7;
	m[i].m_u.lack.la_irs = 1;
	m[i].m_u.lack.la_delta = 0xf0000000;
	m[i].m_u.lack.la_ts_delta = 3;
	m[i].m_u.lack.la_cnxt = 4;
	m[i].m_u.lack.la_snxt = 5;
	m[i].m_u.lack.la_saddr = t_ip("10.2.3.1");
	m[i].m_u.lack.la_sport = htons(8080);
	i++;
	m[i].m_type = CTL_ICMP;
	m[i].m_u.icmp.ic_pkt = reqbytes;
	m[i].m_u.icmp.ic_len = CTL_ICMP_MAX;
	i++;
	*n = i;
}

static void
check_same(const struct ctl_msg *a, const struct ctl_msg *b)
{
	CHECK_INTEQ(a->m_type, b->m_type);
	switch (a->m_type) {
	case CTL_HELLO:
		CHECK_STREQ(a->m_u.hello.h_id, b->m_u.hello.h_id);
		break;
	case CTL_HANDOFF: {
		const struct ctl_handoff *x = &a->m_u.handoff,
		    *y = &b->m_u.handoff;

		CHECK(x->ho_flow == y->ho_flow);
		CHECK(addr_eq(&x->ho_caddr, &y->ho_caddr));
		CHECK(addr_eq(&x->ho_vaddr, &y->ho_vaddr));
		CHECK(x->ho_cport == y->ho_cport && x->ho_vport == y->ho_vport);
		CHECK(x->ho_irs == y->ho_irs && x->ho_iss == y->ho_iss);
		CHECK(x->ho_cmss == y->ho_cmss && x->ho_cws == y->ho_cws);
		CHECK(x->ho_opts == y->ho_opts && x->ho_cwin == y->ho_cwin);
		CHECK(x->ho_fws == y->ho_fws && x->ho_fmss == y->ho_fmss);
		CHECK(x->ho_ctsval == y->ho_ctsval);
		CHECK(x->ho_ftsval == y->ho_ftsval);
		CHECK_INTEQ(x->ho_datalen, y->ho_datalen);
		CHECK(memcmp(x->ho_data, y->ho_data, x->ho_datalen) == 0);
		break;
	}
	case CTL_HANDOFF_ACK:
		CHECK(memcmp(&a->m_u.ack, &b->m_u.ack, sizeof(a->m_u.ack)) == 0);
		break;
	case CTL_CLOSE:
		CHECK(memcmp(&a->m_u.close, &b->m_u.close,
		    sizeof(a->m_u.close)) == 0);
		break;
	case CTL_LOAD:
		CHECK(memcmp(&a->m_u.load, &b->m_u.load,
		    sizeof(a->m_u.load)) == 0);
		break;
	case CTL_LOOKUP:
		CHECK(memcmp(&a->m_u.lookup, &b->m_u.lookup,
		    sizeof(a->m_u.lookup)) == 0);
		break;
	case CTL_LOOKUP_ACK:
		CHECK(memcmp(&a->m_u.lack, &b->m_u.lack,
		    sizeof(a->m_u.lack)) == 0);
		break;
	case CTL_ICMP:
		CHECK_INTEQ(a->m_u.icmp.ic_len, b->m_u.icmp.ic_len);
		CHECK(memcmp(a->m_u.icmp.ic_pkt, b->m_u.icmp.ic_pkt,
		    a->m_u.icmp.ic_len) == 0);
		break;
	}
}

/* Encode, decode, compare; then every prefix is "need more", and every
 * length field that disagrees with the payload is an error. */
static void
test_roundtrip_and_truncation(void)
{
	struct ctl_msg	 m[8], d;
	uint8_t		 buf[8192], *cp;
	size_t		 len, used, k;
	const char	*why;
	int		 n, i;

	fill_msgs(m, &n);
	for (i = 0; i < n; i++) {
		len = ctl_encode(buf, sizeof(buf), &m[i]);
		CHECK(len >= CTL_HDR_LEN);
		CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why), 1);
		CHECK_INTEQ(used, len);
		check_same(&m[i], &d);
		/* Two frames back to back: the first is decoded alone. */
		memcpy(buf + len, buf, len);
		CHECK_INTEQ(ctl_decode(buf, 2 * len, FRAME_MAX, &d, &used,
		    &why), 1);
		CHECK_INTEQ(used, len);
		for (k = 0; k < len; k++) {
			cp = malloc(k ? k : 1);
			memcpy(cp, buf, k);
			CHECK_INTEQ(ctl_decode(cp, k, FRAME_MAX, &d, &used,
			    &why), 0);
			free(cp);
		}
		/* The payload length one short or one long. */
		for (k = 0; k < 2; k++) {
			uint32_t plen = pkt_get32(buf + 4);

			pkt_put32(buf + 4, k ? plen + 1 : plen - 1);
			cp = malloc(len + 1);
			memcpy(cp, buf, len);
			cp[len] = 0;
			CHECK_INTEQ(ctl_decode(cp, len + k, FRAME_MAX, &d,
			    &used, &why), -1);
			CHECK(why != NULL);
			free(cp);
			pkt_put32(buf + 4, plen);
		}
	}
}

static void
test_bad_frames(void)
{
	struct ctl_msg	 m[8], d;
	uint8_t		 buf[8192], b[8192];
	size_t		 len, used;
	const char	*why;
	int		 n;

	fill_msgs(m, &n);
	len = ctl_encode(buf, sizeof(buf), &m[2]);	/* HANDOFF_ACK */

	memcpy(b, buf, len);
	b[0] = 'X';
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	CHECK(strstr(why, "magic") != NULL);
	/* Version 1 (in clear, before TLS) and any later one. */
	memcpy(b, buf, len);
	b[2] = 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	CHECK(strstr(why, "version") != NULL);
	b[2] = CTL_VERSION + 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[3] = 0;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	b[3] = CTL_TYPE_MAX;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	CHECK(strstr(why, "type") != NULL);
	/* Oversized: refused from the header alone. */
	memcpy(b, buf, CTL_HDR_LEN);
	pkt_put32(b + 4, FRAME_MAX);
	CHECK_INTEQ(ctl_decode(b, CTL_HDR_LEN, FRAME_MAX, &d, &used, &why), -1);
	CHECK(strstr(why, "oversized") != NULL);
	pkt_put32(b + 4, 0xffffffff);
	CHECK_INTEQ(ctl_decode(b, CTL_HDR_LEN, FRAME_MAX, &d, &used, &why), -1);
	/* Invalid fields: status, window shift, reserved bytes. */
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 16] = CTL_STATUS_MAX;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 17] = 15;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 35] = 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);

	/* HELLO: id length beyond the frame, bad characters, empty id. */
	len = ctl_encode(buf, sizeof(buf), &m[0]);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN] = 200;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 1] = '/';
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 1] = 0;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);

	/* HANDOFF: unknown option bits, shift > 14, data length lies. */
	len = ctl_encode(buf, sizeof(buf), &m[1]);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 31] |= 0x80;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 30] = 15;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	pkt_put32(b + CTL_HDR_LEN + 46, 10);
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	pkt_put16(b + CTL_HDR_LEN + 28, 0);	/* MSS 0 */
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	/* A HANDOFF over the frame limit. */
	CHECK_INTEQ(ctl_decode(buf, len, len - 1, &d, &used, &why), -1);

	/* CLOSE: reason 0, unknown reason, reserved bytes. */
	len = ctl_encode(buf, sizeof(buf), &m[3]);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 16] = 0;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	b[CTL_HDR_LEN + 16] = CTL_CLOSE_MAX;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 18] = 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	/* MOVED, the newest reason, is one. */
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 16] = CTL_CLOSE_MOVED;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), 1);
	CHECK_INTEQ(d.m_u.close.cl_reason, CTL_CLOSE_MOVED);

	/* LOOKUP: no asker's handle, unknown flags, reserved bytes. */
	len = ctl_encode(buf, sizeof(buf), &m[5]);
	memcpy(b, buf, len);
	memset(b + CTL_HDR_LEN, 0, 8);
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 28] |= 0x02;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 31] = 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);

	/* LOOKUP_ACK: status, flags, shifts, reserved bytes, and a handle
	 * that says the opposite of the status. */
	len = ctl_encode(buf, sizeof(buf), &m[6]);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 16] = CTL_LK_MAX;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 17] |= 0x80;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 18] = 15;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 19] = 15;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 47] = 1;
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	memset(b + CTL_HDR_LEN + 8, 0, 8);	/* found, no handle */
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memcpy(b, buf, len);
	b[CTL_HDR_LEN + 16] = CTL_LK_UNKNOWN;	/* unknown, a handle */
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	memset(b + CTL_HDR_LEN + 8, 0, 8);
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), 1);

	/* Encoding refuses what it cannot represent. */
	memset(&d, 0, sizeof(d));
	d.m_type = CTL_HELLO;
	strcpy(d.m_u.hello.h_id, "bad id");
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &d), 0);
	d.m_type = CTL_TYPE_MAX;
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &d), 0);
	CHECK_INTEQ(ctl_encode(buf, 10, &m[2]), 0);
}

/* An ICMP frame holds a quoted error of CTL_ICMP_MIN to CTL_ICMP_MAX
 * bytes, in a version-2 frame (the packet has its own addresses). */
static void
test_icmp_frames(void)
{
	struct ctl_msg	 m, d;
	uint8_t		 buf[512];
	size_t		 len, used;
	const char	*why;

	memset(&m, 0, sizeof(m));
	m.m_type = CTL_ICMP;
	m.m_u.icmp.ic_pkt = reqbytes;
	m.m_u.icmp.ic_len = CTL_ICMP_MIN - 1;
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &m), 0);
	m.m_u.icmp.ic_len = CTL_ICMP_MAX + 1;
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &m), 0);
	m.m_u.icmp.ic_len = CTL_ICMP_MIN;
	len = ctl_encode(buf, sizeof(buf), &m);
	CHECK_INTEQ(len, CTL_HDR_LEN + 4 + CTL_ICMP_MIN);
	CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why), 1);
	check_same(&m, &d);
	/* A length field out of bounds, or a padding that is not zero. */
	pkt_put16(buf + CTL_HDR_LEN, CTL_ICMP_MIN - 1);
	CHECK_INTEQ(ctl_decode(buf, len - 1, FRAME_MAX, &d, &used, &why), 0);
	pkt_put32(buf + 4, CTL_ICMP_MIN - 1 + 4);
	CHECK_INTEQ(ctl_decode(buf, len - 1, FRAME_MAX, &d, &used, &why), -1);
	len = ctl_encode(buf, sizeof(buf), &m);
	buf[CTL_HDR_LEN + 3] = 1;
	CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why), -1);
	/* Not in a version-3 frame. */
	len = ctl_encode(buf, sizeof(buf), &m);
	buf[2] = CTL_VERSION_ADDR16;
	CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why), -1);
}

/* Before a peer has said HELLO, the reader allows CTL_HELLO_MAX: the
 * largest HELLO fits, and nothing announcing more is waited for. */
static void
test_hello_limit(void)
{
	struct ctl_msg	 m[8], d;
	uint8_t		 buf[8192];
	size_t		 len, used;
	const char	*why;
	int		 n, i;

	memset(&d, 0, sizeof(d));
	d.m_type = CTL_HELLO;
	for (i = 0; i < CTL_ID_MAX; i++)
		d.m_u.hello.h_id[i] = 'a' + i % 26;
	len = ctl_encode(buf, sizeof(buf), &d);
	CHECK_INTEQ(len, CTL_HELLO_MAX);
	CHECK_INTEQ(ctl_decode(buf, len, CTL_HELLO_MAX, &d, &used, &why), 1);
	/* One byte more is refused from the header alone. */
	pkt_put32(buf + 4, pkt_get32(buf + 4) + 1);
	CHECK_INTEQ(ctl_decode(buf, CTL_HDR_LEN, CTL_HELLO_MAX, &d, &used,
	    &why), -1);
	fill_msgs(m, &n);
	len = ctl_encode(buf, sizeof(buf), &m[1]);	/* HANDOFF */
	CHECK_INTEQ(ctl_decode(buf, CTL_HDR_LEN, CTL_HELLO_MAX, &d, &used,
	    &why), -1);
	CHECK(strstr(why, "oversized") != NULL);
	/* The old AUTH type (2 in version 1) is a HANDOFF now, and an AUTH's
	 * 32 bytes are not one. */
	buf[3] = 2;
	pkt_put32(buf + 4, 32);
	memset(buf + CTL_HDR_LEN, 0x5a, 32);
	CHECK_INTEQ(ctl_decode(buf, CTL_HDR_LEN + 32, FRAME_MAX, &d, &used,
	    &why), -1);
}

static void
test_names(void)
{
	CHECK_STREQ(ctl_type_name(CTL_HANDOFF), "HANDOFF");
	CHECK_STREQ(ctl_type_name(99), "unknown");
	CHECK_STREQ(ctl_status_name(CTL_REFUSED), "refused");
	CHECK_STREQ(ctl_reason_name(CTL_CLOSE_ABORT), "abort");
	CHECK_STREQ(ctl_status_name(CTL_CANCELLED), "cancelled");
	CHECK_STREQ(ctl_reason_name(CTL_CLOSE_CANCEL), "cancel");
	CHECK_STREQ(ctl_reason_name(CTL_CLOSE_MOVED), "moved");
	CHECK_STREQ(ctl_type_name(CTL_LOOKUP_ACK), "LOOKUP_ACK");
	CHECK_STREQ(ctl_lookup_status_name(CTL_LK_BUSY), "busy");
	CHECK_STREQ(ctl_lookup_status_name(CTL_LK_MAX), "unknown");
}


/* A frame naming an IPv6 address is version 3, with every address in 16
 * bytes; it round-trips, and nothing else is taken as version 3. */
static void
test_ipv6_frames(void)
{
	static const size_t	 plen[8] = {
		[1] = 74 + 16, [2] = 48, [3] = 44, [5] = 56, [6] = 60,
	};
	struct ctl_msg	 m[8], d;
	uint8_t		 buf[8192], b[8192];
	size_t		 len, used;
	const char	*why;
	int		 n, i;

	fill_msgs(m, &n);
	m[1].m_u.handoff.ho_caddr = t_ip6("2001:db8::2");
	m[1].m_u.handoff.ho_vaddr = t_ip6("2001:db8:9::1");
	m[1].m_u.handoff.ho_datalen = 16;
	m[2].m_u.ack.ha_saddr = t_ip6("2001:db8:2::2");
	m[3].m_u.close.cl_caddr = t_ip6("2001:db8::2");
	m[5].m_u.lookup.lk_caddr = t_ip6("2001:db8::2");
	m[5].m_u.lookup.lk_vaddr = t_ip6("2001:db8:9::1");
	m[6].m_u.lack.la_saddr = t_ip6("2001:db8:2::1");
	for (i = 0; i < n; i++) {
		len = ctl_encode(buf, sizeof(buf), &m[i]);
		CHECK(len > CTL_HDR_LEN);
		CHECK_INTEQ(buf[2], plen[i] ? CTL_VERSION_ADDR16 : CTL_VERSION);
		if (plen[i])
			CHECK_INTEQ(len, CTL_HDR_LEN + plen[i]);
		CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why),
		    1);
		CHECK_INTEQ(used, len);
		check_same(&m[i], &d);
		/* Not the other version's: the lengths disagree (HELLO and
		 * LOAD name no address, and are version 2 only). */
		memcpy(b, buf, len);
		b[2] = b[2] == CTL_VERSION ? CTL_VERSION_ADDR16 : CTL_VERSION;
		CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
	}
	/* A connection has one family: a client and a VIP of two cannot
	 * be said. */
	m[1].m_u.handoff.ho_caddr = t_ip("10.0.0.2");
	m[1].m_u.handoff.ho_vaddr = t_ip6("2001:db8:9::1");
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &m[1]), 0);
	m[5].m_u.lookup.lk_caddr = t_ip("10.0.0.2");
	CHECK_INTEQ(ctl_encode(buf, sizeof(buf), &m[5]), 0);
	/* An IPv4 address in version 3 (mapped) is refused: no address has
	 * two encodings. */
	m[1].m_u.handoff.ho_caddr = t_ip6("2001:db8::2");
	len = ctl_encode(buf, sizeof(buf), &m[1]);
	CHECK_INTEQ(ctl_decode(buf, len, FRAME_MAX, &d, &used, &why), 1);
	memcpy(b, buf, len);
	memcpy(b + CTL_HDR_LEN + 8, &m[1].m_u.handoff.ho_vaddr, 16);
	b[CTL_HDR_LEN + 8 + 10] = b[CTL_HDR_LEN + 8 + 11] = 0xff;
	memset(b + CTL_HDR_LEN + 8, 0, 10);
	CHECK_INTEQ(ctl_decode(b, len, FRAME_MAX, &d, &used, &why), -1);
}

int
main(void)
{
	t_start(60);
	test_roundtrip_and_truncation();
	test_icmp_frames();
	test_bad_frames();
	test_ipv6_frames();
	test_hello_limit();
	test_names();
	return t_done("test_ctl");
}

/*
 * libFuzzer harness for the packet parser: whatever the bytes, parsing
 * stays inside the buffer, lengths add up, and an incremental rewrite (a
 * few fields, then a handed-off flow's whole rewrite both ways, IPv4 or
 * IPv6) keeps a valid checksum valid and an invalid one invalid.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "pkt.h"
#include "handoff/rw.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A flow's rewrite to the stack and back to the client, with every
 * offset and a window rescale, to an address of the packet's family. */
static void
fuzz_rw(struct pkt *p, int valid)
{
	struct flow	 f;

	memset(&f, 0, sizeof(f));
	if (p->p_v6) {
		f.f_naddr.a_w[0] = htonl(0xfd000002);
		f.f_naddr.a_w[3] = htonl(0x2);
	} else
		f.f_naddr = addr4(htonl(0x0a020202));
	f.f_nport = htons(8080);
	f.f_delta = 0x10000001;
	f.f_ts_delta = 0x01000003;
	f.f_ws_in = 7;
	f.f_ws_out = 2;
	rw_to_stack(&f, p);
	if (pkt_tcp_csum_ok(p) != valid)
		abort();
	rw_to_client(&f, p);
	if (pkt_tcp_csum_ok(p) != valid)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt	 p;
	struct pkt_opts	 o;
	struct pkt_icmp	 ic;
	struct csum_acc	 a;
	uint8_t		*buf;
	int		 valid;
	enum pkt_verdict v;

	if (size > PKT_MAXLEN)
		return 0;
	/* An exact-size copy: ASan flags any read past the packet. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	v = pkt_parse(&p, buf, size);
	/* An ICMP error: what it quotes lies inside the packet, and a
	 * rewrite writes nowhere else. */
	if (v == PKT_NOT_TCP && pkt_icmp_parse(&p, &ic) == 0) {
		if (ic.ic_inner < p.p_ip + p.p_iphl + 8 ||
		    ic.ic_inner + ic.ic_inner_hl + 8 > p.p_ip + p.p_len)
			abort();
		struct ipaddr vip = addr4(0x0a090001), st = addr4(0x0a020201);

		/* Addresses of the packet's family, as a flow's are. */
		if (p.p_v6) {
			vip.a_w[0] = st.a_w[0] = htonl(0xfd000000);
			vip.a_w[2] = st.a_w[2] = 0;
		}
		pkt_icmp_rewrite(&p, &ic, &vip, &st, &st, 0x5000,
		    ic.ic_iseq - 7);
		if (pkt_icmp_parse(&p, &ic) != 0 || !addr_eq(&ic.ic_isrc, &st))
			abort();
	}
	if (v == PKT_OK) {
		if ((size_t)p.p_iphl + p.p_thl + p.p_paylen != p.p_len ||
		    p.p_len > size)
			abort();
		if (pkt_opts_parse(&p, &o) == 0) {
			if (o.o_ts_off && (o.o_ts_off + 10u > p.p_thl ||
			    p.p_tcp[o.o_ts_off] != TCPOPT_TS))
				abort();
			if (o.o_sack_off && p.p_tcp[o.o_sack_off] !=
			    TCPOPT_SACK)
				abort();
		}
		valid = pkt_tcp_csum_ok(&p);
		csum_acc_init(&a, pkt_get16(p.p_tcp + TCP_OFF_CSUM));
		pkt_set32(&a, p.p_tcp + TCP_OFF_SEQ, p.p_seq + 0x12345);
		pkt_set16(&a, p.p_tcp + TCP_OFF_WIN, 0xffff);
		pkt_put16(p.p_tcp + TCP_OFF_CSUM, csum_acc_fold(&a));
		if (pkt_tcp_csum_ok(&p) != valid)
			abort();
		fuzz_rw(&p, valid);
	}
	free(buf);
	return 0;
}

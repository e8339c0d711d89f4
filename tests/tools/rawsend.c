/*
 * rawsend: sends one hand-made IPv4 packet, given in hex, through a raw
 * socket, so that namespace tests can feed malformed packets (fragments,
 * truncated TCP headers, broken options) into a daemon's TUN.
 *
 * usage: rawsend HEX
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	unsigned char		 pkt[1500];
	struct sockaddr_in	 dst;
	size_t			 len = 0, i, n;
	int			 s, on = 1;

	if (argc != 2 || (n = strlen(argv[1])) % 2 != 0 ||
	    n / 2 > sizeof(pkt) || n < 40) {
		fprintf(stderr, "usage: rawsend HEX (an IPv4 packet)\n");
		return 2;
	}
	for (i = 0; i < n; i += 2) {
		unsigned int b;

		if (sscanf(argv[1] + i, "%2x", &b) != 1) {
			fprintf(stderr, "rawsend: bad hex at %zu\n", i);
			return 2;
		}
		pkt[len++] = (unsigned char)b;
	}
	if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1 ||
	    setsockopt(s, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) == -1) {
		perror("rawsend: socket");
		return 1;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	memcpy(&dst.sin_addr, pkt + 16, 4);
	if (sendto(s, pkt, len, 0, (struct sockaddr *)&dst, sizeof(dst)) !=
	    (ssize_t)len) {
		perror("rawsend: sendto");
		return 1;
	}
	return 0;
}

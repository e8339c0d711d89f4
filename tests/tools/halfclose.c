/*
 * halfclose: sends a request and closes the sending side at once (with
 * TCP_CORK, so that the FIN can ride on the request's last segment), then
 * prints whatever comes back until the server closes.  Namespace tests use
 * it for clients that are done talking before they are answered.
 *
 * usage: halfclose [-k] [-p LPORT] ADDR PORT REQUEST
 *   -k        keep the sending side open until the server has closed, so
 *             that the server closes first and the client keeps no
 *             TIME_WAIT
 *   -p LPORT  connect from this local port
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin, lsin;
	char			 buf[4096];
	ssize_t			 n;
	int			 s, ch, on = 1, off = 0, keep = 0, lport = 0;

	while ((ch = getopt(argc, argv, "kp:")) != -1) {
		switch (ch) {
		case 'k':
			keep = 1;
			break;
		case 'p':
			lport = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 4) {
usage:
		fprintf(stderr, "usage: halfclose [-k] [-p LPORT] ADDR PORT "
		    "REQUEST\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "halfclose: bad address %s\n", argv[1]);
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("halfclose: socket");
		return 1;
	}
	if (lport != 0) {
		memset(&lsin, 0, sizeof(lsin));
		lsin.sin_family = AF_INET;
		lsin.sin_port = htons((unsigned short)lport);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(s, (struct sockaddr *)&lsin, sizeof(lsin)) == -1) {
			perror("halfclose: bind");
			return 1;
		}
	}
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("halfclose: connect");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	if (write(s, argv[3], strlen(argv[3])) != (ssize_t)strlen(argv[3])) {
		perror("halfclose: write");
		return 1;
	}
	if (!keep)
		shutdown(s, SHUT_WR);
	setsockopt(s, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	while ((n = read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(s);
	return n == 0 ? 0 : 1;
}

/*
 * unixsock: a UNIX stream socket client for the namespace tests.
 *
 *   unixsock PATH          sends standard input, then prints what comes
 *                          back until the other end closes (at most 10 s)
 *   unixsock -n N -t S PATH  opens N connections one after the other,
 *                          prints "ready", holds them S seconds, then
 *                          prints how many the other end had closed
 *   unixsock -r PATH       binds a datagram socket at PATH and prints the
 *                          first datagram it gets (at most 20 s), as a
 *                          service manager gets $NOTIFY_SOCKET's
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
dial(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 10, 0 };
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* Standard input to the socket, then the answer to standard output. */
static int
talk(const char *path)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 fd = dial(path);

	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;	/* closed on us: read what it said */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	if (n == -1 && errno != ECONNRESET) {
		perror("read");
		return 1;
	}
	return 0;
}

/* n connections held for secs seconds. */
static int
hold(const char *path, int n, int secs)
{
	struct pollfd	*p = calloc((size_t)n, sizeof(*p));
	char		 c;
	int		 i, closed = 0;

	if (p == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		p[i].fd = dial(path);
		p[i].events = POLLIN;
	}
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned int)secs);
	for (i = 0; i < n; i++) {
		/* Closed by the other end: readable, and nothing but an
		 * error line before the EOF. */
		while (poll(&p[i], 1, 0) == 1 &&
		    recv(p[i].fd, &c, 1, MSG_DONTWAIT) == 1)
			;
		if (poll(&p[i], 1, 0) == 1 &&
		    recv(p[i].fd, &c, 1, MSG_DONTWAIT) == 0)
			closed++;
		close(p[i].fd);
	}
	printf("closed %d\n", closed);
	free(p);
	return 0;
}

/* One datagram to standard output. */
static int
receive(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 20, 0 };
	char			 buf[4096];
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(path);
		return 1;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	unlink(path);
	if (n == -1) {
		perror("recv");
		return 1;
	}
	printf("%.*s\n", (int)n, buf);
	return 0;
}

int
main(int argc, char *argv[])
{
	int	 ch, n = 0, secs = 0, rcv = 0;

	while ((ch = getopt(argc, argv, "n:rt:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'r':
			rcv = 1;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (rcv)
		return receive(argv[optind]);
	if (n > 0)
		return hold(argv[optind], n, secs);
	return talk(argv[optind]);
usage:
	fprintf(stderr, "usage: unixsock [-r | -n count -t seconds] path\n");
	return 1;
}

/*
 * holdconns: opens many HTTP connections and keeps them open, so that
 * what a flow costs a daemon can be read off its memory (scripts/bench).
 * Each connection sends one keep-alive request for / and, once the first
 * bytes of a 200 answer arrive, stays open without traffic.  At most 256
 * connects are outstanding at once; source addresses are used in turn,
 * each from port 1024 up (processes run side by side need their own).
 *
 * usage: holdconns [-b SRC[,SRC...]] N ADDR PORT SECONDS
 * N is bounded by the hard limit of open files; run several for more.
 * Prints "held H failed F" once every connection is answered, failed or
 * SECONDS have passed, then holds them until SIGTERM or SIGINT.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUTSTANDING	256
#define MAXSRC		16

static const char	 req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_srcs(char *arg, struct in_addr *src, int max)
{
	char	*tok;
	int	 n = 0;

	for (tok = strtok(arg, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (n == max || inet_pton(AF_INET, tok, &src[n]) != 1)
			return -1;
		n++;
	}
	return n;
}

/*
 * Starts one connection, from src:*port when src is given (the port moves
 * on past ports in use); -1: it failed at once.  Ports are picked here:
 * the kernel's search for a free one slows to a crawl once most of the
 * range is taken for one destination.
 */
static int
start(int ep, const struct sockaddr_in *dst, const struct in_addr *src,
    uint16_t *port)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev;
	int			 s, one = 1;

	for (;;) {
		if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
			return -1;
		if (src == NULL)
			break;
		if (*port == 0)
			goto fail;	/* the range is used up */
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr = *src;
		sin.sin_port = htons((*port)++);
		if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		close(s);
		if (errno != EADDRINUSE)
			return -1;
	}
	if (connect(s, (const struct sockaddr *)dst, sizeof(*dst)) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.fd = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == -1)
		goto fail;
	return 0;
fail:
	close(s);
	return -1;
}

/* The connection is writable (connected) or readable (answered).
 * Returns 1 when it is held, -1 when it failed, 0 to wait on. */
static int
progress(int ep, int s, uint32_t events)
{
	struct epoll_event	 ev;
	char			 buf[512];
	ssize_t			 n;

	if (events & EPOLLOUT) {
		if ((events & EPOLLERR) ||
		    write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = s;
		return epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == -1 ? -1 : 0;
	}
	if ((n = read(s, buf, sizeof(buf) - 1)) <= 0)
		return n == -1 && errno == EAGAIN ? 0 : -1;
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	/* Held: no more events, the socket stays open. */
	epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
	return 1;
}

int
main(int argc, char *argv[])
{
	struct in_addr		 src[MAXSRC];
	uint16_t		 port[MAXSRC];
	struct epoll_event	 evs[256];
	struct sockaddr_in	 dst;
	struct rlimit		 rl;
	sigset_t		 set;
	long			 deadline;
	int			 nsrc = 0, ch, n, total, secs, started = 0;
	int			 held = 0, failed = 0, i, r, sig, ep;

	while ((ch = getopt(argc, argv, "b:")) != -1) {
		if (ch != 'b' || (nsrc = parse_srcs(optarg, src, MAXSRC)) < 1)
			goto usage;
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || (total = atoi(argv[0])) <= 0 ||
	    (secs = atoi(argv[3])) <= 0)
		goto usage;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		goto usage;
	/* Up to the hard limit only: raising that takes a privilege a
	 * container may not grant. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)total + 64) {
		fprintf(stderr, "holdconns: %d connections need %d files, "
		    "the limit is %llu\n", total, total + 64,
		    (unsigned long long)rl.rlim_max);
		return 1;
	}
	rl.rlim_cur = (rlim_t)total + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("holdconns: setrlimit");
		return 1;
	}
	/* Taken with sigwait once the connections are held. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((ep = epoll_create1(0)) == -1)
		return 1;
	for (i = 0; i < MAXSRC; i++)
		port[i] = 1024;
	deadline = now_ms() + secs * 1000L;
	while (held + failed < total && now_ms() < deadline) {
		while (started < total && started - held - failed < OUTSTANDING) {
			i = nsrc > 0 ? started % nsrc : 0;
			if (start(ep, &dst, nsrc > 0 ? &src[i] : NULL,
			    &port[i]) == -1)
				failed++;
			started++;
		}
		if ((n = epoll_wait(ep, evs, 256, 100)) == -1)
			return 1;
		for (i = 0; i < n; i++) {
			r = progress(ep, evs[i].data.fd, evs[i].events);
			if (r == 1)
				held++;
			else if (r == -1) {
				close(evs[i].data.fd);
				failed++;
			}
		}
	}
	/* What is still connecting at the deadline counts as failed. */
	printf("held %d failed %d\n", held, total - held);
	fflush(stdout);
	sigwait(&set, &sig);
	return 0;
usage:
	fprintf(stderr, "usage: holdconns [-b SRC[,SRC...]] N ADDR PORT SECONDS\n");
	return 1;
}

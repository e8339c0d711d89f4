/*
 * tunfloor: the least a TUN-based rewriter can spend per packet.  Creates
 * a TUN device with the daemon's offloads, then loops: a blocking read of
 * one packet, the daemon's own rewrite towards a client (rw_to_client,
 * with a flow whose addresses, port and offsets leave the packet as it
 * was, so the connection through it still works) and a write back into
 * the same device, where the kernel routes it on.  No event loop, no
 * flow lookup, no counters: what is left is the system calls, the copies
 * and the kernel's work around them.  scripts/bench routes a server's
 * responses through it (policy routing, as a kernel-stack back-end does)
 * and shows the daemon's CPU per packet as a multiple of this one's.
 *
 * usage: tunfloor IFNAME SECONDS
 * Prints, on exit after SECONDS or on SIGTERM:
 *   packets N bytes B cpu_ns C
 * where C is this process's CPU time (user and system) while it ran.
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "pkt.h"
#include "tun.h"
#include "handoff/rw.h"

static volatile sig_atomic_t	 done;

static void
on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static unsigned long long
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int
main(int argc, char *argv[])
{
	static uint8_t		 buf[PKT_MAXLEN];
	struct sigaction	 sa;
	struct tun_info		 ti;
	struct pkt_meta		 m;
	struct flow		 f;
	struct pkt		 p;
	unsigned long long	 pkts = 0, bytes = 0, c0;
	ssize_t			 n;
	int			 fd, secs;

	if (argc != 3 || (secs = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: tunfloor IFNAME SECONDS\n");
		return 1;
	}
	if ((fd = tun_open(argv[1], 1, &ti)) == -1) {
		fprintf(stderr, "tunfloor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (tun_configure(argv[1], 0, 0, 1500) == -1)
		return 1;
	/* Blocking reads: the cheapest way to wait. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned int)secs);
	memset(&f, 0, sizeof(f));
	c0 = cpu_ns();
	while (!done) {
		if ((n = tun_read(fd, buf, sizeof(buf), &m)) == -1) {
			if (errno == EINTR)
				continue;
			perror("tunfloor: read");
			return 1;
		}
		if (n == 0 || pkt_parse(&p, buf, (size_t)n) != PKT_OK ||
		    p.p_tcp == NULL)
			continue;	/* router solicitations and the like */
		p.p_meta = m;
		/* The rewrite to a client, to what the packet already says. */
		f.f_naddr = p.p_saddr;
		f.f_nport = p.p_sport;
		rw_to_client(&f, &p);
		if (tun_write(fd, p.p_ip, p.p_len, &p.p_meta) == -1 &&
		    errno != EINTR) {
			perror("tunfloor: write");
			return 1;
		}
		pkts++;
		bytes += p.p_len;
	}
	printf("packets %llu bytes %llu cpu_ns %llu\n", pkts, bytes,
	    cpu_ns() - c0);
	return 0;
}

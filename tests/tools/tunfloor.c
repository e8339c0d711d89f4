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
 * usage: tunfloor [-q QUEUES] IFNAME SECONDS
 * With -q N (Linux) the device has N queues, each read and written by a
 * thread of its own, as a daemon with a worker per queue would: the
 * kernel keeps each flow on one queue, so N workers can rewrite N flows
 * at once, if the machine has the cores.
 * Prints, on exit after SECONDS or on SIGTERM:
 *   packets N bytes B cpu_ns C
 * where C is this process's CPU time (user and system, all threads)
 * while it ran.
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "pkt.h"
#include "tun.h"
#include "handoff/rw.h"

#define FLOOR_MAXQ	8

/* One queue's worker: its descriptor, what it moved, and why it stopped. */
struct floor_q {
	pthread_t		 fq_thread;
	int			 fq_fd;
	int			 fq_err;	/* errno of a failed read or
						   write, 0 */
	unsigned long long	 fq_pkts;
	unsigned long long	 fq_bytes;
};

/* Set by a signal handler or a worker: lock-free, so both may. */
static atomic_int		 done;
static pthread_t		 floor_main;

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

static void *
floor_loop(void *arg)
{
	static _Thread_local uint8_t buf[PKT_MAXLEN];
	struct floor_q		*q = arg;
	struct pkt_meta		 m;
	struct flow		 f;
	struct pkt		 p;
	ssize_t			 n;

	memset(&f, 0, sizeof(f));
	while (!done) {
		if ((n = tun_read(q->fq_fd, buf, sizeof(buf), &m)) == -1) {
			if (errno == EINTR)
				continue;
			q->fq_err = errno;
			break;
		}
		if (n == 0 || pkt_parse(&p, buf, (size_t)n) != PKT_OK ||
		    p.p_tcp == NULL)
			continue;	/* router solicitations and the like */
		p.p_meta = m;
		/* The rewrite to a client, to what the packet already says. */
		f.f_naddr = p.p_saddr;
		f.f_nport = p.p_sport;
		rw_to_client(&f, &p);
		if (tun_write(q->fq_fd, p.p_ip, p.p_len, &p.p_meta) == -1 &&
		    errno != EINTR) {
			q->fq_err = errno;
			break;
		}
		q->fq_pkts++;
		q->fq_bytes += p.p_len;
	}
	done = 1;
	if (!pthread_equal(pthread_self(), floor_main))
		pthread_kill(floor_main, SIGUSR1);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tunfloor [-q QUEUES] IFNAME SECONDS\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	static struct floor_q	 qs[FLOOR_MAXQ];
	struct sigaction	 sa;
	sigset_t		 stop, old;
	struct tun_info		 ti;
	unsigned long long	 pkts = 0, bytes = 0, c0;
	int			 ch, i, nq = 1, secs, rc = 0;

	while ((ch = getopt(argc, argv, "q:")) != -1) {
		if (ch != 'q' || (nq = atoi(optarg)) < 1 || nq > FLOOR_MAXQ)
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (secs = atoi(argv[1])) <= 0)
		usage();
	for (i = 0; i < nq; i++) {
		qs[i].fq_fd = tun_open(argv[0],
		    TUN_OFFLOAD | (nq > 1 ? TUN_MULTIQUEUE : 0), &ti);
		if (qs[i].fq_fd == -1) {
			fprintf(stderr, "tunfloor: %s: %s\n", argv[0],
			    strerror(errno));
			return 1;
		}
		/* Blocking reads: the cheapest way to wait. */
		if (fcntl(qs[i].fq_fd, F_SETFL,
		    fcntl(qs[i].fq_fd, F_GETFL) & ~O_NONBLOCK) == -1)
			return 1;
	}
	if (tun_configure(argv[0], 0, 0, 1500) == -1)
		return 1;
	/* No SA_RESTART: a blocked read returns EINTR.  The stopping signals
	 * reach the main thread only, which passes SIGUSR1 on to the
	 * workers; a worker that fails passes it to the main thread. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGALRM);
	floor_main = pthread_self();
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	c0 = cpu_ns();
	for (i = 1; i < nq; i++)
		if (pthread_create(&qs[i].fq_thread, NULL, floor_loop,
		    &qs[i]) != 0) {
			fprintf(stderr, "tunfloor: cannot start a worker\n");
			return 1;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	alarm((unsigned int)secs);
	floor_loop(&qs[0]);
	for (i = 1; i < nq; i++) {
		pthread_kill(qs[i].fq_thread, SIGUSR1);
		pthread_join(qs[i].fq_thread, NULL);
	}
	for (i = 0; i < nq; i++) {
		if (qs[i].fq_err != 0) {
			fprintf(stderr, "tunfloor: queue %d: %s\n", i,
			    strerror(qs[i].fq_err));
			rc = 1;
		}
		pkts += qs[i].fq_pkts;
		bytes += qs[i].fq_bytes;
	}
	printf("packets %llu bytes %llu cpu_ns %llu\n", pkts, bytes,
	    cpu_ns() - c0);
	return rc;
}

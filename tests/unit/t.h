/*
 * A minimal unit-test harness: CHECK macros that report file:line and the
 * failing expression and exit 1, an alarm() watchdog so that a hung test
 * fails instead of stalling the suite, and a summary line.
 */
#ifndef HANDOFFD_T_H
#define HANDOFFD_T_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "addr.h"

static unsigned long t_checks;

#define CHECK(cond) do {						\
	t_checks++;							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		exit(1);						\
	}								\
} while (0)

#define CHECK_INTEQ(a, b) do {						\
	long long t_a = (long long)(a), t_b = (long long)(b);		\
	t_checks++;							\
	if (t_a != t_b) {						\
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s "	\
		    "(%lld != %lld)\n", __FILE__, __LINE__, #a, #b,	\
		    t_a, t_b);						\
		exit(1);						\
	}								\
} while (0)

#define CHECK_STREQ(a, b) do {						\
	const char *t_a = (a), *t_b = (b);				\
	t_checks++;							\
	if (t_a == NULL || t_b == NULL || strcmp(t_a, t_b) != 0) {	\
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s "	\
		    "(\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, #b,	\
		    t_a ? t_a : "(null)", t_b ? t_b : "(null)");	\
		exit(1);						\
	}								\
} while (0)

static void
t_watchdog(int sig)
{
	static const char msg[] = "watchdog: test took too long\n";

	(void)sig;
	(void)write(2, msg, sizeof(msg) - 1);
	_exit(2);
}

/* Starts the watchdog; every test program calls it first. */
static inline void
t_start(unsigned int seconds)
{
	signal(SIGALRM, t_watchdog);
	alarm(seconds);
}

/* The IPv4 address s, as the daemon holds it (mapped, addr.h); T_IPP(s)
 * points at one. */
static inline struct ipaddr
t_ip(const char *s)
{
	return addr4(inet_addr(s));
}

#define T_IPP(s)	((const struct ipaddr[1]){ t_ip(s) })

/* The IPv6 address s. */
static inline struct ipaddr
t_ip6(const char *s)
{
	struct ipaddr	 a;

	if (inet_pton(AF_INET6, s, a.a_w) != 1) {
		fprintf(stderr, "t_ip6: bad address %s\n", s);
		exit(1);
	}
	return a;
}

#define T_IP6P(s)	((const struct ipaddr[1]){ t_ip6(s) })

static inline int
t_done(const char *name)
{
	printf("%s: ok, %lu checks\n", name, t_checks);
	return 0;
}

#endif

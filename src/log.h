/*
 * Logging in the shape of OpenBSD's log.c: stderr while in the foreground,
 * syslog once daemonized.  log.c owns the only logging state: the
 * destination, the verbosity, and what a fatal exit undoes first (one
 * function: a socket the daemon made, which would outlive it).
 */
#ifndef HANDOFFD_LOG_H
#define HANDOFFD_LOG_H

#include <stdarg.h>
#include <stdint.h>

/* Suppresses repeats of one per-packet or per-frame message: at most one
 * line a second, with a count of what was suppressed. */
struct log_rl {
	int64_t		 rl_last_ms;
	uint64_t	 rl_suppressed;
};

void	log_init(int, int);
void	log_init_both(int);
int64_t	log_mono_us(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_setwarnprefix(const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_trace_(const char *, ...) __attribute__((format(printf, 1, 2)));
/* A trace's arguments are evaluated only when it is printed: hot paths
 * format addresses for theirs. */
#define log_trace(...)	do {						\
	if (log_getverbose() >= 2)					\
		log_trace_(__VA_ARGS__);				\
} while (0)
void	log_ratelim(struct log_rl *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	log_on_fatal(void (*)(void *), void *);
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

/* Logging to stderr or syslog; see log.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int	log_to_stderr = 1;
static int	log_to_syslog;
static int	log_verbose;
static const char *log_warn_prefix = "";	/* before warnings on stderr */
static void	(*log_fatal_fn)(void *);	/* runs before a fatal exit */
static void	*log_fatal_arg;

/* Chooses the destination: stderr in the foreground, syslog otherwise. */
void
log_init(int to_stderr, int facility)
{
	log_to_stderr = to_stderr;
	log_to_syslog = !to_stderr;
	if (!to_stderr)
		openlog("handoffd", LOG_PID | LOG_NDELAY, facility);
	tzset();
}

/* Both, while a daemon to be starts: its messages go where its later ones
 * will, and to whoever started it. */
void
log_init_both(int facility)
{
	log_to_stderr = 1;
	log_to_syslog = 1;
	openlog("handoffd", LOG_PID | LOG_NDELAY, facility);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* What stderr's warnings start with ("warning: " for -n, whose own
 * findings are said so). */
void
log_setwarnprefix(const char *prefix)
{
	log_warn_prefix = prefix;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	va_list	 ap2;

	if (log_to_syslog) {
		va_copy(ap2, ap);
		vsyslog(pri, fmt, ap2);
		va_end(ap2);
	}
	if (log_to_stderr) {
		if (LOG_PRI(pri) == LOG_ERR)
			fputs(log_warn_prefix, stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	 buf[1024];

	if (fmt == NULL) {
		errno = saved;
		buf[0] = '\0';
		snprintf(buf, sizeof(buf), "%s", strerror(saved));
	} else {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		if (saved != 0) {
			size_t len = strlen(buf);
			snprintf(buf + len, sizeof(buf) - len, ": %s",
			    strerror(saved));
		}
	}
	if (log_to_stderr)
		fprintf(stderr, "%s%s\n", LOG_PRI(pri) == LOG_ERR ?
		    log_warn_prefix : "", buf);
	if (log_to_syslog)
		syslog(pri, "%s", buf);
}

/* Logs a warning followed by strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Per-packet detail: only with -vv. */
void
log_trace_(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* The monotonic clock, in microseconds: rate limits here, and the access
 * log's latencies and retries. */
int64_t
log_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Warns at most once a second for one call site, so that a flood of bad
 * packets cannot turn into a flood of log lines. */
void
log_ratelim(struct log_rl *rl, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int64_t	 now = log_mono_us() / 1000;

	if (rl->rl_last_ms != 0 && now - rl->rl_last_ms < 1000) {
		rl->rl_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (rl->rl_suppressed > 0)
		log_warnx("%s (%llu similar suppressed)", buf,
		    (unsigned long long)rl->rl_suppressed);
	else
		log_warnx("%s", buf);
	rl->rl_last_ms = now;
	rl->rl_suppressed = 0;
}

/* fn(arg) runs before a fatal exit, once; NULL: nothing does. */
void
log_on_fatal(void (*fn)(void *), void *arg)
{
	log_fatal_fn = fn;
	log_fatal_arg = arg;
}

static void __attribute__((noreturn))
log_fatal_exit(void)
{
	void	(*fn)(void *) = log_fatal_fn;

	log_fatal_fn = NULL;	/* a fatal inside it exits at once */
	if (fn != NULL)
		fn(log_fatal_arg);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	log_fatal_exit();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	log_fatal_exit();
}

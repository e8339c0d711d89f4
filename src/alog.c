/* The access log; see alog.h. */
#define _GNU_SOURCE		/* asprintf() */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "alog.h"
#include "log.h"

#define ALOG_SYSLOG		"syslog"
#define ALOG_SYSLOG_SOCKET	"/dev/log"
#define ALOG_TAG		"handoffd-access"
/* A file's lines wait no longer than one turn of the loop, and no more
 * than this many bytes of them. */
#define ALOG_BUFFER_MAX		(64 * 1024)
/* A missing syslog daemon is looked for again this often. */
#define ALOG_RECONNECT_US	1000000

const char *const alog_facility_names[] = {
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7", "daemon", "user", NULL
};
static const int alog_facility_codes[] = {
	LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4,
	LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7, LOG_DAEMON, LOG_USER
};

struct alog {
	char		 al_node[64];
	char		 al_path[4096];	/* the file, or the syslog socket */
	int		 al_syslog;
	int		 al_pri;	/* facility | LOG_INFO */
	int		 al_fd;		/* -1: none open */
	uid_t		 al_uid;	/* a new file's owner; -1: ours */
	gid_t		 al_gid;
	int64_t		 al_retry_us;	/* syslog: next connect attempt */
	struct evbuffer	*al_buf;	/* a file's lines not written yet */
	uint64_t	 al_pending;	/* ... how many */
	struct event	*al_flush;
	uint64_t	*al_lines;	/* counters, the caller's */
	uint64_t	*al_dropped;
	struct log_rl	 al_rl;
	struct log_rl	 al_rl_cut;
};

/* Wall-clock time, UTC, to the millisecond: 2026-12-02T01:02:03.456Z. */
static const char *
alog_stamp(char *buf, size_t len)
{
	struct timeval	 tv;
	struct tm	 tm;
	char		 sec[24];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", sec, (int)(tv.tv_usec / 1000));
	return buf;
}

/*
 * Copies at most max bytes of src into dst as one field: every byte that is
 * not printable ASCII, and '"' and '\', as \xHH, so that a field never
 * holds a space or a newline; "..." after a cut; "-" for nothing.  dst
 * needs 4 * max + 4 bytes.  Returns the field's length.
 */
size_t
alog_escape(char *dst, size_t dstlen, const char *src, size_t len, size_t max)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, n = 0;

	if (dstlen < 4 * max + 4)
		return 0;
	if (src == NULL || len == 0) {
		memcpy(dst, "-", 2);
		return 1;
	}
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0xf];
		} else
			dst[n++] = (char)c;
	}
	if (len > max) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
	return n;
}

/* "METHOD TARGET HOST", each escaped, for struct alog_fe; NULL if out of
 * memory. */
char *
alog_req(const char *method, const char *target, size_t tlen,
    const char *host, size_t hlen)
{
	char	 t[4 * ALOG_TARGET_MAX + 4], h[4 * ALOG_HOST_MAX + 4];
	char	*s;

	alog_escape(t, sizeof(t), target, tlen, ALOG_TARGET_MAX);
	alog_escape(h, sizeof(h), host, hlen, ALOG_HOST_MAX);
	if (asprintf(&s, "%s %s %s", method != NULL ? method : "-", t, h) ==
	    -1)
		return NULL;
	return s;
}

/* One line, newline included; returns its length, or -1 if it did not
 * fit (it always does: every field is bounded). */
int
alog_format_fe(char *buf, size_t len, const char *stamp, const char *node,
    const struct alog_fe *a)
{
	char	 c[ADDR_PORT_STRLEN], v[ADDR_PORT_STRLEN], lat[24];
	int	 n;

	addr_port_str(&a->af_caddr, a->af_cport, c, sizeof(c));
	addr_port_str(&a->af_vaddr, a->af_vport, v, sizeof(v));
	if (a->af_latency_us < 0)
		memcpy(lat, "-", 2);
	else
		snprintf(lat, sizeof(lat), "%lld", (long long)a->af_latency_us);
	n = snprintf(buf, len, "%s %s fe %s %s %s %s %s %s %s\n", stamp, node,
	    c, v, a->af_req != NULL ? a->af_req : "- - -",
	    a->af_pool != NULL ? a->af_pool : "-",
	    a->af_member != NULL ? a->af_member : "-", a->af_outcome, lat);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
alog_format_srv(char *buf, size_t len, const char *stamp, const char *node,
    const struct alog_srv *a)
{
	char	 c[ADDR_PORT_STRLEN], v[ADDR_PORT_STRLEN];
	int	 n;

	addr_port_str(&a->as_caddr, a->as_cport, c, sizeof(c));
	addr_port_str(&a->as_vaddr, a->as_vport, v, sizeof(v));
	n = snprintf(buf, len, "%s %s be %s %s %s %s %u %llu\n", stamp, node,
	    c, v, a->as_frontend, a->as_end, a->as_ms,
	    (unsigned long long)a->as_bytes);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* Closes a descriptor that failed, keeping errno; returns -1. */
static int
alog_close_fail(int fd)
{
	int	 saved = errno;

	close(fd);
	errno = saved;
	return -1;
}

/*
 * A file: appended to, never through a symbolic link, not readable by
 * others (it holds clients' addresses and paths), nor anyone else's.  One the daemon creates
 * has mode 0640 whatever the umask, and belongs to al_uid (node.user),
 * who reopens it after a rotation.
 */
static int
alog_open_file(struct alog *al)
{
	struct stat	 sb;
	int		 fd, created = 1;

	/* Non-blocking until it is known to be a file: a FIFO put in its
	 * place would stop the daemon at open(). */
	fd = open(al->al_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0640);
	if (fd == -1 && errno == EEXIST) {
		created = 0;
		fd = open(al->al_path, O_WRONLY | O_APPEND | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK);
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		return alog_close_fail(fd);
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;		/* alog_strerror() says what */
		return -1;
	}
	/* One that was there must be root's or the daemon's, not writable
	 * by others (who could read the clients' addresses and paths, or
	 * forge lines), and its only name (a hard link to another file would
	 * have the daemon, root at start, append to that file). */
	if (!created && ((sb.st_uid != 0 && sb.st_uid != geteuid() &&
	    sb.st_uid != al->al_uid) || (sb.st_mode & S_IWOTH) ||
	    sb.st_nlink != 1)) {
		close(fd);
		errno = EPERM;		/* alog_strerror() says what */
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) == -1)
		return alog_close_fail(fd);
	if (created && (fchmod(fd, 0640) == -1 || (al->al_uid != (uid_t)-1 &&
	    geteuid() == 0 && fchown(fd, al->al_uid, al->al_gid) == -1)))
		return alog_close_fail(fd);
	return fd;
}

static int
alog_open_syslog(struct alog *al)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(al->al_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strncpy(sun.sun_path, al->al_path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return alog_close_fail(fd);
	return fd;
}

/* What went wrong opening the destination. */
static const char *
alog_strerror(const struct alog *al, int e)
{
	/* (ENXIO: a FIFO no one reads, which open() finds before fstat) */
	if (!al->al_syslog && (e == EINVAL || e == ENXIO))
		return "not a regular file";
	if (!al->al_syslog && e == ELOOP)
		return "a symbolic link, not followed";
	if (!al->al_syslog && e == EPERM)
		return "not root's or the daemon's user's, writable by others, "
		    "or not its only name";
	return strerror(e);
}

static int
alog_connect(struct alog *al)
{
	return al->al_syslog ? alog_open_syslog(al) : alog_open_file(al);
}

/*
 * Writes what the loop's turn logged; what the file does not take is lost,
 * counted, rather than held while the disk is full.  A line the file took
 * only part of is taken back out, so that the next one written, once
 * there is room again, does not run on from it.
 */
static void
alog_on_flush(int fd, short ev, void *arg)
{
	struct alog	*al = arg;
	size_t		 len = evbuffer_get_length(al->al_buf), done = 0, whole;
	const char	*p, *nl, *why = "not open";
	uint64_t	 written = 0;
	ssize_t		 n;
	off_t		 end;
	struct stat	 sb;

	if (len == 0)
		return;
	if ((p = (const char *)evbuffer_pullup(al->al_buf, -1)) == NULL)
		why = "out of memory";
	else if (al->al_fd != -1) {
		while (done < len &&
		    (n = write(al->al_fd, p + done, len - done)) > 0)
			done += (size_t)n;
		if (done < len)
			why = strerror(errno);
	}
	for (whole = 0; whole < done && (nl = memchr(p + whole, '\n',
	    done - whole)) != NULL; written++)
		whole = (size_t)(nl - p) + 1;
	/* Only if nothing was appended after it by another writer. */
	if (whole < done && ((end = lseek(al->al_fd, 0, SEEK_CUR)) == -1 ||
	    fstat(al->al_fd, &sb) == -1 || sb.st_size != end ||
	    ftruncate(al->al_fd, end - (off_t)(done - whole)) == -1))
		log_ratelim(&al->al_rl_cut, "access log %s: a line cut short "
		    "stays", al->al_path);
	*al->al_lines += written;
	if (written < al->al_pending) {
		log_ratelim(&al->al_rl, "access log %s: %s: %llu lines "
		    "lost", al->al_path, why,
		    (unsigned long long)(al->al_pending - written));
		*al->al_dropped += al->al_pending - written;
	}
	evbuffer_drain(al->al_buf, evbuffer_get_length(al->al_buf));
	al->al_pending = 0;
}

/*
 * facility: an index into alog_facility_names.  dest: "syslog", "syslog:"
 * and a socket's path, or a file's.  uid, gid: the owner of a file this
 * creates ((uid_t)-1: whoever runs it).  A syslog daemon that is not there yet
 * is only warned about: lines are lost, counted, until it is.
 */
struct alog *
alog_open(struct event_base *base, const char *node, const char *dest,
    int facility, uid_t uid, gid_t gid, uint64_t *lines, uint64_t *dropped,
    char *err, size_t errlen)
{
	struct alog	*al;

	if ((al = calloc(1, sizeof(*al))) == NULL ||
	    (al->al_buf = evbuffer_new()) == NULL ||
	    (al->al_flush = event_new(base, -1, 0, alog_on_flush, al)) ==
	    NULL) {
		snprintf(err, errlen, "access log: out of memory");
		goto fail;
	}
	al->al_fd = -1;
	al->al_uid = uid;
	al->al_gid = gid;
	al->al_lines = lines;
	al->al_dropped = dropped;
	al->al_pri = alog_facility_codes[facility] | LOG_INFO;
	snprintf(al->al_node, sizeof(al->al_node), "%s", node);
	if (strcmp(dest, ALOG_SYSLOG) == 0)
		dest = ALOG_SYSLOG ":" ALOG_SYSLOG_SOCKET;
	if (strncmp(dest, ALOG_SYSLOG ":", strlen(ALOG_SYSLOG ":")) == 0) {
		al->al_syslog = 1;
		dest += strlen(ALOG_SYSLOG ":");
	}
	snprintf(al->al_path, sizeof(al->al_path), "%s", dest);
	if ((al->al_fd = alog_connect(al)) != -1)
		return al;
	if (!al->al_syslog) {
		snprintf(err, errlen, "access log %s: %s", al->al_path,
		    alog_strerror(al, errno));
		goto fail;
	}
	log_warn("access log: syslog socket %s", al->al_path);
	al->al_retry_us = log_mono_us() + ALOG_RECONNECT_US;
	return al;
fail:
	alog_free(al);
	return NULL;
}

/* SIGUSR2 and handoffctl reopen: the file again by its name, after
 * logrotate moved it (as the user the daemon runs as); err says why not. */
int
alog_reopen(struct alog *al, char *err, size_t errlen)
{
	int	 fd;

	alog_on_flush(-1, 0, al);
	if ((fd = alog_connect(al)) == -1) {
		/* A syslog daemon not listening is no error at start either:
		 * its lines are dropped (counted) until it is back. */
		snprintf(err, errlen, "%s (%s)", alog_strerror(al, errno),
		    al->al_fd != -1 ? "the old one stays in use" :
		    "lines are dropped until it listens");
		log_warnx("access log %s: cannot reopen: %s", al->al_path, err);
		return -1;
	}
	if (al->al_fd != -1)
		close(al->al_fd);
	al->al_fd = fd;
	log_info("access log %s reopened", al->al_path);
	return 0;
}

void
alog_free(struct alog *al)
{
	if (al == NULL)
		return;
	if (al->al_buf != NULL) {
		alog_on_flush(-1, 0, al);
		evbuffer_free(al->al_buf);
	}
	if (al->al_flush != NULL)
		event_free(al->al_flush);
	if (al->al_fd != -1)
		close(al->al_fd);
	free(al);
}

/* One datagram per line, as RFC 3164 has it; never waits. */
static void
alog_send_syslog(struct alog *al, const char *line, int len)
{
	char		 msg[ALOG_LINE_MAX + 64], stamp[32];
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 n;

	if (al->al_fd == -1) {
		if (log_mono_us() < al->al_retry_us ||
		    (al->al_fd = alog_open_syslog(al)) == -1) {
			al->al_retry_us = log_mono_us() + ALOG_RECONNECT_US;
			(*al->al_dropped)++;
			return;
		}
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(msg, sizeof(msg), "<%d>%s %s[%d]: %.*s", al->al_pri, stamp,
	    ALOG_TAG, (int)getpid(), len - 1, line);	/* no newline */
	if (send(al->al_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    -1) {
		(*al->al_dropped)++;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			/* The daemon went away: look for it again later. */
			close(al->al_fd);
			al->al_fd = -1;
			al->al_retry_us = log_mono_us() + ALOG_RECONNECT_US;
		}
		return;
	}
	(*al->al_lines)++;
}

static void
alog_put(struct alog *al, const char *line, int len)
{
	if (len <= 0)
		return;
	if (al->al_syslog) {
		alog_send_syslog(al, line, len);
		return;
	}
	if (evbuffer_add(al->al_buf, line, (size_t)len) == -1) {
		(*al->al_dropped)++;
		return;
	}
	if (al->al_pending++ == 0)
		event_active(al->al_flush, 0, 0);
	if (evbuffer_get_length(al->al_buf) >= ALOG_BUFFER_MAX)
		alog_on_flush(-1, 0, al);
}

void
alog_fe(struct alog *al, const struct alog_fe *a)
{
	char	 line[ALOG_LINE_MAX];
	char	 stamp[32];

	alog_put(al, line, alog_format_fe(line, sizeof(line),
	    alog_stamp(stamp, sizeof(stamp)), al->al_node, a));
}

void
alog_srv(struct alog *al, const struct alog_srv *a)
{
	char	 line[ALOG_LINE_MAX];
	char	 stamp[32];

	alog_put(al, line, alog_format_srv(line, sizeof(line),
	    alog_stamp(stamp, sizeof(stamp)), al->al_node, a));
}

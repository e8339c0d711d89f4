/*
 * handoffctl: asks a running handoffd over its admin socket (admin.h).
 * Sends its words as one line, prints the body of the answer and exits 0
 * when the daemon says "ok"; prints the daemon's error and exits 1 when it
 * does not, or when there is no complete answer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"

#define CTL_SOCKET_DEFAULT	"/run/handoffd/handoffd.sock"

/* Options end at the command, whose own options follow it ("flows -n"):
 * glibc's getopt() needs "+" for that, others do it anyway. */
#ifdef __GLIBC__
#define CTL_OPTS	"+hjs:"
#else
#define CTL_OPTS	"hjs:"
#endif

#define CTL_USAGE	"usage: handoffctl [-hj] [-s socket] command " \
			"[argument ...]\n"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, CTL_USAGE);
	exit(1);
}

static void __attribute__((noreturn))
help(void)
{
	printf(CTL_USAGE
	    "  -j         answer in JSON\n"
	    "  -s socket  the daemon's node.admin_socket (default %s)\n"
	    "commands:\n"
	    "  status               the node, its flows, peers and handoffs\n"
	    "  peers                each peer's control channel and load\n"
	    "  pools                each pool member's state, weight, load "
	    "and handoffs\n"
	    "  flows [-n count]     connections in the flow table "
	    "(default %d)\n"
	    "  drain member         no new connections for member (node or "
	    "pool/node)\n"
	    "  enable member        new connections for member again\n"
	    "  weight member n      member's weight, 1 to 1000\n"
	    "  reload               the configuration file again\n"
	    "  reopen               the access log again (after logrotate)\n"
	    "  help                 the daemon's list of commands\n",
	    CTL_SOCKET_DEFAULT, ADMIN_FLOWS_DEFAULT);
	exit(0);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "handoffctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* The request: "-j" if asked, then the words, one blank apart. */
static void
request(char *line, size_t len, int json, int argc, char **argv)
{
	size_t	 n = 0, i;
	int	 k;

	line[0] = '\0';
	if (json)
		n = (size_t)snprintf(line, len, "-j");
	for (k = 0; k < argc; k++) {
		if (argv[k][0] == '\0')
			die("an argument cannot be empty");
		for (i = 0; argv[k][i] != '\0'; i++)
			if ((unsigned char)argv[k][i] <= ' ' ||
			    argv[k][i] == 0x7f)
				die("\"%s\": an argument cannot hold blanks or "
				    "control characters", argv[k]);
		n += (size_t)snprintf(line + n, n < len ? len - n : 0, "%s%s",
		    n ? " " : "", argv[k]);
	}
	if (n + 1 >= len)
		die("the request is longer than %zu bytes", len - 2);
	line[n++] = '\n';
	line[n] = '\0';
}

static const char	*ctl_path;	/* for on_alarm */

static void
say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) == -1)
		return;
}

/* The whole exchange has ADMIN_TIMEOUT_S: a daemon that stopped
 * answering, or answers a byte at a time, must not hang a script. */
static void
on_alarm(int sig)
{
	say("handoffctl: ");
	say(ctl_path);
	say(": no answer in time\n");
	_exit(1);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: name too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("%s: %s%s", path, strerror(errno), errno == ENOENT ||
		    errno == ECONNREFUSED ? " (is handoffd running? -s names "
		    "its node.admin_socket)" : "");
	return fd;
}

int
main(int argc, char *argv[])
{
	const char	*path = CTL_SOCKET_DEFAULT;
	char		 line[ADMIN_LINE_MAX + 1], *buf = NULL, *out = NULL;
	size_t		 cap = 0, outlen = 0;
	ssize_t		 n;
	FILE		*fp, *body;
	int		 ch, fd, json = 0, ok, werr;

	while ((ch = getopt(argc, argv, CTL_OPTS)) != -1) {
		switch (ch) {
		case 'h':
			help();
		case 'j':
			json = 1;
			break;
		case 's':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	request(line, sizeof(line), json, argc, argv);
	ctl_path = path;
	signal(SIGALRM, on_alarm);
	alarm(ADMIN_TIMEOUT_S);
	fd = connect_to(path);
	/* A daemon that refuses the connection says why and closes: its
	 * answer is read even when the request could not be written. */
	signal(SIGPIPE, SIG_IGN);
	werr = write(fd, line, strlen(line)) == -1 ? errno : 0;
	if ((fp = fdopen(fd, "r")) == NULL)
		die("fdopen: %s", strerror(errno));
	errno = 0;
	if ((n = getline(&buf, &cap, fp)) <= 0)
		die("%s: %s", path, werr ? strerror(werr) : errno ?
		    strerror(errno) : "closed without an answer");
	ok = strcmp(buf, "ok\n") == 0;
	if (!ok && strncmp(buf, "error: ", 7) != 0)
		die("%s: not an answer: %.60s", path, buf);
	if (!ok)
		fprintf(stderr, "handoffctl: %s", buf + 7);
	/* The body, up to the empty line that ends it, is printed whole or
	 * not at all: half a table (or of a JSON object) is no answer. */
	if ((body = open_memstream(&out, &outlen)) == NULL)
		die("open_memstream: %s", strerror(errno));
	while ((n = getline(&buf, &cap, fp)) > 0 && strcmp(buf, "\n") != 0)
		if (ok && fwrite(buf, 1, (size_t)n, body) != (size_t)n)
			die("out of memory");
	if (n <= 0)
		die("%s: the answer was cut short", path);
	if (fclose(body) == EOF)
		die("out of memory");
	free(buf);
	fclose(fp);
	if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout) == EOF)
		die("stdout: %s", strerror(errno));
	free(out);
	return ok ? 0 : 1;
}

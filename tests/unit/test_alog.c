/*
 * The access log: fields escaped and cut as handoffd(8) ACCESS LOG says,
 * both lines byte for byte, a file's lines written by the event loop and
 * found in the new file after a reopen, only whole lines in a file that
 * filled up, and syslog datagrams with their priority and tag.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>

#include "alog.h"
#include "t.h"

static void
test_escape(void)
{
	char	 buf[4 * 8 + 4], big[4 * ALOG_TARGET_MAX + 4];
	char	 src[ALOG_TARGET_MAX + 10];

	CHECK_INTEQ(alog_escape(buf, sizeof(buf), "/a/b", 4, 8), 4);
	CHECK_STREQ(buf, "/a/b");
	CHECK_INTEQ(alog_escape(buf, sizeof(buf), "", 0, 8), 1);
	CHECK_STREQ(buf, "-");
	CHECK_INTEQ(alog_escape(buf, sizeof(buf), NULL, 0, 8), 1);
	CHECK_STREQ(buf, "-");
	alog_escape(buf, sizeof(buf), "a b\"\\\n\x7f\xc3", 8, 8);
	CHECK_STREQ(buf, "a\\x20b\\x22\\x5c\\x0a\\x7f\\xc3");
	/* every byte escaped, and cut: exactly 4 * max + 3 + NUL */
	CHECK_INTEQ(alog_escape(buf, sizeof(buf), "\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01", 9, 8), 4 * 8 + 3);
	CHECK(strcmp(buf + 32, "...") == 0);
	/* too small a buffer writes nothing */
	CHECK_INTEQ(alog_escape(buf, sizeof(buf) - 1, "a", 1, 8), 0);
	memset(src, 'x', sizeof(src));
	CHECK_INTEQ(alog_escape(big, sizeof(big), src, sizeof(src),
	    ALOG_TARGET_MAX), ALOG_TARGET_MAX + 3);
	CHECK_INTEQ(alog_escape(big, sizeof(big), src, ALOG_TARGET_MAX,
	    ALOG_TARGET_MAX), ALOG_TARGET_MAX);
}

static void
test_lines(void)
{
	struct alog_fe	 fe;
	struct alog_srv	 srv;
	char		 line[ALOG_LINE_MAX], *req;
	char		 t[ALOG_TARGET_MAX + 1], h[ALOG_HOST_MAX + 1];

	req = alog_req("GET", "/static/a b.css?x=1", 19, "www.example.com",
	    15);
	CHECK_STREQ(req, "GET /static/a\\x20b.css?x=1 www.example.com");
	memset(&fe, 0, sizeof(fe));
	fe.af_caddr = t_ip("10.0.0.2");
	fe.af_cport = htons(41234);
	fe.af_vaddr = t_ip("10.9.0.2");
	fe.af_vport = htons(80);
	fe.af_req = req;
	fe.af_pool = "static";
	fe.af_member = "n2";
	fe.af_outcome = "handoff";
	fe.af_latency_us = 412;
	CHECK(alog_format_fe(line, sizeof(line), "2026-12-02T01:02:03.456Z",
	    "n1", &fe) > 0);
	CHECK_STREQ(line, "2026-12-02T01:02:03.456Z n1 fe 10.0.0.2:41234 "
	    "10.9.0.2:80 GET /static/a\\x20b.css?x=1 www.example.com static "
	    "n2 handoff 412\n");
	free(req);
	fe.af_req = NULL;
	fe.af_pool = NULL;
	fe.af_member = NULL;
	fe.af_outcome = "400";
	fe.af_latency_us = -1;
	CHECK(alog_format_fe(line, sizeof(line), "T", "n1", &fe) > 0);
	CHECK_STREQ(line, "T n1 fe 10.0.0.2:41234 10.9.0.2:80 - - - - - 400 "
	    "-\n");
	/* the longest line there can be fits */
	memset(t, 0xff, sizeof(t));
	memset(h, 0xff, sizeof(h));
	req = alog_req("OPTIONS", t, sizeof(t), h, sizeof(h));
	CHECK(req != NULL);
	fe.af_req = req;
	fe.af_pool = "0123456789012345678901234567890123456789012345678901234567890";
	fe.af_member = fe.af_pool;
	fe.af_latency_us = INT64_MAX;
	CHECK(alog_format_fe(line, sizeof(line), "2026-12-02T01:02:03.456Z",
	    fe.af_pool, &fe) > 0);
	free(req);

	memset(&srv, 0, sizeof(srv));
	srv.as_caddr = t_ip("10.0.0.2");
	srv.as_cport = htons(41234);
	srv.as_vaddr = t_ip("10.9.0.2");
	srv.as_vport = htons(80);
	srv.as_frontend = "n1";
	srv.as_end = "done";
	srv.as_ms = 655;
	srv.as_bytes = 1048576;
	CHECK(alog_format_srv(line, sizeof(line), "T", "n2", &srv) > 0);
	CHECK_STREQ(line, "T n2 be 10.0.0.2:41234 10.9.0.2:80 n1 done 655 "
	    "1048576\n");
}

static char *
slurp(const char *path)
{
	static char	 buf[8192];
	int		 fd = open(path, O_RDONLY);
	ssize_t		 n;

	buf[0] = '\0';
	if (fd == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void
one_srv(struct alog *al, const char *frontend)
{
	struct alog_srv	 srv;

	memset(&srv, 0, sizeof(srv));
	srv.as_caddr = srv.as_vaddr = addr4(0);
	srv.as_frontend = frontend;
	srv.as_end = "done";
	alog_srv(al, &srv);
}

static void
test_file(void)
{
	char			 dir[] = "/tmp/test_alog.XXXXXX";
	char			 path[256], moved[256], err[256];
	struct event_base	*base = event_base_new();
	struct alog		*al;
	struct stat		 sb;
	uint64_t		 lines = 0, lost = 0;
	int			 rfd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(moved, sizeof(moved), "%s/access.log.1", dir);
	al = alog_open(base, "n1", path, 0, (uid_t)-1, 0, &lines,
	    &lost, err, sizeof(err));
	CHECK(al != NULL);
	CHECK(stat(path, &sb) == 0);
	CHECK_INTEQ(sb.st_mode & 0777, 0640);
	one_srv(al, "first");
	one_srv(al, "second");
	CHECK_INTEQ(lines, 0);
	CHECK_STREQ(slurp(path), "");		/* not before the loop runs */
	CHECK(event_base_loop(base, EVLOOP_NONBLOCK) == 0 ||
	    event_base_loop(base, EVLOOP_NONBLOCK) == 1);
	CHECK_INTEQ(lines, 2);
	CHECK(strstr(slurp(path), " first done ") != NULL);
	CHECK(strstr(slurp(path), " second done ") != NULL);
	/* logrotate: moved away, then reopened by name */
	CHECK(rename(path, moved) == 0);
	umask(077);	/* a new file is 0640 whatever the umask */
	one_srv(al, "third");
	CHECK_INTEQ(alog_reopen(al, err, sizeof(err)), 0);	/* "third" is flushed first */
	one_srv(al, "fourth");
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(strstr(slurp(moved), " third done ") != NULL);
	CHECK(strstr(slurp(moved), " fourth ") == NULL);
	CHECK(strstr(slurp(path), " fourth done ") != NULL);
	CHECK(stat(path, &sb) == 0);
	CHECK_INTEQ(sb.st_mode & 0777, 0640);
	umask(022);
	CHECK_INTEQ(lost, 0);
	alog_free(al);
	unlink(path);
	unlink(moved);

	/* never a FIFO, without a reader (ENXIO, not a wait for one) or
	 * with one, nor through a symbolic link */
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(alog_open(base, "n1", path, 0, (uid_t)-1, 0, &lines, &lost, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK((rfd = open(path, O_RDONLY | O_NONBLOCK)) != -1);
	CHECK(alog_open(base, "n1", path, 0, (uid_t)-1, 0, &lines, &lost, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "not a regular file") != NULL);
	close(rfd);
	unlink(path);
	CHECK(symlink("/tmp/test_alog_target", path) == 0);
	CHECK(alog_open(base, "n1", path, 0, (uid_t)-1, 0, &lines, &lost, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "a symbolic link, not followed") != NULL);
	unlink(path);
	rmdir(dir);
	event_base_free(base);
}

/*
 * A file that fills up (here: RLIMIT_FSIZE, whose writes fail as a full
 * disk's do, after a short one): the lines it took count as written, the
 * others as lost, and the one it took only part of is taken back out, so
 * that once there is room the log goes on with whole lines.
 */
static void
test_full(void)
{
	char			 dir[] = "/tmp/test_alog.XXXXXX";
	char			 path[256], err[256], *text, *l, *nl, *p;
	struct event_base	*base = event_base_new();
	struct alog		*al;
	struct rlimit		 rl, small;
	struct stat		 sb;
	uint64_t		 lines = 0, lost = 0, seen = 0;
	int			 i;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/access.log", dir);
	al = alog_open(base, "n1", path, 0, (uid_t)-1, 0, &lines,
	    &lost, err, sizeof(err));
	CHECK(al != NULL);
	one_srv(al, "first");
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(stat(path, &sb) == 0);
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	small = rl;
	/* room for two lines more and half of a third */
	small.rlim_cur = (rlim_t)(sb.st_size * 3 + sb.st_size / 2);
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	for (i = 0; i < 10; i++)
		one_srv(al, "fill");
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	CHECK_INTEQ(lines, 3);
	CHECK_INTEQ(lost, 8);
	one_srv(al, "after");
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INTEQ(lines, 4);
	CHECK_INTEQ(lost, 8);
	text = slurp(path);
	for (l = text; *l != '\0'; l = nl + 1) {
		CHECK((nl = strchr(l, '\n')) != NULL);
		if (nl == NULL)
			break;
		/* a whole line: a stamp and eight fields */
		CHECK(strncmp(l, "20", 2) == 0);
		for (i = 0, p = l; p < nl; p++)
			i += *p == ' ';
		CHECK_INTEQ(i, 8);
		seen++;
	}
	CHECK_INTEQ(seen, 4);
	CHECK(strstr(text, " after done ") != NULL);
	alog_free(al);
	unlink(path);
	rmdir(dir);
	event_base_free(base);
}

static void
test_syslog(void)
{
	char			 dir[] = "/tmp/test_alog.XXXXXX";
	char			 dest[300], err[256], msg[ALOG_LINE_MAX];
	struct event_base	*base = event_base_new();
	struct sockaddr_un	 sun;
	struct alog		*al;
	uint64_t		 lines = 0, lost = 0;
	int			 fd;
	ssize_t			 n;

	CHECK(mkdtemp(dir) != NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", dir);
	snprintf(dest, sizeof(dest), "syslog:%s", sun.sun_path);

	/* no daemon yet: started anyway, lines lost and counted */
	al = alog_open(base, "n2", dest, 3, (uid_t)-1, 0, &lines,
	    &lost, err, sizeof(err));
	CHECK(al != NULL);
	one_srv(al, "n1");
	CHECK_INTEQ(lost, 1);
	CHECK_INTEQ(lines, 0);
	alog_free(al);

	CHECK((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) != -1);
	CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	lost = 0;
	al = alog_open(base, "n2", dest, 3, (uid_t)-1, 0, &lines,
	    &lost, err, sizeof(err));
	CHECK(al != NULL);
	one_srv(al, "n1");
	CHECK_INTEQ(lines, 1);
	n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	msg[n] = '\0';
	/* local3.info, the tag, one line without its newline */
	CHECK(strncmp(msg, "<158>", 5) == 0);
	CHECK(strstr(msg, " handoffd-access[") != NULL);
	CHECK(strstr(msg, "]: ") != NULL);
	CHECK(strstr(msg, " n2 be 0.0.0.0:0 0.0.0.0:0 n1 done 0 0") != NULL);
	CHECK(msg[n - 1] != '\n');
	CHECK_INTEQ(lost, 0);
	alog_free(al);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
	event_base_free(base);
	CHECK_STREQ(alog_facility_names[3], "local3");
	CHECK_INTEQ(LOG_LOCAL3 | LOG_INFO, 158);
}

int
main(void)
{
	t_start(10);
	umask(022);
	test_escape();
	test_lines();
	test_file();
	test_full();
	test_syslog();
	return t_done("test_alog");
}

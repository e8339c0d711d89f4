/*
 * The state file: flows and the boot id kept across processes; a file of
 * another node, size or layout, or garbage, started empty; one another
 * user could write, or another daemon holds, refused; peers by id.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "flow.h"
#include "state.h"
#include "t.h"

static char	 dir[] = "/tmp/test_state-XXXXXX";
static char	 path[80];

/* A node's config with the given peers, in that order. */
static struct cfg *
cfg(const char *id, int max, const char *p1, const char *p2)
{
	char		 yaml[2048], err[512];
	struct cfg	*c;
	size_t		 n;

	n = (size_t)snprintf(yaml, sizeof(yaml), "node:\n  id: %s\n"
	    "  control: 127.0.1.1:7100\n  server: 10.2.1.1:80\n"
	    "lwip:\n  address: 10.2.1.2\npeers:\n", id);
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
	    "  - {id: %s, control: 127.0.1.2:7100, stack_address: 10.2.2.2, server: 10.2.2.1:80}\n"
	    "  - {id: %s, control: 127.0.1.3:7100, stack_address: 10.2.3.2, server: 10.2.3.1:80}\n",
	    p1, p2);
	snprintf(yaml + n, sizeof(yaml) - n, "services:\n"
	    "  - {name: web, listen: 10.9.0.1:80, pool: p}\n"
	    "pools:\n  - {name: p, members: [%s]}\n"
	    "handoff:\n  max_flows: %d\n"
	    "control:\n  key_file: %s/key\n", id, max, dir);
	if ((c = cfg_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

static struct state *
open_ok(const struct cfg *c)
{
	char		 err[512];
	struct state	*st = state_open(path, c, err, sizeof(err));

	if (st == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(st != NULL);
	return st;
}

static void
open_fails(const struct cfg *c, const char *want)
{
	char	 err[512];

	CHECK(state_open(path, c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, want) != NULL);
}

static void
test_keep(void)
{
	struct cfg	*c = cfg("n1", 100, "n2", "n3");
	struct cfg	*swapped = cfg("n1", 100, "n3", "n2");
	struct state	*st, *again;
	struct flow	*f;
	uint64_t	 boot;

	unlink(path);
	st = open_ok(c);
	CHECK(!state_attached(st));
	boot = state_boot(st);
	CHECK(boot != 0);
	state_set_peers(st, c);
	f = state_flows(st);
	f[7].f_owner = 1;
	f[7].f_delta = 12345;
	f[99].f_delta = 99;

	/* One daemon at a time. */
	open_fails(c, "in use by another handoffd");
	state_close(st);

	st = open_ok(swapped);
	CHECK(state_attached(st));
	CHECK(state_boot(st) == boot);
	f = state_flows(st);
	CHECK(f[7].f_owner == 1 && f[7].f_delta == 12345);
	CHECK(f[99].f_delta == 99);
	/* The file's n2 (index 0) is the new configuration's index 1. */
	CHECK_INTEQ(state_peer(st, swapped, 0), 1);
	CHECK_INTEQ(state_peer(st, swapped, 1), 0);
	CHECK_INTEQ(state_peer(st, swapped, 2), -1);
	CHECK_INTEQ(state_peer(st, swapped, CFG_MAX_PEERS), CFG_MAX_PEERS);
	state_close(st);

	/* A peer gone from the configuration names nobody. */
	again = NULL;
	{
		struct cfg *other = cfg("n1", 100, "n4", "n3");

		again = open_ok(other);
		CHECK(state_attached(again));
		CHECK_INTEQ(state_peer(again, other, 0), -1);
		CHECK_INTEQ(state_peer(again, other, 1), 1);
		state_close(again);
		cfg_free(other);
	}
	cfg_free(c);
	cfg_free(swapped);
}

/* What cannot be trusted is started again, empty, with a new boot id. */
static void
test_start_clean(void)
{
	struct cfg	*c = cfg("n1", 100, "n2", "n3");
	struct cfg	*bigger = cfg("n1", 200, "n2", "n3");
	struct cfg	*n2 = cfg("n2", 100, "n1", "n3");
	struct state	*st;
	struct flow	*f;
	uint64_t	 boot;
	char		 junk[8192];
	int		 fd;

	unlink(path);
	st = open_ok(c);
	boot = state_boot(st);
	state_flows(st)[3].f_owner = 1;
	state_close(st);

	/* another node's */
	st = open_ok(n2);
	CHECK(!state_attached(st));
	CHECK(state_boot(st) != boot);
	CHECK_INTEQ(state_flows(st)[3].f_owner, 0);
	state_close(st);

	/* another size */
	st = open_ok(c);
	CHECK(!state_attached(st));
	state_flows(st)[3].f_owner = 1;
	state_close(st);
	st = open_ok(bigger);
	CHECK(!state_attached(st));
	CHECK_INTEQ(state_flows(st)[3].f_owner, 0);
	state_close(st);

	/* truncated */
	st = open_ok(c);
	state_close(st);
	CHECK(truncate(path, 100) == 0);
	st = open_ok(c);
	CHECK(!state_attached(st));
	state_close(st);
	st = open_ok(c);
	CHECK(state_attached(st));
	state_close(st);

	/* garbage */
	memset(junk, 0xa5, sizeof(junk));
	CHECK((fd = open(path, O_WRONLY)) != -1);
	CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	st = open_ok(c);
	CHECK(!state_attached(st));
	f = state_flows(st);
	CHECK_INTEQ(f[0].f_owner, 0);
	CHECK(f[0].f_delta == 0);
	state_close(st);

	/* another build's layout: the header's layout word */
	st = open_ok(c);
	state_close(st);
	CHECK((fd = open(path, O_WRONLY)) != -1);
	CHECK(pwrite(fd, "\x02\x00\x00\x00", 4, 8) == 4);
	close(fd);
	st = open_ok(c);
	CHECK(!state_attached(st));
	state_close(st);
	cfg_free(c);
	cfg_free(bigger);
	cfg_free(n2);
}

/* A file another user could have written would let it make up flows. */
static void
test_refused(void)
{
	struct cfg	*c = cfg("n1", 100, "n2", "n3");
	char		 other[80];

	unlink(path);
	state_close(open_ok(c));
	CHECK(chmod(path, 0620) == 0);
	open_fails(c, "mode 0600");
	CHECK(chmod(path, 0602) == 0);
	open_fails(c, "mode 0600");
	/* readable is enough to learn every connection's sequence numbers */
	CHECK(chmod(path, 0640) == 0);
	open_fails(c, "mode 0600");
	CHECK(chmod(path, 0600) == 0);
	state_close(open_ok(c));
	/* a second name: it could be another file's, to be emptied */
	snprintf(other, sizeof(other), "%s/hard", dir);
	CHECK(link(path, other) == 0);
	open_fails(c, "one link");
	unlink(other);
	state_close(open_ok(c));
	unlink(path);
	snprintf(other, sizeof(other), "%s/link", dir);
	CHECK(symlink("/etc/passwd", other) == 0);
	snprintf(path, sizeof(path), "%s", other);
	open_fails(c, "symbolic link");
	unlink(other);
	snprintf(path, sizeof(path), "%s/flows", dir);
	cfg_free(c);
}

int
main(void)
{
	FILE	*fp;

	t_start(60);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/key", dir);
	CHECK((fp = fopen(path, "w")) != NULL);
	CHECK(fputs("state-test-key-0123456789abcdef\n", fp) != EOF);
	CHECK(fclose(fp) == 0 && chmod(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/flows", dir);
	test_keep();
	test_start_clean();
	test_refused();
	unlink(path);
	snprintf(path, sizeof(path), "%s/key", dir);
	unlink(path);
	rmdir(dir);
	return t_done("test_state");
}

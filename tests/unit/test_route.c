/*
 * Routing by content: path normalisation, request inspection and rule
 * matching, table-driven.  Requests are fed to the head finder in small
 * pieces first, as segments arrive, and routed on what it assembled.
 * A TLS service's rules see a ClientHello's server name and ALPN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "handoff/handoff.h"
#include "handoff/hello.h"
#include "handoff/route.h"
#include "t.h"

static const struct {
	const char	*in;
	const char	*out;	/* NULL: refused */
} paths[] = {
	{ "/", "/" },
	{ "/a/b", "/a/b" },
	{ "/a/b/", "/a/b/" },
	{ "//a///b", "/a/b" },
	{ "/a/./b", "/a/b" },
	{ "/a/../b", "/b" },
	{ "/../../etc/passwd", "/etc/passwd" },
	{ "/%2e%2e/%2E%2E/etc", "/etc" },
	{ "/static/%2e%2e/app", "/app" },
	{ "/static%2f..%2fapp", "/app" },
	{ "/%73tatic/x", "/static/x" },
	{ "/a/b/..", "/a/" },
	{ "/a/b/.", "/a/b/" },
	{ "/a/..", "/" },
	{ "/.hidden/..x", "/.hidden/..x" },
	{ "/a%20b", "/a b" },
	{ "/%", NULL },
	{ "/%4", NULL },
	{ "/%zz", NULL },
	{ "/a%00b", NULL },
	{ "a/b", NULL },
	{ "", NULL },
};

static void
test_paths(void)
{
	char	 out[256];
	size_t	 i, n;
	int	 rc;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rc = route_normalize_path(paths[i].in, strlen(paths[i].in),
		    out, &n);
		if (paths[i].out == NULL) {
			if (rc != -1)
				fprintf(stderr, "path %s: got %s\n", paths[i].in,
				    out);
			CHECK_INTEQ(rc, -1);
			continue;
		}
		if (rc != 0)
			fprintf(stderr, "path %s refused\n", paths[i].in);
		CHECK_INTEQ(rc, 0);
		CHECK_STREQ(out, paths[i].out);
		CHECK_INTEQ(n, strlen(paths[i].out));
	}
}

static struct cfg *
load(void)
{
	static const char yaml[] =
	    "node: {id: n1, control: 10.1.1.2:7100, server: 10.2.1.1:80}\n"
	    "lwip: {address: 10.2.1.2}\n"
	    "services:\n"
	    "  - name: web\n"
	    "    listen: 10.9.0.1:80\n"
	    "    pool: dflt\n"
	    "    rules:\n"
	    "      - {method: POST, path_prefix: /upload, pool: up}\n"
	    "      - {host: img.example.com, pool: img}\n"
	    "      - {host: '*.cdn.example.com', pool: cdn}\n"
	    "      - {path_prefix: /static/, pool: static}\n"
	    "      - {path_regex: '\\.(php|cgi)$', pool: dyn}\n"
	    "      - {header: X-Debug, pool: debug}\n"
	    "      - {header: X-Tenant, header_value: blue, pool: blue}\n"
	    "  - name: tls\n"
	    "    listen: 10.9.0.1:443\n"
	    "    protocol: tls\n"
	    "    pool: dflt\n"
	    "    rules:\n"
	    "      - {sni: a.example, alpn: h2, pool: up}\n"
	    "      - {sni: a.example, pool: img}\n"
	    "      - {sni: '*.cdn.example.com', pool: cdn}\n"
	    "      - {sni: www.example.com, alpn: http/1.1, pool: static}\n"
	    "      - {alpn: acme-tls/1, pool: debug}\n"
	    "pools:\n"
	    "  - {name: dflt, members: [n1]}\n"
	    "  - {name: up, members: [n1]}\n"
	    "  - {name: img, members: [n1]}\n"
	    "  - {name: cdn, members: [n1]}\n"
	    "  - {name: static, members: [n1]}\n"
	    "  - {name: dyn, members: [n1]}\n"
	    "  - {name: debug, members: [n1]}\n"
	    "  - {name: blue, members: [n1]}\n"
	    /* git checks tests/data/test.key out with mode 0644. */
	    "control: {key_file: test.key, key_file_insecure_ok: true}\n";
	char		 name[1024], err[512];
	const char	*src = getenv("TESTS_SRCDIR");
	struct cfg	*c;

	snprintf(name, sizeof(name), "%s/data/t.yaml", src ? src : "../tests");
	c = cfg_parse(name, yaml, strlen(yaml), err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

static const char *
pool_name(const struct cfg *c, int idx)
{
	return idx < 0 ? "(none)" : c->cfg_pools[idx].cp_name;
}

/*
 * Feeds the request to the head finder in pieces of step bytes, as the
 * front-end does, then routes the assembled head.  Returns the pool's name,
 * "400" or "431".
 */
static const char *
route(const struct cfg *c, const char *req, size_t step)
{
	static char		 res[CFG_ID_MAX];
	struct req_parser	*rp = req_new();
	struct route_req	*rr = malloc(sizeof(*rr));
	enum req_result		 r = REQ_MORE;
	enum route_result	 rt;
	size_t			 len = strlen(req), off, n;

	CHECK(rp != NULL && rr != NULL);
	for (off = 0; off < len && r == REQ_MORE; off += n) {
		n = len - off < step ? len - off : step;
		r = req_feed(rp, req + off, n);
	}
	if (r != REQ_DONE) {
		req_free(rp);
		free(rr);
		return "400";
	}
	rt = route_inspect(req, req_head_len(rp), rr);
	req_free(rp);
	if (rt == ROUTE_BAD || rt == ROUTE_TOO_MANY) {
		free(rr);
		return rt == ROUTE_BAD ? "400" : "431";
	}
	CHECK_INTEQ(rt, ROUTE_OK);
	snprintf(res, sizeof(res), "%s",
	    pool_name(c, route_pool(&c->cfg_services[0], rr)));
	route_req_free(rr);
	free(rr);
	return res;
}

/* A GET of a path of plen bytes ending ".php" must go to pool. */
static void
test_regex_path(const struct cfg *c, size_t plen, const char *pool)
{
	static const char pre[] = "GET /", post[] = ".php HTTP/1.1\r\n"
	    "Host: x\r\n\r\n";
	size_t	 n = plen - 1 - 4;	/* the "/" and ".php" */
	char	*s = malloc(sizeof(pre) + n + sizeof(post));

	CHECK(s != NULL);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'a', n);
	memcpy(s + sizeof(pre) - 1 + n, post, sizeof(post));
	CHECK_STREQ(route(c, s, 4096), pool);
	free(s);
}

static const struct {
	const char	*req;
	const char	*pool;
} reqs[] = {
	{ "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "dflt" },
	{ "GET /static/a.css HTTP/1.1\r\nHost: x\r\n\r\n", "static" },
	{ "GET /static HTTP/1.1\r\nHost: x\r\n\r\n", "dflt" },
	{ "GET //static//a.css HTTP/1.1\r\nHost: x\r\n\r\n", "static" },
	{ "GET /%73tatic/a.css HTTP/1.1\r\nHost: x\r\n\r\n", "static" },
	{ "GET /static/%2e%2e/index.php HTTP/1.1\r\nHost: x\r\n\r\n", "dyn" },
	{ "GET /static/../x HTTP/1.0\r\n\r\n", "dflt" },
	{ "GET /a/../static/./b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", "static" },
	{ "GET /index.php?a=/static/ HTTP/1.1\r\nHost: x\r\n\r\n", "dyn" },
	{ "GET /x.php.txt HTTP/1.1\r\nHost: x\r\n\r\n", "dflt" },
	{ "POST /upload/f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    "up" },
	{ "PUT /upload/f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    "dflt" },
	{ "GET / HTTP/1.1\r\nHost: IMG.Example.COM:8080\r\n\r\n", "img" },
	{ "GET / HTTP/1.1\r\nHost: img.example.com.\r\n\r\n", "img" },
	{ "GET / HTTP/1.1\r\nHost: a.cdn.example.com\r\n\r\n", "cdn" },
	{ "GET / HTTP/1.1\r\nHost: a.b.cdn.example.com\r\n\r\n", "cdn" },
	{ "GET / HTTP/1.1\r\nHost: cdn.example.com\r\n\r\n", "dflt" },
	{ "GET / HTTP/1.1\r\nHost: xcdn.example.com\r\n\r\n", "dflt" },
	/* absolute form: its host wins over Host */
	{ "GET http://img.example.com/static/x HTTP/1.1\r\nHost: other\r\n"
	    "\r\n", "img" },
	{ "GET / HTTP/1.1\r\nHost: x\r\nx-debug:\r\n\r\n", "debug" },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX-Tenant:  blue  \r\n\r\n", "blue" },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX-Tenant: red\r\nX-Tenant: blue\r\n"
	    "\r\n", "blue" },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX-Tenant: Blue\r\n\r\n", "dflt" },
	{ "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "dflt" },
	{ "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", "400" },
	{ "GET /a%00.php HTTP/1.1\r\nHost: x\r\n\r\n", "400" },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400" },
	{ "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", "400" },
	/* A tab or form feed in the target (http-parser lets them by), and
	 * HTTP/0.9 (no version: nothing routes it). */
	{ "GET /static/a\tb HTTP/1.1\r\nHost: x\r\n\r\n", "400" },
	{ "GET /static/a\fb HTTP/1.1\r\nHost: x\r\n\r\n", "400" },
	{ "GET /static/a.css\r\n\r\n", "400" },
	{ "GET /static/a.css\n\n", "400" },
	/* Another version than 1.x, written out. */
	{ "GET /static/a.css HTTP/0.9\r\n\r\n", "400" },
	{ "GET /static/a.css HTTP/2.0\r\nHost: x\r\n\r\n", "400" },
	{ "GET /static/a.css HTTP/9.9\r\nHost: x\r\n\r\n", "400" },
};

/* A request whose header lines go past what the view holds. */
static char *
many_headers(int n, const char *last)
{
	size_t	 sz = (size_t)n * 16 + 256, o;
	char	*s = malloc(sz);
	int	 i;

	CHECK(s != NULL);
	o = (size_t)snprintf(s, sz, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, sz - o, "X-H%d: v\r\n", i);
	snprintf(s + o, sz - o, "%s\r\n", last);
	return s;
}

/* A header long enough to span many segments. */
static char *
long_header(size_t vlen)
{
	size_t	 sz = vlen + 256, o;
	char	*s = malloc(sz);

	CHECK(s != NULL);
	o = (size_t)snprintf(s, sz, "GET /x HTTP/1.1\r\nHost: x\r\nX-Long: ");
	memset(s + o, 'a', vlen);
	o += vlen;
	snprintf(s + o, sz - o, "\r\nX-Tenant: blue\r\n\r\n");
	return s;
}

static const struct {
	const char	*sni;		/* "": none */
	const char	*alpn;		/* the list as sent: length, name... */
	size_t		 alpnlen;
	const char	*pool;
} hellos[] = {
	{ "a.example", "\x02h2\x08http/1.1", 12, "up" },
	{ "a.example", "\x08http/1.1\x02h2", 12, "up" },
	{ "a.example", "\x08http/1.1", 9, "img" },
	{ "a.example", "\x03h2c", 4, "img" },
	{ "a.example", "", 0, "img" },
	{ "b.a.example", "\x02h2", 3, "dflt" },
	{ "x.cdn.example.com", "", 0, "cdn" },
	{ "x.y.cdn.example.com", "\x02h2", 3, "cdn" },
	{ "cdn.example.com", "", 0, "dflt" },
	{ "xcdn.example.com", "", 0, "dflt" },
	{ "other.example", "\x0a" "acme-tls/1", 11, "debug" },
	{ "other.example", "\x02h2", 3, "dflt" },
	/* No server name: the default pool, whatever the ALPN. */
	{ "", "\x0a" "acme-tls/1", 11, "dflt" },
};

/* The tls service's pool for each ClientHello of the table. */
static void
test_hellos(const struct cfg *c)
{
	const struct cfg_service	*svc = &c->cfg_services[1];
	struct hello			 h;
	const char			*name;
	size_t				 i, len;

	for (i = 0; i < sizeof(hellos) / sizeof(hellos[0]); i++) {
		memset(&h, 0, sizeof(h));
		snprintf(h.h_sni, sizeof(h.h_sni), "%s", hellos[i].sni);
		h.h_snilen = strlen(h.h_sni);
		h.h_alpn = (const uint8_t *)hellos[i].alpn;
		h.h_alpnlen = hellos[i].alpnlen;
		if (strcmp(pool_name(c, route_hello_pool(svc, &h)),
		    hellos[i].pool) != 0)
			fprintf(stderr, "hello %zu: %s\n", i, hellos[i].sni);
		CHECK_STREQ(pool_name(c, route_hello_pool(svc, &h)),
		    hellos[i].pool);
		name = route_hello_name(&h, &len);
		CHECK(*hellos[i].sni == '\0' ? name == NULL && len == 0 :
		    name == h.h_sni && len == h.h_snilen);
	}
}

/* A ClientHello curl sent (tests/fuzz/corpus/hello/), read and routed. */
static void
test_capture(const struct cfg *c, const char *file, const char *pool)
{
	struct hello_reader	*hr = hello_new(8192);
	char			 path[1024];
	const char		*src = getenv("TESTS_SRCDIR");
	uint8_t			 buf[4096];
	size_t			 n;
	FILE			*fp;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/hello/%s",
	    src ? src : "../tests", file);
	CHECK(hr != NULL && (fp = fopen(path, "rb")) != NULL);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	CHECK_INTEQ(hello_feed(hr, buf, n), HELLO_DONE);
	CHECK_STREQ(pool_name(c, route_hello_pool(&c->cfg_services[1],
	    hello_get(hr))), pool);
	hello_free(hr);
}

int
main(void)
{
	static const size_t steps[] = { 1, 3, 7, 1460, 65536 };
	struct cfg	*c;
	char		*s;
	size_t		 i, j;

	t_start(30);
	test_paths();
	c = load();
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			const char *got = route(c, reqs[i].req, steps[j]);

			if (strcmp(got, reqs[i].pool) != 0)
				fprintf(stderr, "request %zu in pieces of %zu: "
				    "%s\n", i, steps[j], reqs[i].req);
			CHECK_STREQ(got, reqs[i].pool);
		}
	s = long_header(20000);
	CHECK_STREQ(route(c, s, 1000), "blue");
	free(s);
	/* A path_regex is tried on paths of at most 8 KB (its time grows
	 * with the square of the length), and a head past http-parser's own
	 * 80 KB still parses. */
	test_regex_path(c, 8192, "dyn");
	test_regex_path(c, 8193, "dflt");
	test_regex_path(c, 100000, "dflt");
	s = many_headers(ROUTE_MAX_HEADERS - 2, "X-Tenant: blue\r\n");
	CHECK_STREQ(route(c, s, 100), "blue");
	free(s);
	s = many_headers(ROUTE_MAX_HEADERS, "X-Tenant: blue\r\n");
	CHECK_STREQ(route(c, s, 100), "431");
	free(s);
	test_hellos(c);
	/* www.example.com offering h2 and http/1.1; no name at all. */
	test_capture(c, "curl-tls13-alpn.bin", "static");
	test_capture(c, "curl-ip-nosni.bin", "dflt");
	cfg_free(c);
	return t_done("test_route");
}

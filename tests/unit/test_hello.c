/*
 * The ClientHello reader.  Real ClientHellos (curl and openssl s_client,
 * TLS 1.2 and 1.3, with and without SNI and ALPN, one sent over two
 * records; tests/fuzz/corpus/hello/) are read whole, byte by byte and cut
 * into records of every size; then what no client may send: every length
 * field off by one each way, every truncation, extensions that overlap or
 * repeat, a second server name, what is not TLS at all, and ClientHellos
 * over the bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/hello.h"
#include "t.h"

#define MAXLEN	(3 * 65536)

static const struct capture {
	const char	*file;
	const char	*sni;		/* "": none */
	const char	*alpn;		/* the offered names, comma-separated */
	int		 records;
} captures[] = {
	{ "curl-tls13-alpn.bin", "www.example.com", "h2,http/1.1", 1 },
	{ "curl-tls12-http11.bin", "shop.example.org", "http/1.1", 1 },
	{ "curl-ip-nosni.bin", "", "h2,http/1.1", 1 },
	{ "openssl-tls13.bin", "mixed.example.com", "", 1 },
	{ "openssl-tls12-alpn.bin", "a.b.example.net", "h2,http/1.1", 1 },
	{ "openssl-nosni.bin", "", "", 1 },
	{ "openssl-records.bin", "records.example.com", "h2,http/1.1,spdy/3.1,"
	    "h2c,http/1.0,webrtc,c-webrtc,ftp,imap,pop3,managesieve,coap,"
	    "xmpp-client,xmpp-server,acme-tls/1,mqtt,dot,ntske/1,sunrpc,h3,"
	    "smb,irc,nntp,nnsp,doq,sip/2,tds/8.0,dicom,postgresql,radius/1.0,"
	    "radius/1.1,co,h3-29,h3-32,h3-34", 2 },
};

static uint8_t	 buf[MAXLEN], msg[MAXLEN], out[MAXLEN];

static size_t
load(const char *name, uint8_t *dst)
{
	char		 path[1024];
	const char	*src = getenv("TESTS_SRCDIR");
	FILE		*fp;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/hello/%s",
	    src ? src : "../tests", name);
	if ((fp = fopen(path, "rb")) == NULL)
		fprintf(stderr, "%s: cannot open\n", path);
	CHECK(fp != NULL);
	n = fread(dst, 1, MAXLEN, fp);
	fclose(fp);
	CHECK(n > 0 && n < MAXLEN);
	return n;
}

/* Feeds s in pieces of step bytes until the result is final; *at gets
 * the bytes fed by then. */
static enum hello_result
feed(struct hello_reader *hr, const uint8_t *s, size_t len, size_t step,
    size_t *at)
{
	enum hello_result	 r = HELLO_MORE;
	size_t			 off = 0, n;

	while (off < len && r == HELLO_MORE) {
		n = len - off < step ? len - off : step;
		r = hello_feed(hr, s + off, n);
		off += n;
	}
	if (at != NULL)
		*at = off;
	return r;
}

/* The result of reading s whole with bound max. */
static enum hello_result
verdict(const uint8_t *s, size_t len, size_t max)
{
	struct hello_reader	*hr = hello_new(max);
	enum hello_result	 r;

	CHECK(hr != NULL);
	r = feed(hr, s, len, len ? len : 1, NULL);
	hello_free(hr);
	return r;
}

/* The ALPN list as "a,b,c". */
static const char *
alpn_str(const struct hello *h)
{
	static char	 s[4096];
	size_t		 i = 0, o = 0, n;

	s[0] = '\0';
	while (i < h->h_alpnlen) {
		n = h->h_alpn[i++];
		CHECK(i + n <= h->h_alpnlen && o + n + 2 < sizeof(s));
		if (o > 0)
			s[o++] = ',';
		memcpy(s + o, h->h_alpn + i, n);
		o += n;
		i += n;
	}
	s[o] = '\0';
	return s;
}

/* Reads a capture's stream in pieces of step and checks what it says and
 * where it ends. */
static void
check_read(const struct capture *c, const uint8_t *s, size_t len,
    size_t hlen, size_t step)
{
	struct hello_reader	*hr = hello_new(65536);
	const struct hello	*h;
	size_t			 at;

	CHECK(hr != NULL);
	CHECK_INTEQ(feed(hr, s, len, step, &at), HELLO_DONE);
	/* The last piece ended the ClientHello, and no byte after it was
	 * needed. */
	CHECK(at >= hlen && at - hlen < step);
	CHECK_INTEQ(hello_len(hr), hlen);
	CHECK((h = hello_get(hr)) != NULL);
	CHECK_STREQ(h->h_sni, c->sni);
	CHECK_INTEQ(h->h_snilen, strlen(c->sni));
	CHECK_STREQ(alpn_str(h), c->alpn);
	CHECK_INTEQ(hello_alpn_has(h, "h2", 2), strncmp(c->alpn, "h2,", 3) == 0);
	CHECK_INTEQ(hello_alpn_has(h, "h", 1), 0);
	/* Done is done: more bytes change nothing. */
	CHECK_INTEQ(hello_feed(hr, "x", 1), HELLO_DONE);
	hello_free(hr);
}

/* The handshake message a stream's records carry. */
static size_t
unframe(const uint8_t *s, size_t len, uint8_t *m, int *records)
{
	size_t	 off = 0, n = 0, rl;

	*records = 0;
	while (off + 5 <= len) {
		rl = (size_t)s[off + 3] << 8 | s[off + 4];
		CHECK(off + 5 + rl <= len);
		memcpy(m + n, s + off + 5, rl);
		n += rl;
		off += 5 + rl;
		(*records)++;
	}
	CHECK_INTEQ(off, len);
	return n;
}

/* The message m cut into handshake records of at most k bytes. */
static size_t
frame(const uint8_t *m, size_t len, size_t k, uint8_t *s)
{
	size_t	 off, n, o = 0;

	for (off = 0; off < len; off += n) {
		n = len - off < k ? len - off : k;
		s[o++] = 22;
		s[o++] = 3;
		s[o++] = 3;
		s[o++] = (uint8_t)(n >> 8);
		s[o++] = (uint8_t)n;
		memcpy(s + o, m + off, n);
		o += n;
	}
	return o;
}

/* Every way of reading the captures: whole, byte by byte, in odd pieces,
 * re-cut into records, with what follows the ClientHello behind it. */
static void
test_captures(void)
{
	static const size_t	 steps[] = { 1, 2, 3, 5, 7, 64, 1460, MAXLEN };
	static const size_t	 cuts[] = { 1, 2, 3, 4, 5, 13, 100, 512, 16384 };
	size_t			 i, j, len, mlen, slen;
	int			 records;

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		const struct capture *c = &captures[i];

		len = load(c->file, buf);
		mlen = unframe(buf, len, msg, &records);
		CHECK_INTEQ(records, c->records);
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
			check_read(c, buf, len, len, steps[j]);
		for (j = 0; j < sizeof(cuts) / sizeof(cuts[0]); j++) {
			slen = frame(msg, mlen, cuts[j], out);
			check_read(c, out, slen, slen, 1);
			check_read(c, out, slen, slen, 1460);
		}
		/* TLS 1.3's change_cipher_spec and early data may follow. */
		memcpy(out, buf, len);
		memcpy(out + len, "\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x02xy",
		    13);
		check_read(c, out, len + 13, len, 1);
		check_read(c, out, len + 13, len, MAXLEN);
		/* Every prefix is an incomplete ClientHello, never a bad one. */
		for (j = 0; j < len; j++)
			CHECK_INTEQ(verdict(buf, j, 65536), HELLO_MORE);
		/* The bound counts record headers: exactly, and one short. */
		CHECK_INTEQ(verdict(buf, len, len), HELLO_DONE);
		CHECK_INTEQ(verdict(buf, len, len - 1), HELLO_BIG);
		slen = frame(msg, mlen, 1, out);
		CHECK_INTEQ(verdict(out, slen, slen), HELLO_DONE);
		CHECK_INTEQ(verdict(out, slen, slen - 1), HELLO_BIG);
	}
}

/* Where a length field is in a one-record stream, and whether it is the
 * record's or the handshake header's (outer) or the ClientHello's own. */
struct field {
	size_t	 f_off;
	size_t	 f_size;
	int	 f_outer;
};

static size_t
get(const uint8_t *s, size_t off, size_t size)
{
	size_t	 v = 0, i;

	for (i = 0; i < size; i++)
		v = v << 8 | s[off + i];
	return v;
}

static size_t
add_field(struct field *f, size_t n, size_t off, size_t size, int outer)
{
	f[n].f_off = off;
	f[n].f_size = size;
	f[n].f_outer = outer;
	return n + 1;
}

/*
 * The length fields of a one-record ClientHello stream: the record's, the
 * handshake's, the session id's, cipher suites', compression methods',
 * the extension block's, every extension's, and inside server_name and
 * ALPN every list's and name's.  *comp_end: where the compression methods
 * end, in the stream.
 */
static size_t
fields(const uint8_t *s, size_t len, struct field *f, size_t *comp_end)
{
	size_t	 n = 0, p = 5 + 4 + 2 + 32, end, elen, type, q;

	n = add_field(f, n, 3, 2, 1);
	n = add_field(f, n, 6, 3, 1);
	n = add_field(f, n, p, 1, 0);
	p += 1 + s[p];
	n = add_field(f, n, p, 2, 0);
	p += 2 + get(s, p, 2);
	n = add_field(f, n, p, 1, 0);
	p += 1 + s[p];
	*comp_end = p;
	if (p == len)
		return n;
	n = add_field(f, n, p, 2, 0);
	end = p + 2 + get(s, p, 2);
	CHECK_INTEQ(end, len);
	for (p += 2; p < end; p += 4 + elen) {
		type = get(s, p, 2);
		elen = get(s, p + 2, 2);
		n = add_field(f, n, p + 2, 2, 0);
		if (type == 0) {
			n = add_field(f, n, p + 4, 2, 0);
			n = add_field(f, n, p + 7, 2, 0);
		} else if (type == 16) {
			n = add_field(f, n, p + 4, 2, 0);
			for (q = p + 6; q < p + 4 + elen; q += 1 + s[q])
				n = add_field(f, n, q, 1, 0);
		}
	}
	return n;
}

static void
put(uint8_t *s, size_t off, size_t size, size_t v)
{
	while (size-- > 0) {
		s[off + size] = (uint8_t)v;
		v >>= 8;
	}
}

/* Each length field one more and one less than it should be: refused.
 * An outer one may leave the reader waiting for bytes that never come
 * (the front-end resets at the client's FIN or its timeout). */
static void
test_lengths_off_by_one(void)
{
	struct field	 f[256];
	size_t		 i, j, len, n, comp_end, v;
	int		 d;
	enum hello_result r;

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		if (captures[i].records != 1)
			continue;
		len = load(captures[i].file, buf);
		n = fields(buf, len, f, &comp_end);
		CHECK(n < sizeof(f) / sizeof(f[0]));
		for (j = 0; j < n; j++)
			for (d = -1; d <= 1; d += 2) {
				memcpy(out, buf, len);
				v = get(buf, f[j].f_off, f[j].f_size);
				put(out, f[j].f_off, f[j].f_size, v + (size_t)d);
				r = verdict(out, len, 65536);
				if (r == HELLO_DONE || (!f[j].f_outer &&
				    r != HELLO_BAD))
					fprintf(stderr, "%s: field at %zu "
					    "%+d: %d\n", captures[i].file,
					    f[j].f_off, d, r);
				CHECK(r != HELLO_DONE);
				CHECK(f[j].f_outer || r == HELLO_BAD);
			}
	}
}

/* A message cut short, its outer lengths saying so: refused, but where
 * the compression methods end (TLS 1.2 allows no extensions). */
static void
test_truncated_bodies(void)
{
	struct field	 f[256];
	size_t		 i, cut, len, comp_end, blen;

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		if (captures[i].records != 1)
			continue;
		len = load(captures[i].file, buf);
		fields(buf, len, f, &comp_end);
		for (cut = 9; cut < len; cut++) {
			memcpy(out, buf, cut);
			blen = cut - 9;
			put(out, 3, 2, blen + 4);
			put(out, 6, 3, blen);
			CHECK_INTEQ(verdict(out, cut, 65536), cut == comp_end ?
			    HELLO_DONE : HELLO_BAD);
		}
	}
}

/* A ClientHello under construction: its extensions. */
struct ext {
	uint8_t	 e_data[MAXLEN];
	size_t	 e_len;
};

static void
ext_add(struct ext *e, unsigned type, const void *data, size_t len)
{
	put(e->e_data, e->e_len, 2, type);
	put(e->e_data, e->e_len + 2, 2, len);
	memcpy(e->e_data + e->e_len + 4, data, len);
	e->e_len += 4 + len;
}

/* server_name with one host_name. */
static void
ext_sni(struct ext *e, const char *name)
{
	uint8_t	 d[1024];
	size_t	 n = strlen(name);

	put(d, 0, 2, n + 3);
	d[2] = 0;
	put(d, 3, 2, n);
	memcpy(d + 5, name, n);
	ext_add(e, 0, d, n + 5);
}

/* ALPN from "a,b". */
static void
ext_alpn(struct ext *e, const char *names)
{
	uint8_t		 d[1024];
	size_t		 o = 2, n;
	const char	*p = names;

	for (;;) {
		n = strcspn(p, ",");
		d[o++] = (uint8_t)n;
		memcpy(d + o, p, n);
		o += n;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	put(d, 0, 2, o - 2);
	ext_add(e, 16, d, o);
}

/*
 * A ClientHello stream with version ver, session id of sid bytes, cipher
 * suites of cs bytes, compression methods comp[0..ncomp), the extensions
 * e (NULL: no extension block), in records of up to 2^14 bytes.
 */
static size_t
build_full(uint8_t *s, unsigned ver, size_t sid, size_t cs,
    const char *comp, size_t ncomp, const struct ext *e)
{
	size_t	 o = 4;

	msg[0] = 1;
	put(msg, o, 2, ver);
	o += 2;
	memset(msg + o, 0x11, 32);
	o += 32;
	msg[o++] = (uint8_t)sid;
	memset(msg + o, 0x22, sid);
	o += sid;
	put(msg, o, 2, cs);
	o += 2;
	memset(msg + o, 0x13, cs);
	o += cs;
	msg[o++] = (uint8_t)ncomp;
	memcpy(msg + o, comp, ncomp);
	o += ncomp;
	if (e != NULL) {
		put(msg, o, 2, e->e_len);
		memcpy(msg + o + 2, e->e_data, e->e_len);
		o += 2 + e->e_len;
	}
	put(msg, 1, 3, o - 4);
	return frame(msg, o, 16384, s);
}

static size_t
build(uint8_t *s, const struct ext *e)
{
	return build_full(s, 0x0303, 32, 4, "\0", 1, e);
}

/* Reads a built stream: its result, and its server name if done. */
static enum hello_result
read_sni(const uint8_t *s, size_t len, const char **sni)
{
	static char		 name[HELLO_NAME_MAX + 1];
	struct hello_reader	*hr = hello_new(MAXLEN);
	enum hello_result	 r;

	CHECK(hr != NULL);
	r = feed(hr, s, len, 1, NULL);
	name[0] = '\0';
	if (r == HELLO_DONE)
		snprintf(name, sizeof(name), "%s", hello_get(hr)->h_sni);
	*sni = name;
	hello_free(hr);
	return r;
}

static const struct {
	const char	*name;
	const char	*sni;		/* NULL: refused */
} names[] = {
	{ "Example.COM", "example.com" },
	{ "example.com.", "example.com" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	{ "_acme.a-b.example", "_acme.a-b.example" },
	{ "10.9.0.1", "10.9.0.1" },
	{ "", NULL },
	{ ".", NULL },
	{ "exa mple.com", NULL },
	{ "example.com/x", NULL },
	{ "example.com:443", NULL },
	{ "b\xc3\xbc" "cher.example", NULL },
	{ "a\tb", NULL },
};

/* What a server name may be, and its bounds. */
static void
test_names(void)
{
	struct ext	*e = malloc(sizeof(*e));
	char		 longname[300];
	const char	*sni;
	size_t		 i, len;

	CHECK(e != NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		e->e_len = 0;
		ext_sni(e, names[i].name);
		len = build(buf, e);
		if (names[i].sni == NULL) {
			CHECK_INTEQ(read_sni(buf, len, &sni), HELLO_BAD);
			continue;
		}
		CHECK_INTEQ(read_sni(buf, len, &sni), HELLO_DONE);
		CHECK_STREQ(sni, names[i].sni);
	}
	memset(longname, 'a', sizeof(longname));
	longname[HELLO_NAME_MAX] = '\0';
	e->e_len = 0;
	ext_sni(e, longname);
	len = build(buf, e);
	CHECK_INTEQ(read_sni(buf, len, &sni), HELLO_DONE);
	CHECK_INTEQ(strlen(sni), HELLO_NAME_MAX);
	longname[HELLO_NAME_MAX] = 'a';
	longname[HELLO_NAME_MAX + 1] = '\0';
	e->e_len = 0;
	ext_sni(e, longname);
	len = build(buf, e);
	CHECK_INTEQ(read_sni(buf, len, &sni), HELLO_BAD);
	free(e);
}

/* Extensions: duplicates, second names, overlaps, ALPN's own rules,
 * pre_shared_key's place, ECH. */
static void
test_extensions(void)
{
	struct ext		*e = malloc(sizeof(*e));
	struct hello_reader	*hr;
	const struct hello	*h;
	const char		*sni;
	size_t			 len;

	CHECK(e != NULL);
	/* Two server_name extensions. */
	e->e_len = 0;
	ext_sni(e, "a.example");
	ext_sni(e, "b.example");
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* Two names in one, of the same type or another. */
	e->e_len = 0;
	ext_add(e, 0, "\x00\x16" "\x00\x00\x09" "a.example"
	    "\x00\x00\x09" "b.example", 24);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	e->e_len = 0;
	ext_add(e, 0, "\x00\x16" "\x00\x00\x09" "a.example"
	    "\x01\x00\x09" "b.example", 24);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* A name of a type that is not host_name. */
	e->e_len = 0;
	ext_add(e, 0, "\x00\x0c" "\x01\x00\x09" "a.example", 14);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* An empty server_name, and one with a byte after its list. */
	e->e_len = 0;
	ext_add(e, 0, "", 0);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	e->e_len = 0;
	ext_add(e, 0, "\x00\x0c" "\x00\x00\x09" "a.example" "x", 15);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* Any other extension twice. */
	e->e_len = 0;
	ext_add(e, 10, "\x00\x02\x00\x1d", 4);
	ext_sni(e, "a.example");
	ext_add(e, 10, "\x00\x02\x00\x17", 4);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* An extension that runs into the next one, and past the block.
	 * (Two bytes into server_name would be valid: use_srtp follows.) */
	e->e_len = 0;
	ext_add(e, 10, "\x00\x02\x00\x1d", 4);
	ext_sni(e, "a.example");
	put(e->e_data, 2, 2, 5);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	put(e->e_data, 2, 2, 4 + 4 + 14 + 1);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* A half extension header at the end of the block. */
	e->e_len = 0;
	ext_sni(e, "a.example");
	e->e_data[e->e_len++] = 0;
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* An empty extension block is no extension. */
	e->e_len = 0;
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_DONE);
	CHECK_STREQ(sni, "");
	/* ALPN: an empty list, an empty name, twice. */
	e->e_len = 0;
	ext_add(e, 16, "\x00\x00", 2);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	e->e_len = 0;
	ext_add(e, 16, "\x00\x04\x02h2\x00", 6);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	e->e_len = 0;
	ext_alpn(e, "h2");
	ext_alpn(e, "http/1.1");
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* pre_shared_key must be the last. */
	e->e_len = 0;
	ext_sni(e, "a.example");
	ext_add(e, 41, "\x00\x00", 2);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_DONE);
	ext_add(e, 43, "\x02\x03\x04", 3);
	CHECK_INTEQ(read_sni(buf, build(buf, e), &sni), HELLO_BAD);
	/* ECH (or a client's GREASE of it): the name in the clear is the one
	 * routed by, as the servers read it too. */
	e->e_len = 0;
	ext_sni(e, "public.example");
	ext_alpn(e, "h2,http/1.1");
	ext_add(e, 0xfe0d, "\x00\x00\x01\x00\x01\x42", 6);
	len = build(buf, e);
	CHECK((hr = hello_new(65536)) != NULL);
	CHECK_INTEQ(feed(hr, buf, len, 3, NULL), HELLO_DONE);
	CHECK((h = hello_get(hr)) != NULL);
	CHECK_STREQ(h->h_sni, "public.example");
	CHECK(hello_alpn_has(h, "http/1.1", 8));
	CHECK(!hello_alpn_has(h, "http/1.", 7));
	CHECK(!hello_alpn_has(h, "h2c", 3));
	hello_free(hr);
	free(e);
}

/* The ClientHello's own fields out of range. */
static void
test_fields(void)
{
	struct ext	*e = malloc(sizeof(*e));
	const char	*sni;

	CHECK(e != NULL);
	e->e_len = 0;
	ext_sni(e, "a.example");
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0301, 0, 2, "\0", 1, e),
	    &sni), HELLO_DONE);
	CHECK_STREQ(sni, "a.example");
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0300, 32, 4, "\0", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0304, 32, 4, "\0", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 33, 4, "\0", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 0, "\0", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 3, "\0", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 4, "\1", 1, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 4, "", 0, e),
	    &sni), HELLO_BAD);
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 4, "\1\0", 2,
	    e), &sni), HELLO_DONE);
	/* No extension block at all: TLS 1.2 allows it. */
	CHECK_INTEQ(read_sni(buf, build_full(buf, 0x0303, 32, 4, "\0", 1,
	    NULL), &sni), HELLO_DONE);
	CHECK_STREQ(sni, "");
	free(e);
}

/* The bytes at which a reader of s gives its verdict, and that verdict. */
static void
check_stops(const char *s, size_t len, size_t at, enum hello_result want)
{
	struct hello_reader	*hr = hello_new(8192);
	size_t			 n;

	CHECK(hr != NULL);
	CHECK_INTEQ(feed(hr, (const uint8_t *)s, len, 1, &n), want);
	if (n != at)
		fprintf(stderr, "verdict after %zu bytes, not %zu\n", n, at);
	CHECK_INTEQ(n, at);
	CHECK(hello_get(hr) == NULL);
	CHECK_INTEQ(hello_len(hr), 0);
	hello_free(hr);
}

/* What is not a ClientHello is refused at the first byte that shows it;
 * what cannot fit the bound, as soon as its length says so. */
static void
test_not_tls(void)
{
	struct ext	*e = malloc(sizeof(*e));
	size_t		 len;

	CHECK(e != NULL);
	check_stops("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 1, HELLO_BAD);
	check_stops("\x80\x2e\x01\x03\x01", 5, 1, HELLO_BAD);	/* SSL 2 */
	check_stops("\x17\x03\x03\x00\x10", 5, 1, HELLO_BAD);	/* data */
	check_stops("\x15\x03\x03\x00\x02\x02\x28", 7, 1, HELLO_BAD);
	check_stops("\x16\x02\x00\x00\x10", 5, 2, HELLO_BAD);
	check_stops("\x16\x03\x04\x00\x10", 5, 3, HELLO_BAD);
	check_stops("\x16\x03\x01\x00\x00", 5, 5, HELLO_BAD);
	check_stops("\x16\x03\x01\x40\x01", 5, 5, HELLO_BAD);
	check_stops("\x16\x03\x01\x00\x10\x02\x00\x00\x0c", 9, 6, HELLO_BAD);
	check_stops("\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9, 9, HELLO_BAD);
	/* The record runs past the ClientHello: nothing may follow it in
	 * its record. */
	check_stops("\x16\x03\x01\x00\x10\x01\x00\x00\x0b", 9, 9, HELLO_BAD);
	/* 16 MB announced, 8k allowed. */
	check_stops("\x16\x03\x01\x00\x10\x01\xff\xff\xff", 9, 9, HELLO_BIG);
	check_stops("\x16\x03\x01\x40\x00\x01\x00\x1f\xfc", 9, 9, HELLO_BIG);
	/* A record of another type between two of the ClientHello's. */
	e->e_len = 0;
	ext_sni(e, "a.example");
	len = build(buf, e);
	unframe(buf, len, msg, &(int){ 0 });
	len = frame(msg, len - 5, 20, out);
	memmove(out + 25 + 7, out + 25, len - 25);
	memcpy(out + 25, "\x15\x03\x03\x00\x02\x01\x00", 7);
	CHECK_INTEQ(verdict(out, len + 7, 65536), HELLO_BAD);
	free(e);
}

int
main(void)
{
	t_start(60);
	test_captures();
	test_lengths_off_by_one();
	test_truncated_bodies();
	test_names();
	test_extensions();
	test_fields();
	test_not_tls();
	return t_done("test_hello");
}

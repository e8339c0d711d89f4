/*
 * Reading a TLS ClientHello (RFC 8446 4.1.2; RFC 5246 7.4.1.2 has the same
 * layout): the records that carry it, its handshake header, and its own
 * vectors, each length checked against what holds it, then the extensions
 * routing looks at.  Strict on purpose: the bytes go to a server as they
 * are, and routing must read them as that server will, so a length that
 * does not add up, a duplicate extension or a second server name is
 * refused rather than guessed at.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/hello.h"

#define HELLO_REC_HDR		5	/* content type, version, length */
#define HELLO_MSG_HDR		4	/* handshake type, 24-bit length */
#define HELLO_REC_MAX		16384	/* a record's payload (RFC 8446 5.1) */
#define HELLO_CT_HANDSHAKE	22
#define HELLO_HT_CLIENT_HELLO	1
#define HELLO_EXT_SNI		0
#define HELLO_EXT_ALPN		16
#define HELLO_EXT_PSK		41	/* pre_shared_key, last (4.2.11) */

/* Bytes still to read, never more than what holds them. */
struct hello_cur {
	const uint8_t	*c_p;
	size_t		 c_len;
};

struct hello_reader {
	uint8_t		 hr_rec[HELLO_REC_HDR];	/* a record header, as read */
	size_t		 hr_reclen;	/* its bytes so far */
	size_t		 hr_left;	/* payload of this record yet to come */
	uint8_t		 hr_hdr[HELLO_MSG_HDR];	/* the message's header */
	uint8_t		*hr_msg;	/* the message, once its length is known */
	size_t		 hr_have;	/* message bytes so far */
	size_t		 hr_need;	/* its length, header included; 0: unknown */
	size_t		 hr_fed;	/* stream bytes taken */
	size_t		 hr_max;	/* the most stream bytes it may take */
	enum hello_result hr_res;
	struct hello	 hr_hello;
};

/* Takes n bytes, into out if not NULL; -1 if fewer are left. */
static int
hello_take(struct hello_cur *c, size_t n, struct hello_cur *out)
{
	if (c->c_len < n)
		return -1;
	if (out != NULL) {
		out->c_p = c->c_p;
		out->c_len = n;
	}
	c->c_p += n;
	c->c_len -= n;
	return 0;
}

/* A big-endian integer of n (1 or 2) bytes. */
static int
hello_int(struct hello_cur *c, size_t n, size_t *v)
{
	struct hello_cur	 b;
	size_t			 i;

	if (hello_take(c, n, &b) == -1)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v = *v << 8 | b.c_p[i];
	return 0;
}

/* A vector: its length in n bytes, then that many bytes, into out. */
static int
hello_vec(struct hello_cur *c, size_t n, struct hello_cur *out)
{
	size_t	 len;

	if (hello_int(c, n, &len) == -1)
		return -1;
	return hello_take(c, len, out);
}

/* A server name's characters: RFC 6066 3 asks for an ASCII DNS name, and
 * internationalised ones travel in their A-label form. */
static int
hello_namechar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * server_name: exactly one name, of type host_name.  RFC 6066 3 allows one
 * per type and defines no other type, and OpenSSL refuses anything else.
 * Kept in lower case without a final dot, as the Host header is.
 */
static int
hello_sni(struct hello_cur *c, struct hello *h)
{
	struct hello_cur	 list, name;
	size_t			 type, i;

	if (hello_vec(c, 2, &list) == -1 || c->c_len != 0 ||
	    hello_int(&list, 1, &type) == -1 || type != 0 ||
	    hello_vec(&list, 2, &name) == -1 || list.c_len != 0)
		return -1;
	if (name.c_len > 0 && name.c_p[name.c_len - 1] == '.')
		name.c_len--;
	if (name.c_len == 0 || name.c_len > HELLO_NAME_MAX)
		return -1;
	for (i = 0; i < name.c_len; i++) {
		if (!hello_namechar(name.c_p[i]))
			return -1;
		h->h_sni[i] = (char)tolower(name.c_p[i]);
	}
	h->h_sni[name.c_len] = '\0';
	h->h_snilen = name.c_len;
	return 0;
}

/* application_layer_protocol_negotiation: one or more names of 1 to 255
 * bytes (RFC 7301 3.1). */
static int
hello_alpn(struct hello_cur *c, struct hello *h)
{
	struct hello_cur	 list, name;

	if (hello_vec(c, 2, &list) == -1 || c->c_len != 0 || list.c_len == 0)
		return -1;
	h->h_alpn = list.c_p;
	h->h_alpnlen = list.c_len;
	while (list.c_len > 0)
		if (hello_vec(&list, 1, &name) == -1 || name.c_len == 0)
			return -1;
	return 0;
}

/*
 * The extensions, which must fill their block exactly: each type at most
 * once (RFC 8446 4.2), pre_shared_key last, the ones routing reads well
 * formed.  The others are the server's business.
 */
static int
hello_extensions(struct hello_cur *c, struct hello *h)
{
	uint8_t			 seen[65536 / 8];
	struct hello_cur	 data;
	size_t			 type;
	int			 rc = 0;

	memset(seen, 0, sizeof(seen));
	while (c->c_len > 0 && rc == 0) {
		if (hello_int(c, 2, &type) == -1 ||
		    hello_vec(c, 2, &data) == -1 ||
		    (seen[type / 8] & (1 << (type % 8))) != 0 ||
		    (type == HELLO_EXT_PSK && c->c_len != 0))
			return -1;
		seen[type / 8] |= (uint8_t)(1 << (type % 8));
		if (type == HELLO_EXT_SNI)
			rc = hello_sni(&data, h);
		else if (type == HELLO_EXT_ALPN)
			rc = hello_alpn(&data, h);
	}
	return rc;
}

/*
 * Parses the body of a ClientHello, msg[0..len) after its handshake
 * header, into h.  Returns -1 if it is malformed: a vector that overruns
 * what holds it, bytes left over, a field out of its range.  The layout is
 * TLS 1.2's, which TLS 1.0 and 1.1 share and TLS 1.3 keeps (legacy_version
 * 3.3); h->h_alpn points into msg.
 */
int
hello_parse(const uint8_t *msg, size_t len, struct hello *h)
{
	struct hello_cur	 c = { msg, len }, v;
	size_t			 version;

	memset(h, 0, sizeof(*h));
	if (hello_int(&c, 2, &version) == -1 || version < 0x0301 ||
	    version > 0x0303 ||
	    hello_take(&c, 32, NULL) == -1 ||		/* random */
	    hello_vec(&c, 1, &v) == -1 || v.c_len > 32 ||	/* session id */
	    hello_vec(&c, 2, &v) == -1 || v.c_len < 2 || v.c_len % 2 != 0 ||
	    /* compression methods: null must be among them */
	    hello_vec(&c, 1, &v) == -1 || memchr(v.c_p, 0, v.c_len) == NULL)
		return -1;
	if (c.c_len == 0)
		return 0;	/* TLS 1.2 lets a ClientHello end here */
	if (hello_vec(&c, 2, &v) == -1 || c.c_len != 0)
		return -1;
	return hello_extensions(&v, h);
}

/* Whether the client offers protocol name[0..len) by ALPN. */
int
hello_alpn_has(const struct hello *h, const char *name, size_t len)
{
	struct hello_cur	 list = { h->h_alpn, h->h_alpnlen }, p;

	while (hello_vec(&list, 1, &p) == 0)
		if (p.c_len == len && memcmp(p.c_p, name, len) == 0)
			return 1;
	return 0;
}

/* A reader of a stream that may take up to max bytes for its ClientHello,
 * record headers included. */
struct hello_reader *
hello_new(size_t max)
{
	struct hello_reader	*hr;

	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		return NULL;
	hr->hr_max = max;
	return hr;
}

/* Frees a reader and the message it holds; NULL is fine. */
void
hello_free(struct hello_reader *hr)
{
	if (hr == NULL)
		return;
	free(hr->hr_msg);
	free(hr);
}

/*
 * Takes record header bytes, judging each as it arrives so that what is
 * not TLS is refused at its first byte: a handshake record, version 3.0 to
 * 3.3 (a ClientHello's record says 3.1 or 3.3 whatever it offers), 1 to
 * 2^14 bytes (RFC 8446 5.1), none of them past the end of the message.
 */
static size_t
hello_record(struct hello_reader *hr, const uint8_t *p, size_t len)
{
	size_t	 n = HELLO_REC_HDR - hr->hr_reclen, rl;

	if (n > len)
		n = len;
	memcpy(hr->hr_rec + hr->hr_reclen, p, n);
	hr->hr_reclen += n;
	if (hr->hr_rec[0] != HELLO_CT_HANDSHAKE ||
	    (hr->hr_reclen > 1 && hr->hr_rec[1] != 3) ||
	    (hr->hr_reclen > 2 && hr->hr_rec[2] > 3)) {
		hr->hr_res = HELLO_BAD;
		return n;
	}
	if (hr->hr_reclen < HELLO_REC_HDR)
		return n;
	rl = (size_t)hr->hr_rec[3] << 8 | hr->hr_rec[4];
	if (rl == 0 || rl > HELLO_REC_MAX ||
	    (hr->hr_need != 0 && rl > hr->hr_need - hr->hr_have))
		hr->hr_res = HELLO_BAD;
	hr->hr_left = rl;
	hr->hr_reclen = 0;
	return n;
}

/* The whole message is in: parse it. */
static void
hello_done(struct hello_reader *hr)
{
	hr->hr_res = hello_parse(hr->hr_msg + HELLO_MSG_HDR,
	    hr->hr_need - HELLO_MSG_HDR, &hr->hr_hello) == 0 ? HELLO_DONE :
	    HELLO_BAD;
}

/*
 * The message's header is in: its length, which must leave room in the
 * bound for at least the record header that carried it, and no record may
 * run past its end (nothing else may follow a ClientHello before the
 * server answers it).
 */
static void
hello_sized(struct hello_reader *hr)
{
	hr->hr_need = HELLO_MSG_HDR + ((size_t)hr->hr_hdr[1] << 16 |
	    (size_t)hr->hr_hdr[2] << 8 | hr->hr_hdr[3]);
	if (hr->hr_need + HELLO_REC_HDR > hr->hr_max) {
		hr->hr_res = HELLO_BIG;
		return;
	}
	if (hr->hr_left > hr->hr_need - hr->hr_have) {
		hr->hr_res = HELLO_BAD;
		return;
	}
	if ((hr->hr_msg = malloc(hr->hr_need)) == NULL) {
		hr->hr_res = HELLO_NOMEM;
		return;
	}
	memcpy(hr->hr_msg, hr->hr_hdr, HELLO_MSG_HDR);
	if (hr->hr_have == hr->hr_need)
		hello_done(hr);
}

/* Takes payload bytes of the current record: the message's header, which
 * must say ClientHello, then the message. */
static size_t
hello_payload(struct hello_reader *hr, const uint8_t *p, size_t len)
{
	size_t	 n = len < hr->hr_left ? len : hr->hr_left;

	if (hr->hr_have < HELLO_MSG_HDR) {
		if (n > HELLO_MSG_HDR - hr->hr_have)
			n = HELLO_MSG_HDR - hr->hr_have;
		memcpy(hr->hr_hdr + hr->hr_have, p, n);
		hr->hr_have += n;
		hr->hr_left -= n;
		if (hr->hr_hdr[0] != HELLO_HT_CLIENT_HELLO)
			hr->hr_res = HELLO_BAD;
		else if (hr->hr_have == HELLO_MSG_HDR)
			hello_sized(hr);
		return n;
	}
	if (n > hr->hr_need - hr->hr_have)
		n = hr->hr_need - hr->hr_have;
	memcpy(hr->hr_msg + hr->hr_have, p, n);
	hr->hr_have += n;
	hr->hr_left -= n;
	if (hr->hr_have == hr->hr_need)
		hello_done(hr);
	return n;
}

/*
 * Feeds the next len bytes of the stream.  Bytes after the ClientHello
 * are not looked at; the result, once it is not HELLO_MORE, stays.
 */
enum hello_result
hello_feed(struct hello_reader *hr, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	while (hr->hr_res == HELLO_MORE && len > 0) {
		n = hr->hr_left == 0 ? hello_record(hr, p, len) :
		    hello_payload(hr, p, len);
		p += n;
		len -= n;
		hr->hr_fed += n;
		if ((hr->hr_res == HELLO_MORE || hr->hr_res == HELLO_DONE) &&
		    hr->hr_fed > hr->hr_max)
			hr->hr_res = HELLO_BIG;
	}
	return hr->hr_res;
}

/* The stream bytes up to the end of the ClientHello, once it is whole. */
size_t
hello_len(const struct hello_reader *hr)
{
	return hr->hr_res == HELLO_DONE ? hr->hr_fed : 0;
}

/* What the ClientHello says, once it is whole; NULL before. */
const struct hello *
hello_get(const struct hello_reader *hr)
{
	return hr->hr_res == HELLO_DONE ? &hr->hr_hello : NULL;
}

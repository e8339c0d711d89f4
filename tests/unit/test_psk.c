/*
 * The control channel's TLS (psk.c), driven in memory: nodes holding the
 * key authenticate each other and learn who they talk to; everything an
 * attacker without the key can try is refused: another key, a handshake
 * meant for another node or reflected to its sender, an unknown identity,
 * TLS 1.2, TLS 1.3 without the key, a server with a certificate, a replay
 * of a recorded connection, early data.  And the key derivation has the
 * value handoffd(8) documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf.h"
#include "handoff/psk.h"
#include "t.h"

static char	 srcdir[1024];	/* tests/ */
static char	 name[1200];	/* tests/data/t.yaml */
static char	 otherkey[] = "/tmp/test_psk.key.XXXXXX";

/* A config for node id: its peers are n1, n2 and n3 but itself. */
static struct cfg *
node_cfg(const char *id, const char *keyfile)
{
	char		 yaml[2048], err[512];
	struct cfg	*c;
	size_t		 n;
	int		 i;

	n = (size_t)snprintf(yaml, sizeof(yaml), "node:\n  id: %s\n"
	    "  control: 127.0.1.9:7100\n  server: 10.2.9.1:80\n"
	    "lwip:\n  address: 10.2.9.2\npeers:\n", id);
	for (i = 1; i <= 3; i++) {
		char peer[8];

		snprintf(peer, sizeof(peer), "n%d", i);
		if (strcmp(peer, id) == 0)
			continue;
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
		    "  - id: %s\n    control: 127.0.1.%d:7100\n"
		    "    stack_address: 10.2.%d.2\n    server: 10.2.%d.1:80\n",
		    peer, i, i, i);
	}
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "services:\n"
	    "  - {name: web, listen: 10.9.0.1:80, pool: p}\n"
	    "pools:\n  - {name: p, members: [%s]}\n", id);
	/* git checks the key out with its usual mode, 0644. */
	snprintf(yaml + n, sizeof(yaml) - n, "control:\n  key_file: %s\n"
	    "  key_file_insecure_ok: true\n", keyfile);
	if ((c = cfg_parse(name, yaml, strlen(yaml), err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

/* Two SSLs joined by memory BIOs; what the client sent is recorded. */
struct pipe {
	SSL		*p_c, *p_s;
	uint8_t		 p_rec[65536];
	size_t		 p_reclen;
	int		 p_cdone, p_sdone, p_cfail, p_sfail;
	char		 p_cerr[256], p_serr[256];
};

static void
pipe_attach(SSL *ssl)
{
	BIO	*in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());

	CHECK(in != NULL && out != NULL);
	BIO_set_mem_eof_return(in, -1);		/* empty: try again */
	SSL_set_bio(ssl, in, out);
}

static void
pipe_init(struct pipe *p, SSL *c, SSL *s)
{
	memset(p, 0, sizeof(*p));
	p->p_c = c;
	p->p_s = s;
	pipe_attach(c);
	pipe_attach(s);
}

static void
pipe_move(struct pipe *p)
{
	char	 buf[16384];
	int	 n;

	while ((n = BIO_read(SSL_get_wbio(p->p_c), buf, sizeof(buf))) > 0) {
		if (p->p_reclen + (size_t)n <= sizeof(p->p_rec)) {
			memcpy(p->p_rec + p->p_reclen, buf, (size_t)n);
			p->p_reclen += (size_t)n;
		}
		CHECK(BIO_write(SSL_get_rbio(p->p_s), buf, n) == n);
	}
	while ((n = BIO_read(SSL_get_wbio(p->p_s), buf, sizeof(buf))) > 0)
		CHECK(BIO_write(SSL_get_rbio(p->p_c), buf, n) == n);
}

/* One step of one side's handshake. */
static void
pipe_step(SSL *ssl, int *done, int *fail, char *err)
{
	unsigned long	 e;
	int		 r;

	if (*done || *fail)
		return;
	ERR_clear_error();
	if ((r = SSL_do_handshake(ssl)) == 1) {
		*done = 1;
		return;
	}
	r = SSL_get_error(ssl, r);
	if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
		return;
	*fail = 1;
	e = ERR_peek_last_error();
	snprintf(err, 256, "%s", e ? ERR_reason_error_string(e) : "?");
}

/* Runs both handshakes as far as they go; 1 if both completed. */
static int
pipe_handshake(struct pipe *p)
{
	int	 i;

	for (i = 0; i < 20; i++) {
		pipe_step(p->p_c, &p->p_cdone, &p->p_cfail, p->p_cerr);
		pipe_move(p);
		pipe_step(p->p_s, &p->p_sdone, &p->p_sfail, p->p_serr);
		pipe_move(p);
	}
	return p->p_cdone && p->p_sdone && !p->p_cfail && !p->p_sfail;
}

/* Sends len bytes from one side; 1 if the other reads them back. */
static int
pipe_data(struct pipe *p, SSL *from, SSL *to, const char *msg)
{
	char	 buf[256];
	int	 n;

	CHECK(SSL_write(from, msg, (int)strlen(msg)) == (int)strlen(msg));
	pipe_move(p);
	n = SSL_read(to, buf, sizeof(buf) - 1);
	pipe_move(p);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, msg) == 0;
}

static void
pipe_free(struct pipe *p)
{
	SSL_free(p->p_c);
	SSL_free(p->p_s);
}

/* The derivation psk.h and handoffd(8) describe, against an independent
 * computation (Python's hmac, RFC 5869). */
static void
test_derive(void)
{
	static const char	 key[] = "k3Y-f0r-t3sts-0nly-9fQx7Lr2Wm4Zp";
	static const uint8_t	 n1n2[PSK_LEN] = {
		0xbe, 0x33, 0xae, 0xf3, 0xb5, 0x5a, 0x4f, 0xac,
		0xb9, 0x6e, 0x6c, 0xc4, 0x03, 0x79, 0x6c, 0x32,
		0x65, 0x99, 0x34, 0x24, 0xf3, 0xf4, 0xee, 0x5a,
		0x55, 0xcf, 0xbb, 0x4c, 0x88, 0xb0, 0x3e, 0x83,
	};
	static const uint8_t	 n2n1[PSK_LEN] = {
		0x15, 0x3b, 0x80, 0x2f, 0xf1, 0x6a, 0x60, 0x05,
		0xff, 0x0b, 0x6f, 0xac, 0x9e, 0x83, 0x20, 0x33,
		0xb9, 0xeb, 0x50, 0x8b, 0xb1, 0x33, 0x2c, 0x20,
		0x69, 0x36, 0x01, 0x5c, 0x10, 0xcc, 0x48, 0x06,
	};
	uint8_t			 out[PSK_LEN];
	char			 longid[CTL_ID_MAX + 2];

	CHECK_INTEQ(psk_derive((const uint8_t *)key, strlen(key), "n1", "n2",
	    out), 0);
	CHECK(memcmp(out, n1n2, PSK_LEN) == 0);
	/* Each direction its own key. */
	CHECK_INTEQ(psk_derive((const uint8_t *)key, strlen(key), "n2", "n1",
	    out), 0);
	CHECK(memcmp(out, n2n1, PSK_LEN) == 0);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK_INTEQ(psk_derive((const uint8_t *)key, strlen(key), longid, "n2",
	    out), -1);
	CHECK_INTEQ(psk_derive((const uint8_t *)key, strlen(key), "", "n2",
	    out), -1);
}

/* n1 (k1, c1) dials n2 (k2) over p; an older build's client offers no
 * ALPN (older 1), only handoffd/lookup (older 2), handoffd/ipv6 and
 * handoffd/lookup (older 3), or those and handoffd/icmp (older 4). */
static void
dial_n2(struct psk *k1, const struct cfg *c1, struct psk *k2,
    struct psk_link *l1, struct psk_link *l2, struct pipe *p, int older)
{
	SSL	*c, *s;

	l1->pl_peer = cfg_peer_by_id(c1, "n2");
	c = psk_ssl(k1, l1, 0);
	s = psk_ssl(k2, l2, 1);
	CHECK(c != NULL && s != NULL);
	if (older == 1)
		CHECK_INTEQ(SSL_set_alpn_protos(c, NULL, 0), 0);
	if (older == 2)
		CHECK_INTEQ(SSL_set_alpn_protos(c, (const unsigned char *)
		    PSK_ALPN_LOOKUP, sizeof(PSK_ALPN_LOOKUP) - 1), 0);
	if (older == 3)
		CHECK_INTEQ(SSL_set_alpn_protos(c, (const unsigned char *)
		    PSK_ALPN_IPV6 PSK_ALPN_LOOKUP,
		    sizeof(PSK_ALPN_IPV6 PSK_ALPN_LOOKUP) - 1), 0);
	if (older == 4)
		CHECK_INTEQ(SSL_set_alpn_protos(c, (const unsigned char *)
		    PSK_ALPN_ICMP PSK_ALPN_IPV6 PSK_ALPN_LOOKUP,
		    sizeof(PSK_ALPN_ICMP PSK_ALPN_IPV6 PSK_ALPN_LOOKUP) - 1), 0);
	pipe_init(p, c, s);
	CHECK(pipe_handshake(p));
}

/* n1 dials n2: both learn who they talk to, data flows, and the session
 * can never be resumed or carry early data. */
static void
test_good(struct psk *k1, struct psk *k2, const struct cfg *c1,
    const struct cfg *c2)
{
	struct psk_link	 l1, l2;
	struct pipe	 p;
	SSL		*c, *s;

	dial_n2(k1, c1, k2, &l1, &l2, &p, 0);
	c = p.p_c;
	s = p.p_s;
	CHECK_INTEQ(psk_check(c, &l1), 0);
	CHECK_INTEQ(psk_check(s, &l2), 0);
	CHECK_INTEQ(l1.pl_peer, cfg_peer_by_id(c1, "n2"));
	CHECK_INTEQ(l2.pl_peer, cfg_peer_by_id(c2, "n1"));
	CHECK_STREQ(l2.pl_identity, "n1");
	/* Both builds read every frame and status (ALPN). */
	CHECK_INTEQ(l1.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6 | PSK_CAP_ICMP |
	    PSK_CAP_BUSY);
	CHECK_INTEQ(l2.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6 | PSK_CAP_ICMP |
	    PSK_CAP_BUSY);
	CHECK_INTEQ(SSL_version(s), TLS1_3_VERSION);
	CHECK_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(s)),
	    "TLS_AES_128_GCM_SHA256");
	CHECK(SSL_session_reused(c) && SSL_session_reused(s));
	CHECK(SSL_get_peer_certificate(c) == NULL);
#ifdef SSL_get_negotiated_group
	CHECK(SSL_get_negotiated_group(s) != 0);	/* (EC)DHE */
#endif
	CHECK(pipe_data(&p, c, s, "HD hello from n1"));
	CHECK(pipe_data(&p, s, c, "HD hello from n2"));
	/* No ticket was issued, so nothing can be resumed or replayed. */
	CHECK_INTEQ(SSL_get_num_tickets(s), 0);
	CHECK(!SSL_SESSION_has_ticket(SSL_get_session(c)));
	CHECK(SSL_get_options(s) & SSL_OP_NO_TICKET);
	/* psk_ke (the key alone, no (EC)DHE) is never allowed. */
	CHECK(!(SSL_get_options(s) & SSL_OP_ALLOW_NO_DHE_KEX));
	CHECK(!(SSL_get_options(c) & SSL_OP_ALLOW_NO_DHE_KEX));
	CHECK_INTEQ(SSL_get_max_early_data(s), 0);
	CHECK(SSL_get_early_data_status(s) != SSL_EARLY_DATA_ACCEPTED);
	CHECK_INTEQ(SSL_get_min_proto_version(c), TLS1_3_VERSION);
	CHECK_INTEQ(SSL_get_max_proto_version(s), TLS1_3_VERSION);
	/* TLS 1.3 has no renegotiation. */
	CHECK_INTEQ(SSL_renegotiate(c), 0);
	pipe_free(&p);
}

/* A client of an older build offers no ALPN: the handshake succeeds, and
 * neither side may send it LOOKUP or CLOSE moved. */
static void
test_older_peer(struct psk *k1, struct psk *k2, const struct cfg *c1)
{
	struct psk_link	 l1, l2;
	struct pipe	 p;

	dial_n2(k1, c1, k2, &l1, &l2, &p, 1);
	CHECK_INTEQ(psk_check(p.p_c, &l1), 0);
	CHECK_INTEQ(psk_check(p.p_s, &l2), 0);
	CHECK_INTEQ(l1.pl_caps, 0);
	CHECK_INTEQ(l2.pl_caps, 0);
	CHECK(pipe_data(&p, p.p_c, p.p_s, "HD hello from an older n1"));
	pipe_free(&p);
	/* One that reads LOOKUP but no version-3 frame (before IPv6). */
	dial_n2(k1, c1, k2, &l1, &l2, &p, 2);
	CHECK_INTEQ(psk_check(p.p_c, &l1), 0);
	CHECK_INTEQ(psk_check(p.p_s, &l2), 0);
	CHECK_INTEQ(l1.pl_caps, PSK_CAP_LOOKUP);
	CHECK_INTEQ(l2.pl_caps, PSK_CAP_LOOKUP);
	pipe_free(&p);
	/* One that reads version-3 frames but no ICMP (before it). */
	dial_n2(k1, c1, k2, &l1, &l2, &p, 3);
	CHECK_INTEQ(psk_check(p.p_c, &l1), 0);
	CHECK_INTEQ(psk_check(p.p_s, &l2), 0);
	CHECK_INTEQ(l1.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6);
	CHECK_INTEQ(l2.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6);
	pipe_free(&p);
	/* One that reads ICMP but not the busy status (before it). */
	dial_n2(k1, c1, k2, &l1, &l2, &p, 4);
	CHECK_INTEQ(psk_check(p.p_c, &l1), 0);
	CHECK_INTEQ(psk_check(p.p_s, &l2), 0);
	CHECK_INTEQ(l1.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6 | PSK_CAP_ICMP);
	CHECK_INTEQ(l2.pl_caps, PSK_CAP_LOOKUP | PSK_CAP_IPV6 | PSK_CAP_ICMP);
	pipe_free(&p);
}

/* A client of ours dialling peer `to` of `from`, against server `srv`:
 * the server must refuse.  Returns the server's link for a closer look. */
static void
expect_refused(struct psk *from, const struct cfg *cfrom, const char *to,
    struct psk *srv, struct psk_link *ls, const char *why)
{
	struct psk_link	 lc;
	struct pipe	 p;

	lc.pl_peer = cfg_peer_by_id(cfrom, to);
	CHECK(lc.pl_peer >= 0);
	pipe_init(&p, psk_ssl(from, &lc, 0), psk_ssl(srv, ls, 1));
	CHECK(!pipe_handshake(&p));
	CHECK(p.p_sfail);
	CHECK(!p.p_sdone);
	if (strstr(p.p_serr, why) == NULL &&
	    (ls->pl_why == NULL || strstr(ls->pl_why, why) == NULL)) {
		fprintf(stderr, "server refused for \"%s\" / \"%s\", "
		    "expected \"%s\"\n", p.p_serr,
		    ls->pl_why ? ls->pl_why : "", why);
		CHECK(0);
	}
	pipe_free(&p);
}

/* A PSK TLS 1.2 client with the right key is still refused. */
static unsigned int
tls12_psk(SSL *ssl, const char *hint, char *id, unsigned int idmax,
    unsigned char *psk, unsigned int pskmax)
{
	static const char key[] = "k3Y-f0r-t3sts-0nly-9fQx7Lr2Wm4Zp";

	snprintf(id, idmax, "n1");
	if (pskmax < PSK_LEN || psk_derive((const uint8_t *)key,
	    strlen(key), "n1", "n2", psk) == -1)
		return 0;
	return PSK_LEN;
}

/* Early data under the right key: an attacker who replays a ClientHello
 * with 0-RTT data must never get it read. */
static int
early_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	static const char	 key[] = "k3Y-f0r-t3sts-0nly-9fQx7Lr2Wm4Zp";
	static const unsigned char aes128[2] = { 0x13, 0x01 };
	uint8_t			 k[PSK_LEN];
	SSL_SESSION		*s = SSL_SESSION_new();

	CHECK(psk_derive((const uint8_t *)key, strlen(key), "n1", "n2",
	    k) == 0);
	CHECK(s != NULL);
	CHECK(SSL_SESSION_set1_master_key(s, k, sizeof(k)));
	CHECK(SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, aes128)));
	CHECK(SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION));
	CHECK(SSL_SESSION_set_max_early_data(s, 16384));
	*id = (const unsigned char *)"n1";
	*idlen = 2;
	*sess = s;
	return 1;
}

static void
test_rogue_clients(struct psk *k2)
{
	struct psk_link	 ls;
	struct pipe	 p;
	SSL_CTX		*ctx;
	SSL		*c;
	size_t		 w;
	char		 buf[64];
	int		 n;

	/* TLS 1.2 with the right PSK. */
	CHECK((ctx = SSL_CTX_new(TLS_client_method())) != NULL);
	CHECK(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION));
	CHECK(SSL_CTX_set_cipher_list(ctx, "PSK-AES128-GCM-SHA256"));
	SSL_CTX_set_psk_client_callback(ctx, tls12_psk);
	CHECK((c = SSL_new(ctx)) != NULL);
	SSL_set_connect_state(c);
	pipe_init(&p, c, psk_ssl(k2, &ls, 1));
	CHECK(!pipe_handshake(&p));
	CHECK(p.p_sfail && !p.p_sdone);
	CHECK(strstr(p.p_serr, "protocol") != NULL);
	pipe_free(&p);
	SSL_CTX_free(ctx);

	/* TLS 1.3 without a key, asking for a certificate. */
	CHECK((ctx = SSL_CTX_new(TLS_client_method())) != NULL);
	CHECK((c = SSL_new(ctx)) != NULL);
	SSL_set_connect_state(c);
	pipe_init(&p, c, psk_ssl(k2, &ls, 1));
	CHECK(!pipe_handshake(&p));
	CHECK(p.p_sfail && !p.p_sdone);
	pipe_free(&p);
	SSL_CTX_free(ctx);

	/* The right key, with early data: the server never reads it. */
	CHECK((ctx = SSL_CTX_new(TLS_client_method())) != NULL);
	SSL_CTX_set_psk_use_session_callback(ctx, early_use_session);
	CHECK((c = SSL_new(ctx)) != NULL);
	SSL_set_connect_state(c);
	pipe_init(&p, c, psk_ssl(k2, &ls, 1));
	ERR_clear_error();
	CHECK(SSL_write_early_data(c, "EARLY", 5, &w) == 1 && w == 5);
	pipe_move(&p);
	(void)pipe_handshake(&p);
	CHECK(!p.p_sdone || SSL_get_early_data_status(p.p_s) !=
	    SSL_EARLY_DATA_ACCEPTED);
	if (p.p_sdone && p.p_cdone) {
		CHECK(pipe_data(&p, p.p_c, p.p_s, "late"));
		n = SSL_read(p.p_s, buf, sizeof(buf));
		CHECK(n <= 0);
	}
	pipe_free(&p);
	SSL_CTX_free(ctx);
}

/* A server that ignores the key and shows a self-signed certificate. */
static void
test_rogue_server(struct psk *k1, const struct cfg *c1)
{
	struct psk_link	 lc;
	struct pipe	 p;
	SSL_CTX		*ctx;
	EVP_PKEY	*pk;
	X509		*x;
	SSL		*s;

	CHECK((pk = EVP_EC_gen("P-256")) != NULL);
	CHECK((x = X509_new()) != NULL);
	CHECK(X509_set_version(x, 2));
	CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	CHECK(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
	CHECK(X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL);
	CHECK(X509_set_pubkey(x, pk));
	CHECK(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"n2", -1, -1, 0));
	CHECK(X509_set_issuer_name(x, X509_get_subject_name(x)));
	CHECK(X509_sign(x, pk, EVP_sha256()) > 0);
	CHECK((ctx = SSL_CTX_new(TLS_server_method())) != NULL);
	CHECK(SSL_CTX_use_certificate(ctx, x) == 1);
	CHECK(SSL_CTX_use_PrivateKey(ctx, pk) == 1);
	CHECK((s = SSL_new(ctx)) != NULL);
	SSL_set_accept_state(s);
	lc.pl_peer = cfg_peer_by_id(c1, "n2");
	pipe_init(&p, psk_ssl(k1, &lc, 0), s);
	CHECK(!pipe_handshake(&p));
	CHECK(p.p_cfail && !p.p_cdone);
	CHECK(strstr(p.p_cerr, "certificate verify failed") != NULL);
	pipe_free(&p);
	SSL_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* Everything n1 sent on a good connection, replayed to n2 later. */
static void
test_replay(struct psk *k1, struct psk *k2, const struct cfg *c1)
{
	struct psk_link	 l1, l2, l3, l4;
	struct pipe	 p, q;
	char		 buf[256];
	int		 n;

	l1.pl_peer = cfg_peer_by_id(c1, "n2");
	pipe_init(&p, psk_ssl(k1, &l1, 0), psk_ssl(k2, &l2, 1));
	CHECK(pipe_handshake(&p));
	CHECK(pipe_data(&p, p.p_c, p.p_s, "HD a HANDOFF"));
	CHECK(p.p_reclen > 0 && p.p_reclen < sizeof(p.p_rec));

	/* q's client only stands in; its server reads the recording. */
	l3.pl_peer = cfg_peer_by_id(c1, "n2");
	pipe_init(&q, psk_ssl(k1, &l3, 0), psk_ssl(k2, &l4, 1));
	CHECK(BIO_write(SSL_get_rbio(q.p_s), p.p_rec, (int)p.p_reclen) ==
	    (int)p.p_reclen);
	pipe_step(q.p_s, &q.p_sdone, &q.p_sfail, q.p_serr);
	pipe_step(q.p_s, &q.p_sdone, &q.p_sfail, q.p_serr);
	CHECK(q.p_sfail && !q.p_sdone);
	n = SSL_read(q.p_s, buf, sizeof(buf));
	CHECK(n <= 0);
	pipe_free(&p);
	pipe_free(&q);
}

int
main(void)
{
	const char	*env = getenv("TESTS_SRCDIR");
	struct cfg	*c1, *c2, *c3, *c2other, *c9;
	struct psk	*k1, *k2, *k3, *k2other, *k9;
	struct psk_link	 ls;
	int		 fd;

	t_start(60);
	snprintf(srcdir, sizeof(srcdir), "%s", env ? env : "../tests");
	snprintf(name, sizeof(name), "%s/data/t.yaml", srcdir);
	CHECK((fd = mkstemp(otherkey)) != -1);
	CHECK(write(fd, "an-entirely-different-key-0123456789\n", 37) == 37);
	close(fd);

	test_derive();
	c1 = node_cfg("n1", "test.key");
	c2 = node_cfg("n2", "test.key");
	c3 = node_cfg("n3", "test.key");
	c2other = node_cfg("n2", otherkey);
	c9 = node_cfg("n9", "test.key");
	k1 = psk_new(c1);
	k2 = psk_new(c2);
	k3 = psk_new(c3);
	k2other = psk_new(c2other);
	k9 = psk_new(c9);
	CHECK(k1 && k2 && k3 && k2other && k9);

	test_good(k1, k2, c1, c2);
	test_older_peer(k1, k2, c1);
	/* Another key. */
	expect_refused(k1, c1, "n2", k2other, &ls, "binder");
	CHECK_STREQ(ls.pl_identity, "n1");
	/* n1's handshake for n3, relayed to n2. */
	expect_refused(k1, c1, "n3", k2, &ls, "binder");
	/* n1's handshake for n2, reflected to n1. */
	expect_refused(k1, c1, "n2", k1, &ls, "own id");
	/* n9 is nobody's peer. */
	expect_refused(k9, c9, "n2", k2, &ls, "not a configured peer");
	test_rogue_clients(k2);
	test_rogue_server(k1, c1);
	test_replay(k1, k2, c1);

	psk_free(k1);
	psk_free(k2);
	psk_free(k3);
	psk_free(k2other);
	psk_free(k9);
	cfg_free(c1);
	cfg_free(c2);
	cfg_free(c3);
	cfg_free(c2other);
	cfg_free(c9);
	unlink(otherkey);
	return t_done("test_psk");
}

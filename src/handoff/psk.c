/* The control channel's TLS 1.3 with pre-shared keys; see psk.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "handoff/psk.h"

/* TLS_AES_128_GCM_SHA256, as the wire names it (RFC 8446, B.4). */
static const unsigned char psk_cipher_id[2] = { 0x13, 0x01 };

struct psk {
	const struct cfg	*k_cfg;
	SSL_CTX			*k_ctx;
};

/* Where an SSL keeps its struct psk_link. */
static int	psk_exidx = -1;

/*
 * PSK(client, server): see psk.h.  Returns 0, or -1 if the ids do not fit
 * or OpenSSL fails.
 */
int
psk_derive(const uint8_t *key, size_t keylen, const char *client,
    const char *server, uint8_t *out)
{
	uint8_t		 info[sizeof(PSK_INFO) + 2 * (1 + CTL_ID_MAX)];
	size_t		 n = sizeof(PSK_INFO) - 1, lc, ls, len = PSK_LEN;
	EVP_PKEY_CTX	*pc;
	int		 rc = -1;

	lc = strlen(client);
	ls = strlen(server);
	if (lc == 0 || lc > CTL_ID_MAX || ls == 0 || ls > CTL_ID_MAX)
		return -1;
	memcpy(info, PSK_INFO, n);
	info[n++] = (uint8_t)lc;
	memcpy(info + n, client, lc);
	n += lc;
	info[n++] = (uint8_t)ls;
	memcpy(info + n, server, ls);
	n += ls;
	if ((pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(pc) > 0 &&
	    EVP_PKEY_CTX_hkdf_mode(pc,
	    EVP_PKEY_HKDEF_MODE_EXTRACT_AND_EXPAND) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(pc, (const unsigned char *)PSK_SALT,
	    (int)sizeof(PSK_SALT) - 1) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(pc, key, (int)keylen) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(pc, info, (int)n) > 0 &&
	    EVP_PKEY_derive(pc, out, &len) > 0 && len == PSK_LEN)
		rc = 0;
	EVP_PKEY_CTX_free(pc);
	return rc;
}

/* A TLS 1.3 session that carries PSK(client, server), or NULL. */
static SSL_SESSION *
psk_session(SSL *ssl, const struct cfg *cfg, const char *client,
    const char *server)
{
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*s;
	uint8_t			 key[PSK_LEN];

	if ((cipher = SSL_CIPHER_find(ssl, psk_cipher_id)) == NULL ||
	    psk_derive(cfg->cfg_control.cc_key, cfg->cfg_control.cc_keylen,
	    client, server, key) == -1)
		return NULL;
	if ((s = SSL_SESSION_new()) != NULL &&
	    (!SSL_SESSION_set1_master_key(s, key, sizeof(key)) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) ||
	    !SSL_SESSION_set_max_early_data(s, 0))) {
		SSL_SESSION_free(s);
		s = NULL;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return s;
}

static struct psk *
psk_of(SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* Client: our id as the identity, and the key for the peer we dial. */
static int
psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	struct psk		*k = psk_of(ssl);
	struct psk_link		*pl = SSL_get_ex_data(ssl, psk_exidx);
	const struct cfg	*cfg = k->k_cfg;
	const char		*self = cfg->cfg_node.cn_id;
	SSL_SESSION		*s;

	*sess = NULL;
	if (pl == NULL || pl->pl_peer < 0 || pl->pl_peer >= cfg->cfg_npeers)
		return 0;
	if ((s = psk_session(ssl, cfg, self,
	    cfg->cfg_peers[pl->pl_peer].cp_id)) == NULL)
		return 0;
	/* After a HelloRetryRequest: the suite's hash must still match. */
	if (md != NULL &&
	    md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
		SSL_SESSION_free(s);
		return 1;
	}
	*id = (const unsigned char *)self;
	*idlen = strlen(self);
	*sess = s;
	return 1;
}

/* Server: the identity must name a configured peer, which is not us. */
static int
psk_find_session(SSL *ssl, const unsigned char *identity, size_t len,
    SSL_SESSION **sess)
{
	struct psk		*k = psk_of(ssl);
	struct psk_link		*pl = SSL_get_ex_data(ssl, psk_exidx);
	const struct cfg	*cfg = k->k_cfg;
	size_t			 i;
	int			 idx;

	*sess = NULL;
	if (pl == NULL)
		return 0;
	pl->pl_peer = -1;
	pl->pl_identity[0] = '\0';
	/* Only the charset of node ids, so that it can be logged. */
	for (i = 0; i < len && i < CTL_ID_MAX; i++) {
		unsigned char c = identity[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			break;
	}
	if (len == 0 || i != len) {
		pl->pl_why = "a malformed PSK identity";
		return 1;	/* no key: the handshake fails */
	}
	memcpy(pl->pl_identity, identity, len);
	pl->pl_identity[len] = '\0';
	if (strcmp(pl->pl_identity, cfg->cfg_node.cn_id) == 0) {
		pl->pl_why = "the PSK identity is this node's own id "
		    "(a reflected handshake?)";
		return 1;
	}
	if ((idx = cfg_peer_by_id(cfg, pl->pl_identity)) < 0) {
		pl->pl_why = "the PSK identity is not a configured peer";
		return 1;
	}
	if ((*sess = psk_session(ssl, cfg, pl->pl_identity,
	    cfg->cfg_node.cn_id)) == NULL)
		return 0;
	pl->pl_peer = idx;
	return 1;
}

/* A client never takes a certificate for a key. */
static int
psk_refuse_cert(int ok, X509_STORE_CTX *x)
{
	return 0;
}

/* The configuration a reload brought: its peers, the same key. */
void
psk_set_cfg(struct psk *k, const struct cfg *cfg)
{
	k->k_cfg = cfg;
}

/* A server selects the first of PSK_ALPN's protocols the client offers,
 * and goes on without ALPN if none (an older build). */
static int
psk_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char	*sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen,
	    (const unsigned char *)PSK_ALPN, sizeof(PSK_ALPN) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* The contexts for a node; NULL if OpenSSL cannot provide them. */
struct psk *
psk_new(const struct cfg *cfg)
{
	struct psk	*k;
	SSL_CTX		*ctx;

	if (psk_exidx == -1 && (psk_exidx = SSL_get_ex_new_index(0,
	    "handoffd psk link", NULL, NULL, NULL)) == -1)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->k_cfg = cfg;
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		goto fail;
	k->k_ctx = ctx;
	SSL_CTX_set_app_data(ctx, k);
	/* Whatever the system's openssl.cnf says. */
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* A TCP close without close_notify is an end, not an attack: frames
	 * are whole or dropped, so a truncation cuts nothing but the
	 * connection (and a daemon that exits sends none). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, PSK_CIPHERS) ||
	    !SSL_CTX_set_num_tickets(ctx, 0) ||
	    !SSL_CTX_set_max_early_data(ctx, 0))
		goto fail;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_psk_use_session_callback(ctx, psk_use_session);
	SSL_CTX_set_psk_find_session_callback(ctx, psk_find_session);
	SSL_CTX_set_alpn_select_cb(ctx, psk_alpn_select, NULL);
	return k;
fail:
	psk_free(k);
	return NULL;
}

void
psk_free(struct psk *k)
{
	if (k == NULL)
		return;
	SSL_CTX_free(k->k_ctx);
	free(k);
}

/*
 * One connection's SSL: a client (server = 0) for the peer pl->pl_peer,
 * or a server, which learns the peer from the client's identity.
 */
SSL *
psk_ssl(struct psk *k, struct psk_link *pl, int server)
{
	SSL	*ssl;

	if ((ssl = SSL_new(k->k_ctx)) == NULL)
		return NULL;
	pl->pl_why = NULL;
	pl->pl_identity[0] = '\0';
	if (!SSL_set_ex_data(ssl, psk_exidx, pl)) {
		SSL_free(ssl);
		return NULL;
	}
	if (server) {
		pl->pl_peer = -1;
		SSL_set_accept_state(ssl);
	} else {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, psk_refuse_cert);
		/* (returns 0 on success) */
		if (SSL_set_alpn_protos(ssl, (const unsigned char *)PSK_ALPN,
		    sizeof(PSK_ALPN) - 1) != 0) {
			SSL_free(ssl);
			return NULL;
		}
		SSL_set_connect_state(ssl);
	}
	pl->pl_caps = 0;
	return ssl;
}

/*
 * After a handshake OpenSSL accepted: what this construction needs besides.
 * Returns 0, or -1 with pl->pl_why set.
 */
int
psk_check(SSL *ssl, struct psk_link *pl)
{
	const SSL_CIPHER	*c = SSL_get_current_cipher(ssl);
	const unsigned char	*alpn;
	unsigned int		 alpnlen;

	if (SSL_version(ssl) != TLS1_3_VERSION)
		pl->pl_why = "not TLS 1.3";
	else if (!SSL_session_reused(ssl))
		pl->pl_why = "the pre-shared key was not used";
	else if (c == NULL || SSL_CIPHER_get_protocol_id(c) !=
	    (psk_cipher_id[0] << 8 | psk_cipher_id[1]))
		pl->pl_why = "an unexpected cipher suite";
#ifdef SSL_get_negotiated_group
	else if (SSL_get_negotiated_group(ssl) == 0)
		pl->pl_why = "no (EC)DHE: no forward secrecy";
#endif
	else if (pl->pl_peer < 0)
		pl->pl_why = "no peer identity";
	else {
		SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
		if (alpnlen == sizeof(PSK_ALPN_BUSY) - 2 &&
		    memcmp(alpn, PSK_ALPN_BUSY + 1, alpnlen) == 0)
			pl->pl_caps = PSK_CAP_LOOKUP | PSK_CAP_IPV6 |
			    PSK_CAP_ICMP | PSK_CAP_BUSY;
		else if (alpnlen == sizeof(PSK_ALPN_ICMP) - 2 &&
		    memcmp(alpn, PSK_ALPN_ICMP + 1, alpnlen) == 0)
			pl->pl_caps = PSK_CAP_LOOKUP | PSK_CAP_IPV6 |
			    PSK_CAP_ICMP;
		else if (alpnlen == sizeof(PSK_ALPN_IPV6) - 2 &&
		    memcmp(alpn, PSK_ALPN_IPV6 + 1, alpnlen) == 0)
			pl->pl_caps = PSK_CAP_LOOKUP | PSK_CAP_IPV6;
		else if (alpnlen == sizeof(PSK_ALPN_LOOKUP) - 2 &&
		    memcmp(alpn, PSK_ALPN_LOOKUP + 1, alpnlen) == 0)
			pl->pl_caps = PSK_CAP_LOOKUP;
		return 0;
	}
	return -1;
}

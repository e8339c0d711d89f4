/* A secret SipHash key; see sipkey.h. */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sipkey.h"

struct sipkey {
	EVP_MAC		*sk_mac;
	EVP_MAC_CTX	*sk_ctx;
};

/* A fresh random key, or NULL. */
struct sipkey *
sipkey_new(void)
{
	struct sipkey	*k;
	unsigned char	 key[16];
	unsigned int	 size = SIPKEY_OUT;
	OSSL_PARAM	 params[2];

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_SIZE, &size);
	params[1] = OSSL_PARAM_construct_end();
	if (RAND_bytes(key, sizeof(key)) != 1 ||
	    (k->sk_mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) == NULL ||
	    (k->sk_ctx = EVP_MAC_CTX_new(k->sk_mac)) == NULL ||
	    EVP_MAC_init(k->sk_ctx, key, sizeof(key), params) != 1) {
		OPENSSL_cleanse(key, sizeof(key));
		sipkey_free(k);
		return NULL;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return k;
}

/* OpenSSL frees a SipHash context without clearing it, and its state
 * holds the key: it is keyed with zeros first. */
void
sipkey_free(struct sipkey *k)
{
	unsigned char	 zero[16] = { 0 };
	OSSL_PARAM	 params[2];

	if (k == NULL)
		return;
	if (k->sk_ctx != NULL) {
		params[0] = OSSL_PARAM_construct_octet_string(
		    OSSL_MAC_PARAM_KEY, zero, sizeof(zero));
		params[1] = OSSL_PARAM_construct_end();
		(void)EVP_MAC_CTX_set_params(k->sk_ctx, params);
	}
	EVP_MAC_CTX_free(k->sk_ctx);
	EVP_MAC_free(k->sk_mac);
	free(k);
}

/* The keyed hash of len bytes at msg into out; -1 if it cannot be made. */
int
sipkey_hash(const struct sipkey *k, const void *msg, size_t len,
    uint8_t out[SIPKEY_OUT])
{
	size_t	 outl = 0;

	/* A NULL key restarts the MAC with the key it has. */
	if (EVP_MAC_init(k->sk_ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(k->sk_ctx, msg, len) != 1 ||
	    EVP_MAC_final(k->sk_ctx, out, &outl, SIPKEY_OUT) != 1 ||
	    outl != SIPKEY_OUT)
		return -1;
	return 0;
}

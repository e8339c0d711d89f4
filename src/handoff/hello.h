/*
 * A TLS ClientHello, read without a TLS stack: a front-end routes a TLS
 * connection by what the client sends in the clear before any key exists,
 * the server name (SNI, RFC 6066) and the protocols it offers (ALPN, RFC
 * 7301), and hands the bytes on untouched to the server that terminates
 * TLS.
 *
 * hello.c is pure: hello_parse() reads one whole ClientHello message;
 * a struct hello_reader takes the stream as segments bring it, however
 * its records cut the message, up to a bound, and parses the message once
 * it is whole.  Neither reads past what it was given.
 */
#ifndef HANDOFFD_HELLO_H
#define HANDOFFD_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_NAME_MAX	255	/* the longest server name taken */

/* What a ClientHello says that routing looks at. */
struct hello {
	char		 h_sni[HELLO_NAME_MAX + 1]; /* lower case, "": none */
	size_t		 h_snilen;
	const uint8_t	*h_alpn;	/* protocol_name_list, into the message */
	size_t		 h_alpnlen;	/* 0: no ALPN */
};

enum hello_result {
	HELLO_MORE,		/* the ClientHello is not complete yet */
	HELLO_DONE,		/* complete and well-formed */
	HELLO_BAD,		/* not TLS, or a malformed ClientHello */
	HELLO_BIG,		/* it cannot fit the reader's bound */
	HELLO_NOMEM,
};

struct hello_reader;

int	 hello_parse(const uint8_t *, size_t, struct hello *);
int	 hello_alpn_has(const struct hello *, const char *, size_t);
struct hello_reader *hello_new(size_t);
void	 hello_free(struct hello_reader *);
enum hello_result hello_feed(struct hello_reader *, const void *, size_t);
size_t	 hello_len(const struct hello_reader *);
const struct hello *hello_get(const struct hello_reader *);

#endif

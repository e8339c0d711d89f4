/*
 * The control channel's TLS: TLS 1.3 only, authenticated by an external
 * pre-shared key, no certificates.  The key is not the key file's bytes but
 * one derived for each ordered pair of nodes, so that a connection proves
 * both who dialled and whom it was meant for:
 *
 *   PSK(client, server) = HKDF-SHA256(salt = "handoffd control v2",
 *       IKM = control.key_file's contents,
 *       info = "tls13 psk" | len(client) | client | len(server) | server)
 *
 * 32 bytes, lengths one byte each.  The client offers it under the PSK
 * identity "its own node id"; the server accepts only the id of a
 * configured peer, and never its own (a reflected handshake), and derives
 * the same key with its own id as the server.  A handshake relayed to
 * another node, or back to the one that started it, fails the binder.
 * Cipher suite TLS_AES_128_GCM_SHA256 with (EC)DHE (psk_dhe_ke, forward
 * secrecy); no session tickets, no resumption, no early data, no
 * renegotiation (TLS 1.3 has none).
 *
 * ALPN says what frames a peer's build reads beyond version 2's first set:
 * a client offers PSK_ALPN (its protocols, best first), a server selects
 * the best it knows, and a node sends LOOKUP and CLOSE moved only to peers
 * that selected one (handoffd/lookup or better), version-3 frames (IPv6
 * addresses) only to those that selected handoffd/ipv6 or better, ICMP
 * only to those that selected handoffd/icmp or better, and the busy
 * status of a HANDOFF_ACK only to those that selected handoffd/busy: an
 * older build closes the connection on a frame it does not know.
 *
 * psk.c owns the SSL_CTX and the callbacks; peer.c owns the connections.
 */
#ifndef HANDOFFD_PSK_H
#define HANDOFFD_PSK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "handoff/ctl.h"

#define PSK_LEN		32
#define PSK_SALT	"handoffd control v2"
#define PSK_INFO	"tls13 psk"
#define PSK_CIPHERS	"TLS_AES_128_GCM_SHA256"
/* ALPN's wire form: each protocol, length first, the best first. */
#define PSK_ALPN_BUSY	"\015handoffd/busy"
#define PSK_ALPN_ICMP	"\015handoffd/icmp"
#define PSK_ALPN_IPV6	"\015handoffd/ipv6"
#define PSK_ALPN_LOOKUP	"\017handoffd/lookup"
#define PSK_ALPN	PSK_ALPN_BUSY PSK_ALPN_ICMP PSK_ALPN_IPV6 \
			PSK_ALPN_LOOKUP

/* What a peer reads (struct psk_link's pl_caps). */
#define PSK_CAP_LOOKUP	0x01	/* LOOKUP, LOOKUP_ACK, CLOSE moved */
#define PSK_CAP_IPV6	0x02	/* version-3 frames */
#define PSK_CAP_ICMP	0x04	/* ICMP */
#define PSK_CAP_BUSY	0x08	/* HANDOFF_ACK busy */

struct cfg;
struct psk;

/* One connection's view of the handshake, owned by the caller and given
 * to psk_ssl(); the SSL must not outlive it. */
struct psk_link {
	int		 pl_peer;	/* dialled, or named by the identity */
	const char	*pl_why;	/* why this side refused, for the log */
	char		 pl_identity[CTL_ID_MAX + 1]; /* what the client said */
	int		 pl_caps;	/* PSK_CAP_*, as ALPN agreed */
};

struct psk	*psk_new(const struct cfg *);
void		 psk_free(struct psk *);
void		 psk_set_cfg(struct psk *, const struct cfg *);
SSL		*psk_ssl(struct psk *, struct psk_link *, int);
int		 psk_check(SSL *, struct psk_link *);
int		 psk_derive(const uint8_t *, size_t, const char *, const char *,
		    uint8_t *);

#endif

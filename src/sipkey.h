/*
 * A secret SipHash-2-4 key (random, per process) and the keyed hash it
 * gives: for what an outsider must not predict (ISNs, SYN cookies, IPv4
 * IDs) at a cost a flood can be met with.  sipkey.c owns the key, keyed
 * into OpenSSL's MAC once and restarted for each use: OpenSSL 3's
 * one-shot HMAC() looks its digest up by name on every call, some twenty
 * times the cost.
 */
#ifndef HANDOFFD_SIPKEY_H
#define HANDOFFD_SIPKEY_H

#include <stddef.h>
#include <stdint.h>

#define SIPKEY_OUT	8

struct sipkey;

struct sipkey	*sipkey_new(void);
void		 sipkey_free(struct sipkey *);
int		 sipkey_hash(const struct sipkey *, const void *, size_t,
		    uint8_t [SIPKEY_OUT]);

#endif

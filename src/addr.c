#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"

/* The usual text form: dotted quad for a mapped IPv4 address. */
const char *
addr_str(const struct ipaddr *a, char *buf, size_t len)
{
	if (addr_is4(a))
		return inet_ntop(AF_INET, &a->a_w[3], buf, len);
	return inet_ntop(AF_INET6, a->a_w, buf, len);
}

/* An endpoint (port in network order) as a.b.c.d:port or [v6]:port. */
const char *
addr_port_str(const struct ipaddr *a, uint16_t port, char *buf, size_t len)
{
	char	 s[ADDR_STRLEN];

	addr_str(a, s, sizeof(s));
	snprintf(buf, len, addr_is4(a) ? "%s:%u" : "[%s]:%u", s, ntohs(port));
	return buf;
}

/* Fills the socket address of a:port (port in network order) into ss, a
 * struct sockaddr_storage; returns its length. */
size_t
addr_sockaddr(const struct ipaddr *a, uint16_t port, void *ss)
{
	struct sockaddr_in	*sin = ss;
	struct sockaddr_in6	*sin6 = ss;

	if (addr_is4(a)) {
		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = addr_get4(a);
		sin->sin_port = port;
		return sizeof(*sin);
	}
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, a->a_w, 16);
	sin6->sin6_port = port;
	return sizeof(*sin6);
}

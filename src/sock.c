/*
 * Socket helpers for files that also include lwIP, whose TCP_MSS option
 * would clash with <netinet/tcp.h>'s socket option of the same name.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

/* Small control frames and relayed responses must not wait for Nagle. */
void
sock_nodelay(int fd)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * A non-blocking TCP socket to dial from addr (network order; the port is
 * the kernel's choice), so that peers see the address they expect; any
 * address if addr is INADDR_ANY.  Returns -1 with errno set.
 */
int
sock_dialer(in_addr_t addr)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1, saved;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	if (addr == htonl(INADDR_ANY))
		return fd;
#ifdef IP_BIND_ADDRESS_NO_PORT
	/* The port is picked at connect(), where the 4-tuple is known. */
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
#else
	(void)one;
#endif
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Socket helpers for files that also include lwIP, whose TCP_MSS option
 * would clash with <netinet/tcp.h>'s socket option of the same name.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sock.h"

/* Small control frames and relayed responses must not wait for Nagle. */
void
sock_nodelay(int fd)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

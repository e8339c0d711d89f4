/* One netlink request and its answer (nl.h). */
#include <sys/socket.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "nl.h"

ssize_t
nl_ask(int proto, const void *req, size_t len, void *buf, size_t buflen)
{
	struct sockaddr_nl	 sa, from;
	socklen_t		 flen = sizeof(from);
	ssize_t			 n;
	int			 fd, err;

	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto)) == -1)
		return -1;
	if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		n = -1;
	else if ((n = recvfrom(fd, buf, buflen, 0, (struct sockaddr *)&from,
	    &flen)) == 0 || (n > 0 && (flen < sizeof(from) ||
	    from.nl_pid != 0))) {
		n = -1;
		errno = EPROTO;		/* none, or not the kernel's */
	}
	if (n == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return n;
}

/*
 * The BSD TUN device (/dev/tunN); see tun.h.  With TUNSIFHEAD every packet
 * carries a 4-byte address family in front, which this file adds and strips
 * so the rest of the daemon sees bare IPv4 packets as on Linux.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <net/if.h>
#include <net/if_tun.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tun.h"

/* Opens /dev/NAME; a persistent device owned by our user needs no root.
 * BSD TUN devices have no offloads (packets are always whole) and one
 * queue. */
int
tun_open(const char *name, int flags, struct tun_info *ti)
{
	char	 path[64];
	int	 fd, on = 1;

	if (flags & TUN_MULTIQUEUE) {
		errno = EOPNOTSUPP;
		return -1;
	}

	if (snprintf(path, sizeof(path), "/dev/%s", name) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (ioctl(fd, TUNSIFHEAD, &on) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	memset(ti, 0, sizeof(*ti));
	strncpy(ti->ti_name, name, sizeof(ti->ti_name) - 1);
	ti->ti_created = 0;
	return fd;
}

/* Address, netmask, MTU and up, through the classic ioctls. */
int
tun_configure(const char *name, in_addr_t addr, int prefix, int mtu)
{
	struct ifaliasreq	 ifra;
	struct ifreq		 ifr;
	struct sockaddr_in	*sin;
	int			 s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (addr != INADDR_ANY) {
		memset(&ifra, 0, sizeof(ifra));
		strlcpy(ifra.ifra_name, name, sizeof(ifra.ifra_name));
		sin = (struct sockaddr_in *)&ifra.ifra_addr;
		sin->sin_family = AF_INET;
		sin->sin_len = sizeof(*sin);
		sin->sin_addr.s_addr = addr;
		sin = (struct sockaddr_in *)&ifra.ifra_mask;
		sin->sin_family = AF_INET;
		sin->sin_len = sizeof(*sin);
		sin->sin_addr.s_addr = prefix == 0 ? 0 :
		    htonl(~0u << (32 - prefix));
		if (ioctl(s, SIOCAIFADDR, &ifra) == -1 && errno != EEXIST) {
			log_warn("%s: set address", name);
			goto done;
		}
	}
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) == -1) {
		log_warn("%s: set mtu", name);
		goto done;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		log_warn("%s: get flags", name);
		goto done;
	}
	if ((ifr.ifr_flags & IFF_UP) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
			log_warn("%s: bring up", name);
			goto done;
		}
	}
	rc = 0;
done:
	close(s);
	return rc;
}

ssize_t
tun_read(int fd, void *buf, size_t len, struct pkt_meta *m)
{
	uint32_t	 af;
	struct iovec	 iov[2];
	ssize_t		 n;

	iov[0].iov_base = &af;
	iov[0].iov_len = sizeof(af);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	if ((n = readv(fd, iov, 2)) == -1)
		return -1;
	if (n < (ssize_t)sizeof(af))
		return 0;
	if (ntohl(af) != AF_INET)
		return 0;	/* the caller counts an empty read as a drop */
	return n - (ssize_t)sizeof(af);
}

/* The queue's drops are not read on the BSDs (tun.h): unknown. */
int
tun_queue_drops(const struct tun_info *ti, uint64_t *n)
{
	return -1;
}

ssize_t
tun_write(int fd, const void *buf, size_t len, const struct pkt_meta *m)
{
	uint32_t	 af = htonl(AF_INET);
	struct iovec	 iov[2];
	ssize_t		 n;

	iov[0].iov_base = &af;
	iov[0].iov_len = sizeof(af);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	if ((n = writev(fd, iov, 2)) == -1)
		return -1;
	return n < (ssize_t)sizeof(af) ? 0 : n - (ssize_t)sizeof(af);
}

/* The Linux TUN device (/dev/net/tun); see tun.h. */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tun.h"

/* The device's tx_dropped counter, from /proc/net/dev: this network
 * namespace's (sysfs shows the one it was mounted in), readable by anyone.
 * A line is "name: " and 8 receive counters, then bytes, packets, errors
 * and drops sent. */
static int
tun_tx_dropped(const char *name, uint64_t *n)
{
	char		 line[512], *colon, *p;
	size_t		 len = strlen(name);
	FILE		*fp;
	int		 rc = -1;

	if ((fp = fopen("/proc/net/dev", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		for (p = line; *p == ' '; p++)
			;
		if ((colon = strchr(p, ':')) == NULL ||
		    (size_t)(colon - p) != len || strncmp(p, name, len) != 0)
			continue;
		if (sscanf(colon + 1, "%*u %*u %*u %*u %*u %*u %*u %*u "
		    "%*u %*u %*u %" SCNu64, n) == 1)
			rc = 0;
		break;
	}
	fclose(fp);
	return rc;
}

/*
 * Opens the TUN device called name.  With offload, packets carry a
 * virtio_net_hdr and the kernel may hand over TCP super-packets with
 * checksums left to do: one read, one rewrite and one write then move up
 * to 64 KB instead of one MTU.  TUNSETIFF attaches to an existing
 * persistent device, which needs no privilege when the device is owned by
 * our user, or creates a new one, which needs CAP_NET_ADMIN.  Which of the
 * two happened is told by whether the name existed before.  With
 * TUN_MULTIQUEUE each open adds a queue to the device: the kernel keeps a
 * flow's packets on one queue, so each can have a reader of its own.
 */
int
tun_open(const char *name, int flags, struct tun_info *ti)
{
	int		 offload = flags & TUN_OFFLOAD;
	unsigned int	 feat = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
			    TUN_F_TSO_ECN;
	int		 hdrsz = sizeof(struct virtio_net_hdr);
	struct ifreq	 ifr;
	int		 fd, existed;

	if (strlen(name) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		return -1;
	}
	existed = if_nametoindex(name) != 0;
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0) |
	    (flags & TUN_MULTIQUEUE ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	if (offload && (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) == -1 ||
	    ioctl(fd, TUNSETOFFLOAD, feat) == -1)) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	memset(ti, 0, sizeof(*ti));
	memcpy(ti->ti_name, ifr.ifr_name, IFNAMSIZ - 1);
	ti->ti_created = !existed;
	ti->ti_offload = offload != 0;
	ti->ti_drops_known = tun_tx_dropped(ti->ti_name, &ti->ti_dropped0) == 0;
	return fd;
}

/*
 * Packets the kernel dropped on their way into the device since it was
 * opened: its queue to our reads (txqueuelen packets, 500 unless set) was
 * full, as a burst of thousands of clients' packets fills it.  The
 * device's tx_dropped, which ip -s link shows.  Returns -1 if unknown.
 */
int
tun_queue_drops(const struct tun_info *ti, uint64_t *n)
{
	uint64_t	 now;

	if (!ti->ti_drops_known || tun_tx_dropped(ti->ti_name, &now) == -1)
		return -1;
	*n = now >= ti->ti_dropped0 ? now - ti->ti_dropped0 : 0;
	return 0;
}

static int
tun_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what,
    const char *name)
{
	if (ioctl(s, req, ifr) == -1) {
		log_warn("%s: %s", name, what);
		return -1;
	}
	return 0;
}

/*
 * Gives the device an address, prefix and MTU and brings it up.  Each step
 * is skipped when the device already has that setting, so a persistent
 * device prepared by an administrator needs no privilege here.
 */
int
tun_configure(const char *name, in_addr_t addr, int prefix, int mtu)
{
	struct ifreq		 ifr;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ifr.ifr_addr;
	in_addr_t		 mask;
	int			 s, rc = -1;

	mask = prefix == 0 ? 0 : htonl(~0u << (32 - prefix));
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);

	if (addr != INADDR_ANY) {
		if (ioctl(s, SIOCGIFADDR, &ifr) == -1 ||
		    sin->sin_addr.s_addr != addr) {
			memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = addr;
			if (tun_ioctl(s, SIOCSIFADDR, &ifr, "set address",
			    name) == -1)
				goto done;
		}
		memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
		if (ioctl(s, SIOCGIFNETMASK, &ifr) == -1 ||
		    sin->sin_addr.s_addr != mask) {
			memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = mask;
			if (tun_ioctl(s, SIOCSIFNETMASK, &ifr, "set netmask",
			    name) == -1)
				goto done;
		}
	}
	if (tun_ioctl(s, SIOCGIFMTU, &ifr, "get mtu", name) == -1)
		goto done;
	if (ifr.ifr_mtu != mtu) {
		ifr.ifr_mtu = mtu;
		if (tun_ioctl(s, SIOCSIFMTU, &ifr, "set mtu", name) == -1)
			goto done;
	}
	if (tun_ioctl(s, SIOCGIFFLAGS, &ifr, "get flags", name) == -1)
		goto done;
	if ((ifr.ifr_flags & IFF_UP) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (tun_ioctl(s, SIOCSIFFLAGS, &ifr, "bring up", name) == -1)
			goto done;
	}
	rc = 0;
done:
	close(s);
	return rc;
}

/*
 * Reads one packet.  m == NULL: the device has no offload and packets are
 * bare.  Otherwise the virtio_net_hdr in front is decoded into m.
 */
ssize_t
tun_read(int fd, void *buf, size_t len, struct pkt_meta *m)
{
	struct virtio_net_hdr	 vh;
	struct iovec		 iov[2];
	ssize_t			 n;
	unsigned int		 gso;

	if (m == NULL)
		return read(fd, buf, len);
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	if ((n = readv(fd, iov, 2)) == -1)
		return -1;
	if (n < (ssize_t)sizeof(vh))
		return 0;
	memset(m, 0, sizeof(*m));
	m->pm_csum_partial = (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
	m->pm_csum_start = vh.csum_start;
	m->pm_csum_offset = vh.csum_offset;
	gso = vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6) {
		m->pm_gso_tcp4 = gso == VIRTIO_NET_HDR_GSO_TCPV4;
		m->pm_gso_tcp6 = gso == VIRTIO_NET_HDR_GSO_TCPV6;
		m->pm_gso_ecn = (vh.gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;
		m->pm_gso_size = vh.gso_size;
		m->pm_hdr_len = vh.hdr_len;
	} else if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return 0;	/* not ours to handle: counted as dropped */
	return n - (ssize_t)sizeof(vh);
}

/* Writes one packet, with its offload state when the device has some. */
ssize_t
tun_write(int fd, const void *buf, size_t len, const struct pkt_meta *m)
{
	struct virtio_net_hdr	 vh;
	struct iovec		 iov[2];
	ssize_t			 n;

	if (m == NULL)
		return write(fd, buf, len);
	memset(&vh, 0, sizeof(vh));
	if (m->pm_csum_partial) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = m->pm_csum_start;
		vh.csum_offset = m->pm_csum_offset;
	}
	if (m->pm_gso_tcp4 || m->pm_gso_tcp6) {
		vh.gso_type = (m->pm_gso_tcp4 ? VIRTIO_NET_HDR_GSO_TCPV4 :
		    VIRTIO_NET_HDR_GSO_TCPV6) |
		    (m->pm_gso_ecn ? VIRTIO_NET_HDR_GSO_ECN : 0);
		vh.gso_size = m->pm_gso_size;
		vh.hdr_len = m->pm_hdr_len;
	}
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	if ((n = writev(fd, iov, 2)) == -1)
		return -1;
	return n < (ssize_t)sizeof(vh) ? 0 : n - (ssize_t)sizeof(vh);
}

/*
 * The TUN device: bare IPv4 packets in and out of one file descriptor.
 * tun-linux.c (/dev/net/tun) and tun-bsd.c (/dev/tunN) implement it; the
 * rest of the daemon sees only this header.  The caller owns the fd.
 */
#ifndef HANDOFFD_TUN_H
#define HANDOFFD_TUN_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct tun_info {
	char		 ti_name[16];	/* the device's name */
	int		 ti_created;	/* 1: we created it, 0: attached */
	int		 ti_offload;	/* packets carry struct pkt_meta */
	int		 ti_drops_known; /* ti_dropped0 was read */
	uint64_t	 ti_dropped0;	/* the kernel's drops at open */
};

/* tun_open's flags */
#define TUN_OFFLOAD	0x1	/* packets carry struct pkt_meta */
#define TUN_MULTIQUEUE	0x2	/* one of several queues (Linux only) */

int	tun_open(const char *, int, struct tun_info *);
int	tun_configure(const char *, in_addr_t, int, int);
ssize_t	tun_read(int, void *, size_t, struct pkt_meta *);
ssize_t	tun_write(int, const void *, size_t, const struct pkt_meta *);
int	tun_queue_drops(const struct tun_info *, uint64_t *);

#endif

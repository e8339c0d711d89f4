/*
 * The BTCP, the "bottom TCP" of the handoff designs this daemon comes from
 * (../shared/seeds): the packet layer between the TUN device and the TCP
 * stacks.  It reads every packet the kernel routes into the TUN, parses it
 * once, looks it up once in the flow table and gives it to the owner of its
 * flow through the flow's handlers (struct flow_ops), or, for a VIP with no
 * flow yet, to the front-end's VIP handler, or else to lwIP.  Every packet
 * lwIP sends passes here on its way out, so that its flow's owner can watch
 * or rewrite it; every packet the daemon sends leaves through btcp_tun_send.
 * A packet of the kernel stack for no flow (a connection this daemon forgot,
 * or knew before it restarted) gets the reset a TCP gives a segment of no
 * connection, so that the web server does not send into the void.
 *
 * btcp.c owns no state but a rate limit: the TUN it writes to is a struct
 * btcp_tun in struct hd (the device, or a test's recorder), and it never
 * names the front-end or the back-end.
 */
#ifndef HANDOFFD_BTCP_H
#define HANDOFFD_BTCP_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_service;
struct hd;
struct ipaddr;
struct pkt;
struct pkt_icmp;
struct pkt_meta;

/* Where the BTCP's packets go.  write returns the bytes written or -1;
 * offload: packets carry struct pkt_meta (TSO, partial checksums). */
struct btcp_tun {
	ssize_t		(*bt_write)(void *, const uint8_t *, size_t,
			    const struct pkt_meta *);
	void		*bt_arg;
	int		 bt_offload;
};

/* What the BTCP does with a packet for a VIP that has no flow: returns 1
 * if it took the packet, 0 to let lwIP answer it as any TCP would. */
typedef int	(*btcp_vip_fn)(struct hd *, const struct cfg_service *,
		    struct pkt *);
/* ... and with an ICMP error about a VIP's segment that no flow here
 * sent: 1 if it took the packet. */
typedef int	(*btcp_icmp_fn)(struct hd *, struct pkt *,
		    const struct pkt_icmp *);

void	btcp_input(struct hd *, uint8_t *, size_t, const struct pkt_meta *);
void	btcp_tun_readable(int, short, void *);
void	btcp_lwip_output(void *, uint8_t *, size_t, const struct pkt_meta *);
void	btcp_tun_send(struct hd *, const uint8_t *, size_t,
	    const struct pkt_meta *);
void	btcp_to_lwip(struct hd *, struct pkt *);
void	btcp_rst(struct hd *, const struct ipaddr *, uint16_t,
	    const struct ipaddr *, uint16_t, uint32_t, uint32_t, uint8_t);
void	btcp_reply_rst(struct hd *, const struct pkt *);
int	btcp_is_lwip_stack(const struct hd *, const struct ipaddr *);
void	btcp_probe(struct hd *, const struct ipaddr *, uint16_t,
	    const struct ipaddr *, uint16_t, uint32_t, uint32_t);
const struct cfg_service *btcp_service(const struct hd *,
	    const struct ipaddr *, uint16_t);

#endif

/* The BSDs: no sock_diag to ask (ksock.h). */
#include <errno.h>
#include <string.h>

#include "ksock.h"

void
ksock_init(struct ksock *ks, const char *ifname)
{
	memset(ks, 0, sizeof(*ks));
	(void)ifname;
	ks->ks_state = KSOCK_CANNOT;
}

int
ksock_live(struct ksock *ks, const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	(void)ks;
	(void)laddr;
	(void)lport;
	(void)raddr;
	(void)rport;
	errno = ENOSYS;
	return -1;
}

/* The BSDs: no sock_diag to ask (ksock.h). */
#include <errno.h>

#include "ksock.h"

int
ksock_live(const struct ipaddr *laddr, uint16_t lport,
    const struct ipaddr *raddr, uint16_t rport)
{
	(void)laddr;
	(void)lport;
	(void)raddr;
	(void)rport;
	errno = ENOSYS;
	return -1;
}

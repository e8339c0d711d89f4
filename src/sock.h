/* Socket helpers; see sock.c. */
#ifndef HANDOFFD_SOCK_H
#define HANDOFFD_SOCK_H

#include <netinet/in.h>

void	sock_nodelay(int);
int	sock_dialer(in_addr_t);

#endif

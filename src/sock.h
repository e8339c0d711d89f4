/* Socket helpers; see sock.c. */
#ifndef HANDOFFD_SOCK_H
#define HANDOFFD_SOCK_H

void	sock_nodelay(int);

#endif

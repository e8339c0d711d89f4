/*
 * lwIP's compiler and platform glue: lwIP's diagnostics go to the daemon's
 * logger, its asserts are bugs and abort through fatalx().
 */
#ifndef HANDOFFD_ARCH_CC_H
#define HANDOFFD_ARCH_CC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <endian.h>
#else
#include <sys/endian.h>
#endif

/* The system provides htons() and friends; lwIP must not redefine them. */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS
#define LWIP_ERRNO_STDINCLUDE	1
#define LWIP_TIMEVAL_PRIVATE	0

void	port_diag(const char *, ...) __attribute__((format(printf, 1, 2)));
void	port_assert(const char *, const char *, int) __attribute__((noreturn));
uint32_t port_rand(void);

#define LWIP_PLATFORM_DIAG(x)	do { port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x)	port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()		port_rand()

#endif

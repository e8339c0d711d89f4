/*
 * lwIP's core, built from the release source that scripts/bootstrap fetches
 * (configure --with-lwip-src).  Including the sources here lets automake
 * compile them into our build tree with our lwipopts.h; nothing of lwIP is
 * kept in this repository.
 */
#include "core/init.c"
#include "core/def.c"
#include "core/inet_chksum.c"
#include "core/ip.c"
#include "core/mem.c"
#include "core/memp.c"
#include "core/netif.c"
#include "core/pbuf.c"
#include "core/stats.c"
#include "core/sys.c"
#include "core/tcp.c"
#include "core/tcp_in.c"
#include "core/tcp_out.c"
#include "core/timeouts.c"
#include "core/ipv4/icmp.c"
#include "core/ipv4/ip4.c"
#include "core/ipv4/ip4_addr.c"
#include "core/ipv6/icmp6.c"
#include "core/ipv6/ip6.c"
#include "core/ipv6/ip6_addr.c"
#include "core/ipv6/nd6.c"

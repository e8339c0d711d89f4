/*
 * ksock_live against the host's own TCP stack, on loopback: connections
 * in each state the back-end meets when it asks before giving a lingering
 * connection's endpoint to another (be_linger_free), the one that matters
 * most a server's FIN and data its client has not acknowledged; one
 * bound to the device; a listener on the local end is no connection; IPv6
 * too, where loopback has it.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "ksock.h"
#include "t.h"

struct pair {
	int		 p_l, p_c, p_s;	/* listener, client, server */
	struct ipaddr	 p_addr;
	uint16_t	 p_lport, p_cport;	/* network order */
};

static struct ksock	 ks;

static int
pair_open(struct pair *p, int v6, const char *dev)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = v6 ? sizeof(*sin6) : sizeof(*sin);

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		memcpy(p->p_addr.a_w, &in6addr_loopback, 16);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->p_addr = addr4(htonl(INADDR_LOOPBACK));
	}
	if ((p->p_l = socket(ss.ss_family, SOCK_STREAM, 0)) == -1 ||
	    bind(p->p_l, (struct sockaddr *)&ss, len) == -1) {
		if (p->p_l != -1)
			close(p->p_l);
		return -1;	/* no IPv6 here */
	}
	if (dev != NULL)
		CHECK(setsockopt(p->p_l, SOL_SOCKET, SO_BINDTODEVICE, dev,
		    (socklen_t)strlen(dev)) == 0);
	CHECK(listen(p->p_l, 4) == 0);
	CHECK(getsockname(p->p_l, (struct sockaddr *)&ss, &len) == 0);
	p->p_lport = v6 ? sin6->sin6_port : sin->sin_port;
	CHECK((p->p_c = socket(ss.ss_family, SOCK_STREAM, 0)) != -1);
	/* A small window, for data the client does not take. */
	CHECK(setsockopt(p->p_c, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 },
	    sizeof(int)) == 0);
	CHECK(connect(p->p_c, (struct sockaddr *)&ss, len) == 0);
	CHECK((p->p_s = accept(p->p_l, NULL, NULL)) != -1);
	CHECK(getsockname(p->p_c, (struct sockaddr *)&ss, &len) == 0);
	p->p_cport = v6 ? sin6->sin6_port : sin->sin_port;
	return 0;
}

/* The server's side, as the back-end asks: from its listening port. */
static int
server_live(const struct pair *p)
{
	return ksock_live(&ks, &p->p_addr, p->p_lport, &p->p_addr,
	    p->p_cport);
}

static void
test_states(int v6)
{
	struct pair	 p;
	struct linger	 lg = { 1, 0 };
	static char	 buf[65536];
	uint16_t	 other;
	int		 i;

	if (pair_open(&p, v6, NULL) == -1) {
		CHECK(v6);
		return;
	}
	/* Established, either side. */
	CHECK_INTEQ(server_live(&p), 1);
	CHECK_INTEQ(ksock_live(&ks, &p.p_addr, p.p_cport, &p.p_addr,
	    p.p_lport), 1);
	/* No connection on the 4-tuple, though one listens on its local
	 * end: none. */
	other = htons((uint16_t)(ntohs(p.p_cport) ^ 0x4000));
	CHECK_INTEQ(ksock_live(&ks, &p.p_addr, p.p_lport, &p.p_addr, other),
	    0);
	/* The client half-closed: the server's side may still send. */
	CHECK(shutdown(p.p_c, SHUT_WR) == 0);
	for (i = 0; i < 100 && server_live(&p) != 1; i++)
		usleep(1000);
	CHECK_INTEQ(server_live(&p), 1);
	/* The server closes too, and its FIN is acknowledged: gone. */
	CHECK(close(p.p_s) == 0);
	for (i = 0; i < 1000 && server_live(&p) != 0; i++)
		usleep(1000);
	CHECK_INTEQ(server_live(&p), 0);
	CHECK(setsockopt(p.p_c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	close(p.p_c);
	close(p.p_l);

	/* The server closes with data and its FIN still unacknowledged (the
	 * client's window is full): live until the client has read them. */
	CHECK(pair_open(&p, v6, NULL) == 0);
	CHECK(fcntl(p.p_s, F_SETFL, O_NONBLOCK) == 0);
	for (i = 0; i < 10000 && write(p.p_s, buf, sizeof(buf)) > 0; i++)
		;
	CHECK(close(p.p_s) == 0);
	usleep(10000);
	CHECK_INTEQ(server_live(&p), 1);
	while (read(p.p_c, buf, sizeof(buf)) > 0)
		;
	CHECK(close(p.p_c) == 0);
	for (i = 0; i < 1000 && server_live(&p) != 0; i++)
		usleep(1000);
	CHECK_INTEQ(server_live(&p), 0);
	close(p.p_l);

	/* The server closes first and the client after: the server's side
	 * waits in TIME_WAIT, which holds nothing unacknowledged. */
	CHECK(pair_open(&p, v6, NULL) == 0);
	CHECK(close(p.p_s) == 0);
	usleep(10000);
	CHECK(close(p.p_c) == 0);
	for (i = 0; i < 1000 && server_live(&p) != 0; i++)
		usleep(1000);
	CHECK_INTEQ(server_live(&p), 0);
	close(p.p_l);

	/* A server bound to the device (SO_BINDTODEVICE, or a VRF's): found
	 * too. */
	CHECK(pair_open(&p, v6, "lo") == 0);
	CHECK_INTEQ(server_live(&p), 1);
	close(p.p_s);
	close(p.p_c);
	close(p.p_l);
}

int
main(void)
{
	t_start(60);
	ksock_init(&ks, "lo");
	test_states(0);
	test_states(1);
	CHECK_INTEQ(ks.ks_state, KSOCK_WORKS);
	return t_done("test_ksock");
}

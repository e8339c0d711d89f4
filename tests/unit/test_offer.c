/*
 * The front-end's offer: its SYN/ACK promises only what every stack that
 * may end up with the connection honours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "handoff/handoff.h"
#include "t.h"

static struct cfg *
load(const char *hs, const char *own_stack, const char *peer_stack,
    const char *members, const char *mss)
{
	char		 yaml[2048], name[1024], err[512];
	const char	*src = getenv("TESTS_SRCDIR");
	struct cfg	*c;

	snprintf(name, sizeof(name), "%s/data/t.yaml", src ? src : "../tests");
	/* git checks tests/data/test.key out with mode 0644. */
	snprintf(yaml, sizeof(yaml),
	    "node: {id: n1, control: 10.1.1.2:7100, server: 10.2.1.1:80}\n"
	    "lwip: {address: 10.2.1.2}\n"
	    "peers:\n"
	    "  - {id: n2, control: 10.1.2.2:7100, stack_address: 10.2.2.1,\n"
	    "     server: 10.2.2.1:80, stack: %s}\n"
	    "services:\n"
	    "  - {name: web, listen: 10.9.0.1:80, pool: p, handshake: %s}\n"
	    "pools:\n  - {name: p, members: [%s]}\n"
	    "handoff: {stack: %s, mss: %s, window_scale: 9}\n"
	    "control: {key_file: test.key, key_file_insecure_ok: true}\n",
	    peer_stack, hs, members, own_stack, mss);
	c = cfg_parse(name, yaml, strlen(yaml), err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

int
main(void)
{
	struct fe_offer	 o;
	struct cfg	*c;

	t_start(30);
	/* Kernel stacks everywhere: the configured MSS and shift stand. */
	c = load("cookie", "kernel", "kernel", "n1, n2", "9000");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 9000);
	CHECK_INTEQ(o.fo_ws, 9);
	CHECK(o.fo_sack && o.fo_ts);
	cfg_free(c);
	/* An lwIP-stack peer takes no segment above lwIP's MSS. */
	c = load("cookie", "kernel", "lwip", "n1, n2", "9000");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 1460);
	cfg_free(c);
	/* Nor does this node when its own stack is lwIP ... */
	c = load("cookie", "lwip", "kernel", "n1, n2", "9000");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 1460);
	cfg_free(c);
	/* ... or in the lwip handshake, where its requests stay in lwIP. */
	c = load("lwip", "kernel", "kernel", "n1, n2", "9000");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 1460);
	cfg_free(c);
	/* A pool without this node is judged by its members alone. */
	c = load("lwip", "lwip", "kernel", "n2", "9000");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 9000);
	cfg_free(c);
	/* A smaller configured MSS always wins. */
	c = load("cookie", "kernel", "lwip", "n2", "1200");
	fe_offer(c, &c->cfg_services[0], &o);
	CHECK_INTEQ(o.fo_mss, 1200);
	cfg_free(c);
	return t_done("test_offer");
}

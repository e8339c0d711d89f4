/*
 * handoffd: a userspace TCP handoff proxy.  main() loads the configuration,
 * opens the TUN device, starts the node (node.c) and runs one libevent
 * loop until SIGINT or SIGTERM.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "alog.h"
#include "btcp.h"
#include "conf.h"
#include "handoffd.h"
#include "hostcheck.h"
#include "log.h"
#include "notify.h"
#include "priv.h"
#include "tun.h"

/* HANDOFFD_CONF_DEFAULT is configure's sysconfdir/handoffd/handoffd.yaml,
 * defined by the Makefile. */

/* What main() runs besides the node: the TUN device and the signals. */
struct hd_main {
	struct event	*m_tun_ev;
	struct event	*m_sigs[5];
};

#define HD_USAGE	"usage: handoffd [-dhnvV] [-c file] [-p key]\n"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, HD_USAGE);
	exit(1);
}

/* -h: what the options are, on standard output, and exit 0. */
static void __attribute__((noreturn))
help(void)
{
	printf(HD_USAGE
	    "  -c file  the configuration (default %s)\n"
	    "  -d       stay in the foreground and log to standard error\n"
	    "  -h       print this help and exit\n"
	    "  -n       check the configuration and the host, then exit\n"
	    "  -p key   print a key's value, like tun.name or "
	    "services[].listen, and exit\n"
	    "  -v       log more (twice: per-packet detail)\n"
	    "  -V       print the version and exit\n", HANDOFFD_CONF_DEFAULT);
	exit(0);
}

static void
hd_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static void
hd_sig_stop(int sig, short events, void *arg)
{
	struct hd	*hd = arg;

	log_info("%s: shutting down", strsignal(sig));
	notify("STOPPING=1");
	event_base_loopbreak(hd->hd_base);
}

static void
hd_sig_hup(int sig, short events, void *arg)
{
	char	 err[1024];

	log_info("SIGHUP: reloading the configuration");
	notify("RELOADING=1");
	if (node_reload(arg, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	notify("READY=1");
}

static void
hd_sig_usr1(int sig, short events, void *arg)
{
	stats_log(arg);
}

static void
hd_sig_usr2(int sig, short events, void *arg)
{
	struct hd	*hd = arg;
	char		 err[256];

	if (hd->hd_alog != NULL)
		alog_reopen(hd->hd_alog, err, sizeof(err));
}

/* What -n finds on the host against the configuration. */
static void
hd_host_print(void *arg, const char *msg)
{
	fprintf(stderr, "warning: %s\n", msg);
}

/* -n: the access log opens as the daemon would open it at start (a file
 * it cannot open stops the daemon; it is created, as then); -1 if not. */
static int
hd_check_alog(const struct cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_node	*cn = &cfg->cfg_node;
	struct event_base	*base;
	struct alog		*al;
	uint64_t		 lines = 0, lost = 0;
	int			 rc;

	if (cn->cn_access_log[0] == '\0')
		return 0;
	if ((base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	al = alog_open(base, cn->cn_id, cn->cn_access_log,
	    cn->cn_access_log_facility, cn->cn_user[0] != '\0' ? cn->cn_uid :
	    (uid_t)-1, cn->cn_gid, &lines, &lost, err, errlen);
	rc = al != NULL ? 0 : -1;
	alog_free(al);
	event_base_free(base);
	return rc;
}

/* ... and what the daemon finds at start, once its device is open. */
static void
hd_host_log(void *arg, const char *msg)
{
	log_warnx("host: %s", msg);
}

/* The BTCP's writes go to the device. */
static ssize_t
hd_tun_write(void *arg, const uint8_t *pkt, size_t len,
    const struct pkt_meta *m)
{
	const struct hd	*hd = arg;

	return tun_write(hd->hd_tun_fd, pkt, len, m);
}

/* Opens the TUN device and configures it if the configuration says how. */
static void
hd_tun_open(struct hd *hd)
{
	const struct cfg_tun	*ct = &hd->hd_cfg->cfg_tun;
	char			 ip[INET_ADDRSTRLEN];

	hd->hd_tun_fd = tun_open(ct->ct_name,
	    ct->ct_offload ? TUN_OFFLOAD : 0, &hd->hd_tun);
	if (hd->hd_tun_fd == -1)
		fatal("tun %s: cannot open%s", ct->ct_name,
		    errno == EPERM ? " (create it as root, or own a "
		    "persistent device: ip tuntap add mode tun user ...)" : "");
	if (tun_configure(hd->hd_tun.ti_name,
	    ct->ct_has_addr ? ct->ct_addr : INADDR_ANY, ct->ct_prefix,
	    ct->ct_mtu) == -1)
		fatalx("tun %s: cannot configure", hd->hd_tun.ti_name);
	hd->hd_tun_out.bt_write = hd_tun_write;
	hd->hd_tun_out.bt_arg = hd;
	hd->hd_tun_out.bt_offload = hd->hd_tun.ti_offload;
	inet_ntop(AF_INET, &hd->hd_cfg->cfg_lwip.cl_addr, ip, sizeof(ip));
	log_info("tun %s %s%s, lwIP %s at %s", hd->hd_tun.ti_name,
	    hd->hd_tun.ti_created ? "created" : "attached",
	    hd->hd_tun.ti_offload ? " with offloads" : "",
	    HANDOFFD_LWIP_VERSION, ip);
}

/* Brings up the node, its TUN device and the signals; any failure is
 * fatal. */
static void
hd_start(struct hd *hd, struct hd_main *hm)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1,
				    SIGUSR2 };
	static event_callback_fn const cbs[] = { hd_sig_stop, hd_sig_stop,
				    hd_sig_hup, hd_sig_usr1, hd_sig_usr2 };
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (LimitFSIZE=) loses access log lines, counted,
	 * instead of killing the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	event_set_log_callback(hd_libevent_log);
	if ((hd->hd_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	hd_tun_open(hd);
	hostcheck(hd->hd_cfg, hd_host_log, NULL);
	node_start(hd);
	hm->m_tun_ev = event_new(hd->hd_base, hd->hd_tun_fd,
	    EV_READ | EV_PERSIST, btcp_tun_readable, hd);
	if (hm->m_tun_ev == NULL || event_add(hm->m_tun_ev, NULL) == -1)
		fatalx("cannot watch the tun device");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((hm->m_sigs[i] = evsignal_new(hd->hd_base, sigs[i], cbs[i],
		    hd)) == NULL || event_add(hm->m_sigs[i], NULL) == -1)
			fatalx("cannot install signal handlers");
}

/* Releases everything hd_start() acquired, so that sanitizers see no leak.
 * The TUN goes last: the node's teardown resets the clients of what lwIP
 * held (the connections that cannot outlive the process), and sends
 * nothing after. */
static void
hd_stop(struct hd *hd, struct hd_main *hm)
{
	size_t	 i;

	for (i = 0; i < sizeof(hm->m_sigs) / sizeof(hm->m_sigs[0]); i++)
		event_free(hm->m_sigs[i]);
	event_free(hm->m_tun_ev);
	node_stop(hd);
	close(hd->hd_tun_fd);
	/* A bufferevent freed with a callback still deferred (the control
	 * channel's TLS defers them) goes when that callback runs, which
	 * event_base_free() cancels instead: the loop runs once more, without
	 * waiting, for them alone, since nothing else is left to run. */
	event_base_loop(hd->hd_base, EVLOOP_NONBLOCK);
	event_base_free(hd->hd_base);
	libevent_global_shutdown();
}

int
main(int argc, char *argv[])
{
	struct hd	 hd;
	struct hd_main	 hm;
	const char	*path = HANDOFFD_CONF_DEFAULT, *key = NULL;
	char		*real;
	char		 err[1024];
	int		 ch, debug = 0, noaction = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "c:dhnp:vV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			help();
		case 'p':
			key = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("handoffd %s (lwIP %s)\n", PACKAGE_VERSION,
			    HANDOFFD_LWIP_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	memset(&hd, 0, sizeof(hd));
	if ((hd.hd_cfg = cfg_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* A reload reads it again, from wherever the daemon is by then. */
	if ((real = realpath(path, NULL)) != NULL) {
		free(hd.hd_cfg->cfg_path);
		hd.hd_cfg->cfg_path = real;
	}
	if (key != NULL) {
		ch = cfg_print(hd.hd_cfg, key, stdout, err, sizeof(err));
		if (ch == -1)
			fprintf(stderr, "%s\n", err);
		cfg_free(hd.hd_cfg);
		return ch == -1 ? 1 : 0;
	}
	if (noaction) {
		log_setwarnprefix("warning: ");
		hostcheck(hd.hd_cfg, hd_host_print, NULL);
		ch = hd_check_alog(hd.hd_cfg, err, sizeof(err));
		if (ch == -1)
			fprintf(stderr, "%s\n", err);
		else
			printf("configuration OK\n");
		cfg_free(hd.hd_cfg);
		return ch == -1 ? 1 : 0;
	}
	/* What the start says (host warnings, limits, root) goes to syslog
	 * too, where the daemon it becomes logs. */
	if (!debug)
		log_init_both(LOG_DAEMON);
	priv_nofile(hd.hd_cfg);

	memset(&hm, 0, sizeof(hm));
	hd_start(&hd, &hm);
	priv_drop(hd.hd_cfg);
	if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, LOG_DAEMON);
		/* epoll does not survive fork() on every backend. */
		if (event_reinit(hd.hd_base) == -1)
			fatalx("event_reinit");
	}
	log_info("node %s running", hd.hd_cfg->cfg_node.cn_id);
	notify("READY=1");
	event_base_dispatch(hd.hd_base);
	hd_stop(&hd, &hm);
	log_info("node %s stopped", hd.hd_cfg->cfg_node.cn_id);
	cfg_free(hd.hd_cfg);
	return 0;
}

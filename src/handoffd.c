/*
 * handoffd: a userspace TCP handoff proxy.  main() loads the configuration,
 * opens the TUN device, starts lwIP and runs one libevent loop until
 * SIGINT or SIGTERM.
 */
#include <sys/stat.h>
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

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"

#include "config.h"
#include "conf.h"
#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "tun.h"
#include "handoff/cookie.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/peer.h"
#include "handoff/relay.h"

#ifndef HANDOFFD_CONF_DEFAULT
#define HANDOFFD_CONF_DEFAULT	"/etc/handoffd/handoffd.yaml"
#endif

/* lwIP's timers run when lwIP says the next one is due (its TCP timer
 * every TCP_TMR_INTERVAL while it has connections), and this often while
 * it has none: then only its slow timer (TIME_WAIT) has work. */
#define HD_LWIP_IDLE_MS		50
#define HD_STATUS_MS		1000
/* The flow clock's sweep: every tick looks at a tenth of the table, so a
 * flow expires at most a second late. */
#define HD_EXPIRE_MS		100

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: handoffd [-dnvV] [-c file]\n");
	exit(1);
}

static void
hd_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Sets lwIP's timer for its next deadline, or for HD_LWIP_IDLE_MS
 * without a connection. */
static void
hd_lwip_arm(struct hd *hd)
{
	struct timeval	 tv;
	u32_t		 ms;

	ms = sys_timeouts_sleeptime();
	hd->hd_lwip_idle = tcp_active_pcbs == NULL;
	if (hd->hd_lwip_idle || ms > HD_LWIP_IDLE_MS)
		ms = HD_LWIP_IDLE_MS;
	tv.tv_sec = 0;
	tv.tv_usec = ms * 1000;
	if (evtimer_add(hd->hd_lwip_tmr, &tv) == -1)
		fatalx("cannot rearm lwIP's timer");
}

static void
hd_lwip_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;

	sys_check_timeouts();
	hd_lwip_arm(hd);
}

/* Once the callback that put lwIP to work is over: its segments held
 * for a super-packet go out, and a connection it started gets timers. */
static void
hd_lwip_after(int fd, short events, void *arg)
{
	struct hd	*hd = arg;

	tunif_flush(hd->hd_lwip);
	if (hd->hd_lwip_idle && tcp_active_pcbs != NULL)
		hd_lwip_arm(hd);
}

static void
hd_lwip_kick(void *arg)
{
	struct hd	*hd = arg;

	event_active(hd->hd_lwip_after, EV_WRITE, 0);
}

static void
hd_expire_one(struct flow *f, void *arg)
{
	struct hd	*hd = arg;

	if (f->f_role == FLOW_FE)
		fe_expire(hd, f);
	else if (f->f_role == FLOW_BE)
		be_expire(hd, f);
	else
		flow_remove(hd->hd_flows, f);
}

static void
hd_expire_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	unsigned int	 budget = flow_capacity(hd->hd_flows) / 10;

	hd->hd_now = port_now_ms();
	flow_expire(hd->hd_flows, hd->hd_now, budget < 256 ? 256 : budget,
	    hd_expire_one, hd);
	relay_expire(hd, hd->hd_now, hd->hd_cfg->cfg_handoff.ch_idle_ms);
}

static void
hd_status_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	const char	*path = hd->hd_cfg->cfg_node.cn_status_file;
	static struct log_rl rl;

	if (stats_write(hd, path) == -1)
		log_ratelim(&rl, "status file %s: %s", path, strerror(errno));
}

static void
hd_sig_stop(int sig, short events, void *arg)
{
	struct hd	*hd = arg;

	log_info("%s: shutting down", strsignal(sig));
	event_base_loopbreak(hd->hd_base);
}

static void
hd_sig_hup(int sig, short events, void *arg)
{
	log_info("SIGHUP: reloading is not supported yet, "
	    "the configuration is unchanged (restart to apply changes)");
}

static void
hd_sig_usr1(int sig, short events, void *arg)
{
	stats_log(arg);
}

static struct event *
hd_timer(struct hd *hd, int ms, event_callback_fn cb)
{
	struct event	*ev;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if ((ev = event_new(hd->hd_base, -1, EV_PERSIST, cb, hd)) == NULL ||
	    event_add(ev, &tv) == -1)
		fatalx("cannot add a timer");
	return ev;
}

/* Opens the TUN device and configures it if the configuration says how. */
static void
hd_tun_open(struct hd *hd)
{
	const struct cfg_tun	*ct = &hd->hd_cfg->cfg_tun;
	char			 ip[INET_ADDRSTRLEN];

	hd->hd_tun_fd = tun_open(ct->ct_name, ct->ct_offload, &hd->hd_tun);
	if (hd->hd_tun_fd == -1)
		fatal("tun %s: cannot open%s", ct->ct_name,
		    errno == EPERM ? " (create it as root, or own a "
		    "persistent device: ip tuntap add mode tun user ...)" : "");
	if (tun_configure(hd->hd_tun.ti_name,
	    ct->ct_has_addr ? ct->ct_addr : INADDR_ANY, ct->ct_prefix,
	    ct->ct_mtu) == -1)
		fatalx("tun %s: cannot configure", hd->hd_tun.ti_name);
	inet_ntop(AF_INET, &hd->hd_cfg->cfg_lwip.cl_addr, ip, sizeof(ip));
	log_info("tun %s %s%s, lwIP %s at %s", hd->hd_tun.ti_name,
	    hd->hd_tun.ti_created ? "created" : "attached",
	    hd->hd_tun.ti_offload ? " with offloads" : "",
	    HANDOFFD_LWIP_VERSION, ip);
}

/* Brings everything up in dependency order; any failure is fatal. */
static void
hd_start(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	static const int	 stops[] = { SIGINT, SIGTERM };
	int			 i;

	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(hd_libevent_log);
	if ((hd->hd_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	TAILQ_INIT(&hd->hd_relays);
	if (cfg->cfg_handoff.ch_stack == CFG_STACK_KERNEL)
		hd->hd_kstack_addr = cfg->cfg_node.cn_server.ep_addr;
	hd->hd_now = port_now_ms();
	if ((hd->hd_rxbuf = malloc(PKT_MAXLEN)) == NULL ||
	    (hd->hd_txbuf = malloc(PKT_MAXLEN)) == NULL)
		fatal("malloc");
	if ((hd->hd_flows = flow_table_new(cfg->cfg_handoff.ch_max_flows)) ==
	    NULL)
		fatal("flow table of %d flows", cfg->cfg_handoff.ch_max_flows);

	port_init();
	if ((hd->hd_cookie = cookie_key_new()) == NULL)
		fatalx("cannot set up the SYN cookie key");
	if ((hd->hd_lwip = calloc(1, sizeof(*hd->hd_lwip))) == NULL)
		fatal("calloc");
	if ((hd->hd_lwip_after = event_new(hd->hd_base, -1, 0, hd_lwip_after,
	    hd)) == NULL)
		fatalx("cannot add an event");
	tunif_init(hd->hd_lwip, cfg->cfg_lwip.cl_addr, cfg->cfg_tun.ct_mtu,
	    btcp_lwip_output, hd_lwip_kick, hd);
	for (i = 0; i < cfg->cfg_nservices; i++)
		if (tunif_add_vip(hd->hd_lwip,
		    cfg->cfg_services[i].cs_vip.ep_addr) == -1)
			fatalx("too many VIPs for lwIP");

	if (fe_init(hd) == -1)
		fatalx("cannot listen on the VIPs in lwIP");
	if (be_init(hd) == -1)
		fatalx("cannot start the back-end");
	if (peer_init(hd) == -1)
		fatalx("cannot start the control channel");
	if (health_init(hd) == -1)
		fatalx("cannot start the health checks");

	hd_tun_open(hd);
	hd->hd_tun_ev = event_new(hd->hd_base, hd->hd_tun_fd,
	    EV_READ | EV_PERSIST, btcp_tun_readable, hd);
	if (hd->hd_tun_ev == NULL || event_add(hd->hd_tun_ev, NULL) == -1)
		fatalx("cannot watch the tun device");
	if (hd->hd_tun.ti_offload)
		tunif_gso(hd->hd_lwip);
	if ((hd->hd_lwip_tmr = evtimer_new(hd->hd_base, hd_lwip_tick, hd)) ==
	    NULL)
		fatalx("cannot add a timer");
	hd_lwip_arm(hd);
	hd->hd_expire_tmr = hd_timer(hd, HD_EXPIRE_MS, hd_expire_tick);
	if (cfg->cfg_node.cn_status_file[0] != '\0')
		hd->hd_status_tmr = hd_timer(hd, HD_STATUS_MS, hd_status_tick);

	for (i = 0; i < 2; i++)
		hd->hd_sigs[i] = evsignal_new(hd->hd_base, stops[i],
		    hd_sig_stop, hd);
	hd->hd_sigs[2] = evsignal_new(hd->hd_base, SIGHUP, hd_sig_hup, hd);
	hd->hd_sigs[3] = evsignal_new(hd->hd_base, SIGUSR1, hd_sig_usr1, hd);
	for (i = 0; i < 4; i++)
		if (hd->hd_sigs[i] == NULL ||
		    event_add(hd->hd_sigs[i], NULL) == -1)
			fatalx("cannot install signal handlers");
}

/* Whatever lwIP still holds goes without a word on the wire. */
static void
hd_lwip_drop_all(void)
{
	struct tcp_pcb	*pcb;

	while ((pcb = tcp_active_pcbs) != NULL || (pcb = tcp_tw_pcbs) != NULL) {
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		tcp_sent(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_abandon(pcb, 0);
	}
}

/* Releases everything hd_start() acquired, so that sanitizers see no leak. */
static void
hd_stop(struct hd *hd)
{
	struct relay	*r;
	size_t		 i;

	if (hd->hd_status_tmr != NULL)
		hd_status_tick(-1, 0, hd);
	for (i = 0; i < sizeof(hd->hd_sigs) / sizeof(hd->hd_sigs[0]); i++)
		if (hd->hd_sigs[i] != NULL)
			event_free(hd->hd_sigs[i]);
	if (hd->hd_status_tmr != NULL)
		event_free(hd->hd_status_tmr);
	event_free(hd->hd_lwip_tmr);
	event_free(hd->hd_expire_tmr);
	event_free(hd->hd_tun_ev);
	close(hd->hd_tun_fd);
	peer_shutdown(hd);
	fe_shutdown(hd);
	be_shutdown(hd);
	while ((r = TAILQ_FIRST(&hd->hd_relays)) != NULL)
		relay_abort(r);
	health_shutdown(hd);
	hd_lwip_drop_all();
	tunif_shutdown(hd->hd_lwip);
	/* lwIP may have asked for it while shutting down */
	event_free(hd->hd_lwip_after);
	free(hd->hd_lwip);
	flow_table_free(hd->hd_flows);
	cookie_key_free(hd->hd_cookie);
	free(hd->hd_rxbuf);
	free(hd->hd_txbuf);
	event_base_free(hd->hd_base);
	libevent_global_shutdown();
}

/* Warns about a key file others can read: the key admits injection. */
static void
hd_check_key_mode(const struct cfg *cfg)
{
	struct stat	 sb;

	if (stat(cfg->cfg_control.cc_key_file, &sb) == 0 &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warnx("%s: readable by others; chmod 600 it",
		    cfg->cfg_control.cc_key_file);
}

int
main(int argc, char *argv[])
{
	struct hd	 hd;
	const char	*path = HANDOFFD_CONF_DEFAULT;
	char		 err[1024];
	int		 ch, debug = 0, noaction = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "c:dnvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
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
	if (noaction) {
		printf("configuration OK\n");
		cfg_free(hd.hd_cfg);
		return 0;
	}
	hd_check_key_mode(hd.hd_cfg);

	hd_start(&hd);
	if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, LOG_DAEMON);
		/* epoll does not survive fork() on every backend. */
		if (event_reinit(hd.hd_base) == -1)
			fatalx("event_reinit");
	}
	log_info("node %s running", hd.hd_cfg->cfg_node.cn_id);
	event_base_dispatch(hd.hd_base);
	hd_stop(&hd);
	log_info("node %s stopped", hd.hd_cfg->cfg_node.cn_id);
	cfg_free(hd.hd_cfg);
	return 0;
}

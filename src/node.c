/*
 * A node: everything one handoffd runs, brought up and torn down in
 * dependency order.  The flow table, lwIP on its TUN netifs, the front-end
 * and back-end roles, the control channel with msg.c's routing, health
 * checks, the clocks that drive lwIP's timers, flow expiry and the status
 * file, the admin socket and the metrics.  This is the one place that
 * names every role; main() (and the scenario tests) only provide the event
 * loop, the TUN and, if not TCP, the control transport (struct hd's first
 * fields).
 */
#include <sys/queue.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"

#include "admin.h"
#include "alog.h"
#include "btcp.h"
#include "flow.h"
#include "handoffd.h"
#include "hostcheck.h"
#include "log.h"
#include "metrics.h"
#include "sipkey.h"
#include "state.h"
#include "lwip-port/port.h"
#include "lwip-port/tunif.h"
#include "handoff/cookie.h"
#include "handoff/replay.h"
#include "handoff/handoff.h"
#include "handoff/health.h"
#include "handoff/msg.h"
#include "handoff/peer.h"
#include "handoff/relay.h"

/* lwIP's timers run when lwIP says the next one is due (its TCP timer
 * every TCP_TMR_INTERVAL while it has connections), and this often while
 * none has work for the fast timer: then only the slow one (RTOs,
 * TIME_WAIT, every TCP_SLOW_INTERVAL by the clock) has any. */
#define NODE_LWIP_IDLE_MS	50
#define NODE_STATUS_MS		1000
/* The flow clock's sweep: every tick looks at a tenth of the table, so a
 * flow expires at most a second late. */
#define NODE_EXPIRE_MS		100
/* lwip.loss_tolerance auto where the kernel runs BBR: BBR v2's 2% */
#define NODE_LOSS_BBR		20

static void
node_expire_one(struct flow *f, void *arg)
{
	f->f_ops->fo_expire(arg, f);
}

/* Hands the flows idle past their timeout, among budget slots, to their
 * owners, and resets relays idle for handoff.idle. */
static void
node_expire(struct hd *hd, unsigned int budget)
{
	hd->hd_now = port_now_ms();
	flow_expire(hd->hd_flows, hd->hd_now, budget, node_expire_one, hd);
	relay_expire(hd, hd->hd_now, hd->hd_cfg->cfg_handoff.ch_idle_ms);
}

/* Sets lwIP's timer for its next deadline, or for NODE_LWIP_IDLE_MS
 * without a connection the fast timer has work for.  On Linux a timerfd
 * of its own: libevent's timers run on the kernel's coarse clock, which
 * moves a jiffy at a time (4 ms here), and a tail loss probe due in a
 * millisecond went in four; its precise clock would cost every turn of
 * the loop a system call (a timerfd rearmed), this one a tick. */
static void
node_lwip_arm(struct hd *hd)
{
#ifdef __linux__
	struct itimerspec its;
#else
	struct timeval	 tv;
#endif
	u32_t		 ms;

	if (hd->hd_lwip_tmr == NULL)
		return;		/* the caller keeps the time */
	ms = sys_timeouts_sleeptime();
	hd->hd_lwip_idle = !tcp_fast_busy();
	if (hd->hd_lwip_idle || ms > NODE_LWIP_IDLE_MS)
		ms = NODE_LWIP_IDLE_MS;
#ifdef __linux__
	memset(&its, 0, sizeof(its));
	/* 0 would disarm it: due now is due in a microsecond */
	its.it_value.tv_nsec = ms > 0 ? (long)ms * 1000000 : 1000;
	if (timerfd_settime(hd->hd_lwip_tfd, 0, &its, NULL) == -1)
		fatal("cannot rearm lwIP's timer");
#else
	tv.tv_sec = 0;
	tv.tv_usec = ms * 1000;
	if (evtimer_add(hd->hd_lwip_tmr, &tv) == -1)
		fatalx("cannot rearm lwIP's timer");
#endif
}

static void
node_on_lwip_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	uint64_t	 n;

	if (fd != -1 && read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("lwIP's timer");
	/* one clock reading for every connection the timers visit */
	port_clock_hold();
	sys_check_timeouts();
	port_clock_release();
	node_lwip_arm(hd);
}

/* lwIP's timer (node_lwip_arm), armed. */
static void
node_lwip_timer(struct hd *hd)
{
	hd->hd_lwip_tfd = -1;
#ifdef __linux__
	if ((hd->hd_lwip_tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		fatal("timerfd_create");
#endif
	if ((hd->hd_lwip_tmr = event_new(hd->hd_base, hd->hd_lwip_tfd,
	    hd->hd_lwip_tfd != -1 ? EV_READ | EV_PERSIST : 0,
	    node_on_lwip_tick, hd)) == NULL ||
	    (hd->hd_lwip_tfd != -1 && event_add(hd->hd_lwip_tmr, NULL) == -1))
		fatalx("cannot add a timer");
	node_lwip_arm(hd);
}

/* Once the callback that put lwIP to work is over: its segments held
 * for a super-packet go out, and a connection it started gets timers. */
static void
node_on_lwip_after(int fd, short events, void *arg)
{
	struct hd	*hd = arg;

	tunif_flush(hd->hd_lwip);
	if (hd->hd_lwip_idle && tcp_fast_busy())
		node_lwip_arm(hd);
}

/* lwIP was put to work (tunif's after callback). */
static void
node_lwip_kick(void *arg)
{
	struct hd	*hd = arg;

	event_active(hd->hd_lwip_after, EV_WRITE, 0);
}

/* lwIP's own chores and counts, once a tick. */
static void
node_lwip_tick(struct hd *hd)
{
	struct hd_stats		*st = &hd->hd_stats;
	struct port_tcp_counts	 c;

	if (hd->hd_lwip == NULL)
		return;
	st->st_lwip_tw_cut += port_tcp_trim_timewait(PORT_TIMEWAIT_MAX);
	port_take_tcp_counts(&c);
	st->st_lwip_dupack_loss += c.pt_dupack_loss;
	st->st_lwip_sent += c.pt_sent;
	st->st_lwip_resent += c.pt_resent;
	st->st_lwip_loss_cut += c.pt_loss_cut;
	st->st_lwip_loss_kept += c.pt_loss_kept;
	st->st_lwip_loss_late += c.pt_loss_late;
	st->st_lwip_loss_undone += c.pt_loss_undone;
	st->st_lwip_rto += c.pt_rto;
}

static void
node_on_expire_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	unsigned int	 budget = flow_capacity(hd->hd_flows) / 10;

	node_expire(hd, budget < 256 ? 256 : budget);
	node_lwip_tick(hd);
	fe_cookie_tick(hd);
	/* The kernel's drops into the TUN, as often as the status file. */
	if (hd->hd_tun_fd != -1 &&
	    hd->hd_now - hd->hd_tun_drops_ms >= NODE_STATUS_MS) {
		hd->hd_tun_drops_ms = hd->hd_now;
		tun_queue_drops(&hd->hd_tun, &hd->hd_stats.st_drop_tun_queue);
	}
}

static void
node_on_status_tick(int fd, short events, void *arg)
{
	struct hd	*hd = arg;
	const char	*path = hd->hd_cfg->cfg_node.cn_status_file;
	static struct log_rl rl;

	if (stats_write(hd, path) == -1)
		log_ratelim(&rl, "status file %s: %s", path, strerror(errno));
}

static struct event *
node_timer(struct hd *hd, int ms, event_callback_fn cb)
{
	struct event	*ev;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if ((ev = event_new(hd->hd_base, -1, EV_PERSIST, cb, hd)) == NULL ||
	    event_add(ev, &tv) == -1)
		fatalx("cannot add a timer");
	return ev;
}

/* One turn of every clock at once, for a caller that keeps the time. */
void
node_tick(struct hd *hd)
{
	sys_check_timeouts();
	node_expire(hd, flow_capacity(hd->hd_flows));
	node_lwip_tick(hd);
	fe_cookie_tick(hd);
}

/* lwIP keeps out-of-order data while it holds less than 64 MB and 1 KB per
 * flow; a connection not routed yet, a head's worth.  Past that and 20 KB
 * more per flow, every relay queues least (relay.c): max_flows clients
 * that never read, held at that least (15 KB each in t_slowread), do not
 * reach it. */
static void
node_lwip_limits(struct hd *hd)
{
	const struct cfg_handoff *ch = &hd->hd_cfg->cfg_handoff;
	size_t	 budget = ((size_t)64 << 20) + ((size_t)ch->ch_max_flows << 10);

	port_set_limits(budget, budget + (size_t)ch->ch_max_flows * (20 << 10),
	    (uint32_t)ch->ch_request_head_max);
}

/*
 * The share of its transmissions an lwIP connection may lose, in
 * thousandths, before a loss episode cuts its window (patch 0031): the
 * configured percent, or with auto, NODE_LOSS_BBR where the kernel's
 * congestion control is BBR, which takes no loss for congestion, and none
 * otherwise, so that lwIP answers loss as the kernel stack beside it does.
 * A reload reads the kernel's again.
 */
static void
node_lwip_loss(struct hd *hd)
{
	const struct cfg_lwip *cl = &hd->hd_cfg->cfg_lwip;
	char		 cc[32] = "";
	int		 tol;

	if (cl->cl_loss_tol != CFG_LOSS_AUTO)
		tol = (cl->cl_loss_tol - 1) * 10;
	else if (hostcheck_congestion(cc, sizeof(cc)) == 0 &&
	    strncmp(cc, "bbr", 3) == 0)
		tol = NODE_LOSS_BBR;
	else
		tol = 0;
	port_set_loss_tolerance((unsigned int)tol);
	if (tol == hd->hd_loss_tol)
		return;
	hd->hd_loss_tol = tol;
	if (cl->cl_loss_tol != CFG_LOSS_AUTO)
		log_info("lwip: loss tolerance %d%%", tol / 10);
	else
		log_info("lwip: loss tolerance %d%% (auto: the kernel's "
		    "congestion control is %s)", tol / 10,
		    cc[0] != '\0' ? cc : "unknown");
}

/* A flow of the last process: under the index this configuration gives
 * its peer, then its owner's to decide. */
static void
node_adopt_one(struct flow *f, int lost, void *arg)
{
	struct hd	*hd = arg;
	int		 peer = state_peer(hd->hd_state, hd->hd_cfg, f->f_peer);

	if (peer == -1) {
		f->f_peer = PEER_LOCAL;
		f->f_flags |= FLOW_ORPHAN;
		lost = 1;
	} else
		f->f_peer = (uint16_t)peer;
	if (f->f_ops->fo_adopt(hd, f, lost))
		hd->hd_stats.st_state_adopted++;
	else
		hd->hd_stats.st_state_lost++;
}

/* Takes over what the last process left in node.state_file. */
static void
node_adopt(struct hd *hd)
{
	static const struct flow_ops *const owners[FLOW_OWNER_MAX] = {
		[FLOW_OWNER_FE] = &fe_flow_ops,
		[FLOW_OWNER_BE] = &be_flow_ops,
	};
	const char	*path = hd->hd_cfg->cfg_node.cn_state_file;

	if (state_attached(hd->hd_state)) {
		flow_table_adopt(hd->hd_flows, owners, FLOW_OWNER_MAX,
		    hd->hd_now, node_adopt_one, hd);
		log_info("state: %s: %llu connections go on, %llu were lost "
		    "with the last process", path,
		    (unsigned long long)hd->hd_stats.st_state_adopted,
		    (unsigned long long)hd->hd_stats.st_state_lost);
	}
}

/* Brings the node up on hd's event loop; any failure is fatal. */
int
node_start(struct hd *hd)
{
	const struct cfg	*cfg = hd->hd_cfg;
	char			 err[4200];
	int			 i;

	TAILQ_INIT(&hd->hd_relays);
	TAILQ_INIT(&hd->hd_fe_young);
	hd->hd_reload = node_reload;
	if (cfg->cfg_handoff.ch_stack == CFG_STACK_KERNEL)
		hd->hd_kstack_addr = cfg->cfg_node.cn_server.ep_addr;
	else
		hd->hd_kstack_addr = addr4(0);
	if (cfg->cfg_handoff.ch_stack == CFG_STACK_KERNEL)
		hd->hd_kstack_addr6 = cfg->cfg_node.cn_server6;
	ksock_init(&hd->hd_ksock, hd->hd_tun.ti_name);
	hd->hd_now = port_now_ms();
	if ((hd->hd_rxbuf = malloc(PKT_MAXLEN)) == NULL ||
	    (hd->hd_txbuf = malloc(PKT_MAXLEN)) == NULL ||
	    (hd->hd_relaybuf = malloc(RELAY_READ)) == NULL)
		fatal("malloc");
	if (cfg->cfg_node.cn_state_file[0] != '\0') {
		if ((hd->hd_state = state_open(cfg->cfg_node.cn_state_file, cfg,
		    err, sizeof(err))) == NULL)
			fatalx("node.state_file %s", err);
		hd->hd_boot = state_boot(hd->hd_state);
		/* Whom the file's flows name is kept aside for node_adopt(). */
		state_set_peers(hd->hd_state, cfg);
		hd->hd_peer_boot = state_peer_boots(hd->hd_state);
	}
	if ((hd->hd_flows = flow_table_new(cfg->cfg_handoff.ch_max_flows,
	    hd->hd_state != NULL ? state_flows(hd->hd_state) : NULL)) == NULL)
		fatal("flow table of %d flows", cfg->cfg_handoff.ch_max_flows);

	port_init((uint32_t)cfg->cfg_handoff.ch_max_flows);
	node_lwip_limits(hd);
	hd->hd_loss_tol = -1;
	node_lwip_loss(hd);
	if ((hd->hd_cookie = sipkey_new()) == NULL)
		fatalx("cannot set up the SYN cookie key");
	/* A cookie period's new connections: four times the table, about
	 * 32,000 a second by default. */
	if ((hd->hd_replay = replay_new((uint32_t)cfg->cfg_handoff.ch_max_flows *
	    4)) == NULL)
		fatal("the set of used SYN cookies");
	if ((hd->hd_lwip = calloc(1, sizeof(*hd->hd_lwip))) == NULL)
		fatal("calloc");
	if ((hd->hd_lwip_after = event_new(hd->hd_base, -1, 0,
	    node_on_lwip_after, hd)) == NULL)
		fatalx("cannot add an event");
	tunif_init(hd->hd_lwip, cfg->cfg_lwip.cl_addr, &cfg->cfg_lwip.cl_addr6,
	    cfg->cfg_tun.ct_mtu, btcp_lwip_output, node_lwip_kick, hd);
	if (hd->hd_tun_out.bt_offload)
		tunif_gso(hd->hd_lwip);
	for (i = 0; i < cfg->cfg_nservices; i++)
		if (tunif_add_vip(hd->hd_lwip,
		    &cfg->cfg_services[i].cs_vip.ep_addr) == -1)
			fatalx("too many VIPs for lwIP");

	if (fe_init(hd) == -1)
		fatalx("cannot listen on the VIPs in lwIP");
	if (peer_init(hd, &msg_handlers) == -1)
		fatalx("cannot start the control channel");
	if (health_init(hd) == -1)
		fatalx("cannot start the health checks");

	if (!hd->hd_manual_clock) {
		node_lwip_timer(hd);
		hd->hd_expire_tmr = node_timer(hd, NODE_EXPIRE_MS,
		    node_on_expire_tick);
	}
	if (cfg->cfg_node.cn_status_file[0] != '\0')
		hd->hd_status_tmr = node_timer(hd, NODE_STATUS_MS,
		    node_on_status_tick);
	if (cfg->cfg_node.cn_access_log[0] != '\0' && (hd->hd_alog =
	    alog_open(hd->hd_base, cfg->cfg_node.cn_id,
	    cfg->cfg_node.cn_access_log, cfg->cfg_node.cn_access_log_facility,
	    cfg->cfg_node.cn_user[0] != '\0' ? cfg->cfg_node.cn_uid : (uid_t)-1,
	    cfg->cfg_node.cn_gid, &hd->hd_stats.st_access_log_lines,
	    &hd->hd_stats.st_access_log_lost, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (admin_start(hd) == -1)
		fatalx("cannot open the admin socket (node.admin_socket)");
	if (metrics_start(hd) == -1)
		fatalx("cannot serve the metrics (metrics.listen)");
	/* Last: a start that fails leaves the flows in the file as they were. */
	if (hd->hd_state != NULL)
		node_adopt(hd);
	return 0;
}

/*
 * SIGHUP and handoffctl reload (handoffd(8) RELOAD): the configuration
 * file again, checked whole, then applied at once.  A file that does not
 * load, or changes what cannot change while running, leaves the running
 * configuration as it is; err says why (file:line:col for the file's
 * errors).  Connections go on: established ones know nothing of the
 * configuration, and those not handed off yet move to the new one
 * (fe_reload).  Returns 0, or -1.
 */
int
node_reload(struct hd *hd, char *err, size_t errlen)
{
	struct cfg	*old = hd->hd_cfg, *cfg;
	char		 fixed[512];
	int		 i, rc = 0;

	if ((cfg = cfg_reload(old, err, errlen)) == NULL)
		return -1;
	if (cfg_fixed_changes(old, cfg, fixed, sizeof(fixed)) > 0) {
		snprintf(err, errlen, "%s: cannot change while the daemon runs: "
		    "%s (restart it to apply them)", cfg->cfg_path, fixed);
		cfg_free(cfg);
		return -1;
	}
	if (cfg_keep_peers(cfg, old, err, errlen) == -1) {
		cfg_free(cfg);
		return -1;
	}
	/* lwIP keeps every VIP it ever had: connections to a removed one
	 * may still be going. */
	for (i = 0; i < cfg->cfg_nservices; i++)
		if (tunif_add_vip(hd->hd_lwip,
		    &cfg->cfg_services[i].cs_vip.ep_addr) == -1) {
			snprintf(err, errlen, "%s: service %s: more than %d "
			    "VIP addresses since the daemon started (restart "
			    "it to apply this configuration)", cfg->cfg_path,
			    cfg->cfg_services[i].cs_name, TUNIF_MAX_VIPS);
			cfg_free(cfg);
			return -1;
		}
	hd->hd_cfg = cfg;
	node_lwip_limits(hd);
	node_lwip_loss(hd);
	/* Each part takes the new configuration, whatever another could not
	 * set up: none may keep pointers into the old one. */
	rc |= fe_reload(hd, old);
	rc |= health_reload(hd, old);
	rc |= peer_reload(hd);
	if (hd->hd_state != NULL)
		state_set_peers(hd->hd_state, cfg);
	if (rc != 0)
		snprintf(err, errlen, "%s: applied, but not all of it could be "
		    "set up (see the log)", cfg->cfg_path);
	if (old->cfg_refs == 0)
		cfg_free(old);
	log_info("reload: %s: %d services, %d pools, %d peers", cfg->cfg_path,
	    cfg->cfg_nservices, cfg->cfg_npools, cfg_active_peers(cfg));
	return rc;
}

static void
node_close_one(struct flow *f, void *arg)
{
	f->f_ops->fo_close(arg, f, FLOW_END_SHUTDOWN);
}

/*
 * With node.state_file, a connection that needs nothing but its flow stays
 * there for the next process.  One whose slow-path state dies with this
 * process is closed (what lwIP held, its client reset), and then put back
 * in the file as a kill would have left it (f_ctx not NULL), so that the
 * next process makes sure of its client as after a kill: one whose
 * handoff was under way was told nothing here.  Here the slot is free.
 */
static void
node_stop_one(struct flow *f, void *arg)
{
	struct flow	 keep;

	if (f->f_ctx == NULL)
		return;
	keep = *f;
	f->f_ops->fo_close(arg, f, FLOW_END_SHUTDOWN);
	keep.f_flags |= FLOW_LOGGED;	/* the close wrote its line */
	keep.f_ops = NULL;	/* free here; the handle the peer knows it by */
	keep.f_hnext = f->f_hnext;	/* stays for the next process */
	*f = keep;
}

/* Whatever lwIP still holds of this node goes without a word on the wire. */
static void
node_lwip_drop(struct hd *hd)
{
	struct tcp_pcb	*pcb, *next;
	struct ipaddr	 a;
	int		 tw;

	for (tw = 0; tw < 2; tw++)
		for (pcb = tw ? tcp_tw_pcbs : tcp_active_pcbs; pcb != NULL;
		    pcb = next) {
			next = pcb->next;
			a = port_addr(&pcb->local_ip);
			if (!tunif_owns(hd->hd_lwip, &a))
				continue;
			tcp_arg(pcb, NULL);
			tcp_recv(pcb, NULL);
			tcp_sent(pcb, NULL);
			tcp_err(pcb, NULL);
			tcp_abandon(pcb, 0);
		}
}

/*
 * A front-end's own share, relayed from a VIP, ends with the node: lwIP's
 * reset goes at the last byte it sent, which a window probe may have put
 * past what the client takes (RFC 5961 makes that a challenge, answered
 * by no one); this one goes where the client last acknowledged.  (The
 * back-end's relays were reset with their flows.)
 */
static void
node_relay_reset(struct hd *hd, struct relay *r)
{
	const struct tcp_pcb	*pcb = relay_pcb(r);
	struct ipaddr		 l, c;

	if (pcb == NULL || (pcb->state != ESTABLISHED &&
	    pcb->state != CLOSE_WAIT))
		return;
	l = port_addr(&pcb->local_ip);
	c = port_addr(&pcb->remote_ip);
	if (!btcp_is_lwip_stack(hd, &l))
		btcp_rst(hd, &l, htons(pcb->local_port), &c,
		    htons(pcb->remote_port), pcb->lastack, pcb->rcv_nxt,
		    TH_ACK);
}

/* Releases everything node_start() acquired, so that sanitizers see no
 * leak. */
void
node_stop(struct hd *hd)
{
	struct relay	*r;

	admin_stop(hd);
	metrics_stop(hd);
	if (hd->hd_status_tmr != NULL) {
		node_on_status_tick(-1, 0, hd);
		event_free(hd->hd_status_tmr);
	}
	if (hd->hd_lwip_tmr != NULL) {
		event_free(hd->hd_lwip_tmr);
		hd->hd_lwip_tmr = NULL;
		if (hd->hd_lwip_tfd != -1)
			close(hd->hd_lwip_tfd);
		hd->hd_lwip_tfd = -1;
	}
	if (hd->hd_expire_tmr != NULL)
		event_free(hd->hd_expire_tmr);
	/* The flows first: their records name peers. */
	flow_foreach(hd->hd_flows, hd->hd_state != NULL ? node_stop_one :
	    node_close_one, hd);
	peer_shutdown(hd);
	fe_shutdown(hd);
	be_shutdown(hd);
	while ((r = TAILQ_FIRST(&hd->hd_relays)) != NULL) {
		node_relay_reset(hd, r);
		relay_abort(r);
	}
	health_shutdown(hd);
	/* The clients of what lwIP held have had their resets (sent, not
	 * left joined); what its teardown would send now belongs to no
	 * connection. */
	tunif_flush(hd->hd_lwip);
	hd->hd_tun_out.bt_write = NULL;
	node_lwip_drop(hd);
	tunif_shutdown(hd->hd_lwip);
	/* lwIP may have asked for it while shutting down */
	event_free(hd->hd_lwip_after);
	free(hd->hd_lwip);
	flow_table_free(hd->hd_flows);
	state_close(hd->hd_state);
	sipkey_free(hd->hd_cookie);
	replay_free(hd->hd_replay);
	free(hd->hd_rxbuf);
	free(hd->hd_txbuf);
	free(hd->hd_relaybuf);
	/* Last: the flows' ends above are logged. */
	alog_free(hd->hd_alog);
}

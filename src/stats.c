/* The counters: one report format for the log and the status file. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "lwip-port/port.h"
#include "handoff/health.h"

/*
 * Every counter once: its name in the status file and the log, and its
 * Prometheus family (after "handoffd_"), label and help.  Rows of one
 * family are adjacent, as the exposition format wants them, and the
 * first row of a family carries its help.
 */
#define ST(name, family, label, help)					\
	{ #name, offsetof(struct hd_stats, st_##name), family, label, help }

static const struct stats_counter {
	const char	*sc_name;
	size_t		 sc_off;
	const char	*sc_family;
	const char	*sc_label;	/* name="value", or NULL */
	const char	*sc_help;	/* NULL: the family's first row's */
} stats_counters[] = {
	ST(tun_rx_pkts, "tun_packets_total", "direction=\"in\"",
	    "Packets read from the TUN device (in) and written to it (out)."),
	ST(tun_tx_pkts, "tun_packets_total", "direction=\"out\"", NULL),
	ST(tun_rx_bytes, "tun_bytes_total", "direction=\"in\"",
	    "Bytes read from the TUN device (in) and written to it (out)."),
	ST(tun_tx_bytes, "tun_bytes_total", "direction=\"out\"", NULL),
	ST(tun_tx_errors, "tun_write_errors_total", NULL,
	    "Packets the TUN device did not take."),
	ST(to_lwip, "lwip_packets_total", NULL,
	    "Packets given to the embedded lwIP stack."),
	ST(lwip_tw_cut, "lwip_timewait_cut_total", NULL,
	    "lwIP TIME_WAIT connections ended early, past 256 at once."),
	ST(lwip_dupack_loss, "lwip_dupack_losses_total", NULL,
	    "Third duplicate ACKs without SACK blocks (from a client that "
	    "negotiated SACK but sends none) on which lwIP resent its first "
	    "unacknowledged segment."),
	ST(lwip_sent, "lwip_segments_sent_total", NULL,
	    "Segments with data or a FIN, and window probes, lwIP sent on its "
	    "connections (no handshake's SYN/ACK), resent ones included."),
	ST(lwip_resent, "lwip_segments_resent_total", NULL,
	    "Segments lwIP sent again: after a loss, as a probe, at a timeout."),
	ST(lwip_loss_cut, "lwip_loss_episodes_total", "window=\"cut\"",
	    "Loss episodes (fast recoveries) of lwIP's connections, by whether "
	    "they cut the window or kept it (lwip.loss_tolerance)."),
	ST(lwip_loss_kept, "lwip_loss_episodes_total", "window=\"kept\"", NULL),
	ST(lwip_loss_late, "lwip_loss_late_cuts_total", NULL,
	    "Loss episodes that kept lwIP's window and cut it later, their own "
	    "losses having reached lwip.loss_tolerance."),
	ST(lwip_loss_undone, "lwip_loss_undone_total", NULL,
	    "Cuts of lwIP's window undone: D-SACKs showed every retransmission "
	    "of the episode needless."),
	ST(lwip_rto, "lwip_timeouts_total", NULL,
	    "Retransmission timeouts of lwIP's connections past their handshake."),
	ST(fe_syns, "frontend_syns_total", NULL,
	    "SYNs for a VIP that lwIP answered (lwip handshake)."),
	ST(fe_local, "frontend_local_total", NULL,
	    "Requests this node's own member served: relayed to its server "
	    "(lwip handshake) or handed to its own stack (cookie handshake)."),
	ST(fe_idle, "frontend_idle_total", NULL,
	    "Handed-off connections the front-end forgot after handoff.idle."),
	ST(fe_evicted, "frontend_evicted_total", NULL,
	    "Connections not handed off yet closed to make room for new ones "
	    "(an eighth of handoff.max_flows)."),
	ST(fe_ooseq, "frontend_ooseq_total", NULL,
	    "Out-of-order client segments lwIP held at a handoff, passed on "
	    "to the back-end (lwip handshake)."),
	ST(handoffs_started, "handoffs_started_total", NULL,
	    "HANDOFF messages sent, and requests of this node's own share "
	    "given to its stack or its local server."),
	ST(handoffs_acked, "handoffs_accepted_total", NULL,
	    "Handoffs a back-end accepted (this node's own share: its stack "
	    "or its local server took the connection)."),
	ST(handoffs_refused, "handoffs_refused_total", NULL,
	    "Handoffs a back-end refused."),
	ST(handoffs_failed, "handoffs_failed_total", NULL,
	    "Handoffs that could not be sent, timed out or whose control "
	    "channel dropped."),
	ST(handoffs_timeout, "handoffs_timeout_total", NULL,
	    "Handoffs not answered within handoff.timeout."),
	ST(handoffs_late, "handoffs_late_total", NULL,
	    "Back-ends told to let go of a connection accepted after the "
	    "front-end had given up on it."),
	ST(handoffs_reset, "handoffs_reset_total", NULL,
	    "Handoffs whose fate could not be learnt (no answer to a cancel, "
	    "or the control channel lost): the client was reset."),
	ST(handoffs_bad_stack, "handoffs_wrong_stack_total", NULL,
	    "Handoffs a back-end accepted at an address other than its "
	    "peers[].stack_address: given up, the client reset."),
	ST(lookups, "lookups_total", NULL,
	    "Client segments of no connection here that the members were "
	    "asked about (another front-end's connection?)."),
	ST(lookups_found, "lookups_found_total", NULL,
	    "... that a member serves: forwarded from here on."),
	ST(lookups_unknown, "lookups_unknown_total", NULL,
	    "... that no member has: the client was reset."),
	ST(lookups_limited, "lookups_limited_total", NULL,
	    "Such segments dropped unasked: over handoff.lookups a second."),
	ST(lookup_drops, "lookup_drops_total", NULL,
	    "Client segments dropped while their lookup was under way."),
	ST(fe_moved, "frontend_moved_total", NULL,
	    "Forwarded connections another front-end took over (CLOSE "
	    "moved): forgotten here."),
	ST(access_log_lines, "access_log_lines_total", NULL,
	    "Lines written to the access log (node.access_log)."),
	ST(access_log_lost, "access_log_lost_total", NULL,
	    "Access log lines lost: the file did not take them, or no syslog "
	    "daemon did."),
	ST(queued, "queued_packets_total", NULL,
	    "Client packets held while their handoff was under way."),
	ST(fwd_pkts, "forwarded_packets_total", NULL,
	    "Client packets the front-end rewrote to a back-end."),
	ST(fwd_bytes, "forwarded_bytes_total", NULL,
	    "Bytes of the client packets the front-end rewrote to a "
	    "back-end."),
	ST(icmp_fwd, "icmp_forwarded_total", NULL,
	    "ICMP errors about a handed-off connection's segments sent on to "
	    "its back-end's stack."),
	ST(icmp_relayed, "icmp_relayed_total", NULL,
	    "Fragmentation-needed errors about a VIP's segment of no "
	    "connection here, sent to the members."),
	ST(icmp_relay_limited, "icmp_relay_limited_total", NULL,
	    "Such errors dropped: over handoff.lookups a second."),
	ST(http_400, "http_responses_total", "code=\"400\"",
	    "Answers the front-end gave itself, by status code."),
	ST(http_408, "http_responses_total", "code=\"408\"", NULL),
	ST(http_431, "http_responses_total", "code=\"431\"", NULL),
	ST(http_503, "http_responses_total", "code=\"503\"", NULL),
	ST(tls_no_sni, "tls_no_sni_total", NULL,
	    "ClientHellos without a server name, or with ECH: routed to the "
	    "service's default pool."),
	ST(tls_bad, "tls_resets_total", "reason=\"bad\"",
	    "TLS clients the front-end reset, by reason: not TLS or a "
	    "malformed ClientHello, one over handoff.request_head_max, one "
	    "not whole in time, no member left."),
	ST(tls_too_big, "tls_resets_total", "reason=\"too-big\"", NULL),
	ST(tls_timeout, "tls_resets_total", "reason=\"timeout\"", NULL),
	ST(tls_unavailable, "tls_resets_total", "reason=\"unavailable\"",
	    NULL),
	ST(be_handoffs, "backend_handoffs_total", NULL,
	    "HANDOFF messages this node received."),
	ST(be_accepted, "backend_accepted_total", NULL,
	    "Handoffs this node accepted."),
	ST(be_refused, "backend_refused_total", NULL,
	    "Handoffs this node refused."),
	ST(be_unknown_vip, "backend_unknown_vip_total", NULL,
	    "HANDOFFs for an address and port that is none of this node's "
	    "services: refused."),
	ST(be_aborted, "backend_aborted_total", NULL,
	    "Handoffs the front-end gave up on while this node injected "
	    "them."),
	ST(be_late, "backend_late_handoffs_total", NULL,
	    "HANDOFFs that came after the front-end's cancel of them, on "
	    "another control connection: refused, never run."),
	ST(be_idle, "backend_idle_total", NULL,
	    "Handed-off connections this node forgot after handoff.idle."),
	ST(be_tw_killed, "backend_timewait_resets_total", NULL,
	    "TIME_WAIT connections of the kernel stack reset for a reused "
	    "client port."),
	ST(be_lookups, "backend_lookups_total", NULL,
	    "LOOKUPs this node answered."),
	ST(be_icmp, "backend_icmp_total", NULL,
	    "Fragmentation-needed errors another front-end relayed that this "
	    "node's stack was sent."),
	ST(be_lookup_blind, "backend_lookups_blind_total", NULL,
	    "LOOKUPs about a connection here for a segment outside its "
	    "windows: nothing moved."),
	ST(be_moved, "backend_moved_total", NULL,
	    "Connections served here whose front-end changed (a LOOKUP "
	    "from another)."),
	ST(be_idle_alive, "backend_idle_alive_total", NULL,
	    "CLOSE idle from a front-end for a connection the stack still "
	    "talks on (another front-end forwards it): kept."),
	ST(be_superseded, "backend_superseded_total", NULL,
	    "Connections ended here for a new handoff from their own "
	    "front-end on the same client endpoint and VIP (its word that "
	    "the old one was over was lost)."),
	ST(be_stack_gone, "backend_stack_gone_total", NULL,
	    "Connections the kernel stack had lost without a word (it "
	    "answered the client's new SYN as a new connection): reset there "
	    "and ended, the front-end told."),
	ST(state_adopted, "state_flows_adopted_total", NULL,
	    "Connections a restarted daemon took over from node.state_file "
	    "and went on rewriting."),
	ST(state_lost, "state_flows_lost_total", NULL,
	    "Connections in node.state_file that died with the last process "
	    "(lwIP's, or not handed off yet): their clients were reset."),
	ST(injected, "injected_packets_total", NULL,
	    "Packets injected into this node's stack."),
	ST(rw_pkts, "rewritten_packets_total", NULL,
	    "Stack packets rewritten to a client."),
	ST(rw_bytes, "rewritten_bytes_total", NULL,
	    "Bytes of the stack packets rewritten to a client."),
	ST(ctl_auth_failed, "control_auth_failures_total", NULL,
	    "Control connections whose TLS handshake failed (a wrong key, an "
	    "identity that is no peer, a protocol other than TLS 1.3 PSK)."),
	ST(ctl_refused_addr, "control_refused_address_total", NULL,
	    "Control connections from an address that is no peer's, closed "
	    "unread."),
	ST(ctl_refused_busy, "control_refused_busy_total", NULL,
	    "Unauthenticated control connections closed to make room under "
	    "the handshake caps."),
	ST(ctl_handshake_timeout, "control_handshake_timeouts_total", NULL,
	    "Control connections that did not authenticate within "
	    "control.handshake_timeout."),
	ST(ctl_bad_frames, "control_bad_frames_total", NULL,
	    "Malformed or oversized control frames."),
	ST(ctl_stale, "control_stale_messages_total", NULL,
	    "Control messages about flows that no longer exist."),
	ST(ctl_not_ipv6, "control_not_ipv6_total", NULL,
	    "Control messages about IPv6 connections not sent to a peer "
	    "whose build reads none."),
	ST(cookie_syns, "syn_cookies_sent_total", NULL,
	    "SYN/ACKs sent with a SYN cookie."),
	ST(cookie_acks, "syn_cookies_accepted_total", NULL,
	    "ACKs with a valid SYN cookie: new connections."),
	ST(cookie_bad, "syn_cookies_refused_total", NULL,
	    "ACKs for a VIP with no valid SYN cookie."),
	ST(cookie_replayed, "syn_cookies_replayed_total", NULL,
	    "ACKs with a SYN cookie that opened a connection already: "
	    "refused."),
	ST(cookie_full, "syn_cookies_unremembered_total", NULL,
	    "ACKs with a valid SYN cookie refused because the front-end "
	    "could remember no more cookies this period (four times "
	    "handoff.max_flows)."),
	ST(cookie_busy, "syn_cookies_network_busy_total", NULL,
	    "ACKs with a valid SYN cookie refused because, with the cookies "
	    "remembered this period half full, the client's network (its /24 "
	    "or /48) holds a sixteenth of them."),
	ST(rst_blind, "blind_resets_total", NULL,
	    "Client resets outside any window a client could have sent: "
	    "dropped (RFC 5961)."),
	ST(challenges, "challenge_acks_total", NULL,
	    "Resets in the window and SYNs on a live connection answered "
	    "with a challenge ACK (RFC 5961)."),
	ST(challenges_limited, "challenge_acks_limited_total", NULL,
	    "Challenge ACKs held back by the per-connection rate limit."),
	ST(unacceptable, "unacceptable_segments_total", NULL,
	    "Client segments outside the window or acknowledging what was "
	    "never sent: passed on, not believed."),
	ST(drop_bad_opts, "drops_total", "reason=\"bad-options\"",
	    "Packets dropped, by reason."),
	ST(drop_table_full, "drops_total", "reason=\"table-full\"", NULL),
	ST(drop_network_busy, "drops_total", "reason=\"network-busy\"", NULL),
	ST(drop_queue_full, "drops_total", "reason=\"queue-full\"", NULL),
	ST(drop_nomem, "drops_total", "reason=\"no-memory\"", NULL),
	ST(drop_stale, "drops_total", "reason=\"stale\"", NULL),
	ST(drop_no_flow, "drops_total", "reason=\"no-flow\"", NULL),
	ST(drop_early, "drops_total", "reason=\"early\"", NULL),
	ST(drop_bad_csum, "drops_total", "reason=\"bad-checksum\"", NULL),
	ST(drop_tun_queue, "drops_total", "reason=\"tun-queue\"", NULL),
};

/* Every counter has its row: a new one without cannot be built. */
_Static_assert(sizeof(struct hd_stats) == sizeof(uint64_t) *
    (sizeof(stats_counters) / sizeof(stats_counters[0]) + PKT_VERDICT_MAX),
    "a counter of struct hd_stats has no row in stats_counters");

/*
 * Calls fn for every counter, in the order of the status file: its name
 * there, its family, label and help, and its value.  The drops by parse
 * verdict follow the other drops, in the same family.
 */
void
stats_foreach(const struct hd *hd, stats_fn fn, void *arg)
{
	const struct hd_stats *st = &hd->hd_stats;
	char	 name[64], label[64];
	size_t	 i;
	int	 v;

	for (i = 0; i < sizeof(stats_counters) / sizeof(stats_counters[0]);
	    i++) {
		const struct stats_counter *sc = &stats_counters[i];

		fn(arg, sc->sc_name, sc->sc_family, sc->sc_label, sc->sc_help,
		    *(const uint64_t *)(const void *)((const char *)st +
		    sc->sc_off));
	}
	for (v = 1; v < PKT_VERDICT_MAX; v++) {
		snprintf(name, sizeof(name), "drop_%s", pkt_verdict_name(v));
		snprintf(label, sizeof(label), "reason=\"%s\"",
		    pkt_verdict_name(v));
		fn(arg, name, "drops_total", label, NULL, st->st_drop[v]);
	}
}

static void
stats_print_one(void *arg, const char *name, const char *family,
    const char *label, const char *help, uint64_t v)
{
	fprintf(arg, "%s %llu\n", name, (unsigned long long)v);
}

/* Prints "name value" lines; the status file and SIGUSR1 share them. */
static void
stats_print(const struct hd *hd, FILE *fp)
{
	fprintf(fp, "node %s\n", hd->hd_cfg->cfg_node.cn_id);
	fprintf(fp, "flows_active %u\n",
	    hd->hd_flows ? flow_count(hd->hd_flows) : 0);
	fprintf(fp, "flow_bytes %zu\n",
	    hd->hd_flows ? flow_bytes_per_flow(hd->hd_flows) : 0);
	stats_foreach(hd, stats_print_one, fp);
	fprintf(fp, "served %u\n", hd->hd_served);
	fprintf(fp, "lwip_bytes %zu\n", port_mem_used());
	fprintf(fp, "lwip_pressure %d\n", port_mem_pressed());
	if (hd->hd_health != NULL)
		health_print(hd, fp);
}

/* SIGUSR1: the counters into the log, one line each. */
void
stats_log(const struct hd *hd)
{
	char	*buf = NULL, *line, *save;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		log_warn("open_memstream");
		return;
	}
	stats_print(hd, fp);
	fclose(fp);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_info("stats: %s", line);
	free(buf);
}

/* Gives up a temporary file, keeping errno for the caller's message. */
static void
stats_discard(int fd, const char *tmp)
{
	int	 saved = errno;

	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
}

/*
 * Creates the status file's temporary twin, a new file of mode 0644
 * whatever the umask, under a name no one can guess: the directory may
 * be writable by others, who could plant a file, a link or a FIFO at a
 * fixed one (in a sticky directory the daemon could not even remove
 * theirs).  tmp ends in XXXXXX.
 */
static int
stats_create(char *tmp)
{
	int	 fd;

	if ((fd = mkstemp(tmp)) == -1)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 || fchmod(fd, 0644) == -1) {
		stats_discard(fd, tmp);
		return -1;
	}
	return fd;
}

/* Replaces the status file atomically, so readers never see half of it:
 * rename() replaces whatever has the name, a symbolic link included. */
int
stats_write(const struct hd *hd, const char *path)
{
	char	 tmp[4200];
	FILE	*fp;
	int	 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = stats_create(tmp)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		stats_discard(fd, tmp);
		return -1;
	}
	stats_print(hd, fp);
	/* fclose() reports its last flush only: an earlier write that
	 * failed (a full disk) would leave a cut file. */
	if (ferror(fp)) {
		fclose(fp);
		errno = EIO;
		stats_discard(-1, tmp);
		return -1;
	}
	if (fclose(fp) != 0 || rename(tmp, path) == -1) {
		stats_discard(-1, tmp);
		return -1;
	}
	return 0;
}

/* The counters: one report format for the log and the status file. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "handoffd.h"
#include "log.h"
#include "handoff/health.h"

#define ST(name)	{ #name, offsetof(struct hd_stats, st_##name) }

/* The counters by name, in the order they are printed. */
static const struct {
	const char	*name;
	size_t		 off;
} stats_names[] = {
	ST(tun_rx_pkts), ST(tun_rx_bytes), ST(tun_tx_pkts), ST(tun_tx_bytes),
	ST(tun_tx_errors), ST(to_lwip),
	ST(fe_syns), ST(fe_local), ST(fe_idle), ST(handoffs_started),
	ST(handoffs_acked), ST(handoffs_refused), ST(handoffs_failed),
	ST(handoffs_timeout), ST(handoffs_late),
	ST(queued), ST(fwd_pkts), ST(fwd_bytes),
	ST(http_400), ST(http_408), ST(http_431), ST(http_503),
	ST(be_handoffs), ST(be_accepted), ST(be_refused), ST(be_aborted),
	ST(be_idle), ST(be_tw_killed), ST(injected), ST(rw_pkts), ST(rw_bytes),
	ST(ctl_auth_failed), ST(ctl_refused_addr), ST(ctl_refused_busy),
	ST(ctl_handshake_timeout), ST(ctl_bad_frames), ST(ctl_stale),
	ST(drop_bad_opts), ST(drop_table_full), ST(drop_queue_full),
	ST(drop_nomem), ST(drop_stale), ST(drop_early), ST(drop_bad_csum),
	ST(cookie_syns), ST(cookie_acks), ST(cookie_bad),
};

/* Prints "name value" lines; the status file and SIGUSR1 share them. */
static void
stats_print(const struct hd *hd, FILE *fp)
{
	const struct hd_stats *st = &hd->hd_stats;
	size_t	 i;
	int	 v;

	fprintf(fp, "node %s\n", hd->hd_cfg->cfg_node.cn_id);
	fprintf(fp, "flows_active %u\n",
	    hd->hd_flows ? flow_count(hd->hd_flows) : 0);
	fprintf(fp, "flow_bytes %zu\n",
	    hd->hd_flows ? flow_bytes_per_flow(hd->hd_flows) : 0);
	for (i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]); i++)
		fprintf(fp, "%s %llu\n", stats_names[i].name,
		    (unsigned long long)*(const uint64_t *)(const void *)
		    ((const char *)st + stats_names[i].off));
	for (v = 1; v < PKT_VERDICT_MAX; v++) {
		if (v == PKT_NOT_TCP)
			continue;
		fprintf(fp, "drop_%s %llu\n", pkt_verdict_name(v),
		    (unsigned long long)st->st_drop[v]);
	}
	fprintf(fp, "served %u\n", hd->hd_served);
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

/* Replaces the status file atomically, so readers never see half of it. */
int
stats_write(const struct hd *hd, const char *path)
{
	char	 tmp[4200];
	FILE	*fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	stats_print(hd, fp);
	if (fclose(fp) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

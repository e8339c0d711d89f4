/*
 * What the front-end reports of its handoffs (health.c) and what the
 * operator changes (drain, weight) come out in the metrics as they went
 * in: counts by member and service, a cumulative latency histogram in
 * seconds, member state, weight, and stats.c's counters by family.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf.h"
#include "flow.h"
#include "handoffd.h"
#include "metrics.h"
#include "handoff/health.h"
#include "handoff/peer.h"
#include "handoff/pool.h"
#include "t.h"

static char	 dir[] = "/tmp/test_metrics.XXXXXX";
static char	 keyfile[64], yamlname[64];

static void
cleanup(void)
{
	unlink(keyfile);
	rmdir(dir);
}

/* A node whose pools hold only itself: no peer, no control channel. */
static struct cfg *
config(void)
{
	static const char y[] =
	    "node:\n  id: n1\n  control: 127.0.0.1:7100\n"
	    "  server: 127.0.0.1:80\n  admin_socket: none\n"
	    "lwip:\n  address: 10.2.1.2\n"
	    "services:\n  - name: web\n    listen: 10.9.0.1:80\n    pool: all\n"
	    "pools:\n  - name: all\n    members: [n1]\n"
	    "  - name: two\n    members: [{node: n1, weight: 2}]\n"
	    "control:\n  key_file: key\n";
	struct cfg	*c;
	char		 err[512];
	FILE		*fp;

	CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	snprintf(keyfile, sizeof(keyfile), "%s/key", dir);
	snprintf(yamlname, sizeof(yamlname), "%s/t.yaml", dir);
	CHECK((fp = fopen(keyfile, "w")) != NULL);
	CHECK(fchmod(fileno(fp), 0600) == 0);
	fputs("0123456789abcdef0123456789abcdef\n", fp);
	CHECK(fclose(fp) == 0);
	c = cfg_parse(yamlname, y, strlen(y), err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

/* The metrics as one string. */
static char *
render(const struct hd *hd)
{
	static char	*s;
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;

	CHECK(b != NULL);
	metrics_render(hd, b);
	len = evbuffer_get_length(b);
	free(s);
	CHECK((s = malloc(len + 1)) != NULL);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

/* The metrics hold this line. */
static int
has(const char *text, const char *line)
{
	const char	*p = text;
	size_t		 n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	fprintf(stderr, "no line: %s\n", line);
	return 0;
}

int
main(void)
{
	struct hd		 hd;
	const struct health_ho	*ho;
	const char		*m;
	uint64_t		 t;

	t_start(30);
	memset(&hd, 0, sizeof(hd));
	hd.hd_cfg = config();
	CHECK((hd.hd_base = event_base_new()) != NULL);
	CHECK((hd.hd_flows = flow_table_new(16, NULL)) != NULL);
	CHECK(health_init(&hd) == 0);
	/* The sending times set back below stay after the counts' start. */
	usleep(5000);
	CHECK((hd.hd_pools[0] = pool_state_new(&hd.hd_cfg->cfg_pools[0])) !=
	    NULL);
	CHECK((hd.hd_pools[1] = pool_state_new(&hd.hd_cfg->cfg_pools[1])) !=
	    NULL);

	/* Four handoffs to n1 in pool "all": answered after 2 ms and 0.3 ms
	 * (the sending times are set back), one timed out, one lost. */
	t = health_handoff_sent(&hd, &hd.hd_cfg->cfg_services[0], 0,
	    PEER_LOCAL);
	health_handoff_done(&hd, &hd.hd_cfg->cfg_services[0], 0, PEER_LOCAL,
	    HEALTH_HO_ACCEPTED, t - 2000);
	t = health_handoff_sent(&hd, &hd.hd_cfg->cfg_services[0], 0,
	    PEER_LOCAL);
	health_handoff_done(&hd, &hd.hd_cfg->cfg_services[0], 0, PEER_LOCAL,
	    HEALTH_HO_REFUSED, t - 300);
	t = health_handoff_sent(&hd, &hd.hd_cfg->cfg_services[0], 0,
	    PEER_LOCAL);
	health_handoff_done(&hd, &hd.hd_cfg->cfg_services[0], 0, PEER_LOCAL,
	    HEALTH_HO_TIMEOUT, t);
	t = health_handoff_sent(&hd, &hd.hd_cfg->cfg_services[0], 0,
	    PEER_LOCAL);
	health_handoff_done(&hd, &hd.hd_cfg->cfg_services[0], 0, PEER_LOCAL,
	    HEALTH_HO_FAILED, t);
	ho = health_member_ho(&hd, 0, 0);
	CHECK_INTEQ(ho->ho_started, 4);
	CHECK_INTEQ(ho->ho_ended[HEALTH_HO_ACCEPTED], 1);
	CHECK_INTEQ(ho->ho_ended[HEALTH_HO_REFUSED], 1);
	CHECK_INTEQ(ho->ho_ended[HEALTH_HO_TIMEOUT], 1);
	CHECK_INTEQ(ho->ho_ended[HEALTH_HO_FAILED], 1);
	CHECK_INTEQ(ho->ho_lat[2], 1);		/* 300 µs: up to 500 */
	CHECK_INTEQ(ho->ho_lat[4], 1);		/* 2 ms: up to 2.5 */
	CHECK_INTEQ(health_member_ho(&hd, 1, 0)->ho_started, 0);
	CHECK_INTEQ(health_service_ho(&hd, 0)->ho_started, 4);

	hd.hd_stats.st_tun_rx_pkts = 5;
	hd.hd_stats.st_drop[PKT_FRAGMENT] = 3;
	m = render(&hd);
	CHECK(has(m, "# TYPE handoffd_tun_packets_total counter"));
	CHECK(has(m, "handoffd_tun_packets_total{direction=\"in\"} 5"));
	CHECK(has(m, "handoffd_drops_total{reason=\"fragment\"} 3"));
	CHECK(has(m, "handoffd_flows{role=\"front-end\"} 0"));
	CHECK(has(m, "handoffd_flows_max 16"));
	CHECK(has(m, "handoffd_service_handoffs_started_total"
	    "{service=\"web\"} 4"));
	CHECK(has(m, "handoffd_member_handoffs_started_total"
	    "{pool=\"all\",member=\"n1\"} 4"));
	CHECK(has(m, "handoffd_member_handoffs_total"
	    "{pool=\"all\",member=\"n1\",result=\"timeout\"} 1"));
	CHECK(has(m, "# TYPE handoffd_member_handoff_duration_seconds "
	    "histogram"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_bucket"
	    "{pool=\"all\",member=\"n1\",le=\"0.00025\"} 0"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_bucket"
	    "{pool=\"all\",member=\"n1\",le=\"0.0005\"} 1"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_bucket"
	    "{pool=\"all\",member=\"n1\",le=\"0.0025\"} 2"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_bucket"
	    "{pool=\"all\",member=\"n1\",le=\"+Inf\"} 2"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_count"
	    "{pool=\"all\",member=\"n1\"} 2"));
	CHECK(has(m, "handoffd_member_handoff_duration_seconds_count"
	    "{pool=\"two\",member=\"n1\"} 0"));
	CHECK(strstr(m, "handoffd_member_handoff_duration_seconds_sum"
	    "{pool=\"all\",member=\"n1\"} 0.002") != NULL);
	CHECK(has(m, "handoffd_member_up{pool=\"all\",member=\"n1\"} 1"));
	CHECK(has(m, "handoffd_member_weight{pool=\"two\",member=\"n1\"} 2"));
	CHECK(has(m, "handoffd_assigned_flows{node=\"n1\"} 0"));

	/* Drained: out of pool "all" only; a new weight in pool "two". */
	health_drain(&hd, 0, 0, 1);
	health_set_weight(&hd, 1, 0, 7);
	CHECK_INTEQ(health_state(&hd, 0, 0), HEALTH_DRAINED);
	CHECK_INTEQ(health_members(&hd, 0), 0);
	CHECK_INTEQ(health_members(&hd, 1), 1);
	m = render(&hd);
	CHECK(has(m, "handoffd_member_up{pool=\"all\",member=\"n1\"} 0"));
	CHECK(has(m, "handoffd_member_drained{pool=\"all\",member=\"n1\"} 1"));
	CHECK(has(m, "handoffd_member_drained{pool=\"two\",member=\"n1\"} 0"));
	CHECK(has(m, "handoffd_member_weight{pool=\"two\",member=\"n1\"} 7"));
	health_drain(&hd, 0, 0, 0);
	CHECK_INTEQ(health_state(&hd, 0, 0), HEALTH_UP);

	/* A reload starts the counts afresh: a handoff sent before it and
	 * answered after it counts in neither. */
	t = health_handoff_sent(&hd, &hd.hd_cfg->cfg_services[0], 0,
	    PEER_LOCAL);
	usleep(1000);
	CHECK(health_reload(&hd, hd.hd_cfg) == 0);
	health_handoff_done(&hd, &hd.hd_cfg->cfg_services[0], 0, PEER_LOCAL,
	    HEALTH_HO_ACCEPTED, t);
	ho = health_member_ho(&hd, 0, 0);
	CHECK_INTEQ(ho->ho_started, 0);
	CHECK_INTEQ(ho->ho_ended[HEALTH_HO_ACCEPTED], 0);
	CHECK_INTEQ(health_service_ho(&hd, 0)->ho_ended[HEALTH_HO_ACCEPTED],
	    0);

	health_shutdown(&hd);
	pool_state_free(hd.hd_pools[0]);
	pool_state_free(hd.hd_pools[1]);
	flow_table_free(hd.hd_flows);
	event_base_free(hd.hd_base);
	cfg_free(hd.hd_cfg);
	return t_done("test_metrics");
}

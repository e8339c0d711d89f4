/*
 * Prometheus metrics: the text exposition format (version 0.0.4) over
 * HTTP at metrics.listen, path /metrics, served by libevent's evhttp.
 *
 * metrics.c owns the HTTP server and the names of what it exports; the
 * values belong to the modules that count them (stats.c's table of
 * counters, the flow table, peer.c, health.c), which it reads on each
 * request.  It changes nothing.
 */
#ifndef HANDOFFD_METRICS_H
#define HANDOFFD_METRICS_H

struct evbuffer;
struct hd;

/* A scrape must be over within this long. */
#define METRICS_TIMEOUT_S	10

int	metrics_start(struct hd *);
void	metrics_stop(struct hd *);
void	metrics_render(const struct hd *, struct evbuffer *);

#endif

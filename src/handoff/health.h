/*
 * The state of each node as a pool member: whether it may get requests
 * (its control channel is up, it has not refused too many handoffs in a
 * row, its web server answers the pool's active check) and how loaded it
 * is (connections this front-end gave it, and what it reports serving).
 *
 * health.c owns that state and the active HTTP checks (evhttp requests to
 * each checked member's server address), what the operator changes at run
 * time (a member drained, a new weight), and the count of handoffs by
 * member and service, which the front-end reports.  Nodes are numbered as
 * peers, with PEER_LOCAL for this node; members by pool and index.
 */
#ifndef HANDOFFD_HEALTH_H
#define HANDOFFD_HEALTH_H

#include <stdint.h>
#include <stdio.h>

struct cfg;
struct cfg_service;
struct hd;

/* Consecutive check results that flip a member down, and back up. */
#define HEALTH_FALL	2
#define HEALTH_RISE	2

/* A member's state: in its pools, or why not. */
enum health_state {
	HEALTH_UP,
	HEALTH_DRAINED,		/* the operator drained it */
	HEALTH_CHANNEL,		/* its node's control channel is down */
	HEALTH_REFUSING,	/* refused fail_threshold handoffs in a row */
	HEALTH_CHECK,		/* its server failed its active checks */
};

/* How a handoff ended, as the front-end saw it. */
enum health_ho_result {
	HEALTH_HO_ACCEPTED,
	HEALTH_HO_REFUSED,
	HEALTH_HO_TIMEOUT,
	HEALTH_HO_FAILED,	/* its control channel dropped first */
	HEALTH_HO_MAX
};

/* Upper bounds of the handoff latency histogram's buckets, in µs; the
 * last bucket has none. */
#define HEALTH_LAT_BUCKETS	15
extern const uint32_t health_lat_bounds[HEALTH_LAT_BUCKETS - 1];

/* The handoffs of a pool member or a service: sent, how they ended, and
 * the time from HANDOFF to HANDOFF_ACK of those answered. */
struct health_ho {
	uint64_t	 ho_started;
	uint64_t	 ho_ended[HEALTH_HO_MAX];
	uint64_t	 ho_lat[HEALTH_LAT_BUCKETS];	/* per bucket */
	uint64_t	 ho_lat_sum_us;
};

int	 health_init(struct hd *);
void	 health_shutdown(struct hd *);
int	 health_reload(struct hd *, const struct cfg *);
uint64_t health_members(const struct hd *, int);
void	 health_loads(const struct hd *, int, uint32_t *);
void	 health_refused(struct hd *, int);
void	 health_accepted(struct hd *, int);
void	 health_assign(struct hd *, int, int);
void	 health_print(const struct hd *, FILE *);
enum health_state health_state(const struct hd *, int, int);
const char *health_state_name(enum health_state);
int	 health_member(const struct hd *, int, int);
void	 health_drain(struct hd *, int, int, int);
void	 health_set_weight(struct hd *, int, int, int);
uint32_t health_assigned(const struct hd *, int);
uint64_t health_handoff_sent(struct hd *, const struct cfg_service *, int,
	    int);
void	 health_handoff_done(struct hd *, const struct cfg_service *, int,
	    int, enum health_ho_result, uint64_t);
const struct health_ho *health_member_ho(const struct hd *, int, int);
const struct health_ho *health_service_ho(const struct hd *, int);
const char *health_ho_name(enum health_ho_result);

#endif

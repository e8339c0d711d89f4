/* The state file; see state.h. */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#ifndef __linux__
#include <sys/sysctl.h>
#include <sys/time.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "conf.h"
#include "flow.h"
#include "log.h"
#include "state.h"

/* Bump when the header's meaning changes; a change of struct flow's
 * fields changes the signature by itself. */
#define STATE_LAYOUT	1
#define STATE_SLOTS_OFF	4096

struct state_hdr {
	char		 sh_magic[8];
	uint32_t	 sh_layout;
	uint32_t	 sh_sig;	/* struct flow as this build lays it out */
	uint32_t	 sh_max;	/* slots */
	uint32_t	 sh_npeers;
	uint64_t	 sh_boot;	/* the control channel's boot id */
	char		 sh_kboot[40];	/* the kernel's boot, "" if unknown */
	char		 sh_node[CFG_ID_MAX];
	char		 sh_peers[CFG_MAX_PEERS][CFG_ID_MAX];
	/* each peer's boot id as its last HELLO said, 0: none yet */
	uint64_t	 sh_peer_boot[CFG_MAX_PEERS];
};

_Static_assert(sizeof(struct state_hdr) <= STATE_SLOTS_OFF,
    "the state header must fit before the slots");

static const char state_magic[8] = "HOFFDST";

struct state {
	int			 st_fd;
	struct state_hdr	*st_hdr;
	size_t			 st_len;
	int			 st_attached;
	/* whom the file's peer indices named when it was opened */
	char			 st_peers[CFG_MAX_PEERS][CFG_ID_MAX];
	uint32_t		 st_npeers;
};

/* struct flow's shape: its size and every field's offset and width.  A
 * build that moved a field reads no file of one that did not.  (f_orun
 * shares f_sbytes's place, which earlier builds left zero at a front-end:
 * no run; and f_net sits in what they left as zero padding: their flows
 * are adopted uncounted.) */
static uint32_t
state_signature(void)
{
#define F(m)	offsetof(struct flow, m), sizeof(((struct flow *)0)->m)
	static const size_t	 shape[] = {
		sizeof(struct flow), F(f_key), F(f_hnext), F(f_gen), F(f_last),
		F(f_timeout), F(f_ops), F(f_state), F(f_end), F(f_flags),
		F(f_owner), F(f_cws), F(f_start), F(f_bytes), F(f_sbytes),
		F(f_naddr), F(f_nport), F(f_ws_in), F(f_ws_out), F(f_delta), F(f_ts_delta),
		F(f_irs), F(f_cnxt), F(f_cmax), F(f_cack), F(f_chal), F(f_peer),
		F(f_qlen), F(f_peer_handle), F(f_ctx),
	};
#undef F
	uint32_t	 h = 2166136261u;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
		h ^= (uint32_t)shape[i];
		h *= 16777619u;
	}
	return h;
}

/* The kernel's boot: flows and their clock mean nothing after a reboot.
 * "" when it cannot be told. */
#ifdef __linux__
static void
state_kboot(char *buf, size_t len)
{
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fopen("/proc/sys/kernel/random/boot_id", "re")) == NULL)
		return;
	if (fgets(buf, (int)len, fp) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
}
#else
/* The BSDs' boot time (which a step of the clock moves: the file is then
 * started again, the safe way to be wrong). */
static void
state_kboot(char *buf, size_t len)
{
	int		 mib[2] = { CTL_KERN, KERN_BOOTTIME };
	struct timeval	 tv;
	size_t		 tvlen = sizeof(tv);

	buf[0] = '\0';
	if (sysctl(mib, 2, &tv, &tvlen, NULL, 0) == 0 && tvlen == sizeof(tv))
		snprintf(buf, len, "boottime %lld.%06ld", (long long)tv.tv_sec,
		    (long)tv.tv_usec);
}
#endif

/* Why the file's header does not describe what this process would have
 * written, or NULL when it does. */
static const char *
state_mismatch(const struct state_hdr *h, const struct state_hdr *want)
{
	if (memcmp(h->sh_magic, state_magic, sizeof(state_magic)) != 0)
		return "not a state file";
	if (h->sh_layout != want->sh_layout || h->sh_sig != want->sh_sig)
		return "written by a build with another layout";
	if (h->sh_max != want->sh_max)
		return "handoff.max_flows changed";
	if (want->sh_kboot[0] == '\0')
		return "this machine's boot cannot be told from the last";
	if (strncmp(h->sh_kboot, want->sh_kboot, sizeof(h->sh_kboot)) != 0)
		return "written before the machine last booted";
	if (strncmp(h->sh_node, want->sh_node, sizeof(h->sh_node)) != 0)
		return "written by another node";
	if (h->sh_npeers > CFG_MAX_PEERS)
		return "corrupt";
	return NULL;
}

/* A file another user could have written would let it make up flows. */
static int
state_check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat	 sb;

	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0 ||
	    sb.st_nlink != 1) {
		snprintf(err, errlen, "%s: must be owned by the daemon's user, "
		    "readable and writable by it alone (mode 0600), and have "
		    "one link: refused", path);
		return -1;
	}
	return 0;
}

/*
 * Opens (creating it if need be), locks and maps the state file at path
 * for cfg's node.  Returns NULL with err set when the file cannot be
 * used at all; a file whose contents cannot be trusted is emptied with a
 * line in the log and used.
 */
struct state *
state_open(const char *path, const struct cfg *cfg, char *err, size_t errlen)
{
	struct state		*st;
	struct state_hdr	 want, got;
	struct stat		 sb;
	uint32_t		 max = (uint32_t)cfg->cfg_handoff.ch_max_flows;
	const char		*why = NULL;
	ssize_t			 n;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	st->st_len = STATE_SLOTS_OFF + (size_t)max * sizeof(struct flow);
	if ((st->st_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
		    "a symbolic link, not followed" : strerror(errno));
		free(st);
		return NULL;
	}
	if (state_check_file(st->st_fd, path, err, errlen) == -1)
		goto fail;
	if (flock(st->st_fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
		    "in use by another handoffd" : strerror(errno));
		goto fail;
	}

	memset(&want, 0, sizeof(want));
	memcpy(want.sh_magic, state_magic, sizeof(state_magic));
	want.sh_layout = STATE_LAYOUT;
	want.sh_sig = state_signature();
	want.sh_max = max;
	state_kboot(want.sh_kboot, sizeof(want.sh_kboot));
	snprintf(want.sh_node, sizeof(want.sh_node), "%s", cfg->cfg_node.cn_id);

	if (fstat(st->st_fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (sb.st_size != 0) {
		n = pread(st->st_fd, &got, sizeof(got), 0);
		if (n != (ssize_t)sizeof(got))
			why = "truncated";
		else if ((why = state_mismatch(&got, &want)) == NULL &&
		    sb.st_size != (off_t)st->st_len)
			why = "truncated";
		if (why != NULL)
			log_warnx("state: %s: %s: starting with no flows",
			    path, why);
		st->st_attached = why == NULL;
	}
	/* Emptied and sized in one go: the slots read as free.  Every page
	 * is allocated now: a full file system must not kill the daemon
	 * (SIGBUS) on its first write to one. */
	if ((!st->st_attached && (ftruncate(st->st_fd, 0) == -1 ||
	    ftruncate(st->st_fd, (off_t)st->st_len) == -1)) ||
	    (errno = posix_fallocate(st->st_fd, 0, (off_t)st->st_len)) != 0) {
		snprintf(err, errlen, "%s: %zu bytes: %s", path, st->st_len,
		    strerror(errno));
		goto fail;
	}
	st->st_hdr = mmap(NULL, st->st_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    st->st_fd, 0);
	if (st->st_hdr == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map %zu bytes: %s", path,
		    st->st_len, strerror(errno));
		st->st_hdr = NULL;
		goto fail;
	}
	if (st->st_attached) {
		st->st_npeers = st->st_hdr->sh_npeers;
		memcpy(st->st_peers, st->st_hdr->sh_peers,
		    sizeof(st->st_peers));
	} else {
		if (RAND_bytes((unsigned char *)&want.sh_boot,
		    sizeof(want.sh_boot)) != 1) {
			snprintf(err, errlen, "%s: no random bytes", path);
			goto fail;
		}
		want.sh_boot |= 1;	/* 0 is "none yet" to a peer */
		*st->st_hdr = want;
	}
	return st;
fail:
	state_close(st);
	return NULL;
}

/* The slots, for flow_table_new(). */
struct flow *
state_flows(struct state *st)
{
	return (struct flow *)((char *)st->st_hdr + STATE_SLOTS_OFF);
}

/* Whether the slots hold the flows of a process before this one. */
int
state_attached(const struct state *st)
{
	return st->st_attached;
}

/* The boot id this node's HELLO carries: the same as long as its flows
 * live on, so that peers keep theirs. */
uint64_t
state_boot(const struct state *st)
{
	return st->st_hdr->sh_boot;
}

/*
 * The index cfg gives the peer that the file's flows call idx: the same
 * id, wherever this configuration lists it; -1 when it lists it no more.
 * This node (PEER_LOCAL, one past the last index) stays itself.
 */
int
state_peer(const struct state *st, const struct cfg *cfg, int idx)
{
	char			 id[CFG_ID_MAX];

	if (idx == CFG_MAX_PEERS)
		return idx;
	if (idx < 0 || (uint32_t)idx >= st->st_npeers)
		return -1;
	memcpy(id, st->st_peers[idx], sizeof(id));
	id[sizeof(id) - 1] = '\0';
	return cfg_peer_by_id(cfg, id);
}

/* Records whom cfg's peer indices name, for the next process, each with
 * the boot id the file last knew it by. */
void
state_set_peers(struct state *st, const struct cfg *cfg)
{
	struct state_hdr	*h = st->st_hdr;
	uint64_t		 boot[CFG_MAX_PEERS];
	uint32_t		 j;
	int			 i;

	memset(boot, 0, sizeof(boot));
	for (i = 0; i < cfg->cfg_npeers; i++)
		for (j = 0; j < h->sh_npeers && j < CFG_MAX_PEERS; j++)
			if (strncmp(h->sh_peers[j], cfg->cfg_peers[i].cp_id,
			    CFG_ID_MAX) == 0)
				boot[i] = h->sh_peer_boot[j];
	memset(h->sh_peers, 0, sizeof(h->sh_peers));
	for (i = 0; i < cfg->cfg_npeers; i++)
		snprintf(h->sh_peers[i], sizeof(h->sh_peers[i]), "%s",
		    cfg->cfg_peers[i].cp_id);
	memcpy(h->sh_peer_boot, boot, sizeof(boot));
	h->sh_npeers = (uint32_t)cfg->cfg_npeers;
}

/* The peers' boot ids by index (state_set_peers' order): peer.c reads
 * what the last process knew and writes what each HELLO says. */
uint64_t *
state_peer_boots(struct state *st)
{
	return st->st_hdr->sh_peer_boot;
}

/* Lets go of the file, which keeps what the flows were. */
void
state_close(struct state *st)
{
	if (st == NULL)
		return;
	if (st->st_hdr != NULL)
		munmap(st->st_hdr, st->st_len);
	close(st->st_fd);
	free(st);
}

/* Privileges: the descriptor limit and the drop to node.user; see priv.h. */
#define _GNU_SOURCE		/* glibc: getresuid(), setresuid() */
#include <sys/types.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#endif
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "priv.h"

/*
 * Descriptors besides relays and peers: stdio, the TUN device, the control
 * listener, the event base and its signal pipe, syslog, and control
 * connections accepted but not yet authenticated.
 */
#define PRIV_FD_SPARE	64

/*
 * The descriptors the configuration may hold at once: every connection
 * relayed between lwIP and a web server holds a socket, and there are no
 * more of them than flows; each peer has a control connection each way;
 * each active check of a pool member has its own connection.  why, of
 * size len, says so in numbers.
 */
static rlim_t
priv_nofile_need(const struct cfg *cfg, char *why, size_t len)
{
	rlim_t	 checked = 0;
	int	 i;

	for (i = 0; i < cfg->cfg_npools; i++)
		if (cfg->cfg_pools[i].cp_check_path[0] != '\0')
			checked += (rlim_t)cfg->cfg_pools[i].cp_nmembers;
	(void)snprintf(why, len, "handoff.max_flows %d, 2 for each of %d "
	    "peer%s, ", cfg->cfg_handoff.ch_max_flows, cfg->cfg_npeers,
	    cfg->cfg_npeers == 1 ? "" : "s");
	if (checked > 0)
		(void)snprintf(why + strlen(why), len - strlen(why), "1 for "
		    "each of %llu pool member%s checked, ",
		    (unsigned long long)checked, checked == 1 ? "" : "s");
	(void)snprintf(why + strlen(why), len - strlen(why), "%d spare",
	    PRIV_FD_SPARE);
	return (rlim_t)cfg->cfg_handoff.ch_max_flows +
	    2 * (rlim_t)cfg->cfg_npeers + checked + PRIV_FD_SPARE;
}

/*
 * The hard limit is below what the configuration needs and cannot be
 * raised.  A daemon started unprivileged was given its limits by whoever
 * started it, who can fix them: it refuses, saying how.  Root was refused
 * by the platform itself (a container without CAP_SYS_RESOURCE, or
 * fs.nr_open), where refusing would leave the default configuration
 * unusable: it takes all it may have and says what it lacks.
 */
static void
priv_nofile_short(rlim_t need, const char *why)
{
	struct rlimit	 rl;

	if (geteuid() != 0)
		fatal("%llu file descriptors are needed (%s) but the limit "
		    "cannot be raised: start the daemon with a hard limit of "
		    "at least %llu (\"ulimit -n %llu\" as root, or "
		    "LimitNOFILE=%llu in its systemd unit), or lower "
		    "handoff.max_flows", (unsigned long long)need, why,
		    (unsigned long long)need, (unsigned long long)need,
		    (unsigned long long)need);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("setrlimit");
	log_warnx("%llu file descriptors are needed (%s) but even root may "
	    "only have %llu: connections may fail under load; raise the hard "
	    "limit (LimitNOFILE=, the container's nofile limit, fs.nr_open) "
	    "or lower handoff.max_flows", (unsigned long long)need, why,
	    (unsigned long long)rl.rlim_max);
}

/*
 * Raises the soft descriptor limit to what the configuration needs, and
 * the hard one too when it is lower.  Done at start: a daemon that ran
 * out of descriptors under load would fail connections it had room for.
 */
void
priv_nofile(const struct cfg *cfg)
{
	struct rlimit	 rl;
	char		 why[160];
	rlim_t		 need = priv_nofile_need(cfg, why, sizeof(why));

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		priv_nofile_short(need, why);
		return;
	}
	log_debug("descriptor limit raised to %llu", (unsigned long long)need);
}

/*
 * Becomes node.user: its groups (or node.group alone), then its gid, then
 * its uid, real, effective and saved alike, so that none is left to go
 * back to.  A daemon started as that user already has nothing to change.
 */
static void
priv_become(const struct cfg_node *cn)
{
	uid_t	 ruid, euid, suid;

	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("getresuid");
	if (ruid == cn->cn_uid && euid == cn->cn_uid && suid == cn->cn_uid)
		return;
	if (euid != 0)
		fatalx("node.user is %s but the daemon runs as uid %u: start "
		    "it as root or as %s", cn->cn_user, (unsigned int)euid,
		    cn->cn_user);
	if (cn->cn_group[0] != '\0') {
		if (setgroups(1, &cn->cn_gid) == -1)
			fatal("setgroups");
	} else if (initgroups(cn->cn_user, cn->cn_gid) == -1)
		fatal("initgroups %s", cn->cn_user);
	if (setresgid(cn->cn_gid, cn->cn_gid, cn->cn_gid) == -1)
		fatal("setresgid %u", (unsigned int)cn->cn_gid);
	if (setresuid(cn->cn_uid, cn->cn_uid, cn->cn_uid) == -1)
		fatal("setresuid %u", (unsigned int)cn->cn_uid);
	log_info("running as user %s (uid %u, gid %u)", cn->cn_user,
	    (unsigned int)cn->cn_uid, (unsigned int)cn->cn_gid);
}

#ifdef __linux__
/*
 * Clears every capability a non-root process may still hold: the kernel
 * clears them when root's uids go, but not those of a daemon started as
 * its user with ambient capabilities (systemd's AmbientCapabilities=), nor
 * under SECBIT_NO_SETUID_FIXUP.  Then reads them back.
 */
static void
priv_caps_clear(void)
{
	struct __user_cap_header_struct	 h;
	struct __user_cap_data_struct	 d[_LINUX_CAPABILITY_U32S_3];
	size_t				 i;

	memset(&h, 0, sizeof(h));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) == -1)
		fatal("capset");
	if (syscall(SYS_capget, &h, d) == -1)
		fatal("capget");
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective != 0 || d[i].permitted != 0)
			fatalx("capabilities are left after dropping them");
}

/*
 * No execve() can grant privileges again (the daemon never executes
 * anything, so this only closes doors).  Then the dumpable flag.  Changing
 * uids sets it to fs.suid_dumpable, 0 by default: no core file, and only
 * root may ptrace the process or open most of /proc/PID.  We set 0
 * whatever the sysctl says and however the daemon was started, as sshd
 * does: a core file, or another process of the same user attaching to us,
 * would read the pre-shared key.  LeakSanitizer still works: it ptrace()s
 * the process at exit from a task outside its thread group, which the
 * kernel refuses when not dumpable, so it sets the flag itself while it
 * looks and puts it back.  Root reads /proc/PID as before.
 */
static void
priv_restrict(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
	if (geteuid() != 0)
		priv_caps_clear();
}
#else
/* BSD: changing uids already keeps others from tracing us. */
static void
priv_restrict(void)
{
}
#endif

/* Root must be out of reach, whatever the system let us keep; and so must
 * root's group, which a daemon started as its user may have been given
 * among its supplementary groups (systemd's SupplementaryGroups=). */
static void
priv_verify(void)
{
	gid_t	*groups;
	int	 i, n;

	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    getegid() == 0)
		fatalx("privileges were dropped, but root can be regained");
	if ((n = getgroups(0, NULL)) == -1 ||
	    (groups = calloc((size_t)n + 1, sizeof(*groups))) == NULL ||
	    (n = getgroups(n, groups)) == -1)
		fatal("getgroups");
	for (i = 0; i < n; i++)
		if (groups[i] == 0)
			fatalx("the daemon runs in root's group (gid 0): start "
			    "it without that group, or as root with node.user");
	free(groups);
}

/*
 * The status file is replaced every second from now on, as this user, by
 * a new file in its directory: a directory root prepared for root would
 * fail silently every second.
 */
static void
priv_check_status(const struct cfg *cfg)
{
	const char	*path = cfg->cfg_node.cn_status_file;
	const char	*slash = strrchr(path, '/');
	char		 dir[sizeof(cfg->cfg_node.cn_status_file)];

	if (path[0] == '\0')
		return;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (access(dir, W_OK | X_OK) == -1)
		fatal("node.status_file %s: uid %u cannot create files in %s",
		    path, (unsigned int)geteuid(), dir);
}

/*
 * Drops root for node.user, or warns once that the daemon keeps it.
 * Called once everything that needs root is open; what the daemon opens
 * later needs nothing: relay, control and check connections are outgoing
 * TCP, and the status file's directory is checked here.
 */
void
priv_drop(const struct cfg *cfg)
{
	const struct cfg_node	*cn = &cfg->cfg_node;

	if (cn->cn_user[0] != '\0')
		priv_become(cn);
	else if (geteuid() == 0)
		log_warnx("running as root: set node.user to run as an "
		    "unprivileged user once started");
	priv_restrict();
	if (geteuid() == 0)
		return;
	priv_verify();
	priv_check_status(cfg);
}

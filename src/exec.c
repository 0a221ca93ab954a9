/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cgroup.h"
#include "env.h"
#include "hook.h"
#include "hub.h"
#include "machined.h"
#include "exec.h"
#include "mount.h"
#include "netif.h"
#include "nl.h"
#include "seccomp.h"
#include "state.h"
#include "tty.h"
#include "userns.h"
#include "util.h"

#ifndef RUNDIR
#define RUNDIR "/run/nsbox"
#endif

extern char **environ;

struct exec_ctx {
	struct plan *p;
	bool verbose;
	char *statedir; /* RUNDIR, or the caller's own when unprivileged */
	char id[13];    /* this run's: statedir/ID.lock, ID.json and maybe ID/ */
	char *rundir;   /* statedir/ID, made only when a run needs it */
	bool rundir_made;
	char *lockpath;
	int lockfd;
	char *newroot; /* where the root is assembled; NULL: the host root */
	int rootfd;
	int sync[2]; /* parent -> child: go (EOF: the parent died) */
	int chan[2]; /* child -> parent: 'E' error, 'P' pty master; EOF: setup done */
	pid_t pid;
	struct user_info user;
	bool use_init; /* nsbox's init is PID 1; else the payload is */
	bool use_pty;
	int slave; /* the pty's container end, in the child */
	struct relay relay;
	bool userns;
	struct idmaps maps;
	/* The caller is not in the maps, so the container's root may not
	 * reach what is the caller's alone (the state directory, its home):
	 * the child finds host paths through fds nsbox opened before the
	 * clone (hostfd), never by name. */
	bool by_fd;
	struct hostfds {
		int newroot, lower, run, upper, work;
		int *overlays; /* one per plan overlay */
		int *srcs;     /* one per plan mount: a bind's source, or -1 */
	} fd;
	struct netif_state net;
	struct cache_ref cache; /* a tarball root's cached tree */
	char *lower;            /* the bottom layer: root.directory or that tree */
	int interrupted;        /* a signal that stopped nsbox before the start */
	struct cgroups cg;
	char *name; /* process.name, or PROFILE-PID */
	int report; /* detached: to the caller, "OK" or the error; else -1 */
	struct hub hub;
	bool registered; /* with systemd-machined */
	bool boot;       /* the command is an init (systemd), PID 1 */
	char **envp;     /* the payload's environment, made before it starts */
	cap_t caps;      /* and its capabilities */
};

struct step {
	const char *name;
	int (*run)(struct exec_ctx *ctx, struct nsbox_err *err);
};

#ifdef NSBOX_FAULTS
/* Test builds only (make tests/nsbox-fault): NSBOX_FAULT=STEP:fail fails
 * STEP once it has run, so that its undo runs; STEP:stop says so on
 * stderr and waits there forever, for a test to kill -9. */
static int
fault(const char *step, struct nsbox_err *err)
{
	const char *f = getenv("NSBOX_FAULT");
	size_t n = strlen(step);

	if (!f || strncmp(f, step, n) != 0 || f[n] != ':')
		return 0;
	if (streq(f + n + 1, "stop")) {
		fprintf(stderr, "nsbox: fault: %s: stopped\n", step);
		for (;;)
			pause();
	}
	return nsbox_error(err, 0, "fault injected");
}
#else
static inline int
fault(const char *step, struct nsbox_err *err)
{
	(void)step;
	(void)err;
	return 0;
}
#endif

/* Signals nsbox passes on to the container. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void
signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGWINCH);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

/* One message on the setup channel: a tag, text, and maybe an fd. */
static int
chan_send(int sock, char tag, const char *text, int fd)
{
	char buf[600];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u = {0};
	struct iovec iov = {.iov_base = buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	iov.iov_len = (size_t)snprintf(buf, sizeof(buf), "%c%s", tag, text ? text : "") + 1;
	if (iov.iov_len > sizeof(buf))
		iov.iov_len = sizeof(buf);
	if (fd >= 0) {
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Receive one message; returns its length (0 at EOF) and the fd, if any. */
static ssize_t
chan_recv(int sock, char *buf, size_t size, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.b,
			   .msg_controllen = sizeof(u.b)};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/* --- host state: RUNDIR/ID, locked for as long as the run lives --- */

/* A killed run's cgroups, named in its state. */
static void
gc_cgroups(const char *rundir)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroups", rundir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* only what nsbox names so: a state file is not to be trusted blindly */
		if (*line == '/' && strstr(line, "/nsbox-") && cgroup_remove(line) < 0)
			fprintf(stderr, "nsbox: cannot remove the cgroup %s: %s\n", line,
				strerror(errno));
	}
}

/* Remove a run's directory; what an unprivileged run's container wrote
 * there is removed in a user namespace with its maps m (NULL: the
 * caller's default maps). */
static void
remove_run_dir(const char *dir, const struct idmaps *m)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	_cleanup_close_ int pfd = -1;
	struct nsbox_err ignore = {0};

	if (!slash)
		return;
	*slash = '\0';
	pfd = open(*parent ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0)
		userns_remove_tree(pfd, slash + 1, m, &ignore);
}

/* DIR.json, and the DIR.json.new of a write cut short. */
static void
remove_state(const char *dir)
{
	_cleanup_free_ char *state = xasprintf("%s.json", dir);
	_cleanup_free_ char *tmp = xasprintf("%s.json.new", dir);

	unlink(tmp);
	unlink(state);
}

/* Runs killed with SIGKILL leave a free ID.lock behind, ID.json and maybe
 * the directory ID. */
static int
gc_stale(const char *statedir, bool dry_run)
{
	DIR *d = opendir(statedir);
	struct dirent *de;
	int found = 0;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *lock = NULL, *dir = NULL;
		_cleanup_close_ int fd = -1;

		if (n <= 5 || !streq(de->d_name + n - 5, ".lock"))
			continue;
		lock = xasprintf("%s/%s", statedir, de->d_name);
		fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		dir = xasprintf("%s/%.*s", statedir, (int)(n - 5), de->d_name);
		found++;
		if (dry_run) {
			printf("%.*s\t%s\n", (int)(n - 5), de->d_name, lock);
			continue;
		}
		gc_cgroups(dir);
		remove_run_dir(dir, NULL);
		remove_state(dir);
		unlink(lock);
		fprintf(stderr, "nsbox: removed leftovers of run %.*s\n", (int)(n - 5), de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* Where runs keep their state: RUNDIR for root; for another user
 * $XDG_RUNTIME_DIR/nsbox, else /tmp/nsbox-UID. Either must be a directory
 * of the caller's that nobody else can write. */
static int
state_dir(struct exec_ctx *ctx, struct nsbox_err *err)
{
	uid_t uid = geteuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (uid == 0)
		ctx->statedir = xstrdup(RUNDIR);
	else if (xdg && *xdg == '/')
		ctx->statedir = xasprintf("%s/nsbox", xdg);
	else
		ctx->statedir = xasprintf("/tmp/nsbox-%u", (unsigned)uid);
	/* 0711: a user namespace's root, which may not be the owner, still
	 * reaches its own run directory. */
	if (mkdir(ctx->statedir, uid == 0 ? 0711 : 0700) < 0 && errno != EEXIST)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	if (lstat(ctx->statedir, &st) < 0)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || st.st_mode & 022)
		return nsbox_error(err, 0,
				   "%s: not a directory of uid %u that only it can write; "
				   "remove it",
				   ctx->statedir, (unsigned)uid);
	if (uid == 0 && (st.st_mode & 0777) != 0711 && chmod(ctx->statedir, 0711) < 0)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	return 0;
}

/* The name of a live run other than ours, or NULL: its lock holds it. */
static char *
live_name(const char *statedir, const char *lockname, const char *ours)
{
	_cleanup_free_ char *lock = xasprintf("%s/%s", statedir, lockname);
	_cleanup_close_ int fd = -1;
	char buf[256];
	ssize_t k;

	if (ours && streq(lock, ours))
		return NULL;
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
		return NULL; /* free: not live */
	k = pread(fd, buf, sizeof(buf) - 1, 0);
	if (k <= 0)
		return NULL;
	buf[k] = '\0';
	return xstrdup(buf);
}

/* process.name, or PROFILE-PID: unique among the caller's live runs.
 * Written into the run's lock. */
static int
name_run(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	DIR *d;
	struct dirent *de;

	if (p->name) {
		ctx->name = xstrdup(p->name);
	} else {
		const char *b = p->profile ? strrchr(p->profile, '/') : NULL;
		_cleanup_free_ char *prof = xstrdup(b ? b + 1 : p->profile ? p->profile : "nsbox");
		char *dot = strstr(prof, ".conf");

		if (dot && !dot[5])
			*dot = '\0';
		ctx->name = xasprintf("%s-%d", prof, (int)getpid());
	}
	if ((d = opendir(ctx->statedir))) {
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			_cleanup_free_ char *other = NULL;

			if (n > 5 && streq(de->d_name + n - 5, ".lock") &&
			    (other = live_name(ctx->statedir, de->d_name, ctx->lockpath)) &&
			    streq(other, ctx->name)) {
				closedir(d);
				return nsbox_error_at(err,
						      p->name ? p->origin.name : "command line",
						      "process.name: a running container is "
						      "already named %s",
						      ctx->name);
			}
		}
		closedir(d);
	}
	if (pwrite(ctx->lockfd, ctx->name, strlen(ctx->name), 0) < 0)
		return nsbox_error(err, errno, "%s", ctx->lockpath);
	return 0;
}

static int
step_state(struct exec_ctx *ctx, struct nsbox_err *err)
{
	unsigned char rnd[6];
	char id[13];

	if (state_dir(ctx, err) < 0)
		return -1;
	gc_stale(ctx->statedir, false);
	if (getentropy(rnd, sizeof(rnd)) < 0)
		return nsbox_error(err, errno, "getentropy");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	memcpy(ctx->id, id, sizeof(id));
	/* The lock exists before anything else of the run's, so gc never takes
	 * a live run; and it is locked before it has a name, so gc never sees
	 * it free. */
	ctx->lockpath = xasprintf("%s/%s.lock", ctx->statedir, id);
	ctx->lockfd = open(ctx->statedir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (ctx->lockfd >= 0) {
		char proc[40];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ctx->lockfd);
		if (flock(ctx->lockfd, LOCK_EX) < 0 ||
		    linkat(AT_FDCWD, proc, AT_FDCWD, ctx->lockpath, AT_SYMLINK_FOLLOW) < 0) {
			nsbox_error(err, errno, "%s", ctx->lockpath);
			/* Not ours to unlink: it may be another run's lock. */
			close(steal_fd(&ctx->lockfd));
			return -1;
		}
	} else { /* a filesystem without O_TMPFILE */
		ctx->lockfd = open(ctx->lockpath,
				   O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (ctx->lockfd < 0 || flock(ctx->lockfd, LOCK_EX) < 0)
			return nsbox_error(err, errno, "%s", ctx->lockpath);
	}
	ctx->rundir = xasprintf("%s/%s", ctx->statedir, id);
	return name_run(ctx, err);
}

/* The run's directory, for what only some runs have: an ephemeral upper,
 * cgroups to remove after a kill -9, the attach socket of a detached run.
 * A plain run makes none (a directory costs an inode, and its rmdir is
 * the dearest call of a run's cleanup on an ext4 /run). With a user
 * namespace it is the container root's, which makes the upper in it. */
static int
run_dir(struct exec_ctx *ctx, struct nsbox_err *err)
{
	if (ctx->rundir_made)
		return 0;
	if (mkdir(ctx->rundir, 0700) < 0)
		return nsbox_error(err, errno, "%s", ctx->rundir);
	ctx->rundir_made = true;
	/* The container's root makes the upper here; without the caller's
	 * id it is "others". Nobody else gets this far: the state directory
	 * is the caller's alone. */
	if (ctx->by_fd && chmod(ctx->rundir, 0733) < 0)
		return nsbox_error(err, errno, "%s", ctx->rundir);
	if (ctx->userns && geteuid() == 0 &&
	    chown(ctx->rundir, ctx->maps.root_uid, ctx->maps.root_gid) < 0)
		return nsbox_error(err, errno, "chown %s", ctx->rundir);
	return 0;
}

/* A host path as the child reaches it: the path itself, or /proc/self/fd/N
 * of what nsbox opened for it (sub, if not NULL, below it). */
static char *
host_path(const struct exec_ctx *ctx, const char *path, int fd, const char *sub)
{
	if (!ctx->by_fd || fd < 0)
		return sub ? xasprintf("%s/%s", path, sub) : xstrdup(path);
	return sub ? xasprintf("/proc/self/fd/%d/%s", fd, sub) : xasprintf("/proc/self/fd/%d", fd);
}

static int
mkdir_in_run(struct exec_ctx *ctx, const char *name, char **out, struct nsbox_err *err)
{
	*out = host_path(ctx, ctx->rundir, ctx->fd.run, name);
	if (mkdir(*out, 0755) < 0)
		return nsbox_error(err, errno, "%s/%s", ctx->rundir, name);
	return 0;
}

/* Open path as the caller in the child's mount namespace, through
 * /proc/PID/root (or /proc/PID/cwd for a relative path): the caller may
 * follow those while the child, in a user namespace of the caller's, is
 * still dumpable (not yet woken). An fd of nsbox's own mount namespace
 * would not do: overlayfs and open_tree refuse another namespace's mounts. */
static int
open_in_child(pid_t pid, const char *path, int *fd, struct nsbox_err *err)
{
	_cleanup_free_ char *at =
		xasprintf("/proc/%d/%s/%s", (int)pid, *path == '/' ? "root" : "cwd", path);

	*fd = open(at, O_PATH | O_CLOEXEC);
	return *fd < 0 ? nsbox_error(err, errno, "%s", path) : 0;
}

/* The host fds as one list: newroot, lower, run, upper, work, then one
 * per overlay, then one per mount. */
static int *
host_fd_slot(struct hostfds *h, const struct plan *p, size_t i)
{
	int *one[] = {&h->newroot, &h->lower, &h->run, &h->upper, &h->work};

	if (i < ARRAY_SIZE(one))
		return one[i];
	i -= ARRAY_SIZE(one);
	return i < p->n_overlays ? &h->overlays[i] : &h->srcs[i - p->n_overlays];
}

static size_t
host_fd_count(const struct plan *p)
{
	return 5 + p->n_overlays + p->n_mounts;
}

static void
host_fds_alloc(struct hostfds *h, const struct plan *p)
{
	h->overlays = xcalloc(p->n_overlays + 1, sizeof(int));
	h->srcs = xcalloc(p->n_mounts + 1, sizeof(int));
	for (size_t i = 0; i < host_fd_count(p); i++)
		*host_fd_slot(h, p, i) = -1;
}

static void
close_host_fds(struct exec_ctx *ctx)
{
	struct hostfds *h = &ctx->fd;

	for (size_t i = 0; h->overlays && i < host_fd_count(ctx->p); i++)
		if (*host_fd_slot(h, ctx->p, i) >= 0)
			close(steal_fd(host_fd_slot(h, ctx->p, i)));
	free(h->overlays);
	free(h->srcs);
	h->overlays = h->srcs = NULL;
}

/* At most this many host fds go to the child in one message. */
#define HOST_FDS_MAX 200

/* What the child will need of the caller's, opened as the caller after the
 * clone (open_in_child) and sent to the child on the setup channel, with
 * the slot of each as text. */
static int
step_host_fds(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	struct hostfds *h = &ctx->fd;
	_cleanup_free_ char *work = p->upper ? xasprintf("%s.work", p->upper) : NULL;
	const char *paths[] = {ctx->newroot, ctx->lower, ctx->rundir_made ? ctx->rundir : NULL,
			       p->upper, work};
	char text[4 * HOST_FDS_MAX + 2] = "F";
	int fds[HOST_FDS_MAX];
	size_t n = 0, len = 1;

	if (!ctx->by_fd)
		return 0;
	if (host_fd_count(p) > HOST_FDS_MAX)
		return nsbox_error(err, 0, "more than %d mounts and layers", HOST_FDS_MAX - 5);
	host_fds_alloc(h, p);
	for (size_t i = 0; i < host_fd_count(p); i++) {
		int *fd = host_fd_slot(h, p, i);
		const struct mount_op *m =
			i >= 5 + p->n_overlays ? &p->mounts[i - 5 - p->n_overlays] : NULL;

		if (i < ARRAY_SIZE(paths) && paths[i] &&
		    open_in_child(ctx->pid, paths[i], fd, err) < 0)
			return -1;
		if (i >= 5 && !m && open_in_child(ctx->pid, p->overlays[i - 5], fd, err) < 0)
			return -1;
		/* a bind's source that is not there: the child says so, by name */
		if (m && m->kind <= MOUNT_BIND_RO)
			open_in_child(ctx->pid, m->src, fd, err);
		if (*fd >= 0) {
			fds[n++] = *fd;
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%zu,", i);
		}
	}
	{
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(fds))];
		} u = {0};
		struct iovec iov = {.iov_base = text, .iov_len = len + 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t r;

		if (n) {
			msg.msg_control = u.b;
			msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
			CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(n * sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, n * sizeof(int));
		}
		r = sendmsg(ctx->chan[0], &msg, MSG_NOSIGNAL);
		close_host_fds(ctx); /* the child has them now */
		if (r < 0)
			return nsbox_error(err, errno, "send the host fds to the container");
	}
	return 0;
}

/* The child's side: the fds step_host_fds sent, into their slots. */
static int
recv_host_fds(struct exec_ctx *ctx, struct nsbox_err *err)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(HOST_FDS_MAX * sizeof(int))];
	} u;
	char text[4 * HOST_FDS_MAX + 2] = "";
	struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	struct cmsghdr *c = NULL;
	size_t got = 0, nfds = 0;
	ssize_t r;
	char *t, *save = NULL;

	host_fds_alloc(&ctx->fd, ctx->p);
	do
		r = recvmsg(ctx->chan[1], &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || text[0] != 'F')
		return nsbox_error(err, r < 0 ? errno : 0, "receive the host fds");
	text[r] = '\0';
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			break;
	if (c)
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	for (t = strtok_r(text + 1, ",", &save); t && got < nfds; t = strtok_r(NULL, ",", &save)) {
		size_t i = strtoul(t, NULL, 10);

		if (i < host_fd_count(ctx->p))
			memcpy(host_fd_slot(&ctx->fd, ctx->p, i), CMSG_DATA(c) + got * sizeof(int),
			       sizeof(int));
		got++;
	}
	return 0;
}

static int
step_prepare_root(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;

	if (p->rootfs) {
		struct stat st;

		if (stat(p->rootfs, &st) < 0)
			return nsbox_error(err, errno, "root.directory %s", p->rootfs);
		if (!S_ISDIR(st.st_mode))
			return nsbox_error(err, ENOTDIR, "root.directory %s", p->rootfs);
		ctx->lower = xstrdup(p->rootfs);
	} else if (p->tarball) {
		if (cache_root(p->tarball, p->origin.tarball, ctx->userns ? &ctx->maps : NULL,
			       &ctx->cache, &ctx->interrupted, err) < 0)
			return -1;
		ctx->lower = xstrdup(ctx->cache.tree);
	}
	/* The root is assembled on the state directory itself, in the
	 * child's mount namespace only: no directory of its own per run. */
	if (ctx->lower)
		ctx->newroot = xstrdup(ctx->statedir);
	/* The child makes the ephemeral upper there (step_rootfs). */
	if (ctx->lower && !p->upper && (p->ephemeral || p->tarball) && run_dir(ctx, err) < 0)
		return -1;
	/* A persistent upper is made here, by the caller, so that it may be
	 * where only the caller can write; overlayfs wants its work dir on
	 * the same filesystem. What nsbox makes is the container root's. */
	_cleanup_free_ char *work = p->upper ? xasprintf("%s.work", p->upper) : NULL;
	bool made_upper = false, made_work = false;

	/* Root makes and chowns them by name, and overlayfs takes them by
	 * name in the child: only where no one else can swap what a name is. */
	if (p->upper && geteuid() == 0) {
		_cleanup_free_ char *parent = xstrdup(p->upper), *bad = NULL;
		char *slash = strrchr(parent, '/');

		if (slash)
			slash[slash == parent] = '\0';
		if (path_root_only(slash ? parent : ".", &bad) < 0)
			return nsbox_error_at(err, p->origin.upper,
					      "root.upper: %s: %s is missing, not root's or "
					      "writable by others; as root, nsbox makes and "
					      "uses an upper only where only root can change "
					      "the path",
					      p->upper, bad);
	}
	if (p->upper) {
		made_upper = mkdir(p->upper, 0755) == 0;
		if (!made_upper && errno != EEXIST)
			return nsbox_error(err, errno, "root.upper %s", p->upper);
		made_work = mkdir(work, 0700) == 0;
		if (!made_work && errno != EEXIST)
			return nsbox_error(err, errno, "root.upper %s", work);
	}
	/* Root with a user namespace: a persistent upper nsbox made is the
	 * container root's. */
	if (ctx->userns && geteuid() == 0) {
		const char *own[] = {made_upper ? p->upper : NULL, made_work ? work : NULL};

		for (size_t i = 0; i < ARRAY_SIZE(own); i++)
			if (own[i] && chown(own[i], ctx->maps.root_uid, ctx->maps.root_gid) < 0)
				return nsbox_error(err, errno, "chown %s", own[i]);
	}
	/* overlayfs writes the upper as the container's root */
	if (ctx->by_fd && p->upper) {
		struct stat st;

		if (stat(p->upper, &st) == 0 &&
		    !idmaps_host_mapped(ctx->maps.uid, ctx->maps.n_uid, st.st_uid))
			return nsbox_error_at(err, p->origin.upper,
					      "root.upper: %s belongs to uid %u, which the map "
					      "leaves out: the container's root (uid %u on the "
					      "host) cannot write it",
					      p->upper, (unsigned)st.st_uid,
					      (unsigned)ctx->maps.root_uid);
	}
	return 0;
}

/* --- child side, in the new namespaces --- */

/* Whether groups cannot change: nsbox's own user namespace was made
 * without newgidmap, or nsbox runs in one that denies setgroups (uid 0 of
 * `unshare -r`, of a rootless container), which its children inherit. */
static bool
groups_fixed(const struct exec_ctx *ctx)
{
	char buf[8] = "";
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);

	if (ctx->maps.deny_setgroups)
		return true;
	return fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && startswith(buf, "deny");
}

static int
step_propagation(struct exec_ctx *ctx, struct nsbox_err *err)
{
	(void)ctx;
	/* Before anything is mounted: nothing may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nsbox_error(err, errno, "make / private");
	return 0;
}

static char *
overlay_lower(const struct exec_ctx *ctx)
{
	const struct plan *p = ctx->p;
	char *s = host_path(ctx, ctx->lower, ctx->fd.lower, NULL);

	/* overlayfs lists the top layer first; the root is the bottom. */
	for (size_t i = 0; i < p->n_overlays; i++) {
		_cleanup_free_ char *o = host_path(
			ctx, p->overlays[i], ctx->fd.overlays ? ctx->fd.overlays[i] : -1, NULL);
		char *t = xasprintf("%s:%s", o, s);

		free(s);
		s = t;
	}
	return s;
}

static int
step_rootfs(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	_cleanup_close_ int target = -1;
	_cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *at = NULL;

	if (!ctx->newroot) {
		ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return ctx->rootfd < 0 ? nsbox_error(err, errno, "/") : 0;
	}
	at = host_path(ctx, ctx->newroot, ctx->fd.newroot, NULL);
	target = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return nsbox_error(err, errno, "%s", ctx->newroot);
	/* A tarball's tree is shared: its changes go to an upper, always. */
	if (p->ephemeral || p->upper || p->n_overlays || p->tarball) {
		lower = overlay_lower(ctx);
		if (p->upper) {
			upper = host_path(ctx, p->upper, ctx->fd.upper, NULL);
			/* overlayfs wants its work dir on the upper's filesystem. */
			_cleanup_free_ char *w = xasprintf("%s.work", p->upper);

			work = host_path(ctx, w, ctx->fd.work, NULL);
		} else if (p->ephemeral || p->tarball) {
			if (mkdir_in_run(ctx, "upper", &upper, err) < 0 ||
			    mkdir_in_run(ctx, "work", &work, err) < 0)
				return -1;
		}
		const char *o[9] = {"lowerdir", lower};
		size_t n = 2;

		if (upper) { /* else read-only layers only */
			o[n++] = "upperdir";
			o[n++] = upper;
			o[n++] = "workdir";
			o[n++] = work;
			/* In a user namespace overlayfs cannot use trusted.* xattrs. */
			if (ctx->userns) {
				o[n++] = "userxattr";
				o[n++] = "";
			}
		}
		ctx->rootfd = mount_fs_attach("overlay", o, 0, target, err);
	} else {
		_cleanup_free_ char *src = host_path(ctx, p->rootfs, ctx->fd.lower, NULL);

		ctx->rootfd = mount_bind_attach(src, false, target, err);
	}
	return ctx->rootfd < 0 ? -1 : 0;
}

static int
step_api_fs(struct exec_ctx *ctx, struct nsbox_err *err)
{
	bool net_rw = ctx->p->ns_flags & CLONE_NEWNET;
	struct mount_masks mk = MOUNT_MASKS_INIT;
	int r = 0;

	if (!(ctx->p->ns_flags & CLONE_NEWNS))
		return 0;
	if (ctx->p->ns_flags & CLONE_NEWPID)
		r = mount_proc(ctx->rootfd, net_rw, &mk, err);
	/* The host root keeps the host's /dev and /sys, as in pflask. */
	if (r < 0 || !ctx->newroot)
		goto out;
	if (!(ctx->p->ns_flags & CLONE_NEWPID))
		r = mount_proc(ctx->rootfd, net_rw, &mk, err);
	if (r == 0)
		r = mount_sys(ctx->rootfd, &mk, err);
	if (r == 0 && ctx->boot)
		r = mount_cgroup2(ctx->rootfd, err);
	if (r == 0)
		r = mount_dev(ctx->rootfd, ctx->p->shm_size, err);
out:
	mount_masks_close(&mk);
	return r;
}

static int
step_mounts(struct exec_ctx *ctx, struct nsbox_err *err)
{
	for (size_t i = 0; i < ctx->p->n_mounts; i++) {
		struct mount_op m = ctx->p->mounts[i];
		_cleanup_free_ char *src = NULL;

		if (ctx->by_fd && ctx->fd.srcs[i] >= 0)
			m.src = src = host_path(ctx, m.src, ctx->fd.srcs[i], NULL);
		if (mount_apply(ctx->rootfd, &m, err) < 0) {
			char where[300];

			snprintf(where, sizeof(where), "%s: mount %s", m.origin, m.dst);
			nsbox_error_locate(err, where);
			return -1;
		}
	}
	return 0;
}

static int
step_pivot(struct exec_ctx *ctx, struct nsbox_err *err)
{
	if (!ctx->newroot)
		return 0;
	return mount_pivot(ctx->rootfd, err);
}

/* A new pty from the container's own devpts: the caller's terminal is
 * never handed in. The master goes to nsbox, which relays it. */
static int
step_terminal(struct exec_ctx *ctx, struct nsbox_err *err)
{
	_cleanup_close_ int master = -1, console = -1;
	char name[64];
	struct winsize ws;

	if (!ctx->use_pty)
		return 0;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return nsbox_error(err, errno, "/dev/ptmx");
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return nsbox_error(err, errno, "pty");
	ctx->slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ctx->slave < 0)
		return nsbox_error(err, errno, "pty: open %s", name);
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	/* nsbox's own /dev: the pty is the console too, as in nspawn. */
	if (ctx->newroot) {
		console = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (console < 0 || mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return nsbox_error(err, errno, "/dev/console");
	}
	if (chan_send(ctx->chan[1], 'P', NULL, master) < 0)
		return nsbox_error(err, errno, "pty: hand the master to nsbox");
	return 0;
}

static int
step_hostname(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const char *h = ctx->p->hostname;

	if (h && sethostname(h, strlen(h)) < 0)
		return nsbox_error(err, errno, "sethostname");
	return 0;
}

static int
step_loopback(struct exec_ctx *ctx, struct nsbox_err *err)
{
	return ctx->p->ns_flags & CLONE_NEWNET ? nl_lo_up(err) : 0;
}

static int
step_user(struct exec_ctx *ctx, struct nsbox_err *err)
{
	/* After pivot_root, /etc/passwd is the container's own; on the host
	 * root it is the host's file, read as a file, never through NSS. */
	_cleanup_fclose_ FILE *pw = fopen("/etc/passwd", "re"), *gr = fopen("/etc/group", "re");

	return user_lookup(ctx->p->user, pw, gr, &ctx->user, err);
}

static int
step_chdir(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const char *dir = ctx->p->chdir;
	char cwd[4096];

	if (!dir && !ctx->newroot)
		return 0; /* the host root: stay where the caller is, as pflask */
	if (!dir)
		dir = "/";
	if (chdir(dir) < 0)
		return nsbox_error(err, errno, "root.chdir %s", dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return nsbox_error(err, errno, "getcwd");
	return 0;
}

static int
step_rlimits(struct exec_ctx *ctx, struct nsbox_err *err)
{
	for (size_t i = 0; i < ctx->p->n_rlimits; i++) {
		const struct rlimit_op *r = &ctx->p->rlimits[i];
		struct rlimit cur, lim = {r->soft == UINT64_MAX ? RLIM_INFINITY : r->soft,
					  r->hard == UINT64_MAX ? RLIM_INFINITY : r->hard};

		/* Never above what the host allows: clamp rather than fail. */
		if (getrlimit(r->resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
			if (lim.rlim_max > cur.rlim_max)
				lim.rlim_max = cur.rlim_max;
			if (lim.rlim_cur > lim.rlim_max)
				lim.rlim_cur = lim.rlim_max;
		}
		if (setrlimit(r->resource, &lim) < 0)
			return nsbox_error_at(err, r->origin, "limits: %s", strerror(errno));
	}
	return 0;
}

/* In a user namespace, the whole setup runs as the container's root: what
 * it creates (in /dev, in the upper) must belong to a mapped id. */
static int
step_userns_root(struct exec_ctx *ctx, struct nsbox_err *err)
{
	if (!ctx->userns)
		return 0;
	if (!groups_fixed(ctx) && setgroups(0, NULL) < 0)
		return nsbox_error(err, errno, "setgroups");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return nsbox_error(err, errno, "become the container's root");
	/* An id change clears both. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* ICMP echo sockets for the container's groups in its own network
 * namespace, as podman sets net.ipv4.ping_group_range: ping works without
 * CAP_NET_RAW. The kernel wants both ends mapped in the writer's user
 * namespace: the lowest and the highest gid of the map; without one,
 * systemd's every group. Opened before /proc/sys is read-only, and from
 * inside the new namespace, which /proc/sys/net shows. A host whose /proc
 * cannot be written (nsbox in a container) or that has no IPv4 keeps the
 * kernel's default (no group). */
static void
set_ping_range(const struct exec_ctx *ctx)
{
	const struct idmaps *m = &ctx->maps;
	uint64_t lo = 0, hi = 2147483647;
	char text[32];
	int fd;

	if (ctx->userns && m->n_gid) {
		lo = UINT32_MAX;
		hi = 0;
		for (size_t i = 0; i < m->n_gid; i++) {
			lo = m->gid[i].inside < lo ? m->gid[i].inside : lo;
			if ((uint64_t)m->gid[i].inside + m->gid[i].count - 1 > hi)
				hi = (uint64_t)m->gid[i].inside + m->gid[i].count - 1;
		}
		hi = hi > 2147483647 ? 2147483647 : hi;
	}
	snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)lo, (unsigned long long)hi);
	fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if ((fd < 0 || write(fd, text, strlen(text)) < 0) && ctx->verbose)
		fprintf(stderr, "nsbox: net.ipv4.ping_group_range: %s (left as it was)\n",
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int
step_sysctl(struct exec_ctx *ctx, struct nsbox_err *err)
{
	(void)err;
	if (ctx->p->ns_flags & CLONE_NEWNET)
		set_ping_range(ctx);
	return 0;
}

static int
step_cgroupns(struct exec_ctx *ctx, struct nsbox_err *err)
{
	if (ctx->p->ns_flags & CLONE_NEWCGROUP && unshare(CLONE_NEWCGROUP) < 0)
		return nsbox_error(err, errno, "unshare the cgroup namespace");
	return 0;
}

static const struct step child_steps[] = {
	{"userns-root", step_userns_root},
	{"cgroupns", step_cgroupns},
	{"sysctl", step_sysctl},
	{"propagation", step_propagation},
	{"rootfs", step_rootfs},
	{"api-fs", step_api_fs},
	{"mounts", step_mounts},
	{"pivot", step_pivot},
	{"terminal", step_terminal},
	{"hostname", step_hostname},
	{"loopback", step_loopback},
	{"user", step_user},
	{"chdir", step_chdir},
	{"limits", step_rlimits},
};

/* --- the payload: identity, capabilities, exec --- */

static int
drop_identity(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct user_info *u = &ctx->user;

	if (bounding_set_keep(ctx->p->caps) < 0)
		return nsbox_error(err, errno, "caps: drop from bounding set");
	/* With setgroups denied the groups cannot change; the caller's own
	 * show up as nogroup. */
	if (!groups_fixed(ctx) && setgroups(u->n_groups, u->groups) < 0)
		return nsbox_error(err, errno, "user: supplementary groups of %s", u->name);
	if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
		return nsbox_error(err, errno == EINVAL ? 0 : errno,
				   errno == EINVAL ? "user: %s (uid %u, gid %u) is not mapped in "
						     "the user namespace (see user.map)"
						   : "user: set the ids of %s",
				   u->name, (unsigned)u->uid, (unsigned)u->gid);
	if (cap_set_proc(ctx->caps) < 0)
		return nsbox_error(err, errno, "caps: set");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (ctx->p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nsbox_error(err, errno, "no-new-privileges");
	/* Cleared by the uid change above: arm it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nsbox_error(err, errno, "pdeathsig");
	return 0;
}

/* Every disposition back to the default, 32 and 33 too, which glibc's
 * signal() refuses to touch but a caller (make, for one) may have ignored. */
static void
reset_signals(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} dfl = {SIG_DFL, 0, NULL, 0};

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(dfl.mask));
}

/* What the payload needs that takes memory is made before it starts: it
 * may run in the init's memory (spawn_payload). */
static void
payload_prepare(struct exec_ctx *ctx)
{
	cap_value_t list[64];
	int n = 0;

	ctx->envp = env_build(ctx->p, environ, &ctx->user);
	if (ctx->boot) /* how systemd knows it runs in a container, as in nspawn */
		env_set(&ctx->envp, "container", "nsbox", true);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (ctx->p->caps & (1ULL << c))
			list[n++] = c;
	/* A non-root user lost every capability with setresuid; root keeps
	 * the plan's set, and inheritable and ambient stay empty. */
	ctx->caps = cap_init(); /* NULL: cap_set_proc fails, and says so */
	if (ctx->caps && ctx->user.uid == 0) {
		cap_set_flag(ctx->caps, CAP_EFFECTIVE, n, list, CAP_SET);
		cap_set_flag(ctx->caps, CAP_PERMITTED, n, list, CAP_SET);
	}
}

/* Whether the payload could push input into a terminal not its own with
 * TIOCSTI or TIOCLINUX, which seccomp_block_tty_inject then refuses. After
 * setsid it has no controlling terminal, and the kernel lets TIOCSTI into
 * any other only with CAP_SYS_ADMIN in the host's user namespace: what is
 * left is a terminal it holds (0, 1, 2, the pty nsbox gave it) or one it
 * may reach by a path (the host's /dev, another process's fds), and
 * CAP_SYS_ADMIN, which the bounding set keeps past any exec. */
static bool
tty_reachable(const struct exec_ctx *ctx)
{
	const unsigned long own = CLONE_NEWNS | CLONE_NEWPID;

	if (ctx->slave >= 0 || !ctx->newroot || (ctx->p->ns_flags & own) != own)
		return true;
	if (!ctx->userns && ctx->p->caps >> CAP_SYS_ADMIN & 1)
		return true;
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			return true;
	return false;
}

static void __attribute__((noreturn)) payload(struct exec_ctx *ctx)
{
	struct nsbox_err err = {0};
	char **argv = ctx->p->argv, *sh[] = {ctx->user.shell, NULL};
	sigset_t none;

	if (!argv || !argv[0])
		argv = sh;
	if (setsid() < 0) {
		fprintf(stderr, "nsbox: setsid: %s\n", strerror(errno));
		_exit(125);
	}
	if (ctx->slave >= 0 && (dup2(ctx->slave, 0) < 0 || dup2(ctx->slave, 1) < 0 ||
				dup2(ctx->slave, 2) < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) {
		fprintf(stderr, "nsbox: terminal: %s\n", strerror(errno));
		_exit(125);
	}
	/* The denylist lets the container mount when it may (CAP_SYS_ADMIN),
	 * and refuses TIOCSTI itself: one filter, one BPF program to JIT. */
	if ((ctx->p->seccomp ? seccomp_default_filter(ctx->p->caps >> CAP_SYS_ADMIN & 1, &err) < 0
			     : tty_reachable(ctx) && seccomp_block_tty_inject(&err) < 0) ||
	    drop_identity(ctx, &err) < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		_exit(125);
	}
	reset_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);
	/* Nothing but 0, 1 and 2 crosses into the payload. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (fault("exec", &err) < 0) {
		fprintf(stderr, "nsbox: exec: %s\n", err.msg);
		_exit(125);
	}
	exec_path(argv[0], argv, ctx->envp);
	/* ENOENT for a file that is there: its #! names a missing program. */
	if (errno == ENOENT && strchr(argv[0], '/') && access(argv[0], F_OK) == 0) {
		fprintf(stderr,
			"nsbox: exec %s: bad interpreter (the #! line names a missing "
			"program)\n",
			argv[0]);
		_exit(126);
	}
	fprintf(stderr, "nsbox: exec %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

static int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

/* Without a PID namespace the kernel kills nothing when the init exits:
 * the init, a subreaper, has every orphan of the run as its child, so it
 * kills its children, reaps them and what they leave to it, until none is
 * left. A process killed cannot fork, so the rounds end. */
static void
kill_orphans(void)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		bool any = false;

		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		for (char *t = buf, *e; *t; t = e) {
			long pid = strtol(t, &e, 10);

			if (e == t)
				break;
			if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
				any = true;
		}
		while (waitpid(-1, NULL, any ? 0 : WNOHANG) > 0)
			;
		if (!any && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
	}
}

/* nsbox's PID 1: forward signals to the payload, reap every orphan, exit
 * with the payload's status (with a PID namespace the kernel then kills
 * what is left; without one, kill_orphans does). */
static void __attribute__((noreturn)) init_loop(pid_t child, bool pidns)
{
	sigset_t set;

	signal_set(&set);
	/* Halt and poweroff, as systemd takes them (machinectl poweroff):
	 * the command gets SIGTERM. Blocked since before the fork. */
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGRTMIN + 4);
	/* Without a PID namespace, orphans still come here, not to the host. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si), status;
		pid_t w;

		if (sig < 0 || sig == SIGWINCH)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig >= SIGRTMIN ? SIGTERM : sig);
			continue;
		}
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == child) {
				if (!pidns)
					kill_orphans();
				_exit(status_code(status));
			}
	}
}

static void __attribute__((noreturn))
child_fail(struct exec_ctx *ctx, const char *step, struct nsbox_err *err)
{
	char buf[600];

	/* As on the parent side: a located message needs no step name. */
	if (err->located)
		snprintf(buf, sizeof(buf), "%s", err->msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", step, err->msg);
	chan_send(ctx->chan[1], 'E', buf, -1);
	_exit(125);
}

#if defined(__SANITIZE_ADDRESS__)
#define NSBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NSBOX_ASAN 1
#endif
#endif

#ifndef NSBOX_ASAN
static int
payload_main(void *arg)
{
	payload(arg);
}
#endif

/* The payload starts as posix_spawn(3) starts a program: in the init's
 * memory, on a stack of its own, the init stopped until the exec
 * (CLONE_VFORK). No copy of the init's pages is made, to fault in and to
 * tear down again at the exec: 0.15 ms per run on the bench VM. Until the
 * exec it only makes system calls, on what payload_prepare made. */
static pid_t
spawn_payload(struct exec_ctx *ctx)
{
#ifdef NSBOX_ASAN
	/* ASan cannot follow a switch to another stack: a plain fork. */
	pid_t child = fork();

	if (child == 0)
		payload(ctx);
	return child;
#else
	/* As much as a process's own (a script with no #! line gets an argv
	 * copy there of up to 2 MiB); only what is touched costs. The lowest
	 * page is a guard. */
	const size_t size = 8 << 20;
	void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	pid_t pid;
	int e;

	if (stack == MAP_FAILED)
		return -1;
	if (mprotect(stack, 4096, PROT_NONE) < 0) {
		e = errno;
		munmap(stack, size);
		errno = e;
		return -1;
	}
	pid = clone(payload_main, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, ctx);
	/* Kept on success: the payload ran on this memory, maybe on another
	 * CPU, and unmapping it would cost a TLB shootdown there (about 45 us
	 * on the bench VM) for a few touched pages the init's exit frees. */
	if (pid < 0) {
		e = errno;
		munmap(stack, size);
		errno = e;
	}
	return pid;
#endif
}

static int
child_main(void *arg)
{
	struct exec_ctx *ctx = arg;
	struct nsbox_err err = {0};
	sigset_t halt;
	char go;
	pid_t pid;

	close(ctx->sync[1]);
	close(ctx->chan[0]);
	/* Die with nsbox; if it is already gone, the read sees EOF. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (read(ctx->sync[0], &go, 1) != 1)
		_exit(125);
	/* Not dumpable: the container must not reach nsbox's binary through
	 * /proc/1/exe (CVE-2019-5736). Only now, because an unprivileged nsbox
	 * writes the maps through /proc/PID, which this would make root's. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	close(ctx->sync[0]);
	if (ctx->by_fd && recv_host_fds(ctx, &err) < 0)
		child_fail(ctx, "host-fds", &err);
	for (size_t i = 0; i < ARRAY_SIZE(child_steps); i++) {
		if (ctx->verbose)
			fprintf(stderr, "nsbox: step %s\n", child_steps[i].name);
		if (child_steps[i].run(ctx, &err) < 0 || fault(child_steps[i].name, &err) < 0)
			child_fail(ctx, child_steps[i].name, &err);
	}
	payload_prepare(ctx);
	if (!ctx->use_init)
		payload(ctx);
	sigemptyset(&halt);
	sigaddset(&halt, SIGRTMIN + 3);
	sigaddset(&halt, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &halt, NULL); /* for init_loop; the payload unblocks all */
	pid = spawn_payload(ctx);
	if (pid < 0) {
		nsbox_error(&err, errno, "start the command");
		child_fail(ctx, "exec", &err);
	}
	/* The init keeps nothing: no terminal, no channel, no root. */
	close_range(0, ~0U, 0);
	init_loop(pid, ctx->p->ns_flags & CLONE_NEWPID);
}

/* --- parent side --- */

static int
step_clone(struct exec_ctx *ctx, struct nsbox_err *err)
{
	/* The cgroup namespace comes later, once the child is in its cgroups:
	 * its root is the cgroup the child is in when it makes one. */
	unsigned long flags = (ctx->p->ns_flags & ~(unsigned long)CLONE_NEWCGROUP) |
			      (ctx->userns ? CLONE_NEWUSER : 0) | SIGCHLD;

	if (pipe2(ctx->sync, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctx->chan) < 0)
		return nsbox_error(err, errno, "pipe");
	fflush(NULL);
	/* The raw syscall without a new stack: the child goes on, as after
	 * fork(), on a copy of this one (no stack to allocate and size, and
	 * sanitizers see an ordinary stack). */
	ctx->pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (ctx->pid == 0)
		_exit(child_main(ctx));
	if (ctx->pid < 0)
		return nsbox_error(err, errno, "clone");
	close(ctx->sync[0]);
	close(ctx->chan[1]);
	ctx->sync[0] = ctx->chan[1] = -1;
	return 0;
}

/* The limits' cgroups, made before the container exists, and named in the
 * run's state so that gc finds them after a kill -9. */
static int
step_cgroup(struct exec_ctx *ctx, struct nsbox_err *err)
{
	_cleanup_free_ char *list = xstrdup(""), *path = NULL;
	_cleanup_close_ int fd = -1;

	if (cgroup_setup(ctx->p, ctx->id, &ctx->cg, err) < 0)
		return -1;
	/* Without a PID namespace, nothing ends the payload's daemons with
	 * the run: a cgroup of the run's holds them, and teardown (or gc,
	 * after a kill -9) kills it. A user nobody delegated a cgroup to,
	 * or a host with no cgroup mounted, has the init's kill_orphans
	 * only (nsbox(1)). */
	if (!(ctx->p->ns_flags & CLONE_NEWPID) && cgroup_track(&ctx->cg, ctx->id, err) < 0) {
		bool none = err->errnum == ENOENT; /* no hierarchy is mounted */

		if (!none && (geteuid() == 0 || (err->errnum != EACCES && err->errnum != EPERM &&
						 err->errnum != EROFS)))
			return -1;
		*err = (struct nsbox_err){0};
	}
	/* An init makes cgroups of its own: below one of the run's, which
	 * goes with the run, never in the caller's. */
	if (ctx->boot) {
		int i = cgroup_unified(&ctx->cg, ctx->id, err);
		const char *files[] = {"", "/cgroup.procs", "/cgroup.threads",
				       "/cgroup.subtree_control"};

		if (i < 0)
			return -1;
		for (size_t k = 0; ctx->userns && geteuid() == 0 && k < ARRAY_SIZE(files); k++) {
			_cleanup_free_ char *f = xasprintf("%s%s", ctx->cg.dir[i], files[k]);

			if (chown(f, ctx->maps.root_uid, ctx->maps.root_gid) < 0)
				return nsbox_error(err, errno, "chown %s", f);
		}
	}
	if (!ctx->cg.n)
		return 0;
	for (size_t i = 0; i < ctx->cg.n; i++) {
		char *t = xasprintf("%s%s\n", list, ctx->cg.dir[i]);

		free(list);
		list = t;
	}
	if (run_dir(ctx, err) < 0)
		return -1;
	path = xasprintf("%s/cgroups", ctx->rundir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, list, strlen(list)) != (ssize_t)strlen(list))
		return nsbox_error(err, errno, "%s", path);
	return 0;
}

/* The child waits on the sync pipe until it is in its cgroups. */
static int
step_cgroup_attach(struct exec_ctx *ctx, struct nsbox_err *err)
{
	return cgroup_attach(&ctx->cg, ctx->pid, err);
}

/* The child waits on the sync pipe until its maps are written. */
static int
step_maps(struct exec_ctx *ctx, struct nsbox_err *err)
{
	return ctx->userns ? idmaps_write(ctx->pid, &ctx->maps, err) : 0;
}

static int
step_netif(struct exec_ctx *ctx, struct nsbox_err *err)
{
	return netif_setup(ctx->p, ctx->pid, ctx->id, &ctx->net, err);
}

/* machinectl sees the container from here on; nspawn's RegisterMachine. */
static int
step_register(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	int r = machined_register(ctx->name, ctx->pid, ctx->lower ? ctx->lower : "/", p->reg,
				  p->origin.reg, err);

	if (r < 0)
		return -1;
	ctx->registered = r > 0;
	return 0;
}

/* The ns tool's pre-exec hook: on the host, once the namespaces exist and
 * before anything runs in them, with the container's pid (and a pidfd as
 * fd 3) and an environment of its own. */
static int
step_pre_exec(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	_cleanup_free_ char *pid = xasprintf("%d", (int)ctx->pid);
	_cleanup_free_ char *epid = xasprintf("NSBOX_PID=%d", (int)ctx->pid);
	_cleanup_free_ char *eid = xasprintf("NSBOX_ID=%s", ctx->id);
	_cleanup_close_ int pidfd = -1;
	char *env[8] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", epid,
			eid};
	size_t n = 3;
	int st;

	if (!p->pre_exec)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
	if (pidfd >= 0)
		env[n++] = "NSBOX_PIDFD=3";
	if (ctx->userns)
		env[n++] = "CLONE_NEWUSER=1";
	if (p->ns_flags & CLONE_NEWNET)
		env[n++] = "CLONE_NEWNET=1";
	st = hook_run(p->pre_exec, pid, env, pidfd, &ctx->interrupted, err);
	if (st < 0)
		return -1;
	if (ctx->interrupted)
		return nsbox_error(err, 0, "interrupted");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return nsbox_error_at(err, p->origin.pre_exec,
				      "hooks.pre-exec: %s exited with status %d", p->pre_exec,
				      WEXITSTATUS(st));
	return nsbox_error_at(err, p->origin.pre_exec, "hooks.pre-exec: %s was killed by SIG%s",
			      p->pre_exec, sigabbrev_np(WTERMSIG(st)));
}

/* post-exit: once the container is gone, with its exit status. */
static void
post_exit(const struct plan *p, int status)
{
	_cleanup_free_ char *arg = xasprintf("%d", status);
	_cleanup_free_ char *est = xasprintf("NSBOX_STATUS=%d", status);
	char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", est,
		       NULL};
	struct nsbox_err err = {0};
	int sig, st = hook_run(p->post_exit, arg, env, -1, &sig, &err);

	if (st < 0)
		fprintf(stderr, "nsbox: hooks.post-exit: %s\n", err.msg);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "nsbox: %s: hooks.post-exit: %s failed (status %d)\n",
			p->origin.post_exit, p->post_exit,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static const struct step parent_steps[] = {
	{"state", step_state},
	{"prepare-root", step_prepare_root},
	{"cgroup", step_cgroup},
	{"clone", step_clone},
	{"cgroup-attach", step_cgroup_attach},
	{"maps", step_maps},
	{"host-fds", step_host_fds},
	{"netif", step_netif},
	{"register", step_register},
	{"pre-exec", step_pre_exec},
};

/* Wake the child and wait until its setup is done (the channel's EOF) or
 * failed; take the pty master when it sends one. */
static int
wait_setup(struct exec_ctx *ctx, struct nsbox_err *err)
{
	char buf[600];
	ssize_t n;
	int fd;

	if (write(ctx->sync[1], "g", 1) != 1)
		return nsbox_error(err, errno, "wake the container");
	close(ctx->sync[1]);
	ctx->sync[1] = -1;
	while ((n = chan_recv(ctx->chan[0], buf, sizeof(buf), &fd)) > 0) {
		if (buf[0] == 'P' && fd >= 0 && ctx->report >= 0 && ctx->hub.master < 0) {
			_cleanup_free_ char *sock = xasprintf("%s/attach.sock", ctx->rundir);

			if (run_dir(ctx, err) < 0 || hub_init(&ctx->hub, fd, sock, err) < 0)
				return -1;
			continue;
		}
		if (buf[0] == 'P' && fd >= 0 && ctx->relay.master < 0) {
			relay_init(&ctx->relay, STDIN_FILENO, STDOUT_FILENO, fd);
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (buf[0] == 'E') {
			waitpid(ctx->pid, NULL, 0);
			ctx->pid = 0;
			return nsbox_error(err, 0, "%s", buf + 1);
		}
	}
	if (n < 0)
		return nsbox_error(err, errno, "setup channel");
	return 0;
}

static long
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* The monitor: forward signals, relay the pty, SIGKILL the container a
 * grace period after the first SIGTERM, and return the payload's status. */
static int
monitor(struct exec_ctx *ctx, struct nsbox_err *err)
{
	struct relay *r = &ctx->relay;
	_cleanup_close_ int sfd = -1;
	struct timespec deadline = {0};
	bool hup = false;
	sigset_t set;

	signal_set(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return nsbox_error(err, errno, "signalfd");
	if (r->master >= 0)
		relay_raw(r);
	for (;;) {
		struct pollfd pfd[4] = {{.fd = sfd, .events = POLLIN}};
		size_t n = 1;
		int rc, status;

		if (r->master >= 0 && !hup)
			n += relay_pollfds(r, pfd + 1);
		else if (ctx->hub.master >= 0 && !hup)
			n += hub_pollfds(&ctx->hub, pfd + 1);
		rc = poll(pfd, n, deadline.tv_sec ? (int)ms_until(&deadline) : -1);
		if (rc < 0 && errno != EINTR)
			return nsbox_error(err, errno, "poll");
		if (rc == 0 && deadline.tv_sec) {
			/* The grace period is over: the whole container goes. */
			kill(ctx->pid, SIGKILL);
			deadline.tv_sec = 0;
			continue;
		}
		if (rc > 0 && pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;

				if (sig == SIGWINCH) {
					if (r->master >= 0)
						relay_winsize(r);
				} else if (sig != SIGCHLD) {
					/* an init (systemd) halts on SIGRTMIN+3 and
					 * ignores SIGTERM, as nspawn knows */
					kill(ctx->pid,
					     sig == SIGTERM && ctx->boot ? SIGRTMIN + 3 : sig);
					if (sig == SIGTERM && ctx->p->grace && !deadline.tv_sec) {
						clock_gettime(CLOCK_MONOTONIC, &deadline);
						deadline.tv_sec += ctx->p->grace;
					}
				}
			}
			if (waitpid(ctx->pid, &status, WNOHANG) == ctx->pid) {
				ctx->pid = 0;
				relay_done(r);
				/* An init's reboot(2) in a PID namespace ends it
				 * with SIGINT (halt, poweroff) or SIGHUP (reboot):
				 * 0, and nspawn's 133 for a reboot. */
				if (ctx->boot && WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
					return 0;
				if (ctx->boot && WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP)
					return 133;
				return status_code(status);
			}
		}
		if (rc > 0 && n > 1 && r->master >= 0 && relay_handle(r, pfd + 1, n - 1) < 0)
			hup = true;
		else if (rc > 0 && n > 1 && ctx->hub.master >= 0 &&
			 hub_handle(&ctx->hub, pfd + 1, n - 1) < 0)
			hup = true;
	}
}

static void
cleanup(struct exec_ctx *ctx)
{
	if (ctx->pid > 0) {
		kill(ctx->pid, SIGKILL);
		waitpid(ctx->pid, NULL, 0);
	}
	if (ctx->registered)
		machined_unregister(ctx->name);
	{
		struct nsbox_err ferr = {0};

		fault("cleanup", &ferr); /* the container is gone, the rest is not */
	}
	relay_done(&ctx->relay);
	hub_done(&ctx->hub);
	if (ctx->hub.master >= 0)
		close(steal_fd(&ctx->hub.master));
	cgroup_teardown(&ctx->cg);
	/* The container is gone; its namespace lives on through these fds
	 * until moved devices are back on the host. */
	netif_teardown(&ctx->net);
	for (int i = 0; i < 2; i++) {
		if (ctx->sync[i] >= 0)
			close(ctx->sync[i]);
		if (ctx->chan[i] >= 0)
			close(ctx->chan[i]);
	}
	if (ctx->slave >= 0)
		close(ctx->slave);
	close_host_fds(ctx);
	/* Without the caller in the maps, a namespace with every id of the
	 * caller's (NULL) reaches what its own maps would not. */
	if (ctx->rundir_made)
		remove_run_dir(ctx->rundir,
			       ctx->userns && ctx->maps.caller_mapped ? &ctx->maps : NULL);
	if (ctx->rundir)
		remove_state(ctx->rundir);
	if (ctx->lockpath && ctx->lockfd >= 0)
		unlink(ctx->lockpath);
	if (ctx->lockfd >= 0)
		close(ctx->lockfd);
	free(ctx->statedir);
	free(ctx->rundir);
	free(ctx->lockpath);
	idmaps_clear(&ctx->maps);
	cache_ref_release(&ctx->cache);
	free(ctx->lower);
	free(ctx->name);
	free(ctx->newroot);
	user_info_clear(&ctx->user);
}

static void
dry_run(const struct plan *p)
{
	plan_print(p, stdout, false);
	printf("\n# steps\n");
	for (size_t i = 0; i < ARRAY_SIZE(parent_steps); i++)
		printf("# parent: %s\n", parent_steps[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(child_steps); i++)
		printf("# child: %s\n", child_steps[i].name);
	printf("# child: exec\n");
	printf("# parent: cleanup\n");
}

char *
exec_statedir(struct nsbox_err *err)
{
	struct exec_ctx ctx = {0};

	if (state_dir(&ctx, err) < 0) {
		free(ctx.statedir);
		return NULL;
	}
	return ctx.statedir;
}

int
exec_gc(bool dry_run, struct nsbox_err *err)
{
	struct exec_ctx ctx = {0};
	int n;

	if (state_dir(&ctx, err) < 0) {
		free(ctx.statedir);
		return -1;
	}
	n = gc_stale(ctx.statedir, dry_run);
	free(ctx.statedir);
	return n;
}

/* As root, a user namespace only when asked (userns = yes, or maps);
 * for anyone else always, mapping the caller to root. */
static int
decide_userns(struct exec_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	uid_t uid = geteuid();
	_cleanup_fclose_ FILE *su = NULL, *sg = NULL;
	_cleanup_free_ char *num = NULL;
	const char *name;
	struct passwd *pw;
	struct stat st;

	if (p->userns == TRI_NO) {
		if (uid != 0)
			return nsbox_error_at(err, p->origin.userns,
					      "user.userns: without a user namespace nsbox needs "
					      "root");
		return 0;
	}
	ctx->userns = p->userns == TRI_YES || uid != 0 || p->n_uid_map || p->n_gid_map;
	if (!ctx->userns)
		return 0;
	pw = getpwuid(uid);
	name = pw ? pw->pw_name : (num = xasprintf("%u", (unsigned)uid));
	su = fopen("/etc/subuid", "re");
	sg = fopen("/etc/subgid", "re");
	/* No map, and a root of one of the caller's subordinate ids: the
	 * ownership it was made with. */
	if (uid != 0 && !p->n_uid_map && !p->n_gid_map && p->rootfs && stat(p->rootfs, &st) == 0 &&
	    idmaps_from_owner(uid, getegid(), name, st.st_uid, st.st_gid, su, sg, &ctx->maps)) {
		if (ctx->verbose)
			fprintf(stderr, "nsbox: %s belongs to %u:%u: --user-map=0:%u:%u\n",
				p->rootfs, (unsigned)st.st_uid, (unsigned)st.st_gid,
				ctx->maps.uid[0].outside, ctx->maps.uid[0].count);
		ctx->by_fd = !ctx->maps.caller_mapped;
		return 0;
	}
	if (su)
		rewind(su);
	if (sg)
		rewind(sg);
	if (idmaps_build(p, uid, getegid(), name, su, sg, &ctx->maps, err) < 0)
		return -1;
	ctx->by_fd = !ctx->maps.caller_mapped;
	return 0;
}

/* RUNDIR/ID.json, for nsbox ps, exec, stop and kill: written once the
 * container runs, renamed into place whole (src/state.c reads it). */
static void
write_state(const struct exec_ctx *ctx)
{
	const struct plan *p = ctx->p;
	_cleanup_free_ char *tmp = xasprintf("%s.json.new", ctx->rundir);
	_cleanup_free_ char *path = xasprintf("%s.json", ctx->rundir);
	_cleanup_strv_ char **cgroups = NULL;
	struct run_state s = {
		.id = (char *)ctx->id,
		.name = ctx->name,
		.profile = (char *)p->profile,
		.nsbox_pid = getpid(),
		.pid = ctx->pid,
		.started = (long long)time(NULL),
		.root = (char *)(p->rootfs ? p->rootfs : p->tarball),
		.command = p->argv,
		.seccomp = p->seccomp,
		.no_new_privs = p->no_new_privs,
	};
	FILE *f = fopen(tmp, "we");

	if (!f)
		return;
	for (size_t i = 0; i < ctx->cg.n; i++)
		strv_push(&cgroups, ctx->cg.dir[i]);
	s.cgroups = cgroups;
	state_write(f, &s, p);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

/* Hooks that may not run are refused before anything exists. */
static int
check_hooks(const struct plan *p, struct nsbox_err *err)
{
	const char *why;
	/* hooks are checked before anything exists */
	if (p->pre_exec && (why = hook_check(p->pre_exec)))
		return nsbox_error_at(err, p->origin.pre_exec, "hooks.pre-exec: %s %s", p->pre_exec,
				      why);
	if (p->post_exit && (why = hook_check(p->post_exit)))
		return nsbox_error_at(err, p->origin.post_exit, "hooks.post-exit: %s %s",
				      p->post_exit, why);
	return 0;
}

/* --detach: the caller's nsbox waits for the start and returns; a child
 * in a session of its own runs the container with /dev/null as its
 * standard streams. Returns 0 in that child; in the caller 1 once the
 * container runs, -1 with err when it did not start. */
static int
detach(struct exec_ctx *ctx, struct nsbox_err *err)
{
	int p[2], null;
	pid_t pid;
	char buf[700];
	ssize_t n, got = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return nsbox_error(err, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return nsbox_error(err, errno, "fork");
	if (pid == 0) {
		close(p[0]);
		ctx->report = p[1];
		setsid();
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		if (null > 2)
			close(null);
		return 0;
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	buf[got] = '\0';
	if (got > 0 && buf[0] == 'O') {
		printf("%s\n", buf + 1); /* the name, for nsbox attach */
		return 1;
	}
	if (got > 2 && buf[0] == 'E') {
		nsbox_error(err, 0, "%s", buf + 2);
		err->located = buf[1] == 'L';
		return -1;
	}
	return nsbox_error(err, 0, "the detached nsbox died before the container started");
}

int
exec_run(struct plan *p, bool verbose, bool dryrun, struct nsbox_err *err)
{
	struct exec_ctx ctx = {.p = p,
			       .verbose = verbose,
			       .lockfd = -1,
			       .rootfd = -1,
			       .sync = {-1, -1},
			       .chan = {-1, -1},
			       .slave = -1,
			       .net = NETIF_STATE_INIT,
			       .fd = {-1, -1, -1, -1, -1, NULL, NULL},
			       .cache = CACHE_REF_INIT,
			       .report = -1,
			       .hub = {.master = -1, .listen = -1, .client = -1},
			       .relay = {.master = -1}};
	sigset_t set, old;
	int rc = 0;

	if (dryrun) {
		dry_run(p);
		return 0;
	}
	if (check_hooks(p, err) < 0 || decide_userns(&ctx, err) < 0)
		return -1;
	/* Blocked from before clone, so none is lost; the child inherits the
	 * mask and its init waits for them too. */
	ctx.use_init = p->use_init;
	ctx.boot = p->boot;
	ctx.use_pty = p->tty == TRI_YES || (p->tty == TRI_AUTO && isatty(STDIN_FILENO));
	if (p->detach) {
		ctx.use_pty = true; /* what nsbox attach shows */
		int d = detach(&ctx, err);

		if (d != 0) { /* the caller's side: done */
			p->detached = true;
			idmaps_clear(&ctx.maps);
			return d < 0 ? -1 : 0;
		}
	}
	/* A caller that ignores SIGCHLD would make the kernel reap the
	 * container behind nsbox's back (bwrap 0.11.1). */
	signal(SIGCHLD, SIG_DFL);
	signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (size_t i = 0; i < ARRAY_SIZE(parent_steps) && rc == 0; i++) {
		if (verbose)
			fprintf(stderr, "nsbox: step %s\n", parent_steps[i].name);
		/* A message that names its profile line needs no step. */
		if ((rc = parent_steps[i].run(&ctx, err)) == 0)
			rc = fault(parent_steps[i].name, err);
		if (rc < 0 && !err->located)
			nsbox_error_prefix(err, parent_steps[i].name);
	}
	if (rc == 0)
		rc = wait_setup(&ctx, err);
	if (rc == 0)
		write_state(&ctx);
	if (rc == 0 && p->status_fd >= 0) {
		dprintf(p->status_fd,
			"{\"event\": \"started\", \"pid\": %d, \"name\": ", (int)ctx.pid);
		{
			FILE *f = fdopen(dup(p->status_fd), "w");

			if (f) {
				json_string(f, ctx.name);
				fprintf(f, ", \"id\": ");
				json_string(f, ctx.id);
				fputs("}\n", f);
				fclose(f);
			}
		}
	}
	if (ctx.report >= 0) { /* detached: tell the caller how the start went */
		_cleanup_free_ char *msg =
			rc == 0 ? xasprintf("O%s", ctx.name)
				: xasprintf("E%c%s", err->located ? 'L' : '-', err->msg);

		if (write(ctx.report, msg, strlen(msg)) < 0) {
			/* the caller is gone; the container runs on */
		}
		close(steal_fd(&ctx.report));
	}
	if (rc == 0)
		rc = monitor(&ctx, err);
	if (rc >= 0 && cgroup_oom(&ctx.cg))
		fprintf(stderr, "nsbox: the container hit its memory limit (limits.memory) and the "
				"kernel killed a process\n");
	cleanup(&ctx);
	if (rc >= 0 && p->post_exit)
		post_exit(p, rc);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Stopped before the container started: as if it had been killed. */
	if (rc < 0 && ctx.interrupted) {
		fprintf(stderr, "nsbox: interrupted by SIG%s before the start\n",
			sigabbrev_np(ctx.interrupted));
		return 128 + ctx.interrupted;
	}
	return rc;
}

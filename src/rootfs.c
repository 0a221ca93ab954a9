/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "run-ctx.h"
#include "mount.h"
/* A host path as the child reaches it: the path itself, or /proc/self/fd/N
 * of what nsbox opened for it (sub, if not NULL, below it). */
char *
host_path(const struct run_ctx *ctx, const char *path, int fd, const char *sub)
{
	if (!ctx->by_fd || fd < 0)
		return sub ? xasprintf("%s/%s", path, sub) : xstrdup(path);
	return sub ? xasprintf("/proc/self/fd/%d/%s", fd, sub) : xasprintf("/proc/self/fd/%d", fd);
}

int
mkdir_in_run(struct run_ctx *ctx, const char *name, char **out, struct nsbox_err *err)
{
	const char *dir = ctx->scratch_made ? ctx->scratch : ctx->rundir;

	*out = host_path(ctx, dir, ctx->fd.run, name);
	if (mkdir(*out, 0755) < 0)
		return nsbox_error(err, errno, "%s/%s", dir, name);
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
	return i < p->root.n_overlays ? &h->overlays[i] : &h->srcs[i - p->root.n_overlays];
}

static size_t
host_fd_count(const struct plan *p)
{
	return 5 + p->root.n_overlays + p->root.n_mounts;
}

static void
host_fds_alloc(struct hostfds *h, const struct plan *p)
{
	h->overlays = xcalloc(p->root.n_overlays + 1, sizeof(int));
	h->srcs = xcalloc(p->root.n_mounts + 1, sizeof(int));
	for (size_t i = 0; i < host_fd_count(p); i++)
		*host_fd_slot(h, p, i) = -1;
}

void
close_host_fds(struct run_ctx *ctx)
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
int
step_host_fds(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	struct hostfds *h = &ctx->fd;
	_cleanup_free_ char *work =
		p->root.upper.value ? xasprintf("%s.work", p->root.upper.value) : NULL;
	const char *paths[] = {ctx->newroot, ctx->lower,
			       ctx->scratch_made  ? ctx->scratch
			       : ctx->rundir_made ? ctx->rundir
						  : NULL,
			       p->root.upper.value, work};
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
		const struct mount_op *m = i >= 5 + p->root.n_overlays
						   ? &p->root.mounts[i - 5 - p->root.n_overlays]
						   : NULL;

		if (i < ARRAY_SIZE(paths) && paths[i] &&
		    open_in_child(ctx->pid, paths[i], fd, err) < 0)
			return -1;
		if (i >= 5 && !m &&
		    open_in_child(ctx->pid, p->root.overlays[i - 5].value, fd, err) < 0)
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
int
recv_host_fds(struct run_ctx *ctx, struct nsbox_err *err)
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

int
step_prepare_root(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;

	if (p->root.directory.value) {
		struct stat st;

		if (stat(p->root.directory.value, &st) < 0)
			return nsbox_error(err, errno, "root.directory %s",
					   p->root.directory.value);
		if (!S_ISDIR(st.st_mode))
			return nsbox_error(err, ENOTDIR, "root.directory %s",
					   p->root.directory.value);
		ctx->lower = xstrdup(p->root.directory.value);
	} else if (p->root.tarball.value) {
		if (cache_root(p->root.tarball.value, p->root.tarball.origin,
			       ctx->userns ? &ctx->maps : NULL, &ctx->cache, &ctx->interrupted,
			       err) < 0)
			return -1;
		ctx->lower = xstrdup(ctx->cache.tree);
	}
	/* The root is assembled on the state directory itself, in the
	 * child's mount namespace only: no directory of its own per run. */
	if (ctx->lower)
		ctx->newroot = xstrdup(ctx->statedir);
	/* The child makes the ephemeral upper there (step_rootfs). */
	if (ctx->lower && !p->root.upper.value &&
	    (p->root.ephemeral.value || p->root.tarball.value) && scratch_dir(ctx, err) < 0)
		return -1;
	/* A persistent upper is made here, by the caller, so that it may be
	 * where only the caller can write; overlayfs wants its work dir on
	 * the same filesystem. What nsbox makes is the container root's. */
	_cleanup_free_ char *work =
		p->root.upper.value ? xasprintf("%s.work", p->root.upper.value) : NULL;
	bool made_upper = false, made_work = false;

	/* Root makes and chowns them by name, and overlayfs takes them by
	 * name in the child: only where no one else can swap what a name is. */
	if (p->root.upper.value && geteuid() == 0) {
		_cleanup_free_ char *parent = xstrdup(p->root.upper.value), *bad = NULL;
		char *slash = strrchr(parent, '/');

		if (slash)
			slash[slash == parent] = '\0';
		if (path_root_only(slash ? parent : ".", &bad) < 0)
			return nsbox_error_at(err, p->root.upper.origin,
					      "root.upper: %s: %s is missing, not root's or "
					      "writable by others; as root, nsbox makes and "
					      "uses an upper only where only root can change "
					      "the path",
					      p->root.upper.value, bad);
	}
	if (p->root.upper.value) {
		made_upper = mkdir(p->root.upper.value, 0755) == 0;
		if (!made_upper && errno != EEXIST)
			return nsbox_error(err, errno, "root.upper %s", p->root.upper.value);
		made_work = mkdir(work, 0700) == 0;
		if (!made_work && errno != EEXIST)
			return nsbox_error(err, errno, "root.upper %s", work);
	}
	/* Root with a user namespace: a persistent upper nsbox made is the
	 * container root's. */
	if (ctx->userns && geteuid() == 0) {
		const char *own[] = {made_upper ? p->root.upper.value : NULL,
				     made_work ? work : NULL};

		for (size_t i = 0; i < ARRAY_SIZE(own); i++)
			if (own[i] && chown(own[i], ctx->maps.root_uid, ctx->maps.root_gid) < 0)
				return nsbox_error(err, errno, "chown %s", own[i]);
	}
	/* overlayfs writes the upper as the container's root */
	if (ctx->by_fd && p->root.upper.value) {
		struct stat st;

		if (stat(p->root.upper.value, &st) == 0 &&
		    !idmaps_host_mapped(ctx->maps.uid, ctx->maps.n_uid, st.st_uid))
			return nsbox_error_at(err, p->root.upper.origin,
					      "root.upper: %s belongs to uid %u, which the map "
					      "leaves out: the container's root (uid %u on the "
					      "host) cannot write it",
					      p->root.upper.value, (unsigned)st.st_uid,
					      (unsigned)ctx->maps.root_uid);
	}
	return 0;
}

int
step_propagation(struct run_ctx *ctx, struct nsbox_err *err)
{
	(void)ctx;
	/* Before anything is mounted: nothing may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nsbox_error(err, errno, "make / private");
	return 0;
}

static char *
overlay_lower(const struct run_ctx *ctx)
{
	const struct plan *p = ctx->p;
	char *s = host_path(ctx, ctx->lower, ctx->fd.lower, NULL);

	/* overlayfs lists the top layer first; the root is the bottom. */
	for (size_t i = 0; i < p->root.n_overlays; i++) {
		_cleanup_free_ char *o =
			host_path(ctx, p->root.overlays[i].value,
				  ctx->fd.overlays ? ctx->fd.overlays[i] : -1, NULL);
		char *t = xasprintf("%s:%s", o, s);

		free(s);
		s = t;
	}
	return s;
}

int
step_rootfs(struct run_ctx *ctx, struct nsbox_err *err)
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
	if (p->root.ephemeral.value || p->root.upper.value || p->root.n_overlays ||
	    p->root.tarball.value) {
		lower = overlay_lower(ctx);
		if (p->root.upper.value) {
			upper = host_path(ctx, p->root.upper.value, ctx->fd.upper, NULL);
			/* overlayfs wants its work dir on the upper's filesystem. */
			_cleanup_free_ char *w = xasprintf("%s.work", p->root.upper.value);

			work = host_path(ctx, w, ctx->fd.work, NULL);
		} else if (p->root.ephemeral.value || p->root.tarball.value) {
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
		_cleanup_free_ char *src =
			host_path(ctx, p->root.directory.value, ctx->fd.lower, NULL);

		ctx->rootfd = mount_bind_attach(src, false, target, err);
	}
	return ctx->rootfd < 0 ? -1 : 0;
}

int
step_api_fs(struct run_ctx *ctx, struct nsbox_err *err)
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
		r = mount_dev(ctx->rootfd, ctx->p->limits.shm_size.value, err);
out:
	mount_masks_close(&mk);
	return r;
}

int
step_mounts(struct run_ctx *ctx, struct nsbox_err *err)
{
	for (size_t i = 0; i < ctx->p->root.n_mounts; i++) {
		struct mount_op m = ctx->p->root.mounts[i];
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

int
step_pivot(struct run_ctx *ctx, struct nsbox_err *err)
{
	if (!ctx->newroot)
		return 0;
	return mount_pivot(ctx->rootfd, err);
}

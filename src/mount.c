/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount.h"
#include "util.h"

/* Walk one component at a time with O_NOFOLLOW: safe, but it refuses any
 * symlink, where openat2 would resolve it inside the root. */
static int
walk_nofollow(int rootfd, const char *path, int flags)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int cur = -1;
	char *save = NULL, *next;
	char *t = strtok_r(copy, "/", &save);

	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	while (t && cur >= 0) {
		int fd;

		next = strtok_r(NULL, "/", &save);
		if (streq(t, "..")) {
			errno = EXDEV;
			return -1;
		}
		fd = openat(cur, t, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ELOOP)
			errno = EXDEV;
		close(cur);
		cur = fd;
		t = next;
	}
	return cur < 0 ? -1 : steal_fd(&cur);
}

int
root_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return walk_nofollow(rootfd, path, flags);
	return fd;
}

int
root_mkpath(int rootfd, const char *dst, bool want_file, struct nsbox_err *err)
{
	size_t n = strlen(dst);
	_cleanup_free_ char *prefix = xmalloc(n + 1);
	size_t i = 0;

	while (i < n) {
		_cleanup_close_ int parent = -1, fd = -1;
		size_t start, end;
		bool last;

		while (dst[i] == '/')
			i++;
		start = i;
		while (i < n && dst[i] != '/')
			i++;
		end = i;
		if (start == end)
			break;
		while (i < n && dst[i] == '/')
			i++;
		last = i >= n;
		memcpy(prefix, dst, end);
		prefix[end] = '\0';
		fd = root_open(rootfd, prefix, O_PATH);
		if (fd >= 0)
			continue;
		if (errno != ENOENT)
			return nsbox_error(err, errno, "%s", prefix);
		prefix[start] = '\0';
		parent = root_open(rootfd, prefix, O_PATH | O_DIRECTORY);
		if (parent < 0)
			return nsbox_error(err, errno, "%s", prefix);
		prefix[start] = dst[start];
		prefix[end] = '\0';
		/* Both calls refuse to follow a symlink in the last component:
		 * a dangling link in the way is an error, not a redirection. */
		if (last && want_file) {
			_cleanup_close_ int f = -1;

			f = openat(parent, prefix + start,
				   O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
			if (f < 0)
				return nsbox_error(err, errno, "cannot create %s", dst);
		} else if (mkdirat(parent, prefix + start, 0755) < 0) {
			return nsbox_error(err, errno, "cannot create %s", prefix);
		}
	}
	{
		int fd = root_open(rootfd, dst, O_PATH);

		return fd < 0 ? nsbox_error(err, errno, "%s", dst) : fd;
	}
}

static int
attach(int treefd, int targetfd, const char *what, struct nsbox_err *err)
{
	if (move_mount(treefd, "", targetfd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nsbox_error(err, errno, "%s: move_mount", what);
	return 0;
}

static int
set_readonly(int treefd, const char *what, struct nsbox_err *err)
{
	/* Recursive, and only adds RDONLY: nosuid/nodev/noexec of the source
	 * stay as they are (in a user namespace they are locked anyway). */
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (mount_setattr(treefd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return nsbox_error(err, errno, "%s: read-only", what);
	return 0;
}

int
mount_bind_at(const char *src, bool readonly, int targetfd, struct nsbox_err *err)
{
	int tree = mount_bind_attach(src, readonly, targetfd, err);

	if (tree < 0)
		return -1;
	close(tree);
	return 0;
}

int
mount_bind_attach(const char *src, bool readonly, int targetfd, struct nsbox_err *err)
{
	_cleanup_close_ int tree = -1;

	tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return nsbox_error(err, errno, "%s", src);
	if (readonly && set_readonly(tree, src, err) < 0)
		return -1;
	return attach(tree, targetfd, src, err) < 0 ? -1 : steal_fd(&tree);
}

/* A new filesystem as a detached mount: its fd, or -1. */
static int
fs_mount(const char *type, const char *const *opts, unsigned attrs, struct nsbox_err *err)
{
	_cleanup_close_ int fs = -1;
	int mnt;

	fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return nsbox_error(err, errno, "%s: fsopen", type);
	for (size_t i = 0; opts && opts[i]; i += 2)
		if (*opts[i + 1] ? fsconfig(fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0) < 0
				 : fsconfig(fs, FSCONFIG_SET_FLAG, opts[i], NULL, 0) < 0)
			return nsbox_error(err, errno, "%s: option %s=%s", type, opts[i],
					   opts[i + 1]);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return nsbox_error(err, errno, "%s: create", type);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		return nsbox_error(err, errno, "%s: fsmount", type);
	return mnt;
}

int
mount_fs_at(const char *type, const char *const *opts, unsigned attrs, int targetfd,
	    struct nsbox_err *err)
{
	int mnt = mount_fs_attach(type, opts, attrs, targetfd, err);

	if (mnt < 0)
		return -1;
	close(mnt);
	return 0;
}

int
mount_fs_attach(const char *type, const char *const *opts, unsigned attrs, int targetfd,
		struct nsbox_err *err)
{
	_cleanup_close_ int mnt = fs_mount(type, opts, attrs, err);

	if (mnt < 0 || attach(mnt, targetfd, type, err) < 0)
		return -1;
	return steal_fd(&mnt);
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
mount_apply(int rootfd, const struct mount_op *op, struct nsbox_err *err)
{
	_cleanup_close_ int target = -1;
	char lower[64];

	if (op->src && access(op->src, F_OK) < 0)
		return nsbox_error(err, errno, "%s", op->src);
	target = root_mkpath(rootfd, op->dst, op->kind <= MOUNT_BIND_RO && !is_dir(op->src), err);
	if (target < 0)
		return -1;
	switch (op->kind) {
	case MOUNT_BIND:
	case MOUNT_BIND_RO:
		return mount_bind_at(op->src, op->kind == MOUNT_BIND_RO, target, err);
	case MOUNT_TMPFS: {
		/* tmpfs's own default, as pflask had it: a /tmp for everyone */
		static const char *const o[] = {"mode", "1777", NULL};

		return mount_fs_at("tmpfs", o, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	}
	case MOUNT_OVERLAY: {
		/* The lower layer is the destination as the container sees it. */
		const char *o[] = {"lowerdir", lower,    "upperdir", op->src,
				   "workdir",  op->work, NULL};

		snprintf(lower, sizeof(lower), "/proc/self/fd/%d", target);
		return mount_fs_at("overlay", o, 0, target, err);
	}
	}
	return nsbox_error(err, 0, "unknown mount kind");
}

/* An ordinary directory inside the root: a symlink there is refused, so a
 * hostile root cannot send /proc, /sys or /dev elsewhere (runc's rule). */
static int
api_dir(int rootfd, const char *name, struct nsbox_err *err)
{
	struct stat st;
	int fd;

	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || mkdirat(rootfd, name, 0755) < 0)
			return nsbox_error(err, errno, "/%s", name);
	} else if (!S_ISDIR(st.st_mode)) {
		return nsbox_error(err, 0, "/%s must be an ordinary directory", name);
	}
	fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nsbox_error(err, errno, "/%s", name);
	return fd;
}

/* For an init that manages cgroups (systemd): the cgroup2 hierarchy at
 * /sys/fs/cgroup, read-write; the cgroup namespace makes the run's own
 * cgroup its root. */
int
mount_cgroup2(int rootfd, struct nsbox_err *err)
{
	_cleanup_close_ int fd = api_dir(rootfd, "sys/fs/cgroup", err);

	if (fd < 0)
		return -1;
	return mount_fs_at("cgroup2", NULL,
			   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, fd, err);
}

static const char *const masked[] = {
	"proc/acpi",
	"proc/asound",
	"proc/kcore",
	"proc/keys",
	"proc/latency_stats",
	"proc/timer_list",
	"proc/timer_stats",
	"proc/sched_debug",
	"proc/scsi",
	"proc/kallsyms",
	"proc/interrupts",
	"sys/firmware",
	"sys/devices/virtual/powercap",
};
static const char *const readonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys",
				       "proc/sysrq-trigger"};

static int
mask_one(int rootfd, const char *path, struct mount_masks *mk, bool files, struct nsbox_err *err)
{
	_cleanup_close_ int fd = -1, tree = -1;
	struct stat st;
	int *src;

	fd = root_open(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return nsbox_error(err, errno, "mask /%s", path);
	if (!S_ISDIR(st.st_mode) && !files)
		return nsbox_error(err, 0, "mask /%s: not a directory", path);
	/* The first mask of each kind is made; the others are clones of it,
	 * which costs the kernel no new superblock and no path lookup. */
	src = S_ISDIR(st.st_mode) ? &mk->dir : &mk->file;
	if (*src >= 0) {
		tree = open_tree(*src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0)
			return nsbox_error(err, errno, "mask /%s", path);
	} else if (S_ISDIR(st.st_mode)) {
		/* an empty read-only tmpfs */
		tree = fs_mount("tmpfs", NULL,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					MOUNT_ATTR_NOEXEC,
				err);
	} else {
		/* A file gets the host's /dev/null, read-only, as in runc: it
		 * reads empty, and no file is made for it per run. */
		tree = open_tree(AT_FDCWD, "/dev/null",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (tree < 0)
			return nsbox_error(err, errno, "mask /%s: /dev/null", path);
		if (set_readonly(tree, "/dev/null", err) < 0)
			return -1;
	}
	if (tree < 0 || attach(tree, fd, path, err) < 0)
		return -1;
	/* Attached, the mount is in this namespace and may be cloned. */
	if (*src < 0)
		*src = steal_fd(&tree);
	return 0;
}

void
mount_masks_close(struct mount_masks *mk)
{
	if (mk->dir >= 0)
		close(mk->dir);
	if (mk->file >= 0)
		close(mk->file);
	mk->dir = mk->file = -1;
}

/* Bind path (inside the root) onto itself, read-only or, for /proc/sys/net
 * under a read-only /proc/sys, read-write again. A missing path is left. */
static int
remount_one(int rootfd, const char *path, bool ro, struct nsbox_err *err)
{
	_cleanup_close_ int fd = -1, tree = -1;
	struct mount_attr attr = {.attr_set = ro ? MOUNT_ATTR_RDONLY : 0,
				  .attr_clr = ro ? 0 : MOUNT_ATTR_RDONLY};

	fd = root_open(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return nsbox_error(err, errno, "/%s", path);
	tree = open_tree(fd, "",
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0 ||
	    mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return nsbox_error(err, errno, "/%s: read-%s", path, ro ? "only" : "write");
	return attach(tree, fd, path, err);
}

int
mount_proc(int rootfd, bool net_rw, struct mount_masks *mk, struct nsbox_err *err)
{
	_cleanup_close_ int fd = api_dir(rootfd, "proc", err);

	if (fd < 0)
		return -1;
	if (mount_fs_at("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, fd,
			err) < 0)
		return -1;
	/* A failed mask is fatal: nspawn's masks failed silently for years. */
	for (size_t i = 0; i < ARRAY_SIZE(readonly); i++)
		if (remount_one(rootfd, readonly[i], true, err) < 0)
			return -1;
	if (net_rw && remount_one(rootfd, "proc/sys/net", false, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(masked); i++)
		if (startswith(masked[i], "proc/") &&
		    mask_one(rootfd, masked[i], mk, true, err) < 0)
			return -1;
	return 0;
}

int
mount_sys(int rootfd, struct mount_masks *mk, struct nsbox_err *err)
{
	_cleanup_close_ int fd = api_dir(rootfd, "sys", err);

	if (fd < 0)
		return -1;
	/* A user namespace may mount sysfs only with a network namespace of
	 * its own; otherwise the host's, bound read-only, as runc rootless. */
	if (mount_fs_at("sysfs", NULL,
			MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				MOUNT_ATTR_NOEXEC,
			fd, err) < 0 &&
	    (err->errnum != EPERM || mount_bind_at("/sys", true, fd, err) < 0))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(masked); i++)
		if (startswith(masked[i], "sys/") &&
		    mask_one(rootfd, masked[i], mk, false, err) < 0)
			return -1;
	return 0;
}

static int
dev_node(int devfd, const char *name, dev_t rdev, struct nsbox_err *err)
{
	_cleanup_close_ int f = -1, target = -1;
	_cleanup_free_ char *host = NULL;

	/* A node of its own where the kernel lets nsbox make one (as root,
	 * no user namespace): no mount, as in nspawn. */
	if (mknodat(devfd, name, S_IFCHR | 0666, rdev) == 0)
		return 0;
	if (errno != EPERM)
		return nsbox_error(err, errno, "/dev/%s", name);
	/* Else the host's node, bound on an empty file, as bwrap does. */
	f = openat(devfd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0666);
	if (f < 0)
		return nsbox_error(err, errno, "/dev/%s", name);
	target = openat(devfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return nsbox_error(err, errno, "/dev/%s", name);
	host = xasprintf("/dev/%s", name);
	return mount_bind_at(host, false, target, err);
}

int
mount_dev(int rootfd, unsigned long long shm_size, struct nsbox_err *err)
{
	/* the kernel's fixed numbers (devices.txt) */
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
		     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"pts/ptmx", "ptmx"},
	};
	static const char *const devopts[] = {"mode", "0755", "size", "65536k", NULL};
	static const char *const ptsopts[] = {"ptmxmode", "0666", "mode", "0620", NULL};
	char shm[32];
	const char *shmopts[] = {"mode", "1777", "size", shm, NULL};
	_cleanup_close_ int dir = api_dir(rootfd, "dev", err), dev = -1, pts = -1, shmfd = -1;

	if (dir < 0)
		return -1;
	if (mount_fs_at("tmpfs", devopts, MOUNT_ATTR_NOSUID, dir, err) < 0)
		return -1;
	/* dir still names the directory under the new tmpfs; reopen. */
	dev = api_dir(rootfd, "dev", err);
	if (dev < 0)
		return -1;
	close(dir);
	dir = openat(dev, ".", O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return nsbox_error(err, errno, "/dev");
	/* 0666 whatever the umask */
	mode_t mask = umask(0);

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		if (dev_node(dir, nodes[i].name, makedev(nodes[i].major, nodes[i].minor), err) <
		    0) {
			umask(mask);
			return -1;
		}
	umask(mask);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dir, links[i][1]) < 0)
			return nsbox_error(err, errno, "/dev/%s", links[i][1]);
	if (mkdirat(dir, "pts", 0755) < 0 || mkdirat(dir, "shm", 01777) < 0)
		return nsbox_error(err, errno, "/dev/pts, /dev/shm");
	pts = openat(dir, "pts", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	shmfd = openat(dir, "shm", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pts < 0 || shmfd < 0)
		return nsbox_error(err, errno, "/dev/pts, /dev/shm");
	if (mount_fs_at("devpts", ptsopts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, pts, err) < 0)
		return -1;
	snprintf(shm, sizeof(shm), "%llu", shm_size);
	return mount_fs_at("tmpfs", shmopts,
			   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, shmfd, err);
}

int
mount_pivot(int rootfd, struct nsbox_err *err)
{
	/* pivot_root(".", "."): the old root ends up on top of the new one and
	 * is detached at once, with no directory needed for it. Through the
	 * fd: the way there may be closed to the container's root (a caller
	 * left out of the map). */
	if (fchdir(rootfd) < 0)
		return nsbox_error(err, errno, "chdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return nsbox_error(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return nsbox_error(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return nsbox_error(err, errno, "chdir /");
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_MOUNT_H
#define NSBOX_MOUNT_H

#include <stdbool.h>

#include "err.h"
#include "value.h"

/* Open path (absolute or relative) inside the tree of rootfd, never leaving
 * it: openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Where openat2 is
 * missing, a component walk that refuses every symlink. */
int root_open(int rootfd, const char *path, int flags);

/* Resolve dst inside the root, creating what is missing with O_NOFOLLOW
 * (directories, or an empty file as the last component when want_file);
 * returns an O_PATH fd of the target. */
int root_mkpath(int rootfd, const char *dst, bool want_file, struct nsbox_err *err);

/* Apply one [mount] operation inside the root. */
int mount_apply(int rootfd, const struct mount_op *op, struct nsbox_err *err);

/* A fresh filesystem (tmpfs, proc, sysfs, devpts, overlay) on targetfd.
 * opts: NULL-terminated key, value pairs for fsconfig(2). */
int mount_fs_at(const char *type, const char *const *opts, unsigned attrs, int targetfd,
		struct nsbox_err *err);

/* Bind host path src (a directory tree or a file) onto targetfd. */
int mount_bind_at(const char *src, bool readonly, int targetfd, struct nsbox_err *err);

/* mount_fs_at and mount_bind_at, returning an O_PATH fd of the new
 * mount's root (as an open of targetfd's path would now give), or -1. */
int mount_fs_attach(const char *type, const char *const *opts, unsigned attrs, int targetfd,
		    struct nsbox_err *err);
int mount_bind_attach(const char *src, bool readonly, int targetfd, struct nsbox_err *err);

/* Where the masks of /proc and /sys come from: the first mask of each
 * kind, which the others clone. Start with MOUNT_MASKS_INIT. */
struct mount_masks {
	int dir, file;
};
#define MOUNT_MASKS_INIT                                                                           \
	{                                                                                          \
		-1, -1                                                                             \
	}
void mount_masks_close(struct mount_masks *mk);

/* proc for the new PID namespace, with the masked and read-only paths
 * (masked files get the host's /dev/null, read-only; directories an
 * empty read-only tmpfs). /proc/sys/net stays writable with net_rw (a
 * private network namespace). */
int mount_proc(int rootfd, bool net_rw, struct mount_masks *mk, struct nsbox_err *err);
/* read-only sysfs with /sys/firmware and powercap masked */
int mount_sys(int rootfd, struct mount_masks *mk, struct nsbox_err *err);
/* a minimal /dev: tmpfs, the usual nodes made by mknod (bound from the
 * host where mknod is refused, in a user namespace), pts, shm */
int mount_dev(int rootfd, unsigned long long shm_size, struct nsbox_err *err);

/* Make rootfd (the root of a mount) the root and detach the old one. */
int mount_pivot(int rootfd, struct nsbox_err *err);

int mount_cgroup2(int rootfd, struct nsbox_err *err);

#endif

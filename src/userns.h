/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_USERNS_H
#define NSBOX_USERNS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "plan.h"

/* The uid and gid maps of one run, and how they get written. */
struct idmaps {
	struct idmap *uid, *gid;
	size_t n_uid, n_gid;
	bool helper; /* through newuidmap/newgidmap (an unprivileged caller) */
	bool deny_setgroups;
	bool caller_mapped; /* the caller's own uid and gid are in the maps (or it is root) */
	uid_t root_uid;     /* the host ids of the container's root */
	gid_t root_gid;
};

/* Ranges that a subordinate id file (/etc/subuid format) delegates to the
 * user called name or numbered id; at most max. */
size_t subid_read(FILE *f, const char *name, unsigned long id, struct idmap *out, size_t max);

/* Work out the maps: the plan's (both or neither, as plan_validate makes
 * sure), checked against what the caller may map
 * (its own id, and the ranges /etc/subuid and /etc/subgid delegate to it;
 * the caller's own id need not be mapped at all);
 * without maps, root gets a private range and another user its own id as
 * root plus its delegated range. subuid and subgid may be NULL (no file). */
int idmaps_build(const struct plan_user *u, uid_t uid, gid_t gid, const char *name, FILE *subuid,
		 FILE *subgid, struct idmaps *m, struct nsbox_err *err);
void idmaps_clear(struct idmaps *m);

/* The maps for a root whose / belongs to ouid:ogid, one of the ids that
 * /etc/subuid and /etc/subgid delegate to the caller (uid, gid, name):
 * 0 -> that id, for the rest of its range, as mmdebstrap --mode=unshare
 * made it. False, and m untouched, when they are not delegated ids. */
bool idmaps_from_owner(uid_t uid, gid_t gid, const char *name, uid_t ouid, gid_t ogid, FILE *subuid,
		       FILE *subgid, struct idmaps *m);

/* Whether host id id is in the map m (as any id inside). */
bool idmaps_host_mapped(const struct idmap *m, size_t n, unsigned long id);

/* Write the maps of pid's user namespace. */
int idmaps_write(pid_t pid, const struct idmaps *m, struct nsbox_err *err);

/* Run fn(arg) in a child process: with m, in a new user namespace whose
 * maps are m, as its root; with m NULL, as the caller. Waits for it. A
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT that arrives meanwhile kills the child
 * and is stored in *sig. Returns 0, or -1 with fn's message in err. */
int userns_call(const struct idmaps *m, int (*fn)(void *arg, struct nsbox_err *err), void *arg,
		int *sig, struct nsbox_err *err);

/* Remove dir/name, never following a symlink nor leaving its filesystem.
 * Trees a user namespace wrote hold files of ids that only root or that
 * namespace may remove, so a user removes them in one: with the maps m, or
 * with NULL the maps its runs get by default. An error if any is left. */
int userns_remove_tree(int dir, const char *name, const struct idmaps *m, struct nsbox_err *err);

#endif

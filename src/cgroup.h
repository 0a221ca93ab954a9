/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_CGROUP_H
#define NSBOX_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "plan.h"

#define CGROUP_MAX 8

/* The cgroups nsbox made for one container: one in the unified hierarchy
 * (cgroup v2) for the controllers it has, one per v1 hierarchy for the
 * others, each under the caller's own cgroup of that hierarchy. */
struct cgroups {
	char *dir[CGROUP_MAX];
	bool v2[CGROUP_MAX];
	size_t n;
	char *oom; /* memory.events (v2) or memory.oom_control (v1) */
	/* On a host whose cgroups systemd manages: the transient scope it
	 * delegated to the run (unit, and its directory, where the run's v2
	 * cgroups go in place of the caller's cgroup), or why there is none. */
	char *unit, *base, *why;
};

/* Where systemd manages the cgroups (PID 1 is systemd, cgroup v2 only),
 * ask it for a scope nsbox-ID.scope with Delegate=yes and nsbox in it (as
 * systemd-run --scope does), nsbox then in its leaf "supervisor": the
 * run's v2 cgroups go below the scope. 1 when so; 0 elsewhere, or when
 * there is no systemd to ask (cg->why says why); -1 with err. */
int cgroup_delegate(struct cgroups *cg, const char *id, struct nsbox_err *err);

/* Make the cgroups the plan's limits need (limits.memory, pids, cpu, and
 * pflask's limits.cgroup controllers), named nsbox-ID, with the limits
 * written. Nothing to do is not an error. */
int cgroup_setup(const struct plan_limits *l, const char *id, struct cgroups *cg,
		 struct nsbox_err *err);
/* A cgroup of the run's in the unified hierarchy, with or without
 * controllers (for an init that manages cgroups); its index, or -1. */
int cgroup_unified(struct cgroups *cg, const char *id, struct nsbox_err *err);
/* A cgroup that holds every process of the run, to kill them all at the
 * end when no PID namespace does: the unified hierarchy's, else the v1
 * freezer's (frozen, then killed). Its index, or -1 (errno in err). */
int cgroup_track(struct cgroups *cg, const char *id, struct nsbox_err *err);
/* Put pid (the container's first process, not yet running) in them. */
int cgroup_attach(const struct cgroups *cg, pid_t pid, struct nsbox_err *err);
/* Whether the memory controller killed something for the limit. */
bool cgroup_oom(const struct cgroups *cg);
/* Kill what is left in them and remove them. */
void cgroup_teardown(struct cgroups *cg);
/* The same for a directory a killed run left (named in its state). */
int cgroup_remove(const char *dir);

/* The text of dir/file (at most 4 KiB), or NULL. */
char *cgroup_read(const char *dir, const char *file);

#endif

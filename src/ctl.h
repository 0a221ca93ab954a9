/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_CTL_H
#define NSBOX_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

/* nsbox ps: the caller's running containers (name, profile, pid, uptime,
 * root, cgroup), or their state as a JSON array. */
int ctl_ps(FILE *out, bool json, struct nsbox_err *err);

/* nsbox stop: SIGTERM to the nsbox that runs the container named what (a
 * name, a run id or the container's pid), which forwards it and, after
 * process.grace, sends SIGKILL; returns once that nsbox is gone. With
 * ignore, one that is not running (any more) is not an error. */
int ctl_stop(const char *what, bool ignore, struct nsbox_err *err);

/* nsbox kill: the signal sig (a number or a name such as TERM or
 * SIGTERM) to the container's first process. */
int ctl_kill(const char *what, const char *sig, struct nsbox_err *err);

/* How nsbox exec runs its command. */
struct exec_opts {
	bool kill_leftovers; /* kill what the command left when it returns */
};

/* nsbox exec: run argv in the container: in all its namespaces, under its
 * root, in the cwd, with the uid, groups, capabilities and environment of
 * the command nsbox runs there, in its cgroups. Returns the command's exit
 * status (128+N for signal N, 126 and 127 when it cannot be run), or -1
 * with err when nsbox failed, before or after its fork: never a status
 * that could be the command's. */
int ctl_exec(const char *what, char **argv, const struct exec_opts *eo, struct nsbox_err *err);

/* nsbox stats: memory, pids and CPU time from the container's cgroups. */
int ctl_stats(FILE *out, const char *what, struct nsbox_err *err);

/* nsbox pause and resume: freeze or thaw the container (cgroup.freeze on
 * v2, the v1 freezer). */
int ctl_freeze(const char *what, bool freeze, struct nsbox_err *err);

/* nsbox attach (and pflask's run --attach=PID): the terminal of a
 * container started with --detach; Ctrl-@ detaches again. */
int ctl_attach(const char *what, struct nsbox_err *err);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_STATE_H
#define NSBOX_STATE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct plan;

/* A live run's state, STATEDIR/ID.json: written once by the nsbox that
 * runs it (state_write), read by ps, exec, stop, kill, stats, pause, resume
 * and attach (state_parse). What those read back is here, typed and
 * normalised; the plan follows as nsbox show --json prints it, for people
 * and ps --json, and is never read back. */
struct run_state {
	char *id, *name;
	char *profile;        /* the profile named last; NULL: none */
	pid_t nsbox_pid, pid; /* the nsbox that runs it; the container's first process */
	long long started;    /* seconds since the epoch */
	char *root;           /* the root's directory or tarball; NULL: the host's */
	char **cgroups;       /* the run's cgroup directories (NULL or empty: none) */
	char **command;
	bool seccomp;      /* security.seccomp */
	bool no_new_privs; /* security.no-new-privileges */
};

/* The state as JSON, one line; p (may be NULL) is printed as "plan". */
void state_write(FILE *f, const struct run_state *s, const struct plan *p);
/* Parse len bytes of a state file into s (cleared first). Returns 0, or -1
 * with *why saying what is wrong and s left empty. */
int state_parse(const char *text, size_t len, struct run_state *s, const char **why);
void state_clear(struct run_state *s);

#endif

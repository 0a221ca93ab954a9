/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_RUN_H
#define NSBOX_RUN_H

#include <stdbool.h>

#include "err.h"
#include "plan.h"

/* Apply a validated plan: start the container, wait for it, clean up.
 * Returns the command's exit status (128+N for signal N, 126 cannot
 * execute, 127 not found), or -1 with err when nsbox itself failed. The
 * executor never writes into the plan; *detached says whether this was
 * the caller's side of a --detach run, which returns once it started. */
int run_plan(const struct plan *p, bool verbose, bool dry_run, bool *detached,
	     struct nsbox_err *err);

/* Remove (or, with dry_run, list on stdout) what runs killed with SIGKILL
 * left in the caller's state directory; a run whose lock is held is never
 * touched. Returns how many runs were found, or -1 with err. */
int state_gc(bool dry_run, struct nsbox_err *err);

/* The caller's state directory (made if missing), or NULL with err. */
char *state_directory(struct nsbox_err *err);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_HOOK_H
#define NSBOX_HOOK_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* Whether path may be run as a hook by this caller: an absolute path to a
 * regular executable file, not a symlink; for root, owned by root and
 * writable by nobody else, nor its directory. NULL, or why not. */
const char *hook_check(const char *path);

/* Run a hook: argv {path, arg}, an environment of env only (NULL-ended
 * "NAME=value" strings), fds 0-2 and, when pidfd >= 0, that as fd 3. Waits;
 * a SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile kills it and is stored in
 * *sig. Returns its wait status, or -1 with err. */
int hook_run(const char *path, const char *arg, char *const env[], int pidfd, int *sig,
	     struct nsbox_err *err);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_MACHINED_H
#define NSBOX_MACHINED_H

#include <sys/types.h>

#include "err.h"
#include "value.h"

/* Register the container with systemd-machined (mode auto: when there, as
 * root; yes: or fail). Returns 1 when registered, 0 when not, -1 with err. */
int machined_register(const char *name, pid_t leader, const char *root, enum tristate mode,
		      const char *origin, struct nsbox_err *err);
void machined_unregister(const char *name);

/* Ask the caller's systemd (the system manager for root, else the user's)
 * for a transient scope named unit, with pid in it and its cgroup
 * delegated (Delegate=yes), gone once empty. 0 when started; 1 when there
 * is no systemd to ask; -1 when it refused; why says why not. */
int systemd_scope(const char *unit, pid_t pid, char *why, size_t size);

#endif

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

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_ENV_H
#define NSBOX_ENV_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "plan.h"

struct user_info {
	uid_t uid;
	gid_t gid;
	char *name, *home, *shell;
	gid_t *groups;
	size_t n_groups;
};

/* Resolve user (a name or a numeric uid; NULL for root) from the passwd and
 * group files given as open streams: the container's own, never the host's
 * name service. */
int user_lookup(const char *user, FILE *passwd, FILE *group, struct user_info *u,
		struct nsbox_err *err);
void user_info_clear(struct user_info *u);

/* Set KEY=VALUE in a NULL-terminated list (replacing it with overwrite). */
void env_set(char ***env, const char *key, const char *value, bool overwrite);
/* The command's environment: empty (but TERM) or the caller's, then HOME,
 * USER, LOGNAME, SHELL, PATH where unset, then the plan's variables. */
char **env_build(const struct plan_env *e, char *const *caller, const struct user_info *u);

#endif

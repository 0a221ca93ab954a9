/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_OPTIONS_H
#define NSBOX_OPTIONS_H

#include <stdbool.h>

#include "err.h"
#include "plan.h"

enum command {
	CMD_RUN,
	CMD_SHOW,
	CMD_CHECK,
	CMD_LIST,
	CMD_GC,
	CMD_CACHE,
	CMD_PS,
	CMD_STOP,
	CMD_KILL,
	CMD_EXEC,
	CMD_STATS,
	CMD_PAUSE,
	CMD_RESUME,
	CMD_ATTACH
};

/* What the command line asks for: the profiles to load, in order, and a
 * layer of settings (origin "command line") that goes on top of them. */
struct overrides {
	char **profiles;
	struct layer layer;
	char **args; /* the command for run; profile names for check; cache's action */
	bool json, verbose, dry_run, help, keys;
	bool all;      /* cache prune --all */
	unsigned days; /* cache prune --days */
	long attach;   /* pflask's --attach=PID; 0 when absent */
	int status_fd; /* --json-status-fd; -1 when absent */
};

/* Parse the options of one subcommand (argv[0] is the subcommand's name).
 * Returns 0, or -1 with err saying what is wrong. Every pflask option is
 * accepted by run and show, with pflask's syntax. */
int options_parse(enum command cmd, int argc, char **argv, struct overrides *o,
		  struct nsbox_err *err);
void overrides_free(struct overrides *o);

/* The usage text of a subcommand. */
const char *options_usage(enum command cmd);

#endif

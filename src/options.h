/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_OPTIONS_H
#define NSBOX_OPTIONS_H

#include <stdbool.h>

#include "err.h"
#include "plan.h"

/* How one subcommand's command line is read: its usage, options and
 * argument count. main.c's table of commands points at these. */
struct syntax;
extern const struct syntax syntax_run, syntax_show, syntax_check, syntax_list, syntax_gc,
	syntax_cache, syntax_ps, syntax_stop, syntax_kill, syntax_exec, syntax_stats, syntax_pause,
	syntax_attach;

/* What the command line asks for: the profiles to load, in order, and a
 * layer of settings (origin "command line") that goes on top of them. */
struct overrides {
	char **profiles;
	struct layer layer;
	char **args; /* the command for run; profile names for check; cache's action */
	bool json, verbose, dry_run, help, keys;
	const char *get; /* show --get=SECTION.KEY */
	bool all;        /* cache prune --all */
	unsigned days;   /* cache prune --days */
	long attach;     /* pflask's --attach=PID; 0 when absent */
	int status_fd;   /* --json-status-fd; -1 when absent */
	/* nsbox exec */
	int failure_status;            /* --failure-status: nsbox's own failure (125) */
	unsigned char status_map[256]; /* --status-map: the command's status -> exec's */
	bool kill_leftovers;           /* --kill-leftovers */
	bool ignore;                   /* stop --ignore: a container that is gone is fine */
};

/* Parse the options of one subcommand (argv[0] is the subcommand's name).
 * Returns 0, or -1 with err saying what is wrong. Every pflask option is
 * accepted by run and show, with pflask's syntax. */
int options_parse(const struct syntax *s, int argc, char **argv, struct overrides *o,
		  struct nsbox_err *err);
void overrides_free(struct overrides *o);

/* The usage text of a subcommand. */
const char *options_usage(const struct syntax *s);

#endif

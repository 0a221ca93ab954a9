/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "exec.h"
#include "options.h"
#include "profile.h"
#include "runs.h"
#include "util.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

#define EXIT_NSBOX 125

static const char usage[] = "usage: nsbox COMMAND [OPTIONS] [--] [ARGS]\n"
			    "\n"
			    "  run     run a command in a container\n"
			    "  show    print the merged plan, with where each value came from\n"
			    "  check   validate profiles\n"
			    "  list    list the profiles in the search path\n"
			    "  gc      remove the leftovers of runs that were killed\n"
			    "  cache   list or prune the cached trees of tarball roots\n"
			    "  ps      list the running containers\n"
			    "  stop    stop a container (SIGTERM, then SIGKILL after its grace)\n"
			    "  kill    send a signal to a container\n"
			    "  exec    run a command in a running container\n"
			    "  stats   memory, pids and CPU time of a container\n"
			    "  pause   freeze a container; resume thaws it\n"
			    "  attach  the terminal of a detached container\n"
			    "\n"
			    "nsbox COMMAND --help shows a command's options.\n";

static void
print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "nsbox: %s\n", d->msgs[i]);
}

static unsigned
load_flags(void)
{
	return geteuid() == 0 ? PROFILE_TRUST : 0;
}

/* defaults < each --profile (its includes first) < the command line;
 * without a profile, pflask's defaults come before the command line */
static struct plan *
build_plan(struct overrides *o, struct diag *d)
{
	struct plan *p = plan_new();

	if (!o->profiles) {
		struct layer l = {0};

		plan_pflask_layer(&o->layer, &l);
		plan_merge(p, &l, d);
		layer_free(&l);
	}

	for (size_t i = 0; o->profiles && o->profiles[i]; i++) {
		struct layer l = {0};

		profile_load(o->profiles[i], "command line: --profile", load_flags(), &l, d);
		plan_merge(p, &l, d);
		layer_free(&l);
	}
	plan_merge(p, &o->layer, d);
	plan_validate(p, d);
	return p;
}

static int
cmd_run_show(enum command cmd, struct overrides *o)
{
	_cleanup_plan_ struct plan *p = NULL;
	struct diag d = {0};
	struct nsbox_err err = {0};
	int rc;

	if (cmd == CMD_SHOW && o->keys) {
		plan_print_keys(stdout);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	p = build_plan(o, &d);
	if (d.n) {
		print_diag(&d);
		diag_free(&d);
		return EXIT_NSBOX;
	}
	if (cmd == CMD_SHOW) {
		plan_print(p, stdout, o->json);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	if (o->attach) { /* pflask's --attach=PID */
		char pid[24];

		snprintf(pid, sizeof(pid), "%ld", o->attach);
		if (runs_attach(pid, &err) < 0) {
			fprintf(stderr, "nsbox: %s\n", err.msg);
			return EXIT_NSBOX;
		}
		return 0;
	}
	p->argv = steal_ptr(&o->args);
	if (o->profiles)
		p->profile = o->profiles[strv_len(o->profiles) - 1];
	p->status_fd = o->status_fd;
	if (p->status_fd >= 0)
		fcntl(p->status_fd, F_SETFD, FD_CLOEXEC); /* not the container's */
	rc = exec_run(p, o->verbose, o->dry_run, &err);
	if (rc < 0)
		fprintf(stderr, "nsbox: %s\n", err.msg);
	/* the end, as bubblewrap's --json-status-fd, telling who failed */
	if (p->status_fd >= 0 && !(p->detached && rc >= 0)) {
		FILE *f = fdopen(dup(p->status_fd), "w");

		if (f) {
			fprintf(f, "{\"event\": \"exited\", \"exit-code\": %d, \"failed\": \"%s\"",
				rc < 0 ? EXIT_NSBOX : rc,
				rc < 0 ? "nsbox"
				: rc   ? "command"
				       : "none");
			if (rc < 0) {
				fputs(", \"message\": ", f);
				json_string(f, err.msg);
			}
			fputs("}\n", f);
			fclose(f);
		}
	}
	return rc < 0 ? EXIT_NSBOX : rc;
}

static bool
check_one(const char *name)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct layer l = {0};
	struct diag d = {0};
	bool ok;

	profile_load(name, "command line", load_flags(), &l, &d);
	plan_merge(p, &l, &d);
	plan_validate(p, &d);
	layer_free(&l);
	print_diag(&d);
	ok = d.n == 0;
	if (ok)
		printf("%s: ok\n", name);
	diag_free(&d);
	return ok;
}

/* Exit 0 when every profile is valid, else 1 (not 125: check itself worked). */
static int
cmd_check(struct overrides *o)
{
	struct profile_info *v = NULL;
	size_t n = 0;
	bool ok = true;

	if (o->args) {
		for (size_t i = 0; o->args[i]; i++)
			ok &= check_one(o->args[i]);
		return ok ? 0 : 1;
	}
	n = profile_list(&v);
	for (size_t i = 0; i < n; i++)
		ok &= check_one(v[i].path);
	profile_list_free(v, n);
	if (n == 0)
		printf("no profiles found\n");
	return ok ? 0 : 1;
}

static char *
description_of(const char *path)
{
	struct layer l = {0};
	struct diag d = {0};
	char *desc = NULL;

	profile_load(path, "list", load_flags(), &l, &d);
	for (size_t i = 0; i < l.n; i++) {
		if (streq(l.v[i].section, "profile") && streq(l.v[i].key, "description")) {
			free(desc);
			desc = xstrdup(l.v[i].value);
		}
	}
	if (d.n) {
		free(desc);
		desc = xstrdup("(invalid: see nsbox check)");
	}
	layer_free(&l);
	diag_free(&d);
	return desc;
}

static int
cmd_list(void)
{
	struct profile_info *v = NULL;
	size_t n = profile_list(&v);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *desc = description_of(v[i].path);

		printf("%-20s %s", v[i].name, v[i].path);
		if (v[i].shadowed_by)
			printf("  (shadowed by %s)", v[i].shadowed_by);
		else if (desc)
			printf("  %s", desc);
		putchar('\n');
	}
	profile_list_free(v, n);
	return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
}

static int
cmd_cache(const struct overrides *o)
{
	struct nsbox_err err = {0};
	int rc;

	char id[65];

	if (streq(o->args[0], "list"))
		rc = cache_list(stdout, &err);
	else if (streq(o->args[0], "id"))
		rc = cache_id(o->args[1], id, &err) < 0 ? -1 : printf("%s\n", id);
	else
		rc = cache_prune(o->days, o->all, o->dry_run, &err);
	if (rc < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		return EXIT_NSBOX;
	}
	return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = {
		[CMD_RUN] = "run",       [CMD_SHOW] = "show",    [CMD_CHECK] = "check",
		[CMD_LIST] = "list",     [CMD_GC] = "gc",        [CMD_CACHE] = "cache",
		[CMD_PS] = "ps",         [CMD_STOP] = "stop",    [CMD_KILL] = "kill",
		[CMD_EXEC] = "exec",     [CMD_STATS] = "stats",  [CMD_PAUSE] = "pause",
		[CMD_RESUME] = "resume", [CMD_ATTACH] = "attach"};
	struct overrides o;
	struct nsbox_err err = {0};
	int cmd = -1, rc;

	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_NSBOX : 0;
	}
	if (streq(argv[1], "--version")) {
		printf("nsbox %s\n", VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(argv[1], names[i]))
			cmd = (int)i;
	if (cmd < 0) {
		_cleanup_free_ char *c = str_escape(argv[1]);

		const char *hint = NULL;
		unsigned best = 3;

		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			unsigned d = edit_distance(argv[1], names[i]);

			if (d < best) {
				best = d;
				hint = names[i];
			}
		}
		if (hint)
			fprintf(stderr,
				"nsbox: command line: unknown command '%s' (did you mean %s?)\n", c,
				hint);
		else
			fprintf(stderr,
				"nsbox: command line: unknown command '%s' (see nsbox --help)\n",
				c);
		return EXIT_NSBOX;
	}
	if (options_parse(cmd, argc - 1, argv + 1, &o, &err) < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		overrides_free(&o);
		return EXIT_NSBOX;
	}
	if (o.help)
		rc = fputs(options_usage(cmd), stdout) < 0 ? EXIT_NSBOX : 0;
	else if (cmd == CMD_CHECK)
		rc = cmd_check(&o);
	else if (cmd == CMD_LIST)
		rc = cmd_list();
	else if (cmd == CMD_GC)
		rc = exec_gc(o.dry_run, &err) < 0
			     ? (fprintf(stderr, "nsbox: %s\n", err.msg), EXIT_NSBOX)
			     : 0;
	else if (cmd == CMD_CACHE)
		rc = cmd_cache(&o);
	else if (cmd == CMD_EXEC)
		rc = (rc = runs_exec(o.args[0], o.args + 1, &err)) < 0
			     ? (fprintf(stderr, "nsbox: %s\n", err.msg), EXIT_NSBOX)
			     : rc;
	else if (cmd == CMD_STATS || cmd == CMD_PAUSE || cmd == CMD_RESUME || cmd == CMD_ATTACH)
		rc = (cmd == CMD_STATS    ? runs_stats(stdout, o.args[0], &err)
		      : cmd == CMD_ATTACH ? runs_attach(o.args[0], &err)
					  : runs_freeze(o.args[0], cmd == CMD_PAUSE, &err)) < 0
			     ? (fprintf(stderr, "nsbox: %s\n", err.msg), EXIT_NSBOX)
			     : (fflush(stdout) == 0 ? 0 : EXIT_NSBOX);
	else if (cmd == CMD_PS || cmd == CMD_STOP || cmd == CMD_KILL)
		rc = (cmd == CMD_PS     ? runs_ps(stdout, o.json, &err)
		      : cmd == CMD_STOP ? runs_stop(o.args[0], &err)
					: runs_kill(o.args[0], o.args[1], &err)) < 0
			     ? (fprintf(stderr, "nsbox: %s\n", err.msg), EXIT_NSBOX)
			     : (fflush(stdout) == 0 ? 0 : EXIT_NSBOX);
	else
		rc = cmd_run_show(cmd, &o);
	overrides_free(&o);
	return rc;
}

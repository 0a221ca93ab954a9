/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "run.h"
#include "have.h"
#include "options.h"
#include "profile.h"
#include "ctl.h"
#include "util.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

#define EXIT_NSBOX 125

#ifdef HAVE_SDBUS
#define SDBUS_FEATURE "+sd-bus" /* systemd-machined registration */
#else
#define SDBUS_FEATURE "-sd-bus"
#endif
#if defined(__x86_64__)
#define SECCOMP_FEATURE "+seccomp" /* the denylist and the TIOCSTI filter */
#else
#define SECCOMP_FEATURE "-seccomp"
#endif

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
 * without a profile, pflask's defaults come before the command line. The
 * command is part of the plan before validation, which decides on init. */
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
	p->argv = steal_ptr(&o->args);
	plan_validate(p, d);
	return p;
}

static int
run_show(struct overrides *o, bool show)
{
	_cleanup_plan_ struct plan *p = NULL;
	struct diag d = {0};
	struct nsbox_err err = {0};
	bool detached = false;
	int rc;

	if (show && o->keys) {
		plan_print_keys(stdout);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	p = build_plan(o, &d);
	if (d.n) {
		print_diag(&d);
		diag_free(&d);
		return EXIT_NSBOX;
	}
	if (show && o->get) {
		const char *why, *v = plan_get(p, o->get, &why);

		if (why) {
			fprintf(stderr, "nsbox: command line: --get=%s: %s\n", o->get, why);
			return EXIT_NSBOX;
		}
		if (v)
			printf("%s\n", v);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	if (show) {
		plan_print(p, stdout, o->json);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	if (o->attach) { /* pflask's --attach=PID */
		char pid[24];

		snprintf(pid, sizeof(pid), "%ld", o->attach);
		if (ctl_attach(pid, &err) < 0) {
			fprintf(stderr, "nsbox: %s\n", err.msg);
			return EXIT_NSBOX;
		}
		return 0;
	}
	if (o->profiles)
		p->profile = o->profiles[strv_len(o->profiles) - 1];
	p->status_fd = o->status_fd;
	if (p->status_fd >= 0)
		fcntl(p->status_fd, F_SETFD, FD_CLOEXEC); /* not the container's */
	rc = run_plan(p, o->verbose, o->dry_run, &detached, &err);
	if (rc < 0)
		fprintf(stderr, "nsbox: %s\n", err.msg);
	/* the end, as bubblewrap's --json-status-fd, telling who failed */
	if (p->status_fd >= 0 && !(detached && rc >= 0)) {
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

static int
cmd_run(struct overrides *o)
{
	return run_show(o, false);
}

static int
cmd_show(struct overrides *o)
{
	return run_show(o, true);
}

/* Does a setting of l come from the file real (a resolved path)? */
static bool
layer_reads(const struct layer *l, const char *real)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *colon = strrchr(l->v[i].origin, ':');
		_cleanup_free_ char *file =
			colon ? xstrndup(l->v[i].origin, (size_t)(colon - l->v[i].origin)) : NULL;
		_cleanup_free_ char *r = file ? realpath(file, NULL) : NULL;

		if (r && streq(r, real))
			return true;
	}
	return false;
}

/* The first profile of the search path that includes the profile at path,
 * or NULL: such a fragment (build-common) need not be runnable alone. */
static const char *
includer(const char *path, const struct profile_info *v, size_t n)
{
	_cleanup_free_ char *real = realpath(path, NULL);

	for (size_t i = 0; real && i < n; i++) {
		_cleanup_free_ char *other = realpath(v[i].path, NULL);
		struct layer l = {0};
		struct diag d = {0};
		bool found;

		if (v[i].shadowed_by || !other || streq(other, real))
			continue;
		profile_load(v[i].path, "check", load_flags(), &l, &d);
		found = layer_reads(&l, real);
		layer_free(&l);
		diag_free(&d);
		if (found)
			return v[i].name;
	}
	return NULL;
}

/* The path a name resolves to: as given with a '/', else from the list. */
static const char *
profile_path(const char *name, const struct profile_info *v, size_t n)
{
	if (strchr(name, '/'))
		return name;
	for (size_t i = 0; i < n; i++)
		if (!v[i].shadowed_by && streq(v[i].name, name))
			return v[i].path;
	return NULL;
}

/* A profile is checked as nsbox run would take it. One that others include
 * (build-common) may be a part that cannot run alone (nsbox show says why):
 * then only its lines must be right, and its plan is checked with theirs. */
static bool
check_one(const char *name, const struct profile_info *v, size_t n)
{
	_cleanup_plan_ struct plan *p = plan_new();
	const char *path = profile_path(name, v, n), *by = NULL;
	struct layer l = {0};
	struct diag d = {0};
	size_t lines;
	bool ok;

	profile_load(name, "command line", load_flags(), &l, &d);
	plan_merge(p, &l, &d);
	lines = d.n;
	plan_validate(p, &d);
	layer_free(&l);
	if (lines == 0 && d.n && path)
		by = includer(path, v, n);
	if (!by)
		print_diag(&d);
	ok = d.n == 0 || by;
	if (ok && by)
		printf("%s (a part of %s): ok\n", name, by);
	else if (ok)
		printf("%s: ok\n", name);
	diag_free(&d);
	return ok;
}

/* Exit 0 when every profile is valid, else 1 (not 125: check itself worked). */
static int
cmd_check(struct overrides *o)
{
	struct profile_info *v = NULL;
	size_t n = profile_list(&v);
	bool ok = true;

	if (o->args) {
		for (size_t i = 0; o->args[i]; i++)
			ok &= check_one(o->args[i], v, n);
	} else {
		for (size_t i = 0; i < n; i++)
			ok &= check_one(v[i].path, v, n);
		if (n == 0)
			printf("no profiles found\n");
	}
	profile_list_free(v, n);
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
cmd_list(struct overrides *o)
{
	struct profile_info *v = NULL;
	size_t n = profile_list(&v);

	(void)o;
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
cmd_cache(struct overrides *o)
{
	struct nsbox_err err = {0};
	int rc;

	char id[65];

	if (streq(o->args[0], "list"))
		rc = cache_list(stdout, &err);
	else if (streq(o->args[0], "id"))
		rc = cache_id(o->args[1], id, &err) < 0 ? -1 : printf("%s\n", id);
	else if (streq(o->args[0], "dir")) {
		_cleanup_free_ char *dir = cache_dir();

		rc = printf("%s\n", dir);
	} else
		rc = cache_prune(o->days, o->all, o->dry_run, &err);
	if (rc < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		return EXIT_NSBOX;
	}
	return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
}

/* A command on running containers, or gc: its error, or the flush of what
 * it printed, makes the exit code. */
static int
done(int rc, const struct nsbox_err *err)
{
	if (rc < 0) {
		fprintf(stderr, "nsbox: %s\n", err->msg);
		return EXIT_NSBOX;
	}
	return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
}

static int
cmd_gc(struct overrides *o)
{
	struct nsbox_err err = {0};

	if (state_gc(o->dry_run, &err) < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		return EXIT_NSBOX;
	}
	return 0;
}

static int
cmd_ps(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_ps(stdout, o->json, &err), &err);
}

static int
cmd_stop(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_stop(o->args[0], o->ignore, &err), &err);
}

static int
cmd_kill(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_kill(o->args[0], o->args[1], &err), &err);
}

/* The exit code is the command's, through --status-map; nsbox's own
 * failure is --failure-status (125). A map onto the failure status would
 * make the two one again. */
static int
cmd_exec(struct overrides *o)
{
	struct nsbox_err err = {0};
	struct exec_opts eo = {.kill_leftovers = o->kill_leftovers};
	int rc;

	for (int i = 0; i < 256; i++) {
		if (i != o->failure_status && o->status_map[i] == o->failure_status) {
			fprintf(stderr,
				"nsbox: command line: --status-map=%d:%d: %d is nsbox's own "
				"failure status (--failure-status)\n",
				i, o->failure_status, o->failure_status);
			return o->failure_status;
		}
	}
	rc = ctl_exec(o->args[0], o->args + 1, &eo, &err);
	if (rc < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		return o->failure_status;
	}
	return o->status_map[rc & 255];
}

static int
cmd_stats(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_stats(stdout, o->args[0], &err), &err);
}

static int
cmd_pause(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_freeze(o->args[0], true, &err), &err);
}

static int
cmd_resume(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_freeze(o->args[0], false, &err), &err);
}

static int
cmd_attach(struct overrides *o)
{
	struct nsbox_err err = {0};

	return done(ctl_attach(o->args[0], &err), &err);
}

/* Every subcommand: its name, how its command line is read (options.c) and
 * what runs it, which prints its own errors and returns the exit code. */
static const struct command {
	const char *name;
	const struct syntax *syntax;
	int (*run)(struct overrides *o);
} commands[] = {
	{"run", &syntax_run, cmd_run},
	{"show", &syntax_show, cmd_show},
	{"check", &syntax_check, cmd_check},
	{"list", &syntax_list, cmd_list},
	{"gc", &syntax_gc, cmd_gc},
	{"cache", &syntax_cache, cmd_cache},
	{"ps", &syntax_ps, cmd_ps},
	{"stop", &syntax_stop, cmd_stop},
	{"kill", &syntax_kill, cmd_kill},
	{"exec", &syntax_exec, cmd_exec},
	{"stats", &syntax_stats, cmd_stats},
	{"pause", &syntax_pause, cmd_pause},
	{"resume", &syntax_pause, cmd_resume},
	{"attach", &syntax_attach, cmd_attach},
};

/* The command named so, or NULL after saying so (with a "did you mean"). */
static const struct command *
command_find(const char *name)
{
	_cleanup_free_ char *c = NULL;
	const char *hint = NULL;
	unsigned best = 3;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(name, commands[i].name))
			return &commands[i];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		unsigned d = edit_distance(name, commands[i].name);

		if (d < best) {
			best = d;
			hint = commands[i].name;
		}
	}
	c = str_escape(name);
	if (hint)
		fprintf(stderr, "nsbox: command line: unknown command '%s' (did you mean %s?)\n", c,
			hint);
	else
		fprintf(stderr, "nsbox: command line: unknown command '%s' (see nsbox --help)\n",
			c);
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *c;
	struct overrides o;
	struct nsbox_err err = {0};
	int rc;

	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_NSBOX : 0;
	}
	if (streq(argv[1], "--version")) { /* the optional parts: systemd's style */
		printf("nsbox %s\n%s %s\n", VERSION, SDBUS_FEATURE, SECCOMP_FEATURE);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	if (streq(argv[1], "--commands")) { /* hidden: the bash completion's list */
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			puts(commands[i].name);
		return fflush(stdout) == 0 ? 0 : EXIT_NSBOX;
	}
	if (!(c = command_find(argv[1])))
		return EXIT_NSBOX;
	if (options_parse(c->syntax, argc - 1, argv + 1, &o, &err) < 0) {
		fprintf(stderr, "nsbox: %s\n", err.msg);
		overrides_free(&o);
		return EXIT_NSBOX;
	}
	if (o.help)
		rc = fputs(options_usage(c->syntax), stdout) < 0 ? EXIT_NSBOX : 0;
	else
		rc = c->run(&o);
	overrides_free(&o);
	return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

#define CL "command line"

enum {
	OPT_SET = 256,
	OPT_JSON,
	OPT_DRY_RUN,
	OPT_TTY,
	OPT_PIPE,
	OPT_DAYS,
	OPT_ALL,
	OPT_NAME,
	OPT_STATUS_FD,
	OPT_KEYS,
	OPT_REGISTER,
	OPT_GET,
	OPT_FAILURE_STATUS,
	OPT_STATUS_MAP,
	OPT_KILL_LEFTOVERS,
	OPT_IGNORE
};

static const struct option run_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"verbose", no_argument, NULL, 'v'},
	{"profile", required_argument, NULL, 'p'},
	{"set", required_argument, NULL, OPT_SET},
	{"json", no_argument, NULL, OPT_JSON},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"tty", no_argument, NULL, OPT_TTY},
	{"pipe", no_argument, NULL, OPT_PIPE},
	{"name", required_argument, NULL, OPT_NAME},
	{"json-status-fd", required_argument, NULL, OPT_STATUS_FD},
	{"keys", no_argument, NULL, OPT_KEYS},
	{"get", required_argument, NULL, OPT_GET},
	{"register", required_argument, NULL, OPT_REGISTER},
	/* pflask's options, with pflask's short forms */
	{"caps", required_argument, NULL, 'b'},
	{"chroot", required_argument, NULL, 'r'},
	{"chdir", required_argument, NULL, 'c'},
	{"hostname", required_argument, NULL, 't'},
	{"mount", required_argument, NULL, 'm'},
	{"netif", optional_argument, NULL, 'n'},
	{"user", required_argument, NULL, 'u'},
	{"user-map", required_argument, NULL, 'e'},
	{"ephemeral", no_argument, NULL, 'w'},
	{"cgroup", required_argument, NULL, 'g'},
	{"detach", no_argument, NULL, 'd'},
	{"attach", required_argument, NULL, 'a'},
	{"setenv", required_argument, NULL, 's'},
	{"keepenv", no_argument, NULL, 'k'},
	{"no-userns", no_argument, NULL, 'U'},
	{"no-mountns", no_argument, NULL, 'M'},
	{"no-netns", no_argument, NULL, 'N'},
	{"no-ipcns", no_argument, NULL, 'I'},
	{"no-utsns", no_argument, NULL, 'H'},
	{"no-pidns", no_argument, NULL, 'P'},
	{NULL, 0, NULL, 0},
};

/* Options that set one key to a fixed value or to their argument. */
static const struct {
	int opt;
	const char *section, *key, *value; /* value NULL: the argument */
} simple[] = {
	{'r', "root", "directory", NULL},
	{'c', "root", "chdir", NULL},
	{'t', "root", "hostname", NULL},
	{'u', "user", "user", NULL},
	{'e', "user", "map", NULL},
	{'b', "security", "capabilities", NULL},
	{'w', "root", "ephemeral", "yes"},
	{'d', "process", "detach", "yes"},
	{'k', "env", "clear", "no"},
	{'U', "user", "userns", "no"},
	{'M', "namespaces", "mount", "no"},
	{'N', "namespaces", "net", "no"},
	{'I', "namespaces", "ipc", "no"},
	{'H', "namespaces", "uts", "no"},
	{'P', "namespaces", "pid", "no"},
	{OPT_TTY, "process", "tty", "yes"},
	{OPT_PIPE, "process", "tty", "no"},
	{OPT_NAME, "process", "name", NULL},
	{OPT_REGISTER, "process", "register", NULL},
};

static const char run_usage[] =
	"usage: nsbox run [OPTIONS] [--] [COMMAND [ARG...]]\n"
	"       nsbox show [--json | --get=SECTION.KEY] [OPTIONS]\n"
	"\n"
	"  -p, --profile=NAME|PATH   load a profile (repeatable; later ones win)\n"
	"      --set=SECTION.KEY=VALUE  override any profile key\n"
	"  -r, --chroot=DIR          use DIR as the root\n"
	"  -w, --ephemeral           discard changes to the root on exit\n"
	"  -m, --mount=TYPE:SPEC     bind:SRC:DEST bind-ro:SRC:DEST tmp:DEST\n"
	"                            overlay:DIR:DEST:WORK\n"
	"  -n, --netif[=SPEC]        private network; DEV:NAME veth:OUT:IN\n"
	"                            macvlan:MASTER:NAME ipvlan:MASTER:NAME\n"
	"  -u, --user=USER           run as USER (from the root's /etc/passwd)\n"
	"  -e, --user-map=IN:OUT:N   map ids into a user namespace\n"
	"  -c, --chdir=DIR           working directory inside the container\n"
	"  -t, --hostname=NAME       hostname inside the container\n"
	"  -g, --cgroup=CONTROLLER[,CONTROLLER...]\n"
	"  -b, --caps=[+-]CAP[,...]  add or drop capabilities\n"
	"  -s, --setenv=NAME=VALUE   set a variable (repeatable)\n"
	"  -k, --keepenv             keep the caller's environment\n"
	"      --tty                 give the container a pty even without a terminal\n"
	"      --pipe                no pty: pass stdin, stdout and stderr through\n"
	"      --name=NAME           the container's name (nsbox ps, stop, kill)\n"
	"      --register=yes|no     register with systemd-machined (default: when\n"
	"                            it runs and nsbox runs as root)\n"
	"      --json-status-fd=FD   JSON lines on FD: the start (pid, name), the end\n"
	"                            (exit code, and whether nsbox or the command failed)\n"
	"  -d, --detach              detach from the terminal\n"
	"  -a, --attach=PID          attach to a detached container\n"
	"  -U, -M, -N, -I, -H, -P    --no-userns --no-mountns --no-netns\n"
	"                            --no-ipcns --no-utsns --no-pidns\n"
	"      --dry-run             print the plan and the steps, run nothing\n"
	"  -v, --verbose             trace each step\n"
	"      --json                (show) print the plan as JSON\n"
	"      --keys                (show) list every SECTION.KEY of the profile format\n"
	"      --get=SECTION.KEY     (show) print that key's value in the plan alone\n";

static void
add(struct overrides *o, const char *section, const char *key, const char *value)
{
	layer_add(&o->layer, section, key, value, CL);
}

static int
opt_mount(struct overrides *o, const char *arg, struct nsbox_err *err)
{
	static const char *const types[] = {"bind", "bind-ro", "tmp", "overlay"};
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *type = NULL;

	/* --mount= (empty) clears the mount list, as an empty key does. */
	if (!*arg) {
		add(o, "mount", "bind", "");
		return 0;
	}
	type = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (streq(type, types[i])) {
			add(o, "mount", type, colon ? colon + 1 : "");
			return colon ? 0
				     : nsbox_error(err, 0, CL ": --mount: %s needs a spec", type);
		}
	}
	return nsbox_error(err, 0,
			   CL ": --mount: unknown mount type '%.64s' (expected bind, bind-ro, "
			      "tmp or overlay)",
			   type);
}

static int
opt_set(struct overrides *o, const char *arg, struct nsbox_err *err)
{
	const char *eq = strchr(arg, '='), *dot = strchr(arg, '.');
	_cleanup_free_ char *section = NULL, *key = NULL;

	if (!eq || !dot || dot > eq || dot == arg)
		return nsbox_error(err, 0, CL ": --set: expected SECTION.KEY=VALUE");
	section = xstrndup(arg, (size_t)(dot - arg));
	key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
	add(o, section, key, eq + 1);
	return 0;
}

static int
opt_setenv(struct overrides *o, const char *arg, struct nsbox_err *err)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = NULL;

	/* One variable per option, so that values may hold commas. */
	if (!*arg) {
		add(o, "env", "", "");
		return 0;
	}
	if (!eq || eq == arg)
		return nsbox_error(err, 0, CL ": --setenv: expected NAME=VALUE");
	key = xstrndup(arg, (size_t)(eq - arg));
	if (streq(key, "clear"))
		return nsbox_error(err, 0, CL ": --setenv: 'clear' is reserved; use --keepenv");
	add(o, "env", key, eq + 1);
	return 0;
}

static void
opt_cgroup(struct overrides *o, const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *save = NULL;

	if (!*arg)
		add(o, "limits", "cgroup", "");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		add(o, "limits", "cgroup", t);
}

static int
opt_attach(struct overrides *o, const char *arg, struct nsbox_err *err)
{
	uint64_t pid;

	if (value_uint(arg, 1, 4194304, &pid))
		return nsbox_error(err, 0, CL ": --attach: expected a process id");
	o->attach = (long)pid;
	return 0;
}

/* --status-map=FROM:TO, both statuses from 0 to 255 */
static int
opt_status_map(struct overrides *o, const char *arg, struct nsbox_err *err)
{
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *from = colon ? xstrndup(arg, (size_t)(colon - arg)) : NULL;
	uint64_t a, b;

	if (!colon || value_uint(from, 0, 255, &a) || value_uint(colon + 1, 0, 255, &b))
		return nsbox_error(err, 0,
				   CL ": --status-map: expected FROM:TO, statuses from 0 to 255");
	o->status_map[a] = (unsigned char)b;
	return 0;
}

static int
opt_simple(struct overrides *o, int c, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
		if (simple[i].opt == c) {
			add(o, simple[i].section, simple[i].key,
			    simple[i].value ? simple[i].value : arg);
			return 0;
		}
	}
	return -1;
}

static int
handle(struct overrides *o, int c, const char *arg, struct nsbox_err *err)
{
	switch (c) {
	case 'h':
		o->help = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'p':
		strv_push(&o->profiles, arg);
		return 0;
	case OPT_SET:
		return opt_set(o, arg, err);
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_ALL:
		o->all = true;
		return 0;
	case OPT_KEYS:
		o->keys = true;
		return 0;
	case OPT_GET:
		o->get = arg;
		return 0;
	case OPT_STATUS_FD: {
		uint64_t fd;

		if (value_uint(arg, 0, 1 << 20, &fd) || fcntl((int)fd, F_GETFD) < 0)
			return nsbox_error(
				err, 0,
				CL ": --json-status-fd: %.32s is not an open file descriptor", arg);
		o->status_fd = (int)fd;
		return 0;
	}
	case OPT_FAILURE_STATUS: {
		uint64_t v;

		if (value_uint(arg, 1, 255, &v))
			return nsbox_error(
				err, 0, CL ": --failure-status: expected a status from 1 to 255");
		o->failure_status = (int)v;
		return 0;
	}
	case OPT_STATUS_MAP:
		return opt_status_map(o, arg, err);
	case OPT_KILL_LEFTOVERS:
		o->kill_leftovers = true;
		return 0;
	case OPT_IGNORE:
		o->ignore = true;
		return 0;
	case OPT_DAYS: {
		uint64_t d;

		if (value_uint(arg, 0, 36500, &d))
			return nsbox_error(err, 0, CL ": --days: expected a number of days");
		o->days = (unsigned)d;
		return 0;
	}
	case 'm':
		return opt_mount(o, arg, err);
	case 'n':
		add(o, "namespaces", "net", "yes");
		if (arg)
			add(o, "network", "netif", arg);
		return 0;
	case 'g':
		opt_cgroup(o, arg);
		return 0;
	case 'a':
		return opt_attach(o, arg, err);
	case 's':
		return opt_setenv(o, arg, err);
	}
	if (opt_simple(o, c, arg) == 0)
		return 0;
	return nsbox_error(err, 0, CL ": internal error: unhandled option %d", c);
}

/* The long option closest to what was typed, for a hint; NULL if none is
 * close. */
static const char *
closest(const struct option *opts, const char *typed)
{
	size_t n = strcspn(typed, "=");
	_cleanup_free_ char *word = xstrndup(typed, n);
	const char *best = NULL;
	unsigned bd = 3; /* at most two edits away */

	for (size_t i = 0; opts[i].name; i++) {
		unsigned d = edit_distance(word, opts[i].name);

		if (d < bd) {
			bd = d;
			best = opts[i].name;
		}
	}
	return best;
}

static int
bad_option(char **argv, int c, const struct option *opts, struct nsbox_err *err)
{
	const char *what = argv[optind - 1], *hint;

	if (c == ':')
		return nsbox_error(err, 0, CL ": option '%.64s' needs a value", what);
	if (optopt && optopt != '?')
		return nsbox_error(err, 0, CL ": unknown option '-%c' (see --help)", optopt);
	if (startswith(what, "--") && (hint = closest(opts, what + 2)))
		return nsbox_error(err, 0, CL ": unknown option '%.64s' (did you mean --%s?)", what,
				   hint);
	return nsbox_error(err, 0, CL ": unknown option '%.64s' (see --help)", what);
}

/* cache's words: list, prune, dir, or id TARBALL */
static int
cache_args(int *argc, char **argv, struct nsbox_err *err)
{
	if (!(optind + 1 == *argc && (streq(argv[optind], "list") || streq(argv[optind], "prune") ||
				      streq(argv[optind], "dir"))) &&
	    !(optind + 2 == *argc && streq(argv[optind], "id")))
		return nsbox_error(err, 0,
				   CL ": nsbox cache: expected list, prune, dir or id TARBALL");
	return 0;
}

/* NAME -- COMMAND: the "--" is not the command */
static int
exec_args(int *argc, char **argv, struct nsbox_err *err)
{
	(void)err;
	if (optind < *argc && optind + 1 < *argc && streq(argv[optind + 1], "--")) {
		memmove(argv + optind + 1, argv + optind + 2,
			(size_t)(*argc - optind - 2) * sizeof(*argv));
		(*argc)--;
	}
	return 0;
}

/* How one subcommand's command line is read. */
struct syntax {
	const char *usage;
	const char *shortopts; /* '+': stop at the command; ':': report missing values */
	const struct option *opts;
	int min_args, max_args; /* -1: any; 0: "unexpected argument", else the usage */
	int refused[3];         /* of opts, those for another command (run and show share) */
	int (*args)(int *argc, char **argv, struct nsbox_err *err); /* before the count */
};

#define RUN_SHORT "+:hvp:b:r:c:t:m:n::u:e:wg:da:s:kUMNIHP"

static const struct option none_opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
static const struct option gc_opts[] = {{"help", no_argument, NULL, 'h'},
					{"dry-run", no_argument, NULL, OPT_DRY_RUN},
					{NULL, 0, NULL, 0}};
static const struct option ps_opts[] = {{"help", no_argument, NULL, 'h'},
					{"json", no_argument, NULL, OPT_JSON},
					{NULL, 0, NULL, 0}};
static const struct option cache_opts[] = {{"help", no_argument, NULL, 'h'},
					   {"dry-run", no_argument, NULL, OPT_DRY_RUN},
					   {"days", required_argument, NULL, OPT_DAYS},
					   {"all", no_argument, NULL, OPT_ALL},
					   {NULL, 0, NULL, 0}};

const struct syntax syntax_run = {
	run_usage, RUN_SHORT, run_opts, 0, -1, {OPT_JSON, OPT_KEYS, OPT_GET}, NULL};
const struct syntax syntax_show = {run_usage, RUN_SHORT, run_opts, 0, 0, {OPT_DRY_RUN}, NULL};
const struct syntax syntax_check = {
	"usage: nsbox check [NAME|PATH...]\n", "+:h", none_opts, 0, -1, {0}, NULL};
const struct syntax syntax_list = {"usage: nsbox list\n", "+:h", none_opts, 0, 0, {0}, NULL};
/* no '+': nsbox cache prune --all */
const struct syntax syntax_cache = {
	"usage: nsbox cache list\n"
	"       nsbox cache prune [--days=N] [--all] [--dry-run]\n"
	"       nsbox cache id TARBALL\n"
	"       nsbox cache dir\n"
	"\n"
	"  list    the cached trees of tarball roots: size, last use, state\n"
	"  prune   remove those not in use whose tarball changed or is gone,\n"
	"          or that were not used for N days (default 30)\n"
	"      --days=N              the age limit of prune\n"
	"      --all                 remove every entry not in use\n"
	"      --dry-run             only say what would go\n"
	"  id      the SHA-256 of a tarball (from the cache when it knows it)\n"
	"  dir     the caller's cache directory\n",
	":h",
	cache_opts,
	0,
	-1,
	{0},
	cache_args};
const struct syntax syntax_ps = {
	"usage: nsbox ps [--json]\n"
	"\n"
	"  the caller's running containers: name, profile, pid, uptime, root,\n"
	"  cgroup; with --json, their state as a JSON array\n",
	"+:h",
	ps_opts,
	0,
	0,
	{0},
	NULL};
static const struct option stop_opts[] = {{"help", no_argument, NULL, 'h'},
					  {"ignore", no_argument, NULL, OPT_IGNORE},
					  {NULL, 0, NULL, 0}};
static const struct option exec_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"failure-status", required_argument, NULL, OPT_FAILURE_STATUS},
	{"status-map", required_argument, NULL, OPT_STATUS_MAP},
	{"kill-leftovers", no_argument, NULL, OPT_KILL_LEFTOVERS},
	{NULL, 0, NULL, 0}};

const struct syntax syntax_stop = {
	"usage: nsbox stop [--ignore] NAME|ID|PID\n"
	"\n"
	"  SIGTERM, and SIGKILL after the container's process.grace; returns\n"
	"  once it is gone\n"
	"      --ignore              a container that is not running is no error\n",
	"+:h",
	stop_opts,
	1,
	1,
	{0},
	NULL};
const struct syntax syntax_kill = {
	"usage: nsbox kill NAME|ID|PID SIGNAL\n"
	"\n"
	"  send SIGNAL (a number, TERM or SIGTERM) to the container's first "
	"process\n",
	"+:h",
	none_opts,
	2,
	2,
	{0},
	NULL};
const struct syntax syntax_exec = {
	"usage: nsbox exec [OPTIONS] NAME|ID|PID [--] COMMAND [ARG...]\n"
	"\n"
	"  run COMMAND in a running container: its namespaces, root, cwd,\n"
	"  cgroups, and the uid, capabilities and environment of its command\n"
	"      --failure-status=N    exit N, not 125, when nsbox itself fails\n"
	"      --status-map=FROM:TO  exit TO when the command exits FROM\n"
	"                            (repeatable)\n"
	"      --kill-leftovers      when the command returns, kill every process\n"
	"                            it left in the container\n",
	"+:h",
	exec_opts,
	2,
	-1,
	{0},
	exec_args};
const struct syntax syntax_stats = {"usage: nsbox stats NAME|ID|PID\n"
				    "\n"
				    "  memory, pids and CPU time from the container's cgroups\n",
				    "+:h",
				    none_opts,
				    1,
				    1,
				    {0},
				    NULL};
const struct syntax syntax_pause = {
	"usage: nsbox pause NAME|ID|PID\n"
	"       nsbox resume NAME|ID|PID\n"
	"\n"
	"  freeze or thaw every process of the container (its freezer cgroup)\n",
	"+:h",
	none_opts,
	1,
	1,
	{0},
	NULL};
const struct syntax syntax_attach = {
	"usage: nsbox attach NAME|ID|PID\n"
	"\n"
	"  the terminal of a container started with --detach; Ctrl-@ detaches\n",
	"+:h",
	none_opts,
	1,
	1,
	{0},
	NULL};
const struct syntax syntax_gc = {"usage: nsbox gc [--dry-run]\n"
				 "\n"
				 "  remove what runs killed with SIGKILL left behind\n"
				 "      --dry-run             only list it\n",
				 "+:h",
				 gc_opts,
				 0,
				 0,
				 {0},
				 NULL};

const char *
options_usage(const struct syntax *s)
{
	return s->usage;
}

/* An option of run's set that belongs to another command. */
static int
refused(const struct syntax *s, int c, const char *what, struct nsbox_err *err)
{
	static const struct {
		int opt;
		const char *cmds;
	} only[] = {{OPT_JSON, "show and ps"},
		    {OPT_KEYS, "show"},
		    {OPT_GET, "show"},
		    {OPT_DRY_RUN, "run, gc and cache"}};

	for (size_t i = 0; c && i < ARRAY_SIZE(s->refused); i++)
		for (size_t j = 0; s->refused[i] == c && j < ARRAY_SIZE(only); j++)
			if (only[j].opt == c)
				return nsbox_error(err, 0, CL ": option '%s' is only for nsbox %s",
						   what, only[j].cmds);
	return 0;
}

int
options_parse(const struct syntax *s, int argc, char **argv, struct overrides *o,
	      struct nsbox_err *err)
{
	int c, n;

	memset(o, 0, sizeof(*o));
	o->days = 30;
	o->status_fd = -1;
	o->failure_status = 125;
	for (int i = 0; i < 256; i++)
		o->status_map[i] = (unsigned char)i;
	optind = 0; /* glibc: reinitialise, so tests can parse more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, s->shortopts, s->opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(argv, c, s->opts, err);
		if (refused(s, c, argv[optind - 1], err) < 0 || handle(o, c, optarg, err) < 0)
			return -1;
	}
	if (s->args && s->args(&argc, argv, err) < 0)
		return -1;
	n = argc - optind;
	if (s->max_args == 0 && n > 0)
		return nsbox_error(err, 0, CL ": unexpected argument '%.64s'", argv[optind]);
	if (n < s->min_args || (s->max_args >= 0 && n > s->max_args))
		return nsbox_error(err, 0, CL ": %s", s->usage + strlen("usage: "));
	for (int i = optind; i < argc; i++)
		strv_push(&o->args, argv[i]);
	return 0;
}

void
overrides_free(struct overrides *o)
{
	strv_free(o->profiles);
	strv_free(o->args);
	layer_free(&o->layer);
	memset(o, 0, sizeof(*o));
}

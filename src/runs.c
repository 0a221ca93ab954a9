/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "runs.h"
#include "util.h"

/* One live run: its lock held by the nsbox that runs it. */
struct run {
	char *id, *state; /* state.json's text */
	int lockfd;
};

/* The string or number after "key": in state.json (top-level keys come
 * before the plan, so the first match is theirs). */
static char *
field(const char *json, const char *key)
{
	_cleanup_free_ char *pat = xasprintf("\"%s\": ", key);
	const char *p = strstr(json, pat), *e;

	if (!p)
		return NULL;
	p += strlen(pat);
	if (*p != '"')
		return xstrndup(p, strcspn(p, ",}]"));
	for (e = ++p; *e && *e != '"'; e++)
		if (*e == '\\' && e[1])
			e++;
	return xstrndup(p, (size_t)(e - p));
}

/* Each live run of the caller's, in turn; fn returns nonzero to stop. */
static int
each_run(int (*fn)(struct run *r, void *arg), void *arg, struct nsbox_err *err)
{
	_cleanup_free_ char *dir = exec_statedir(err);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (!dir)
		return -1;
	if (!(d = opendir(dir)))
		return nsbox_error(err, errno, "%s", dir);
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *lock = NULL, *state = NULL;
		struct run r = {.lockfd = -1};
		const char *why;
		size_t len;
		int fd;

		if (n <= 5 || !streq(de->d_name + n - 5, ".lock"))
			continue;
		lock = xasprintf("%s/%s", dir, de->d_name);
		r.lockfd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (r.lockfd < 0 || flock(r.lockfd, LOCK_SH | LOCK_NB) == 0) {
			if (r.lockfd >= 0)
				close(r.lockfd);
			continue; /* not running */
		}
		state = xasprintf("%s/%.*s/state.json", dir, (int)(n - 5), de->d_name);
		fd = open(state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || read_regular_file(fd, 1 << 20, &r.state, &len, &why) < 0) {
			if (fd >= 0)
				close(fd);
			close(r.lockfd);
			continue; /* still starting */
		}
		close(fd);
		r.id = xstrndup(de->d_name, n - 5);
		rc = fn(&r, arg);
		free(r.id);
		free(r.state);
		close(r.lockfd);
	}
	closedir(d);
	return rc < 0 ? -1 : rc;
}

struct ps {
	FILE *out;
	bool json;
	int n;
};

static int
ps_one(struct run *r, void *arg)
{
	struct ps *ps = arg;
	_cleanup_free_ char *name = field(r->state, "name"), *prof = field(r->state, "profile");
	_cleanup_free_ char *pid = field(r->state, "pid"), *start = field(r->state, "started");
	_cleanup_free_ char *root = field(r->state, "root");
	const char *cg = strstr(r->state, "\"cgroups\": [\"");
	long up = start ? (long)(time(NULL) - strtoll(start, NULL, 10)) : 0;
	char upt[32], cgroup[512] = "-";

	if (ps->json) {
		fprintf(ps->out, "%s%s", ps->n ? ",\n" : "", r->state);
		/* state.json ends with a newline */
		ps->n++;
		return 0;
	}
	snprintf(upt, sizeof(upt), "%ld:%02ld:%02ld", up / 3600, up / 60 % 60, up % 60);
	if (cg)
		snprintf(cgroup, sizeof(cgroup), "%.*s", (int)strcspn(cg + 13, "\""), cg + 13);
	fprintf(ps->out, "%-24s %-16s %8s %9s  %-24s %s\n", name ? name : "?",
		prof && !streq(prof, "null") ? prof : "-", pid ? pid : "?", upt,
		root && !streq(root, "null") ? root : "/", cgroup);
	ps->n++;
	return 0;
}

int
runs_ps(FILE *out, bool json, struct nsbox_err *err)
{
	struct ps ps = {out, json, 0};

	if (json)
		fputs("[", out);
	else
		fprintf(out, "%-24s %-16s %8s %9s  %-24s %s\n", "NAME", "PROFILE", "PID", "UPTIME",
			"ROOT", "CGROUP");
	if (each_run(ps_one, &ps, err) < 0)
		return -1;
	if (json)
		fputs("]\n", out);
	return 0;
}

struct find {
	const char *what;
	pid_t nsbox, pid;
	char *name;
};

static int
find_one(struct run *r, void *arg)
{
	struct find *f = arg;
	_cleanup_free_ char *name = field(r->state, "name"), *pid = field(r->state, "pid");
	_cleanup_free_ char *np = field(r->state, "nsbox_pid");

	if (!name || !pid || !np ||
	    !(streq(f->what, name) || streq(f->what, r->id) || streq(f->what, pid)))
		return 0;
	f->pid = (pid_t)atoi(pid);
	f->nsbox = (pid_t)atoi(np);
	f->name = steal_ptr(&name);
	return 1;
}

static int
find(struct find *f, const char *cmd, struct nsbox_err *err)
{
	int rc = each_run(find_one, f, err);

	if (rc < 0)
		return -1;
	if (rc == 0 || f->pid <= 0 || f->nsbox <= 0)
		return nsbox_error(err, 0,
				   "command line: nsbox %s: no running container named '%.64s' "
				   "(see nsbox ps)",
				   cmd, f->what);
	return 0;
}

int
runs_stop(const char *what, struct nsbox_err *err)
{
	struct find f = {.what = what};
	struct timespec tick = {0, 50 * 1000 * 1000};

	if (find(&f, "stop", err) < 0)
		return -1;
	if (kill(f.nsbox, SIGTERM) < 0) {
		nsbox_error(err, errno, "nsbox stop: %s", f.name);
		free(f.name);
		return -1;
	}
	/* gone when its process is; the grace period bounds the wait */
	while (kill(f.nsbox, 0) == 0)
		nanosleep(&tick, NULL);
	free(f.name);
	return 0;
}

int
runs_kill(const char *what, const char *sig, struct nsbox_err *err)
{
	struct find f = {.what = what};
	const char *s = startswith(sig, "SIG") ? sig + 3 : sig;
	unsigned long long num;
	int signo = 0;

	if (parse_u64(sig, NSIG - 1, &num) == 0 && num > 0) {
		signo = (int)num;
	} else {
		for (int i = 1; i < NSIG && !signo; i++)
			if (sigabbrev_np(i) && streq(sigabbrev_np(i), s))
				signo = i;
	}
	if (!signo)
		return nsbox_error(err, 0, "command line: nsbox kill: unknown signal '%.32s'", sig);
	if (find(&f, "kill", err) < 0)
		return -1;
	if (kill(f.pid, signo) < 0)
		nsbox_error(err, errno, "nsbox kill: %s", f.name);
	free(f.name);
	return err->msg[0] ? -1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "machined.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Where a controller lives for this process: the directory of its own
 * cgroup in the hierarchy that has it. */
struct where {
	char *dir;
	bool v2;
};

static int
write_text(const char *dir, const char *file, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

char *
cgroup_read(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Whether the space- or comma-separated list has the word. */
static bool
has_word(const char *list, const char *w, const char *sep)
{
	size_t n = strlen(w);

	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, sep);

		if (k == n && strncmp(p, w, n) == 0)
			return true;
		p += k;
		p += strspn(p, sep);
	}
	return false;
}

/* The mount point of the cgroup hierarchy with controller c (NULL: the
 * unified one), from mountinfo, and the root it shows. */
static bool
find_mount(const char *c, char **mnt, char **root)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		char *fields[6] = {0}, *save = NULL, *t, *dash = strstr(line, " - ");
		char type[32], src[256], opts[1024] = "";
		int i = 0;

		if (!dash || sscanf(dash + 3, "%31s %255s %1023s", type, src, opts) < 2)
			continue;
		*dash = '\0';
		for (t = strtok_r(line, " ", &save); t && i < 6; t = strtok_r(NULL, " ", &save))
			fields[i++] = t;
		if (i < 5)
			continue;
		if ((!c && streq(type, "cgroup2")) ||
		    (c && streq(type, "cgroup") && has_word(opts, c, ","))) {
			*mnt = xstrdup(fields[4]);
			*root = xstrdup(fields[3]);
			return true;
		}
	}
	return false;
}

/* This process's cgroup in the hierarchy of controller c (NULL: unified). */
static char *
own_path(const char *c)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		if (!b)
			continue;
		*b = '\0';
		b[1 + strcspn(b + 1, "\n")] = '\0';
		if ((!c && streq(a + 1, "")) || (c && has_word(a + 1, c, ",")))
			return xstrdup(b + 1);
	}
	return NULL;
}

static bool
locate(const struct cgroups *cg, const char *c, bool v2, struct where *w)
{
	_cleanup_free_ char *mnt = NULL, *root = NULL, *path = NULL;
	const char *rel;

	if (v2 && cg->base) { /* the scope systemd delegated to the run */
		w->dir = xstrdup(cg->base);
		w->v2 = true;
		goto have;
	}
	if (!find_mount(v2 ? NULL : c, &mnt, &root) || !(path = own_path(v2 ? NULL : c)))
		return false;
	/* a mount of a subtree (in a container) shows paths below its root */
	rel = path;
	if (!streq(root, "/") && startswith(path, root))
		rel = path + strlen(root);
	w->dir = xasprintf("%s%s", mnt, streq(rel, "/") ? "" : rel);
	w->v2 = v2;
have:
	if (v2 && c) { /* c NULL: the unified hierarchy, with or without controllers */
		_cleanup_free_ char *have = cgroup_read(w->dir, "cgroup.controllers");

		if (!have || !has_word(have, c, " \n")) {
			free(w->dir);
			return false;
		}
	}
	return true;
}

static int
add_dir(struct cgroups *cg, const struct where *w, const char *id, struct nsbox_err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/nsbox-%s", w->dir, id);

	for (size_t i = 0; i < cg->n; i++)
		if (streq(cg->dir[i], dir))
			return (int)i;
	if (cg->n == CGROUP_MAX)
		return nsbox_error(err, 0, "too many cgroup hierarchies");
	if (mkdir(dir, 0755) < 0)
		return nsbox_error(err, errno, "cannot make the cgroup %s", dir);
	cg->dir[cg->n] = steal_ptr(&dir);
	cg->v2[cg->n] = w->v2;
	return (int)cg->n++;
}

/* One controller's cgroup: in the unified hierarchy when the caller's
 * cgroup there has it, else in its v1 hierarchy. Returns its index. */
static int
controller(struct cgroups *cg, const char *c, const char *id, const char *origin, const char *key,
	   struct nsbox_err *err)
{
	struct where w = {0};
	int i;

	if (locate(cg, c, true, &w)) {
		_cleanup_free_ char *enabled = cgroup_read(w.dir, "cgroup.subtree_control");
		_cleanup_free_ char *plus = xasprintf("+%s", c);

		/* cgroup v2 gives a child a controller only when its parent has
		 * it in cgroup.subtree_control, which a cgroup with processes of
		 * its own cannot have (unless it is the root). */
		if ((!enabled || !has_word(enabled, c, " \n")) &&
		    write_text(w.dir, "cgroup.subtree_control", plus) < 0) {
			nsbox_error_at(err, origin,
				       "%s: cannot give a child of %s the %s controller (%s); run "
				       "nsbox in a cgroup delegated to it with no other "
				       "processes%s%s",
				       key, w.dir, c, strerror(errno),
				       cg->why ? "; systemd gave none: " : "",
				       cg->why ? cg->why : "");
			free(w.dir);
			return -1;
		}
	} else if (!locate(cg, c, false, &w)) {
		return nsbox_error_at(err, origin, "%s: this system has no %s cgroup controller",
				      key, c);
	}
	i = add_dir(cg, &w, id, err);
	free(w.dir);
	if (i < 0)
		nsbox_error_locate(err, origin);
	return i;
}

static int
limit(const struct cgroups *cg, int i, const char *file, const char *value, const char *origin,
      const char *key, struct nsbox_err *err)
{
	if (write_text(cg->dir[i], file, value) < 0)
		return nsbox_error_at(err, origin, "%s: %s/%s = %s: %s", key, cg->dir[i], file,
				      value, strerror(errno));
	return 0;
}

/* limits.io-weight, where the kernel has a weight to set: v2 io.weight
 * (or io.bfq.weight), else v1 blkio.weight (CFQ's scale, as systemd
 * converts it) or blkio.bfq.weight. Where none is, one warning. */
static int
io_weight(const struct plan_limits *l, const char *id, struct cgroups *cg, struct nsbox_err *err)
{
	const char *o = l->io_weight.origin;
	struct where w = {0};
	char v[32], cfq[32];
	int i;

	if (locate(cg, "io", true, &w)) {
		free(w.dir);
		if ((i = controller(cg, "io", id, o, "limits.io-weight", err)) < 0)
			return -1;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->io_weight.value);
		if (write_text(cg->dir[i], "io.weight", v) == 0 ||
		    write_text(cg->dir[i], "io.bfq.weight", v) == 0)
			return 0;
	} else if (locate(cg, "blkio", false, &w)) {
		free(w.dir);
		if ((i = controller(cg, "blkio", id, o, "limits.io-weight", err)) < 0)
			return -1;
		snprintf(cfq, sizeof(cfq), "%llu",
			 (unsigned long long)(l->io_weight.value * 5 < 10 ? 10
					      : l->io_weight.value * 5 > 1000
						      ? 1000
						      : l->io_weight.value * 5));
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)(l->io_weight.value > 1000 ? 1000
									: l->io_weight.value));
		if (write_text(cg->dir[i], "blkio.weight", cfq) == 0 ||
		    write_text(cg->dir[i], "blkio.bfq.weight", v) == 0)
			return 0;
	}
	fprintf(stderr,
		"nsbox: warning: %s: limits.io-weight: this system has no I/O weight to set (no "
		"io or blkio controller with a weight); ignored\n",
		o);
	return 0;
}

int
cgroup_delegate(struct cgroups *cg, const char *id, struct nsbox_err *err)
{
	struct timespec tick = {0, 2 * 1000 * 1000};
	_cleanup_free_ char *unit = xasprintf("nsbox-%s.scope", id), *sup = NULL;
	struct where w = {0};
	struct statfs sfs;
	char why[512] = "", pid[24];
	int r;

	/* systemd manages the cgroups where it is PID 1 (sd_booted) and the
	 * unified hierarchy is the only one */
	if (cg->base || access("/run/systemd/system/", F_OK) < 0 ||
	    statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
		return 0;
	if ((r = systemd_scope(unit, getpid(), why, sizeof(why))) != 0) {
		cg->why = xstrdup(why); /* the caller's own cgroup, then; said if that fails */
		return 0;
	}
	/* the job moves nsbox: until /proc/self/cgroup shows the scope */
	for (int i = 0;; i++) {
		_cleanup_free_ char *own = own_path(NULL);
		const char *tail = own ? strrchr(own, '/') : NULL;

		if (tail && streq(tail + 1, unit))
			break;
		if (i == 2500)
			return nsbox_error(err, 0,
					   "systemd started %s, but did not put nsbox in it", unit);
		nanosleep(&tick, NULL);
	}
	if (!locate(cg, NULL, true, &w))
		return nsbox_error(err, 0, "%s: not in the cgroup2 hierarchy", unit);
	/* A cgroup with processes of its own gives its children no
	 * controllers: nsbox moves to a leaf, the run's cgroups are others. */
	sup = xasprintf("%s/supervisor", w.dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if ((mkdir(sup, 0755) < 0 && errno != EEXIST) || write_text(sup, "cgroup.procs", pid) < 0) {
		nsbox_error(err, errno, "%s/cgroup.procs", sup);
		free(w.dir);
		return -1;
	}
	cg->base = w.dir;
	cg->unit = steal_ptr(&unit);
	return 1;
}

int
cgroup_setup(const struct plan_limits *l, const char *id, struct cgroups *cg, struct nsbox_err *err)
{
	char v[64];
	int i;

	if (l->memory.value) {
		const char *o = l->memory.origin;

		if ((i = controller(cg, "memory", id, o, "limits.memory", err)) < 0)
			return -1;
		if (l->memory.value == UINT64_MAX)
			snprintf(v, sizeof(v), cg->v2[i] ? "max" : "-1");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory.value);
		if (limit(cg, i, cg->v2[i] ? "memory.max" : "memory.limit_in_bytes", v, o,
			  "limits.memory", err) < 0)
			return -1;
		/* no swap beyond the limit, where swap is accounted */
		if (cg->v2[i])
			write_text(cg->dir[i], "memory.swap.max", "0");
		else
			write_text(cg->dir[i], "memory.memsw.limit_in_bytes", v);
		cg->oom = xasprintf("%s/%s", cg->dir[i],
				    cg->v2[i] ? "memory.events" : "memory.oom_control");
	}
	if (l->pids.value) {
		const char *o = l->pids.origin;

		if ((i = controller(cg, "pids", id, o, "limits.pids", err)) < 0)
			return -1;
		if (l->pids.value == UINT64_MAX)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids.value);
		if (limit(cg, i, "pids.max", v, o, "limits.pids", err) < 0)
			return -1;
	}
	if (l->cpu.value) {
		const char *o = l->cpu.origin;
		char q[32];

		/* milli-CPUs: so much run time per 100 ms period */
		if ((i = controller(cg, "cpu", id, o, "limits.cpu", err)) < 0)
			return -1;
		snprintf(q, sizeof(q), "%llu", (unsigned long long)l->cpu.value * 100);
		if (cg->v2[i]) {
			snprintf(v, sizeof(v), "%s 100000", q);
			if (limit(cg, i, "cpu.max", v, o, "limits.cpu", err) < 0)
				return -1;
		} else if (limit(cg, i, "cpu.cfs_period_us", "100000", o, "limits.cpu", err) < 0 ||
			   limit(cg, i, "cpu.cfs_quota_us", q, o, "limits.cpu", err) < 0) {
			return -1;
		}
	}
	if (l->io_weight.value && io_weight(l, id, cg, err) < 0)
		return -1;
	/* pflask's --cgroup=CONTROLLER: a cgroup of its own, no limit */
	for (size_t k = 0; k < l->n_cgroups; k++) {
		const struct setting_str *c = &l->cgroups[k];
		_cleanup_free_ char *mnt = NULL, *root = NULL;

		if (!*c->value)
			continue;
		/* cgroup v2 has no cpuacct or freezer controller: every cgroup
		 * counts its CPU time (cpu.stat) and can be frozen
		 * (cgroup.freeze). Where no v1 hierarchy has them (a
		 * cgroup-v2-only host), the run's unified cgroup is theirs. */
		if ((streq(c->value, "cpuacct") || streq(c->value, "freezer")) &&
		    !find_mount(c->value, &mnt, &root)) {
			if (cgroup_unified(cg, id, err) < 0) {
				nsbox_error_locate(err, c->origin);
				return -1;
			}
			continue;
		}
		if (controller(cg, c->value, id, c->origin, "limits.cgroup", err) < 0)
			return -1;
	}
	return 0;
}

int
cgroup_unified(struct cgroups *cg, const char *id, struct nsbox_err *err)
{
	struct where w = {0};
	int i;

	if (!locate(cg, NULL, true, &w))
		return nsbox_error(err, 0, "no cgroup2 hierarchy is mounted");
	i = add_dir(cg, &w, id, err);
	free(w.dir);
	return i;
}

int
cgroup_attach(const struct cgroups *cg, pid_t pid, struct nsbox_err *err)
{
	char v[24];

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++)
		if (write_text(cg->dir[i], "cgroup.procs", v) < 0)
			return nsbox_error(err, errno, "%s/cgroup.procs", cg->dir[i]);
	return 0;
}

bool
cgroup_oom(const struct cgroups *cg)
{
	_cleanup_free_ char *text = NULL;
	const char *k;

	if (!cg->oom) {
		return false;
	}
	{
		_cleanup_free_ char *d = xstrdup(cg->oom);
		char *slash = strrchr(d, '/');

		*slash = '\0';
		text = cgroup_read(d, slash + 1);
	}
	k = text ? strstr(text, "oom_kill ") : NULL;
	return k && strtoull(k + 9, NULL, 10) > 0;
}

/* The cgroups an init in the container made below dir, deepest first. */
static void
remove_below(const char *dir, int depth)
{
	DIR *d = depth < 64 ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		remove_below(sub, depth + 1);
		rmdir(sub);
	}
	if (d)
		closedir(d);
}

int
cgroup_remove(const char *dir)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	/* v1's freezer stops every process of the cgroup first, so none
	 * forks while they are killed one by one; SIGKILL acts on thaw. */
	bool frozen = write_text(dir, "freezer.state", "FROZEN") == 0;

	for (int i = 0; frozen && i < 100; i++) {
		_cleanup_free_ char *state = cgroup_read(dir, "freezer.state");

		if (!state || startswith(state, "FROZEN"))
			break;
		nanosleep(&tick, NULL);
	}
	/* cgroup.kill (v2, Linux 5.14) kills all at once; else one by one */
	if (write_text(dir, "cgroup.kill", "1") < 0) {
		_cleanup_free_ char *procs = cgroup_read(dir, "cgroup.procs");

		for (char *p = procs; p && *p; p += strcspn(p, "\n"), p += *p == '\n') {
			long pid = strtol(p, NULL, 10);

			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
	}
	if (frozen)
		write_text(dir, "freezer.state", "THAWED");
	/* the kernel removes a cgroup only once its last process is gone */
	for (int i = 0; i < 200; i++) {
		remove_below(dir, 0);
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&tick, NULL);
	}
	return -1;
}

void
cgroup_teardown(struct cgroups *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (cgroup_remove(cg->dir[i]) < 0)
			fprintf(stderr, "nsbox: cannot remove the cgroup %s: %s\n", cg->dir[i],
				strerror(errno));
		free(cg->dir[i]);
	}
	free(cg->oom);
	free(cg->base);
	free(cg->unit);
	free(cg->why);
	memset(cg, 0, sizeof(*cg));
}

int
cgroup_track(struct cgroups *cg, const char *id, struct nsbox_err *err)
{
	struct where w = {0};
	int i;

	if (!locate(cg, NULL, true, &w) && !locate(cg, "freezer", false, &w))
		return nsbox_error(err, ENOENT, "neither cgroup2 nor the v1 freezer is mounted");
	i = add_dir(cg, &w, id, err);
	free(w.dir);
	return i;
}

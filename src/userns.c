/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "plan.h"
#include "userns.h"
#include "util.h"

#ifndef NEWUIDMAP
#define NEWUIDMAP "/usr/bin/newuidmap"
#endif
#ifndef NEWGIDMAP
#define NEWGIDMAP "/usr/bin/newgidmap"
#endif

/* Root's range when /etc/subuid delegates none to root: high enough to be
 * clear of the ranges useradd hands out (from 100000 upwards). */
#define ROOT_RANGE_START 0x70000000U
#define RANGE_COUNT      65536U

size_t
subid_read(FILE *f, const char *name, unsigned long id, struct idmap *out, size_t max)
{
	char line[512];
	size_t n = 0;

	while (f && n < max && fgets(line, sizeof(line), f)) {
		char *save = NULL, *who = strtok_r(line, ":\n", &save);
		char *start = strtok_r(NULL, ":\n", &save), *count = strtok_r(NULL, ":\n", &save);
		unsigned long long s, c, u;

		if (!who || !start || !count || *who == '#')
			continue;
		if (!(name && streq(who, name)) &&
		    !(parse_u64(who, UINT32_MAX, &u) == 0 && u == id))
			continue;
		if (parse_u64(start, UINT32_MAX, &s) < 0 || parse_u64(count, UINT32_MAX, &c) < 0 ||
		    c == 0 || s + c > (unsigned long long)UINT32_MAX + 1)
			continue;
		out[n++] =
			(struct idmap){.inside = 0, .outside = (uint32_t)s, .count = (uint32_t)c};
	}
	return n;
}

/* May the caller map these host ids? Its own id, or inside a range. */
static bool
delegated(const struct idmap *e, unsigned long self, const struct idmap *r, size_t n)
{
	uint64_t lo = e->outside, hi = (uint64_t)e->outside + e->count;

	if (e->count == 1 && e->outside == self)
		return true;
	for (size_t i = 0; i < n; i++)
		if (lo >= r[i].outside && hi <= (uint64_t)r[i].outside + r[i].count)
			return true;
	return false;
}

static int
check_delegated(const struct idmap *m, size_t n, unsigned long self, const char *name, FILE *sub,
		const char *file, const char *what, struct nsbox_err *err)
{
	struct idmap r[64];
	size_t nr = subid_read(sub, name, self, r, ARRAY_SIZE(r));

	for (size_t i = 0; i < n; i++)
		if (!delegated(&m[i], self, r, nr))
			return nsbox_error_at(
				err, m[i].origin,
				"user.map: host %ss %u-%u are not delegated to %s (%s)", what,
				m[i].outside, m[i].outside + m[i].count - 1, name, file);
	return 0;
}

bool
idmaps_host_mapped(const struct idmap *m, size_t n, unsigned long self)
{
	for (size_t i = 0; i < n; i++)
		if (self >= m[i].outside && self - m[i].outside < m[i].count)
			return true;
	return false;
}

/* Only the caller's own id, once: the kernel takes it without a helper. */
static bool
self_only(const struct idmap *m, size_t n, unsigned long self)
{
	return n == 1 && m[0].count == 1 && m[0].outside == self;
}

static size_t
default_map(struct idmap *out, unsigned long self, FILE *sub, const char *name, bool root)
{
	struct idmap r[1];

	if (root) {
		out[0] = (struct idmap){0, ROOT_RANGE_START, RANGE_COUNT, "default"};
		if (subid_read(sub, name, 0, r, 1) == 1) {
			out[0].outside = r[0].outside;
			out[0].count = r[0].count < RANGE_COUNT ? r[0].count : RANGE_COUNT;
		}
		return 1;
	}
	out[0] = (struct idmap){0, (uint32_t)self, 1, "default"};
	/* The caller's delegated range as ids 1..N, when the helpers exist:
	 * then --user=NAME works inside, as with podman. */
	if (subid_read(sub, name, self, r, 1) == 1 && access(NEWUIDMAP, X_OK) == 0 &&
	    access(NEWGIDMAP, X_OK) == 0) {
		out[1] = (struct idmap){1, r[0].outside,
					r[0].count < RANGE_COUNT - 1 ? r[0].count : RANGE_COUNT - 1,
					"default"};
		return 2;
	}
	return 1;
}

int
idmaps_build(const struct plan_user *u, uid_t uid, gid_t gid, const char *name, FILE *subuid,
	     FILE *subgid, struct idmaps *m, struct nsbox_err *err)
{
	bool root = uid == 0;

	*m = (struct idmaps){0};
	if (u->n_uid_map || u->n_gid_map) {
		m->uid = xcalloc(u->n_uid_map, sizeof(*m->uid));
		m->gid = xcalloc(u->n_gid_map, sizeof(*m->gid));
		memcpy(m->uid, u->uid_map, u->n_uid_map * sizeof(*m->uid));
		memcpy(m->gid, u->gid_map, u->n_gid_map * sizeof(*m->gid));
		m->n_uid = u->n_uid_map;
		m->n_gid = u->n_gid_map;
		if (!root && (check_delegated(m->uid, m->n_uid, uid, name, subuid, "/etc/subuid",
					      "uid", err) < 0 ||
			      check_delegated(m->gid, m->n_gid, gid, name, subgid, "/etc/subgid",
					      "gid", err) < 0)) {
			idmaps_clear(m);
			return -1;
		}
	} else {
		m->uid = xcalloc(2, sizeof(*m->uid));
		m->gid = xcalloc(2, sizeof(*m->gid));
		m->n_uid = default_map(m->uid, uid, subuid, name, root);
		m->n_gid = default_map(m->gid, gid, subgid, name, root);
		if (m->n_uid != m->n_gid) /* both ranges, or neither */
			m->n_uid = m->n_gid = 1;
	}
	m->caller_mapped = root || (idmaps_host_mapped(m->uid, m->n_uid, uid) &&
				    idmaps_host_mapped(m->gid, m->n_gid, gid));
	if (!root) {
		m->helper = !self_only(m->uid, m->n_uid, uid) || !self_only(m->gid, m->n_gid, gid);
		m->deny_setgroups = !m->helper;
	}
	m->root_uid = m->root_gid = (uid_t)-1;
	for (size_t i = 0; i < m->n_uid; i++)
		if (m->uid[i].inside == 0)
			m->root_uid = m->uid[i].outside;
	for (size_t i = 0; i < m->n_gid; i++)
		if (m->gid[i].inside == 0)
			m->root_gid = m->gid[i].outside;
	return 0;
}

/* The rest of the delegated range from id on, as 0 inside; 0 if none has id. */
static uint32_t
rest_of_range(FILE *sub, const char *name, unsigned long self, unsigned long id)
{
	struct idmap r[64];
	size_t n = subid_read(sub, name, self, r, ARRAY_SIZE(r));

	for (size_t i = 0; i < n; i++)
		if (id >= r[i].outside && id - r[i].outside < r[i].count)
			return (uint32_t)(r[i].count - (id - r[i].outside));
	return 0;
}

bool
idmaps_from_owner(uid_t uid, gid_t gid, const char *name, uid_t ouid, gid_t ogid, FILE *subuid,
		  FILE *subgid, struct idmaps *m)
{
	uint32_t nu = uid != 0 && ouid != uid ? rest_of_range(subuid, name, uid, ouid) : 0;
	uint32_t ng = nu ? rest_of_range(subgid, name, gid, ogid) : 0;

	if (!nu || !ng || access(NEWUIDMAP, X_OK) < 0 || access(NEWGIDMAP, X_OK) < 0)
		return false;
	*m = (struct idmaps){0};
	m->uid = xcalloc(1, sizeof(*m->uid));
	m->gid = xcalloc(1, sizeof(*m->gid));
	m->uid[0] = (struct idmap){0, (uint32_t)ouid, nu, "the owner of the root"};
	m->gid[0] = (struct idmap){0, (uint32_t)ogid, ng, "the owner of the root"};
	m->n_uid = m->n_gid = 1;
	m->helper = true;
	m->caller_mapped = idmaps_host_mapped(m->uid, 1, uid) && idmaps_host_mapped(m->gid, 1, gid);
	m->root_uid = ouid;
	m->root_gid = ogid;
	return true;
}

void
idmaps_clear(struct idmaps *m)
{
	free(m->uid);
	free(m->gid);
	*m = (struct idmaps){0};
}

static int
write_file(pid_t pid, const char *name, const char *text, struct nsbox_err *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return nsbox_error(err, errno, "write %s", path);
	return 0;
}

/* newuidmap PID INSIDE OUTSIDE COUNT...: run by absolute path, with an
 * empty environment; its stderr becomes part of the error. */
static int
run_helper(const char *helper, pid_t pid, const struct idmap *m, size_t n, struct nsbox_err *err)
{
	char **argv = NULL, *envp[] = {NULL}, buf[400];
	int pfd[2], status;
	ssize_t got = 0, r;
	pid_t h;

	strv_push(&argv, helper);
	{
		_cleanup_free_ char *s = xasprintf("%d", (int)pid);

		strv_push(&argv, s);
	}
	for (size_t i = 0; i < n; i++) {
		char num[3][16];

		snprintf(num[0], sizeof(num[0]), "%u", m[i].inside);
		snprintf(num[1], sizeof(num[1]), "%u", m[i].outside);
		snprintf(num[2], sizeof(num[2]), "%u", m[i].count);
		for (int k = 0; k < 3; k++)
			strv_push(&argv, num[k]);
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		strv_free(argv);
		return nsbox_error(err, errno, "pipe");
	}
	h = fork();
	if (h == 0) {
		dup2(pfd[1], STDERR_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		execve(helper, argv, envp);
		dprintf(STDERR_FILENO, "%s", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	strv_free(argv);
	if (h < 0) {
		close(pfd[0]);
		return nsbox_error(err, errno, "fork");
	}
	while ((r = read(pfd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			got += r;
	close(pfd[0]);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	while (waitpid(h, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return nsbox_error(err, 0, "%s failed: %s", helper, got ? buf : "no message");
	return 0;
}

int
idmaps_write(pid_t pid, const struct idmaps *m, struct nsbox_err *err)
{
	char text[IDMAP_MAX_EXTENTS * 36];

	if (m->helper)
		return run_helper(NEWUIDMAP, pid, m->uid, m->n_uid, err) < 0 ||
				       run_helper(NEWGIDMAP, pid, m->gid, m->n_gid, err) < 0
			       ? -1
			       : 0;
	if (m->deny_setgroups && write_file(pid, "setgroups", "deny", err) < 0)
		return -1;
	if (idmap_format(m->uid, m->n_uid, text, sizeof(text)) < 0)
		return nsbox_error(err, 0, "uid map too long");
	if (write_file(pid, "uid_map", text, err) < 0)
		return -1;
	if (idmap_format(m->gid, m->n_gid, text, sizeof(text)) < 0)
		return nsbox_error(err, 0, "gid map too long");
	return write_file(pid, "gid_map", text, err);
}

static void __attribute__((noreturn))
call_child(const struct idmaps *m, int (*fn)(void *, struct nsbox_err *), void *arg, int ready,
	   int go, int report)
{
	struct nsbox_err err = {0};
	int e = 0;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (m) {
		if (unshare(CLONE_NEWUSER) < 0)
			e = errno;
		if (write(ready, &e, sizeof(e)) != sizeof(e) || e || read(go, &c, 1) != 1)
			_exit(1);
		if ((!m->deny_setgroups && setgroups(0, NULL) < 0) || setresgid(0, 0, 0) < 0 ||
		    setresuid(0, 0, 0) < 0) {
			nsbox_error(&err, errno, "become root in a user namespace");
			goto fail;
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* cleared by the id change */
	}
	if (fn(arg, &err) == 0)
		_exit(0);
fail:
	if (write(report, err.msg, strlen(err.msg)) < 0)
		_exit(1);
	_exit(1);
}

int
userns_call(const struct idmaps *m, int (*fn)(void *arg, struct nsbox_err *err), void *arg,
	    int *sig, struct nsbox_err *err)
{
	int ready[2] = {-1, -1}, go[2] = {-1, -1}, report[2] = {-1, -1}, status = 0, e = 0, rc = -1;
	sigset_t set, old;
	char msg[sizeof(err->msg)];
	ssize_t n, got = 0;
	pid_t pid;

	*sig = 0;
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    pipe2(report, O_CLOEXEC) < 0) {
		nsbox_error(err, errno, "pipe");
		goto out;
	}
	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid == 0)
		call_child(m, fn, arg, ready[1], go[0], report[1]);
	if (pid < 0) {
		nsbox_error(err, errno, "fork");
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	close(steal_fd(&ready[1]));
	close(steal_fd(&go[0]));
	close(steal_fd(&report[1]));
	if (m && (read(ready[0], &e, sizeof(e)) != sizeof(e) || e))
		nsbox_error(err, e, "create a user namespace");
	else if (m && idmaps_write(pid, m, err) < 0)
		;
	else if (m && write(go[1], "g", 1) != 1)
		nsbox_error(err, errno, "start the helper");
	else
		rc = 0;
	if (rc < 0)
		kill(pid, SIGKILL);
	/* Until it exits, only SIGCHLD, or a signal that stops nsbox. */
	status = wait_killable(pid, sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
	while ((n = read(report[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
		got += n;
	msg[got] = '\0';
	if (rc < 0)
		goto out;
	rc = -1;
	if (*sig)
		nsbox_error(err, 0, "interrupted by SIG%s", sigabbrev_np(*sig));
	else if (got)
		nsbox_error(err, 0, "%s", msg);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		nsbox_error(err, 0, "helper process failed (status %d)", status);
	else
		rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	return rc;
}

struct rm_arg {
	int dir;
	const char *name;
};

static int
rm_fn(void *arg, struct nsbox_err *err)
{
	const struct rm_arg *a = arg;
	struct stat st;

	(void)err;
	if (fstatat(a->dir, a->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		remove_tree_at(a->dir, a->name, st.st_dev);
	return 0;
}

/* Every id of the caller's: its own as 0, then each range delegated to it,
 * whole. Whatever map a run had, its files belong to one of them. */
static size_t
all_ids(struct idmap *out, size_t max, unsigned long self, FILE *sub, const char *name)
{
	struct idmap r[64];
	size_t nr = subid_read(sub, name, self, r, ARRAY_SIZE(r)), n = 0;
	uint64_t next = 1;

	out[n++] = (struct idmap){0, (uint32_t)self, 1, "default"};
	for (size_t i = 0; i < nr && n < max; i++) {
		bool has_self = self >= r[i].outside && self - r[i].outside < r[i].count;

		if (has_self || next + r[i].count > (uint64_t)UINT32_MAX + 1)
			continue;
		out[n++] = (struct idmap){(uint32_t)next, r[i].outside, r[i].count, "default"};
		next += r[i].count;
	}
	return n;
}

/* The maps that remove what a user's runs left: every id it has. */
static void
user_maps(struct idmaps *m)
{
	struct passwd *pw = getpwuid(geteuid());
	_cleanup_fclose_ FILE *su = fopen("/etc/subuid", "re");
	_cleanup_fclose_ FILE *sg = fopen("/etc/subgid", "re");
	_cleanup_free_ char *num = xasprintf("%u", (unsigned)geteuid());
	const char *name = pw ? pw->pw_name : num;
	bool helpers = access(NEWUIDMAP, X_OK) == 0 && access(NEWGIDMAP, X_OK) == 0;

	*m = (struct idmaps){0};
	m->uid = xcalloc(65, sizeof(*m->uid));
	m->gid = xcalloc(65, sizeof(*m->gid));
	m->n_uid = all_ids(m->uid, helpers ? 65 : 1, geteuid(), su, name);
	m->n_gid = all_ids(m->gid, helpers ? 65 : 1, getegid(), sg, name);
	m->helper = m->n_uid > 1 || m->n_gid > 1;
	m->deny_setgroups = !m->helper;
	m->caller_mapped = true;
	m->root_uid = geteuid();
	m->root_gid = getegid();
}

int
userns_remove_tree(int dir, const char *name, const struct idmaps *m, struct nsbox_err *err)
{
	struct rm_arg a = {dir, name};
	struct stat st;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	rm_fn(&a, err);
	/* What is left needs the namespace's ids. */
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && geteuid() != 0) {
		struct idmaps own = {0};
		int sig, rc;

		if (!m)
			user_maps(&own);
		rc = userns_call(m ? m : &own, rm_fn, &a, &sig, err);
		idmaps_clear(&own);
		if (rc < 0)
			return -1;
	}
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return nsbox_error(err, 0, "%s: could not remove all of it", name);
	return 0;
}

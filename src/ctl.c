/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seccomp.h"

#include "cgroup.h"
#include "run.h"
#include "attach.h"
#include "payload.h"
#include "ctl.h"
#include "state.h"
#include "util.h"

/* One live run: its lock held by the nsbox that runs it. */
struct run {
	char *id;
	char *text; /* ID.json as it is, for ps --json */
	struct run_state st;
	int lockfd;
};

/* Each live run of the caller's, in turn; fn returns nonzero to stop. */
static int
each_run(int (*fn)(struct run *r, void *arg), void *arg, struct nsbox_err *err)
{
	_cleanup_free_ char *dir = state_directory(err);
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
		state = xasprintf("%s/%.*s.json", dir, (int)(n - 5), de->d_name);
		fd = open(state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || read_regular_file(fd, 1 << 20, &r.text, &len, &why) < 0) {
			if (fd >= 0)
				close(fd);
			close(r.lockfd);
			continue; /* still starting */
		}
		close(fd);
		if (state_parse(r.text, len, &r.st, &why) < 0) {
			/* written whole by the run, so not one of nsbox's */
			fprintf(stderr, "nsbox: %s: %s; skipped\n", state, why);
			free(r.text);
			close(r.lockfd);
			continue;
		}
		r.id = xstrndup(de->d_name, n - 5);
		rc = fn(&r, arg);
		free(r.id);
		free(r.text);
		state_clear(&r.st);
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
	const struct run_state *st = &r->st;
	long up = (long)(time(NULL) - st->started);
	char upt[32], pid[16];

	if (ps->json) {
		fprintf(ps->out, "%s%s", ps->n ? ",\n" : "", r->text);
		/* state.json ends with a newline */
		ps->n++;
		return 0;
	}
	snprintf(upt, sizeof(upt), "%ld:%02ld:%02ld", up / 3600, up / 60 % 60, up % 60);
	snprintf(pid, sizeof(pid), "%d", (int)st->pid);
	fprintf(ps->out, "%-24s %-16s %8s %9s  %-24s %s\n", st->name,
		st->profile ? st->profile : "-", pid, upt, st->root ? st->root : "/",
		st->cgroups && st->cgroups[0] ? st->cgroups[0] : "-");
	ps->n++;
	return 0;
}

int
ctl_ps(FILE *out, bool json, struct nsbox_err *err)
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

struct state_of {
	const char *what;
	struct run_state *st;
	bool found;
};

static int
state_one(struct run *r, void *arg)
{
	struct state_of *s = arg;
	char pid[16], np[16];

	snprintf(pid, sizeof(pid), "%d", (int)r->st.pid);
	snprintf(np, sizeof(np), "%d", (int)r->st.nsbox_pid);
	/* a name, a run id, the container's pid, or (pflask's --attach) nsbox's */
	if (!(streq(s->what, r->st.name) || streq(s->what, r->id) || streq(s->what, pid) ||
	      streq(s->what, np)))
		return 0;
	*s->st = r->st;
	r->st = (struct run_state){0};
	s->found = true;
	return 1;
}

/* The state of the caller's live run named what, into *st; with
 * gone_ok, 1 (and no error) when there is none. */
static int
state_find(const char *what, const char *cmd, bool gone_ok, struct run_state *st,
	   struct nsbox_err *err)
{
	struct state_of so = {.what = what, .st = st};

	*st = (struct run_state){0};
	if (each_run(state_one, &so, err) < 0)
		return -1;
	if (!so.found && gone_ok)
		return 1;
	if (!so.found)
		return nsbox_error(err, 0,
				   "command line: nsbox %s: no running container named '%.64s' "
				   "(see nsbox ps)",
				   cmd, what);
	return 0;
}

static int
state_named(const char *what, const char *cmd, struct run_state *st, struct nsbox_err *err)
{
	return state_find(what, cmd, false, st, err);
}

/* Whether pid has exited and waits for its parent to reap it. */
static bool
zombie(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	char buf[512] = "", *p;

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

int
ctl_stop(const char *what, bool ignore, struct nsbox_err *err)
{
	struct run_state st;
	struct timespec tick = {0, 50 * 1000 * 1000};
	pid_t nsbox;
	int rc = state_find(what, "stop", ignore, &st, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	nsbox = st.nsbox_pid;
	state_clear(&st);
	if (kill(nsbox, SIGTERM) < 0 && !(ignore && errno == ESRCH))
		return nsbox_error(err, errno, "nsbox stop: %s", what);
	/* gone when its process is (a zombie is: its parent, an
	 * autopkgtest-virt-nsbox, may reap it only later); the grace period
	 * bounds the wait */
	while (kill(nsbox, 0) == 0 && !zombie(nsbox))
		nanosleep(&tick, NULL);
	return 0;
}

int
ctl_kill(const char *what, const char *sig, struct nsbox_err *err)
{
	struct run_state st;
	const char *s = startswith(sig, "SIG") ? sig + 3 : sig;
	pid_t pid;
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
	if (state_named(what, "kill", &st, err) < 0)
		return -1;
	pid = st.pid;
	state_clear(&st);
	if (kill(pid, signo) < 0)
		return nsbox_error(err, errno, "nsbox kill: %s", what);
	return 0;
}

/* --- nsbox exec: a command in a running container --- */

/* The name of pid's command (/proc/PID/comm), or "". */
static void
comm_of(pid_t pid, char buf[static 32])
{
	_cleanup_free_ char *comm = xasprintf("/proc/%d/comm", (int)pid);
	FILE *f = fopen(comm, "re");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, 32, f))
			buf[0] = '\0';
		fclose(f);
	}
}

/* The process whose identity exec copies: the command nsbox runs, the
 * first child of nsbox's init, or the first process when it is the
 * command itself (init = no). nsbox's init is a fork of the nsbox that
 * runs it, so it has that one's name, whatever the binary is called (not
 * always "nsbox"); a command that is PID 1 has exec'd. */
static pid_t
payload_of(pid_t init, pid_t nsbox)
{
	_cleanup_free_ char *kids = xasprintf("/proc/%d/task/%d/children", (int)init, (int)init);
	char a[32], b[32];
	FILE *f;
	long child = 0;

	comm_of(init, a);
	comm_of(nsbox, b);
	if (!a[0] || !streq(a, b))
		return init;
	f = fopen(kids, "re");
	if (f) {
		if (fscanf(f, "%ld", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child > 0 ? (pid_t)child : init;
}

struct ident {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	size_t n_groups;
	unsigned long long prm, eff, bnd;
	bool nnp, seccomp; /* the run's security.seccomp */
	char **env;
};

/* The resource limits of the process whose /proc directory is proc, from
 * its limits file (readable to all, whatever the process's ids): one line
 * per resource in the kernel's order, the soft and hard limits from column
 * 26. Returns how many were read. */
static size_t
read_limits(int proc, struct rlimit *rl, size_t max)
{
	_cleanup_close_ int fd = openat(proc, "limits", O_RDONLY | O_CLOEXEC);
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(steal_fd(&fd), "re") : NULL;
	char line[256];
	size_t n = 0;

	if (!f || !fgets(line, sizeof(line), f)) /* the header */
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char soft[32], hard[32];

		if (strlen(line) < 27 || sscanf(line + 26, "%31s %31s", soft, hard) != 2)
			break;
		rl[n].rlim_cur =
			streq(soft, "unlimited") ? RLIM_INFINITY : strtoull(soft, NULL, 10);
		rl[n].rlim_max =
			streq(hard, "unlimited") ? RLIM_INFINITY : strtoull(hard, NULL, 10);
		n++;
	}
	return n;
}

/* The command gets the payload's limits, as it gets its ids: where the
 * caller cannot raise a hard limit that far (an ordinary user above its
 * own), it keeps its own hard limit, as nsbox run clamps. Before the user
 * namespace: raising a hard limit takes CAP_SYS_RESOURCE in the host's. */
static void
set_limits(const struct rlimit *rl, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rlimit lim = rl[i], cur;

		if (setrlimit((int)i, &lim) == 0 || getrlimit((int)i, &cur) < 0 ||
		    lim.rlim_max <= cur.rlim_max)
			continue;
		lim.rlim_max = cur.rlim_max;
		if (lim.rlim_cur > lim.rlim_max)
			lim.rlim_cur = lim.rlim_max;
		(void)setrlimit((int)i, &lim);
	}
}

/* From the stat of the process whose /proc directory is proc: where its
 * code ends (field 27) and the bounds of its environment (50 and 51), -1
 * when unreadable. The kernel lays out a new image's arguments and
 * environment on its stack, then records its code and data: from the
 * moment an execve replaces the old image (the payload's setup channel
 * closes then, and nsbox run reports the container started) until then,
 * the end of code is 0, and the bounds are 0, or equal for a moment.
 * Once it is not 0, equal bounds are an empty environment. The kernel
 * shows these to whoever may read environ (else 1, 0 and 0). */
static int
stat_image(int proc, unsigned long long *end_code, unsigned long long *env_start,
	   unsigned long long *env_end)
{
	_cleanup_close_ int fd = openat(proc, "stat", O_RDONLY | O_CLOEXEC);
	char buf[2048], *p, *q;
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return -1; /* comm, which ends at the last ')', is field 2 */
	p++;
	for (int field = 3; field <= 51; field++, p = q) {
		unsigned long long v;

		while (*p == ' ')
			p++;
		errno = 0;
		v = strtoull(p, &q, 10);
		if (q == p || errno) {
			if (field == 3) { /* the state, a letter */
				q = p + 1;
				continue;
			}
			return -1;
		}
		if (field == 27)
			*end_code = v;
		else if (field == 50)
			*env_start = v;
		else if (field == 51)
			*env_end = v;
	}
	return 0;
}

/* The environment of the process whose /proc directory is proc, into
 * *buf (NUL-separated, len bytes). */
static int
read_environ(int proc, char **buf, size_t *len)
{
	_cleanup_close_ int fd = openat(proc, "environ", O_RDONLY | O_CLOEXEC);
	const char *why;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (read_regular_file(fd, 1 << 20, buf, len, &why) == 0)
		return 0;
	/* /proc files are not regular in size: read it plainly */
	*buf = xmalloc(1 << 16);
	if (lseek(fd, 0, SEEK_SET) < 0 || (n = read(fd, *buf, (1 << 16) - 1)) < 0) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* The identity of the process whose /proc directory is proc, read in its
 * user namespace: the ids are then the container's, and its files are
 * readable to a user whose container runs its command as another id.
 * Read once the process is through an execve (2 s at most): halfway, its
 * environment would read empty. */
static int
read_ident(int proc, pid_t pid, struct ident *id, struct nsbox_err *err)
{
	_cleanup_free_ char *st = xasprintf("/proc/%d/status", (int)pid);
	_cleanup_free_ char *en = xasprintf("/proc/%d/environ", (int)pid);
	_cleanup_close_ int sfd = -1;
	_cleanup_fclose_ FILE *f = NULL;
	char line[1024], *buf = NULL;
	size_t len = 0;

	/* environ reads empty inside an execve, and in full once the image
	 * is laid out: empty is taken where the image says so, else read
	 * again (2 s at most: a zombie has none). Then its ids are the new
	 * image's. */
	for (int i = 0; i < 400; i++) {
		unsigned long long ec = 0, es = 0, ee = 0;

		if (stat_image(proc, &ec, &es, &ee) == 0 && ec > 1 && es == ee)
			break; /* empty (env -i) */
		free(buf);
		buf = NULL;
		len = 0;
		if (read_environ(proc, &buf, &len) < 0)
			return nsbox_error(err, errno, "%s", en);
		if (len > 0)
			break;
		usleep(i < 20 ? 500 : 5000);
	}
	sfd = openat(proc, "status", O_RDONLY | O_CLOEXEC);
	f = sfd >= 0 ? fdopen(steal_fd(&sfd), "re") : NULL;
	if (!f) {
		free(buf);
		return nsbox_error(err, errno, "%s", st);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b;

		if (sscanf(line, "Uid:\t%u\t%u", &a, &b) == 2)
			id->uid = b;
		else if (sscanf(line, "Gid:\t%u\t%u", &a, &b) == 2)
			id->gid = b;
		else if (startswith(line, "Groups:")) {
			char *save = NULL;

			for (char *t = strtok_r(line + 7, " \t\n", &save);
			     t && id->n_groups < ARRAY_SIZE(id->groups);
			     t = strtok_r(NULL, " \t\n", &save))
				id->groups[id->n_groups++] = (gid_t)strtoul(t, NULL, 10);
		} else if (startswith(line, "CapPrm:"))
			id->prm = strtoull(line + 7, NULL, 16);
		else if (startswith(line, "CapEff:"))
			id->eff = strtoull(line + 7, NULL, 16);
		else if (startswith(line, "CapBnd:"))
			id->bnd = strtoull(line + 7, NULL, 16);
		else if (startswith(line, "NoNewPrivs:"))
			id->nnp = strtol(line + 11, NULL, 10) != 0;
	}
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		strv_push(&id->env, buf + i);
	free(buf);
	if (!id->env) /* an empty environment (env -i) is one still */
		id->env = xcalloc(1, sizeof(*id->env));
	return 0;
}

static const struct {
	const char *name;
	int flag;
} nstypes[] = {{"user", CLONE_NEWUSER},    {"mnt", CLONE_NEWNS},  {"pid", CLONE_NEWPID},
	       {"net", CLONE_NEWNET},      {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
	       {"cgroup", CLONE_NEWCGROUP}};

/* Open those of pid's namespaces that differ from ours, while we may:
 * once in its user namespace, we may not look into a process outside it.
 * fds[i] stays -1 for one we share. */
static int
ns_open(pid_t pid, int fds[], struct nsbox_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(nstypes); i++) {
		_cleanup_free_ char *theirs =
			xasprintf("/proc/%d/ns/%s", (int)pid, nstypes[i].name);
		_cleanup_free_ char *ours = xasprintf("/proc/self/ns/%s", nstypes[i].name);
		struct stat a, b;

		fds[i] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 || fstat(fds[i], &a) < 0)
			return nsbox_error(err, errno, "%s", theirs);
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			close(steal_fd(&fds[i]));
	}
	return 0;
}

/* The container's namespaces as the nsbox that runs it holds them
 * (step_ns_fds in run.c): for a caller who is not root, who may not open
 * those of nsbox's init, which is not dumpable. Each fd of nsbox's that is
 * a namespace of one of the types, other than the caller's own of that
 * type (nsbox's host network namespace, for one), is opened again through
 * /proc/NSBOX/fd/N, which the kernel allows the caller as the owner of
 * that process. fds[i] stays -1 for a type it does not hold; two of one
 * type are an error. Returns 0, or -1 with err (no user namespace held:
 * an nsbox from before). */
static int
ns_open_held(pid_t nsbox, int fds[], struct nsbox_err *err)
{
	_cleanup_free_ char *dir = xasprintf("/proc/%d/fd", (int)nsbox);
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return nsbox_error(err, errno, "nsbox exec: %s", dir);
	while (rc == 0 && (de = readdir(d))) {
		char link[64] = "";
		struct stat a, b;

		if (de->d_name[0] == '.' ||
		    readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1) < 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(nstypes); i++) {
			size_t n = strlen(nstypes[i].name);
			_cleanup_free_ char *ours = NULL;
			int fd;

			if (strncmp(link, nstypes[i].name, n) != 0 || link[n] != ':')
				continue;
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
			ours = xasprintf("/proc/self/ns/%s", nstypes[i].name);
			if (fd < 0 || fstat(fd, &a) < 0 ||
			    (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)) {
				if (fd >= 0)
					close(fd);
				break;
			}
			if (fds[i] >= 0 && fstat(fds[i], &b) == 0 && b.st_ino != a.st_ino)
				rc = nsbox_error(
					err, 0,
					"nsbox exec: nsbox (pid %d) holds two %s namespaces",
					(int)nsbox, nstypes[i].name);
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = fd;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && fds[0] < 0)
		rc = nsbox_error(err, 0,
				 "nsbox exec: nsbox (pid %d) holds no namespace of its container's "
				 "(an nsbox before 0.1.0's issue 25?)",
				 (int)nsbox);
	return rc;
}

/* Join the namespaces of fds among those of mask. */
static int
ns_enter(const int fds[], int mask, struct nsbox_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(nstypes); i++)
		if (fds[i] >= 0 && nstypes[i].flag & mask && setns(fds[i], nstypes[i].flag) < 0)
			return nsbox_error(err, errno, "setns %s", nstypes[i].name);
	return 0;
}

/* The command, as the run's own: its ids, groups, capabilities,
 * no-new-privileges and environment, the run's filter, and always the
 * TIOCSTI one, since the caller's terminal may be on 0-2. nsbox's own
 * failure is said on fail_fd. */
static void __attribute__((noreturn)) enter_child(const struct ident *id, char **argv, int fail_fd)
{
	struct payload pl = {
		.argv = argv,
		.envp = id->env,
		.who = "the command's user",
		.uid = id->uid,
		.gid = id->gid,
		.groups = id->groups,
		.n_groups = id->n_groups,
		.set_groups = !setgroups_denied(),
		.bounding = id->bnd, /* never a wider set than the container's */
		.caps = cap_init(),
		.no_new_privs = id->nnp,
		.filter = id->seccomp ? PAYLOAD_FILTER_DENYLIST : PAYLOAD_FILTER_TTY,
		.may_mount = id->bnd >> CAP_SYS_ADMIN & 1,
		.fail_fd = fail_fd,
	};

	for (int c = 0; pl.caps && c <= CAP_LAST_CAP; c++) {
		cap_value_t v = c;

		if (id->prm >> c & 1)
			cap_set_flag(pl.caps, CAP_PERMITTED, 1, &v, CAP_SET);
		if (id->eff >> c & 1)
			cap_set_flag(pl.caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	payload_exec(&pl);
}

static int
cgroups_join(char *const *dirs)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (size_t i = 0; dirs && dirs[i]; i++) {
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dirs[i]);
		_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
			return -1;
	}
	return 0;
}

/* Wait for pid, passing on the signals that stop nsbox (blocked in set);
 * returns its wait status. Other children (the orphans a subreaper is
 * given) are reaped on the way. */
static int
wait_forward(pid_t pid, const sigset_t *set)
{
	int status = 0, sig;

	for (;;) {
		struct timespec tick = {0, 100 * 1000 * 1000};
		siginfo_t si;
		pid_t p;

		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			if (p == pid)
				return status;
		if ((sig = sigtimedwait(set, &si, &tick)) > 0 && sig != SIGCHLD)
			kill(pid, sig); /* passed on, as run does */
	}
}

static int
exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* SIGKILL to every child of this process, over and over, until it has
 * none: as a subreaper, it is given the children of each one that dies,
 * so this ends with the whole tree the command left. The list is the
 * container's /proc (the process is in its PID namespace). */
static int
kill_children(struct nsbox_err *err)
{
	for (;;) {
		FILE *f = fopen("/proc/thread-self/children", "re");
		long pid;

		if (!f) {
			if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
				return 0; /* nothing was left: no list needed */
			return nsbox_error(err, errno,
					   "nsbox exec: --kill-leftovers: the container's "
					   "/proc/thread-self/children");
		}
		while (fscanf(f, "%ld", &pid) == 1)
			kill((pid_t)pid, SIGKILL);
		fclose(f);
		if (waitpid(-1, NULL, 0) < 0)
			return errno == ECHILD ? 0 : nsbox_error(err, errno, "nsbox exec: wait");
	}
}

/* --kill-leftovers: between the joining process and the command, in the
 * container's PID namespace, a subreaper (PR_SET_CHILD_SUBREAPER): what
 * the command leaves, even daemons that fork twice and call setsid, is
 * reparented to it, not to the container's init, and it kills them all
 * once the command returns. Orphans go to the nearest subreaper in their
 * own PID namespace only, so the joining process outside could not be it.
 * It holds none of the caller's descriptors, and it is the host's nsbox,
 * not dumpable (see ctl_exec), as the container's init is. */
static void __attribute__((noreturn))
exec_reaper(const struct ident *id, char **argv, int fail_fd, const sigset_t *set)
{
	struct nsbox_err e = {0};
	pid_t cmd;
	int status;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		nsbox_error(&e, errno, "nsbox exec: --kill-leftovers: PR_SET_CHILD_SUBREAPER");
		payload_fail(fail_fd, e.msg);
	}
	cmd = fork();
	if (cmd == 0)
		enter_child(id, argv, fail_fd);
	if (cmd < 0) {
		nsbox_error(&e, errno, "nsbox exec: fork");
		payload_fail(fail_fd, e.msg);
	}
	close_range(0, 2, 0); /* the caller's pipes see EOF once the tree is gone */
	status = wait_forward(cmd, set);
	if (kill_children(&e) < 0)
		payload_fail(fail_fd, e.msg);
	_exit(exit_code(status));
}

/* A pipe whose ends are above 2 even when the caller closed 0-2. */
static int
fail_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] <= 2) {
			int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (fd < 0)
				return -1;
			close(fds[i]);
			fds[i] = fd;
		}
	}
	return 0;
}

/* What the processes nsbox exec forks said about a failure of nsbox's
 * own, read once each has exited or exec'd its command: -1 with err when
 * they said something. */
static int
fail_read(int fd, struct nsbox_err *err)
{
	char msg[sizeof(err->msg)];
	ssize_t n = read(fd, msg, sizeof(msg) - 1);

	if (n <= 0)
		return 0;
	msg[n] = '\0';
	return nsbox_error(err, 0, "%s", msg);
}

int
ctl_exec(const char *what, char **argv, const struct exec_opts *eo, struct nsbox_err *err)
{
	struct run_state st;
	struct ident id = {0};
	struct rlimit rl[RLIM_NLIMITS];
	size_t nrl;
	_cleanup_close_ int rootfd = -1, cwdfd = -1, proc = -1, failr = -1;
	int ns[ARRAY_SIZE(nstypes)];
	int fail[2];
	pid_t init, payload, child;
	int status;
	sigset_t set, old;

	if (state_named(what, "exec", &st, err) < 0)
		return -1;
	/* the filter of the run's command applies to what joins it too */
	id.seccomp = st.seccomp;
	init = st.pid;
	payload = payload_of(init, st.nsbox_pid);
	{
		_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int)init);
		_cleanup_free_ char *cwd = xasprintf("/proc/%d/cwd", (int)payload);
		_cleanup_free_ char *dir = xasprintf("/proc/%d", (int)payload);

		_cleanup_free_ char *userns = xasprintf("/proc/%d/ns/user", (int)init);
		_cleanup_close_ int probe = open(userns, O_RDONLY | O_CLOEXEC);

		/* nsbox's init never execs and is not dumpable, so only root
		 * may look into it; others join the namespaces the nsbox that
		 * runs it holds (ns_open_held), and get the root of the mount
		 * namespace from setns. */
		if (probe < 0 && errno == EACCES && geteuid() != 0)
			rootfd = AT_FDCWD;
		else
			rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		cwdfd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
		proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (rootfd == -1 || proc < 0) {
		state_clear(&st);
		return nsbox_error(err, errno, "nsbox exec: %s", what);
	}
	nrl = read_limits(proc, rl, ARRAY_SIZE(rl));
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		ns[i] = -1;
	if ((rootfd == AT_FDCWD ? ns_open_held(st.nsbox_pid, ns, err) : ns_open(init, ns, err)) <
	    0) {
		state_clear(&st);
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
			if (ns[i] >= 0)
				close(ns[i]);
		return -1;
	}
	/* nsbox's own failures after the fork come back here as text, so
	 * that none of them passes for the command's status */
	if (fail_pipe(fail) < 0) {
		state_clear(&st);
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
			if (ns[i] >= 0)
				close(ns[i]);
		return nsbox_error(err, errno, "pipe");
	}
	failr = fail[0];
	/* read once all have exited: a writer left behind must not block it */
	fcntl(failr, F_SETFL, O_NONBLOCK);
	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* The joining happens in a child, so this process stays in the
	 * caller's namespaces (and exits as an ordinary process would). */
	child = fork();
	if (child == 0) {
		pid_t cmd;
		struct nsbox_err e = {0};

		close(failr);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* nothing outlives nsbox exec */
		/* Not dumpable, and so its child in the container's PID
		 * namespace, until the command's execve: what runs in the
		 * container may not ptrace it or open its /proc/PID/exe, which
		 * is the host's nsbox (CVE-2019-5736). The kernel then wants
		 * CAP_SYS_PTRACE in the host's user namespace for that. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		set_limits(rl, nrl);
		/* its cgroups first, while their paths are the host's; its
		 * user namespace before what it owns */
		if (cgroups_join(st.cgroups) < 0 || ns_enter(ns, CLONE_NEWUSER, &e) < 0 ||
		    read_ident(proc, payload, &id, &e) < 0 ||
		    ns_enter(ns, ~CLONE_NEWUSER, &e) < 0 ||
		    (rootfd != AT_FDCWD && (fchdir(rootfd) < 0 || chroot(".") < 0)) ||
		    (cwdfd >= 0 ? fchdir(cwdfd) : chdir("/")) < 0)
			payload_fail(fail[1],
				     e.msg[0] ? e.msg : "nsbox exec: cannot enter the container");
		cmd = fork(); /* the new PID namespace takes children only */
		if (cmd == 0 && eo->kill_leftovers)
			exec_reaper(&id, argv, fail[1], &set);
		if (cmd == 0)
			enter_child(&id, argv, fail[1]);
		if (cmd < 0) {
			nsbox_error(&e, errno, "nsbox exec: fork");
			payload_fail(fail[1], e.msg);
		}
		_exit(exit_code(wait_forward(cmd, &set)));
	}
	close(fail[1]);
	state_clear(&st);
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		if (ns[i] >= 0)
			close(ns[i]);
	if (child < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return nsbox_error(err, errno, "fork");
	}
	status = wait_forward(child, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (fail_read(failr, err) < 0)
		return -1;
	return exit_code(status);
}

/* --- nsbox stats, pause, resume: through the container's cgroups --- */

/* A file of one value, without its newline. */
static char *
cg_read(const char *dir, const char *file)
{
	char *t = cgroup_read(dir, file);

	if (t && !strchr(t, ' '))
		t[strcspn(t, "\n")] = '\0';
	return t;
}

/* The value of "key N" lines (memory.events, cpu.stat). */
static long long
keyed(const char *text, const char *key)
{
	_cleanup_free_ char *pat = xasprintf("%s ", key);
	const char *p = text ? strstr(text, pat) : NULL;

	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

int
ctl_stats(FILE *out, const char *what, struct nsbox_err *err)
{
	struct run_state st;
	char **dirs;
	bool any = false;

	if (state_named(what, "stats", &st, err) < 0)
		return -1;
	dirs = st.cgroups;
	for (size_t i = 0; dirs && dirs[i]; i++) {
		const char *d = dirs[i];
		_cleanup_free_ char *mem = cg_read(d, "memory.current");
		_cleanup_free_ char *memmax = cg_read(d, "memory.max");
		_cleanup_free_ char *v1mem = cg_read(d, "memory.usage_in_bytes");
		_cleanup_free_ char *v1max = cg_read(d, "memory.limit_in_bytes");
		_cleanup_free_ char *pids = cg_read(d, "pids.current");
		_cleanup_free_ char *pmax = cg_read(d, "pids.max");
		_cleanup_free_ char *cpu = cg_read(d, "cpu.stat");
		_cleanup_free_ char *acct = cg_read(d, "cpuacct.usage");

		if (mem || v1mem) {
			fprintf(out, "memory %s bytes, limit %s\n", mem ? mem : v1mem,
				memmax  ? memmax
				: v1max ? v1max
					: "none");
			any = true;
		}
		if (pids) {
			fprintf(out, "pids %s, limit %s\n", pids, pmax ? pmax : "none");
			any = true;
		}
		if (cpu && keyed(cpu, "usage_usec") >= 0) {
			fprintf(out, "cpu %.3f s\n", (double)keyed(cpu, "usage_usec") / 1e6);
			any = true;
		} else if (acct) {
			fprintf(out, "cpu %.3f s\n", (double)strtoll(acct, NULL, 10) / 1e9);
			any = true;
		}
	}
	state_clear(&st);
	if (!any)
		return nsbox_error(err, 0,
				   "command line: nsbox stats: %s has no cgroup to read (give it "
				   "[limits], or "
				   "--cgroup=memory,pids,cpuacct)",
				   what);
	return 0;
}

/* Whether the cgroup dir is frozen: v2's cgroup.events says "frozen 1",
 * v1's freezer.state "FROZEN" (not "FREEZING": a task still runs). */
static bool
frozen(const char *dir, bool v2)
{
	_cleanup_free_ char *text = cgroup_read(dir, v2 ? "cgroup.events" : "freezer.state");

	if (!text)
		return false;
	return v2 ? strstr(text, "frozen 1") != NULL : startswith(text, "FROZEN");
}

int
ctl_freeze(const char *what, bool freeze, struct nsbox_err *err)
{
	const char *cmd = freeze ? "pause" : "resume";
	struct run_state st;
	int rc = 1;

	if (state_named(what, cmd, &st, err) < 0)
		return -1;
	for (size_t i = 0; rc > 0 && st.cgroups && st.cgroups[i]; i++) {
		_cleanup_free_ char *v2 = xasprintf("%s/cgroup.freeze", st.cgroups[i]);
		_cleanup_free_ char *v1 = xasprintf("%s/freezer.state", st.cgroups[i]);
		const char *file = access(v2, W_OK) == 0 ? v2 : access(v1, W_OK) == 0 ? v1 : NULL;
		const char *val =
			file == v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
		_cleanup_close_ int fd = -1;

		if (!file)
			continue;
		fd = open(file, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, val, strlen(val)) < 0) {
			rc = nsbox_error(err, errno, "nsbox %s: %s", cmd, file);
			break;
		}
		rc = 0;
		/* As runc and docker pause: done once every task is stopped
		 * (the kernel freezes them one by one), else thawed again. */
		for (int t = 0; freeze && !frozen(st.cgroups[i], file == v2); t++) {
			if (t == 1000) {
				const char *thaw = file == v2 ? "0" : "THAWED";
				bool thawed = write(fd, thaw, strlen(thaw)) >= 0;

				rc = nsbox_error(
					err, 0, "nsbox pause: %s did not freeze within 10 s; %s",
					what, thawed ? "thawed again" : "and cannot be thawed");
				break;
			}
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		}
	}
	state_clear(&st);
	if (rc > 0)
		return nsbox_error(err, 0,
				   "command line: nsbox %s: %s has no freezer (run it with "
				   "--cgroup=freezer, or on cgroup v2 with any [limits])",
				   cmd, what);
	return rc;
}

int
ctl_attach(const char *what, struct nsbox_err *err)
{
	struct run_state st;
	_cleanup_free_ char *dir = NULL, *sock = NULL;
	pid_t np;

	if (state_named(what, "attach", &st, err) < 0)
		return -1;
	np = st.nsbox_pid;
	dir = state_directory(err);
	if (dir)
		sock = xasprintf("%s/%s/attach.sock", dir, st.id);
	state_clear(&st);
	if (!dir)
		return -1;
	if (access(sock, F_OK) < 0)
		return nsbox_error(err, 0,
				   "command line: nsbox attach: %s was not started with --detach",
				   what);
	return attach_client(sock, np, (unsigned)geteuid(), err);
}

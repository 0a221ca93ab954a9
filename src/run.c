/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hook.h"
#include "machined.h"
#include "run.h"
#include "run-ctx.h"
#ifdef NSBOX_FAULTS
/* Test builds only (make tests/nsbox-fault): NSBOX_FAULT=STEP:fail fails
 * STEP once it has run, so that its undo runs; STEP:stop says so on
 * stderr and waits there forever, for a test to kill -9. */
int
fault(const char *step, struct nsbox_err *err)
{
	const char *f = getenv("NSBOX_FAULT");
	size_t n = strlen(step);

	if (!f || strncmp(f, step, n) != 0 || f[n] != ':')
		return 0;
	if (streq(f + n + 1, "stop")) {
		fprintf(stderr, "nsbox: fault: %s: stopped\n", step);
		for (;;)
			pause();
	}
	return nsbox_error(err, 0, "fault injected");
}
#endif

/* Signals nsbox passes on to the container. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void
signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGWINCH);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

/* One message on the setup channel: a tag, text, and maybe an fd. */
int
chan_send(int sock, char tag, const char *text, int fd)
{
	char buf[600];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u = {0};
	struct iovec iov = {.iov_base = buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	iov.iov_len = (size_t)snprintf(buf, sizeof(buf), "%c%s", tag, text ? text : "") + 1;
	if (iov.iov_len > sizeof(buf))
		iov.iov_len = sizeof(buf);
	if (fd >= 0) {
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Receive one message; returns its length (0 at EOF) and the fd, if any. */
ssize_t
chan_recv(int sock, char *buf, size_t size, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.b,
			   .msg_controllen = sizeof(u.b)};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/* --- child side, in the new namespaces --- */

/* A new pty from the container's own devpts: the caller's terminal is
 * never handed in. The master goes to nsbox, which relays it. */
static int
step_terminal(struct run_ctx *ctx, struct nsbox_err *err)
{
	_cleanup_close_ int master = -1, console = -1;
	char name[64];
	struct winsize ws;

	if (!ctx->use_pty)
		return 0;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return nsbox_error(err, errno, "/dev/ptmx");
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return nsbox_error(err, errno, "pty");
	ctx->slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ctx->slave < 0)
		return nsbox_error(err, errno, "pty: open %s", name);
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	/* nsbox's own /dev: the pty is the console too, as in nspawn. */
	if (ctx->newroot) {
		console = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (console < 0 || mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return nsbox_error(err, errno, "/dev/console");
	}
	if (chan_send(ctx->chan[1], 'P', NULL, master) < 0)
		return nsbox_error(err, errno, "pty: hand the master to nsbox");
	return 0;
}

static int
step_hostname(struct run_ctx *ctx, struct nsbox_err *err)
{
	const char *h = ctx->p->root.hostname.value;

	if (h && sethostname(h, strlen(h)) < 0)
		return nsbox_error(err, errno, "sethostname");
	return 0;
}

static int
step_loopback(struct run_ctx *ctx, struct nsbox_err *err)
{
	return ctx->p->ns_flags & CLONE_NEWNET ? nl_lo_up(err) : 0;
}

static int
step_user(struct run_ctx *ctx, struct nsbox_err *err)
{
	/* After pivot_root, /etc/passwd is the container's own; on the host
	 * root it is the host's file, read as a file, never through NSS. */
	_cleanup_fclose_ FILE *pw = fopen("/etc/passwd", "re"), *gr = fopen("/etc/group", "re");

	return user_lookup(ctx->p->user.name.value, pw, gr, &ctx->user, err);
}

static int
step_chdir(struct run_ctx *ctx, struct nsbox_err *err)
{
	const char *dir = ctx->p->root.chdir.value;
	char cwd[4096];

	if (!dir && !ctx->newroot)
		return 0; /* the host root: stay where the caller is, as pflask */
	if (!dir)
		dir = "/";
	if (chdir(dir) < 0)
		return nsbox_error(err, errno, "root.chdir %s", dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return nsbox_error(err, errno, "getcwd");
	return 0;
}

static int
step_rlimits(struct run_ctx *ctx, struct nsbox_err *err)
{
	for (size_t i = 0; i < ctx->p->limits.n_rlimits; i++) {
		const struct rlimit_op *r = &ctx->p->limits.rlimits[i];
		struct rlimit cur, lim = {r->soft == UINT64_MAX ? RLIM_INFINITY : r->soft,
					  r->hard == UINT64_MAX ? RLIM_INFINITY : r->hard};

		/* Never above what the host allows: clamp rather than fail. */
		if (getrlimit(r->resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
			if (lim.rlim_max > cur.rlim_max)
				lim.rlim_max = cur.rlim_max;
			if (lim.rlim_cur > lim.rlim_max)
				lim.rlim_cur = lim.rlim_max;
		}
		if (setrlimit(r->resource, &lim) < 0)
			return nsbox_error_at(err, r->origin, "limits: %s", strerror(errno));
	}
	return 0;
}

/* In a user namespace, the whole setup runs as the container's root: what
 * it creates (in /dev, in the upper) must belong to a mapped id. */
static int
step_userns_root(struct run_ctx *ctx, struct nsbox_err *err)
{
	if (!ctx->userns)
		return 0;
	if (!groups_fixed(ctx) && setgroups(0, NULL) < 0)
		return nsbox_error(err, errno, "setgroups");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return nsbox_error(err, errno, "become the container's root");
	/* An id change clears both. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* ICMP echo sockets for the container's groups in its own network
 * namespace, as podman sets net.ipv4.ping_group_range: ping works without
 * CAP_NET_RAW. The kernel wants both ends mapped in the writer's user
 * namespace: the lowest and the highest gid of the map; without one,
 * systemd's every group. Opened before /proc/sys is read-only, and from
 * inside the new namespace, which /proc/sys/net shows. A host whose /proc
 * cannot be written (nsbox in a container) or that has no IPv4 keeps the
 * kernel's default (no group). */
static void
set_ping_range(const struct run_ctx *ctx)
{
	const struct idmaps *m = &ctx->maps;
	uint64_t lo = 0, hi = 2147483647;
	char text[32];
	int fd;

	if (ctx->userns && m->n_gid) {
		lo = UINT32_MAX;
		hi = 0;
		for (size_t i = 0; i < m->n_gid; i++) {
			lo = m->gid[i].inside < lo ? m->gid[i].inside : lo;
			if ((uint64_t)m->gid[i].inside + m->gid[i].count - 1 > hi)
				hi = (uint64_t)m->gid[i].inside + m->gid[i].count - 1;
		}
		hi = hi > 2147483647 ? 2147483647 : hi;
	}
	snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)lo, (unsigned long long)hi);
	fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if ((fd < 0 || write(fd, text, strlen(text)) < 0) && ctx->verbose)
		fprintf(stderr, "nsbox: net.ipv4.ping_group_range: %s (left as it was)\n",
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int
step_sysctl(struct run_ctx *ctx, struct nsbox_err *err)
{
	(void)err;
	if (ctx->p->ns_flags & CLONE_NEWNET)
		set_ping_range(ctx);
	return 0;
}

static int
step_cgroupns(struct run_ctx *ctx, struct nsbox_err *err)
{
	if (ctx->p->ns_flags & CLONE_NEWCGROUP && unshare(CLONE_NEWCGROUP) < 0)
		return nsbox_error(err, errno, "unshare the cgroup namespace");
	return 0;
}

/* The container's namespaces, to the parent, which holds them for nsbox
 * exec by the run's own user. The kernel lets a process that is not root
 * open /proc/PID/ns/ only of processes it may ptrace (PTRACE_MODE_READ),
 * and this child, nsbox's init to be, is not dumpable and never execs: a
 * user's nsbox exec may not open its namespaces, nor (setns on a pidfd
 * checks the same) join them through it. Making it dumpable again would
 * let the container's root ptrace an unfiltered process with all the
 * capabilities of its user namespace, and reach the host's nsbox through
 * /proc/1/exe (CVE-2019-5736). So the child opens its own (a process may
 * always look into itself) and hands the fds to the parent, which stays
 * on the host, outside the container's PID namespace, as the caller's own
 * process: nsbox exec opens them through /proc/PARENT/fd/N, which the
 * kernel allows to the caller's uid and to root, and to nothing in the
 * container (it cannot name a process outside its PID namespace). Opened
 * through the host's /proc, before the pivot and once the cgroup
 * namespace is made; a namespace it cannot open is left to exec's other
 * ways (the command's), not an error of the run. */
static int
step_ns_fds(struct run_ctx *ctx, struct nsbox_err *err)
{
	static const char *const names[] = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"};

	(void)err;
	for (size_t i = 0; ctx->hold_ns && i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *path = xasprintf("/proc/self/ns/%s", names[i]);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			chan_send(ctx->chan[1], 'N', names[i], fd);
	}
	return 0;
}

static const struct step child_steps[] = {
	{"userns-root", step_userns_root},
	{"cgroupns", step_cgroupns},
	{"ns-fds", step_ns_fds},
	{"sysctl", step_sysctl},
	{"propagation", step_propagation},
	{"rootfs", step_rootfs},
	{"api-fs", step_api_fs},
	{"mounts", step_mounts},
	{"pivot", step_pivot},
	{"terminal", step_terminal},
	{"hostname", step_hostname},
	{"loopback", step_loopback},
	{"user", step_user},
	{"chdir", step_chdir},
	{"limits", step_rlimits},
};

static void __attribute__((noreturn))
child_fail(struct run_ctx *ctx, const char *step, struct nsbox_err *err)
{
	char buf[600];

	/* As on the parent side: a located message needs no step name. */
	if (err->located)
		snprintf(buf, sizeof(buf), "%s", err->msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", step, err->msg);
	chan_send(ctx->chan[1], 'E', buf, -1);
	_exit(125);
}

static int
child_main(void *arg)
{
	struct run_ctx *ctx = arg;
	struct nsbox_err err = {0};
	sigset_t halt;
	char go;
	pid_t pid;

	close(ctx->sync[1]);
	close(ctx->chan[0]);
	/* Die with nsbox; if it is already gone, the read sees EOF. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (read(ctx->sync[0], &go, 1) != 1)
		_exit(125);
	/* Not dumpable: the container must not reach nsbox's binary through
	 * /proc/1/exe (CVE-2019-5736). Only now, because an unprivileged nsbox
	 * writes the maps through /proc/PID, which this would make root's. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	close(ctx->sync[0]);
	if (ctx->by_fd && recv_host_fds(ctx, &err) < 0)
		child_fail(ctx, "host-fds", &err);
	for (size_t i = 0; i < ARRAY_SIZE(child_steps); i++) {
		if (ctx->verbose)
			fprintf(stderr, "nsbox: step %s\n", child_steps[i].name);
		if (child_steps[i].run(ctx, &err) < 0 || fault(child_steps[i].name, &err) < 0)
			child_fail(ctx, child_steps[i].name, &err);
	}
	payload_prepare(ctx);
	if (!ctx->use_init)
		payload_run(ctx);
	sigemptyset(&halt);
	sigaddset(&halt, SIGRTMIN + 3);
	sigaddset(&halt, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &halt, NULL); /* for init_loop; the payload unblocks all */
	pid = spawn_payload(ctx);
	if (pid < 0) {
		nsbox_error(&err, errno, "start the command");
		child_fail(ctx, "exec", &err);
	}
	/* The init keeps nothing: no terminal, no channel, no root. */
	close_range(0, ~0U, 0);
	init_loop(pid, ctx->p->ns_flags & CLONE_NEWPID);
}

/* --- parent side --- */

static int
step_clone(struct run_ctx *ctx, struct nsbox_err *err)
{
	/* The cgroup namespace comes later, once the child is in its cgroups:
	 * its root is the cgroup the child is in when it makes one. */
	unsigned long flags = (ctx->p->ns_flags & ~(unsigned long)CLONE_NEWCGROUP) |
			      (ctx->userns ? CLONE_NEWUSER : 0) | SIGCHLD;

	if (pipe2(ctx->sync, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctx->chan) < 0)
		return nsbox_error(err, errno, "pipe");
	fflush(NULL);
	/* The raw syscall without a new stack: the child goes on, as after
	 * fork(), on a copy of this one (no stack to allocate and size, and
	 * sanitizers see an ordinary stack). */
	ctx->pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (ctx->pid == 0)
		_exit(child_main(ctx));
	if (ctx->pid < 0)
		return nsbox_error(err, errno, "clone");
	close(ctx->sync[0]);
	close(ctx->chan[1]);
	ctx->sync[0] = ctx->chan[1] = -1;
	return 0;
}

/* The limits' cgroups, made before the container exists, and named in the
 * run's state so that gc finds them after a kill -9. */
static int
step_cgroup(struct run_ctx *ctx, struct nsbox_err *err)
{
	_cleanup_free_ char *list = xstrdup(""), *path = NULL;
	_cleanup_close_ int fd = -1;

	const struct plan *p = ctx->p;
	const struct plan_limits *l = &p->limits;
	/* a registration names the machine's unit: the run's own scope */
	bool reg = p->process.reg.value == TRI_YES ||
		   (p->process.reg.value == TRI_AUTO && geteuid() == 0);

	/* Where systemd manages the cgroups, a run that needs one gets them
	 * in a scope systemd delegates to it (nsbox(1), CGROUPS). */
	if ((l->memory.value || l->pids.value || l->cpu.value || l->io_weight.value ||
	     l->n_cgroups || !(p->ns_flags & CLONE_NEWPID) || ctx->boot || reg) &&
	    cgroup_delegate(&ctx->cg, ctx->id, err) < 0)
		return -1;
	if (cgroup_setup(l, ctx->id, &ctx->cg, err) < 0)
		return -1;
	/* Without a PID namespace, nothing ends the payload's daemons with
	 * the run: a cgroup of the run's holds them, and teardown (or gc,
	 * after a kill -9) kills it. A user nobody delegated a cgroup to,
	 * or a host with no cgroup mounted, has the init's kill_orphans
	 * only (nsbox(1)). */
	if (!(ctx->p->ns_flags & CLONE_NEWPID) && cgroup_track(&ctx->cg, ctx->id, err) < 0) {
		bool none = err->errnum == ENOENT; /* no hierarchy is mounted */

		if (!none && (geteuid() == 0 || (err->errnum != EACCES && err->errnum != EPERM &&
						 err->errnum != EROFS)))
			return -1;
		*err = (struct nsbox_err){0};
	}
	/* An init makes cgroups of its own: below one of the run's, which
	 * goes with the run, never in the caller's. */
	if (ctx->boot) {
		int i = cgroup_unified(&ctx->cg, ctx->id, err);
		const char *files[] = {"", "/cgroup.procs", "/cgroup.threads",
				       "/cgroup.subtree_control"};

		if (i < 0)
			return -1;
		for (size_t k = 0; ctx->userns && geteuid() == 0 && k < ARRAY_SIZE(files); k++) {
			_cleanup_free_ char *f = xasprintf("%s%s", ctx->cg.dir[i], files[k]);

			if (chown(f, ctx->maps.root_uid, ctx->maps.root_gid) < 0)
				return nsbox_error(err, errno, "chown %s", f);
		}
	}
	if (!ctx->cg.n)
		return 0;
	for (size_t i = 0; i < ctx->cg.n; i++) {
		char *t = xasprintf("%s%s\n", list, ctx->cg.dir[i]);

		free(list);
		list = t;
	}
	if (run_dir(ctx, err) < 0)
		return -1;
	path = xasprintf("%s/cgroups", ctx->rundir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, list, strlen(list)) != (ssize_t)strlen(list))
		return nsbox_error(err, errno, "%s", path);
	return 0;
}

/* The child waits on the sync pipe until it is in its cgroups. */
static int
step_cgroup_attach(struct run_ctx *ctx, struct nsbox_err *err)
{
	return cgroup_attach(&ctx->cg, ctx->pid, err);
}

/* The child waits on the sync pipe until its limits are set. From here,
 * in the host's user namespace, a caller with CAP_SYS_RESOURCE (root)
 * gives the container the plan's limits even above its own hard limit, as
 * systemd gives its services 524288 open files; the container's root
 * cannot, in a user namespace of its own. Where this fails (an ordinary
 * user above its own hard limit), the child's step clamps. */
static int
step_limits(struct run_ctx *ctx, struct nsbox_err *err)
{
	(void)err;
	for (size_t i = 0; i < ctx->p->limits.n_rlimits; i++) {
		const struct rlimit_op *r = &ctx->p->limits.rlimits[i];
		struct rlimit lim = {r->soft == UINT64_MAX ? RLIM_INFINITY : r->soft,
				     r->hard == UINT64_MAX ? RLIM_INFINITY : r->hard};

		(void)prlimit(ctx->pid, r->resource, &lim, NULL);
	}
	return 0;
}

/* The child waits on the sync pipe until its maps are written. */
static int
step_maps(struct run_ctx *ctx, struct nsbox_err *err)
{
	return ctx->userns ? idmaps_write(ctx->pid, &ctx->maps, err) : 0;
}

static int
step_netif(struct run_ctx *ctx, struct nsbox_err *err)
{
	return netif_setup(&ctx->p->net, ctx->pid, ctx->id, &ctx->net, err);
}

/* machinectl sees the container from here on; nspawn's RegisterMachine. */
static int
step_register(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	int r = machined_register(ctx->name, ctx->pid, ctx->lower ? ctx->lower : "/",
				  p->process.reg.value, p->process.reg.origin, err);

	if (r < 0)
		return -1;
	ctx->registered = r > 0;
	return 0;
}

/* The ns tool's pre-exec hook: on the host, once the namespaces exist and
 * before anything runs in them, with the container's pid (and a pidfd as
 * fd 3) and an environment of its own. */
static int
step_pre_exec(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	_cleanup_free_ char *pid = xasprintf("%d", (int)ctx->pid);
	_cleanup_free_ char *epid = xasprintf("NSBOX_PID=%d", (int)ctx->pid);
	_cleanup_free_ char *eid = xasprintf("NSBOX_ID=%s", ctx->id);
	_cleanup_close_ int pidfd = -1;
	char *env[8] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", epid,
			eid};
	size_t n = 3;
	int st;

	if (!p->hooks.pre_exec.value)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
	if (pidfd >= 0)
		env[n++] = "NSBOX_PIDFD=3";
	if (ctx->userns)
		env[n++] = "CLONE_NEWUSER=1";
	if (p->ns_flags & CLONE_NEWNET)
		env[n++] = "CLONE_NEWNET=1";
	st = hook_run(p->hooks.pre_exec.value, pid, env, pidfd, &ctx->interrupted, err);
	if (st < 0)
		return -1;
	if (ctx->interrupted)
		return nsbox_error(err, 0, "interrupted");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return nsbox_error_at(err, p->hooks.pre_exec.origin,
				      "hooks.pre-exec: %s exited with status %d",
				      p->hooks.pre_exec.value, WEXITSTATUS(st));
	return nsbox_error_at(err, p->hooks.pre_exec.origin,
			      "hooks.pre-exec: %s was killed by SIG%s", p->hooks.pre_exec.value,
			      sigabbrev_np(WTERMSIG(st)));
}

/* post-exit: once the container is gone, with its exit status. */
static void
post_exit(const struct plan *p, int status)
{
	_cleanup_free_ char *arg = xasprintf("%d", status);
	_cleanup_free_ char *est = xasprintf("NSBOX_STATUS=%d", status);
	char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", est,
		       NULL};
	struct nsbox_err err = {0};
	int sig, st = hook_run(p->hooks.post_exit.value, arg, env, -1, &sig, &err);

	if (st < 0)
		fprintf(stderr, "nsbox: hooks.post-exit: %s\n", err.msg);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "nsbox: %s: hooks.post-exit: %s failed (status %d)\n",
			p->hooks.post_exit.origin, p->hooks.post_exit.value,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static const struct step parent_steps[] = {
	{"state", step_state},
	{"prepare-root", step_prepare_root},
	{"cgroup", step_cgroup},
	{"clone", step_clone},
	{"cgroup-attach", step_cgroup_attach},
	{"prlimit", step_limits},
	{"maps", step_maps},
	{"host-fds", step_host_fds},
	{"netif", step_netif},
	{"register", step_register},
	{"pre-exec", step_pre_exec},
};

static void
cleanup(struct run_ctx *ctx)
{
	if (ctx->pid > 0) {
		kill(ctx->pid, SIGKILL);
		waitpid(ctx->pid, NULL, 0);
	}
	/* first: they would keep the namespaces (a moved device's) alive */
	for (size_t i = 0; i < ARRAY_SIZE(ctx->nsfd); i++)
		if (ctx->nsfd[i] >= 0)
			close(steal_fd(&ctx->nsfd[i]));
	if (ctx->registered)
		machined_unregister(ctx->name);
	{
		struct nsbox_err ferr = {0};

		fault("cleanup", &ferr); /* the container is gone, the rest is not */
	}
	relay_done(&ctx->relay);
	attach_server_done(&ctx->attach);
	if (ctx->attach.master >= 0)
		close(steal_fd(&ctx->attach.master));
	cgroup_teardown(&ctx->cg);
	/* The container is gone; its namespace lives on through these fds
	 * until moved devices are back on the host. */
	netif_teardown(&ctx->net);
	for (int i = 0; i < 2; i++) {
		if (ctx->sync[i] >= 0)
			close(ctx->sync[i]);
		if (ctx->chan[i] >= 0)
			close(ctx->chan[i]);
	}
	if (ctx->slave >= 0)
		close(ctx->slave);
	close_host_fds(ctx);
	/* Without the caller in the maps, a namespace with every id of the
	 * caller's (NULL) reaches what its own maps would not. */
	if (ctx->rundir_made)
		remove_run_dir(ctx->rundir,
			       ctx->userns && ctx->maps.caller_mapped ? &ctx->maps : NULL);
	if (ctx->scratch_made)
		remove_run_dir(ctx->scratch,
			       ctx->userns && ctx->maps.caller_mapped ? &ctx->maps : NULL);
	free(ctx->scratch);
	if (ctx->rundir)
		remove_state(ctx->rundir);
	if (ctx->lockpath && ctx->lockfd >= 0)
		unlink(ctx->lockpath);
	if (ctx->lockfd >= 0)
		close(ctx->lockfd);
	sweeper_stop(ctx); /* last: a kill during the cleanup leaves it the rest */
	free(ctx->statedir);
	free(ctx->rundir);
	free(ctx->lockpath);
	idmaps_clear(&ctx->maps);
	cache_ref_release(&ctx->cache);
	free(ctx->lower);
	free(ctx->name);
	free(ctx->newroot);
	user_info_clear(&ctx->user);
}

static void
dry_run(const struct plan *p)
{
	plan_print(p, stdout, false);
	printf("\n# steps\n");
	for (size_t i = 0; i < ARRAY_SIZE(parent_steps); i++)
		printf("# parent: %s\n", parent_steps[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(child_steps); i++)
		printf("# child: %s\n", child_steps[i].name);
	printf("# child: exec\n");
	printf("# parent: cleanup\n");
}

/* As root, a user namespace only when asked (userns = yes, or maps);
 * for anyone else always, mapping the caller to root. */
static int
decide_userns(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	uid_t uid = geteuid();
	_cleanup_fclose_ FILE *su = NULL, *sg = NULL;
	_cleanup_free_ char *num = NULL;
	const char *name;
	struct passwd *pw;
	struct stat st;

	if (p->user.userns.value == TRI_NO) {
		if (uid != 0)
			return nsbox_error_at(err, p->user.userns.origin,
					      "user.userns: without a user namespace nsbox needs "
					      "root");
		return 0;
	}
	ctx->userns = p->user.userns.value == TRI_YES || uid != 0 || p->user.n_uid_map ||
		      p->user.n_gid_map;
	if (!ctx->userns)
		return 0;
	pw = getpwuid(uid);
	name = pw ? pw->pw_name : (num = xasprintf("%u", (unsigned)uid));
	su = fopen("/etc/subuid", "re");
	sg = fopen("/etc/subgid", "re");
	/* No map, and a root of one of the caller's subordinate ids: the
	 * ownership it was made with. */
	if (uid != 0 && !p->user.n_uid_map && !p->user.n_gid_map && p->root.directory.value &&
	    stat(p->root.directory.value, &st) == 0 &&
	    idmaps_from_owner(uid, getegid(), name, st.st_uid, st.st_gid, su, sg, &ctx->maps)) {
		if (ctx->verbose)
			fprintf(stderr, "nsbox: %s belongs to %u:%u: --user-map=0:%u:%u\n",
				p->root.directory.value, (unsigned)st.st_uid, (unsigned)st.st_gid,
				ctx->maps.uid[0].outside, ctx->maps.uid[0].count);
		ctx->by_fd = !ctx->maps.caller_mapped;
		return 0;
	}
	if (su)
		rewind(su);
	if (sg)
		rewind(sg);
	if (idmaps_build(&p->user, uid, getegid(), name, su, sg, &ctx->maps, err) < 0)
		return -1;
	ctx->by_fd = !ctx->maps.caller_mapped;
	return 0;
}

/* Hooks that may not run are refused before anything exists. */
static int
check_hooks(const struct plan *p, struct nsbox_err *err)
{
	const char *why;
	/* hooks are checked before anything exists */
	if (p->hooks.pre_exec.value && (why = hook_check(p->hooks.pre_exec.value)))
		return nsbox_error_at(err, p->hooks.pre_exec.origin, "hooks.pre-exec: %s %s",
				      p->hooks.pre_exec.value, why);
	if (p->hooks.post_exit.value && (why = hook_check(p->hooks.post_exit.value)))
		return nsbox_error_at(err, p->hooks.post_exit.origin, "hooks.post-exit: %s %s",
				      p->hooks.post_exit.value, why);
	return 0;
}

int
run_plan(const struct plan *p, bool verbose, bool dryrun, bool *detached, struct nsbox_err *err)
{
	struct run_ctx ctx = {.p = p,
			      .verbose = verbose,
			      .lockfd = -1,
			      .rootfd = -1,
			      .sync = {-1, -1},
			      .chan = {-1, -1},
			      .slave = -1,
			      .net = NETIF_STATE_INIT,
			      .fd = {-1, -1, -1, -1, -1, NULL, NULL},
			      .cache = CACHE_REF_INIT,
			      .report = -1,
			      .attach = {.master = -1, .listen = -1, .client = -1},
			      .nsfd = {-1, -1, -1, -1, -1, -1, -1, -1},
			      .hold_ns = geteuid() != 0,
			      .relay = {.master = -1}};
	sigset_t set, old;
	int rc = 0;

	if (dryrun) {
		dry_run(p);
		return 0;
	}
	if (check_hooks(p, err) < 0 || decide_userns(&ctx, err) < 0)
		return -1;
	/* Blocked from before clone, so none is lost; the child inherits the
	 * mask and its init waits for them too. */
	ctx.use_init = p->process.use_init;
	ctx.boot = p->process.boot;
	ctx.use_pty = p->process.tty.value == TRI_YES ||
		      (p->process.tty.value == TRI_AUTO && isatty(STDIN_FILENO));
	if (p->process.detach.value) {
		ctx.use_pty = true; /* what nsbox attach shows */
		int d = detach(&ctx, err);

		if (d != 0) { /* the caller's side: done */
			*detached = true;
			idmaps_clear(&ctx.maps);
			return d < 0 ? -1 : 0;
		}
	}
	/* A caller that ignores SIGCHLD would make the kernel reap the
	 * container behind nsbox's back (bwrap 0.11.1). */
	signal(SIGCHLD, SIG_DFL);
	signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (size_t i = 0; i < ARRAY_SIZE(parent_steps) && rc == 0; i++) {
		if (verbose)
			fprintf(stderr, "nsbox: step %s\n", parent_steps[i].name);
		/* A message that names its profile line needs no step. */
		if ((rc = parent_steps[i].run(&ctx, err)) == 0)
			rc = fault(parent_steps[i].name, err);
		if (rc < 0 && !err->located)
			nsbox_error_prefix(err, parent_steps[i].name);
	}
	if (rc == 0)
		rc = wait_setup(&ctx, err);
	if (rc == 0)
		write_state(&ctx);
	if (rc == 0 && p->status_fd >= 0) {
		dprintf(p->status_fd,
			"{\"event\": \"started\", \"pid\": %d, \"name\": ", (int)ctx.pid);
		{
			FILE *f = fdopen(dup(p->status_fd), "w");

			if (f) {
				json_string(f, ctx.name);
				fprintf(f, ", \"id\": ");
				json_string(f, ctx.id);
				fputs("}\n", f);
				fclose(f);
			}
		}
	}
	if (ctx.report >= 0) { /* detached: tell the caller how the start went */
		_cleanup_free_ char *msg =
			rc == 0 ? xasprintf("O%s", ctx.name)
				: xasprintf("E%c%s", err->located ? 'L' : '-', err->msg);

		if (write(ctx.report, msg, strlen(msg)) < 0) {
			/* the caller is gone; the container runs on */
		}
		close(steal_fd(&ctx.report));
	}
	if (rc == 0)
		rc = monitor(&ctx, err);
	if (rc >= 0 && cgroup_oom(&ctx.cg))
		fprintf(stderr, "nsbox: the container hit its memory limit (limits.memory) and the "
				"kernel killed a process\n");
	cleanup(&ctx);
	if (rc >= 0 && p->hooks.post_exit.value)
		post_exit(p, rc);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Stopped before the container started: as if it had been killed. */
	if (rc < 0 && ctx.interrupted) {
		fprintf(stderr, "nsbox: interrupted by SIG%s before the start\n",
			sigabbrev_np(ctx.interrupted));
		return 128 + ctx.interrupted;
	}
	return rc;
}

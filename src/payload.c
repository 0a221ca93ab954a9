/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "run-ctx.h"
#include "seccomp.h"
bool
setgroups_denied(void)
{
	char buf[8] = "";
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);

	return fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && startswith(buf, "deny");
}

/* Whether groups cannot change: nsbox's own user namespace was made
 * without newgidmap, or nsbox runs in one that denies setgroups. */
bool
groups_fixed(const struct run_ctx *ctx)
{
	return ctx->maps.deny_setgroups || setgroups_denied();
}

/* --- becoming the command --- */

/* execve, and a file of no known format (no #!) run by /bin/sh. */
static void
exec_script(const char *path, char *const argv[], char *const envp[])
{
	size_t argc = 0, i = 2;

	execve(path, argv, envp);
	if (errno != ENOEXEC)
		return;
	while (argv[argc])
		argc++;
	char *sh[argc + 3];

	sh[0] = (char *)"/bin/sh";
	sh[1] = (char *)path;
	for (size_t k = 1; k < argc; k++)
		sh[i++] = argv[k];
	sh[i] = NULL;
	execve(sh[0], sh, envp);
}

void
exec_path(const char *file, char *const argv[], char *const envp[])
{
	const char *path = "/bin:/usr/bin"; /* glibc's, with no PATH at all */
	char buf[PATH_MAX];
	bool denied = false;
	size_t len = strlen(file);

	if (!len) { /* as execvpe: not a directory of PATH's */
		errno = ENOENT;
		return;
	}
	if (strchr(file, '/')) {
		exec_script(file, argv, envp);
		return;
	}
	for (char *const *e = envp; *e; e++)
		if (startswith(*e, "PATH="))
			path = *e + 5;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t n = (size_t)(end - p);

		if (n + len + 2 <= sizeof(buf)) {
			/* an empty entry is the current directory */
			memcpy(buf, n ? p : ".", n ? n : 1);
			n = n ? n : 1;
			buf[n] = '/';
			memcpy(buf + n + 1, file, len + 1);
			exec_script(buf, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
				 errno != ENODEV && errno != ETIMEDOUT)
				return;
		}
		if (!*end)
			break;
		p = end;
	}
	errno = denied ? EACCES : ENOENT;
}

int
bounding_set_keep(uint64_t keep)
{
	/* EINVAL: past the kernel's last capability */
	for (int c = 0; c < 64; c++)
		if (!(keep >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return errno == EINVAL ? 0 : -1;
	return 0;
}

void
payload_reset_signals(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} dfl = {SIG_DFL, 0, NULL, 0};
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(dfl.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void __attribute__((noreturn)) payload_exec_failed(const char *file)
{
	/* ENOENT for a file that is there: its #! names a missing program. */
	if (errno == ENOENT && strchr(file, '/') && access(file, F_OK) == 0) {
		fprintf(stderr,
			"nsbox: exec %s: bad interpreter (the #! line names a missing "
			"program)\n",
			file);
		_exit(126);
	}
	fprintf(stderr, "nsbox: exec %s: %s\n", file, strerror(errno));
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

void __attribute__((noreturn)) payload_fail(int fail_fd, const char *msg)
{
	if (fail_fd > 2) {
		if (write(fail_fd, msg, strlen(msg)) < 0)
			fprintf(stderr, "nsbox: %s\n", msg);
	} else {
		fprintf(stderr, "nsbox: %s\n", msg);
	}
	_exit(125);
}

static int
become(const struct payload *pl, struct nsbox_err *err)
{
	if (pl->filter == PAYLOAD_FILTER_DENYLIST
		    ? seccomp_default_filter(pl->may_mount, err) < 0
		    : pl->filter == PAYLOAD_FILTER_TTY && seccomp_block_tty_inject(err) < 0)
		return -1;
	if (bounding_set_keep(pl->bounding) < 0)
		return nsbox_error(err, errno, "caps: drop from bounding set");
	/* With setgroups denied the groups cannot change; the caller's own
	 * show up as nogroup. */
	if (pl->set_groups && setgroups(pl->n_groups, pl->groups) < 0)
		return nsbox_error(err, errno, "user: supplementary groups of %s", pl->who);
	if (setresgid(pl->gid, pl->gid, pl->gid) < 0 || setresuid(pl->uid, pl->uid, pl->uid) < 0)
		return nsbox_error(err, errno == EINVAL ? 0 : errno,
				   errno == EINVAL ? "user: %s (uid %u, gid %u) is not mapped in "
						     "the user namespace (see user.map)"
						   : "user: set the ids of %s",
				   pl->who, (unsigned)pl->uid, (unsigned)pl->gid);
	if (cap_set_proc(pl->caps) < 0)
		return nsbox_error(err, errno, "caps: set");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (pl->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nsbox_error(err, errno, "no-new-privileges");
	/* Cleared by the id change above: arm it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nsbox_error(err, errno, "pdeathsig");
	return 0;
}

void __attribute__((noreturn)) payload_exec(const struct payload *pl)
{
	struct nsbox_err err = {0};

	if (become(pl, &err) < 0)
		payload_fail(pl->fail_fd, err.msg);
	payload_reset_signals();
	/* Nothing but 0, 1 and 2 crosses into the command; fail_fd is
	 * O_CLOEXEC, so the exec closes it. */
	if (pl->fail_fd > 2) {
		syscall(SYS_close_range, 3U, (unsigned)pl->fail_fd - 1, 0U);
		syscall(SYS_close_range, (unsigned)pl->fail_fd + 1, ~0U, 0U);
	} else {
		syscall(SYS_close_range, 3U, ~0U, 0U);
	}
	if (fault("exec", &err) < 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "exec: %s", err.msg);
		payload_fail(pl->fail_fd, msg);
	}
	exec_path(pl->argv[0], pl->argv, pl->envp);
	payload_exec_failed(pl->argv[0]);
}

/* --- nsbox run's payload --- */

/* Whether the payload could push input into a terminal not its own with
 * TIOCSTI or TIOCLINUX, which seccomp_block_tty_inject then refuses. After
 * setsid it has no controlling terminal, and the kernel lets TIOCSTI into
 * any other only with CAP_SYS_ADMIN in the host's user namespace: what is
 * left is a terminal it holds (0, 1, 2, the pty nsbox gave it) or one it
 * may reach by a path (the host's /dev, another process's fds), and
 * CAP_SYS_ADMIN, which the bounding set keeps past any exec. */
static bool
tty_reachable(const struct run_ctx *ctx)
{
	const unsigned long own = CLONE_NEWNS | CLONE_NEWPID;

	if (ctx->slave >= 0 || !ctx->newroot || (ctx->p->ns_flags & own) != own)
		return true;
	if (!ctx->userns && ctx->p->security.caps >> CAP_SYS_ADMIN & 1)
		return true;
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			return true;
	return false;
}

/* What the payload needs that takes memory is made before it starts: it
 * may run in the init's memory (spawn_payload). */
void
payload_prepare(struct run_ctx *ctx)
{
	const struct plan *p = ctx->p;
	struct payload *pl = &ctx->pl;
	cap_value_t list[64];
	int n = 0;

	ctx->shell[0] = ctx->user.shell;
	pl->argv = p->argv && p->argv[0] ? p->argv : ctx->shell;
	pl->envp = env_build(&p->env, environ, &ctx->user);
	if (ctx->boot) /* how systemd knows it runs in a container, as in nspawn */
		env_set(&pl->envp, "container", "nsbox", true);
	pl->who = ctx->user.name;
	pl->uid = ctx->user.uid;
	pl->gid = ctx->user.gid;
	pl->groups = ctx->user.groups;
	pl->n_groups = ctx->user.n_groups;
	pl->set_groups = !groups_fixed(ctx);
	pl->bounding = p->security.caps;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (p->security.caps & (1ULL << c))
			list[n++] = c;
	/* A non-root user lost every capability with setresuid; root keeps
	 * the plan's set, and inheritable and ambient stay empty. */
	pl->caps = cap_init(); /* NULL: cap_set_proc fails, and says so */
	if (pl->caps && ctx->user.uid == 0) {
		cap_set_flag(pl->caps, CAP_EFFECTIVE, n, list, CAP_SET);
		cap_set_flag(pl->caps, CAP_PERMITTED, n, list, CAP_SET);
	}
	pl->no_new_privs = p->security.no_new_privs.value;
	/* The denylist lets the container mount when it may (CAP_SYS_ADMIN),
	 * and refuses TIOCSTI itself: one filter, one BPF program to JIT. */
	pl->filter = p->security.seccomp.value ? PAYLOAD_FILTER_DENYLIST
		     : tty_reachable(ctx)      ? PAYLOAD_FILTER_TTY
					       : PAYLOAD_FILTER_NONE;
	pl->may_mount = p->security.caps >> CAP_SYS_ADMIN & 1;
}

void __attribute__((noreturn)) payload_run(struct run_ctx *ctx)
{
	if (setsid() < 0) {
		fprintf(stderr, "nsbox: setsid: %s\n", strerror(errno));
		_exit(125);
	}
	if (ctx->slave >= 0 && (dup2(ctx->slave, 0) < 0 || dup2(ctx->slave, 1) < 0 ||
				dup2(ctx->slave, 2) < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) {
		fprintf(stderr, "nsbox: terminal: %s\n", strerror(errno));
		_exit(125);
	}
	umask(022);
	payload_exec(&ctx->pl);
}

int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

/* Without a PID namespace the kernel kills nothing when the init exits:
 * the init, a subreaper, has every orphan of the run as its child, so it
 * kills its children, reaps them and what they leave to it, until none is
 * left. A process killed cannot fork, so the rounds end. */
void
kill_orphans(void)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		bool any = false;

		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		for (char *t = buf, *e; *t; t = e) {
			long pid = strtol(t, &e, 10);

			if (e == t)
				break;
			if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
				any = true;
		}
		while (waitpid(-1, NULL, any ? 0 : WNOHANG) > 0)
			;
		if (!any && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
	}
}

/* nsbox's PID 1: forward signals to the payload, reap every orphan, exit
 * with the payload's status (with a PID namespace the kernel then kills
 * what is left; without one, kill_orphans does). */
void __attribute__((noreturn)) init_loop(pid_t child, bool pidns)
{
	sigset_t set;

	signal_set(&set);
	/* Halt and poweroff, as systemd takes them (machinectl poweroff):
	 * the command gets SIGTERM. Blocked since before the fork. */
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGRTMIN + 4);
	/* Without a PID namespace, orphans still come here, not to the host. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si), status;
		pid_t w;

		if (sig < 0 || sig == SIGWINCH)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig >= SIGRTMIN ? SIGTERM : sig);
			continue;
		}
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == child) {
				if (!pidns)
					kill_orphans();
				_exit(status_code(status));
			}
	}
}

#if defined(__SANITIZE_ADDRESS__)
#define NSBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NSBOX_ASAN 1
#endif
#endif

#ifndef NSBOX_ASAN
static int
payload_main(void *arg)
{
	payload_run(arg);
}
#endif

/* The payload starts as posix_spawn(3) starts a program: in the init's
 * memory, on a stack of its own, the init stopped until the exec
 * (CLONE_VFORK). No copy of the init's pages is made, to fault in and to
 * tear down again at the exec: 0.15 ms per run on the bench VM. Until the
 * exec it only makes system calls, on what payload_prepare made. */
pid_t
spawn_payload(struct run_ctx *ctx)
{
#ifdef NSBOX_ASAN
	/* ASan cannot follow a switch to another stack: a plain fork. */
	pid_t child = fork();

	if (child == 0)
		payload_run(ctx);
	return child;
#else
	/* As much as a process's own (a script with no #! line gets an argv
	 * copy there of up to 2 MiB); only what is touched costs. The lowest
	 * page is a guard. */
	const size_t size = 8 << 20;
	void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	pid_t pid;
	int e;

	if (stack == MAP_FAILED)
		return -1;
	if (mprotect(stack, 4096, PROT_NONE) < 0) {
		e = errno;
		munmap(stack, size);
		errno = e;
		return -1;
	}
	pid = clone(payload_main, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, ctx);
	/* Kept on success: the payload ran on this memory, maybe on another
	 * CPU, and unmapping it would cost a TLB shootdown there (about 45 us
	 * on the bench VM) for a few touched pages the init's exit frees. */
	if (pid < 0) {
		e = errno;
		munmap(stack, size);
		errno = e;
	}
	return pid;
#endif
}

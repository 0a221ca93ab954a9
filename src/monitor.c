/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "run-ctx.h"

/* Whether a run holding fd leaves room for what the rest of it opens (a
 * signalfd, a pty, hooks' pipes): a caller with few descriptors (ulimit -n
 * 16) gets a run without held namespaces, whose nsbox exec by a user then
 * fails, rather than no run. */
static bool
fd_room(int fd)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	       (rlim_t)fd + 16 < rl.rlim_cur;
}

/* Wake the child and wait until its setup is done (the channel's EOF) or
 * failed; take the pty master when it sends one. */
int
wait_setup(struct run_ctx *ctx, struct nsbox_err *err)
{
	char buf[600];
	ssize_t n;
	int fd;

	if (write(ctx->sync[1], "g", 1) != 1)
		return nsbox_error(err, errno, "wake the container");
	close(ctx->sync[1]);
	ctx->sync[1] = -1;
	while ((n = chan_recv(ctx->chan[0], buf, sizeof(buf), &fd)) > 0) {
		if (buf[0] == 'P' && fd >= 0 && ctx->report >= 0 && ctx->attach.master < 0) {
			_cleanup_free_ char *sock = xasprintf("%s/attach.sock", ctx->rundir);

			if (run_dir(ctx, err) < 0 ||
			    attach_server_init(&ctx->attach, fd, sock, err) < 0)
				return -1;
			continue;
		}
		if (buf[0] == 'P' && fd >= 0 && ctx->relay.master < 0) {
			relay_init(&ctx->relay, STDIN_FILENO, STDOUT_FILENO, fd);
			continue;
		}
		if (buf[0] == 'N' && fd >= 0 && fd_room(fd)) {
			/* held for nsbox exec (step_ns_fds), closed with the run */
			for (size_t i = 0; i < ARRAY_SIZE(ctx->nsfd) && fd >= 0; i++)
				if (ctx->nsfd[i] < 0)
					ctx->nsfd[i] = steal_fd(&fd);
		}
		if (fd >= 0)
			close(fd);
		if (buf[0] == 'E') {
			waitpid(ctx->pid, NULL, 0);
			ctx->pid = 0;
			return nsbox_error(err, 0, "%s", buf + 1);
		}
	}
	if (n < 0)
		return nsbox_error(err, errno, "setup channel");
	return 0;
}

static long
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* The monitor: forward signals, relay the pty, SIGKILL the container a
 * grace period after the first SIGTERM, and return the payload's status. */
int
monitor(struct run_ctx *ctx, struct nsbox_err *err)
{
	struct relay *r = &ctx->relay;
	_cleanup_close_ int sfd = -1;
	struct timespec deadline = {0};
	bool hup = false;
	sigset_t set;

	signal_set(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return nsbox_error(err, errno, "signalfd");
	if (r->master >= 0)
		relay_raw(r);
	for (;;) {
		struct pollfd pfd[4] = {{.fd = sfd, .events = POLLIN}};
		size_t n = 1;
		int rc, status;

		if (r->master >= 0 && !hup)
			n += relay_pollfds(r, pfd + 1);
		else if (ctx->attach.master >= 0 && !hup)
			n += attach_server_pollfds(&ctx->attach, pfd + 1);
		rc = poll(pfd, n, deadline.tv_sec ? (int)ms_until(&deadline) : -1);
		if (rc < 0 && errno != EINTR)
			return nsbox_error(err, errno, "poll");
		if (rc == 0 && deadline.tv_sec) {
			/* The grace period is over: the whole container goes. */
			kill(ctx->pid, SIGKILL);
			deadline.tv_sec = 0;
			continue;
		}
		if (rc > 0 && pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;

				if (sig == SIGWINCH) {
					if (r->master >= 0)
						relay_winsize(r);
				} else if (sig != SIGCHLD) {
					/* an init (systemd) halts on SIGRTMIN+3 and
					 * ignores SIGTERM, as nspawn knows */
					kill(ctx->pid,
					     sig == SIGTERM && ctx->boot ? SIGRTMIN + 3 : sig);
					if (sig == SIGTERM && ctx->p->process.grace.value &&
					    !deadline.tv_sec) {
						clock_gettime(CLOCK_MONOTONIC, &deadline);
						deadline.tv_sec += ctx->p->process.grace.value;
					}
				}
			}
			if (waitpid(ctx->pid, &status, WNOHANG) == ctx->pid) {
				ctx->pid = 0;
				relay_done(r);
				/* An init's reboot(2) in a PID namespace ends it
				 * with SIGINT (halt, poweroff) or SIGHUP (reboot):
				 * 0, and nspawn's 133 for a reboot. */
				if (ctx->boot && WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
					return 0;
				if (ctx->boot && WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP)
					return 133;
				return status_code(status);
			}
		}
		if (rc > 0 && n > 1 && r->master >= 0 && relay_handle(r, pfd + 1, n - 1) < 0)
			hup = true;
		else if (rc > 0 && n > 1 && ctx->attach.master >= 0 &&
			 attach_server_handle(&ctx->attach, pfd + 1, n - 1) < 0)
			hup = true;
	}
}

/* --detach: the caller's nsbox waits for the start and returns; a child
 * in a session of its own runs the container with /dev/null as its
 * standard streams. Returns 0 in that child; in the caller 1 once the
 * container runs, -1 with err when it did not start. */
int
detach(struct run_ctx *ctx, struct nsbox_err *err)
{
	int p[2], null;
	pid_t pid;
	char buf[700];
	ssize_t n, got = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return nsbox_error(err, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return nsbox_error(err, errno, "fork");
	if (pid == 0) {
		close(p[0]);
		ctx->report = p[1];
		setsid();
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		if (null > 2)
			close(null);
		return 0;
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	buf[got] = '\0';
	if (got > 0 && buf[0] == 'O') {
		printf("%s\n", buf + 1); /* the name, for nsbox attach */
		return 1;
	}
	if (got > 2 && buf[0] == 'E') {
		nsbox_error(err, 0, "%s", buf + 2);
		err->located = buf[1] == 'L';
		return -1;
	}
	return nsbox_error(err, 0, "the detached nsbox died before the container started");
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "payload.h"
#include "util.h"

const char *
hook_check(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	struct stat st, dir;

	if (*path != '/')
		return "must be an absolute path";
	if (lstat(path, &st) < 0)
		return strerror(errno);
	if (S_ISLNK(st.st_mode))
		return "is a symlink (name the file itself)";
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return "is not an executable file";
	if (geteuid() != 0)
		return NULL;
	/* root runs it: as for its profiles, only root may have written it */
	if (st.st_uid != 0 || st.st_mode & 022)
		return "is not owned by root or is writable by others";
	if (stat(dirname(copy), &dir) < 0 || dir.st_uid != 0 ||
	    (dir.st_mode & 022 && !(dir.st_mode & S_ISVTX)))
		return "is in a directory not owned by root or writable by others";
	return NULL;
}

int
hook_run(const char *path, const char *arg, char *const env[], int pidfd, int *sig,
	 struct nsbox_err *err)
{
	char *const argv[] = {(char *)path, (char *)arg, NULL};
	sigset_t set, old;
	int status = 0;
	pid_t pid;

	*sig = 0;
	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid == 0) {
		if (pidfd >= 0 && pidfd != 3 && dup2(pidfd, 3) < 0)
			_exit(127);
		if (pidfd >= 0)
			fcntl(3, F_SETFD, 0);
		syscall(SYS_close_range, pidfd >= 0 ? 4 : 3, ~0U, 0);
		payload_reset_signals();
		execve(path, argv, env);
		payload_exec_failed(path);
	}
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return nsbox_error(err, errno, "fork");
	}
	status = wait_killable(pid, sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

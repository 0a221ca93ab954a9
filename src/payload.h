/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_PAYLOAD_H
#define NSBOX_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/types.h>

/* Becoming the command, for nsbox run's payload and for what nsbox exec
 * runs: one sequence and one set of exit rules. Everything that takes
 * memory is made before: the run's payload may run in its init's memory
 * until its exec (CLONE_VM | CLONE_VFORK). */
enum payload_filter {
	PAYLOAD_FILTER_NONE,     /* no terminal it could push input into */
	PAYLOAD_FILTER_TTY,      /* TIOCSTI and TIOCLINUX refused */
	PAYLOAD_FILTER_DENYLIST, /* security.seccomp: the denylist, TIOCSTI in it */
};

struct payload {
	char **argv, **envp;
	const char *who; /* the user's name, for messages */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	bool set_groups;   /* false: they cannot change (setgroups denied) */
	uint64_t bounding; /* the bounding set it keeps */
	cap_t caps;        /* its permitted and effective sets; NULL fails */
	bool no_new_privs;
	enum payload_filter filter;
	bool may_mount; /* the denylist lets mount through (CAP_SYS_ADMIN) */
	int fail_fd;    /* above 2: nsbox's own failure is said there, not on stderr */
};

/* In this order: the filter (while CAP_SYS_ADMIN is there: the kernel
 * takes one without it only under no-new-privileges), the bounding set,
 * groups, gid, uid, capabilities (ambient cleared), no-new-privileges, the
 * parent-death signal again, every signal disposition and the mask back
 * to the default, fds from 3 closed, and the exec (PATH searched in envp).
 * nsbox's own failure exits 125 with one line (on fail_fd when it is one,
 * which stays open until the exec: nsbox exec tells its own failure from
 * the command's 125 so); the command's exec failing 127 (not found) or 126
 * (cannot execute). */
void __attribute__((noreturn)) payload_exec(const struct payload *pl);

/* Every signal disposition to the default, 32 and 33 too, which glibc's
 * signal() refuses to touch but a caller (make, for one) may have
 * ignored; and an empty mask. */
void payload_reset_signals(void);

/* nsbox's own failure before the exec: msg on fail_fd when it is above 2,
 * else as one line on stderr; exits 125. */
void __attribute__((noreturn)) payload_fail(int fail_fd, const char *msg);

/* After a failed execve of file: one line, and 127 or 126. */
void __attribute__((noreturn)) payload_exec_failed(const char *file);

/* Whether this process's user namespace denies setgroups (uid 0 of
 * `unshare -r`, a rootless container's), which its children inherit. */
bool setgroups_denied(void);

/* execvpe(3), but FILE is looked up in envp's PATH, the one the command
 * gets, not in nsbox's own as glibc's does. As execvpe: an empty entry is
 * the current directory, EACCES is kept while the search goes on, and a
 * file of no known format is run by /bin/sh. It allocates nothing (it runs
 * in a child sharing its parent's memory). Returns only on failure. */
void exec_path(const char *file, char *const argv[], char *const envp[]);

/* Drop from the bounding set every capability the kernel knows (which
 * may be more than this build's headers name) that keep does not have.
 * System calls only: safe in a vfork child. -1 with errno on failure. */
int bounding_set_keep(uint64_t keep);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* The executor's context and what its rooms share (src/README): run.c
 * (the spine: step tables, clone, the small steps, run_plan), state.c
 * (the run registry), rootfs.c (the root and the mounts), payload.c
 * (becoming the command; PID 1), monitor.c (the run's life, detach).
 * Internal: only those files include it. */
#ifndef NSBOX_RUN_CTX_H
#define NSBOX_RUN_CTX_H

#include <stdbool.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "cache.h"
#include "cgroup.h"
#include "env.h"
#include "attach.h"
#include "netif.h"
#include "payload.h"
#include "plan.h"
#include "relay.h"
#include "userns.h"
#include "util.h"

#ifndef RUNDIR
#define RUNDIR "/run/nsbox"
#endif

extern char **environ;

struct run_ctx {
	const struct plan *p;
	bool verbose;
	char *statedir; /* RUNDIR, or the caller's own when unprivileged */
	char id[13];    /* this run's: statedir/ID.lock, ID.json and maybe ID/ */
	char *rundir;   /* statedir/ID, made only when a run needs it */
	bool rundir_made;
	/* Where an ephemeral or tarball root's upper and work are: on disk,
	 * SCRATCH/ID (scratch_base()), not in statedir, which is in memory
	 * on most hosts (a tmpfs /run); NULL: the run directory. */
	char *scratch;
	bool scratch_made;
	char *lockpath;
	int lockfd;
	pid_t sweeper; /* removes the run's leftovers if nsbox is killed; 0: none */
	char *newroot; /* where the root is assembled; NULL: the host root */
	int rootfd;
	int sync[2];  /* parent -> child: go (EOF: the parent died) */
	int chan[2];  /* child -> parent: 'E' error, 'P' pty master, 'N' a namespace;
		       * EOF: setup done */
	int nsfd[8];  /* the container's namespaces, held for nsbox exec; -1: none */
	bool hold_ns; /* hold them: the caller is not root (root's exec opens the init's) */
	pid_t pid;
	struct user_info user;
	bool use_init; /* nsbox's init is PID 1; else the payload is */
	bool use_pty;
	int slave; /* the pty's container end, in the child */
	struct relay relay;
	bool userns;
	struct idmaps maps;
	/* The caller is not in the maps, so the container's root may not
	 * reach what is the caller's alone (the state directory, its home):
	 * the child finds host paths through fds nsbox opened before the
	 * clone (hostfd), never by name. */
	bool by_fd;
	struct hostfds {
		int newroot, lower, run, upper, work;
		int *overlays; /* one per plan overlay */
		int *srcs;     /* one per plan mount: a bind's source, or -1 */
	} fd;
	struct netif_state net;
	struct cache_ref cache; /* a tarball root's cached tree */
	char *lower;            /* the bottom layer: root.directory or that tree */
	int interrupted;        /* a signal that stopped nsbox before the start */
	struct cgroups cg;
	char *name; /* process.name, or PROFILE-PID */
	int report; /* detached: to the caller, "OK" or the error; else -1 */
	struct attach_server attach;
	bool registered;   /* with systemd-machined */
	bool boot;         /* the command is an init (systemd), PID 1 */
	struct payload pl; /* the command, made before it starts */
	char *shell[2];    /* the user's shell, when the plan has no command */
};

struct step {
	const char *name;
	int (*run)(struct run_ctx *ctx, struct nsbox_err *err);
};

#ifdef NSBOX_FAULTS
/* Test builds only: NSBOX_FAULT=STEP:fail or STEP:stop (run.c). */
int fault(const char *step, struct nsbox_err *err);
#else
static inline int
fault(const char *step, struct nsbox_err *err)
{
	(void)step;
	(void)err;
	return 0;
}
#endif

/* run.c: the spine */
void signal_set(sigset_t *set);
ssize_t chan_recv(int sock, char *buf, size_t size, int *fd);
int chan_send(int sock, char tag, const char *text, int fd);

/* state.c: the run registry */
void remove_run_dir(const char *dir, const struct idmaps *m);
void remove_state(const char *dir);
int step_state(struct run_ctx *ctx, struct nsbox_err *err);
/* Kill and reap the run's sweeper: nsbox has removed the run itself. */
void sweeper_stop(struct run_ctx *ctx);
int run_dir(struct run_ctx *ctx, struct nsbox_err *err);
/* The caller's directory for uppers on disk: CACHE/scratch (nsbox cache
 * dir), made with make, or NULL where it is not one only the caller can
 * change (then the uppers go in the run directory) or, without make, is
 * not there. */
char *scratch_base(bool make);
/* The run's upper directory on disk, SCRATCH/ID, with run_dir's modes; or,
 * where there is no scratch base, the run directory. */
int scratch_dir(struct run_ctx *ctx, struct nsbox_err *err);
void write_state(const struct run_ctx *ctx);
int gc_stale(const char *statedir, bool dry_run);
int state_dir(struct run_ctx *ctx, struct nsbox_err *err);

/* rootfs.c: the root */
void close_host_fds(struct run_ctx *ctx);
int step_host_fds(struct run_ctx *ctx, struct nsbox_err *err);
int recv_host_fds(struct run_ctx *ctx, struct nsbox_err *err);
int step_prepare_root(struct run_ctx *ctx, struct nsbox_err *err);
int step_propagation(struct run_ctx *ctx, struct nsbox_err *err);
int step_rootfs(struct run_ctx *ctx, struct nsbox_err *err);
int step_api_fs(struct run_ctx *ctx, struct nsbox_err *err);
int step_mounts(struct run_ctx *ctx, struct nsbox_err *err);
int step_pivot(struct run_ctx *ctx, struct nsbox_err *err);
char *host_path(const struct run_ctx *ctx, const char *path, int fd, const char *sub);
int mkdir_in_run(struct run_ctx *ctx, const char *name, char **out, struct nsbox_err *err);

/* payload.c: the command */
bool groups_fixed(const struct run_ctx *ctx);
void payload_prepare(struct run_ctx *ctx);
void __attribute__((noreturn)) payload_run(struct run_ctx *ctx);
int status_code(int status);
void kill_orphans(void);
pid_t spawn_payload(struct run_ctx *ctx);
void __attribute__((noreturn)) init_loop(pid_t child, bool pidns);

/* monitor.c: the run's life */
int wait_setup(struct run_ctx *ctx, struct nsbox_err *err);
int monitor(struct run_ctx *ctx, struct nsbox_err *err);
int detach(struct run_ctx *ctx, struct nsbox_err *err);

#endif

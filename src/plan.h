/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_PLAN_H
#define NSBOX_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "value.h"

/* One setting from one source: a profile line, the command line or the
 * built-in defaults. origin is "FILE:LINE", "command line" or "default". */
struct entry {
	char *section, *key, *value, *origin;
};

/* The settings of one source, in order. */
struct layer {
	struct entry *v;
	size_t n, cap;
};

void layer_add(struct layer *l, const char *section, const char *key, const char *value,
	       const char *origin);
/* Move every entry of src to the end of dst. */
void layer_move(struct layer *dst, struct layer *src);
void layer_free(struct layer *l);

/* Is section.key (or, with key NULL, the section) part of the profile
 * format? 0 if so; otherwise -1 and a message (with a "did you mean" hint
 * when one is close) in msg. */
int plan_key_check(const char *section, const char *key, char *msg, size_t size);

enum plan_scalar {
	PK_DESCRIPTION,
	PK_DIRECTORY,
	PK_TARBALL,
	PK_EPHEMERAL,
	PK_UPPER,
	PK_HOSTNAME,
	PK_CHDIR,
	PK_NS_MOUNT,
	PK_NS_PID,
	PK_NS_IPC,
	PK_NS_UTS,
	PK_NS_NET,
	PK_NS_CGROUP,
	PK_GATEWAY,
	PK_USER,
	PK_USERNS,
	PK_ENV_CLEAR,
	PK_MEMORY,
	PK_PIDS,
	PK_CPU,
	PK_IO_WEIGHT,
	PK_SHM_SIZE,
	PK_NOFILE,
	PK_NPROC,
	PK_CORE,
	PK_STACK,
	PK_FSIZE,
	PK_MEMLOCK,
	PK_AS,
	PK_NNP,
	PK_SECCOMP,
	PK_INIT,
	PK_GRACE,
	PK_TTY,
	PK_DETACH,
	PK_PRE_EXEC,
	PK_POST_EXIT,
	PK_NAME,
	PK_REGISTER,
	PK__COUNT
};

enum plan_list {
	PL_OVERLAY,
	PL_MOUNT,
	PL_NETIF,
	PL_ADDRESS,
	PL_ADDRESS_OUT,
	PL_IDMAP,
	PL_ENV,
	PL_CAPS,
	PL_CGROUP,
	PL__COUNT
};

/* A value parsed from its text by the key's parser, once, at merge time;
 * which member holds it is the parser's business (plan.c). */
union pvalue {
	bool b;
	enum tristate tri;
	uint64_t u;
	unsigned milli;
	struct {
		uint64_t soft, hard;
	} rlim;
	struct {
		int family;
		unsigned char addr[16];
	} ip;
	struct {
		uint64_t set, clear; /* capabilities: bits turned on, bits turned off */
	} caps;
	struct mount_op mount;
	struct netif_op netif;
	struct addr_op addr;
	struct idmap idmap;
};

struct pscalar {
	char *text, *origin; /* text NULL: not set */
	union pvalue v;
};

struct pitem {
	char *key, *text, *origin;
	union pvalue v; /* owns what a mount, netif or address holds */
};

struct plist {
	struct pitem *v;
	size_t n, cap;
	char *cleared; /* origin of the empty value that last cleared the list */
};

/* A typed setting and where its value came from ("FILE:LINE", "command
 * line", "default"). origin NULL: not set, and the value is NULL, 0 or no. */
struct setting_str {
	const char *value, *origin;
};
struct setting_bool {
	bool value;
	const char *origin;
};
struct setting_tri {
	enum tristate value;
	const char *origin;
};
struct setting_u64 {
	uint64_t value;
	const char *origin;
};

struct env_var {
	char *key;
	const char *value, *origin;
};

struct rlimit_op {
	int resource;
	uint64_t soft, hard; /* UINT64_MAX: unlimited */
	const char *origin;
};

/* [root] and [mount]: the root and what is mounted on it. */
struct plan_root {
	struct setting_str directory, tarball, upper, hostname, chdir;
	struct setting_bool ephemeral;
	struct setting_str *overlays; /* read-only layers, lowest first */
	size_t n_overlays;
	struct mount_op *mounts; /* applied in order */
	size_t n_mounts;
};

/* [network]: interfaces, addresses and the gateway (the namespace itself is
 * CLONE_NEWNET in plan.ns_flags). */
struct plan_net {
	struct netif_op *netifs;
	size_t n_netifs;
	struct addr_op *addrs, *addrs_out; /* inside, and on the host's veth ends */
	size_t n_addrs, n_addrs_out;
	struct {
		int family; /* 0: no gateway */
		unsigned char addr[16];
		const char *origin;
	} gateway;
};

/* [user]: who runs the command, and the user namespace with its maps. */
struct plan_user {
	struct setting_str name; /* user.user: a name or a uid; NULL: root */
	struct setting_tri userns;
	struct idmap *uid_map, *gid_map; /* both or neither, once validated */
	size_t n_uid_map, n_gid_map;
};

/* [env]: the command's environment. */
struct plan_env {
	struct setting_bool clear;
	struct env_var *vars; /* one per variable: a later setting replaced an earlier */
	size_t n_vars;
};

/* [limits]: cgroup limits, resource limits and /dev/shm's size. */
struct plan_limits {
	struct setting_u64 memory;    /* bytes; UINT64_MAX: max; 0: no limit */
	struct setting_u64 pids;      /* UINT64_MAX: max; 0: no limit */
	struct setting_u64 cpu;       /* milli-CPUs; 0: no limit */
	struct setting_u64 io_weight; /* 1-10000 as cgroup v2 io.weight; 0: not set */
	struct setting_u64 shm_size;  /* bytes */
	struct rlimit_op rlimits[7];
	size_t n_rlimits;
	struct setting_str *cgroups; /* pflask's --cgroup: controllers with no limit */
	size_t n_cgroups;
};

/* [security] */
struct plan_security {
	uint64_t caps; /* bit N: keep capability N (the origins are in the text list) */
	struct setting_bool no_new_privs, seccomp;
};

/* [process] */
struct plan_process {
	struct setting_tri init, tty, reg;
	struct setting_bool detach;
	struct setting_u64 grace; /* seconds from SIGTERM to SIGKILL */
	struct setting_str name;  /* NULL: PROFILE-PID, or nsbox-PID */
	bool use_init;            /* nsbox's init is PID 1; else the command is */
	bool boot;                /* the command is an init (systemd), booted as PID 1 */
};

/* [hooks] */
struct plan_hooks {
	struct setting_str pre_exec, post_exit;
};

struct plan {
	/* What was merged: the winning text and origin of each setting, and
	 * its value as parsed. */
	struct pscalar scalar[PK__COUNT];
	struct plist list[PL__COUNT];

	/* The same, typed and grouped by section, filled by plan_validate();
	 * all the executor reads. Strings point into the texts above. */
	unsigned long ns_flags; /* CLONE_NEW*, without CLONE_NEWUSER */
	struct plan_root root;
	struct plan_net net;
	struct plan_user user;
	struct plan_env env;
	struct plan_limits limits;
	struct plan_security security;
	struct plan_process process;
	struct plan_hooks hooks;

	const char *profile; /* the last profile named, for the default name */
	int status_fd;       /* --json-status-fd, or -1 */
	char **argv;         /* the command, set before plan_validate; NULL: the user's shell */
};

/* A plan holding only the built-in defaults. */
struct plan *plan_new(void);
void plan_free(struct plan *p);
void plan_freep(struct plan **p);
#define _cleanup_plan_ __attribute__((cleanup(plan_freep)))

/* Fold a layer into the plan: scalars take the last value, lists append,
 * an empty value clears a list. Each bad value adds one message to d.
 * Returns the number of messages added. */
size_t plan_merge(struct plan *p, const struct layer *l, struct diag *d);

/* What pflask decides by its flags, for a run without a profile: a network
 * namespace only with network settings (--netif), the environment cleared
 * only with a root (--chroot; --keepenv keeps it). Added to out, to be
 * merged before cmdline; named profiles keep the hardened defaults. */
#define PLAN_PFLASK_ORIGIN "no profile: pflask's default"
void plan_pflask_layer(const struct layer *cmdline, struct layer *out);

/* Check the merged plan as a whole (contradictions, overlaps, what the
 * command needs) and fill the typed fields: with none added, run_plan has
 * nothing of the plan's own to refuse. An init as argv[0] is booted with
 * systemd-nspawn's capabilities in place of the default ones (the profile's
 * +CAP and -CAP still apply). Returns the number of messages added to d. */
size_t plan_validate(struct plan *p, struct diag *d);

/* Print the plan as INI with "# origin" comments, or as JSON. The output is
 * stable: golden tests compare it byte for byte. */
void plan_print(const struct plan *p, FILE *f, bool json);
/* The merged value of the scalar SECTION.KEY (what show prints for it,
 * defaults included), NULL when it has none. *why is NULL, or says why
 * the name is not that of a scalar key. */
const char *plan_get(const struct plan *p, const char *name, const char **why);
/* Every SECTION.KEY a profile may set, one per line (shell completion). */
void plan_print_keys(FILE *f);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "idmap.h"
#include "plan.h"
#include "util.h"

/* The profile format, in the order `nsbox show` prints it. */
enum ktype {
	T_STR,
	T_PATH,
	T_BOOL,
	T_TRI,
	T_HOSTNAME,
	T_USER,
	T_IP,
	T_SIZE,
	T_SIZE_MAX,
	T_PIDS,
	T_CPU,
	T_WEIGHT,
	T_RLIM,
	T_RLIM_SIZE,
	T_SECONDS,
	T_INCLUDE,
	L_PATH,
	L_MOUNT,
	L_NETIF,
	L_ADDR,
	L_IDMAP,
	L_CAPS,
	L_NAME,
};

#define K_ALIAS 1u /* shares its setting with another key; not printed */

struct keydef {
	const char *section, *key;
	enum ktype type;
	int idx; /* enum plan_scalar, or enum plan_list for L_* types */
	const char *dflt;
	unsigned flags;
};

static const struct keydef keys[] = {
	{"profile", "description", T_STR, PK_DESCRIPTION, NULL, 0},
	{"profile", "include", T_INCLUDE, -1, NULL, 0},
	{"root", "directory", T_PATH, PK_DIRECTORY, NULL, 0},
	{"root", "tarball", T_PATH, PK_TARBALL, NULL, 0},
	{"root", "ephemeral", T_BOOL, PK_EPHEMERAL, "no", 0},
	{"root", "overlay", L_PATH, PL_OVERLAY, NULL, 0},
	{"root", "upper", T_PATH, PK_UPPER, NULL, 0},
	{"root", "hostname", T_HOSTNAME, PK_HOSTNAME, NULL, 0},
	{"root", "chdir", T_PATH, PK_CHDIR, NULL, 0},
	{"mount", "bind", L_MOUNT, PL_MOUNT, NULL, 0},
	{"mount", "bind-ro", L_MOUNT, PL_MOUNT, NULL, 0},
	{"mount", "tmp", L_MOUNT, PL_MOUNT, NULL, 0},
	{"mount", "overlay", L_MOUNT, PL_MOUNT, NULL, 0},
	{"network", "private", T_BOOL, PK_NS_NET, NULL, K_ALIAS},
	{"network", "netif", L_NETIF, PL_NETIF, NULL, 0},
	{"network", "address", L_ADDR, PL_ADDRESS, NULL, 0},
	{"network", "address-outside", L_ADDR, PL_ADDRESS_OUT, NULL, 0},
	{"network", "gateway", T_IP, PK_GATEWAY, NULL, 0},
	{"user", "user", T_USER, PK_USER, NULL, 0},
	{"user", "userns", T_TRI, PK_USERNS, "auto", 0},
	{"user", "map", L_IDMAP, PL_IDMAP, NULL, 0},
	{"user", "uid-map", L_IDMAP, PL_IDMAP, NULL, 0},
	{"user", "gid-map", L_IDMAP, PL_IDMAP, NULL, 0},
	{"namespaces", "mount", T_BOOL, PK_NS_MOUNT, "yes", 0},
	{"namespaces", "pid", T_BOOL, PK_NS_PID, "yes", 0},
	{"namespaces", "ipc", T_BOOL, PK_NS_IPC, "yes", 0},
	{"namespaces", "uts", T_BOOL, PK_NS_UTS, "yes", 0},
	{"namespaces", "net", T_BOOL, PK_NS_NET, "yes", 0},
	{"namespaces", "cgroup", T_BOOL, PK_NS_CGROUP, "yes", 0},
	{"env", "clear", T_BOOL, PK_ENV_CLEAR, "yes", 0},
	{"limits", "memory", T_SIZE_MAX, PK_MEMORY, NULL, 0},
	{"limits", "pids", T_PIDS, PK_PIDS, NULL, 0},
	{"limits", "cpu", T_CPU, PK_CPU, NULL, 0},
	{"limits", "io-weight", T_WEIGHT, PK_IO_WEIGHT, NULL, 0},
	{"limits", "shm-size", T_SIZE, PK_SHM_SIZE, "64M", 0},
	{"limits", "nofile", T_RLIM, PK_NOFILE, "1024:524288", 0},
	{"limits", "nproc", T_RLIM, PK_NPROC, NULL, 0},
	{"limits", "core", T_RLIM_SIZE, PK_CORE, NULL, 0},
	{"limits", "stack", T_RLIM_SIZE, PK_STACK, NULL, 0},
	{"limits", "fsize", T_RLIM_SIZE, PK_FSIZE, NULL, 0},
	{"limits", "memlock", T_RLIM_SIZE, PK_MEMLOCK, NULL, 0},
	{"limits", "as", T_RLIM_SIZE, PK_AS, NULL, 0},
	{"limits", "cgroup", L_NAME, PL_CGROUP, NULL, 0},
	{"security", "capabilities", L_CAPS, PL_CAPS, NULL, 0},
	{"security", "no-new-privileges", T_BOOL, PK_NNP, "yes", 0},
	{"security", "seccomp", T_BOOL, PK_SECCOMP, "no", 0},
	{"process", "init", T_TRI, PK_INIT, "auto", 0},
	{"process", "grace", T_SECONDS, PK_GRACE, "10", 0},
	{"process", "tty", T_TRI, PK_TTY, "auto", 0},
	{"process", "name", T_HOSTNAME, PK_NAME, NULL, 0},
	{"process", "detach", T_BOOL, PK_DETACH, "no", 0},
	{"process", "register", T_TRI, PK_REGISTER, "auto", 0},
	{"hooks", "pre-exec", T_PATH, PK_PRE_EXEC, NULL, 0},
	{"hooks", "post-exit", T_PATH, PK_POST_EXIT, NULL, 0},
};

/* podman's default set (containers.conf default_capabilities): enough for
 * apt, dpkg and dpkg-buildpackage as container root. */
static const char *const default_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
	"CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
	"CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT",
};

static const char *const list_names[PL__COUNT] = {
	[PL_OVERLAY] = "overlay",
	[PL_MOUNT] = "mounts",
	[PL_NETIF] = "netif",
	[PL_ADDRESS] = "address",
	[PL_ADDRESS_OUT] = "address-outside",
	[PL_IDMAP] = "maps",
	[PL_ENV] = "variables",
	[PL_CAPS] = "capabilities",
	[PL_CGROUP] = "cgroup",
};

void
layer_add(struct layer *l, const char *section, const char *key, const char *value,
	  const char *origin)
{
	struct entry *e;

	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	e->section = xstrdup(section);
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->origin = xstrdup(origin);
}

void
layer_move(struct layer *dst, struct layer *src)
{
	if (src->n) {
		xgrow(&dst->v, &dst->cap, dst->n + src->n, sizeof(*dst->v));
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
		dst->n += src->n;
	}
	free(src->v);
	memset(src, 0, sizeof(*src));
}

void
layer_free(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].section);
		free(l->v[i].key);
		free(l->v[i].value);
		free(l->v[i].origin);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const struct keydef *
key_find(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].section, section) && streq(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static bool
section_known(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].section, section))
			return true;
	return false;
}

/* The closest name within an edit distance of 2, for "did you mean". */
static const char *
closest(const char *word, const char *section)
{
	const char *best = NULL;
	unsigned bestd = 3;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *cand = section ? keys[i].key : keys[i].section;
		unsigned dist;

		if (section && !streq(keys[i].section, section))
			continue;
		dist = edit_distance(word, cand);
		if (dist < bestd) {
			bestd = dist;
			best = cand;
		}
	}
	return best;
}

int
plan_key_check(const char *section, const char *key, char *msg, size_t size)
{
	_cleanup_free_ char *s = str_escape(section), *k = str_escape(key ? key : "");
	const char *hint;

	if (!section_known(section)) {
		hint = closest(section, NULL);
		snprintf(msg, size, "unknown section [%s]%s%s%s", s, hint ? " (did you mean [" : "",
			 hint ? hint : "", hint ? "]?)" : "");
		return -1;
	}
	if (!key || streq(section, "env") || key_find(section, key))
		return 0;
	hint = closest(key, section);
	if (hint) {
		snprintf(msg, size, "unknown key '%s' in [%s] (did you mean '%s'?)", k, s, hint);
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (streq(keys[i].key, key)) {
			snprintf(msg, size, "unknown key '%s' in [%s] (did you mean [%s] %s?)", k,
				 s, keys[i].section, key);
			return -1;
		}
	}
	snprintf(msg, size, "unknown key '%s' in [%s]", k, s);
	return -1;
}

static const char *
check_caps(const char *v)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;

	/* pflask's --caps form: a comma-separated list of [+-]NAME or [+-]all. */
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int cap;

		if (*t == '+' || *t == '-')
			t++;
		if (!streq(t, "all") && value_cap(t, &cap))
			return "unknown capability (expected names such as CAP_CHOWN, or all)";
	}
	return NULL;
}

/* Check one value of a key; NULL if it is valid. */
static const char *
check_value(const struct keydef *kd, const char *v)
{
	uint64_t u, u2;
	unsigned m;
	bool b;
	enum tristate t;
	int fam;
	unsigned char addr[16];
	const char *e;

	switch (kd->type) {
	case T_STR:
		return NULL;
	case T_PATH:
	case L_PATH:
		return value_abspath(v);
	case T_BOOL:
		return value_bool(v, &b);
	case T_TRI:
		return value_tristate(v, &t);
	case T_HOSTNAME:
		return value_hostname(v);
	case T_USER:
		return strpbrk(v, ":/ \t\n") ? "expected a user name or a numeric uid" : NULL;
	case T_IP:
		return value_ipaddr(v, &fam, addr);
	case T_SIZE:
		return value_size(v, false, &u);
	case T_SIZE_MAX:
		return value_size(v, true, &u);
	case T_PIDS:
		if (streq(v, "max"))
			return NULL;
		return value_uint(v, 1, 4194304, &u) ? "expected a number from 1 to 4194304, or max"
						     : NULL;
	case T_CPU:
		return value_cpu(v, &m);
	case T_WEIGHT:
		return value_uint(v, 1, 10000, &u)
			       ? "expected a weight from 1 to 10000 (100 is the "
				 "default)"
			       : NULL;
	case T_RLIM:
	case T_RLIM_SIZE:
		return value_rlimit(v, kd->type == T_RLIM_SIZE, &u, &u2);
	case T_SECONDS:
		return value_uint(v, 0, 3600, &u) ? "expected a number of seconds from 0 to 3600"
						  : NULL;
	case T_INCLUDE:
		return "include is only valid in a profile (use --profile)";
	case L_MOUNT: {
		struct mount_op op;

		e = value_mount(kd->key, v, &op);
		mount_op_clear(&op);
		return e;
	}
	case L_NETIF: {
		struct netif_op op;

		e = value_netif(v, &op);
		netif_op_clear(&op);
		return e;
	}
	case L_ADDR: {
		struct addr_op op;

		e = value_addr(v, &op);
		free(op.ifname);
		return e;
	}
	case L_IDMAP: {
		struct idmap im;

		return idmap_parse(v, &im);
	}
	case L_CAPS:
		return check_caps(v);
	case L_NAME:
		return strspn(v, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(v)
			       ? NULL
			       : "expected a controller name such as memory or pids";
	}
	return "internal error: unknown type";
}

static void
plist_clear(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].text);
		free(l->v[i].origin);
	}
	l->n = 0;
}

static void
plist_add(struct plist *l, const char *key, const char *text, const char *origin)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].text = xstrdup(text);
	l->v[l->n].origin = xstrdup(origin);
	l->n++;
}

static void
scalar_set(struct pscalar *s, const char *text, const char *origin)
{
	free(s->text);
	free(s->origin);
	s->text = s->origin = NULL;
	if (!text || !origin)
		return;
	s->text = xstrdup(text);
	s->origin = xstrdup(origin);
}

static bool
clears_to_unset(enum ktype t)
{
	return t == T_STR || t == T_PATH || t == T_HOSTNAME || t == T_USER || t == T_IP ||
	       t == T_SIZE_MAX || t == T_PIDS || t == T_CPU || t == T_RLIM || t == T_RLIM_SIZE;
}

static void
bad_value(struct diag *d, const struct entry *e, const char *why)
{
	_cleanup_free_ char *v = str_escape(e->value), *s = str_escape(e->section),
			    *k = str_escape(e->key);

	diag_add(d, "%s: %s.%s: '%s': %s", e->origin, s, k, v, why);
}

static void
merge_env(struct plan *p, const struct entry *e, struct diag *d)
{
	const char *why;

	/* An empty key is what --setenv= (no value) produces: clear the list. */
	if (!*e->key) {
		plist_clear(&p->list[PL_ENV]);
		free(p->list[PL_ENV].cleared);
		p->list[PL_ENV].cleared = xstrdup(e->origin);
		return;
	}
	if ((why = value_envkey(e->key))) {
		_cleanup_free_ char *k = str_escape(e->key);

		diag_add(d, "%s: env.%s: %s", e->origin, k, why);
		return;
	}
	plist_add(&p->list[PL_ENV], e->key, e->value, e->origin);
}

static void
merge_one(struct plan *p, const struct entry *e, struct diag *d)
{
	const struct keydef *kd = key_find(e->section, e->key);
	const char *why;
	char msg[256];

	if (!kd && streq(e->section, "env")) {
		merge_env(p, e, d);
		return;
	}
	if (!kd) {
		plan_key_check(e->section, e->key, msg, sizeof(msg));
		diag_add(d, "%s: %s", e->origin, msg);
		return;
	}
	if (kd->type >= L_PATH && !*e->value) {
		struct plist *l = &p->list[kd->idx];

		plist_clear(l);
		free(l->cleared);
		l->cleared = xstrdup(e->origin);
		return;
	}
	if (!*e->value && clears_to_unset(kd->type)) {
		scalar_set(&p->scalar[kd->idx], NULL, NULL);
		return;
	}
	if ((why = check_value(kd, e->value))) {
		bad_value(d, e, why);
		return;
	}
	if (kd->type >= L_PATH)
		plist_add(&p->list[kd->idx], e->key, e->value, e->origin);
	else
		scalar_set(&p->scalar[kd->idx], e->value, e->origin);
}

size_t
plan_merge(struct plan *p, const struct layer *l, struct diag *d)
{
	size_t before = d->n;

	for (size_t i = 0; i < l->n; i++)
		merge_one(p, &l->v[i], d);
	return d->n - before;
}

struct plan *
plan_new(void)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	struct layer defaults = {0};

	p->status_fd = -1;
	struct diag d = {0};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].dflt)
			layer_add(&defaults, keys[i].section, keys[i].key, keys[i].dflt, "default");
	for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
		layer_add(&defaults, "security", "capabilities", default_caps[i], "default");
	plan_merge(p, &defaults, &d);
	if (d.n) {
		fprintf(stderr, "nsbox: internal error: bad default: %s\n", d.msgs[0]);
		abort();
	}
	layer_free(&defaults);
	return p;
}

static void
typed_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		mount_op_clear(&p->mounts[i]);
	for (size_t i = 0; i < p->n_netifs; i++)
		netif_op_clear(&p->netifs[i]);
	for (size_t i = 0; i < p->n_addrs; i++)
		free(p->addrs[i].ifname);
	for (size_t i = 0; i < p->n_addrs_out; i++)
		free(p->addrs_out[i].ifname);
	free(p->mounts);
	free(p->netifs);
	free(p->addrs);
	free(p->addrs_out);
	free(p->uid_map);
	free(p->gid_map);
	free(p->env);
	free(p->overlays);
	free(p->cgroups);
	p->mounts = NULL;
	p->netifs = NULL;
	p->addrs = p->addrs_out = NULL;
	p->uid_map = p->gid_map = NULL;
	p->env = NULL;
	p->overlays = p->cgroups = NULL;
	p->n_mounts = p->n_netifs = p->n_addrs = p->n_addrs_out = 0;
	p->n_uid_map = p->n_gid_map = p->n_env = p->n_overlays = p->n_cgroups = 0;
	p->n_rlimits = 0;
}

void
plan_free(struct plan *p)
{
	if (!p)
		return;
	typed_free(p);
	for (size_t i = 0; i < PK__COUNT; i++)
		scalar_set(&p->scalar[i], NULL, NULL);
	for (size_t i = 0; i < PL__COUNT; i++) {
		plist_clear(&p->list[i]);
		free(p->list[i].v);
		free(p->list[i].cleared);
	}
	strv_free(p->argv);
	free(p);
}

void
plan_freep(struct plan **p)
{
	plan_free(*p);
}

/* --- validation: the plan as a whole, and its typed form --- */

static const char *
sval(const struct plan *p, enum plan_scalar k)
{
	return p->scalar[k].text;
}

static const char *
sorigin(const struct plan *p, enum plan_scalar k)
{
	return p->scalar[k].origin;
}

static bool
sbool(const struct plan *p, enum plan_scalar k)
{
	bool b = false;

	if (sval(p, k))
		value_bool(sval(p, k), &b);
	return b;
}

/* "a.conf:3: root.ephemeral: conflicts with root.upper (command line)" */
static void
conflict(struct diag *d, const char *o1, const char *k1, const char *o2, const char *k2,
	 const char *why)
{
	diag_add(d, "%s: %s: conflicts with %s (%s): %s", o1, k1, k2, o2, why);
}

static void
derive_ns(struct plan *p)
{
	static const struct {
		enum plan_scalar k;
		unsigned long flag;
	} ns[] = {
		{PK_NS_MOUNT, CLONE_NEWNS}, {PK_NS_PID, CLONE_NEWPID},
		{PK_NS_IPC, CLONE_NEWIPC},  {PK_NS_UTS, CLONE_NEWUTS},
		{PK_NS_NET, CLONE_NEWNET},  {PK_NS_CGROUP, CLONE_NEWCGROUP},
	};

	p->ns_flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		if (sbool(p, ns[i].k))
			p->ns_flags |= ns[i].flag;
}

/* nsbox's init is PID 1 unless process.init says otherwise or, with auto,
 * the command is an init itself, which is then booted as in nspawn. */
static bool
want_init(const struct plan *p)
{
	const char *base;

	if (p->init != TRI_AUTO)
		return p->init == TRI_YES;
	if (!p->argv || !p->argv[0])
		return true;
	base = strrchr(p->argv[0], '/');
	base = base ? base + 1 : p->argv[0];
	return !streq(base, "init") && !streq(base, "systemd");
}

static void
derive_scalars(struct plan *p)
{
	static const struct {
		enum plan_scalar k;
		int res;
		bool size;
	} rl[] = {
		{PK_NOFILE, RLIMIT_NOFILE, false}, {PK_NPROC, RLIMIT_NPROC, false},
		{PK_CORE, RLIMIT_CORE, true},      {PK_STACK, RLIMIT_STACK, true},
		{PK_FSIZE, RLIMIT_FSIZE, true},    {PK_MEMLOCK, RLIMIT_MEMLOCK, true},
		{PK_AS, RLIMIT_AS, true},
	};
	uint64_t u = 0;

	derive_ns(p);
	p->rootfs = sval(p, PK_DIRECTORY);
	p->tarball = sval(p, PK_TARBALL);
	p->upper = sval(p, PK_UPPER);
	p->hostname = sval(p, PK_HOSTNAME);
	p->chdir = sval(p, PK_CHDIR);
	p->user = sval(p, PK_USER);
	p->pre_exec = sval(p, PK_PRE_EXEC);
	p->name = sval(p, PK_NAME);
	p->post_exit = sval(p, PK_POST_EXIT);
	p->ephemeral = sbool(p, PK_EPHEMERAL);
	p->env_clear = sbool(p, PK_ENV_CLEAR);
	p->no_new_privs = sbool(p, PK_NNP);
	p->seccomp = sbool(p, PK_SECCOMP);
	p->detach = sbool(p, PK_DETACH);
	value_tristate(sval(p, PK_USERNS), &p->userns);
	value_tristate(sval(p, PK_INIT), &p->init);
	value_tristate(sval(p, PK_TTY), &p->tty);
	value_tristate(sval(p, PK_REGISTER), &p->reg);
	p->use_init = want_init(p);
	p->origin.tarball = sorigin(p, PK_TARBALL);
	p->origin.upper = sorigin(p, PK_UPPER);
	p->origin.userns = sorigin(p, PK_USERNS);
	p->origin.gateway = sorigin(p, PK_GATEWAY);
	p->origin.memory = sorigin(p, PK_MEMORY);
	p->origin.pids = sorigin(p, PK_PIDS);
	p->origin.cpu = sorigin(p, PK_CPU);
	p->origin.io_weight = sorigin(p, PK_IO_WEIGHT);
	p->origin.name = sorigin(p, PK_NAME);
	p->origin.reg = sorigin(p, PK_REGISTER);
	p->origin.pre_exec = sorigin(p, PK_PRE_EXEC);
	p->origin.post_exit = sorigin(p, PK_POST_EXIT);
	p->boot = p->init == TRI_AUTO && !p->use_init;
	p->memory = p->pids = 0;
	if (sval(p, PK_MEMORY))
		value_size(sval(p, PK_MEMORY), true, &p->memory);
	if (sval(p, PK_PIDS) && value_uint(sval(p, PK_PIDS), 1, 4194304, &p->pids))
		p->pids = UINT64_MAX; /* "max" */
	value_size(sval(p, PK_SHM_SIZE), false, &p->shm_size);
	p->io_weight = 0;
	if (sval(p, PK_IO_WEIGHT))
		value_uint(sval(p, PK_IO_WEIGHT), 1, 10000, &p->io_weight);
	p->cpu_milli = 0;
	if (sval(p, PK_CPU))
		value_cpu(sval(p, PK_CPU), &p->cpu_milli);
	value_uint(sval(p, PK_GRACE), 0, 3600, &u);
	p->grace = (unsigned)u;
	p->gw_family = 0;
	if (sval(p, PK_GATEWAY))
		value_ipaddr(sval(p, PK_GATEWAY), &p->gw_family, p->gateway);
	for (size_t i = 0; i < ARRAY_SIZE(rl); i++) {
		struct rlimit_op *r = &p->rlimits[p->n_rlimits];

		if (!sval(p, rl[i].k))
			continue;
		r->resource = rl[i].res;
		r->origin = sorigin(p, rl[i].k);
		value_rlimit(sval(p, rl[i].k), rl[i].size, &r->soft, &r->hard);
		p->n_rlimits++;
	}
}

/* systemd-nspawn's default set: what an init booted in the container
 * (systemd) needs to mount its file systems and run services. */
static const char *const boot_caps[] = {
	"CAP_AUDIT_CONTROL",
	"CAP_AUDIT_WRITE",
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_IPC_OWNER",
	"CAP_KILL",
	"CAP_LEASE",
	"CAP_LINUX_IMMUTABLE",
	"CAP_MKNOD",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_RAW",
	"CAP_SETFCAP",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_CHROOT",
	"CAP_SYS_NICE",
	"CAP_SYS_PTRACE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TTY_CONFIG",
};

/* The capability list applied in order; when an init is booted, nspawn's
 * set takes the place of the default one. */
static void
derive_caps(struct plan *p)
{
	const struct plist *l = &p->list[PL_CAPS];
	bool boot = p->boot;

	p->caps = 0;
	for (size_t i = 0; boot && i < ARRAY_SIZE(boot_caps); i++) {
		int cap = 0;

		/* one nsbox itself cannot have is left out, as nspawn does */
		if (!value_cap(boot_caps[i], &cap) && cap < 64 && prctl(PR_CAPBSET_READ, cap) == 1)
			p->caps |= 1ULL << cap;
	}
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *copy = xstrdup(l->v[i].text);
		char *save = NULL;

		if (boot && streq(l->v[i].origin, "default"))
			continue;

		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			bool drop = *t == '-';
			uint64_t bits;
			int cap = 0;

			if (*t == '+' || *t == '-')
				t++;
			if (streq(t, "all"))
				bits = ~0ULL;
			else if (!value_cap(t, &cap) && cap < 64)
				bits = 1ULL << cap;
			else
				continue;
			p->caps = drop ? p->caps & ~bits : p->caps | bits;
		}
	}
}

static void
derive_env(struct plan *p)
{
	const struct plist *l = &p->list[PL_ENV];

	p->env = xcalloc(l->n, sizeof(*p->env));
	for (size_t i = 0; i < l->n; i++) {
		size_t j;

		/* A later setting of the same variable replaces the earlier. */
		for (j = 0; j < p->n_env; j++)
			if (streq(p->env[j].key, l->v[i].key))
				break;
		if (j == p->n_env)
			p->n_env++;
		p->env[j].key = l->v[i].key;
		p->env[j].value = l->v[i].text;
		p->env[j].origin = l->v[i].origin;
	}
}

static void
derive_lists(struct plan *p)
{
	const struct plist *l;

	l = &p->list[PL_OVERLAY];
	p->overlays = xcalloc(l->n, sizeof(char *));
	for (size_t i = 0; i < l->n; i++)
		p->overlays[p->n_overlays++] = l->v[i].text;
	l = &p->list[PL_CGROUP];
	p->cgroups = xcalloc(l->n, sizeof(char *));
	for (size_t i = 0; i < l->n; i++)
		p->cgroups[p->n_cgroups++] = l->v[i].text;
	l = &p->list[PL_MOUNT];
	p->mounts = xcalloc(l->n, sizeof(*p->mounts));
	for (size_t i = 0; i < l->n; i++)
		if (!value_mount(l->v[i].key, l->v[i].text, &p->mounts[p->n_mounts]))
			p->mounts[p->n_mounts++].origin = l->v[i].origin;
	l = &p->list[PL_NETIF];
	p->netifs = xcalloc(l->n, sizeof(*p->netifs));
	for (size_t i = 0; i < l->n; i++)
		if (!value_netif(l->v[i].text, &p->netifs[p->n_netifs]))
			p->netifs[p->n_netifs++].origin = l->v[i].origin;
	l = &p->list[PL_ADDRESS];
	p->addrs = xcalloc(l->n, sizeof(*p->addrs));
	for (size_t i = 0; i < l->n; i++)
		if (!value_addr(l->v[i].text, &p->addrs[p->n_addrs]))
			p->addrs[p->n_addrs++].origin = l->v[i].origin;
	l = &p->list[PL_ADDRESS_OUT];
	p->addrs_out = xcalloc(l->n, sizeof(*p->addrs_out));
	for (size_t i = 0; i < l->n; i++)
		if (!value_addr(l->v[i].text, &p->addrs_out[p->n_addrs_out]))
			p->addrs_out[p->n_addrs_out++].origin = l->v[i].origin;
	l = &p->list[PL_IDMAP];
	p->uid_map = xcalloc(l->n, sizeof(*p->uid_map));
	p->gid_map = xcalloc(l->n, sizeof(*p->gid_map));
	for (size_t i = 0; i < l->n; i++) {
		struct idmap m;

		if (idmap_parse(l->v[i].text, &m))
			continue;
		m.origin = l->v[i].origin;
		if (!streq(l->v[i].key, "gid-map"))
			p->uid_map[p->n_uid_map++] = m;
		if (!streq(l->v[i].key, "uid-map"))
			p->gid_map[p->n_gid_map++] = m;
	}
	derive_caps(p);
	derive_env(p);
}

static void
check_maps(const struct plan *p, struct diag *d)
{
	const struct {
		const struct idmap *m;
		size_t n;
		const char *what;
	} maps[] = {{p->uid_map, p->n_uid_map, "uid"}, {p->gid_map, p->n_gid_map, "gid"}};

	/* user.map sets both; uid-map and gid-map come in pairs. */
	if (!p->n_uid_map != !p->n_gid_map) {
		const struct idmap *e = p->n_uid_map ? p->uid_map : p->gid_map;
		const char *has = p->n_uid_map ? "uid" : "gid",
			   *lacks = p->n_uid_map ? "gid" : "uid";

		diag_add(d, "%s: user.%s-map: a %s map needs a %s map too (user.map sets both)",
			 e->origin, has, has, lacks);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		long k;

		if (maps[i].n > IDMAP_MAX_EXTENTS)
			diag_add(d, "%s: user.map: more than %d %s map extents",
				 maps[i].m[IDMAP_MAX_EXTENTS].origin, IDMAP_MAX_EXTENTS,
				 maps[i].what);
		for (int outside = 0; outside < 2; outside++)
			if ((k = idmap_overlap(maps[i].m, maps[i].n, outside)) >= 0)
				diag_add(d, "%s: user.map: %s %s range overlaps an earlier extent",
					 maps[i].m[k].origin, outside ? "host" : "container",
					 maps[i].what);
	}
}

static bool
netif_named(const struct plan *p, const char *name, bool outside)
{
	for (size_t i = 0; i < p->n_netifs; i++) {
		const struct netif_op *n = &p->netifs[i];

		if (!outside && streq(n->name, name))
			return true;
		if (outside && n->kind == NETIF_VETH && n->dev && streq(n->dev, name))
			return true;
	}
	return !outside && streq(name, "lo");
}

static void
check_network(const struct plan *p, struct diag *d)
{
	bool have4 = false, have6 = false;

	if (!(p->ns_flags & CLONE_NEWNET) && p->n_netifs)
		conflict(d, p->netifs[0].origin, "network.netif", sorigin(p, PK_NS_NET),
			 "namespaces.net = no", "interfaces need a private network namespace");
	for (size_t i = 0; i < p->n_netifs; i++) {
		for (size_t j = 0; j < i; j++) {
			if (streq(p->netifs[i].name, p->netifs[j].name))
				diag_add(d, "%s: network.netif: interface name '%s' is used twice",
					 p->netifs[i].origin, p->netifs[i].name);
			else if (p->netifs[i].kind == NETIF_VETH &&
				 p->netifs[j].kind == NETIF_VETH && p->netifs[i].dev &&
				 p->netifs[j].dev && streq(p->netifs[i].dev, p->netifs[j].dev))
				diag_add(d, "%s: network.netif: host name '%s' is used twice",
					 p->netifs[i].origin, p->netifs[i].dev);
		}
	}
	for (size_t i = 0; i < p->n_addrs; i++) {
		if (!netif_named(p, p->addrs[i].ifname, false))
			diag_add(d, "%s: network.address: no container interface '%s'",
				 p->addrs[i].origin, p->addrs[i].ifname);
		have4 |= p->addrs[i].family == AF_INET;
		have6 |= p->addrs[i].family == AF_INET6;
	}
	for (size_t i = 0; i < p->n_addrs_out; i++)
		if (!netif_named(p, p->addrs_out[i].ifname, true))
			diag_add(d,
				 "%s: network.address-outside: no veth with host name '%s' "
				 "(auto names cannot be addressed)",
				 p->addrs_out[i].origin, p->addrs_out[i].ifname);
	if (p->gw_family &&
	    !((p->gw_family == AF_INET && have4) || (p->gw_family == AF_INET6 && have6)))
		diag_add(d, "%s: network.gateway: no container address of the same family",
			 sorigin(p, PK_GATEWAY));
}

/* The first origin of anything that needs a mount namespace. */
static const char *
needs_mountns(const struct plan *p, const char **what)
{
	static const struct {
		enum plan_scalar k;
		const char *name;
	} s[] = {{PK_DIRECTORY, "root.directory"},
		 {PK_TARBALL, "root.tarball"},
		 {PK_UPPER, "root.upper"}};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		if (sval(p, s[i].k)) {
			*what = s[i].name;
			return sorigin(p, s[i].k);
		}
	}
	if (p->ephemeral) {
		*what = "root.ephemeral";
		return sorigin(p, PK_EPHEMERAL);
	}
	if (p->n_overlays) {
		*what = "root.overlay";
		return p->list[PL_OVERLAY].v[0].origin;
	}
	if (p->n_mounts) {
		*what = "mount";
		return p->mounts[0].origin;
	}
	return NULL;
}

/* An overlay on the host root is not supported: the layers need a root. */
static void
check_root(const struct plan *p, struct diag *d)
{
	static const char why[] = "needs root.directory or root.tarball (an overlay on the "
				  "host root is not supported)";

	if (p->rootfs || p->tarball)
		return;
	if (p->ephemeral)
		diag_add(d, "%s: root.ephemeral: %s", sorigin(p, PK_EPHEMERAL), why);
	if (p->upper)
		diag_add(d, "%s: root.upper: %s", sorigin(p, PK_UPPER), why);
	if (p->n_overlays)
		diag_add(d, "%s: root.overlay: %s", p->list[PL_OVERLAY].v[0].origin, why);
}

/* Booting an init (process.init = auto, the command an init) as nspawn does. */
static void
check_boot(const struct plan *p, struct diag *d)
{
	const unsigned long need = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWCGROUP;

	if (p->boot && ((p->ns_flags & need) != need || (!p->rootfs && !p->tarball)))
		diag_add(d,
			 "command line: process.init: %s is an init: booting it needs a root "
			 "(root.directory or root.tarball) and mount, pid and cgroup namespaces",
			 p->argv[0]);
}

static void
check_conflicts(const struct plan *p, struct diag *d)
{
	const char *o, *what = NULL;

	if (p->rootfs && p->tarball)
		conflict(d, sorigin(p, PK_TARBALL), "root.tarball", sorigin(p, PK_DIRECTORY),
			 "root.directory", "a root is a directory or a tarball, not both");
	if (p->ephemeral && p->upper)
		conflict(d, sorigin(p, PK_UPPER), "root.upper", sorigin(p, PK_EPHEMERAL),
			 "root.ephemeral = yes", "an ephemeral root has no persistent upper");
	if (!(p->ns_flags & CLONE_NEWNS) && (o = needs_mountns(p, &what)))
		conflict(d, o, what, sorigin(p, PK_NS_MOUNT), "namespaces.mount = no",
			 "this needs a mount namespace");
	if (!(p->ns_flags & CLONE_NEWUTS) && p->hostname)
		conflict(d, sorigin(p, PK_HOSTNAME), "root.hostname", sorigin(p, PK_NS_UTS),
			 "namespaces.uts = no", "a hostname needs a UTS namespace");
	if (!(p->ns_flags & CLONE_NEWPID) && p->init == TRI_YES)
		conflict(d, sorigin(p, PK_INIT), "process.init = yes", sorigin(p, PK_NS_PID),
			 "namespaces.pid = no", "nsbox's init needs a PID namespace");
	if (p->userns == TRI_NO && p->list[PL_IDMAP].n)
		conflict(d, p->list[PL_IDMAP].v[0].origin, "user.map", sorigin(p, PK_USERNS),
			 "user.userns = no", "maps need a user namespace");
	if (p->memory == 0 && sval(p, PK_MEMORY))
		diag_add(d, "%s: limits.memory: must be more than 0", sorigin(p, PK_MEMORY));
	check_root(p, d);
	check_boot(p, d);
}

size_t
plan_validate(struct plan *p, struct diag *d)
{
	size_t before = d->n;

	typed_free(p);
	derive_scalars(p);
	derive_lists(p);
	check_conflicts(p, d);
	check_network(p, d);
	check_maps(p, d);
	return d->n - before;
}

/* --- printing --- */

/* One line per key: a value with a control byte (a newline, from the
 * command line) is shown escaped, as \xNN, since a profile cannot hold it. */
static void
print_line(FILE *f, const char *key, const char *text, const char *origin)
{
	bool plain = true;

	for (const char *c = text; *c && plain; c++)
		plain = (unsigned char)*c >= 0x20 && *c != 0x7f;
	if (plain) {
		fprintf(f, "%s = %s  # %s\n", key, text, origin);
	} else {
		_cleanup_free_ char *e = str_escape(text);

		fprintf(f, "%s = %s  # %s\n", key, e, origin);
	}
}

static void
print_item(FILE *f, bool json, bool *first, const char *key, const char *text, const char *origin)
{
	if (!json) {
		print_line(f, key, text, origin);
		return;
	}
	fprintf(f, "%s\n      {\"key\": ", *first ? "" : ",");
	json_string(f, key);
	fputs(", \"value\": ", f);
	json_string(f, text);
	fputs(", \"origin\": ", f);
	json_string(f, origin);
	fputc('}', f);
	*first = false;
}

/* A variable set again later: show prints the value that takes effect. */
static bool
overridden(const struct plist *l, enum plan_list idx, size_t i)
{
	if (idx != PL_ENV)
		return false;
	for (size_t j = i + 1; j < l->n; j++)
		if (streq(l->v[j].key, l->v[i].key))
			return true;
	return false;
}

static void
print_list(const struct plan *p, FILE *f, bool json, bool *first, enum plan_list idx)
{
	const struct plist *l = &p->list[idx];
	bool ifirst = true, unused = true;

	if (!json) {
		if (l->cleared)
			fprintf(f, "# %s cleared at %s\n", list_names[idx], l->cleared);
		for (size_t i = 0; i < l->n; i++)
			if (!overridden(l, idx, i))
				print_item(f, false, &unused, l->v[i].key, l->v[i].text,
					   l->v[i].origin);
		return;
	}
	fprintf(f, "%s\n    ", *first ? "" : ",");
	json_string(f, list_names[idx]);
	fputs(": [", f);
	for (size_t i = 0; i < l->n; i++)
		if (!overridden(l, idx, i))
			print_item(f, true, &ifirst, l->v[i].key, l->v[i].text, l->v[i].origin);
	fputs(l->n ? "\n    ]" : "]", f);
	*first = false;
}

static void
print_scalar(const struct pscalar *s, const char *key, FILE *f, bool json, bool *first)
{
	if (!json) {
		print_line(f, key, s->text, s->origin);
		return;
	}
	fprintf(f, "%s\n    ", *first ? "" : ",");
	json_string(f, key);
	fputs(": {\"value\": ", f);
	json_string(f, s->text);
	fputs(", \"origin\": ", f);
	json_string(f, s->origin);
	fputc('}', f);
	*first = false;
}

static bool
printable(const struct plan *p, const struct keydef *kd)
{
	if (kd->flags & K_ALIAS || kd->type == T_INCLUDE)
		return false;
	if (kd->type < L_PATH)
		return p->scalar[kd->idx].text != NULL;
	return true; /* lists: JSON prints empty ones as [] */
}

static bool
section_empty(const struct plan *p, const char *section)
{
	if (streq(section, "env") && p->list[PL_ENV].n)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct keydef *kd = &keys[i];

		if (!streq(kd->section, section) || !printable(p, kd))
			continue;
		if (kd->type < L_PATH || p->list[kd->idx].n || p->list[kd->idx].cleared)
			return false;
	}
	return true;
}

void
plan_print(const struct plan *p, FILE *f, bool json)
{
	const char *section = NULL;
	bool sfirst = true, kfirst = true;
	unsigned printed_lists = 0;

	fputs(json ? "{" : "", f);
	for (size_t i = 0; i <= ARRAY_SIZE(keys); i++) {
		const struct keydef *kd = i < ARRAY_SIZE(keys) ? &keys[i] : NULL;

		/* [env] ends with its variables, which have no keydef. */
		if ((!kd || !streq(kd->section, section ? section : "")) && section &&
		    streq(section, "env"))
			print_list(p, f, json, &kfirst, PL_ENV);
		if (!kd)
			break;
		if (!json && (!section || !streq(section, kd->section)) &&
		    section_empty(p, kd->section)) {
			section = kd->section;
			continue;
		}
		if (!section || !streq(section, kd->section)) {
			if (json)
				fprintf(f, "%s%s\n  \"%s\": {", section ? "\n  }" : "",
					sfirst ? "" : ",", kd->section);
			else
				fprintf(f, "%s[%s]\n", sfirst ? "" : "\n", kd->section);
			section = kd->section;
			sfirst = false;
			kfirst = true;
		}
		if (!printable(p, kd))
			continue;
		if (kd->type < L_PATH) {
			print_scalar(&p->scalar[kd->idx], kd->key, f, json, &kfirst);
		} else if (!(printed_lists & (1u << kd->idx))) {
			printed_lists |= 1u << kd->idx;
			print_list(p, f, json, &kfirst, (enum plan_list)kd->idx);
		}
	}
	fputs(json ? "\n  }\n}\n" : "", f);
}

const char *
plan_get(const struct plan *p, const char *name, const char **why)
{
	const char *dot = strchr(name, '.');
	_cleanup_free_ char *section = dot ? xstrndup(name, (size_t)(dot - name)) : NULL;
	const struct keydef *k = dot ? key_find(section, dot + 1) : NULL;

	*why = NULL;
	if (!k) {
		*why = "no such key (see nsbox show --keys)";
		return NULL;
	}
	if (k->idx < 0 || k->type >= L_PATH) {
		*why = "a list, or not a value of the plan: see nsbox show";
		return NULL;
	}
	return sval(p, (enum plan_scalar)k->idx);
}

void
plan_print_keys(FILE *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		fprintf(f, "%s.%s\n", keys[i].section, keys[i].key);
}

void
plan_pflask_layer(const struct layer *cmdline, struct layer *out)
{
	bool net = false, root = false;

	for (size_t i = 0; i < cmdline->n; i++) {
		const struct entry *e = &cmdline->v[i];

		net |= streq(e->section, "network");
		root |= streq(e->section, "root") &&
			(streq(e->key, "directory") || streq(e->key, "tarball")) && *e->value;
	}
	layer_add(out, "namespaces", "net", net ? "yes" : "no", PLAN_PFLASK_ORIGIN);
	layer_add(out, "env", "clear", root ? "yes" : "no", PLAN_PFLASK_ORIGIN);
}

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

/* --- the profile format: each key with its parser --- */

#define K_LIST  1u /* repeatable: each value appends, an empty one clears the list */
#define K_UNSET 2u /* an empty value unsets it */
#define K_ALIAS 4u /* shares its setting with another key; not printed */

struct keydef {
	const char *section, *key;
	/* Parse text into *out, where plan_validate finds it: NULL if the
	 * value is valid, else why not (out then holds nothing to free). */
	const char *(*parse)(const struct keydef *kd, const char *text, union pvalue *out);
	int idx; /* enum plan_scalar, or enum plan_list with K_LIST; -1: none */
	const char *dflt;
	unsigned flags;
};

static const char *
parse_text(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)v, (void)out;
	return NULL;
}

static const char *
parse_path(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)out;
	return value_abspath(v);
}

static const char *
parse_bool(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_bool(v, &out->b);
}

static const char *
parse_tri(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_tristate(v, &out->tri);
}

static const char *
parse_hostname(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)out;
	return value_hostname(v);
}

static const char *
parse_user(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)out;
	return strpbrk(v, ":/ \t\n") ? "expected a user name or a numeric uid" : NULL;
}

static const char *
parse_ip(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_ipaddr(v, &out->ip.family, out->ip.addr);
}

static const char *
parse_size(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_size(v, false, &out->u);
}

static const char *
parse_size_max(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_size(v, true, &out->u);
}

static const char *
parse_pids(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	if (streq(v, "max")) {
		out->u = UINT64_MAX;
		return NULL;
	}
	return value_uint(v, 1, 4194304, &out->u) ? "expected a number from 1 to 4194304, or max"
						  : NULL;
}

static const char *
parse_cpu(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_cpu(v, &out->milli);
}

static const char *
parse_weight(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_uint(v, 1, 10000, &out->u)
		       ? "expected a weight from 1 to 10000 (100 is the default)"
		       : NULL;
}

static const char *
parse_rlimit(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_rlimit(v, false, &out->rlim.soft, &out->rlim.hard);
}

static const char *
parse_rlimit_size(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_rlimit(v, true, &out->rlim.soft, &out->rlim.hard);
}

static const char *
parse_seconds(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_uint(v, 0, 3600, &out->u) ? "expected a number of seconds from 0 to 3600"
					       : NULL;
}

static const char *
parse_include(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)v, (void)out;
	return "include is only valid in a profile (use --profile)";
}

static const char *
parse_mount(const struct keydef *kd, const char *v, union pvalue *out)
{
	const char *e = value_mount(kd->key, v, &out->mount);

	if (e)
		mount_op_clear(&out->mount);
	return e;
}

static const char *
parse_netif(const struct keydef *kd, const char *v, union pvalue *out)
{
	const char *e = value_netif(v, &out->netif);

	(void)kd;
	if (e)
		netif_op_clear(&out->netif);
	return e;
}

static const char *
parse_addr(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return value_addr(v, &out->addr);
}

static const char *
parse_idmap(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd;
	return idmap_parse(v, &out->idmap);
}

/* pflask's --caps form: a comma-separated list of [+-]NAME or [+-]all,
 * applied in order; what it turns on and off, of the first 64. */
static const char *
parse_caps(const struct keydef *kd, const char *v, union pvalue *out)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;

	(void)kd;
	out->caps.set = out->caps.clear = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool drop = *t == '-';
		uint64_t bits = 0;
		int cap = 0;

		if (*t == '+' || *t == '-')
			t++;
		if (streq(t, "all"))
			bits = ~0ULL;
		else if (value_cap(t, &cap))
			return "unknown capability (expected names such as CAP_CHOWN, or all)";
		else if (cap < 64)
			bits = 1ULL << cap;
		out->caps.set = drop ? out->caps.set & ~bits : out->caps.set | bits;
		out->caps.clear = drop ? out->caps.clear | bits : out->caps.clear & ~bits;
	}
	return NULL;
}

static const char *
parse_controller(const struct keydef *kd, const char *v, union pvalue *out)
{
	(void)kd, (void)out;
	return strspn(v, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(v)
		       ? NULL
		       : "expected a controller name such as memory or pids";
}

/* The profile format, in the order `nsbox show` prints it. */
static const struct keydef keys[] = {
	{"profile", "description", parse_text, PK_DESCRIPTION, NULL, K_UNSET},
	{"profile", "include", parse_include, -1, NULL, 0},
	{"root", "directory", parse_path, PK_DIRECTORY, NULL, K_UNSET},
	{"root", "tarball", parse_path, PK_TARBALL, NULL, K_UNSET},
	{"root", "ephemeral", parse_bool, PK_EPHEMERAL, "no", 0},
	{"root", "overlay", parse_path, PL_OVERLAY, NULL, K_LIST},
	{"root", "upper", parse_path, PK_UPPER, NULL, K_UNSET},
	{"root", "hostname", parse_hostname, PK_HOSTNAME, NULL, K_UNSET},
	{"root", "chdir", parse_path, PK_CHDIR, NULL, K_UNSET},
	{"mount", "bind", parse_mount, PL_MOUNT, NULL, K_LIST},
	{"mount", "bind-ro", parse_mount, PL_MOUNT, NULL, K_LIST},
	{"mount", "tmp", parse_mount, PL_MOUNT, NULL, K_LIST},
	{"mount", "overlay", parse_mount, PL_MOUNT, NULL, K_LIST},
	{"network", "private", parse_bool, PK_NS_NET, NULL, K_ALIAS},
	{"network", "netif", parse_netif, PL_NETIF, NULL, K_LIST},
	{"network", "address", parse_addr, PL_ADDRESS, NULL, K_LIST},
	{"network", "address-outside", parse_addr, PL_ADDRESS_OUT, NULL, K_LIST},
	{"network", "gateway", parse_ip, PK_GATEWAY, NULL, K_UNSET},
	{"user", "user", parse_user, PK_USER, NULL, K_UNSET},
	{"user", "userns", parse_tri, PK_USERNS, "auto", 0},
	{"user", "map", parse_idmap, PL_IDMAP, NULL, K_LIST},
	{"user", "uid-map", parse_idmap, PL_IDMAP, NULL, K_LIST},
	{"user", "gid-map", parse_idmap, PL_IDMAP, NULL, K_LIST},
	{"namespaces", "mount", parse_bool, PK_NS_MOUNT, "yes", 0},
	{"namespaces", "pid", parse_bool, PK_NS_PID, "yes", 0},
	{"namespaces", "ipc", parse_bool, PK_NS_IPC, "yes", 0},
	{"namespaces", "uts", parse_bool, PK_NS_UTS, "yes", 0},
	{"namespaces", "net", parse_bool, PK_NS_NET, "yes", 0},
	{"namespaces", "cgroup", parse_bool, PK_NS_CGROUP, "yes", 0},
	{"env", "clear", parse_bool, PK_ENV_CLEAR, "yes", 0},
	{"limits", "memory", parse_size_max, PK_MEMORY, NULL, K_UNSET},
	{"limits", "pids", parse_pids, PK_PIDS, NULL, K_UNSET},
	{"limits", "cpu", parse_cpu, PK_CPU, NULL, K_UNSET},
	{"limits", "io-weight", parse_weight, PK_IO_WEIGHT, NULL, 0},
	{"limits", "shm-size", parse_size, PK_SHM_SIZE, "64M", 0},
	{"limits", "nofile", parse_rlimit, PK_NOFILE, "1024:524288", K_UNSET},
	{"limits", "nproc", parse_rlimit, PK_NPROC, NULL, K_UNSET},
	{"limits", "core", parse_rlimit_size, PK_CORE, NULL, K_UNSET},
	{"limits", "stack", parse_rlimit_size, PK_STACK, NULL, K_UNSET},
	{"limits", "fsize", parse_rlimit_size, PK_FSIZE, NULL, K_UNSET},
	{"limits", "memlock", parse_rlimit_size, PK_MEMLOCK, NULL, K_UNSET},
	{"limits", "as", parse_rlimit_size, PK_AS, NULL, K_UNSET},
	{"limits", "cgroup", parse_controller, PL_CGROUP, NULL, K_LIST},
	{"security", "capabilities", parse_caps, PL_CAPS, NULL, K_LIST},
	{"security", "no-new-privileges", parse_bool, PK_NNP, "yes", 0},
	{"security", "seccomp", parse_bool, PK_SECCOMP, "no", 0},
	{"process", "init", parse_tri, PK_INIT, "auto", 0},
	{"process", "grace", parse_seconds, PK_GRACE, "10", 0},
	{"process", "tty", parse_tri, PK_TTY, "auto", 0},
	{"process", "name", parse_hostname, PK_NAME, NULL, K_UNSET},
	{"process", "detach", parse_bool, PK_DETACH, "no", 0},
	{"process", "register", parse_tri, PK_REGISTER, "auto", 0},
	{"hooks", "pre-exec", parse_path, PK_PRE_EXEC, NULL, K_UNSET},
	{"hooks", "post-exit", parse_path, PK_POST_EXIT, NULL, K_UNSET},
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

/* What a parsed list item owns: a mount's, an interface's or an address's
 * strings. */
static void
item_release(enum plan_list idx, union pvalue *v)
{
	if (idx == PL_MOUNT)
		mount_op_clear(&v->mount);
	else if (idx == PL_NETIF)
		netif_op_clear(&v->netif);
	else if (idx == PL_ADDRESS || idx == PL_ADDRESS_OUT)
		free(v->addr.ifname);
}

static void
plist_clear(struct plan *p, enum plan_list idx)
{
	struct plist *l = &p->list[idx];

	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].text);
		free(l->v[i].origin);
		item_release(idx, &l->v[i].v);
	}
	l->n = 0;
}

/* An empty value: the list so far is dropped, and show says where. */
static void
plist_reset(struct plan *p, enum plan_list idx, const char *origin)
{
	plist_clear(p, idx);
	free(p->list[idx].cleared);
	p->list[idx].cleared = xstrdup(origin);
}

/* The item takes over what v owns. */
static void
plist_add(struct plist *l, const char *key, const char *text, const char *origin,
	  const union pvalue *v)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].text = xstrdup(text);
	l->v[l->n].origin = xstrdup(origin);
	l->v[l->n].v = *v;
	l->n++;
}

static void
scalar_set(struct pscalar *s, const char *text, const char *origin, const union pvalue *v)
{
	free(s->text);
	free(s->origin);
	s->text = s->origin = NULL;
	memset(&s->v, 0, sizeof(s->v));
	if (!text || !origin)
		return;
	s->text = xstrdup(text);
	s->origin = xstrdup(origin);
	s->v = *v;
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
	const union pvalue none = {0};
	const char *why;

	/* An empty key is what --setenv= (no value) produces: clear the list. */
	if (!*e->key) {
		plist_reset(p, PL_ENV, e->origin);
		return;
	}
	if ((why = value_envkey(e->key))) {
		_cleanup_free_ char *k = str_escape(e->key);

		diag_add(d, "%s: env.%s: %s", e->origin, k, why);
		return;
	}
	plist_add(&p->list[PL_ENV], e->key, e->value, e->origin, &none);
}

static void
merge_one(struct plan *p, const struct entry *e, struct diag *d)
{
	const struct keydef *kd = key_find(e->section, e->key);
	union pvalue v = {0};
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
	if (kd->flags & K_LIST && !*e->value) {
		plist_reset(p, (enum plan_list)kd->idx, e->origin);
		return;
	}
	if (kd->flags & K_UNSET && !*e->value) {
		scalar_set(&p->scalar[kd->idx], NULL, NULL, NULL);
		return;
	}
	/* Parsed here, once: plan_validate takes the value as it is. */
	if ((why = kd->parse(kd, e->value, &v))) {
		bad_value(d, e, why);
		return;
	}
	if (kd->flags & K_LIST)
		plist_add(&p->list[kd->idx], e->key, e->value, e->origin, &v);
	else
		scalar_set(&p->scalar[kd->idx], e->value, e->origin, &v);
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

/* The typed arrays; what their items point to belongs to the texts. */
static void
typed_free(struct plan *p)
{
	free(p->root.overlays);
	free(p->root.mounts);
	free(p->net.netifs);
	free(p->net.addrs);
	free(p->net.addrs_out);
	free(p->user.uid_map);
	free(p->user.gid_map);
	free(p->env.vars);
	free(p->limits.cgroups);
	p->root = (struct plan_root){0};
	p->net = (struct plan_net){0};
	p->user = (struct plan_user){0};
	p->env = (struct plan_env){0};
	p->limits = (struct plan_limits){0};
	p->security = (struct plan_security){0};
	p->process = (struct plan_process){0};
	p->hooks = (struct plan_hooks){0};
}

void
plan_free(struct plan *p)
{
	if (!p)
		return;
	typed_free(p);
	for (size_t i = 0; i < PK__COUNT; i++)
		scalar_set(&p->scalar[i], NULL, NULL, NULL);
	for (size_t i = 0; i < PL__COUNT; i++) {
		plist_clear(p, (enum plan_list)i);
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

/* The typed settings, from the values merge_one parsed. */
static struct setting_str
set_str(const struct plan *p, enum plan_scalar k)
{
	return (struct setting_str){p->scalar[k].text, p->scalar[k].origin};
}

static struct setting_bool
set_bool(const struct plan *p, enum plan_scalar k)
{
	return (struct setting_bool){p->scalar[k].v.b, p->scalar[k].origin};
}

static struct setting_tri
set_tri(const struct plan *p, enum plan_scalar k)
{
	return (struct setting_tri){p->scalar[k].v.tri, p->scalar[k].origin};
}

static struct setting_u64
set_u64(const struct plan *p, enum plan_scalar k)
{
	return (struct setting_u64){p->scalar[k].v.u, p->scalar[k].origin};
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
		if (p->scalar[ns[i].k].v.b)
			p->ns_flags |= ns[i].flag;
}

/* nsbox's init is PID 1 unless process.init says otherwise or, with auto,
 * the command is an init itself, which is then booted as in nspawn. */
static bool
want_init(const struct plan *p)
{
	const char *base;

	if (p->process.init.value != TRI_AUTO)
		return p->process.init.value == TRI_YES;
	if (!p->argv || !p->argv[0])
		return true;
	base = strrchr(p->argv[0], '/');
	base = base ? base + 1 : p->argv[0];
	return !streq(base, "init") && !streq(base, "systemd");
}

static void
derive_limits(struct plan *p)
{
	static const struct {
		enum plan_scalar k;
		int res;
	} rl[] = {
		{PK_NOFILE, RLIMIT_NOFILE}, {PK_NPROC, RLIMIT_NPROC}, {PK_CORE, RLIMIT_CORE},
		{PK_STACK, RLIMIT_STACK},   {PK_FSIZE, RLIMIT_FSIZE}, {PK_MEMLOCK, RLIMIT_MEMLOCK},
		{PK_AS, RLIMIT_AS},
	};
	struct plan_limits *l = &p->limits;

	l->memory = set_u64(p, PK_MEMORY);
	l->pids = set_u64(p, PK_PIDS);
	l->cpu = (struct setting_u64){p->scalar[PK_CPU].v.milli, sorigin(p, PK_CPU)};
	l->io_weight = set_u64(p, PK_IO_WEIGHT);
	l->shm_size = set_u64(p, PK_SHM_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(rl); i++) {
		const struct pscalar *s = &p->scalar[rl[i].k];

		if (s->text)
			l->rlimits[l->n_rlimits++] = (struct rlimit_op){rl[i].res, s->v.rlim.soft,
									s->v.rlim.hard, s->origin};
	}
}

static void
derive_scalars(struct plan *p)
{
	derive_ns(p);
	p->root.directory = set_str(p, PK_DIRECTORY);
	p->root.tarball = set_str(p, PK_TARBALL);
	p->root.upper = set_str(p, PK_UPPER);
	p->root.hostname = set_str(p, PK_HOSTNAME);
	p->root.chdir = set_str(p, PK_CHDIR);
	p->root.ephemeral = set_bool(p, PK_EPHEMERAL);
	p->net.gateway.family = p->scalar[PK_GATEWAY].v.ip.family;
	memcpy(p->net.gateway.addr, p->scalar[PK_GATEWAY].v.ip.addr, sizeof(p->net.gateway.addr));
	p->net.gateway.origin = sorigin(p, PK_GATEWAY);
	p->user.name = set_str(p, PK_USER);
	p->user.userns = set_tri(p, PK_USERNS);
	p->env.clear = set_bool(p, PK_ENV_CLEAR);
	p->security.no_new_privs = set_bool(p, PK_NNP);
	p->security.seccomp = set_bool(p, PK_SECCOMP);
	p->process.init = set_tri(p, PK_INIT);
	p->process.tty = set_tri(p, PK_TTY);
	p->process.reg = set_tri(p, PK_REGISTER);
	p->process.detach = set_bool(p, PK_DETACH);
	p->process.grace = set_u64(p, PK_GRACE);
	p->process.name = set_str(p, PK_NAME);
	p->process.use_init = want_init(p);
	p->process.boot = p->process.init.value == TRI_AUTO && !p->process.use_init;
	p->hooks.pre_exec = set_str(p, PK_PRE_EXEC);
	p->hooks.post_exit = set_str(p, PK_POST_EXIT);
	derive_limits(p);
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
	bool boot = p->process.boot;
	uint64_t caps = 0;

	for (size_t i = 0; boot && i < ARRAY_SIZE(boot_caps); i++) {
		int cap = 0;

		/* one nsbox itself cannot have is left out, as nspawn does */
		if (!value_cap(boot_caps[i], &cap) && cap < 64 && prctl(PR_CAPBSET_READ, cap) == 1)
			caps |= 1ULL << cap;
	}
	for (size_t i = 0; i < l->n; i++)
		if (!boot || !streq(l->v[i].origin, "default"))
			caps = (caps & ~l->v[i].v.caps.clear) | l->v[i].v.caps.set;
	p->security.caps = caps;
}

static void
derive_env(struct plan *p)
{
	const struct plist *l = &p->list[PL_ENV];
	struct plan_env *e = &p->env;

	e->vars = xcalloc(l->n, sizeof(*e->vars));
	for (size_t i = 0; i < l->n; i++) {
		size_t j;

		/* A later setting of the same variable replaces the earlier. */
		for (j = 0; j < e->n_vars; j++)
			if (streq(e->vars[j].key, l->v[i].key))
				break;
		if (j == e->n_vars)
			e->n_vars++;
		e->vars[j] = (struct env_var){l->v[i].key, l->v[i].text, l->v[i].origin};
	}
}

static struct setting_str *
derive_texts(const struct plist *l, size_t *n)
{
	struct setting_str *v = xcalloc(l->n, sizeof(*v));

	for (size_t i = 0; i < l->n; i++)
		v[i] = (struct setting_str){l->v[i].text, l->v[i].origin};
	*n = l->n;
	return v;
}

/* Each item's parsed value, with the item's origin; the strings in it stay
 * the item's. */
#define DERIVE_OPS(plan, idx, member, arr, count)                                                  \
	do {                                                                                       \
		const struct plist *l_ = &(plan)->list[idx];                                       \
                                                                                                   \
		(arr) = xcalloc(l_->n, sizeof(*(arr)));                                            \
		for (size_t i_ = 0; i_ < l_->n; i_++) {                                            \
			(arr)[i_] = l_->v[i_].v.member;                                            \
			(arr)[i_].origin = l_->v[i_].origin;                                       \
		}                                                                                  \
		(count) = l_->n;                                                                   \
	} while (0)

static void
derive_lists(struct plan *p)
{
	const struct plist *l = &p->list[PL_IDMAP];
	struct plan_user *u = &p->user;

	p->root.overlays = derive_texts(&p->list[PL_OVERLAY], &p->root.n_overlays);
	p->limits.cgroups = derive_texts(&p->list[PL_CGROUP], &p->limits.n_cgroups);
	DERIVE_OPS(p, PL_MOUNT, mount, p->root.mounts, p->root.n_mounts);
	DERIVE_OPS(p, PL_NETIF, netif, p->net.netifs, p->net.n_netifs);
	DERIVE_OPS(p, PL_ADDRESS, addr, p->net.addrs, p->net.n_addrs);
	DERIVE_OPS(p, PL_ADDRESS_OUT, addr, p->net.addrs_out, p->net.n_addrs_out);
	u->uid_map = xcalloc(l->n, sizeof(*u->uid_map));
	u->gid_map = xcalloc(l->n, sizeof(*u->gid_map));
	for (size_t i = 0; i < l->n; i++) {
		struct idmap m = l->v[i].v.idmap;

		m.origin = l->v[i].origin;
		if (!streq(l->v[i].key, "gid-map"))
			u->uid_map[u->n_uid_map++] = m;
		if (!streq(l->v[i].key, "uid-map"))
			u->gid_map[u->n_gid_map++] = m;
	}
	derive_caps(p);
	derive_env(p);
}

static void
check_maps(const struct plan_user *u, struct diag *d)
{
	const struct {
		const struct idmap *m;
		size_t n;
		const char *what;
	} maps[] = {{u->uid_map, u->n_uid_map, "uid"}, {u->gid_map, u->n_gid_map, "gid"}};

	/* user.map sets both; uid-map and gid-map come in pairs. */
	if (!u->n_uid_map != !u->n_gid_map) {
		const struct idmap *e = u->n_uid_map ? u->uid_map : u->gid_map;
		const char *has = u->n_uid_map ? "uid" : "gid",
			   *lacks = u->n_uid_map ? "gid" : "uid";

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
netif_named(const struct plan_net *net, const char *name, bool outside)
{
	for (size_t i = 0; i < net->n_netifs; i++) {
		const struct netif_op *n = &net->netifs[i];

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
	const struct plan_net *n = &p->net;
	bool have4 = false, have6 = false;

	if (!(p->ns_flags & CLONE_NEWNET) && n->n_netifs)
		conflict(d, n->netifs[0].origin, "network.netif", sorigin(p, PK_NS_NET),
			 "namespaces.net = no", "interfaces need a private network namespace");
	for (size_t i = 0; i < n->n_netifs; i++) {
		for (size_t j = 0; j < i; j++) {
			if (streq(n->netifs[i].name, n->netifs[j].name))
				diag_add(d, "%s: network.netif: interface name '%s' is used twice",
					 n->netifs[i].origin, n->netifs[i].name);
			else if (n->netifs[i].kind == NETIF_VETH &&
				 n->netifs[j].kind == NETIF_VETH && n->netifs[i].dev &&
				 n->netifs[j].dev && streq(n->netifs[i].dev, n->netifs[j].dev))
				diag_add(d, "%s: network.netif: host name '%s' is used twice",
					 n->netifs[i].origin, n->netifs[i].dev);
		}
	}
	for (size_t i = 0; i < n->n_addrs; i++) {
		if (!netif_named(n, n->addrs[i].ifname, false))
			diag_add(d, "%s: network.address: no container interface '%s'",
				 n->addrs[i].origin, n->addrs[i].ifname);
		have4 |= n->addrs[i].family == AF_INET;
		have6 |= n->addrs[i].family == AF_INET6;
	}
	for (size_t i = 0; i < n->n_addrs_out; i++)
		if (!netif_named(n, n->addrs_out[i].ifname, true))
			diag_add(d,
				 "%s: network.address-outside: no veth with host name '%s' "
				 "(auto names cannot be addressed)",
				 n->addrs_out[i].origin, n->addrs_out[i].ifname);
	if (n->gateway.family &&
	    !((n->gateway.family == AF_INET && have4) || (n->gateway.family == AF_INET6 && have6)))
		diag_add(d, "%s: network.gateway: no container address of the same family",
			 n->gateway.origin);
}

/* The first origin of anything that needs a mount namespace. */
static const char *
needs_mountns(const struct plan_root *r, const char **what)
{
	const struct {
		const struct setting_str *s;
		const char *name;
	} s[] = {{&r->directory, "root.directory"},
		 {&r->tarball, "root.tarball"},
		 {&r->upper, "root.upper"}};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		if (s[i].s->value) {
			*what = s[i].name;
			return s[i].s->origin;
		}
	}
	if (r->ephemeral.value) {
		*what = "root.ephemeral";
		return r->ephemeral.origin;
	}
	if (r->n_overlays) {
		*what = "root.overlay";
		return r->overlays[0].origin;
	}
	if (r->n_mounts) {
		*what = "mount";
		return r->mounts[0].origin;
	}
	return NULL;
}

/* An overlay on the host root is not supported: the layers need a root. */
static void
check_root(const struct plan_root *r, struct diag *d)
{
	static const char why[] = "needs root.directory or root.tarball (an overlay on the "
				  "host root is not supported)";

	if (r->directory.value || r->tarball.value)
		return;
	if (r->ephemeral.value)
		diag_add(d, "%s: root.ephemeral: %s", r->ephemeral.origin, why);
	if (r->upper.value)
		diag_add(d, "%s: root.upper: %s", r->upper.origin, why);
	if (r->n_overlays)
		diag_add(d, "%s: root.overlay: %s", r->overlays[0].origin, why);
}

/* Booting an init (process.init = auto, the command an init) as nspawn does. */
static void
check_boot(const struct plan *p, struct diag *d)
{
	const unsigned long need = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWCGROUP;

	if (p->process.boot &&
	    ((p->ns_flags & need) != need || (!p->root.directory.value && !p->root.tarball.value)))
		diag_add(d,
			 "command line: process.init: %s is an init: booting it needs a root "
			 "(root.directory or root.tarball) and mount, pid and cgroup namespaces",
			 p->argv[0]);
}

static void
check_conflicts(const struct plan *p, struct diag *d)
{
	const struct plan_root *r = &p->root;
	const char *o, *what = NULL;

	if (r->directory.value && r->tarball.value)
		conflict(d, r->tarball.origin, "root.tarball", r->directory.origin,
			 "root.directory", "a root is a directory or a tarball, not both");
	if (r->ephemeral.value && r->upper.value)
		conflict(d, r->upper.origin, "root.upper", r->ephemeral.origin,
			 "root.ephemeral = yes", "an ephemeral root has no persistent upper");
	if (!(p->ns_flags & CLONE_NEWNS) && (o = needs_mountns(r, &what)))
		conflict(d, o, what, sorigin(p, PK_NS_MOUNT), "namespaces.mount = no",
			 "this needs a mount namespace");
	if (!(p->ns_flags & CLONE_NEWUTS) && r->hostname.value)
		conflict(d, r->hostname.origin, "root.hostname", sorigin(p, PK_NS_UTS),
			 "namespaces.uts = no", "a hostname needs a UTS namespace");
	if (!(p->ns_flags & CLONE_NEWPID) && p->process.init.value == TRI_YES)
		conflict(d, p->process.init.origin, "process.init = yes", sorigin(p, PK_NS_PID),
			 "namespaces.pid = no", "nsbox's init needs a PID namespace");
	if (p->user.userns.value == TRI_NO && p->list[PL_IDMAP].n)
		conflict(d, p->list[PL_IDMAP].v[0].origin, "user.map", p->user.userns.origin,
			 "user.userns = no", "maps need a user namespace");
	if (p->limits.memory.origin && p->limits.memory.value == 0)
		diag_add(d, "%s: limits.memory: must be more than 0", p->limits.memory.origin);
	check_root(r, d);
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
	check_maps(&p->user, d);
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
	if (kd->flags & K_ALIAS || kd->idx < 0)
		return false;
	if (!(kd->flags & K_LIST))
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
		if (!(kd->flags & K_LIST) || p->list[kd->idx].n || p->list[kd->idx].cleared)
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
		if (!(kd->flags & K_LIST)) {
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
	if (k->idx < 0 || k->flags & K_LIST) {
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

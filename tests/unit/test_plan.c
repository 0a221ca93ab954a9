/* SPDX-License-Identifier: BSD-2-Clause */
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "unit.h"
#include "plan.h"

/* Merge a layer given as section,key,value,origin quadruples. */
static size_t
merge(struct plan *p, struct diag *d, const char *const *q, size_t n)
{
	struct layer l = {0};
	size_t r;

	for (size_t i = 0; i + 3 < n; i += 4)
		layer_add(&l, q[i], q[i + 1], q[i + 2], q[i + 3]);
	r = plan_merge(p, &l, d);
	layer_free(&l);
	return r;
}

#define MERGE(p, d, ...)                                                                           \
	merge(p, d, (const char *const[]){__VA_ARGS__},                                            \
	      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void
test_defaults(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->ns_flags, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
					      CLONE_NEWNET | CLONE_NEWCGROUP);
	assert_null(p->root.directory.value);
	assert_true(p->env.clear.value);
	assert_true(p->security.no_new_privs.value);
	assert_int_equal(p->process.grace.value, 10);
	assert_string_equal(p->scalar[PK_EPHEMERAL].origin, "default");
	/* podman's 11 */
	assert_int_equal(__builtin_popcountll(p->security.caps), 11);
}

/* Without a profile, pflask's defaults: the command line decides. */
static bool
pflask(const char *const *q, size_t n, bool *clear)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct layer cl = {0}, l = {0};
	struct diag d = {0};

	for (size_t i = 0; i + 3 < n; i += 4)
		layer_add(&cl, q[i], q[i + 1], q[i + 2], q[i + 3]);
	plan_pflask_layer(&cl, &l);
	plan_merge(p, &l, &d);
	plan_merge(p, &cl, &d);
	assert_int_equal(plan_validate(p, &d), 0);
	*clear = p->env.clear.value;
	layer_free(&l);
	layer_free(&cl);
	return p->ns_flags & CLONE_NEWNET;
}

static void
test_pflask_defaults(void **state)
{
	const char *none[] = {"root", "hostname", "x", "cl"};
	const char *chroot[] = {"root", "directory", "/srv", "cl"};
	const char *keep[] = {"root", "directory", "/srv", "cl", "env", "clear", "no", "cl"};
	const char *netif[] = {"namespaces", "net",   "yes",         "cl",
			       "network",    "netif", "veth:a:eth0", "cl"};
	const char *addr[] = {"network", "private", "yes", "cl"};
	bool clear;

	(void)state;
	assert_false(pflask(none, 4, &clear));
	assert_false(clear);
	assert_false(pflask(chroot, 4, &clear));
	assert_true(clear);
	pflask(keep, 8, &clear);
	assert_false(clear);
	assert_true(pflask(netif, 8, &clear));
	assert_true(pflask(addr, 4, &clear));
}

static void
test_precedence(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "root", "hostname", "inc", "inc.conf:1", "root", "chdir", "/inc",
	      "inc.conf:2");
	MERGE(p, &d, "root", "hostname", "prof", "prof.conf:3");
	MERGE(p, &d, "root", "hostname", "later", "later.conf:1");
	MERGE(p, &d, "root", "hostname", "cli", "command line");
	assert_int_equal(d.n, 0);
	assert_int_equal(plan_validate(p, &d), 0);
	assert_string_equal(p->root.hostname.value, "cli");
	assert_string_equal(p->scalar[PK_HOSTNAME].origin, "command line");
	assert_string_equal(p->root.chdir.value, "/inc");
	assert_string_equal(p->scalar[PK_CHDIR].origin, "inc.conf:2");
}

static void
test_lists(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "mount", "bind", "/a:/a", "x.conf:1", "mount", "tmp", "/t", "x.conf:2",
	      "mount", "bind", "", "x.conf:3", "mount", "bind-ro", "/b:/b", "x.conf:4", "mount",
	      "overlay", "/u:/usr:/w", "command line");
	assert_int_equal(d.n, 0);
	assert_int_equal(plan_validate(p, &d), 0);
	/* the empty value cleared everything before it */
	assert_int_equal(p->root.n_mounts, 2);
	assert_int_equal(p->root.mounts[0].kind, MOUNT_BIND_RO);
	assert_string_equal(p->root.mounts[0].origin, "x.conf:4");
	assert_int_equal(p->root.mounts[1].kind, MOUNT_OVERLAY);
	assert_string_equal(p->list[PL_MOUNT].cleared, "x.conf:3");
	/* capabilities: the default list can be cleared and rebuilt */
	MERGE(p, &d, "security", "capabilities", "", "c:1", "security", "capabilities",
	      "CAP_CHOWN,+kill", "c:2", "security", "capabilities", "-chown", "c:3");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->security.caps, 1ULL << 5 /* CAP_KILL */);
}

/* The typed groups: each value as parsed at merge, with the origin of the
 * text that won; an unset value is 0 and has no origin. */
static void
test_groups(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "limits", "memory", "2G", "l:1", "limits", "pids", "max", "l:2", "limits",
	      "cpu", "150%", "l:3", "limits", "io-weight", "300", "l:4", "limits", "nofile",
	      "10:20", "l:5", "limits", "core", "unlimited", "l:6", "limits", "cgroup", "freezer",
	      "l:7", "network", "netif", "veth:h0:eth0", "n:1", "network", "address",
	      "eth0:10.1.2.3/24", "n:2", "network", "gateway", "10.1.2.1", "n:3", "user", "user",
	      "builder", "u:1", "user", "uid-map", "0:100000:10", "u:2", "user", "gid-map",
	      "0:200000:10", "u:3", "env", "clear", "no", "e:1", "process", "name", "box", "r:1",
	      "hooks", "pre-exec", "/bin/true", "h:1");
	assert_int_equal(d.n, 0);
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->limits.memory.value, 2ULL << 30);
	assert_string_equal(p->limits.memory.origin, "l:1");
	assert_int_equal(p->limits.pids.value, UINT64_MAX);
	assert_int_equal(p->limits.cpu.value, 1500);
	assert_string_equal(p->limits.cpu.origin, "l:3");
	assert_int_equal(p->limits.io_weight.value, 300);
	assert_int_equal(p->limits.shm_size.value, 64ULL << 20);
	assert_string_equal(p->limits.shm_size.origin, "default");
	/* nofile's default, replaced, and core: in the key table's order */
	assert_int_equal(p->limits.n_rlimits, 2);
	assert_int_equal(p->limits.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->limits.rlimits[0].soft, 10);
	assert_int_equal(p->limits.rlimits[0].hard, 20);
	assert_string_equal(p->limits.rlimits[0].origin, "l:5");
	assert_int_equal(p->limits.rlimits[1].hard, UINT64_MAX);
	assert_int_equal(p->limits.n_cgroups, 1);
	assert_string_equal(p->limits.cgroups[0].value, "freezer");
	assert_string_equal(p->limits.cgroups[0].origin, "l:7");
	assert_int_equal(p->net.n_netifs, 1);
	assert_string_equal(p->net.netifs[0].dev, "h0");
	assert_string_equal(p->net.netifs[0].origin, "n:1");
	assert_int_equal(p->net.addrs[0].prefix, 24);
	assert_string_equal(p->net.addrs[0].origin, "n:2");
	assert_int_equal(p->net.gateway.family, AF_INET);
	assert_memory_equal(p->net.gateway.addr, "\x0a\x01\x02\x01", 4);
	assert_string_equal(p->net.gateway.origin, "n:3");
	assert_string_equal(p->user.name.value, "builder");
	assert_string_equal(p->user.userns.origin, "default");
	assert_int_equal(p->user.n_uid_map, 1);
	assert_int_equal(p->user.uid_map[0].outside, 100000);
	assert_string_equal(p->user.uid_map[0].origin, "u:2");
	assert_int_equal(p->user.gid_map[0].outside, 200000);
	assert_string_equal(p->user.gid_map[0].origin, "u:3");
	assert_false(p->env.clear.value);
	assert_string_equal(p->env.clear.origin, "e:1");
	assert_string_equal(p->process.name.value, "box");
	assert_string_equal(p->process.name.origin, "r:1");
	assert_string_equal(p->hooks.pre_exec.origin, "h:1");
	assert_null(p->hooks.post_exit.value);
	assert_null(p->hooks.post_exit.origin);

	/* an empty value unsets: no value, no origin */
	MERGE(p, &d, "limits", "memory", "", "l:8", "network", "gateway", "", "n:4", "network",
	      "address", "", "n:5");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->limits.memory.value, 0);
	assert_null(p->limits.memory.origin);
	assert_int_equal(p->net.gateway.family, 0);
	assert_null(p->net.gateway.origin);
	assert_int_equal(p->net.n_addrs, 0);
}

/* A capability item is kept as what it turns on and off; the items apply
 * in order, and within one the last word on a capability wins. */
static void
test_caps_items(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "security", "capabilities", "-all,+CAP_CHOWN,+kill,-chown", "c:1");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->security.caps, 1ULL << CAP_KILL);
	MERGE(p, &d, "security", "capabilities", "+chown,-all,+CAP_SETUID", "c:2");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->security.caps, 1ULL << CAP_SETUID);
	MERGE(p, &d, "security", "capabilities", "+all,-CAP_SYS_ADMIN", "c:3");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->security.caps, ~(1ULL << CAP_SYS_ADMIN));
	/* a bad word refuses the item, which changes nothing */
	assert_int_equal(MERGE(p, &d, "security", "capabilities", "-all,CAP_NOPE", "c:4"), 1);
	assert_true(unit_diag_has(&d,
				  "c:4: security.capabilities: '-all,CAP_NOPE': unknown "
				  "capability",
				  NULL));
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->security.caps, ~(1ULL << CAP_SYS_ADMIN));
	diag_free(&d);
}

static void
test_env(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "env", "A", "1", "p:1", "env", "B", "x,y", "p:2", "env", "A", "2",
	      "command line", "env", "clear", "no", "command line", "env", "E", "", "p:3");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->env.n_vars, 3);
	assert_string_equal(p->env.vars[0].key, "A");
	assert_string_equal(p->env.vars[0].value, "2");
	assert_string_equal(p->env.vars[0].origin, "command line");
	assert_string_equal(p->env.vars[1].value, "x,y");
	assert_string_equal(p->env.vars[2].value, "");
	assert_false(p->env.clear.value);
	MERGE(p, &d, "env", "", "", "command line");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->env.n_vars, 0);
	/* V9: a newline in a value is kept, as runc keeps it */
	MERGE(p, &d, "env", "NL", "a\nb", "command line");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_int_equal(p->env.n_vars, 1);
	assert_string_equal(p->env.vars[0].value, "a\nb");
	{ /* show keeps one line per key: the newline is shown escaped */
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);

		plan_print(p, f, false);
		fclose(f);
		assert_non_null(strstr(out, "\nNL = a\\x0ab  # command line\n"));
		free(out);
	}
	assert_int_equal(MERGE(p, &d, "env", "A B", "1", "p:9"), 1);
	assert_true(unit_diag_has(&d, "p:9: env.A B: variable names must not contain", NULL));
	diag_free(&d);
}

static void
test_bad_values(void **state)
{
	static const struct {
		const char *section, *key, *value, *msg;
	} cases[] = {
		{"root", "ephemeral", "Y",
		 "f:7: root.ephemeral: 'Y': expected yes, no, true, false, 1 or 0"},
		{"root", "directory", "foo",
		 "f:7: root.directory: 'foo': expected an absolute path"},
		{"root", "hostname", "-x", "f:7: root.hostname: '-x': a hostname must not start"},
		{"limits", "memory", "10Q", "f:7: limits.memory: '10Q': expected a size"},
		{"limits", "pids", "-1", "f:7: limits.pids: '-1': expected a number"},
		{"limits", "nofile", "12abc", "f:7: limits.nofile: '12abc': expected a number"},
		{"user", "map", "0:4294967295:2",
		 "f:7: user.map: '0:4294967295:2': the range runs"},
		{"user", "userns", "maybe", "f:7: user.userns: 'maybe': expected auto, yes"},
		{"network", "netif", "veth:a:lo", "f:7: network.netif: 'veth:a:lo': lo cannot be"},
		{"mount", "bind", "/a", "f:7: mount.bind: '/a': expected SRC:DEST"},
		{"mount", "tmp", "/", "f:7: mount.tmp: '/': the destination must not be /"},
		{"mount", "overlay", "/up:/:/work",
		 "f:7: mount.overlay: '/up:/:/work': an overlay on / is the root's upper: use "
		 "--set root.upper=DIR"},
		{"security", "capabilities", "CAP_FOO",
		 "f:7: security.capabilities: 'CAP_FOO': unknown"},
		{"process", "grace", "1e3",
		 "f:7: process.grace: '1e3': expected a number of seconds"},
		{"root", "hostnme", "x", "f:7: unknown key 'hostnme' in [root] (did you mean"},
		{"profile", "include", "x", "f:7: profile.include: 'x': include is only valid"},
		{"root", "ephemeral", "", "f:7: root.ephemeral: '': expected yes"},
		{"root", "hostname", "a\x01", "f:7: root.hostname: 'a\\x01':"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_plan_ struct plan *p = plan_new();
		struct diag d = {0};

		assert_int_equal(
			MERGE(p, &d, cases[i].section, cases[i].key, cases[i].value, "f:7"), 1);
		assert_true(unit_diag_has(&d, cases[i].msg, NULL));
		diag_free(&d);
	}
}

static void
test_conflicts(void **state)
{
	static const struct {
		const char *s1, *k1, *v1, *s2, *k2, *v2, *msg;
	} cases[] = {
		{"root", "directory", "/r", "root", "tarball", "/t.tar",
		 "b:2: root.tarball: conflicts with root.directory (a:1)"},
		{"namespaces", "mount", "no", "mount", "tmp", "/t",
		 "b:2: mount: conflicts with namespaces.mount = no (a:1)"},
		{"network", "private", "no", "network", "netif", "veth:auto:eth0",
		 "b:2: network.netif: conflicts with namespaces.net = no (a:1)"},
		{"user", "userns", "no", "user", "map", "0:1000:1",
		 "b:2: user.map: conflicts with user.userns = no (a:1)"},
		{"namespaces", "pid", "no", "process", "init", "yes",
		 "b:2: process.init = yes: conflicts with namespaces.pid = no (a:1)"},
		{"namespaces", "uts", "no", "root", "hostname", "h",
		 "b:2: root.hostname: conflicts with namespaces.uts = no (a:1)"},
		{"network", "netif", "veth:auto:eth0", "network", "netif", "dummy0:eth0",
		 "b:2: network.netif: interface name 'eth0' is used twice"},
		{"network", "netif", "veth:auto:eth0", "network", "address", "eth1:169.254.0.1/16",
		 "b:2: network.address: no container interface 'eth1'"},
		{"user", "map", "0:100000:65536", "user", "uid-map", "1000:500:1",
		 "b:2: user.map: container uid range overlaps an earlier extent"},
		{"user", "map", "0:100000:10", "user", "gid-map", "100:100005:1",
		 "b:2: user.map: host gid range overlaps an earlier extent"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_plan_ struct plan *p = plan_new();
		struct diag d = {0};

		MERGE(p, &d, cases[i].s1, cases[i].k1, cases[i].v1, "a:1", cases[i].s2, cases[i].k2,
		      cases[i].v2, "b:2");
		assert_int_equal(d.n, 0);
		assert_int_equal(plan_validate(p, &d), 1);
		assert_true(unit_diag_has(&d, cases[i].msg, NULL));
		diag_free(&d);
	}
}

/* U2: the kernel takes 340 extents per map; the 341st is an error. */
static void
test_map_extents(void **state)
{
	struct diag d = {0};

	(void)state;
	for (unsigned n = 340; n <= 341; n++) {
		_cleanup_plan_ struct plan *p = plan_new();
		struct layer l = {0};
		char v[64];

		for (unsigned i = 0; i < n; i++) {
			snprintf(v, sizeof(v), "%u:%u:1", i, 100000 + i);
			layer_add(&l, "user", "map", v, "m:1");
		}
		plan_merge(p, &l, &d);
		layer_free(&l);
		assert_int_equal(d.n, 0);
		assert_int_equal(plan_validate(p, &d), n == 341 ? 2 : 0);
		if (n == 341) {
			assert_true(unit_diag_has(
				&d, "m:1: user.map: more than 340 uid map extents", NULL));
			assert_true(unit_diag_has(
				&d, "m:1: user.map: more than 340 gid map extents", NULL));
		}
		diag_free(&d);
		d = (struct diag){0};
	}
}

/* What the executor once refused at run time, so that nsbox check passed
 * it: each is one message, with the origin of the key that is wrong. */
static void
test_checks_before_run(void **state)
{
	static const struct {
		const char *s1, *k1, *v1, *msg;
	} cases[] = {
		{"user", "uid-map", "0:100000:10",
		 "a:1: user.uid-map: a uid map needs a gid map too (user.map sets both)"},
		{"user", "gid-map", "0:100000:10",
		 "a:1: user.gid-map: a gid map needs a uid map too (user.map sets both)"},
		{"root", "ephemeral", "yes",
		 "a:1: root.ephemeral: needs root.directory or root.tarball (an overlay on the "
		 "host "
		 "root is not supported)"},
		{"root", "upper", "/u", "a:1: root.upper: needs root.directory or root.tarball"},
		{"root", "overlay", "/o",
		 "a:1: root.overlay: needs root.directory or root.tarball"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_plan_ struct plan *p = plan_new();
		struct diag d = {0};

		MERGE(p, &d, cases[i].s1, cases[i].k1, cases[i].v1, "a:1");
		assert_int_equal(d.n, 0);
		assert_int_equal(plan_validate(p, &d), 1);
		assert_true(unit_diag_has(&d, cases[i].msg, NULL));
		diag_free(&d);
	}
}

static void
test_root_conflicts(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "root", "directory", "/r", "z:0", "root", "ephemeral", "yes", "a:1", "root",
	      "upper", "/u", "b:2");
	assert_int_equal(plan_validate(p, &d), 1);
	assert_true(unit_diag_has(&d, "b:2: root.upper: conflicts with root.ephemeral = yes (a:1)",
				  NULL));
	diag_free(&d);
}

/* The command is in the plan before validation: an init is booted. */
static void
test_boot(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	strv_push(&p->argv, "/lib/systemd/systemd");
	assert_int_equal(plan_validate(p, &d), 1);
	assert_true(unit_diag_has(&d,
				  "command line: process.init: /lib/systemd/systemd is an init: "
				  "booting it needs a root (root.directory or root.tarball) and "
				  "mount, pid and cgroup namespaces",
				  NULL));
	diag_free(&d);
	MERGE(p, &d, "root", "directory", "/r", "a:1");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_true(p->process.boot);
	assert_false(p->process.use_init);
	/* nspawn's set, less what nsbox cannot have, in place of the default */
	assert_int_equal(p->security.caps >> CAP_SYS_ADMIN & 1,
			 prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) == 1);
	MERGE(p, &d, "namespaces", "pid", "no", "a:2");
	assert_int_equal(plan_validate(p, &d), 1);
	assert_true(unit_diag_has(&d, "command line: process.init: /lib/systemd/systemd", NULL));
	diag_free(&d);
	MERGE(p, &d, "process", "init", "no", "a:3");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_false(p->process.boot);
	assert_false(p->process.use_init);
	assert_false(p->security.caps >> CAP_SYS_ADMIN & 1);
	strv_free(p->argv);
	p->argv = NULL;
	MERGE(p, &d, "process", "init", "auto", "a:4", "namespaces", "pid", "yes", "a:5");
	assert_int_equal(plan_validate(p, &d), 0);
	assert_false(p->process.boot);
	assert_true(p->process.use_init); /* the user's shell */
}

static void
test_all_errors_in_one_pass(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};

	(void)state;
	MERGE(p, &d, "root", "ephemeral", "Y", "a:1", "root", "hostname", "-", "a:2", "mount",
	      "bind", "x", "a:3", "root", "directory", "/r", "a:4", "root", "tarball", "/t", "a:5");
	plan_validate(p, &d);
	assert_int_equal(d.n, 4);
	assert_true(unit_diag_has(&d, "a:1: root.ephemeral: 'Y': expected yes, no", NULL));
	assert_true(unit_diag_has(&d, "a:2: root.hostname: '-': a hostname must not start", NULL));
	assert_true(unit_diag_has(&d, "a:3: mount.bind: 'x': expected SRC:DEST", NULL));
	assert_true(unit_diag_has(&d, "a:5: root.tarball: conflicts with root.directory (a:4)",
				  "not both"));
	diag_free(&d);
}

static void
test_print(void **state)
{
	_cleanup_plan_ struct plan *p = plan_new();
	struct diag d = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	MERGE(p, &d, "root", "hostname", "x", "command line", "mount", "bind", "/a:/b", "p.conf:3",
	      "env", "FOO", "a \"q\"", "p.conf:4");
	plan_validate(p, &d);
	plan_print(p, f, false);
	fflush(f);
	assert_non_null(
		strstr(buf, "[root]\nephemeral = no  # default\nhostname = x  # command line\n"));
	assert_non_null(strstr(buf, "[mount]\nbind = /a:/b  # p.conf:3\n"));
	assert_null(strstr(buf, "[hooks]"));
	fclose(f);
	free(buf);
	f = open_memstream(&buf, &len);
	plan_print(p, f, true);
	fflush(f);
	assert_non_null(
		strstr(buf, "\"hostname\": {\"value\": \"x\", \"origin\": \"command line\"}"));
	assert_non_null(strstr(buf, "{\"key\": \"FOO\", \"value\": \"a \\\"q\\\"\", \"origin\""));
	fclose(f);
	free(buf);
}

static void
test_key_check(void **state)
{
	char msg[256];

	(void)state;
	assert_int_equal(plan_key_check("root", "hostname", msg, sizeof(msg)), 0);
	assert_int_equal(plan_key_check("env", "ANYTHING", msg, sizeof(msg)), 0);
	assert_int_equal(plan_key_check("netwrk", NULL, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "unknown section [netwrk] (did you mean [network]?)");
	assert_int_equal(plan_key_check("zzzzzzzz", NULL, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "unknown section [zzzzzzzz]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_pflask_defaults),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_map_extents),
		cmocka_unit_test(test_checks_before_run),
		cmocka_unit_test(test_root_conflicts),
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_caps_items),
		cmocka_unit_test(test_all_errors_in_one_pass),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_key_check),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}

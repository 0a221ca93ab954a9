/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "unit.h"
#include "env.h"
#include "idmap.h"
#include "payload.h"
#include "value.h"

static void
test_bool(void **state)
{
	static const char *const bad[] = {"yes1", "Y", "enable", "", "YES", " yes"};
	bool b;

	(void)state;
	assert_null(value_bool("yes", &b));
	assert_true(b);
	assert_null(value_bool("0", &b));
	assert_false(b);
	assert_null(value_bool("false", &b));
	assert_false(b);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_string_equal(value_bool(bad[i], &b),
				    "expected yes, no, true, false, 1 or 0");
}

static void
test_size(void **state)
{
	static const char *const bad[] = {"10Q",  "99999999999999999999G",
					  "-5",   "",
					  "1.5G", "0x10",
					  " 12",  "12abc",
					  "max",  "16777216T"};
	uint64_t v;

	(void)state;
	assert_null(value_size("4G", false, &v));
	assert_int_equal(v, 4ULL << 30);
	assert_null(value_size("512m", false, &v));
	assert_int_equal(v, 512ULL << 20);
	assert_null(value_size("0", false, &v));
	assert_int_equal(v, 0);
	assert_null(value_size("max", true, &v));
	assert_int_equal(v, UINT64_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_non_null(value_size(bad[i], false, &v));
}

static void
test_uint(void **state)
{
	static const char *const bad[] = {"-1", "4294967296", "0x10", "1e3", " 12", "12abc", ""};
	uint64_t v;

	(void)state;
	assert_null(value_uint("4294967295", 0, UINT32_MAX, &v));
	assert_int_equal(v, 4294967295U);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_non_null(value_uint(bad[i], 0, UINT32_MAX, &v));
}

static void
test_paths(void **state)
{
	(void)state;
	assert_null(value_abspath("/srv/a"));
	assert_null(value_abspath("//x"));
	assert_null(value_abspath("/a/"));
	assert_string_equal(value_abspath("foo"), "expected an absolute path");
	assert_string_equal(value_abspath(""), "expected an absolute path");
	assert_non_null(value_abspath("/a/../.."));
	assert_non_null(value_abspath("/dev/../etc"));
	assert_non_null(value_abspath("/a/./b"));
	assert_null(value_abspath("/a/..b/.c"));
}

static void
test_hostname_ifname(void **state)
{
	char long65[66];

	(void)state;
	memset(long65, 'a', 65);
	long65[65] = '\0';
	assert_null(value_hostname("sid-build"));
	assert_non_null(value_hostname(long65));
	assert_non_null(value_hostname("-x"));
	assert_non_null(value_hostname("a_b"));
	assert_non_null(value_hostname(""));
	assert_null(value_ifname("eth0"));
	assert_null(value_ifname("fifteen-bytes-x"));
	assert_non_null(value_ifname("sixteen-bytes-xx"));
	assert_non_null(value_ifname("a/b"));
	assert_non_null(value_ifname("."));
	assert_non_null(value_ifname(".."));
	assert_non_null(value_ifname("eth 0"));
	assert_non_null(value_ifname(""));
}

static void
test_mount(void **state)
{
	struct mount_op op;

	(void)state;
	assert_null(value_mount("bind", "/srv/a:/mnt", &op));
	assert_int_equal(op.kind, MOUNT_BIND);
	assert_string_equal(op.src, "/srv/a");
	assert_string_equal(op.dst, "/mnt");
	mount_op_clear(&op);
	assert_null(value_mount("bind-ro", "/a\\:b:/c\\\\d", &op));
	assert_int_equal(op.kind, MOUNT_BIND_RO);
	assert_string_equal(op.src, "/a:b");
	assert_string_equal(op.dst, "/c\\d");
	mount_op_clear(&op);
	assert_null(value_mount("tmp", "/tmp", &op));
	assert_int_equal(op.kind, MOUNT_TMPFS);
	assert_null(op.src);
	mount_op_clear(&op);
	assert_null(value_mount("overlay", "/up:/usr:/work", &op));
	assert_string_equal(op.work, "/work");
	mount_op_clear(&op);
	assert_string_equal(value_mount("bind", "/a", &op),
			    "expected SRC:DEST (write \\: for a colon in a path)");
	assert_string_equal(value_mount("bind", "/a:/b:/c", &op),
			    "expected SRC:DEST (write \\: for a colon in a path)");
	assert_string_equal(value_mount("overlay", "/::", &op), "expected an absolute path");
	assert_string_equal(value_mount("overlay", "::", &op), "expected an absolute path");
	assert_string_equal(value_mount("bind", "/a:/", &op),
			    "the destination must not be / (the root is not a mount target)");
	assert_string_equal(value_mount("bind", "a:/b", &op), "expected an absolute path");
	assert_string_equal(value_mount("tmp", "/a:/b", &op),
			    "expected DEST (an absolute path; write \\: for a colon)");
}

#define NETIF_FORMS                                                                                \
	"expected DEV:NAME, veth:OUTSIDE:INSIDE, macvlan:MASTER:NAME or ipvlan:MASTER:NAME"

static void
test_netif(void **state)
{
	struct netif_op op;

	(void)state;
	assert_null(value_netif("veth:auto:eth0", &op));
	assert_int_equal(op.kind, NETIF_VETH);
	assert_null(op.dev);
	assert_string_equal(op.name, "eth0");
	netif_op_clear(&op);
	assert_null(value_netif("dummy0:eth1", &op));
	assert_int_equal(op.kind, NETIF_MOVE);
	assert_string_equal(op.dev, "dummy0");
	netif_op_clear(&op);
	assert_null(value_netif("macvlan:eth0:mv0", &op));
	assert_int_equal(op.kind, NETIF_MACVLAN);
	netif_op_clear(&op);
	assert_string_equal(value_netif("veth:", &op), "empty interface name");
	assert_string_equal(value_netif("macvlan::x", &op), "empty interface name");
	assert_string_equal(value_netif("veth:a:lo", &op),
			    "lo cannot be a container interface name");
	assert_string_equal(value_netif("bogus:a:b", &op), NETIF_FORMS);
	assert_string_equal(value_netif("a:b:c:d", &op), NETIF_FORMS);
}

static void
test_idmap(void **state)
{
	struct idmap m[3];
	char buf[64];

	(void)state;
	assert_null(idmap_parse("0:100000:65536", &m[0]));
	assert_int_equal(m[0].outside, 100000);
	assert_null(idmap_parse("65536:300000:10", &m[1]));
	assert_int_equal(idmap_overlap(m, 2, false), -1);
	assert_int_equal(idmap_overlap(m, 2, true), -1);
	assert_null(idmap_parse("10:200000:5", &m[2]));
	assert_int_equal(idmap_overlap(m, 3, false), 2);
	assert_int_equal(idmap_overlap(m, 3, true), -1);
	assert_non_null(idmap_parse("0:4294967295:2", &m[0]));
	assert_non_null(idmap_parse("0:1:0", &m[0]));
	assert_non_null(idmap_parse("0:1", &m[0]));
	assert_non_null(idmap_parse("-1:1:1", &m[0]));
	assert_null(idmap_parse("0:1000:1", &m[0]));
	assert_int_equal(idmap_format(m, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0 1000 1\n");
	assert_int_equal(idmap_format(m, 1, buf, 4), -1);
}

static void
test_misc(void **state)
{
	unsigned milli;
	uint64_t soft, hard;
	int cap, fam;
	unsigned char a[16];
	struct addr_op op;

	(void)state;
	assert_null(value_cpu("1.5", &milli));
	assert_int_equal(milli, 1500);
	assert_null(value_cpu("50%", &milli));
	assert_int_equal(milli, 500);
	assert_non_null(value_cpu("0", &milli));
	assert_non_null(value_cpu("1.2345", &milli));
	assert_null(value_rlimit("1024:524288", false, &soft, &hard));
	assert_int_equal(soft, 1024);
	assert_int_equal(hard, 524288);
	assert_null(value_rlimit("unlimited", true, &soft, &hard));
	assert_int_equal(hard, UINT64_MAX);
	assert_non_null(value_rlimit("10:5", false, &soft, &hard));
	assert_null(value_cap("CAP_SYS_ADMIN", &cap));
	assert_int_equal(cap, 21);
	assert_null(value_cap("sys_admin", &cap));
	assert_non_null(value_cap("CAP_FOO", &cap));
	assert_non_null(value_cap("12", &cap));
	assert_null(value_ipaddr("fe80::1", &fam, a));
	assert_int_equal(fam, AF_INET6);
	assert_null(value_addr("eth0:169.254.1.2/16", &op));
	assert_int_equal(op.prefix, 16);
	free(op.ifname);
	assert_non_null(value_addr("eth0:300.1.1.1/33", &op));
	assert_non_null(value_addr("eth0:169.254.1.1/33", &op));
	assert_null(value_addr("eth0:fd00::1/64", &op));
	free(op.ifname);
	assert_non_null(value_envkey("A=B"));
	assert_non_null(value_envkey("A B"));
	assert_non_null(value_envkey(""));
	assert_null(value_envkey("DEB_BUILD_OPTIONS"));
}

static bool
has(char **env, const char *kv)
{
	for (; env && *env; env++)
		if (streq(*env, kv))
			return true;
	return false;
}

/* V12: "1" and "0001" are uid 1; "root1" is a name, looked up by name in
 * the container's passwd. V9: HOME from that passwd, PATH set. */
static void
test_user_lookup(void **state)
{
	static const char pw[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "daemon:x:1:1::/usr/sbin:/bin/false\n"
				 "root1:x:5:6::/home/r1:\n";
	static const char *const cases[][3] = {
		{"1", "1", "daemon"}, {"0001", "1", "daemon"}, {"root1", "5", "root1"},
		{"7", "7", "(none)"}, {NULL, "0", "root"},
	};
	struct user_info u;
	struct nsbox_err err = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FILE *f = fmemopen((void *)pw, sizeof(pw) - 1, "r");
		char uid[16];

		assert_int_equal(user_lookup(cases[i][0], f, NULL, &u, &err), 0);
		snprintf(uid, sizeof(uid), "%u", (unsigned)u.uid);
		assert_string_equal(uid, cases[i][1]);
		assert_string_equal(u.name ? u.name : "(none)", cases[i][2]);
		if (streq(cases[i][2], "root1")) {
			struct plan *p = plan_new();
			struct diag d = {0};
			char *caller[] = {"HOME=/host", "PATH=/host/bin", NULL};
			char **env;

			assert_int_equal(u.gid, 6);
			assert_string_equal(u.shell, "/bin/sh"); /* empty: the default */
			assert_int_equal(plan_validate(p, &d), 0);
			env = env_build(&p->env, caller, &u);
			/* env.clear = yes by default: the caller's HOME and PATH go */
			assert_true(has(env, "HOME=/home/r1"));
			assert_true(has(env, "USER=root1"));
			assert_false(has(env, "PATH=/host/bin"));
			strv_free(env);
			plan_free(p);
		}
		user_info_clear(&u);
		fclose(f);
	}
	{
		FILE *f = fmemopen((void *)pw, sizeof(pw) - 1, "r");

		assert_int_equal(user_lookup("nobody", f, NULL, &u, &err), -1);
		assert_non_null(strstr(err.msg, "no user 'nobody' in the container's /etc/passwd"));
		fclose(f);
	}
}

/* exec_path in a child: the status of what it ran, or 200 + errno. */
static int
run_exec_path(const char *file, const char *path)
{
	char *argv[] = {(char *)file, (char *)"-c", (char *)"exit 7", NULL};
	char env[512], *envp[] = {env, NULL};
	int status = 0;
	pid_t pid;

	snprintf(env, sizeof(env), "PATH=%s", path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		exec_path(file, argv, envp);
		_exit(200 + errno);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_exec_path(void **state)
{
	(void)state;
	char *d = unit_tmpdir(), p[600], f[600];
	int fd;

	/* envp's PATH is searched, not the caller's */
	snprintf(p, sizeof(p), "/nonexistent:%s:/bin", d);
	assert_int_equal(run_exec_path("sh", p), 7);
	assert_int_equal(run_exec_path("sh", "/nonexistent"), 200 + ENOENT);
	assert_int_equal(run_exec_path("", "/bin"), 200 + ENOENT);
	/* a file that cannot be run is skipped, and reported if nothing is found */
	snprintf(f, sizeof(f), "%s/sh", d);
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s:/bin", d);
	assert_int_equal(run_exec_path("sh", p), 7);
	assert_int_equal(run_exec_path("sh", d), 200 + EACCES);
	/* no #!: run by /bin/sh, found in PATH or named by a path */
	snprintf(f, sizeof(f), "%s/plain", d);
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "exit 9\n", 7), 7);
	close(fd);
	assert_int_equal(run_exec_path("plain", d), 9);
	assert_int_equal(run_exec_path(f, "/nonexistent"), 9);
	unlink(f);
	snprintf(f, sizeof(f), "%s/sh", d);
	unlink(f);
	rmdir(d);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_hostname_ifname),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_netif),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_user_lookup),
		cmocka_unit_test(test_exec_path),
	};

	return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include "unit.h"
#include "options.h"

static int
parse(const struct syntax *cmd, struct overrides *o, struct nsbox_err *err, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return options_parse(cmd, argc, argv, o, err);
}

#define PARSE(cmd, o, err, ...) parse(cmd, o, err, (char *[]){__VA_ARGS__, NULL})

/* Is there an entry section.key = value (origin "command line") at index i? */
static void
entry_is(const struct overrides *o, size_t i, const char *section, const char *key,
	 const char *value)
{
	assert_true(i < o->layer.n);
	assert_string_equal(o->layer.v[i].section, section);
	assert_string_equal(o->layer.v[i].key, key);
	assert_string_equal(o->layer.v[i].value, value);
	assert_string_equal(o->layer.v[i].origin, "command line");
}

static void
test_pflask_long(void **state)
{
	struct overrides o;
	struct nsbox_err err = {0};

	(void)state;
	assert_int_equal(PARSE(&syntax_run, &o, &err, "run", "--chroot=/r", "--chdir=/w",
			       "--hostname=h", "--mount=bind:/a:/b", "--mount=bind-ro:/c:/d",
			       "--mount=tmp:/t", "--mount=overlay:/u:/usr:/w", "--netif",
			       "--netif=veth:v0:eth0", "--user=builder",
			       "--user-map=0:100000:65536", "--ephemeral", "--cgroup=memory,pids",
			       "--detach", "--setenv=A=b,c", "--keepenv", "--no-userns",
			       "--no-mountns", "--no-netns", "--no-ipcns", "--no-utsns",
			       "--no-pidns", "--caps=-net_raw", "--", "id", "-u"),
			 0);
	entry_is(&o, 0, "root", "directory", "/r");
	entry_is(&o, 1, "root", "chdir", "/w");
	entry_is(&o, 2, "root", "hostname", "h");
	entry_is(&o, 3, "mount", "bind", "/a:/b");
	entry_is(&o, 4, "mount", "bind-ro", "/c:/d");
	entry_is(&o, 5, "mount", "tmp", "/t");
	entry_is(&o, 6, "mount", "overlay", "/u:/usr:/w");
	entry_is(&o, 7, "namespaces", "net", "yes");
	entry_is(&o, 8, "namespaces", "net", "yes");
	entry_is(&o, 9, "network", "netif", "veth:v0:eth0");
	entry_is(&o, 10, "user", "user", "builder");
	entry_is(&o, 11, "user", "map", "0:100000:65536");
	entry_is(&o, 12, "root", "ephemeral", "yes");
	entry_is(&o, 13, "limits", "cgroup", "memory");
	entry_is(&o, 14, "limits", "cgroup", "pids");
	entry_is(&o, 15, "process", "detach", "yes");
	entry_is(&o, 16, "env", "A", "b,c");
	entry_is(&o, 17, "env", "clear", "no");
	entry_is(&o, 18, "user", "userns", "no");
	entry_is(&o, 19, "namespaces", "mount", "no");
	entry_is(&o, 20, "namespaces", "net", "no");
	entry_is(&o, 21, "namespaces", "ipc", "no");
	entry_is(&o, 22, "namespaces", "uts", "no");
	entry_is(&o, 23, "namespaces", "pid", "no");
	entry_is(&o, 24, "security", "capabilities", "-net_raw");
	assert_int_equal(o.layer.n, 25);
	assert_int_equal(strv_len(o.args), 2);
	assert_string_equal(o.args[0], "id");
	overrides_free(&o);
}

static void
test_pflask_short(void **state)
{
	struct overrides o;
	struct nsbox_err err = {0};

	(void)state;
	assert_int_equal(PARSE(&syntax_run, &o, &err, "run", "-r", "/r", "-c/w", "-t", "h", "-m",
			       "tmp:/t", "-n", "-u", "u", "-e", "0:1:1", "-w", "-g", "cpu", "-d",
			       "-s", "K=V", "-k", "-UMNIHP", "-b", "all", "-a", "42", "sh"),
			 0);
	entry_is(&o, 0, "root", "directory", "/r");
	entry_is(&o, 1, "root", "chdir", "/w");
	entry_is(&o, 2, "root", "hostname", "h");
	entry_is(&o, 3, "mount", "tmp", "/t");
	entry_is(&o, 4, "namespaces", "net", "yes");
	entry_is(&o, 5, "user", "user", "u");
	entry_is(&o, 6, "user", "map", "0:1:1");
	entry_is(&o, 7, "root", "ephemeral", "yes");
	entry_is(&o, 8, "limits", "cgroup", "cpu");
	entry_is(&o, 9, "process", "detach", "yes");
	entry_is(&o, 10, "env", "K", "V");
	entry_is(&o, 11, "env", "clear", "no");
	entry_is(&o, 12, "user", "userns", "no");
	entry_is(&o, 13, "namespaces", "mount", "no");
	entry_is(&o, 14, "namespaces", "net", "no");
	entry_is(&o, 15, "namespaces", "ipc", "no");
	entry_is(&o, 16, "namespaces", "uts", "no");
	entry_is(&o, 17, "namespaces", "pid", "no");
	entry_is(&o, 18, "security", "capabilities", "all");
	assert_int_equal(o.layer.n, 19);
	assert_int_equal(o.attach, 42);
	assert_string_equal(o.args[0], "sh");
	overrides_free(&o);
}

static void
test_nsbox_options(void **state)
{
	struct overrides o;
	struct nsbox_err err = {0};

	(void)state;
	assert_int_equal(PARSE(&syntax_show, &o, &err, "show", "--profile=a", "-p", "b/c.conf",
			       "--set", "root.hostname=x=y", "--set=env.A.B=1", "--json", "-v"),
			 0);
	assert_string_equal(o.profiles[0], "a");
	assert_string_equal(o.profiles[1], "b/c.conf");
	entry_is(&o, 0, "root", "hostname", "x=y");
	entry_is(&o, 1, "env", "A.B", "1");
	assert_true(o.json);
	assert_true(o.verbose);
	overrides_free(&o);
	/* empty values clear lists */
	assert_int_equal(PARSE(&syntax_run, &o, &err, "run", "--mount=", "--setenv="), 0);
	entry_is(&o, 0, "mount", "bind", "");
	entry_is(&o, 1, "env", "", "");
	overrides_free(&o);
	/* the command starts at the first non-option */
	assert_int_equal(PARSE(&syntax_run, &o, &err, "run", "ls", "-l"), 0);
	assert_string_equal(o.args[1], "-l");
	assert_int_equal(o.layer.n, 0);
	overrides_free(&o);
}

static void
test_errors(void **state)
{
	struct {
		const struct syntax *cmd;
		char *argv[4];
		const char *msg;
	} cases[] = {
		{&syntax_run, {"run", "--bogus"}, "command line: unknown option '--bogus'"},
		{&syntax_run, {"run", "-z"}, "command line: unknown option '-z'"},
		{&syntax_run, {"run", "--chroot"}, "command line: option '--chroot' needs a value"},
		{&syntax_run,
		 {"run", "--mount=foo:/x"},
		 "command line: --mount: unknown mount type 'foo'"},
		{&syntax_run, {"run", "--mount=bind"}, "command line: --mount: bind needs a spec"},
		{&syntax_run,
		 {"run", "--set=hostname=x"},
		 "command line: --set: expected SECTION.KEY=VALUE"},
		{&syntax_run,
		 {"run", "--setenv=NOEQ"},
		 "command line: --setenv: expected NAME=VALUE"},
		{&syntax_run,
		 {"run", "--attach=x"},
		 "command line: --attach: expected a process id"},
		{&syntax_run,
		 {"run", "--json"},
		 "command line: option '--json' is only for nsbox show"},
		{&syntax_show, {"show", "extra"}, "command line: unexpected argument 'extra'"},
		{&syntax_list,
		 {"list", "--chroot=/x"},
		 "command line: unknown option '--chroot=/x'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct overrides o;
		struct nsbox_err err = {0};
		int argc = 0;

		while (cases[i].argv[argc])
			argc++;
		assert_int_equal(options_parse(cases[i].cmd, argc, cases[i].argv, &o, &err), -1);
		if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("got '%s', want '%s...'", err.msg, cases[i].msg);
		overrides_free(&o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pflask_long),
		cmocka_unit_test(test_pflask_short),
		cmocka_unit_test(test_nsbox_options),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}

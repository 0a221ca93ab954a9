/* SPDX-License-Identifier: BSD-2-Clause */
/* The run state: what state_write writes, state_parse reads back typed;
 * what is not one of nsbox's states is refused, whole. */
#include "unit.h"

#include "plan.h"
#include "state.h"

static char *
written(const struct run_state *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	state_write(f, s, NULL);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static int
parse(const char *text, struct run_state *s, const char **why)
{
	*why = NULL;
	return state_parse(text, strlen(text), s, why);
}

static void
test_round_trip(void **unused)
{
	char *cg[] = {"/sys/fs/cgroup/nsbox-1", "/sys/fs/cgroup/pids/nsbox-1", NULL};
	char *cmd[] = {"sh", "-c", "echo \"a\\b\"\t\x01 é ✓", NULL};
	struct run_state in = {
		.id = "0123456789ab",
		.name = "we\"ird\\name",
		.profile = "sid-build",
		.nsbox_pid = 41,
		.pid = 42,
		.started = 1764633600,
		.root = "/srv/roots/sid",
		.cgroups = cg,
		.command = cmd,
		.seccomp = true,
		.no_new_privs = false,
	};
	struct run_state out;
	const char *why;
	_cleanup_free_ char *text = written(&in);

	(void)unused;
	assert_int_equal(parse(text, &out, &why), 0);
	assert_string_equal(out.id, in.id);
	assert_string_equal(out.name, in.name);
	assert_string_equal(out.profile, in.profile);
	assert_int_equal(out.nsbox_pid, 41);
	assert_int_equal(out.pid, 42);
	assert_int_equal(out.started, 1764633600);
	assert_string_equal(out.root, in.root);
	assert_int_equal(strv_len(out.cgroups), 2);
	assert_string_equal(out.cgroups[1], cg[1]);
	assert_int_equal(strv_len(out.command), 3);
	assert_string_equal(out.command[2], cmd[2]);
	assert_true(out.seccomp);
	assert_false(out.no_new_privs);
	state_clear(&out);

	/* none of the optional ones */
	in.profile = NULL;
	in.root = NULL;
	in.cgroups = NULL;
	in.seccomp = false;
	in.no_new_privs = true;
	free(text);
	text = written(&in);
	assert_int_equal(parse(text, &out, &why), 0);
	assert_null(out.profile);
	assert_null(out.root);
	assert_int_equal(strv_len(out.cgroups), 0);
	assert_false(out.seccomp);
	assert_true(out.no_new_privs);
	state_clear(&out);
}

/* Each spelling the profile parser takes, through a real plan into the
 * state and back: the state holds the plan's value, normalised. */
static void
test_plan_spellings(void **unused)
{
	static const char *const yes[] = {"yes", "true", "1"}, *const no[] = {"no", "false", "0"};

	(void)unused;
	for (size_t i = 0; i < 6; i++) {
		const char *v = i < 3 ? yes[i] : no[i - 3];
		_cleanup_plan_ struct plan *p = plan_new();
		struct layer l = {0};
		struct diag d = {0};
		struct run_state in = {.id = "a", .name = "b", .nsbox_pid = 1, .pid = 2}, out;
		char *buf = NULL;
		size_t len = 0;
		FILE *f;
		const char *why;

		layer_add(&l, "security", "seccomp", v, "p.conf:2");
		layer_add(&l, "security", "no-new-privileges", v, "p.conf:3");
		assert_int_equal(plan_merge(p, &l, &d), 0);
		layer_free(&l);
		assert_int_equal(plan_validate(p, &d), 0);
		in.seccomp = p->security.seccomp.value;
		in.no_new_privs = p->security.no_new_privs.value;
		assert_true(in.seccomp == (i < 3));
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		state_write(f, &in, p);
		assert_int_equal(fclose(f), 0);
		/* the plan keeps the text as written; the reader never looks there */
		assert_non_null(strstr(buf, "\"plan\": {"));
		assert_int_equal(state_parse(buf, len, &out, &why), 0);
		assert_true(out.seccomp == (i < 3));
		assert_true(out.no_new_privs == (i < 3));
		state_clear(&out);
		free(buf);
		diag_free(&d);
	}
}

static void
test_refused(void **unused)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "an object was expected"},
		{"[]", "an object was expected"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1}",
		 "id, name, nsbox_pid or pid is missing"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": 0}",
		 "a pid is out of range"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": -3}",
		 "a pid is out of range"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": 4294967297}",
		 "a pid is out of range"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": "
		 "99999999999999999999}",
		 "a number is not an integer nsbox can hold"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": 1.5}",
		 "a number is not an integer nsbox can hold"},
		{"{\"id\": \"a\", \"name\": \"b\", \"nsbox_pid\": 1, \"pid\": \"2\"}",
		 "a value was expected"},
		{"{\"id\": \"a\", \"id\": \"b\"}", "a key is given twice"},
		{"{\"cgroups\": [], \"cgroups\": []}", "a key is given twice"},
		{"{\"cgroups\": [1]}", "a string was expected"},
		{"{\"security\": {\"seccomp\": \"yes\"}}", "true or false was expected"},
		{"{\"security\": {\"seccomp\": 1}}", "true or false was expected"},
		{"{\"name\": \"a\\u0000b\"}", "a string holds \\u0000"},
		{"{\"name\": \"\\ud800\"}", "a string holds a lone high surrogate"},
		{"{\"name\": \"\\udc00\"}", "a string holds a lone low surrogate"},
		{"{\"name\": \"\\x\"}", "a string holds an unknown escape"},
		{"{\"name\": \"\\u12g4\"}", "a \\u escape has a character that is not hex"},
		{"{\"name\": \"a\tb\"}", "a string holds a control character"},
		{"{\"name\": \"ab", "a string is not closed"},
		{"{\"name\": \"ab\\", "a string is not closed"},
		{"{\"name\" \"a\"}", "a ':' was expected after a key"},
		{"{\"name\": \"a\" \"id\": \"b\"}", "a ',' or '}' was expected"},
		{"{\"x\": 1.}", "a number has no digits after its point"},
		{"{\"x\": 1e}", "a number has no digits in its exponent"},
		{"{\"x\": [1 2]}", "a ',' or ']' was expected"},
		{"{\"x\": nul}", "a value was expected"},
		{"{} {}", "text follows the state's object"},
	};
	struct run_state s;
	const char *why;

	(void)unused;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		print_message("  %s\n", bad[i].text);
		assert_int_equal(parse(bad[i].text, &s, &why), -1);
		assert_string_equal(why, bad[i].why);
		assert_null(s.id);
		assert_null(s.cgroups);
	}
}

static void
test_depth_and_cuts(void **unused)
{
	char deep[200] = "{\"plan\": ";
	struct run_state in = {.id = "a", .name = "b", .nsbox_pid = 1, .pid = 2, .seccomp = true};
	struct run_state out;
	const char *why;
	_cleanup_free_ char *text = written(&in);
	size_t len = strlen(text);

	(void)unused;
	/* what the plan holds is skipped, to a depth */
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	assert_int_equal(parse(deep, &out, &why), -1);
	assert_string_equal(why, "values are nested too deep");
	/* a state cut anywhere is refused, never half read */
	for (size_t n = 0; n + 1 < len; n++) {
		assert_int_equal(state_parse(text, n, &out, &why), -1);
		assert_null(out.id);
	}
	assert_int_equal(state_parse(text, len, &out, &why), 0);
	state_clear(&out);
	/* the old reader's pattern in a string is only a string */
	assert_int_equal(
		parse("{\"id\": \"a\", \"name\": \"\\\"seccomp\\\": {\\\"value\\\": \\\"yes\\\"\", "
		      "\"nsbox_pid\": 1, \"pid\": 2, \"plan\": {\"security\": {\"seccomp\": "
		      "{\"value\": \"yes\"}}}, \"later\": {\"a\": [null, true, -1.5e+3]}}",
		      &out, &why),
		0);
	assert_false(out.seccomp);
	assert_string_equal(out.name, "\"seccomp\": {\"value\": \"yes\"");
	state_clear(&out);
	/* escapes decode to UTF-8 */
	assert_int_equal(
		parse("{\"id\": \"\\u00e9\\ud83d\\ude00\\/\", \"name\": \"n\", \"nsbox_pid\": 1, "
		      "\"pid\": 2}",
		      &out, &why),
		0);
	assert_string_equal(out.id, "é😀/");
	state_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_plan_spellings),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth_and_cuts),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}

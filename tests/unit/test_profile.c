/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "profile.h"

static char *dir;

/* Load text as DIR/NAME; returns the number of messages. */
static size_t
load_text(const char *name, const char *text, size_t len, struct layer *l, struct diag *d)
{
	_cleanup_free_ char *path = unit_write(dir, name, text, len);

	return profile_load(path, "command line", 0, l, d);
}

#define LOAD(name, text, l, d) load_text(name, text, sizeof(text) - 1, l, d)

static const char *
value_of(const struct layer *l, const char *section, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].section, section) && streq(l->v[i].key, key))
			v = l->v[i].value;
	return v;
}

static void
test_basic(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *origin = xasprintf("%s/basic.conf:4", dir);

	(void)state;
	assert_int_equal(LOAD("basic.conf",
			      "# comment\n; comment\n[root]\n  hostname   =  box  \n"
			      "[mount]\nbind=/srv/a;b #c:/x\n",
			      &l, &d),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].value, "box");
	assert_string_equal(l.v[0].origin, origin);
	/* no inline comments: paths may hold ';' and '#' */
	assert_string_equal(l.v[1].value, "/srv/a;b #c:/x");
	layer_free(&l);
}

static void
test_long_line(void **state)
{
	char text[1100];
	struct layer l = {0};
	struct diag d = {0};
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "[root]\nhostname = a\n[mount]\nbind = /%0990d:/x\n", 0);
	assert_int_equal(load_text("long.conf", text, (size_t)n, &l, &d), 1);
	assert_true(unit_diag_has(&d, "long.conf:4: line too long (lines are limited to", NULL));
	/* nothing from the long line reached the layer, truncated or not */
	assert_null(value_of(&l, "mount", "bind"));
	assert_string_equal(value_of(&l, "root", "hostname"), "a");
	layer_free(&l);
	diag_free(&d);
}

static void
test_nul(void **state)
{
	struct layer l = {0};
	struct diag d = {0};

	(void)state;
	assert_int_equal(LOAD("nul.conf", "[mount]\nbind=/src\0/etc:/x\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "nul.conf:2:10: NUL byte", NULL));
	assert_int_equal(l.n, 0);
	diag_free(&d);
	assert_int_equal(LOAD("nul2.conf", "[ro\0ot]\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "nul2.conf:1:4: NUL byte", NULL));
	diag_free(&d);
}

static void
test_crlf_bom(void **state)
{
	struct layer l = {0};
	struct diag d = {0};

	(void)state;
	assert_int_equal(
		LOAD("crlf.conf", "\xef\xbb\xbf[root]\r\nhostname = a\r\nchdir=/b", &l, &d), 0);
	assert_string_equal(value_of(&l, "root", "hostname"), "a");
	assert_string_equal(value_of(&l, "root", "chdir"), "/b");
	layer_free(&l);
}

static void
test_syntax_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"[root\n", "bad.conf:1: unterminated section header"},
		{"[root] junk\n", "bad.conf:1: unexpected text after section header"},
		{"[root]]\n", "bad.conf:1: unexpected text after section header"},
		{"[]\n", "bad.conf:1: empty section name"},
		{"hostname = a\n", "bad.conf:1: key outside of a section"},
		{"[root]\nhostname\n", "bad.conf:2: expected KEY = VALUE"},
		{"[root]\n= value\n", "bad.conf:2: empty key"},
		{"[rooot]\n", "bad.conf:1: unknown section [rooot] (did you mean [root]?)"},
		{"[root]\nhostnme = a\n",
		 "bad.conf:2: unknown key 'hostnme' in [root] (did you mean 'hostname'?)"},
		{"[mount]\nhostname = a\n",
		 "bad.conf:2: unknown key 'hostname' in [mount] (did you mean [root] hostname?)"},
		{"[root]\nhostname = a\n  continued\n", "bad.conf:3: expected KEY = VALUE"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct layer l = {0};
		struct diag d = {0};

		load_text("bad.conf", cases[i].text, strlen(cases[i].text), &l, &d);
		assert_int_equal(d.n, 1);
		assert_true(unit_diag_has(&d, cases[i].msg, NULL));
		layer_free(&l);
		diag_free(&d);
	}
}

static void
test_spaces_in_header(void **state)
{
	struct layer l = {0};
	struct diag d = {0};

	(void)state;
	assert_int_equal(LOAD("sp.conf", "[ root ]\nhostname=a\n", &l, &d), 0);
	assert_string_equal(value_of(&l, "root", "hostname"), "a");
	layer_free(&l);
}

static void
test_empty(void **state)
{
	struct layer l = {0};
	struct diag d = {0};

	(void)state;
	assert_int_equal(LOAD("empty.conf", "", &l, &d), 0);
	assert_int_equal(LOAD("comments.conf", "# a\n\n; b\n", &l, &d), 0);
	assert_int_equal(l.n, 0);
}

static void
test_every_error_reported(void **state)
{
	struct layer l = {0};
	struct diag d = {0};

	(void)state;
	assert_int_equal(LOAD("three.conf", "[root]\nhostnme = a\n[oops\nfoo\n", &l, &d), 3);
	assert_true(unit_diag_has(&d, "three.conf:2:", NULL));
	assert_true(unit_diag_has(&d, "three.conf:3:", NULL));
	assert_true(unit_diag_has(&d, "three.conf:4:", NULL));
	diag_free(&d);
}

static void
test_include_order(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *base =
		unit_write(dir, "base.conf", "[root]\nhostname = base\nchdir = /base\n", 37);

	(void)state;
	/* The include's settings come first, wherever the include line is. */
	assert_int_equal(
		LOAD("top.conf", "[root]\nhostname = top\n[profile]\ninclude = base\n", &l, &d), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].value, "base");
	assert_string_equal(l.v[2].value, "top");
	assert_string_equal(value_of(&l, "root", "chdir"), "/base");
	layer_free(&l);
}

static void
test_include_cycle(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *a = NULL, *b = NULL, *msg = NULL;

	(void)state;
	a = unit_write(dir, "a.conf", "# a\n\n[profile]\ninclude = b\n", 27);
	b = unit_write(dir, "b.conf", "[profile]\ninclude = a\n", 22);
	profile_load(a, "command line", 0, &l, &d);
	assert_int_equal(d.n, 1);
	/* the chain names every file and the line of each include */
	msg = xasprintf("%s:2: profile.include: include cycle: %s:4 -> %s:2 -> %s", b, a, b, a);
	assert_true(unit_diag_has(&d, msg, NULL));
	layer_free(&l);
	diag_free(&d);
	assert_int_equal(LOAD("self.conf", "[profile]\ninclude = self\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "self.conf:2: profile.include: include cycle: ", NULL));
	diag_free(&d);
}

static void
test_include_errors(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *sub = xasprintf("%s/adir.conf", dir);
	char name[32], text[64];

	(void)state;
	assert_int_equal(LOAD("miss.conf", "[profile]\ninclude = nosuch\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "miss.conf:2: profile.include: no profile 'nosuch'", NULL));
	diag_free(&d);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(LOAD("incdir.conf", "[profile]\ninclude = adir\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "incdir.conf:2: cannot read profile", "is a directory"));
	diag_free(&d);
	/* a chain 20 deep stops at the limit with one message */
	for (int i = 0; i < 20; i++) {
		_cleanup_free_ char *p = NULL;
		int n = snprintf(text, sizeof(text), "[profile]\ninclude = deep%d\n", i + 1);

		snprintf(name, sizeof(name), "deep%d.conf", i);
		p = unit_write(dir, name, text, (size_t)n);
	}
	free(unit_write(dir, "deep20.conf", "", 0));
	assert_int_equal(LOAD("deep.conf", "[profile]\ninclude = deep0\n", &l, &d), 1);
	assert_true(unit_diag_has(&d, "includes nested more than 16 deep", NULL));
	layer_free(&l);
	diag_free(&d);
}

static void
test_not_a_file(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *fifo = xasprintf("%s/fifo.conf", dir);

	(void)state;
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(profile_load(fifo, "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "cannot read profile", "not a regular file"));
	diag_free(&d);
	assert_int_equal(profile_load(dir, "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "is a directory", NULL));
	diag_free(&d);
	assert_int_equal(profile_load("/dev/zero", "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(
		&d, "command line: cannot read profile /dev/zero: not a regular file", NULL));
	diag_free(&d);
	assert_int_equal(profile_load("/nonexistent/x.conf", "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "command line: cannot open profile /nonexistent/x.conf",
				  "No such file"));
	diag_free(&d);
}

/* P16's dangling symlink, P8's 100 MiB file (sparse), P11's bytes. */
static void
test_odd_files(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *link = xasprintf("%s/dangling.conf", dir);
	_cleanup_free_ char *big = xasprintf("%s/big.conf", dir);
	int fd;

	(void)state;
	assert_int_equal(symlink("nowhere.conf", link), 0);
	assert_int_equal(profile_load(link, "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "cannot open profile", "dangling.conf: No such file"));
	diag_free(&d);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100 << 20), 0);
	close(fd);
	assert_int_equal(profile_load(big, "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "big.conf", "file too large"));
	diag_free(&d);
	/* invalid UTF-8: a path is bytes and taken; a message escapes them */
	assert_int_equal(
		LOAD("bytes.conf", "[mount]\nbind = /sr\xff:/x\n[root]\nhost\xfe = a\n", &l, &d),
		1);
	assert_string_equal(value_of(&l, "mount", "bind"), "/sr\xff:/x");
	assert_true(unit_diag_has(&d, "host\\xfe", NULL));
	assert_null(strchr(d.msgs[0], '\xfe'));
	layer_free(&l);
	diag_free(&d);
}

/* P8: 10^6 lines. Empty ones fit in the 1 MiB limit and make an empty
 * layer; as many comments do not, and are refused as too large. */
static void
test_million_lines(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *text = xmalloc(3000000);
	_cleanup_free_ char *empty = NULL, *comments = NULL;

	(void)state;
	memset(text, '\n', 1000000);
	empty = unit_write(dir, "empty-lines.conf", text, 1000000);
	assert_int_equal(profile_load(empty, "command line", 0, &l, &d), 0);
	assert_int_equal(l.n, 0);
	layer_free(&l);
	for (size_t i = 0; i < 1000000; i++)
		memcpy(text + 3 * i, "#x\n", 3);
	comments = unit_write(dir, "comment-lines.conf", text, 3000000);
	assert_int_equal(profile_load(comments, "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "comment-lines.conf", "file too large"));
	assert_int_equal(l.n, 0);
	diag_free(&d);
}

static void
test_trust(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *p = unit_write(dir, "loose.conf", "[root]\nhostname=a\n", 18);

	(void)state;
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(profile_load(p, "command line", PROFILE_TRUST, &l, &d), 1);
	assert_true(unit_diag_has(&d, "refusing profile", "writable by group or others"));
	assert_int_equal(l.n, 0);
	diag_free(&d);
}

/* T3: a trusted profile that includes a file others may write. */
static void
test_trust_include(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *loose = unit_write(dir, "loose2.conf", "[root]\nhostname=a\n", 18);
	_cleanup_free_ char *text = xasprintf("[profile]\ninclude = %s\n", loose);
	_cleanup_free_ char *top = unit_write(dir, "top.conf", text, strlen(text));
	_cleanup_free_ char *origin = xasprintf("%s:2", top);

	(void)state;
	assert_int_equal(chmod(loose, 0666), 0);
	assert_int_equal(profile_load(top, "command line", PROFILE_TRUST, &l, &d), 1);
	/* the include's line, then the file refused */
	assert_true(unit_diag_has(&d, origin, "refusing profile"));
	layer_free(&l);
	diag_free(&d);
}

static void
test_search_path(void **state)
{
	struct layer l = {0};
	struct diag d = {0};
	_cleanup_free_ char *p = unit_write(dir, "found.conf", "[root]\nhostname=f\n", 18);

	(void)state;
	setenv("NSBOX_PROFILE_PATH", dir, 1);
	assert_int_equal(profile_load("found", "command line", 0, &l, &d), 0);
	assert_string_equal(value_of(&l, "root", "hostname"), "f");
	/* A name with a '/' is a path, opened as given (here relative to the
	 * tests' cwd, where there is none), never looked up in the search
	 * path, where found.conf is. */
	assert_int_equal(profile_load("../nsbox-no-such-dir/found", "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(
		&d, "command line: cannot open profile ../nsbox-no-such-dir/found: No such file",
		NULL));
	diag_free(&d);
	assert_int_equal(profile_load("nosuch", "command line", 0, &l, &d), 1);
	assert_true(unit_diag_has(&d, "no profile 'nosuch' (searched ", dir));
	unsetenv("NSBOX_PROFILE_PATH");
	layer_free(&l);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_million_lines),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_crlf_bom),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_spaces_in_header),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_include_order),
		cmocka_unit_test(test_include_cycle),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_odd_files),
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_trust_include),
		cmocka_unit_test(test_search_path),
	};
	int rc;

	dir = unit_tmpdir();
	rc = cmocka_run_group_tests_name("profile", tests, NULL, NULL);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	free(dir);
	return rc;
}

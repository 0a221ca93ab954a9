/* SPDX-License-Identifier: BSD-2-Clause */
/* The map builder from /etc/subuid text: root's private range, what a user
 * may map (its own id, what is delegated to it), the defaults, and a root
 * owned by a delegated id. */
#include "unit.h"

#include "plan.h"
#include "userns.h"

static FILE *
text(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

/* idmaps_build with the same text as subuid and subgid. */
static int
build(const struct plan_user *p, uid_t uid, const char *name, const char *sub, struct idmaps *m,
      struct nsbox_err *err)
{
	FILE *u = text(sub), *g = text(sub);
	int r = idmaps_build(p, uid, uid, name, u, g, m, err);

	fclose(u);
	fclose(g);
	return r;
}

static bool
helpers(void)
{
	return access("/usr/bin/newuidmap", X_OK) == 0 && access("/usr/bin/newgidmap", X_OK) == 0;
}

static void
test_root_defaults(void **unused)
{
	struct idmaps m;
	struct nsbox_err err = {0};
	struct plan_user none = {0};

	(void)unused;
	/* nothing delegated to root: a private range high up, 65536 ids */
	assert_int_equal(build(&none, 0, "root", "alice:100000:65536\n", &m, &err), 0);
	assert_int_equal(m.n_uid, 1);
	assert_int_equal(m.uid[0].inside, 0);
	assert_int_equal(m.uid[0].outside, 0x70000000U);
	assert_int_equal(m.uid[0].count, 65536);
	assert_true(m.caller_mapped); /* root reaches everything */
	assert_false(m.helper);
	assert_int_equal(m.root_uid, 0x70000000U);
	idmaps_clear(&m);
	/* root's own delegation, cut to 65536 */
	assert_int_equal(build(&none, 0, "root", "root:200000:1000000\n", &m, &err), 0);
	assert_int_equal(m.uid[0].outside, 200000);
	assert_int_equal(m.uid[0].count, 65536);
	assert_int_equal(m.root_gid, 200000);
	idmaps_clear(&m);
}

static void
test_user_defaults(void **unused)
{
	struct idmaps m;
	struct nsbox_err err = {0};
	struct plan_user none = {0};

	(void)unused;
	/* nothing delegated: the caller as root, alone, without helpers */
	assert_int_equal(build(&none, 1000, "alice", "bob:100000:65536\n", &m, &err), 0);
	assert_int_equal(m.n_uid, 1);
	assert_int_equal(m.uid[0].outside, 1000);
	assert_int_equal(m.uid[0].count, 1);
	assert_false(m.helper);
	assert_true(m.deny_setgroups); /* the kernel's rule for a map of one's own id */
	assert_true(m.caller_mapped);
	idmaps_clear(&m);
	/* a delegated range: ids 1.. through the helpers, where they exist */
	assert_int_equal(build(&none, 1000, "alice", "alice:100000:65536\n", &m, &err), 0);
	if (helpers()) {
		assert_int_equal(m.n_uid, 2);
		assert_int_equal(m.uid[1].inside, 1);
		assert_int_equal(m.uid[1].outside, 100000);
		assert_int_equal(m.uid[1].count, 65535);
		assert_true(m.helper);
		assert_false(m.deny_setgroups);
	} else {
		assert_int_equal(m.n_uid, 1);
	}
	assert_int_equal(m.root_uid, 1000);
	idmaps_clear(&m);
	/* by uid as well as by name, as shadow's tools take it */
	assert_int_equal(build(&none, 1000, "alice", "1000:300000:10\n", &m, &err), 0);
	if (helpers())
		assert_int_equal(m.uid[1].outside, 300000);
	idmaps_clear(&m);
}

static void
test_user_maps(void **unused)
{
	struct idmap uid[] = {{0, 100000, 65536, "p.conf:3"}}, self[] = {{0, 1000, 1, "p.conf:3"}};
	struct idmap wide[] = {{0, 100000, 65537, "p.conf:4"}};
	struct plan_user p = {.uid_map = uid, .gid_map = uid, .n_uid_map = 1, .n_gid_map = 1};
	struct idmaps m;
	struct nsbox_err err = {0};

	(void)unused;
	/* pflask's --user-map=0:100000:65536, delegated: taken; the caller
	 * itself is not in it */
	assert_int_equal(build(&p, 1000, "alice", "alice:100000:65536\n", &m, &err), 0);
	assert_true(m.helper);
	assert_false(m.caller_mapped);
	assert_int_equal(m.root_uid, 100000);
	idmaps_clear(&m);
	/* one id more than delegated: refused at the map's origin */
	p.uid_map = p.gid_map = wide;
	assert_int_equal(build(&p, 1000, "alice", "alice:100000:65536\n", &m, &err), -1);
	assert_string_equal(err.msg,
			    "p.conf:4: user.map: host uids 100000-165536 are not delegated "
			    "to alice (/etc/subuid)");
	assert_null(m.uid);
	/* another user's range: refused */
	err = (struct nsbox_err){0};
	p.uid_map = p.gid_map = uid;
	assert_int_equal(build(&p, 1000, "alice", "bob:100000:65536\n", &m, &err), -1);
	assert_non_null(strstr(err.msg, "are not delegated to alice"));
	/* its own id is always the caller's to map, without a helper */
	p.uid_map = p.gid_map = self;
	assert_int_equal(build(&p, 1000, "alice", "", &m, &err), 0);
	assert_false(m.helper);
	assert_true(m.caller_mapped);
	idmaps_clear(&m);
	/* root maps what it likes */
	p.uid_map = p.gid_map = wide;
	assert_int_equal(build(&p, 0, "root", "", &m, &err), 0);
	assert_int_equal(m.uid[0].count, 65537);
	idmaps_clear(&m);
}

static void
test_from_owner(void **unused)
{
	struct idmaps m = {0};
	FILE *u, *g;

	(void)unused;
	if (!helpers()) {
		skip();
		return;
	}
	/* a root that mmdebstrap --mode=unshare made: owned by the first
	 * delegated id; 0 maps to it for the rest of the range */
	u = text("alice:100000:65536\n");
	g = text("alice:100000:65536\n");
	assert_true(idmaps_from_owner(1000, 1000, "alice", 100000, 100000, u, g, &m));
	assert_int_equal(m.uid[0].outside, 100000);
	assert_int_equal(m.uid[0].count, 65536);
	assert_int_equal(m.root_uid, 100000);
	assert_false(m.caller_mapped);
	idmaps_clear(&m);
	/* an id in the middle of the range: the rest of it */
	rewind(u);
	rewind(g);
	assert_true(idmaps_from_owner(1000, 1000, "alice", 100010, 100010, u, g, &m));
	assert_int_equal(m.uid[0].count, 65526);
	idmaps_clear(&m);
	/* the caller's own root, or an id not delegated: not this rule */
	rewind(u);
	rewind(g);
	assert_false(idmaps_from_owner(1000, 1000, "alice", 1000, 1000, u, g, &m));
	rewind(u);
	rewind(g);
	assert_false(idmaps_from_owner(1000, 1000, "alice", 5, 5, u, g, &m));
	rewind(u);
	rewind(g);
	assert_false(idmaps_from_owner(0, 0, "root", 100000, 100000, u, g, &m));
	fclose(u);
	fclose(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_defaults),
		cmocka_unit_test(test_user_defaults),
		cmocka_unit_test(test_user_maps),
		cmocka_unit_test(test_from_owner),
	};

	return cmocka_run_group_tests_name("userns", tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include "unit.h"
#include "sha256.h"
#include "tarball.h"

static void
digest(const void *data, size_t len, size_t chunk, char hex[65])
{
	struct sha256 s;
	unsigned char d[32];
	const unsigned char *p = data;

	sha256_init(&s);
	while (len) {
		size_t n = len < chunk ? len : chunk;

		sha256_update(&s, p, n);
		p += n;
		len -= n;
	}
	sha256_final(&s, d);
	sha256_hex(d, hex);
}

/* FIPS 180-4 examples, in both implementations and in odd chunk sizes
 * (the SHA-NI path takes whole blocks, the buffer the rest). */
static void
test_sha256(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqk"
		 "lm"
		 "nopqrlmnopqrsmnopqrstnopqrstu",
		 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	static const size_t chunks[] = {1, 3, 63, 64, 65, 1000};
	char hex[65], *million = xmalloc(1000000);

	(void)state;
	memset(million, 'a', 1000000);
	for (int generic = 0; generic < 2; generic++) {
		sha256_force_generic(generic);
		for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
			for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
				digest(v[i].in, strlen(v[i].in), chunks[c], hex);
				assert_string_equal(hex, v[i].out);
			}
		}
		digest(million, 1000000, 4096 + 7, hex);
		assert_string_equal(
			hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
	sha256_force_generic(0);
	free(million);
}

static void
test_check_path(void **state)
{
	static const char *const good[] = {"a", "./a/b", "a/..b", "..a", "a/b../c",
					   ".", "./",    "a//b",  "...", "a/.../b"};
	static const char *const dotdot[] = {"..",     "../x",     "a/../b", "a/..",
					     "./../x", "a//..//b", "a/b/.."};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_null(tarball_check_path(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(dotdot); i++)
		assert_string_equal(tarball_check_path(dotdot[i]), "path contains '..'");
	assert_string_equal(tarball_check_path("/etc/x"), "path is absolute");
	assert_string_equal(tarball_check_path("//x"), "path is absolute");
}

static void
test_compression(void **state)
{
	static const unsigned char gz[] = {0x1f, 0x8b, 8}, xz[] = {0xfd, '7', 'z', 'X', 'Z', 0},
				   zst[] = {0x28, 0xb5, 0x2f, 0xfd}, bz[] = "BZh9",
				   lz4[] = {0x04, 0x22, 0x4d, 0x18}, tar[] = "./\0\0\0\0";

	(void)state;
	assert_string_equal(tarball_compression(gz, sizeof(gz)), "gzip");
	assert_string_equal(tarball_compression(xz, sizeof(xz)), "xz");
	assert_string_equal(tarball_compression(zst, sizeof(zst)), "zstd");
	assert_string_equal(tarball_compression(bz, 4), "bzip2");
	assert_string_equal(tarball_compression(lz4, sizeof(lz4)), "lz4");
	assert_null(tarball_compression(tar, 6));
	assert_null(tarball_compression(xz, 5)); /* too short to tell */
	assert_null(tarball_compression(gz, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_compression),
	};

	return cmocka_run_group_tests_name("tarball", tests, NULL, NULL);
}

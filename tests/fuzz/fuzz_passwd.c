/* SPDX-License-Identifier: BSD-2-Clause */
/* The root's passwd and group parser (runc fuzzes its own as FuzzUser):
 * the bytes as both files, looked up by name and by number. */
#include "env.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = {"builder", "root", "1000", "0001", NULL};
	struct nsbox_err err = {0};

	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		FILE *p = fuzz_stream(data, size), *g = fuzz_stream(data, size);
		struct user_info u = {0};

		if (p && g && user_lookup(users[i], p, g, &u, &err) == 0)
			user_info_clear(&u);
		if (p)
			fclose(p);
		if (g)
			fclose(g);
	}
	return 0;
}

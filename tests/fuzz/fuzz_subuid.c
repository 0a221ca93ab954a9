/* SPDX-License-Identifier: BSD-2-Clause */
/* /etc/subuid parsing and the map builder: the bytes as both files, for a
 * caller named after the first line's name. */
#include "fuzz.h"
#include "plan.h"
#include "userns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idmap out[16];
	struct idmaps m = {0};
	struct nsbox_err err = {0};
	struct plan_user none = {0};
	FILE *f = fuzz_stream(data, size), *g = fuzz_stream(data, size);

	if (f) {
		subid_read(f, "nsbox", 1000, out, 16);
		rewind(f);
	}
	if (f && g && idmaps_build(&none, 1000, 1000, "nsbox", f, g, &m, &err) == 0)
		idmaps_clear(&m);
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return 0;
}

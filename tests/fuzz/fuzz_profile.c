/* SPDX-License-Identifier: BSD-2-Clause */
/* The profile loader through show: bytes -> a profile file -> load ->
 * merge -> validate -> print as INI and JSON. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "plan.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;
	struct layer l = {0};
	struct diag d = {0};
	struct plan *p;
	FILE *devnull;

	if (size > 65536) /* as nspawn's limit for a settings file */
		return 0;
	fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	p = plan_new();
	profile_load(path, "fuzz", 0, &l, &d);
	plan_merge(p, &l, &d);
	plan_validate(p, &d);
	devnull = fopen("/dev/null", "w");
	if (devnull) {
		plan_print(p, devnull, false);
		plan_print(p, devnull, true);
		fclose(devnull);
	}
	layer_free(&l);
	diag_free(&d);
	plan_free(p);
	close(fd);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* The run state's reader: any bytes, as nsbox ps, exec and the rest read a
 * state file; what it takes is written again and must read back the same. */
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_state s, again;
	const char *why;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (state_parse((const char *)data, size, &s, &why) < 0)
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		abort();
	state_write(f, &s, NULL);
	fclose(f);
	if (state_parse(buf, len, &again, &why) < 0 || !streq(s.id, again.id) ||
	    !streq(s.name, again.name) || s.pid != again.pid || s.nsbox_pid != again.nsbox_pid ||
	    s.seccomp != again.seccomp || s.no_new_privs != again.no_new_privs ||
	    strv_len(s.command) != strv_len(again.command))
		abort();
	state_clear(&again);
	state_clear(&s);
	free(buf);
	return 0;
}

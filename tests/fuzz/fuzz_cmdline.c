/* SPDX-License-Identifier: BSD-2-Clause */
/* The option parser: bytes split on NUL into an argv for run, show, cache
 * and the others, then merged into a plan and validated. */
#include "fuzz.h"
#include "options.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[65];
	int argc = 0;
	struct overrides o;
	struct nsbox_err err = {0};
	struct diag d = {0};
	struct plan *p;
	static const struct syntax *const cmds[] = {
		&syntax_run,   &syntax_show,  &syntax_check,  &syntax_list, &syntax_gc,
		&syntax_cache, &syntax_ps,    &syntax_stop,   &syntax_kill, &syntax_exec,
		&syntax_stats, &syntax_pause, &syntax_attach,
	};
	const struct syntax *cmd;

	if (size < 1 || size > 8192)
		return 0;
	cmd = cmds[data[0] % (sizeof(cmds) / sizeof(cmds[0]))];
	buf = fuzz_string(data + 1, size - 1);
	argv[argc++] = "nsbox-fuzz";
	for (char *s = buf; argc < 64 && s < buf + size - 1; s += strlen(s) + 1)
		argv[argc++] = s;
	argv[argc] = NULL;
	if (options_parse(cmd, argc, argv, &o, &err) == 0) {
		p = plan_new();
		plan_merge(p, &o.layer, &d);
		plan_validate(p, &d);
		plan_free(p);
		diag_free(&d);
	}
	overrides_free(&o);
	free(buf);
	return 0;
}

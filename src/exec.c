/* SPDX-License-Identifier: BSD-2-Clause */
#include "exec.h"

int
exec_run(struct plan *p, bool verbose, bool dry_run, struct nsbox_err *err)
{
	(void)p;
	(void)verbose;
	(void)dry_run;
	return nsbox_error(err, 0, "run: not implemented yet");
}

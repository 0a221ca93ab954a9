/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

int
nsbox_error(struct nsbox_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->errnum = errnum;
	err->located = false;
	n = strlen(err->msg);
	if (errnum && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	return -1;
}

int
nsbox_error_at(struct nsbox_err *err, const char *origin, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err->msg, sizeof(err->msg), "%s: ", origin);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	err->errnum = 0;
	err->located = true;
	return -1;
}

void
nsbox_error_locate(struct nsbox_err *err, const char *where)
{
	if (err->located)
		return;
	nsbox_error_prefix(err, where);
	err->located = true;
}

void
nsbox_error_prefix(struct nsbox_err *err, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (pl + 2 >= sizeof(err->msg))
		return;
	/* Shift the message right, dropping what no longer fits. */
	memmove(err->msg + pl + 2, err->msg, sizeof(err->msg) - pl - 2);
	err->msg[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, prefix, pl);
	err->msg[pl] = ':';
	err->msg[pl + 1] = ' ';
}

void
diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	xgrow(&d->msgs, &d->cap, d->n + 1, sizeof(char *));
	va_start(ap, fmt);
	d->msgs[d->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_ERR_H
#define NSBOX_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* One error, filled by the function that failed; crun's idea with a
 * caller-owned buffer. errnum is 0 when the error is not a system error. */
struct nsbox_err {
	int errnum;
	bool located; /* msg starts with the origin: "FILE:LINE: " or "command line: " */
	char msg[512];
};

/* Fill err with the formatted message; with errnum, append ": strerror".
 * Always returns -1, so that `return nsbox_error(...)` reads naturally. */
int nsbox_error(struct nsbox_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As nsbox_error, for a user's mistake: the message starts with origin (a
 * profile line, or the command line), and no step name goes in front. */
int nsbox_error_at(struct nsbox_err *err, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message, e.g. with the step that failed. */
void nsbox_error_prefix(struct nsbox_err *err, const char *prefix);
/* Prefix it with where the mistake is (starting with an origin), once. */
void nsbox_error_locate(struct nsbox_err *err, const char *where);

/* A list of user-facing diagnostics, for passes that report every error
 * instead of stopping at the first (profile loading, plan validation). */
struct diag {
	char **msgs;
	size_t n, cap;
};

void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_free(struct diag *d);

#endif

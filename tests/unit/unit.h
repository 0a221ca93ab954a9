/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_UNIT_H
#define NSBOX_UNIT_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

/* A fresh temporary directory for one test program. */
static inline char *
unit_tmpdir(void)
{
	char *d = xstrdup("/tmp/nsbox-unit.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

/* Write len bytes to DIR/NAME and return the path. */
static inline char *
unit_write(const char *dir, const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Is there a message in d that contains every one of the strings? */
static inline bool
unit_diag_has(const struct diag *d, const char *a, const char *b)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], a) && (!b || strstr(d->msgs[i], b)))
			return true;
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->msgs[i]);
	return false;
}

#endif

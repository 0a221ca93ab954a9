/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the libFuzzer targets: the input as a NUL-ended string, or as
 * a stream. */
#ifndef NSBOX_FUZZ_H
#define NSBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static inline char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static inline FILE *
fuzz_stream(const uint8_t *data, size_t size)
{
	return fmemopen((void *)data, size ? size : 1, "r");
}

#endif

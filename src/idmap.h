/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_IDMAP_H
#define NSBOX_IDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

/* The kernel refuses map files over one page and, since 4.15, more than
 * 340 extents. */
#define IDMAP_MAX_EXTENTS 340

/* Parse INSIDE:OUTSIDE:COUNT (32-bit ids, COUNT > 0, no wrap-around). */
const char *idmap_parse(const char *s, struct idmap *out);

/* Index of an extent whose inside (or outside) range overlaps an earlier one,
 * or -1. The kernel rejects such maps, so nsbox does it first. */
long idmap_overlap(const struct idmap *m, size_t n, bool outside);

/* Format a map as the kernel's uid_map text into buf; -1 if it does not fit. */
int idmap_format(const struct idmap *m, size_t n, char *buf, size_t size);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <string.h>

#include "idmap.h"
#include "util.h"

const char *
idmap_parse(const char *s, struct idmap *out)
{
	char *f[3] = {NULL, NULL, NULL};
	int n = value_split(s, f, 3);
	uint64_t v[3];
	const char *e = NULL;

	if (n != 3) {
		value_fields_free(f, n < 0 ? 0 : n);
		return "expected INSIDE:OUTSIDE:COUNT";
	}
	for (int i = 0; i < 3 && !e; i++)
		if (value_uint(f[i], i == 2 ? 1 : 0, UINT32_MAX, &v[i]))
			e = i == 2 ? "COUNT must be a number from 1 to 4294967295"
				   : "ids are numbers from 0 to 4294967295";
	value_fields_free(f, 3);
	if (e)
		return e;
	/* The last id of each range must still be a valid 32-bit id. */
	if (v[0] + v[2] - 1 > UINT32_MAX || v[1] + v[2] - 1 > UINT32_MAX)
		return "the range runs past id 4294967295";
	out->inside = (uint32_t)v[0];
	out->outside = (uint32_t)v[1];
	out->count = (uint32_t)v[2];
	return NULL;
}

long
idmap_overlap(const struct idmap *m, size_t n, bool outside)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t a = outside ? m[i].outside : m[i].inside;

		for (size_t j = 0; j < i; j++) {
			uint64_t b = outside ? m[j].outside : m[j].inside;

			if (a < b + m[j].count && b < a + m[i].count)
				return (long)i;
		}
	}
	return -1;
}

int
idmap_format(const struct idmap *m, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(buf + off, size - off, "%u %u %u\n", m[i].inside, m[i].outside,
				 m[i].count);

		if (r < 0 || (size_t)r >= size - off)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

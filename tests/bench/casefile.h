/* SPDX-License-Identifier: BSD-2-Clause */
/* The case files of the benchmarks' C drivers (spawn-time.c, throughput.c):
 * a case a line, its name, then its argv, fields separated by tabs; empty
 * lines and lines starting with # are skipped. Included by each driver. */
#ifndef NSBOX_BENCH_CASEFILE_H
#define NSBOX_BENCH_CASEFILE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bcase {
	char *name;
	char **argv;
	int failed;
};

static char **
split_tabs(char *line)
{
	size_t n = 1, i = 0;
	char **v, *save = NULL;

	for (char *p = line; *p; p++)
		n += *p == '\t';
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (char *t = strtok_r(line, "\t", &save); t; t = strtok_r(NULL, "\t", &save))
		v[i++] = t;
	return v;
}

/* Up to max cases of the file at path into c; their number. Exits with
 * status 2 on a file that cannot be read or a malformed line. */
static size_t
casefile_read(const char *path, struct bcase *c, size_t max)
{
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	FILE *f = fopen(path, "re");

	if (!f) {
		perror(path);
		exit(2);
	}
	while ((len = getline(&line, &cap, f)) > 0 && n < max) {
		char **v;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!*line || *line == '#')
			continue;
		v = split_tabs(strdup(line));
		if (!v || !v[0] || !v[1]) {
			fprintf(stderr, "%s: %s: a name and a command, tab-separated\n", path,
				line);
			exit(2);
		}
		c[n++] = (struct bcase){v[0], v + 1, 0};
	}
	free(line);
	fclose(f);
	return n;
}
#endif

/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef DATADIR
#define DATADIR "/usr/local/share/nsbox"
#endif

struct frame {
	char *path;
	unsigned incline; /* line of the include being followed */
	dev_t dev;
	ino_t ino;
};

struct loader {
	unsigned flags;
	struct diag *d;
	struct frame stack[PROFILE_MAX_DEPTH + 1];
	size_t depth;
};

/* The state of one file: the line reader hands inih one line at a time and
 * remembers what it found on it, for the handler that inih calls next. */
struct reader {
	struct loader *ld;
	const char *path, *buf;
	size_t len, pos;
	unsigned line;
	bool in_section, skip_section, skip_line;
	char *key, *value;
	struct layer own, incs;
};

static size_t load_file(struct loader *ld, const char *path, const char *origin, struct layer *out);

char **
profile_search_path(void)
{
	char **v = NULL;
	const char *env = getenv("NSBOX_PROFILE_PATH"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (env && *env) {
		_cleanup_free_ char *copy = xstrdup(env);
		char *save = NULL;

		for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
			strv_push(&v, t);
	}
	if (geteuid() != 0) {
		_cleanup_free_ char *dir = NULL;

		if (xdg && *xdg == '/')
			dir = xasprintf("%s/nsbox", xdg);
		else if (home && *home == '/')
			dir = xasprintf("%s/.config/nsbox", home);
		if (dir)
			strv_push(&v, dir);
	}
	strv_push(&v, SYSCONFDIR "/nsbox");
	strv_push(&v, DATADIR "/profiles");
	return v;
}

static bool
valid_name(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/');
}

/* NAME.conf from the search path; NULL if there is none. */
static char *
find_profile(const char *name)
{
	_cleanup_strv_ char **dirs = profile_search_path();

	for (size_t i = 0; dirs[i]; i++) {
		char *p = xasprintf("%s/%s.conf", dirs[i], name);

		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static char *
search_path_text(void)
{
	_cleanup_strv_ char **dirs = profile_search_path();
	char *s = xstrdup("");

	for (size_t i = 0; dirs[i]; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", dirs[i]);

		free(s);
		s = t;
	}
	return s;
}

static void
emit(char *str, const char *line, size_t n)
{
	memcpy(str, line, n);
	str[n] = '\n';
	str[n + 1] = '\0';
}

static void
trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static void
section_line(struct reader *r, char *str, const char *line, size_t n)
{
	const char *close = memchr(line, ']', n), *name = line + 1;
	size_t len = close ? (size_t)(close - name) : 0;
	char msg[256];
	_cleanup_free_ char *s = NULL;

	/* After a bad header, skip the keys below it: one error per mistake. */
	r->in_section = r->skip_section = true;
	if (!close) {
		diag_add(r->ld->d, "%s:%u: unterminated section header", r->path, r->line);
		return;
	}
	if (close != line + n - 1) {
		diag_add(r->ld->d, "%s:%u: unexpected text after section header", r->path, r->line);
		return;
	}
	trim(&name, &len);
	if (len == 0) {
		diag_add(r->ld->d, "%s:%u: empty section name", r->path, r->line);
		return;
	}
	s = xstrndup(name, len);
	if (strchr(s, '[') || plan_key_check(s, NULL, msg, sizeof(msg)) < 0) {
		if (strchr(s, '['))
			snprintf(msg, sizeof(msg), "invalid section header");
		diag_add(r->ld->d, "%s:%u: %s", r->path, r->line, msg);
		return;
	}
	r->skip_section = false;
	str[0] = '[';
	memcpy(str + 1, s, len);
	emit(str + len + 1, "]", 1);
}

static void
key_line(struct reader *r, char *str, const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n), *k = line, *v;
	size_t kn, vn;

	if (!eq) {
		diag_add(r->ld->d, "%s:%u: expected KEY = VALUE", r->path, r->line);
		return;
	}
	kn = (size_t)(eq - line);
	trim(&k, &kn);
	v = eq + 1;
	vn = (size_t)(line + n - v);
	trim(&v, &vn);
	if (kn == 0) {
		diag_add(r->ld->d, "%s:%u: empty key", r->path, r->line);
		return;
	}
	if (!r->in_section) {
		diag_add(r->ld->d, "%s:%u: key outside of a section", r->path, r->line);
		return;
	}
	if (r->skip_section)
		return;
	free(r->key);
	free(r->value);
	r->key = xstrndup(k, kn);
	r->value = xstrndup(v, vn);
	r->skip_line = false;
	emit(str, line, n);
}

/* An fgets() for inih over the file in memory. It checks each line before
 * inih sees it, so that nothing is silently truncated or misread, and hands
 * inih an empty line in place of a bad one so line numbers stay aligned. */
static char *
reader(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *line = r->buf + r->pos, *nl, *nul;
	size_t n;

	if (r->pos >= r->len)
		return NULL;
	nl = memchr(line, '\n', r->len - r->pos);
	n = nl ? (size_t)(nl - line) : r->len - r->pos;
	r->pos += n + (nl ? 1 : 0);
	r->line++;
	r->skip_line = true;
	emit(str, "", 0);
	if (r->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		n -= 3;
	}
	if (n && line[n - 1] == '\r')
		n--;
	if ((nul = memchr(line, '\0', n))) {
		diag_add(r->ld->d, "%s:%u:%zu: NUL byte in profile", r->path, r->line,
			 (size_t)(nul - line) + 1);
		return str;
	}
	/* inih needs room for the line, "\r\n" and the NUL (INI_MAX_LINE). */
	if (num < 4 || n > (size_t)num - 3) {
		diag_add(r->ld->d, "%s:%u: line too long (lines are limited to %d bytes)", r->path,
			 r->line, num - 3);
		return str;
	}
	trim(&line, &n);
	if (n == 0 || line[0] == '#' || line[0] == ';')
		return str;
	if (line[0] == '[')
		section_line(r, str, line, n);
	else
		key_line(r, str, line, n);
	return str;
}

static char *
include_path(const struct reader *r, const char *value)
{
	_cleanup_free_ char *dir = NULL;

	char *p;

	if (value[0] == '/')
		return xstrdup(value);
	dir = xstrdup(r->path);
	if (strchr(value, '/'))
		return xasprintf("%s/%s", dirname(dir), value);
	if (!valid_name(value))
		return NULL;
	/* A name is looked for beside the including file first, so that a set
	 * of profiles can be moved as a whole, then in the search path. */
	p = xasprintf("%s/%s.conf", dirname(dir), value);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return find_profile(value);
}

static void
do_include(struct reader *r, const char *value)
{
	_cleanup_free_ char *origin = xasprintf("%s:%u", r->path, r->line), *path = NULL;
	_cleanup_free_ char *where = NULL, *v = str_escape(value);

	if (!*value) {
		diag_add(r->ld->d, "%s: profile.include: empty value", origin);
		return;
	}
	path = include_path(r, value);
	if (!path) {
		where = search_path_text();
		diag_add(r->ld->d, "%s: profile.include: no profile '%s' (searched %s)", origin, v,
			 where);
		return;
	}
	r->ld->stack[r->ld->depth - 1].incline = r->line;
	load_file(r->ld, path, origin, &r->incs);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	_cleanup_free_ char *origin = NULL;
	char msg[256];

	(void)value; /* inih cuts values at " ;"; the reader kept the whole line */
	if (r->skip_line || !r->key || !streq(name, r->key))
		return 1;
	origin = xasprintf("%s:%u", r->path, r->line);
	if (plan_key_check(section, r->key, msg, sizeof(msg)) < 0)
		diag_add(r->ld->d, "%s: %s", origin, msg);
	else if (streq(section, "profile") && streq(r->key, "include"))
		do_include(r, r->value);
	else
		layer_add(&r->own, section, r->key, r->value, origin);
	return 1;
}

static bool
trusted(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Refuse a profile root should not trust; its directory too, since whoever
 * can write there can replace the file. */
static const char *
trust_check(int fd, const char *path)
{
	struct stat st;
	_cleanup_free_ char *dir = xstrdup(path);

	if (fstat(fd, &st) == 0 && !trusted(&st))
		return "is not owned by root or is writable by group or others";
	if (stat(dirname(dir), &st) == 0 && !trusted(&st))
		return "is in a directory not owned by root or writable by group or others";
	return NULL;
}

static bool
in_cycle(struct loader *ld, const char *origin, const char *path, const struct stat *st)
{
	size_t k;
	char *chain;

	for (k = 0; k < ld->depth; k++)
		if (ld->stack[k].dev == st->st_dev && ld->stack[k].ino == st->st_ino)
			break;
	if (k == ld->depth)
		return false;
	chain = xstrdup("");
	for (size_t i = k; i < ld->depth; i++) {
		char *t = xasprintf("%s%s:%u -> ", chain, ld->stack[i].path, ld->stack[i].incline);

		free(chain);
		chain = t;
	}
	diag_add(ld->d, "%s: profile.include: include cycle: %s%s", origin, chain, path);
	free(chain);
	return true;
}

static int
open_profile(struct loader *ld, const char *path, const char *origin, struct stat *st)
{
	_cleanup_close_ int fd = -1;
	const char *why;

	/* O_NONBLOCK: a FIFO must not hang nsbox; read_regular_file refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		diag_add(ld->d, "%s: cannot open profile %s: %s", origin, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		diag_add(ld->d, "%s: cannot stat profile %s: %s", origin, path, strerror(errno));
		return -1;
	}
	if ((ld->flags & PROFILE_TRUST) && (why = trust_check(fd, path))) {
		diag_add(ld->d, "%s: refusing profile %s: it %s", origin, path, why);
		return -1;
	}
	return steal_fd(&fd);
}

static size_t
load_file(struct loader *ld, const char *path, const char *origin, struct layer *out)
{
	struct reader r = {.ld = ld, .path = path};
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t before = ld->d->n;
	struct stat st;
	const char *why;
	int rc;

	if ((fd = open_profile(ld, path, origin, &st)) < 0)
		return ld->d->n - before;
	if (in_cycle(ld, origin, path, &st))
		return ld->d->n - before;
	if (ld->depth >= PROFILE_MAX_DEPTH) {
		diag_add(ld->d, "%s: profile.include: includes nested more than %d deep", origin,
			 PROFILE_MAX_DEPTH);
		return ld->d->n - before;
	}
	if (read_regular_file(fd, PROFILE_MAX_SIZE, &buf, &r.len, &why) < 0) {
		diag_add(ld->d, "%s: cannot read profile %s: %s", origin, path, why);
		return ld->d->n - before;
	}
	r.buf = buf;
	ld->stack[ld->depth++] = (struct frame){(char *)path, 0, st.st_dev, st.st_ino};
	rc = ini_parse_stream(reader, &r, handler, &r);
	ld->depth--;
	if (rc != 0 && ld->d->n == before)
		diag_add(ld->d, "%s:%d: cannot parse this line", path, rc);
	layer_move(out, &r.incs);
	layer_move(out, &r.own);
	free(r.key);
	free(r.value);
	return ld->d->n - before;
}

size_t
profile_load(const char *name, const char *origin, unsigned flags, struct layer *l, struct diag *d)
{
	struct loader ld = {.flags = flags, .d = d};
	_cleanup_free_ char *path = NULL, *where = NULL, *n = str_escape(name);

	if (strchr(name, '/'))
		return load_file(&ld, name, origin, l);
	if (!valid_name(name)) {
		diag_add(d, "%s: invalid profile name '%s'", origin, n);
		return 1;
	}
	if (!(path = find_profile(name))) {
		where = search_path_text();
		diag_add(d, "%s: no profile '%s' (searched %s)", origin, n, where);
		return 1;
	}
	return load_file(&ld, path, origin, l);
}

static int
cmp_info(const void *a, const void *b)
{
	const struct profile_info *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
list_dir(const char *dir, struct profile_info **v, size_t *n, size_t *cap)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	size_t first = *n;

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len <= 5 || de->d_name[0] == '.' || !streq(de->d_name + len - 5, ".conf"))
			continue;
		xgrow(v, cap, *n + 1, sizeof(**v));
		(*v)[*n] = (struct profile_info){xstrndup(de->d_name, len - 5),
						 xasprintf("%s/%s", dir, de->d_name), NULL};
		for (size_t i = 0; i < first; i++)
			if (streq((*v)[i].name, (*v)[*n].name) && !(*v)[i].shadowed_by)
				(*v)[*n].shadowed_by = xstrdup((*v)[i].path);
		(*n)++;
	}
	closedir(dh);
	if (*n > first) /* *v is NULL while nothing was found */
		qsort(*v + first, *n - first, sizeof(**v), cmp_info);
}

size_t
profile_list(struct profile_info **out)
{
	_cleanup_strv_ char **dirs = profile_search_path();
	size_t n = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; dirs[i]; i++)
		list_dir(dirs[i], out, &n, &cap);
	return n;
}

void
profile_list_free(struct profile_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
		free(v[i].shadowed_by);
	}
	free(v);
}

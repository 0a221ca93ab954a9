/* SPDX-License-Identifier: BSD-2-Clause */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "tarball.h"
#include "util.h"

/*
 * libarchive is loaded only where a tarball is extracted, in a process of
 * its own: linked in, it and what it pulls in (libxml2, ICU, libstdc++ and
 * six compressors) are mapped into every nsbox run, costing start time
 * and a few MB of resident memory for nothing.
 */
#define LA_FUNCS(X)                                                                                \
	X(archive_entry_filetype)                                                                  \
	X(archive_entry_hardlink)                                                                  \
	X(archive_entry_pathname)                                                                  \
	X(archive_entry_size)                                                                      \
	X(archive_entry_xattr_add_entry)                                                           \
	X(archive_entry_xattr_clear)                                                               \
	X(archive_entry_xattr_count)                                                               \
	X(archive_entry_xattr_next)                                                                \
	X(archive_entry_xattr_reset)                                                               \
	X(archive_errno)                                                                           \
	X(archive_error_string)                                                                    \
	X(archive_read_data)                                                                       \
	X(archive_read_data_block)                                                                 \
	X(archive_read_free)                                                                       \
	X(archive_read_new)                                                                        \
	X(archive_read_next_header)                                                                \
	X(archive_read_open)                                                                       \
	X(archive_read_support_filter_bzip2)                                                       \
	X(archive_read_support_filter_gzip)                                                        \
	X(archive_read_support_filter_lz4)                                                         \
	X(archive_read_support_filter_xz)                                                          \
	X(archive_read_support_filter_zstd)                                                        \
	X(archive_read_support_format_raw)                                                         \
	X(archive_read_support_format_tar)                                                         \
	X(archive_set_error)                                                                       \
	X(archive_write_close)                                                                     \
	X(archive_write_data_block)                                                                \
	X(archive_write_disk_new)                                                                  \
	X(archive_write_disk_set_options)                                                          \
	X(archive_write_finish_entry)                                                              \
	X(archive_write_free)                                                                      \
	X(archive_write_header)

static struct {
#define X(f) __typeof__(f) *f;
	LA_FUNCS(X)
#undef X
} la;

static int
la_load(struct nsbox_err *err)
{
	static const char *const names[] = {"libarchive.so.13", "libarchive.so"};
	void *h = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(names) && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return nsbox_error(err, 0, "cannot load libarchive: %s", dlerror());
#define X(f)                                                                                       \
	if (!(la.f = (__typeof__(f) *)dlsym(h, #f)))                                               \
		return nsbox_error(err, 0, "libarchive has no %s", #f);
	LA_FUNCS(X)
#undef X
	return 0;
}

/* From here on, libarchive's names call through the table. */
#define X(f)                              /* nothing */
#define archive_entry_filetype            la.archive_entry_filetype
#define archive_entry_hardlink            la.archive_entry_hardlink
#define archive_entry_pathname            la.archive_entry_pathname
#define archive_entry_size                la.archive_entry_size
#define archive_entry_xattr_add_entry     la.archive_entry_xattr_add_entry
#define archive_entry_xattr_clear         la.archive_entry_xattr_clear
#define archive_entry_xattr_count         la.archive_entry_xattr_count
#define archive_entry_xattr_next          la.archive_entry_xattr_next
#define archive_entry_xattr_reset         la.archive_entry_xattr_reset
#define archive_errno                     la.archive_errno
#define archive_error_string              la.archive_error_string
#define archive_read_data                 la.archive_read_data
#define archive_read_data_block           la.archive_read_data_block
#define archive_read_free                 la.archive_read_free
#define archive_read_new                  la.archive_read_new
#define archive_read_next_header          la.archive_read_next_header
#define archive_read_open                 la.archive_read_open
#define archive_read_support_filter_bzip2 la.archive_read_support_filter_bzip2
#define archive_read_support_filter_gzip  la.archive_read_support_filter_gzip
#define archive_read_support_filter_lz4   la.archive_read_support_filter_lz4
#define archive_read_support_filter_xz    la.archive_read_support_filter_xz
#define archive_read_support_filter_zstd  la.archive_read_support_filter_zstd
#define archive_read_support_format_raw   la.archive_read_support_format_raw
#define archive_read_support_format_tar   la.archive_read_support_format_tar
#define archive_set_error                 la.archive_set_error
#define archive_write_close               la.archive_write_close
#define archive_write_data_block          la.archive_write_data_block
#define archive_write_disk_new            la.archive_write_disk_new
#define archive_write_disk_set_options    la.archive_write_disk_set_options
#define archive_write_finish_entry        la.archive_write_finish_entry
#define archive_write_free                la.archive_write_free
#define archive_write_header              la.archive_write_header
#undef X

/*
 * Two threads: "inflate" reads the file, hashes it and decompresses it;
 * the caller's thread parses the tar stream and writes the tree. A ring of
 * a few large buffers joins them, so decompression runs on one core while
 * the filesystem work runs on another, as GNU tar gets from running its
 * decompressor as a separate program (which nsbox never does).
 */

#define NSLOT    4
#define SLOTSIZE (1 << 20)

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf[NSLOT];
	size_t len[NSLOT];
	unsigned head, tail; /* slots [head, tail) are full */
	bool holding;        /* the parser still reads slot head */
	bool eof, cancel;
	char error[256]; /* set when inflate failed */
	/* inflate's side */
	int fd;
	const char *filter;
	struct sha256 sha;
	uint64_t in;
	char *inbuf;
};

const char *
tarball_check_path(const char *path)
{
	const char *p = path;

	if (*path == '/')
		return "path is absolute";
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "path contains '..'";
		p += n;
		while (*p == '/')
			p++;
	}
	return NULL;
}

const char *
tarball_compression(const unsigned char *h, size_t n)
{
	static const struct {
		const char *name;
		unsigned char magic[6];
		size_t len;
	} m[] = {
		{"gzip", {0x1f, 0x8b}, 2},
		{"bzip2", {'B', 'Z', 'h'}, 3},
		{"xz", {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6},
		{"zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4},
		{"lz4", {0x04, 0x22, 0x4d, 0x18}, 4},
	};

	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		if (n >= m[i].len && memcmp(h, m[i].magic, m[i].len) == 0)
			return m[i].name;
	return NULL;
}

/* Enable exactly the filter the file needs. libarchive would fall back to
 * running an external program when it was built without the library;
 * that is refused (ARCHIVE_WARN says it would happen). */
static int
support_filter(struct archive *a, const char *name, struct nsbox_err *err)
{
	int r;

	if (!name)
		return 0;
	if (streq(name, "gzip"))
		r = archive_read_support_filter_gzip(a);
	else if (streq(name, "bzip2"))
		r = archive_read_support_filter_bzip2(a);
	else if (streq(name, "xz"))
		r = archive_read_support_filter_xz(a);
	else if (streq(name, "zstd"))
		r = archive_read_support_filter_zstd(a);
	else
		r = archive_read_support_filter_lz4(a);
	if (r != ARCHIVE_OK)
		return nsbox_error(err, 0,
				   "%s support is not built into libarchive (nsbox runs no "
				   "external decompressor)",
				   name);
	return 0;
}

static la_ssize_t
file_read(struct archive *a, void *arg, const void **out)
{
	struct ring *r = arg;
	ssize_t n;

	while ((n = read(r->fd, r->inbuf, SLOTSIZE)) < 0 && errno == EINTR)
		;
	if (n < 0) {
		archive_set_error(a, errno, "read");
		return -1;
	}
	sha256_update(&r->sha, r->inbuf, (size_t)n);
	r->in += (uint64_t)n;
	*out = r->inbuf;
	return n;
}

/* Put a full slot, or the end (len 0); false when the parser gave up. */
static bool
ring_put(struct ring *r, size_t len, const char *error)
{
	bool go;

	pthread_mutex_lock(&r->mu);
	if (error)
		snprintf(r->error, sizeof(r->error), "%.250s", error);
	if (len)
		r->len[r->tail++ % NSLOT] = len;
	else
		r->eof = true;
	pthread_cond_broadcast(&r->cv);
	while (len && !r->cancel && r->tail - r->head == NSLOT)
		pthread_cond_wait(&r->cv, &r->mu);
	go = !r->cancel;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static void *
inflate_main(void *arg)
{
	struct ring *r = arg;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char msg[256] = "";
	ssize_t n;

	if (!a) {
		ring_put(r, 0, "out of memory");
		return NULL;
	}
	if (r->filter) {
		struct nsbox_err err = {0};

		if (support_filter(a, r->filter, &err) < 0) {
			ring_put(r, 0, err.msg);
			archive_read_free(a);
			return NULL;
		}
	}
	archive_read_support_format_raw(a);
	if (archive_read_open(a, r, NULL, file_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		snprintf(msg, sizeof(msg), "%s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		/* the slot at tail is free: ring_put waited for that */
		char *b = r->buf[r->tail % NSLOT];
		size_t got = 0;

		/* big slots, so the parser's side takes the lock rarely */
		while (got < SLOTSIZE / 2 &&
		       (n = archive_read_data(a, b + got, SLOTSIZE - got)) > 0)
			got += (size_t)n;
		if (n < 0) {
			snprintf(msg, sizeof(msg), "%s: %s", r->filter ? r->filter : "read",
				 archive_error_string(a));
			break;
		}
		if (got && !ring_put(r, got, NULL))
			break;
		if (n == 0)
			break;
	}
out:
	/* the digest covers the whole file, also what follows the archive */
	while (!*msg && (n = read(r->fd, r->inbuf, SLOTSIZE)) != 0) {
		if (n < 0 && errno != EINTR) {
			snprintf(msg, sizeof(msg), "read: %s", strerror(errno));
			break;
		}
		if (n > 0) {
			sha256_update(&r->sha, r->inbuf, (size_t)n);
			r->in += (uint64_t)n;
		}
	}
	ring_put(r, 0, *msg ? msg : NULL);
	archive_read_free(a);
	return NULL;
}

static la_ssize_t
ring_read(struct archive *a, void *arg, const void **out)
{
	struct ring *r = arg;
	la_ssize_t n;

	pthread_mutex_lock(&r->mu);
	if (r->holding) {
		r->head++;
		r->holding = false;
		pthread_cond_broadcast(&r->cv);
	}
	while (r->head == r->tail && !r->eof)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->head != r->tail) {
		*out = r->buf[r->head % NSLOT];
		n = (la_ssize_t)r->len[r->head % NSLOT];
		r->holding = true;
	} else if (*r->error) {
		archive_set_error(a, EIO, "%s", r->error);
		n = -1;
	} else {
		n = 0;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* On a terminal, one line that counts up and is erased at the end. */
static void
progress(const char *label, const struct tarball_stats *st, bool done)
{
	if (done)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\rnsbox: extracting %s: %llu MB, %llu entries\033[K", label,
			(unsigned long long)(st->out >> 20), (unsigned long long)st->entries);
}

/*
 * No entry may be written through a symlink. libarchive's SECURE_SYMLINKS
 * checks every component of every path with syscalls of its own, several
 * per file; this keeps the directories already known to be real ones (the
 * tree is private, and nothing but this extraction writes to it) and walks
 * each new parent once. A directory in the set that an entry replaces
 * clears it, since what was below it may now lead elsewhere.
 */
struct dirset {
	char **v;
	size_t cap, n;
};

static size_t
dirset_slot(const struct dirset *d, const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	for (size_t i = (size_t)h & (d->cap - 1);; i = (i + 1) & (d->cap - 1))
		if (!d->v[i] || (strncmp(d->v[i], s, len) == 0 && !d->v[i][len]))
			return i;
}

static bool
dirset_has(const struct dirset *d, const char *s, size_t len)
{
	return d->cap && d->v[dirset_slot(d, s, len)];
}

static void
dirset_add(struct dirset *d, const char *s, size_t len)
{
	size_t i;

	if (2 * (d->n + 1) > d->cap) {
		struct dirset g = {.cap = d->cap ? 2 * d->cap : 1024};

		g.v = xcalloc(g.cap, sizeof(*g.v));
		for (i = 0; i < d->cap; i++)
			if (d->v[i])
				g.v[dirset_slot(&g, d->v[i], strlen(d->v[i]))] = d->v[i];
		free(d->v);
		g.n = d->n;
		*d = g;
	}
	i = dirset_slot(d, s, len);
	if (!d->v[i]) {
		d->v[i] = xstrndup(s, len);
		d->n++;
	}
}

static void
dirset_clear(struct dirset *d)
{
	for (size_t i = 0; i < d->cap; i++)
		free(d->v[i]);
	free(d->v);
	*d = (struct dirset){0};
}

/* "./a//b/" -> "a/b", in place. */
static char *
normalize(char *p)
{
	char *r = p, *w = p;

	while (*r) {
		if (r[0] == '.' && (r[1] == '/' || !r[1]) && (w == p || w[-1] == '/')) {
			r += r[1] ? 2 : 1;
			continue;
		}
		if (*r == '/' && (w == p || w[-1] == '/')) {
			r++;
			continue;
		}
		*w++ = *r++;
	}
	while (w > p && w[-1] == '/')
		w--;
	*w = '\0';
	return p;
}

/* The directories above path (normalized) are real ones, or missing (then
 * libarchive makes real ones); else the symlink met is named in *bad. */
static int
check_parents(struct dirset *d, const char *path, char **bad)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	int fd;

	if (!len || dirset_has(d, path, len))
		return 0;
	fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t at = 0; fd >= 0 && at < len;) {
		size_t n = strcspn(path + at, "/");
		char comp[NAME_MAX + 1];
		int nfd;

		if (n > NAME_MAX)
			break; /* libarchive reports it */
		memcpy(comp, path + at, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			*bad = xstrndup(path, at + n);
			return -1;
		}
		if (fd >= 0)
			dirset_add(d, path, at + n);
		at += n + 1;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Whether the entry at path (normalized) may be written. */
static const char *
check_entry(struct dirset *d, char *path, bool dir, char **bad)
{
	size_t len = strlen(path);
	struct stat st;

	if (!len)
		return NULL; /* the root itself */
	if (check_parents(d, path, bad) < 0)
		return "leads through a symlink";
	if (dirset_has(d, path, len)) {
		if (!dir)
			dirset_clear(d);
		return NULL;
	}
	/* libarchive would keep a symlink to a directory as the directory */
	if (dir && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		*bad = xstrdup(path);
		return "is a directory over a symlink";
	}
	return NULL;
}

/* overlayfs keeps its own metadata in these; a root that carries them
 * could redirect lookups in the overlay stacked on it. */
static void
strip_overlay_xattrs(struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size, n = 0, keep = 0;
	struct {
		char *name;
		void *value;
		size_t size;
	} * v;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	v = xcalloc((size_t)archive_entry_xattr_count(e), sizeof(*v));
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		n++;
		if (startswith(name, "trusted.overlay.") || startswith(name, "user.overlay."))
			continue;
		v[keep].name = xstrdup(name);
		v[keep].value = xmalloc(size);
		memcpy(v[keep].value, value, size);
		v[keep++].size = size;
	}
	if (keep != n) {
		archive_entry_xattr_clear(e);
		for (size_t i = 0; i < keep; i++)
			archive_entry_xattr_add_entry(e, v[i].name, v[i].value, v[i].size);
	}
	for (size_t i = 0; i < keep; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

static int
copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_OK)
			return -2;
	return r == ARCHIVE_EOF ? 0 : -1;
}

/* The message of a failed libarchive call on entry path. */
static int
entry_error(struct nsbox_err *err, const char *path, struct archive *a)
{
	_cleanup_free_ char *p = str_escape(path ? path : "");
	int e = archive_errno(a);
	const char *s = archive_error_string(a);

	/* libarchive's own text for a full disk is "Write failed" */
	if (e == ENOSPC || e == EDQUOT)
		return nsbox_error(err, 0, "entry '%.200s': %s", p, strerror(e));
	return nsbox_error(err, 0, "entry '%.200s': %s", p, s ? s : "failed");
}

static int
read_error(struct nsbox_err *err, struct archive *in, const struct tarball_stats *st)
{
	const char *s = archive_error_string(in);

	if (st->entries == 0 && s && strstr(s, "Unrecognized archive format"))
		return nsbox_error(err, 0, "not a tar archive (unsupported format)");
	return nsbox_error(err, 0, "%s", s ? s : "read error");
}

static int
extract(struct archive *in, struct archive *out, const char *label, struct tarball_stats *st,
	struct nsbox_err *err)
{
	bool tty = isatty(STDERR_FILENO);
	double last = now();
	char first_warning[300] = "";
	struct archive_entry *e;
	struct dirset dirs = {0};
	int r, rc = -1;

	while ((r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
		const char *path = archive_entry_pathname(e), *why = NULL, *link;
		_cleanup_free_ char *norm = NULL, *bad = NULL;
		bool warned;
		mode_t type;

		if (r < ARCHIVE_WARN) {
			read_error(err, in, st);
			goto out;
		}
		if (!path) {
			nsbox_error(err, 0, "an entry without a usable name");
			goto out;
		}
		type = archive_entry_filetype(e);
		if ((why = tarball_check_path(path))) {
			nsbox_error(err, 0, "entry '%.200s': %s", path, why);
			goto out;
		}
		if ((link = archive_entry_hardlink(e))) {
			_cleanup_free_ char *target = normalize(xstrdup(link));

			/* link(2) follows every component of the target but the last */
			if ((why = tarball_check_path(link)) ||
			    (check_parents(&dirs, target, &bad) < 0 &&
			     (why = "hard link target leads through a symlink"))) {
				nsbox_error(err, 0,
					    "entry '%.200s': hard link to '%.200s': %s%s%s%s", path,
					    link, why, bad ? " '" : "", bad ? bad : "",
					    bad ? "'" : "");
				goto out;
			}
		}
		norm = normalize(xstrdup(path));
		if ((why = check_entry(&dirs, norm, type == AE_IFDIR, &bad))) {
			nsbox_error(err, 0, "entry '%.200s': %s '%.200s'", path, why, bad);
			goto out;
		}
		/* nsbox gives containers their own /dev */
		if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
			st->devices++;
			continue;
		}
		strip_overlay_xattrs(e);
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			entry_error(err, path, out);
			goto out;
		}
		warned = r == ARCHIVE_WARN;
		if (archive_entry_size(e) > 0 && !link) {
			int c = copy_data(in, out);

			if (c < 0) {
				entry_error(err, path, c == -2 ? out : in);
				goto out;
			}
			st->out += (uint64_t)archive_entry_size(e);
		}
		/* owners, modes, xattrs and ACLs of files are set here */
		r = archive_write_finish_entry(out);
		if (r < ARCHIVE_WARN) {
			entry_error(err, path, out);
			goto out;
		}
		if (type == AE_IFDIR && *norm)
			dirset_add(&dirs, norm, strlen(norm));
		if ((warned || r == ARCHIVE_WARN) && !st->warnings++)
			snprintf(first_warning, sizeof(first_warning), "'%.100s': %.150s", path,
				 archive_error_string(out));
		st->entries++;
		if (tty && (st->entries & 63) == 0 && now() - last > 0.1) {
			progress(label, st, false);
			last = now();
		}
	}
	/* Directory modes and times are set last, in the fixup pass. */
	if (archive_write_close(out) < ARCHIVE_WARN) {
		nsbox_error(err, 0, "%s", archive_error_string(out));
		goto out;
	}
	if (tty)
		progress(label, st, true);
	if (st->warnings)
		fprintf(stderr, "nsbox: %s: %llu entries not fully restored; the first: %s\n",
			label, (unsigned long long)st->warnings, first_warning);
	if (st->devices)
		fprintf(stderr,
			"nsbox: %s: skipped %llu device nodes (containers get their own "
			"/dev)\n",
			label, (unsigned long long)st->devices);
	rc = 0;
out:
	dirset_clear(&dirs);
	return rc;
}

int
tarball_extract(int fd, const char *label, unsigned char digest[32], struct tarball_stats *st,
		struct nsbox_err *err)
{
	struct ring r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .fd = fd};
	unsigned char head[8];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	struct archive *in = NULL, *out = NULL;
	double start = now();
	pthread_t thread;
	int rc = -1, e;

	memset(st, 0, sizeof(*st));
	if (n < 0)
		return nsbox_error(err, errno, "read");
	if (la_load(err) < 0)
		return -1;
	r.filter = tarball_compression(head, (size_t)n);
	sha256_init(&r.sha);
	if (isatty(STDERR_FILENO))
		progress(label, st, false);
	else
		fprintf(stderr, "nsbox: extracting %s into the cache\n", label);
	for (int i = 0; i < NSLOT; i++)
		r.buf[i] = xmalloc(SLOTSIZE);
	r.inbuf = xmalloc(SLOTSIZE);
	in = archive_read_new();
	out = archive_write_disk_new();
	if (!in || !out) {
		nsbox_error(err, ENOMEM, "libarchive");
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
						    ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
						    ARCHIVE_EXTRACT_ACL |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if ((e = pthread_create(&thread, NULL, inflate_main, &r)) != 0) {
		nsbox_error(err, e, "pthread_create");
		goto out;
	}
	if (archive_read_open(in, &r, NULL, ring_read, NULL) != ARCHIVE_OK)
		read_error(err, in, st);
	else
		rc = extract(in, out, label, st, err);
	pthread_mutex_lock(&r.mu);
	r.cancel = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	pthread_join(thread, NULL);
	/* The decompressor's error explains the parser's. */
	if (rc < 0 && *r.error)
		nsbox_error(err, 0, "%s", r.error);
	else if (rc == 0 && *r.error)
		rc = nsbox_error(err, 0, "%s", r.error);
	sha256_final(&r.sha, digest);
	st->in = r.in;
	st->seconds = now() - start;
	if (rc < 0 && isatty(STDERR_FILENO))
		progress(label, st, true);
	if (rc == 0)
		fprintf(stderr, "nsbox: extracted %s in %.1f s (%llu MB, %llu entries)\n", label,
			st->seconds, (unsigned long long)(st->out >> 20),
			(unsigned long long)st->entries);
out:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	for (int i = 0; i < NSLOT; i++)
		free(r.buf[i]);
	free(r.inbuf);
	return rc;
}

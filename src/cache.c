/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "idmap.h"
#include "plan.h"
#include "sha256.h"
#include "tarball.h"
#include "util.h"

#ifndef CACHEDIR
#define CACHEDIR "/var/cache/nsbox"
#endif

struct roots {
	char *path; /* CACHE/roots */
	int fd, index, locks, tmp;
};

char *
cache_dir(void)
{
	const char *env = getenv("NSBOX_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
	struct passwd *pw;

	if (env && *env == '/')
		return xstrdup(env);
	if (geteuid() == 0)
		return xstrdup(CACHEDIR);
	if (xdg && *xdg == '/')
		return xasprintf("%s/nsbox", xdg);
	if ((env = getenv("HOME")) && *env == '/')
		return xasprintf("%s/.cache/nsbox", env);
	pw = getpwuid(geteuid());
	return xasprintf("%s/.cache/nsbox", pw ? pw->pw_dir : "/nonexistent");
}

/* A directory of the caller's that nobody else can write, made if missing;
 * with exact, of exactly that mode. */
static int
own_dir(int at, const char *path, mode_t mode, bool exact, struct nsbox_err *err)
{
	struct stat st;

	if (mkdirat(at, path, mode) < 0 && errno != EEXIST)
		return nsbox_error(err, errno, "%s", path);
	if (fstatat(at, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return nsbox_error(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || st.st_mode & 022 ||
	    (exact && (st.st_mode & 0777) != mode))
		return nsbox_error(err, 0,
				   "%s: must be a directory of uid %u with mode %s; fix or "
				   "remove it",
				   path, (unsigned)geteuid(),
				   !exact         ? "0755 or stricter"
				   : mode == 0711 ? "0711"
						  : "0700");
	return 0;
}

static void
roots_close(struct roots *r)
{
	int *fds[] = {&r->fd, &r->index, &r->locks, &r->tmp};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(steal_fd(fds[i]));
	free(steal_ptr(&r->path));
}

/* Every entry is 0700, so a setuid file in a cached tree is nobody's to run;
 * root's CACHE/roots is 0711, so that the root of a user namespace reaches
 * the entries made for it (they are its own), and nothing else. */
static int
roots_open(struct roots *r, const char *kind, struct nsbox_err *err)
{
	_cleanup_free_ char *dir = cache_dir();
	static const char *const sub[] = {"index", "locks", "tmp"};
	int *fds[] = {&r->index, &r->locks, &r->tmp};

	*r = (struct roots){.fd = -1, .index = -1, .locks = -1, .tmp = -1};
	r->path = xasprintf("%s/%s", dir, kind);
	/* A new user's ~/.cache may not exist yet: make it as XDG says, 0700. */
	for (char *s = dir + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			nsbox_error(err, errno, "%s", dir);
			goto fail;
		}
		*s = '/';
	}
	if (own_dir(AT_FDCWD, dir, 0755, false, err) < 0 ||
	    own_dir(AT_FDCWD, r->path, geteuid() == 0 ? 0711 : 0700, true, err) < 0)
		goto fail;
	r->fd = open(r->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->fd < 0) {
		nsbox_error(err, errno, "%s", r->path);
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		if (own_dir(r->fd, sub[i], 0700, true, err) < 0) {
			nsbox_error_prefix(err, r->path);
			goto fail;
		}
		*fds[i] = openat(r->fd, sub[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*fds[i] < 0) {
			nsbox_error(err, errno, "%s/%s", r->path, sub[i]);
			goto fail;
		}
	}
	return 0;
fail:
	roots_close(r);
	return -1;
}

/* Take a lock, polling, so that a SIGINT or SIGTERM still stops nsbox. */
static int
wait_lock(int fd, int op, const char *waiting, int *sig)
{
	sigset_t set, old;
	bool said = false;
	int rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &old);
	while (flock(fd, op | LOCK_NB) < 0) {
		struct timespec tick = {0, 50 * 1000 * 1000};
		siginfo_t si;

		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = -1;
			break;
		}
		if (waiting && !said) {
			fprintf(stderr, "nsbox: %s\n", waiting);
			said = true;
		}
		if (sigtimedwait(&set, &si, &tick) > 0) {
			*sig = si.si_signo;
			errno = EINTR;
			rc = -1;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* A lock file that may be removed by whoever holds it: after locking,
 * check that the name still leads to the file locked. */
static int
lock_file(int dir, const char *name, const char *waiting, int *sig)
{
	for (;;) {
		int fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat a, b;

		if (fd < 0)
			return -1;
		if (wait_lock(fd, LOCK_EX, waiting, sig) < 0) {
			close(fd);
			return -1;
		}
		if (fstat(fd, &a) == 0 && fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
		waiting = NULL;
	}
}

static void
unlock_file(int dir, const char *name, int fd)
{
	unlinkat(dir, name, 0);
	close(fd);
}

static void
random_hex(char *out, size_t bytes)
{
	unsigned char r[16];

	if (bytes > sizeof(r) || getentropy(r, bytes) < 0)
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* 8 hex digits of the maps, so that trees made under different maps
 * (their files have different owners on the host) never mix. */
static void
map_key(const struct idmaps *m, char out[12])
{
	char text[2 * IDMAP_MAX_EXTENTS * 36 + 2] = "";
	unsigned char d[32];
	char hex[65];
	struct sha256 s;
	size_t n;

	*out = '\0';
	if (!m)
		return;
	idmap_format(m->uid, m->n_uid, text, sizeof(text) / 2);
	n = strlen(text);
	text[n++] = '/';
	idmap_format(m->gid, m->n_gid, text + n, sizeof(text) - n);
	sha256_init(&s);
	sha256_update(&s, text, strlen(text));
	sha256_final(&s, d);
	sha256_hex(d, hex);
	snprintf(out, 12, "-m%.8s", hex);
}

static char *
stat_key(const struct stat *st, const char *mapkey)
{
	return xasprintf("%llx-%llx-%llx-%llx.%lx-%llx.%lx%s", (unsigned long long)st->st_dev,
			 (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
			 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec,
			 (unsigned long long)st->st_ctim.tv_sec, (unsigned long)st->st_ctim.tv_nsec,
			 mapkey);
}

/* An entry's name: 64 hex digits, maybe a map key. */
static bool
is_key(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	if (n != 64)
		return false;
	if (!s[64])
		return true;
	return s[64] == '-' && s[65] == 'm' && strspn(s + 66, "0123456789abcdef") == 8 && !s[74];
}

/* Remove what killed extractions of this tarball left in tmp; the caller
 * holds the tarball's lock, so none of it is live. */
static int
clean_tmp(struct roots *r, const char *statkey, struct nsbox_err *err)
{
	DIR *d = fdopendir(dup(r->tmp));
	struct dirent *de;
	size_t n = strlen(statkey);
	int rc = 0;

	if (!d)
		return nsbox_error(err, errno, "%s/tmp", r->path);
	rewinddir(d);
	while ((de = readdir(d)) && rc == 0)
		if (strncmp(de->d_name, statkey, n) == 0 && de->d_name[n] == '.')
			rc = userns_remove_tree(r->tmp, de->d_name, NULL, err);
	closedir(d);
	return rc;
}

/* Use the entry the index names for statkey: 1 when it exists. */
static int
try_use(struct roots *r, const char *statkey, struct cache_ref *ref, int *sig,
	struct nsbox_err *err)
{
	char key[sizeof(ref->key)];
	ssize_t n = readlinkat(r->index, statkey, key, sizeof(key) - 1);
	_cleanup_close_ int fd = -1;
	struct stat a, b;

	if (n < 0 || (size_t)n >= sizeof(key) - 1)
		return 0;
	key[n] = '\0';
	if (!is_key(key))
		return 0;
	fd = openat(r->fd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (wait_lock(fd, LOCK_SH, NULL, sig) < 0)
		return *sig ? nsbox_error(err, 0, "interrupted by SIG%s", sigabbrev_np(*sig))
			    : nsbox_error(err, errno, "lock %s/%s", r->path, key);
	/* prune moves an entry away before it removes it */
	if (fstat(fd, &a) < 0 || fstatat(r->fd, key, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino)
		return 0;
	ref->tree = xasprintf("%s/%s/tree", r->path, key);
	if (fstatat(fd, "tree", &a, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(a.st_mode))
		return nsbox_error(err, errno, "%s", ref->tree);
	futimens(fd, NULL); /* its last use, for prune */
	ref->entryfd = steal_fd(&fd);
	snprintf(ref->key, sizeof(ref->key), "%s", key);
	return 1;
}

struct extract_arg {
	int src, tree;
	int work; /* with tree -1: make tree here, as the namespace's root */
	const char *label;
	struct shared {
		unsigned char digest[32];
		struct tarball_stats st;
	} * out; /* shared with the parent */
};

static int
extract_fn(void *arg, struct nsbox_err *err)
{
	struct extract_arg *a = arg;

	if (a->tree < 0 &&
	    (mkdirat(a->work, "tree", 0755) < 0 ||
	     (a->tree = openat(a->work, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
		     0))
		return nsbox_error(err, errno, "tree");
	if (fchdir(a->tree) < 0)
		return nsbox_error(err, errno, "tree");
	return tarball_extract(a->src, a->label, a->out->digest, &a->out->st, err);
}

static int
write_info(int dir, const char *tarball, const char *statkey, const char *hex,
	   const struct shared *s, struct nsbox_err *err)
{
	_cleanup_free_ char *text = xasprintf(
		"tarball=%s\nsha256=%s\nidentity=%s\nbytes=%llu\nentries=%llu\nextracted=%lld\n"
		"seconds=%.2f\n",
		tarball, hex, statkey, (unsigned long long)s->st.out,
		(unsigned long long)s->st.entries, (long long)time(NULL), s->st.seconds);
	int fd = openat(dir, "info", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return nsbox_error(err, errno, "info");
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : nsbox_error(err, errno, "info");
}

/* With the tarball's lock held: extract into tmp, then rename into place
 * and point the index at it. */
static int
extract_locked(struct roots *r, const char *tarball, int src, const struct stat *st,
	       const char *statkey, const char *mapkey, const struct idmaps *m, int *sig,
	       struct nsbox_err *err)
{
	char rnd[17], hex[65], tmpname[300], link[40];
	_cleanup_close_ int work = -1, tree = -1;
	_cleanup_free_ char *key = NULL;
	const char *label = strrchr(tarball, '/') ? strrchr(tarball, '/') + 1 : tarball;
	struct extract_arg a = {.src = src, .label = label};
	struct stat after;
	int rc = -1;

	if (clean_tmp(r, statkey, err) < 0)
		return -1;
	random_hex(rnd, 8);
	snprintf(tmpname, sizeof(tmpname), "%s.%s", statkey, rnd);
	if (mkdirat(r->tmp, tmpname, 0700) < 0)
		return nsbox_error(err, errno, "%s/tmp/%s", r->path, tmpname);
	work = openat(r->tmp, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* A namespace without the caller's ids makes the tree itself, in a
	 * work directory it may write for as long as that takes (the cache is
	 * the caller's alone: nobody else reaches it). */
	if (m && !m->caller_mapped) {
		if (work < 0 || fchmod(work, 0733) < 0) {
			nsbox_error(err, errno, "%s/tmp/%s", r->path, tmpname);
			goto out;
		}
	} else if (work < 0 || mkdirat(work, "tree", 0755) < 0) {
		nsbox_error(err, errno, "%s/tmp/%s", r->path, tmpname);
		goto out;
	}
	/* root extracting for a user namespace: the entry is its root's */
	if (m && geteuid() == 0 &&
	    (fchown(work, m->root_uid, m->root_gid) < 0 ||
	     fchownat(work, "tree", m->root_uid, m->root_gid, 0) < 0)) {
		nsbox_error(err, errno, "chown %s/tmp/%s", r->path, tmpname);
		goto out;
	}
	a.work = work;
	tree = a.tree =
		m && !m->caller_mapped
			? -1
			: openat(work, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	a.out = mmap(NULL, sizeof(*a.out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if ((tree < 0 && !(m && !m->caller_mapped)) || a.out == MAP_FAILED) {
		nsbox_error(err, errno, "%s/tmp/%s", r->path, tmpname);
		a.out = NULL;
		goto out;
	}
	if (lseek(src, 0, SEEK_SET) < 0 || userns_call(m, extract_fn, &a, sig, err) < 0)
		goto out;
	if (fchmod(work, 0700) < 0) {
		nsbox_error(err, errno, "%s/tmp/%s", r->path, tmpname);
		goto out;
	}
	if (fstat(src, &after) < 0 || after.st_size != st->st_size ||
	    after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
	    after.st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    after.st_ctim.tv_nsec != st->st_ctim.tv_nsec || a.out->st.in != (uint64_t)st->st_size) {
		nsbox_error(err, 0, "it changed while it was being extracted");
		goto out;
	}
	sha256_hex(a.out->digest, hex);
	if (write_info(work, tarball, statkey, hex, a.out, err) < 0)
		goto out;
	key = xasprintf("%s%s", hex, mapkey);
	if (renameat(r->tmp, tmpname, r->fd, key) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			nsbox_error(err, errno, "%s/%s", r->path, key);
			goto out;
		}
		/* the same bytes under another name: that tree serves both */
		userns_remove_tree(r->tmp, tmpname, NULL, err);
	}
	snprintf(link, sizeof(link), ".new.%s", rnd);
	unlinkat(r->index, link, 0);
	if (symlinkat(key, r->index, link) < 0 || renameat(r->index, link, r->index, statkey) < 0) {
		/* the entry stays; without its index link, prune sees it */
		nsbox_error(err, errno, "%s/index/%s", r->path, statkey);
		unlinkat(r->index, link, 0);
	} else {
		rc = 0;
	}
	munmap(a.out, sizeof(*a.out));
	return rc;
out:
	if (a.out)
		munmap(a.out, sizeof(*a.out));
	{
		struct nsbox_err ignore = {0};

		userns_remove_tree(r->tmp, tmpname, NULL, &ignore);
	}
	return rc;
}

int
cache_root(const char *tarball, const char *origin, const struct idmaps *m, struct cache_ref *ref,
	   int *sig, struct nsbox_err *err)
{
	struct roots r;
	_cleanup_close_ int src = -1;
	_cleanup_free_ char *statkey = NULL, *waiting = NULL, *where = NULL;
	char mapkey[12];
	struct stat st;
	int rc = -1, got;

	*sig = 0;
	src = open(tarball, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (src < 0)
		return nsbox_error_at(err, origin, "root.tarball: %s: %s", tarball,
				      strerror(errno));
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode))
		return nsbox_error_at(err, origin, "root.tarball: %s: not a regular file", tarball);
	if (roots_open(&r, "roots", err) < 0)
		return -1;
	map_key(m, mapkey);
	statkey = stat_key(&st, mapkey);
	waiting = xasprintf("waiting for another nsbox to extract %s", tarball);
	where = xasprintf("%s: root.tarball: %s", origin, tarball);
	for (int round = 0; round < 3; round++) {
		int lock;

		got = try_use(&r, statkey, ref, sig, err);

		if (got)
			goto done;
		lock = lock_file(r.locks, statkey, waiting, sig);
		if (lock < 0) {
			if (*sig)
				got = nsbox_error(err, 0, "interrupted by SIG%s",
						  sigabbrev_np(*sig));
			else
				got = nsbox_error(err, errno, "%s/locks/%s", r.path, statkey);
			goto done;
		}
		/* it may have been extracted while we waited */
		got = try_use(&r, statkey, ref, sig, err);
		if (got == 0 &&
		    extract_locked(&r, tarball, src, &st, statkey, mapkey, m, sig, err) < 0) {
			if (!*sig)
				nsbox_error_locate(err, where);
			got = -1;
		}
		unlock_file(r.locks, statkey, lock);
		if (got)
			goto done;
	}
	got = nsbox_error(err, 0, "%s: the cache entry of %s keeps disappearing", r.path, tarball);
done:
	if (got > 0)
		rc = 0;
	roots_close(&r);
	return rc;
}

void
cache_ref_release(struct cache_ref *ref)
{
	free(steal_ptr(&ref->tree));
	if (ref->entryfd >= 0)
		close(steal_fd(&ref->entryfd)); /* and its lock */
}

struct info {
	char *text;
	const char *tarball, *identity, *base;
	unsigned long long bytes;
};

static void
info_read(int entry, struct info *in)
{
	_cleanup_close_ int fd = openat(entry, "info", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	const char *why;
	size_t len;
	char *save = NULL;

	*in = (struct info){.tarball = "?", .identity = "", .base = ""};
	if (fd < 0 || read_regular_file(fd, 65536, &in->text, &len, &why) < 0)
		return;
	for (char *l = strtok_r(in->text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (startswith(l, "tarball="))
			in->tarball = l + 8;
		else if (startswith(l, "identity="))
			in->identity = l + 9;
		else if (startswith(l, "bytes="))
			in->bytes = strtoull(l + 6, NULL, 10);
		else if (startswith(l, "base="))
			in->base = l + 5;
	}
}

/* A root entry: whether its tarball is still there, unchanged. A layer
 * (of nsbox-debuild): whether the root it was made on is still cached. */
static const char *
source_state(const char *kind, const char *key, const struct info *in)
{
	struct stat st;
	_cleanup_free_ char *now = NULL;

	if (streq(kind, "layers")) {
		_cleanup_free_ char *dir = cache_dir();
		_cleanup_free_ char *base = xasprintf("%s/roots/%.64s", dir, in->base);
		_cleanup_free_ char *mapped = xasprintf("%s%s", base, key + 64);

		return strlen(in->base) == 64 && (stat(base, &st) == 0 || stat(mapped, &st) == 0)
			       ? "current"
			       : "orphan";
	}
	if (stat(in->tarball, &st) < 0)
		return "gone";
	now = stat_key(&st, key[64] ? key + 64 : "");
	return streq(now, in->identity) ? "current" : "changed";
}

/* The first 12 hex digits, and the map key if any: enough to tell apart. */
static const char *
short_key(const char *key, char out[32])
{
	snprintf(out, 32, "%.12s%s", key, key + 64);
	return out;
}

static void
human(unsigned long long n, char out[24])
{
	const char *u = "BKMGTP";

	while (n >= 10240 && u[1]) {
		n /= 1024;
		u++;
	}
	snprintf(out, 24, "%llu%c", n, *u);
}

/* The entries of CACHE/KIND; NULL (and no error) when there is none. */
static DIR *
entries_open(struct roots *r, const char *kind, struct nsbox_err *err)
{
	_cleanup_free_ char *dir = cache_dir();
	struct stat st;
	DIR *d;

	*r = (struct roots){.fd = -1, .index = -1, .locks = -1, .tmp = -1};
	r->path = xasprintf("%s/%s", dir, kind);
	if (lstat(r->path, &st) < 0 && errno == ENOENT)
		return NULL;
	free(steal_ptr(&r->path)); /* roots_open sets it again */
	if (roots_open(r, kind, err) < 0)
		return NULL;
	d = fdopendir(dup(r->fd));
	if (!d)
		nsbox_error(err, errno, "%s", r->path);
	return d;
}

static int
list_kind(FILE *out, const char *kind, struct nsbox_err *err)
{
	struct roots r;
	DIR *d = entries_open(&r, kind, err);
	struct dirent *de;
	unsigned long long total = 0;
	char size[24];
	int n = 0;

	if (!d) {
		if (!*err->msg)
			fprintf(out, "0 entries, in %s (none yet)\n", r.path);
		roots_close(&r);
		return *err->msg ? -1 : 0;
	}
	fprintf(out, "%-22s %6s  %-16s  %-7s  %s\n", "ENTRY", "SIZE", "LAST USE", "STATE",
		"TARBALL");
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -1;
		struct info in;
		struct stat st;
		char when[32] = "?", sk[32];
		const char *state;

		if (!is_key(de->d_name))
			continue;
		fd = openat(r.fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		info_read(fd, &in);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&st.st_mtime));
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			state = "in use";
		} else {
			flock(fd, LOCK_UN);
			state = source_state(kind, de->d_name, &in);
		}
		human(in.bytes, size);
		if (streq(kind, "layers"))
			fprintf(out, "%-22s %6s  %-16s  %-7s  build dependencies on %.12s (%s)\n",
				short_key(de->d_name, sk), size, when, state, in.base, in.tarball);
		else
			fprintf(out, "%-22s %6s  %-16s  %-7s  %s\n", short_key(de->d_name, sk),
				size, when, state, in.tarball);
		total += in.bytes;
		n++;
		free(in.text);
	}
	closedir(d);
	human(total, size);
	fprintf(out, "%d entries, %s, in %s\n", n, size, r.path);
	roots_close(&r);
	return 0;
}

int
cache_list(FILE *out, struct nsbox_err *err)
{
	if (list_kind(out, "roots", err) < 0)
		return -1;
	/* nsbox-debuild's build-dependency layers, when there are any */
	{
		_cleanup_free_ char *dir = cache_dir();
		_cleanup_free_ char *layers = xasprintf("%s/layers", dir);
		struct stat st;

		if (stat(layers, &st) < 0)
			return 0;
	}
	fputc('\n', out);
	return list_kind(out, "layers", err);
}

/* Leftovers: trees of killed extractions (their tarball's lock is free),
 * entries prune moved away, index links to nothing, free lock files. */
static void
prune_leftovers(struct roots *r, bool dry_run)
{
	DIR *d = fdopendir(dup(r->tmp));
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *dot = strrchr(de->d_name, '.');
		_cleanup_free_ char *statkey = NULL;
		struct nsbox_err e = {0};
		int lock = -1;

		if (*de->d_name == '.' || !dot)
			continue;
		if (!startswith(de->d_name, "trash.")) {
			statkey = xstrndup(de->d_name, (size_t)(dot - de->d_name));
			lock = openat(r->locks, statkey, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
			if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
				close(lock);
				continue; /* an extraction in progress */
			}
		}
		if (dry_run)
			printf("would remove %s/tmp/%s\n", r->path, de->d_name);
		else if (userns_remove_tree(r->tmp, de->d_name, NULL, &e) < 0)
			fprintf(stderr, "nsbox: %s/tmp/%s: %s\n", r->path, de->d_name, e.msg);
		if (lock >= 0)
			close(lock);
	}
	if (d)
		closedir(d);
	d = fdopendir(dup(r->index));
	while (d && (de = readdir(d))) {
		char key[100];
		ssize_t n = readlinkat(r->index, de->d_name, key, sizeof(key) - 1);
		struct stat st;

		if (n < 0)
			continue;
		key[n] = '\0';
		if (!is_key(key) || fstatat(r->fd, key, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (!dry_run)
				unlinkat(r->index, de->d_name, 0);
		}
	}
	if (d)
		closedir(d);
	d = fdopendir(dup(r->locks));
	while (!dry_run && d && (de = readdir(d))) {
		int fd = openat(r->locks, de->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(r->locks, de->d_name, 0);
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
}

static int
prune_kind(const char *kind, unsigned days, bool all, bool dry_run, struct nsbox_err *err)
{
	struct roots r;
	DIR *d = entries_open(&r, kind, err);
	struct dirent *de;
	time_t now = time(NULL);
	int n = 0, rc = 0;

	if (!d) {
		roots_close(&r);
		return *err->msg ? -1 : 0;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -1;
		struct info in;
		struct stat st;
		const char *state, *why;
		char trash[120], rnd[9], size[24], sk[32];

		if (!is_key(de->d_name))
			continue;
		fd = openat(r.fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* in use */
		info_read(fd, &in);
		state = source_state(kind, de->d_name, &in);
		why = all                                        ? "all"
		      : !streq(state, "current")                 ? state
		      : now - st.st_mtime > (time_t)days * 86400 ? "unused"
								 : NULL;
		human(in.bytes, size);
		if (why && dry_run) {
			printf("would remove %s (%s, %s: %s)\n", short_key(de->d_name, sk), size,
			       in.tarball, why);
			n++;
		} else if (why) {
			/* out of reach of runs first, then removed */
			random_hex(rnd, 4);
			snprintf(trash, sizeof(trash), "trash.%.74s.%s", de->d_name, rnd);
			if (renameat(r.fd, de->d_name, r.tmp, trash) < 0 ||
			    userns_remove_tree(r.tmp, trash, NULL, err) < 0) {
				if (!*err->msg)
					nsbox_error(err, errno, "%s/%s", r.path, de->d_name);
				fprintf(stderr, "nsbox: %s\n", err->msg);
				rc = -1;
			} else {
				printf("removed %s (%s, %s: %s)\n", short_key(de->d_name, sk), size,
				       in.tarball, why);
				n++;
			}
		}
		free(in.text);
	}
	closedir(d);
	prune_leftovers(&r, dry_run);
	roots_close(&r);
	return rc < 0 ? -1 : n;
}

int
cache_prune(unsigned days, bool all, bool dry_run, struct nsbox_err *err)
{
	int a, b;

	/* roots first: a layer whose root went is an orphan */
	a = prune_kind("roots", days, all, dry_run, err);
	b = prune_kind("layers", days, all, dry_run, err);
	return a < 0 || b < 0 ? -1 : a + b;
}

int
cache_id(const char *tarball, char out[65], struct nsbox_err *err)
{
	_cleanup_free_ char *dir = cache_dir(), *statkey = NULL, *index = NULL;
	_cleanup_close_ int fd = open(tarball, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	unsigned char d[32], *buf;
	struct sha256 s;
	struct stat st;
	DIR *dd;
	struct dirent *de;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return nsbox_error(err, errno, "%s", tarball);
	/* what the cache knows, under any map */
	statkey = stat_key(&st, "");
	index = xasprintf("%s/roots/index", dir);
	if ((dd = opendir(index))) {
		while ((de = readdir(dd))) {
			char key[100];

			if (!startswith(de->d_name, statkey) ||
			    (de->d_name[strlen(statkey)] && de->d_name[strlen(statkey)] != '-'))
				continue;
			n = readlinkat(dirfd(dd), de->d_name, key, sizeof(key) - 1);
			if (n >= 64) {
				key[n] = '\0';
				if (is_key(key)) {
					snprintf(out, 65, "%.64s", key);
					closedir(dd);
					return 0;
				}
			}
		}
		closedir(dd);
	}
	buf = xmalloc(1 << 20);
	sha256_init(&s);
	while ((n = read(fd, buf, 1 << 20)) > 0)
		sha256_update(&s, buf, (size_t)n);
	free(buf);
	if (n < 0)
		return nsbox_error(err, errno, "%s", tarball);
	sha256_final(&s, d);
	sha256_hex(d, out);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void __attribute__((noreturn)) oom(void)
{
	static const char msg[] = "nsbox: out of memory\n";

	/* write(2), not stdio: stdio may itself need memory. */
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(125);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void
xgrow(void *pp, size_t *cap, size_t need, size_t sz)
{
	void **p = pp;
	size_t ncap = *cap ? *cap : 4;

	if (need <= *cap)
		return;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sz)
			oom();
		ncap *= 2;
	}
	*p = xrealloc(*p, ncap * sz);
	*cap = ncap;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom();
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *p = NULL;

	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
freep(void *p)
{
	free(*(void **)p);
}

void
closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

void
fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

size_t
strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void
strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);

	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

void
strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void
strv_freep(char ***v)
{
	strv_free(*v);
}

bool
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

bool
startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	/* No sign, no spaces, no 0x: strtoull would accept all three. */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

char *
str_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 4 + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f) {
			static const char hex[] = "0123456789abcdef";

			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

unsigned
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return 100;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

int
read_regular_file(int fd, size_t max, char **buf, size_t *len, const char **why)
{
	struct stat st;
	_cleanup_free_ char *b = NULL;
	size_t n = 0;

	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*why = "is a directory";
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -1;
	}
	if ((size_t)st.st_size > max) {
		*why = "file too large";
		return -1;
	}
	b = xmalloc(max + 1);
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror(errno);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			*why = "file too large";
			return -1;
		}
	}
	b[n] = '\0';
	*len = n;
	*buf = steal_ptr(&b);
	return 0;
}

/* Remove a tree by fds, never following a symlink and never leaving the
 * filesystem it started on: the tree may hold what the container wrote. */
void
remove_tree_at(int at, const char *name, dev_t dev)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (fd < 0 && errno == EACCES) {
		/* overlayfs leaves work/work mode 000; ours, so make it ours again,
		 * through an O_PATH fd that cannot be a symlink. */
		_cleanup_close_ int pfd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char proc[40];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		if (pfd >= 0 && fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid() && chmod(proc, 0700) == 0)
			fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		unlinkat(at, name, 0);
		return;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != dev || !(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			remove_tree_at(dirfd(d), de->d_name, dev);
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

int
wait_killable(pid_t pid, int *sig)
{
	sigset_t set;
	int status = 0;

	*sig = 0;
	stop_signals(&set);
	for (;;) {
		struct timespec tick = {0, 100 * 1000 * 1000};
		siginfo_t si;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (sigtimedwait(&set, &si, &tick) > 0 && si.si_signo != SIGCHLD && !*sig) {
			*sig = si.si_signo;
			kill(pid, SIGKILL);
		}
	}
}

void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* path and each directory above it, as written: lstat, so a link is
 * looked at and not followed (its own mode means nothing). */
static int
root_chain(const char *path, char **bad)
{
	_cleanup_free_ char *d = xstrdup(path);
	bool top = true;

	for (;;) {
		struct stat st;
		char *slash;
		size_t n = strlen(d);

		while (n > 1 && d[n - 1] == '/')
			d[--n] = '\0';
		if (lstat(d, &st) < 0 || st.st_uid != 0 ||
		    (!S_ISLNK(st.st_mode) && st.st_mode & 022 &&
		     (top || !(st.st_mode & S_ISVTX)))) {
			*bad = xstrdup(d);
			return -1;
		}
		if (streq(d, "/"))
			return 0;
		slash = strrchr(d, '/');
		if (slash == d)
			d[1] = '\0';
		else
			*slash = '\0';
		top = false;
	}
}

int
path_root_only(const char *dir, char **bad)
{
	_cleanup_free_ char *abs = NULL, *real = NULL;

	*bad = NULL;
	if (*dir != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd))) {
			*bad = xstrdup(dir);
			return -1;
		}
		abs = xasprintf("%s/%s", cwd, dir);
	}
	real = realpath(dir, NULL);
	if (!real) {
		*bad = xstrdup(dir);
		return -1;
	}
	return root_chain(abs ? abs : dir, bad) < 0 || root_chain(real, bad) < 0 ? -1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_UTIL_H
#define NSBOX_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_   _cleanup_(strv_freep)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocators that abort with a message instead of failing: running out of
 * memory is not an error path nsbox tries to recover from. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow *p (an array of *cap elements of size sz) to hold at least need. */
void xgrow(void *pp, size_t *cap, size_t need, size_t sz);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void freep(void *p);
void closep(int *fd);
void fclosep(FILE **f);

/* Return *p and set it to NULL (or -1): hands ownership to the caller. */
static inline void *
steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}

static inline int
steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* Whether dir, for root, is a directory only root can change, as
 * helpers/lib.sh's root_dir_ok has it: dir, every directory above it and
 * every symbolic link on the way, as written and as resolved, belong to
 * root, and none is writable by others but a sticky one above dir. Root
 * may then make, chown and use names in dir: nobody else can put a link
 * there or swap a directory on the way. Returns 0, or -1 with *bad the
 * first path that is not so (or is missing), to free. */
int path_root_only(const char *dir, char **bad);

/* NULL-terminated string vectors. */
size_t strv_len(char *const *v);
void strv_push(char ***v, const char *s);
void strv_free(char **v);
void strv_freep(char ***v);

bool streq(const char *a, const char *b);
bool startswith(const char *s, const char *prefix);

/* Strict unsigned decimal: digits only, fully consumed, at most max. */
int parse_u64(const char *s, unsigned long long max, unsigned long long *out);

/* Copy s with control bytes and non-ASCII shown as \xNN, for messages. */
char *str_escape(const char *s);

/* Levenshtein distance, capped at 100; for "did you mean" hints. */
unsigned edit_distance(const char *a, const char *b);

/* Read a regular file of at most max bytes into a NUL-terminated buffer.
 * Opens with O_NONBLOCK so a FIFO never hangs, and refuses non-files. */
int read_regular_file(int fd, size_t max, char **buf, size_t *len, const char **why);

/* s as a JSON string, quoted and escaped. */
void json_string(FILE *f, const char *s);

/* SIGCHLD and the signals that stop nsbox (INT, TERM, HUP, QUIT). */
void stop_signals(sigset_t *set);
/* Wait for the child pid with the signals of stop_signals() blocked; one
 * of the stopping ones meanwhile kills the child and is stored in *sig
 * (else 0). Returns the child's wait status. */
int wait_killable(pid_t pid, int *sig);

/* Remove a tree by fds, never following a symlink and never leaving the
 * filesystem it started on (dev): the tree may hold what a container wrote.
 * Best effort. */
void remove_tree_at(int at, const char *name, dev_t dev);

#endif

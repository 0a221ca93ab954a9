/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "cache.h"
#include "run-ctx.h"
#include "state.h"
static void
strv_json(FILE *f, char *const *v)
{
	fputc('[', f);
	for (size_t i = 0; v && v[i]; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, v[i]);
	}
	fputc(']', f);
}

static void
string_or_null(FILE *f, const char *s)
{
	if (s)
		json_string(f, s);
	else
		fputs("null", f);
}

void
state_write(FILE *f, const struct run_state *s, const struct plan *p)
{
	fputs("{\"id\": ", f);
	json_string(f, s->id);
	fputs(", \"name\": ", f);
	json_string(f, s->name);
	fputs(", \"profile\": ", f);
	string_or_null(f, s->profile);
	fprintf(f, ", \"nsbox_pid\": %d, \"pid\": %d, \"started\": %lld, \"status\": \"running\"",
		(int)s->nsbox_pid, (int)s->pid, s->started);
	fputs(", \"root\": ", f);
	string_or_null(f, s->root);
	fputs(", \"cgroups\": ", f);
	strv_json(f, s->cgroups);
	fputs(", \"command\": ", f);
	strv_json(f, s->command);
	fprintf(f, ", \"security\": {\"seccomp\": %s, \"no-new-privileges\": %s}",
		s->seccomp ? "true" : "false", s->no_new_privs ? "true" : "false");
	if (p) {
		fputs(", \"plan\": ", f);
		plan_print(p, f, true);
	}
	fputs("}\n", f);
}

void
state_clear(struct run_state *s)
{
	free(s->id);
	free(s->name);
	free(s->profile);
	free(s->root);
	strv_free(s->cgroups);
	strv_free(s->command);
	*s = (struct run_state){0};
}

/* --- the reader: JSON (RFC 8259), of which only the keys above are kept --- */

struct json {
	const char *p, *end;
	const char *why;
};

enum { MAX_DEPTH = 64 };

static int
bad(struct json *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return -1;
}

static void
ws(struct json *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
		j->p++;
}

static bool
eat(struct json *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static bool
word(struct json *j, const char *w)
{
	size_t n = strlen(w);

	ws(j);
	if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w, n) == 0) {
		j->p += n;
		return true;
	}
	return false;
}

static int
hex4(struct json *j, unsigned *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return bad(j, "a \\u escape is cut short");
	for (int i = 0; i < 4; i++) {
		char c = *j->p++;
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16;

		if (d == 16)
			return bad(j, "a \\u escape has a character that is not hex");
		*v = *v << 4 | d;
	}
	return 0;
}

static void
utf8(char *o, size_t *n, unsigned c)
{
	if (c < 0x80) {
		o[(*n)++] = (char)c;
	} else if (c < 0x800) {
		o[(*n)++] = (char)(0xc0 | c >> 6);
		o[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		o[(*n)++] = (char)(0xe0 | c >> 12);
		o[(*n)++] = (char)(0x80 | (c >> 6 & 0x3f));
		o[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else {
		o[(*n)++] = (char)(0xf0 | c >> 18);
		o[(*n)++] = (char)(0x80 | (c >> 12 & 0x3f));
		o[(*n)++] = (char)(0x80 | (c >> 6 & 0x3f));
		o[(*n)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* A string, decoded into *out (NULL: checked and skipped). */
static int
string(struct json *j, char **out)
{
	_cleanup_free_ char *o = NULL;
	size_t n = 0;

	if (!eat(j, '"'))
		return bad(j, "a string was expected");
	/* decoded, a string is never longer than its text */
	{
		const char *e = j->p;

		while (e < j->end && *e != '"')
			e += *e == '\\' ? 2 : 1;
		if (e >= j->end)
			return bad(j, "a string is not closed");
		o = xmalloc((size_t)(e - j->p) + 1);
	}
	for (;;) {
		unsigned char c;
		unsigned u, lo;

		if (j->p >= j->end)
			return bad(j, "a string is not closed");
		c = (unsigned char)*j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return bad(j, "a string holds a control character");
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		if (j->p >= j->end)
			return bad(j, "a string is not closed");
		switch (c = (unsigned char)*j->p++) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u':
			if (hex4(j, &u) < 0)
				return -1;
			if (u == 0)
				return bad(j, "a string holds \\u0000");
			if (u >= 0xdc00 && u <= 0xdfff)
				return bad(j, "a string holds a lone low surrogate");
			if (u >= 0xd800 && u <= 0xdbff) {
				if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
					return bad(j, "a string holds a lone high surrogate");
				j->p += 2;
				if (hex4(j, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return bad(j, "a string holds a lone high surrogate");
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			}
			/* 6 escaped characters make at most 3 bytes, 12 make 4 */
			utf8(o, &n, u);
			break;
		default:
			return bad(j, "a string holds an unknown escape");
		}
	}
	o[n] = '\0';
	if (out)
		*out = steal_ptr(&o);
	return 0;
}

static int
string_or_null_value(struct json *j, char **out)
{
	if (word(j, "null")) {
		*out = NULL;
		return 0;
	}
	return string(j, out);
}

/* A number; *out (may be NULL) takes it when it is an integer in range. */
static int
number(struct json *j, long long *out)
{
	const char *s;
	bool integer = true;

	ws(j);
	s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return bad(j, "a value was expected");
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		integer = false;
		if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
			return bad(j, "a number has no digits after its point");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		integer = false;
		if (++j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return bad(j, "a number has no digits in its exponent");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (out) {
		char buf[24];
		size_t n = (size_t)(j->p - s);
		char *e;

		if (!integer || n >= sizeof(buf))
			return bad(j, "a number is not an integer nsbox can hold");
		memcpy(buf, s, n);
		buf[n] = '\0';
		errno = 0;
		*out = strtoll(buf, &e, 10);
		if (errno || *e)
			return bad(j, "a number is not an integer nsbox can hold");
	}
	return 0;
}

static int
boolean(struct json *j, bool *out)
{
	if (word(j, "true"))
		*out = true;
	else if (word(j, "false"))
		*out = false;
	else
		return bad(j, "true or false was expected");
	return 0;
}

static int skip(struct json *j, int depth);

/* An object: fn(j, key, arg) for each member (it parses the value). */
static int
object(struct json *j, int depth, int (*fn)(struct json *, const char *, void *, int), void *arg)
{
	if (depth > MAX_DEPTH)
		return bad(j, "values are nested too deep");
	if (!eat(j, '{'))
		return bad(j, "an object was expected");
	if (eat(j, '}'))
		return 0;
	do {
		_cleanup_free_ char *key = NULL;

		if (string(j, &key) < 0)
			return -1;
		if (!eat(j, ':'))
			return bad(j, "a ':' was expected after a key");
		if ((fn ? fn(j, key, arg, depth + 1) : skip(j, depth + 1)) < 0)
			return -1;
	} while (eat(j, ','));
	if (!eat(j, '}'))
		return bad(j, "a ',' or '}' was expected");
	return 0;
}

/* An array, of strings into *out when out is not NULL. */
static int
array(struct json *j, int depth, char ***out)
{
	if (depth > MAX_DEPTH)
		return bad(j, "values are nested too deep");
	if (!eat(j, '['))
		return bad(j, "an array was expected");
	if (eat(j, ']'))
		return 0;
	do {
		_cleanup_free_ char *s = NULL;

		if (!out) {
			if (skip(j, depth + 1) < 0)
				return -1;
			continue;
		}
		if (string(j, &s) < 0)
			return -1;
		strv_push(out, s);
	} while (eat(j, ','));
	if (!eat(j, ']'))
		return bad(j, "a ',' or ']' was expected");
	return 0;
}

static int
skip(struct json *j, int depth)
{
	bool b;

	ws(j);
	if (j->p >= j->end)
		return bad(j, "a value was expected");
	switch (*j->p) {
	case '{':
		return object(j, depth, NULL, NULL);
	case '[':
		return array(j, depth, NULL);
	case '"':
		return string(j, NULL);
	case 't':
	case 'f':
		return boolean(j, &b);
	case 'n':
		return word(j, "null") ? 0 : bad(j, "a value was expected");
	default:
		return number(j, NULL);
	}
}

static int
security_member(struct json *j, const char *key, void *arg, int depth)
{
	struct run_state *s = arg;

	if (streq(key, "seccomp"))
		return boolean(j, &s->seccomp);
	if (streq(key, "no-new-privileges"))
		return boolean(j, &s->no_new_privs);
	return skip(j, depth);
}

static int
pid_value(struct json *j, pid_t *out)
{
	long long v;

	if (number(j, &v) < 0)
		return -1;
	if (v <= 0 || v > INT_MAX)
		return bad(j, "a pid is out of range");
	*out = (pid_t)v;
	return 0;
}

/* One string member: a key given twice is refused. */
static int
once(struct json *j, char **field, bool nullable)
{
	if (*field)
		return bad(j, "a key is given twice");
	return nullable ? string_or_null_value(j, field) : string(j, field);
}

static int
member(struct json *j, const char *key, void *arg, int depth)
{
	struct run_state *s = arg;

	if (streq(key, "id"))
		return once(j, &s->id, false);
	if (streq(key, "name"))
		return once(j, &s->name, false);
	if (streq(key, "profile"))
		return once(j, &s->profile, true);
	if (streq(key, "root"))
		return once(j, &s->root, true);
	if (streq(key, "nsbox_pid"))
		return pid_value(j, &s->nsbox_pid);
	if (streq(key, "pid"))
		return pid_value(j, &s->pid);
	if (streq(key, "started"))
		return number(j, &s->started);
	if (streq(key, "cgroups") || streq(key, "command")) {
		char ***v = streq(key, "cgroups") ? &s->cgroups : &s->command;

		if (*v)
			return bad(j, "a key is given twice");
		*v = xcalloc(1, sizeof(**v)); /* [] too is there */
		return array(j, depth, v);
	}
	if (streq(key, "security"))
		return object(j, depth, security_member, s);
	return skip(j, depth); /* "status", "plan", and what a later nsbox adds */
}

int
state_parse(const char *text, size_t len, struct run_state *s, const char **why)
{
	struct json j = {text, text + len, NULL};

	*s = (struct run_state){0};
	if (object(&j, 0, member, s) < 0)
		goto fail;
	ws(&j);
	if (j.p != j.end) {
		bad(&j, "text follows the state's object");
		goto fail;
	}
	if (!s->id || !s->name || !s->nsbox_pid || !s->pid) {
		bad(&j, "id, name, nsbox_pid or pid is missing");
		goto fail;
	}
	return 0;
fail:
	state_clear(s);
	*why = j.why;
	return -1;
}

/* --- host state: RUNDIR/ID, locked for as long as the run lives --- */

/* A killed run's cgroups, named in its state. */
static void
gc_cgroups(const char *rundir)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroups", rundir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* only what nsbox names so: a state file is not to be trusted blindly */
		if (*line == '/' && strstr(line, "/nsbox-") && cgroup_remove(line) < 0)
			fprintf(stderr, "nsbox: cannot remove the cgroup %s: %s\n", line,
				strerror(errno));
	}
}

/* Remove a run's directory; what an unprivileged run's container wrote
 * there is removed in a user namespace with its maps m (NULL: the
 * caller's default maps). */
void
remove_run_dir(const char *dir, const struct idmaps *m)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	_cleanup_close_ int pfd = -1;
	struct nsbox_err ignore = {0};

	if (!slash)
		return;
	*slash = '\0';
	pfd = open(*parent ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0)
		userns_remove_tree(pfd, slash + 1, m, &ignore);
}

/* DIR.json, and the DIR.json.new of a write cut short. */
void
remove_state(const char *dir)
{
	_cleanup_free_ char *state = xasprintf("%s.json", dir);
	_cleanup_free_ char *tmp = xasprintf("%s.json.new", dir);

	unlink(tmp);
	unlink(state);
}

/* Remove what run ID of statedir left (its lock held by the caller): the
 * state first, since a held lock and a state make a live run for nsbox ps,
 * stop and exec, and this one is dead (nothing here reads the state); then
 * cgroups, the run directory, the scratch upper; the lock last. */
static void
gc_run(const char *statedir, const char *id, int idlen, const char *scratch)
{
	_cleanup_free_ char *dir = xasprintf("%s/%.*s", statedir, idlen, id);
	_cleanup_free_ char *lock = xasprintf("%s.lock", dir);

	remove_state(dir);
	gc_cgroups(dir);
	remove_run_dir(dir, NULL);
	if (scratch) {
		_cleanup_free_ char *up = xasprintf("%s/%.*s", scratch, idlen, id);

		remove_run_dir(up, NULL);
	}
	unlink(lock);
}

/* Runs killed with SIGKILL leave a free ID.lock behind, ID.json and maybe
 * the directory ID. */
int
gc_stale(const char *statedir, bool dry_run)
{
	DIR *d = opendir(statedir);
	_cleanup_free_ char *scratch = dry_run ? NULL : scratch_base(false);
	struct dirent *de;
	int found = 0;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *lock = NULL;
		_cleanup_close_ int fd = -1;

		if (n <= 5 || !streq(de->d_name + n - 5, ".lock"))
			continue;
		lock = xasprintf("%s/%s", statedir, de->d_name);
		fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		found++;
		if (dry_run) {
			printf("%.*s\t%s\n", (int)(n - 5), de->d_name, lock);
			continue;
		}
		gc_run(statedir, de->d_name, (int)(n - 5), scratch);
		fprintf(stderr, "nsbox: removed leftovers of run %.*s\n", (int)(n - 5), de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* The sweeper's life: wait for the run's lock, which nsbox holds until it
 * is gone (and the container's first process, until it dies with nsbox),
 * and remove what the run left, as gc would. Nothing if nsbox, or a gc,
 * removed the lock first: it is that lock no more. */
static void __attribute__((noreturn))
sweep(const char *statedir, const char *id, const struct stat *lock_st)
{
	_cleanup_free_ char *lock = xasprintf("%s/%s.lock", statedir, id);
	_cleanup_free_ char *scratch = NULL;
	struct stat st;
	int fd;

	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != lock_st->st_dev ||
	    st.st_ino != lock_st->st_ino)
		_exit(0);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			_exit(0);
	if (lstat(lock, &st) < 0 || st.st_dev != lock_st->st_dev || st.st_ino != lock_st->st_ino)
		_exit(0);
	scratch = scratch_base(false);
	gc_run(statedir, id, (int)strlen(id), scratch);
	_exit(0);
}

/* A SIGKILLed nsbox cleans up nothing, and that is how CI engines end a
 * step that ran too long: buildbot kills the step's process group with
 * SIGKILL, GitLab's runner and a shell's `timeout -s KILL` the same. The
 * container dies with nsbox (PR_SET_PDEATHSIG); its state, its scratch
 * upper (a whole build tree) and its cgroups would wait for the next run
 * or nsbox gc. So each run has a sweeper: a child of nsbox in a session,
 * and so a process group, of its own, out of the reach of a kill of the
 * caller's group, holding no fd of the caller's (a CI engine waits for
 * the EOF of the step's output) and no directory but /. It waits on the
 * run's lock and removes the leftovers once nsbox is gone; an nsbox that
 * ends as it should removes everything itself, then kills and reaps the
 * sweeper (sweeper_stop). nsbox keeps no descriptor for it (a caller's
 * ulimit -n 16 still runs a container). Forked before any thread, mount
 * or cgroup of the run exists. */
static void
sweeper_start(struct run_ctx *ctx)
{
	struct stat st;
	pid_t pid;

	if (fstat(ctx->lockfd, &st) < 0)
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int null;

		setsid();
		if (chdir("/") < 0)
			_exit(0);
		close_range(3, ~0U, 0);
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int i = 0; i < 3; i++)
			if (null < 0 || dup2(null, i) < 0)
				close(i);
		if (null > 2)
			close(null);
		sweep(ctx->statedir, ctx->id, &st);
	}
	ctx->sweeper = pid;
}

void
sweeper_stop(struct run_ctx *ctx)
{
	if (ctx->sweeper > 0) {
		kill(ctx->sweeper, SIGKILL);
		while (waitpid(ctx->sweeper, NULL, 0) < 0 && errno == EINTR)
			;
		ctx->sweeper = 0;
	}
}

/* Where runs keep their state: RUNDIR for root; for another user
 * $XDG_RUNTIME_DIR/nsbox, else /tmp/nsbox-UID. Either must be a directory
 * of the caller's that nobody else can write. */
int
state_dir(struct run_ctx *ctx, struct nsbox_err *err)
{
	uid_t uid = geteuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (uid == 0)
		ctx->statedir = xstrdup(RUNDIR);
	else if (xdg && *xdg == '/')
		ctx->statedir = xasprintf("%s/nsbox", xdg);
	else
		ctx->statedir = xasprintf("/tmp/nsbox-%u", (unsigned)uid);
	/* 0711: a user namespace's root, which may not be the owner, still
	 * reaches its own run directory. */
	if (mkdir(ctx->statedir, uid == 0 ? 0711 : 0700) < 0 && errno != EEXIST)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	if (lstat(ctx->statedir, &st) < 0)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || st.st_mode & 022)
		return nsbox_error(err, 0,
				   "%s: not a directory of uid %u that only it can write; "
				   "remove it",
				   ctx->statedir, (unsigned)uid);
	if (uid == 0 && (st.st_mode & 0777) != 0711 && chmod(ctx->statedir, 0711) < 0)
		return nsbox_error(err, errno, "%s", ctx->statedir);
	return 0;
}

/* The name of a live run other than ours, or NULL: its lock holds it. */
static char *
live_name(const char *statedir, const char *lockname, const char *ours)
{
	_cleanup_free_ char *lock = xasprintf("%s/%s", statedir, lockname);
	_cleanup_close_ int fd = -1;
	char buf[256];
	ssize_t k;

	if (ours && streq(lock, ours))
		return NULL;
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
		return NULL; /* free: not live */
	k = pread(fd, buf, sizeof(buf) - 1, 0);
	if (k <= 0)
		return NULL;
	buf[k] = '\0';
	return xstrdup(buf);
}

/* process.name, or PROFILE-PID: unique among the caller's live runs.
 * Written into the run's lock. */
static int
name_run(struct run_ctx *ctx, struct nsbox_err *err)
{
	const struct plan *p = ctx->p;
	DIR *d;
	struct dirent *de;

	if (p->process.name.value) {
		ctx->name = xstrdup(p->process.name.value);
	} else {
		const char *b = p->profile ? strrchr(p->profile, '/') : NULL;
		_cleanup_free_ char *prof = xstrdup(b ? b + 1 : p->profile ? p->profile : "nsbox");
		char *dot = strstr(prof, ".conf");

		if (dot && !dot[5])
			*dot = '\0';
		ctx->name = xasprintf("%s-%d", prof, (int)getpid());
	}
	if ((d = opendir(ctx->statedir))) {
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			_cleanup_free_ char *other = NULL;

			if (n > 5 && streq(de->d_name + n - 5, ".lock") &&
			    (other = live_name(ctx->statedir, de->d_name, ctx->lockpath)) &&
			    streq(other, ctx->name)) {
				closedir(d);
				return nsbox_error_at(err,
						      p->process.name.value ? p->process.name.origin
									    : "command line",
						      "process.name: a running container is "
						      "already named %s",
						      ctx->name);
			}
		}
		closedir(d);
	}
	if (pwrite(ctx->lockfd, ctx->name, strlen(ctx->name), 0) < 0)
		return nsbox_error(err, errno, "%s", ctx->lockpath);
	return 0;
}

int
step_state(struct run_ctx *ctx, struct nsbox_err *err)
{
	unsigned char rnd[6];
	char id[13];

	if (state_dir(ctx, err) < 0)
		return -1;
	gc_stale(ctx->statedir, false);
	if (getentropy(rnd, sizeof(rnd)) < 0)
		return nsbox_error(err, errno, "getentropy");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	memcpy(ctx->id, id, sizeof(id));
	/* The lock exists before anything else of the run's, so gc never takes
	 * a live run; and it is locked before it has a name, so gc never sees
	 * it free. */
	ctx->lockpath = xasprintf("%s/%s.lock", ctx->statedir, id);
	ctx->lockfd = open(ctx->statedir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (ctx->lockfd >= 0) {
		char proc[40];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ctx->lockfd);
		if (flock(ctx->lockfd, LOCK_EX) < 0 ||
		    linkat(AT_FDCWD, proc, AT_FDCWD, ctx->lockpath, AT_SYMLINK_FOLLOW) < 0) {
			nsbox_error(err, errno, "%s", ctx->lockpath);
			/* Not ours to unlink: it may be another run's lock. */
			close(steal_fd(&ctx->lockfd));
			return -1;
		}
	} else { /* a filesystem without O_TMPFILE */
		ctx->lockfd = open(ctx->lockpath,
				   O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (ctx->lockfd < 0 || flock(ctx->lockfd, LOCK_EX) < 0)
			return nsbox_error(err, errno, "%s", ctx->lockpath);
	}
	ctx->rundir = xasprintf("%s/%s", ctx->statedir, id);
	if (name_run(ctx, err) < 0)
		return -1;
	sweeper_start(ctx);
	return 0;
}

char *
scratch_base(bool make)
{
	_cleanup_free_ char *cache = cache_dir(), *bad = NULL;
	char *base;
	struct stat st;

	if (!make) { /* gc: only what is there */
		base = xasprintf("%s/scratch", cache);
		if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    st.st_mode & 022 || (geteuid() == 0 && path_root_only(cache, &bad) < 0)) {
			free(base);
			return NULL;
		}
		return base;
	}

	/* the cache directory as nsbox cache makes it (a new user's ~/.cache
	 * may not exist yet: 0700, as XDG says), then scratch in it */
	for (char *c = cache + 1; (c = strchr(c, '/')); c++) {
		*c = '\0';
		if (mkdir(cache, 0700) < 0 && errno != EEXIST)
			return NULL;
		*c = '/';
	}
	if (mkdir(cache, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST)
		return NULL;
	if (lstat(cache, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_mode & 022)
		return NULL;
	/* root makes and removes trees there by name: only where no user can
	 * put a link (as for root.upper) */
	if (geteuid() == 0 && path_root_only(cache, &bad) < 0)
		return NULL;
	base = xasprintf("%s/scratch", cache);
	/* 0711: a user namespace's root, which may not be the owner, still
	 * reaches its own directory there */
	if ((mkdir(base, geteuid() == 0 ? 0711 : 0700) < 0 && errno != EEXIST) ||
	    lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_mode & 022) {
		free(base);
		return NULL;
	}
	return base;
}

int
scratch_dir(struct run_ctx *ctx, struct nsbox_err *err)
{
	_cleanup_free_ char *base = NULL;

	if (ctx->scratch_made)
		return 0;
	if (!(base = scratch_base(true)))
		return run_dir(ctx, err);
	ctx->scratch = xasprintf("%s/%s", base, ctx->id);
	if (mkdir(ctx->scratch, 0700) < 0)
		return nsbox_error(err, errno, "%s", ctx->scratch);
	ctx->scratch_made = true;
	/* as run_dir: the container's root makes the upper here */
	if (ctx->by_fd && chmod(ctx->scratch, 0733) < 0)
		return nsbox_error(err, errno, "%s", ctx->scratch);
	if (ctx->userns && geteuid() == 0 &&
	    chown(ctx->scratch, ctx->maps.root_uid, ctx->maps.root_gid) < 0)
		return nsbox_error(err, errno, "chown %s", ctx->scratch);
	return 0;
}

/* The run's directory, for what only some runs have: an ephemeral upper,
 * cgroups to remove after a kill -9, the attach socket of a detached run.
 * A plain run makes none (a directory costs an inode, and its rmdir is
 * the dearest call of a run's cleanup on an ext4 /run). With a user
 * namespace it is the container root's, which makes the upper in it. */
int
run_dir(struct run_ctx *ctx, struct nsbox_err *err)
{
	if (ctx->rundir_made)
		return 0;
	if (mkdir(ctx->rundir, 0700) < 0)
		return nsbox_error(err, errno, "%s", ctx->rundir);
	ctx->rundir_made = true;
	/* The container's root makes the upper here; without the caller's
	 * id it is "others". Nobody else gets this far: the state directory
	 * is the caller's alone. */
	if (ctx->by_fd && chmod(ctx->rundir, 0733) < 0)
		return nsbox_error(err, errno, "%s", ctx->rundir);
	if (ctx->userns && geteuid() == 0 &&
	    chown(ctx->rundir, ctx->maps.root_uid, ctx->maps.root_gid) < 0)
		return nsbox_error(err, errno, "chown %s", ctx->rundir);
	return 0;
}

char *
state_directory(struct nsbox_err *err)
{
	struct run_ctx ctx = {0};

	if (state_dir(&ctx, err) < 0) {
		free(ctx.statedir);
		return NULL;
	}
	return ctx.statedir;
}

int
state_gc(bool dry_run, struct nsbox_err *err)
{
	struct run_ctx ctx = {0};
	int n;

	if (state_dir(&ctx, err) < 0) {
		free(ctx.statedir);
		return -1;
	}
	n = gc_stale(ctx.statedir, dry_run);
	free(ctx.statedir);
	return n;
}

/* RUNDIR/ID.json, for nsbox ps, exec, stop and kill: written once the
 * container runs, renamed into place whole (src/state.c reads it). */
void
write_state(const struct run_ctx *ctx)
{
	const struct plan *p = ctx->p;
	_cleanup_free_ char *tmp = xasprintf("%s.json.new", ctx->rundir);
	_cleanup_free_ char *path = xasprintf("%s.json", ctx->rundir);
	_cleanup_strv_ char **cgroups = NULL;
	struct run_state s = {
		.id = (char *)ctx->id,
		.name = ctx->name,
		.profile = (char *)p->profile,
		.nsbox_pid = getpid(),
		.pid = ctx->pid,
		.started = (long long)time(NULL),
		.root = (char *)(p->root.directory.value ? p->root.directory.value
							 : p->root.tarball.value),
		.command = p->argv,
		.seccomp = p->security.seccomp.value,
		.no_new_privs = p->security.no_new_privs.value,
	};
	FILE *f = fopen(tmp, "we");

	if (!f)
		return;
	for (size_t i = 0; i < ctx->cg.n; i++)
		strv_push(&cgroups, ctx->cg.dir[i]);
	s.cgroups = cgroups;
	state_write(f, &s, p);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

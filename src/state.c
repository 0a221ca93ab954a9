/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "state.h"
#include "util.h"

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

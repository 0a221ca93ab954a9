/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>

#include "value.h"
#include "util.h"

const char *
value_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "1"}, *const no[] = {"no", "false", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (streq(s, yes[i]) || streq(s, no[i])) {
			*out = streq(s, yes[i]);
			return NULL;
		}
	}
	return "expected yes, no, true, false, 1 or 0";
}

const char *
value_tristate(const char *s, enum tristate *out)
{
	bool b;

	if (streq(s, "auto")) {
		*out = TRI_AUTO;
		return NULL;
	}
	if (value_bool(s, &b))
		return "expected auto, yes, no, true, false, 1 or 0";
	*out = b ? TRI_YES : TRI_NO;
	return NULL;
}

const char *
value_size(const char *s, bool allow_max, uint64_t *out)
{
	static const char units[] = "KMGT";
	_cleanup_free_ char *digits = NULL;
	unsigned long long v;
	size_t n = strlen(s);
	unsigned shift = 0;

	if (allow_max && streq(s, "max")) {
		*out = UINT64_MAX;
		return NULL;
	}
	if (n > 0) {
		const char *u = strchr(units, toupper((unsigned char)s[n - 1]));

		if (u && *u) {
			shift = 10 * (unsigned)(u - units + 1);
			n--;
		}
	}
	digits = xstrndup(s, n);
	if (parse_u64(digits, ULLONG_MAX >> shift, &v) < 0)
		return allow_max ? "expected a size such as 512M or 4G, or max"
				 : "expected a size such as 512M or 4G";
	*out = (uint64_t)v << shift;
	return NULL;
}

const char *
value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;

	if (parse_u64(s, max, &v) < 0 || v < min)
		return "expected a number in range";
	*out = v;
	return NULL;
}

const char *
value_abspath(const char *s)
{
	const char *p = s;

	if (*s != '/')
		return "expected an absolute path";
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "path must not contain . or .. components";
		p += n;
	}
	return NULL;
}

const char *
value_hostname(const char *s)
{
	size_t n = strlen(s);

	/* RFC 1123 labels; HOST_NAME_MAX is 64. */
	if (n == 0 || n > 64)
		return "a hostname has 1 to 64 characters";
	if (s[0] == '-' || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return "a hostname must not start with - or ., end with . or contain ..";
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return "a hostname has only letters, digits, - and .";
	return NULL;
}

const char *
value_ifname(const char *s)
{
	/* The kernel's dev_valid_name(): IFNAMSIZ - 1 bytes, no '/', ':' or space. */
	if (!*s)
		return "empty interface name";
	if (strlen(s) > 15)
		return "interface names have at most 15 bytes";
	if (streq(s, ".") || streq(s, ".."))
		return "invalid interface name";
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return "interface names must not contain '/', ':' or spaces";
	return NULL;
}

const char *
value_envkey(const char *s)
{
	if (!*s)
		return "empty variable name";
	for (; *s; s++)
		if (*s == '=' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return "variable names must not contain '=', spaces or control characters";
	return NULL;
}

const char *
value_cpu(const char *s, unsigned *milli)
{
	static const char *const msg = "expected a number of CPUs (1.5) or a percentage (50%)";
	uint64_t whole = 0, frac = 0;
	size_t n = strlen(s);
	_cleanup_free_ char *t = NULL;
	char *dot;
	unsigned fdigits = 0;

	if (n > 0 && s[n - 1] == '%') {
		t = xstrndup(s, n - 1);
		if (value_uint(t, 1, 100000, &whole))
			return msg;
		*milli = (unsigned)(whole * 10);
		return NULL;
	}
	t = xstrdup(s);
	dot = strchr(t, '.');
	if (dot) {
		*dot++ = '\0';
		fdigits = (unsigned)strlen(dot);
		if (fdigits == 0 || fdigits > 3 || value_uint(dot, 0, 999, &frac))
			return msg;
		while (fdigits++ < 3)
			frac *= 10;
	}
	if (value_uint(t, 0, 1024, &whole) || whole * 1000 + frac == 0)
		return msg;
	*milli = (unsigned)(whole * 1000 + frac);
	return NULL;
}

static const char *
rlimit_value(const char *s, bool is_size, uint64_t *out)
{
	if (streq(s, "unlimited") || streq(s, "infinity")) {
		*out = UINT64_MAX;
		return NULL;
	}
	if (is_size)
		return value_size(s, false, out) ? "expected a size, SOFT:HARD or unlimited" : NULL;
	return value_uint(s, 0, UINT64_MAX - 1, out) ? "expected a number, SOFT:HARD or unlimited"
						     : NULL;
}

const char *
value_rlimit(const char *s, bool is_size, uint64_t *soft, uint64_t *hard)
{
	const char *colon = strchr(s, ':'), *e;
	_cleanup_free_ char *a = NULL;

	if (!colon) {
		e = rlimit_value(s, is_size, soft);
		*hard = *soft;
		return e;
	}
	a = xstrndup(s, (size_t)(colon - s));
	if ((e = rlimit_value(a, is_size, soft)) || (e = rlimit_value(colon + 1, is_size, hard)))
		return e;
	if (*soft > *hard)
		return "the soft limit is above the hard limit";
	return NULL;
}

const char *
value_cap(const char *s, int *cap)
{
	_cleanup_free_ char *name = NULL;
	cap_value_t v;

	/* libcap's names are lowercase "cap_chown"; accept any case, with or
	 * without the prefix, and refuse its numeric forms. */
	if (!*s || isdigit((unsigned char)*s))
		return "unknown capability";
	name = strncasecmp(s, "cap_", 4) == 0 ? xstrdup(s) : xasprintf("cap_%s", s);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (cap_from_name(name, &v) < 0)
		return "unknown capability";
	*cap = (int)v;
	return NULL;
}

const char *
value_ipaddr(const char *s, int *family, unsigned char addr[16])
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return NULL;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return NULL;
	}
	return "expected an IPv4 or IPv6 address";
}

int
value_split(const char *s, char **fields, int max)
{
	size_t n = strlen(s);
	char *cur = xmalloc(n + 1), *o = cur;
	int nf = 0;

	for (;; s++) {
		if (*s == '\\' && (s[1] == ':' || s[1] == '\\')) {
			*o++ = *++s;
			continue;
		}
		if (*s == ':' || *s == '\0') {
			*o = '\0';
			if (nf == max) {
				free(cur);
				value_fields_free(fields, nf);
				return -1;
			}
			fields[nf++] = xstrdup(cur);
			o = cur;
			if (*s == '\0')
				break;
			continue;
		}
		*o++ = *s;
	}
	free(cur);
	return nf;
}

void
value_fields_free(char **fields, int n)
{
	for (int i = 0; i < n; i++)
		free(fields[i]);
}

const char *
value_mount(const char *key, const char *s, struct mount_op *op)
{
	char *f[3] = {NULL, NULL, NULL};
	int want, n;
	const char *e = NULL;

	memset(op, 0, sizeof(*op));
	if (streq(key, "bind") || streq(key, "bind-ro")) {
		op->kind = streq(key, "bind") ? MOUNT_BIND : MOUNT_BIND_RO;
		want = 2;
	} else if (streq(key, "tmp")) {
		op->kind = MOUNT_TMPFS;
		want = 1;
	} else if (streq(key, "overlay")) {
		op->kind = MOUNT_OVERLAY;
		want = 3;
	} else {
		return "unknown mount type (expected bind, bind-ro, tmp or overlay)";
	}
	n = value_split(s, f, 3);
	if (n != want) {
		value_fields_free(f, n < 0 ? 0 : n);
		return want == 1   ? "expected DEST (an absolute path; write \\: for a colon)"
		       : want == 2 ? "expected SRC:DEST (write \\: for a colon in a path)"
				   : "expected DIR:DEST:WORK (write \\: for a colon in a path)";
	}
	for (int i = 0; i < n && !e; i++)
		e = value_abspath(f[i]);
	/* pflask's overlay:DIR:/:WORK: the root's own upper, which nsbox keeps
	 * in [root], with its work directory beside it. */
	if (!e && want == 3 && streq(f[1], "/"))
		e = "an overlay on / is the root's upper: use --set root.upper=DIR (overlayfs's "
		    "work directory is then DIR.work), or --ephemeral to discard the changes";
	else if (!e && streq(f[want == 1 ? 0 : 1], "/"))
		e = "the destination must not be / (the root is not a mount target)";
	if (e) {
		value_fields_free(f, n);
		return e;
	}
	if (want == 1) {
		op->dst = f[0];
	} else {
		op->src = f[0];
		op->dst = f[1];
		op->work = f[2];
	}
	return NULL;
}

void
mount_op_clear(struct mount_op *op)
{
	free(op->src);
	free(op->dst);
	free(op->work);
	memset(op, 0, sizeof(*op));
}

const char *
value_netif(const char *s, struct netif_op *op)
{
	char *f[3] = {NULL, NULL, NULL};
	int n = value_split(s, f, 3);
	const char *e = NULL;

	memset(op, 0, sizeof(*op));
	if (n == 2) {
		op->kind = NETIF_MOVE;
	} else if (n == 3 && streq(f[0], "veth")) {
		op->kind = NETIF_VETH;
	} else if (n == 3 && streq(f[0], "macvlan")) {
		op->kind = NETIF_MACVLAN;
	} else if (n == 3 && streq(f[0], "ipvlan")) {
		op->kind = NETIF_IPVLAN;
	} else {
		value_fields_free(f, n < 0 ? 0 : n);
		return "expected DEV:NAME, veth:OUTSIDE:INSIDE, macvlan:MASTER:NAME or "
		       "ipvlan:MASTER:NAME";
	}
	op->dev = f[n - 2];
	op->name = f[n - 1];
	if (n == 3)
		free(f[0]);
	if (op->kind == NETIF_VETH && streq(op->dev, "auto")) {
		free(op->dev);
		op->dev = NULL;
	}
	if ((op->dev && (e = value_ifname(op->dev))) || (e = value_ifname(op->name)) ||
	    (streq(op->name, "lo") && (e = "lo cannot be a container interface name"))) {
		netif_op_clear(op);
		return e;
	}
	return NULL;
}

void
netif_op_clear(struct netif_op *op)
{
	free(op->dev);
	free(op->name);
	memset(op, 0, sizeof(*op));
}

const char *
value_addr(const char *s, struct addr_op *op)
{
	const char *colon = strchr(s, ':'), *slash = strrchr(s, '/'), *e;
	_cleanup_free_ char *ip = NULL;
	uint64_t prefix;

	memset(op, 0, sizeof(*op));
	if (!colon || !slash || slash < colon)
		return "expected IF:ADDRESS/PREFIX";
	op->ifname = xstrndup(s, (size_t)(colon - s));
	ip = xstrndup(colon + 1, (size_t)(slash - colon - 1));
	if ((e = value_ifname(op->ifname)) || (e = value_ipaddr(ip, &op->family, op->addr)) ||
	    (value_uint(slash + 1, 0, op->family == AF_INET ? 32 : 128, &prefix) &&
	     (e = "the prefix length is out of range"))) {
		free(op->ifname);
		op->ifname = NULL;
		return e;
	}
	op->prefix = (unsigned)prefix;
	return NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_VALUE_H
#define NSBOX_VALUE_H

#include <stdbool.h>
#include <stdint.h>

/* Parsers for the values of profile keys and options. Each returns NULL on
 * success or a static message saying what is wrong, and touches nothing but
 * its output. They are shared by plan validation and the executor. */

enum mount_kind { MOUNT_BIND, MOUNT_BIND_RO, MOUNT_TMPFS, MOUNT_OVERLAY };

struct mount_op {
	enum mount_kind kind;
	char *src;  /* host path; for overlay the writable layer; NULL for tmpfs */
	char *dst;  /* path inside the container */
	char *work; /* overlay work directory, else NULL */
	const char *origin;
};

enum netif_kind { NETIF_MOVE, NETIF_VETH, NETIF_MACVLAN, NETIF_IPVLAN };

struct netif_op {
	enum netif_kind kind;
	char *dev;  /* host device, macvlan/ipvlan master, or veth outside name (NULL: auto) */
	char *name; /* name inside the container */
	const char *origin;
};

struct idmap {
	uint32_t inside, outside, count;
	const char *origin;
};

struct addr_op {
	char *ifname;
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
	const char *origin;
};

enum tristate { TRI_AUTO, TRI_YES, TRI_NO };

const char *value_bool(const char *s, bool *out);
const char *value_tristate(const char *s, enum tristate *out);
/* Sizes: digits with an optional K, M, G or T (powers of 1024); "max" when
 * allow_max, stored as UINT64_MAX. */
const char *value_size(const char *s, bool allow_max, uint64_t *out);
const char *value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* An absolute path without "." or ".." components. */
const char *value_abspath(const char *s);
const char *value_hostname(const char *s);
/* A Linux interface name, by the kernel's dev_valid_name() rules. */
const char *value_ifname(const char *s);
const char *value_envkey(const char *s);
/* Fractional CPUs ("1.5") or a percentage of one CPU ("50%"), in milli-CPUs. */
const char *value_cpu(const char *s, unsigned *milli);
/* A resource limit: N, SOFT:HARD, or "unlimited"; sizes when is_size. */
const char *value_rlimit(const char *s, bool is_size, uint64_t *soft, uint64_t *hard);
/* A capability name, CAP_ prefix optional, any case. */
const char *value_cap(const char *s, int *cap);
const char *value_ipaddr(const char *s, int *family, unsigned char addr[16]);

/* Split s on unescaped ':' into at most max fields ("\:" is a literal colon,
 * "\\" a backslash). Returns the number of fields, or -1 if there are more. */
int value_split(const char *s, char **fields, int max);
void value_fields_free(char **fields, int n);

/* Mount specs, by the [mount] key: bind and bind-ro SRC:DEST, tmp DEST,
 * overlay DIR:DEST:WORK. On success fills op (caller frees with
 * mount_op_clear()). */
const char *value_mount(const char *key, const char *s, struct mount_op *op);
void mount_op_clear(struct mount_op *op);
/* DEV:NAME, veth:OUTSIDE:INSIDE (OUTSIDE may be auto), macvlan:MASTER:NAME,
 * ipvlan:MASTER:NAME. */
const char *value_netif(const char *s, struct netif_op *op);
void netif_op_clear(struct netif_op *op);
/* IF:ADDRESS/PREFIX, IPv4 or IPv6. */
const char *value_addr(const char *s, struct addr_op *op);

#endif

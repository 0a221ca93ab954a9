/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_PROFILE_H
#define NSBOX_PROFILE_H

#include <stddef.h>

#include "err.h"
#include "plan.h"

/* Refuse files (and their directories) that are not owned by root or are
 * writable by group or others: used when nsbox runs as root, as doas does. */
#define PROFILE_TRUST 1u

/* Profiles larger than this are refused. */
#define PROFILE_MAX_SIZE  (1024 * 1024)
/* Includes nested deeper than this are refused. */
#define PROFILE_MAX_DEPTH 16

/* The directories searched for NAME.conf, in order (NULL-terminated). */
char **profile_search_path(void);

/* Load a profile by name (searched) or by path (a name with a '/') into l:
 * its includes first, depth-first, then its own settings. origin says who
 * asked for it, for messages ("command line"). Every problem is added to d;
 * returns the number added. */
size_t profile_load(const char *name, const char *origin, unsigned flags, struct layer *l,
		    struct diag *d);

struct profile_info {
	char *name, *path;
	char *shadowed_by; /* path of the profile of the same name found first */
};

/* Every profile in the search path, in search order. */
size_t profile_list(struct profile_info **out);
void profile_list_free(struct profile_info *v, size_t n);

#endif

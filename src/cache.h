/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_CACHE_H
#define NSBOX_CACHE_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "userns.h"

/*
 * The root cache: each tarball is extracted once into CACHE/roots/KEY/tree,
 * where KEY is the SHA-256 of the tarball's bytes (plus a digest of the id
 * map when the tree was made in a user namespace). CACHE/roots/index maps
 * a tarball's identity on disk (device, inode, size, mtime, ctime) to its
 * KEY, so that a warm start reads no tarball byte. Extractions happen in
 * CACHE/roots/tmp under a lock per tarball and are renamed into place
 * complete; a run holds a shared lock on its entry, which prune respects.
 */

struct cache_ref {
	int entryfd; /* CACHE/roots/KEY, locked shared while the run lasts */
	char *tree;  /* CACHE/roots/KEY/tree */
	char key[80];
};
#define CACHE_REF_INIT                                                                             \
	{                                                                                          \
		.entryfd = -1                                                                      \
	}

/* NSBOX_CACHE_DIR; else /var/cache/nsbox for root, and for another user
 * $XDG_CACHE_HOME/nsbox or ~/.cache/nsbox. */
char *cache_dir(void);

/* Find or make the cached tree of a tarball. m: the maps of the user
 * namespace the run uses (the tree is made in one like it), or NULL.
 * origin names the profile line, for messages. A signal that stops nsbox
 * while it waits or extracts is stored in *sig. */
int cache_root(const char *tarball, const char *origin, const struct idmaps *m,
	       struct cache_ref *ref, int *sig, struct nsbox_err *err);
void cache_ref_release(struct cache_ref *ref);

/* nsbox cache list: one line per entry; CACHE/layers holds nsbox-debuild's
 * build-dependency layers, in the same shape (KEY/tree, KEY/info with a
 * base= line naming the root entry they were made on). */
int cache_list(FILE *out, struct nsbox_err *err);

/* nsbox cache prune: remove entries not in use whose tarball is gone or
 * changed, or that were last used more than days ago (all: every entry
 * not in use), and what killed extractions left. With dry_run, only say.
 * Returns the number of entries removed (or that would be). */
int cache_prune(unsigned days, bool all, bool dry_run, struct nsbox_err *err);

/* nsbox cache id: the SHA-256 of a tarball's bytes, from the cache's index
 * when it has the tarball, else by reading it. */
int cache_id(const char *tarball, char out[65], struct nsbox_err *err);

#endif

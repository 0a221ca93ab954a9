/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_TARBALL_H
#define NSBOX_TARBALL_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct tarball_stats {
	uint64_t in;       /* bytes of the file */
	uint64_t out;      /* bytes of file data written */
	uint64_t entries;  /* entries extracted */
	uint64_t devices;  /* device nodes skipped */
	uint64_t warnings; /* entries libarchive could not restore fully */
	double seconds;
};

/* Why an entry's path (or a hard link's target) may not be extracted:
 * "path is absolute", "path contains '..'", or NULL when it may. */
const char *tarball_check_path(const char *path);

/* The compression a file starts with ("gzip", "bzip2", "xz", "zstd",
 * "lz4"), or NULL: none, or none that nsbox reads. */
const char *tarball_compression(const unsigned char *head, size_t n);

/* Extract the tar archive in fd into the current directory, keeping
 * numeric owners, modes, times, xattrs (but overlayfs's), ACLs and file
 * capabilities; device nodes are skipped. digest gets the SHA-256 of all
 * the file's bytes. label names the tarball in progress lines (on a tty:
 * a running count; otherwise a line at the start and one at the end).
 * Decompresses in a second thread: call it in a process of its own.
 * Errors name the entry, for instance "entry '../x': path contains '..'". */
int tarball_extract(int fd, const char *label, unsigned char digest[32], struct tarball_stats *st,
		    struct nsbox_err *err);

#endif

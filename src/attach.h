/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_ATTACH_H
#define NSBOX_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* A detached container's terminal: the master of its pty, always read so
 * the container never blocks; the last output kept in a ring; and a unix
 * socket through which one client at a time (nsbox attach), of the same
 * uid or root, sees the ring and then the live output, and types. A NUL
 * byte (Ctrl-@) from the client detaches it. */
#define ATTACH_RING 65536

struct attach_server {
	int master, listen, client;
	char *ring;        /* ATTACH_RING bytes, from attach_server_init to attach_server_done */
	size_t used, head; /* bytes in the ring; where the next one goes */
};

int attach_server_init(struct attach_server *h, int master, const char *path,
		       struct nsbox_err *err);
size_t attach_server_pollfds(struct attach_server *h, struct pollfd *pfd);
/* Returns -1 once the container side hung up. */
int attach_server_handle(struct attach_server *h, const struct pollfd *pfd, size_t n);
void attach_server_done(struct attach_server *h);

/* The client: connect to path, check that the server is pid server as uid
 * server_uid, and relay the caller's terminal until the server closes. */
int attach_client(const char *path, int server, unsigned server_uid, struct nsbox_err *err);

#endif

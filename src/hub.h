/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_HUB_H
#define NSBOX_HUB_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* A detached container's terminal: the master of its pty, always read so
 * the container never blocks; the last output kept in a ring; and a unix
 * socket through which one client at a time (nsbox attach), of the same
 * uid or root, sees the ring and then the live output, and types. A NUL
 * byte (Ctrl-@) from the client detaches it. */
#define HUB_RING 65536

struct hub {
	int master, listen, client;
	char *ring;        /* HUB_RING bytes, from hub_init to hub_done */
	size_t used, head; /* bytes in the ring; where the next one goes */
};

int hub_init(struct hub *h, int master, const char *path, struct nsbox_err *err);
size_t hub_pollfds(struct hub *h, struct pollfd *pfd);
/* Returns -1 once the container side hung up. */
int hub_handle(struct hub *h, const struct pollfd *pfd, size_t n);
void hub_done(struct hub *h);

/* The client: connect to path, check that the server is pid server as uid
 * server_uid, and relay the caller's terminal until the server closes. */
int hub_attach(const char *path, int server, unsigned server_uid, struct nsbox_err *err);

#endif

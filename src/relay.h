/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_RELAY_H
#define NSBOX_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

/* The relay between the caller's terminal (in, out) and the master of the
 * container's pty. The master is non-blocking; input waiting for the
 * container is buffered so a container that does not read can never stop
 * nsbox from draining its output. */
struct relay {
	int in, out, master;
	bool in_eof;
	char buf[4096];
	size_t len, off;
	struct termios saved;
	bool raw;
};

void relay_init(struct relay *r, int in, int out, int master);
/* Put the caller's terminal in raw mode (restored by relay_done). */
void relay_raw(struct relay *r);
/* Fill up to 2 pollfds; returns how many. */
size_t relay_pollfds(struct relay *r, struct pollfd *pfd);
/* Handle what poll found; returns -1 when the container side hung up. */
int relay_handle(struct relay *r, const struct pollfd *pfd, size_t n);
/* Copy the caller's window size to the pty. */
void relay_winsize(struct relay *r);
/* Read what is left in the pty until the container side is closed, then
 * restore the terminal and close the master. */
void relay_done(struct relay *r);

#endif

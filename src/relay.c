/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "relay.h"

void
relay_init(struct relay *r, int in, int out, int master)
{
	*r = (struct relay){.in = in, .out = out, .master = master};
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	relay_winsize(r);
}

void
relay_raw(struct relay *r)
{
	struct termios t;

	if (!isatty(r->in) || tcgetattr(r->in, &r->saved) < 0)
		return;
	t = r->saved;
	cfmakeraw(&t);
	if (tcsetattr(r->in, TCSANOW, &t) == 0)
		r->raw = true;
}

void
relay_winsize(struct relay *r)
{
	struct winsize ws;

	if (ioctl(r->in, TIOCGWINSZ, &ws) == 0 || ioctl(r->out, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

size_t
relay_pollfds(struct relay *r, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){.fd = r->master,
				   .events = (short)(POLLIN | (r->len ? POLLOUT : 0))};
	if (!r->in_eof && !r->len)
		pfd[n++] = (struct pollfd){.fd = r->in, .events = POLLIN};
	return n;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy what the container wrote to the caller; -1 when it hung up. */
static int
pump_out(struct relay *r)
{
	char b[16384];

	for (;;) {
		ssize_t n = read(r->master, b, sizeof(b));

		if (n > 0) {
			/* A caller that stopped reading loses the output, not the run. */
			write_all(r->out, b, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN ? 0 : -1;
	}
}

int
relay_handle(struct relay *r, const struct pollfd *pfd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == r->master) {
			if (pfd[i].revents & POLLOUT) {
				ssize_t w = write(r->master, r->buf + r->off, r->len - r->off);

				if (w > 0 && (r->off += (size_t)w) == r->len)
					r->len = r->off = 0;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR) && pump_out(r) < 0)
				return -1;
		} else {
			ssize_t got = read(r->in, r->buf, sizeof(r->buf));

			if (got > 0) {
				r->len = (size_t)got;
			} else if (got == 0 || errno != EINTR) {
				/* End of input: ^D, the default end-of-file character,
				 * so a reader in canonical mode sees the end too (the
				 * master's termios are not the container's). */
				r->in_eof = true;
				r->buf[0] = 4;
				r->len = 1;
			}
		}
	}
	return 0;
}

void
relay_done(struct relay *r)
{
	if (r->master >= 0) {
		struct pollfd p = {.fd = r->master, .events = POLLIN};

		/* Until the last writer inside closed its end (EIO). */
		while (pump_out(r) == 0 && poll(&p, 1, 100) > 0)
			;
		close(r->master);
		r->master = -1;
	}
	if (r->raw)
		tcsetattr(r->in, TCSADRAIN, &r->saved);
	r->raw = false;
}

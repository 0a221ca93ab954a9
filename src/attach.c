/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "util.h"

int
attach_server_init(struct attach_server *h, int master, const char *path, struct nsbox_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	h->master = master;
	h->client = -1;
	h->used = h->head = 0;
	if (!h->ring)
		h->ring = xmalloc(ATTACH_RING);
	if (strlen(path) >= sizeof(a.sun_path))
		return nsbox_error(err, 0, "%s: path too long for a socket", path);
	strcpy(a.sun_path, path);
	h->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* in the run's own 0700 directory, and 0600 itself */
	if (h->listen < 0 || bind(h->listen, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 || listen(h->listen, 4) < 0)
		return nsbox_error(err, errno, "%s", path);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	return 0;
}

size_t
attach_server_pollfds(struct attach_server *h, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){.fd = h->master, .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = h->listen, .events = POLLIN};
	if (h->client >= 0)
		pfd[n++] = (struct pollfd){.fd = h->client, .events = POLLIN};
	return n;
}

static void
drop_client(struct attach_server *h)
{
	if (h->client >= 0)
		close(steal_fd(&h->client));
}

/* To the client, never waiting for it: a slow one loses output (the ring
 * keeps the last of it for the next attach). */
static void
to_client(struct attach_server *h, const char *p, size_t n)
{
	while (h->client >= 0 && n) {
		ssize_t w = send(h->client, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			drop_client(h);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
to_ring(struct attach_server *h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h->ring[h->head] = p[i];
		h->head = (h->head + 1) % ATTACH_RING;
	}
	h->used = h->used + n > ATTACH_RING ? ATTACH_RING : h->used + n;
}

static void
accept_client(struct attach_server *h)
{
	int fd = accept4(h->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cr;
	socklen_t len = sizeof(cr);
	size_t start;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (cr.uid != geteuid() && cr.uid != 0)) {
		close(fd);
		return;
	}
	if (h->client >= 0) {
		static const char busy[] = "nsbox: someone else is attached\r\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* it learns from the close */
		}
		close(fd);
		return;
	}
	h->client = fd;
	/* what it missed, oldest first */
	start = (h->head + ATTACH_RING - h->used) % ATTACH_RING;
	if (start + h->used <= ATTACH_RING) {
		to_client(h, h->ring + start, h->used);
	} else {
		to_client(h, h->ring + start, ATTACH_RING - start);
		to_client(h, h->ring, h->used - (ATTACH_RING - start));
	}
}

int
attach_server_handle(struct attach_server *h, const struct pollfd *pfd, size_t n)
{
	char buf[4096];
	ssize_t r;

	for (size_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == h->master) {
			r = read(h->master, buf, sizeof(buf));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				return -1; /* EIO: the container's side is closed */
			to_ring(h, buf, (size_t)r);
			to_client(h, buf, (size_t)r);
		} else if (pfd[i].fd == h->listen) {
			accept_client(h);
		} else if (pfd[i].fd == h->client) {
			char *nul;

			r = read(h->client, buf, sizeof(buf));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				drop_client(h);
				continue;
			}
			/* Ctrl-@ detaches: only from an attached client */
			nul = memchr(buf, '\0', (size_t)r);
			if (write(h->master, buf, nul ? (size_t)(nul - buf) : (size_t)r) < 0 &&
			    errno != EAGAIN)
				return -1;
			if (nul)
				drop_client(h);
		}
	}
	return 0;
}

void
attach_server_done(struct attach_server *h)
{
	drop_client(h);
	if (h->listen >= 0)
		close(steal_fd(&h->listen));
	free(h->ring);
	h->ring = NULL;
}

int
attach_client(const char *path, int server, unsigned server_uid, struct nsbox_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct termios saved, raw;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0, in_eof = false, detached = false;
	char buf[4096];

	if (strlen(path) >= sizeof(a.sun_path))
		return nsbox_error(err, 0, "%s: path too long", path);
	strcpy(a.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return nsbox_error(err, errno, "attach: %s", path);
	/* a socket someone else put there is not the container's */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid != server ||
	    cr.uid != server_uid)
		return nsbox_error(err, 0, "attach: %s is not served by the container's nsbox",
				   path);
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = STDIN_FILENO, .events = POLLIN}};
		ssize_t r;

		if (poll(p, in_eof ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			r = read(fd, buf, sizeof(buf));
			if (r <= 0)
				break;
			if (write(STDOUT_FILENO, buf, (size_t)r) < 0)
				break;
		}
		if (!in_eof && p[1].revents) {
			r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r <= 0) {
				in_eof = true; /* keep watching until detached or the end */
				continue;
			}
			if (memchr(buf, '\0', (size_t)r))
				detached = true;
			if (write(fd, buf, (size_t)r) < 0)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (detached)
		fprintf(stderr, "%snsbox: detached\n", tty ? "\r\n" : "");
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_NETIF_H
#define NSBOX_NETIF_H

#include <sys/types.h>

#include "err.h"
#include "nl.h"
#include "plan.h"

/* A host device moved into the container, to go back on exit. */
struct moved_dev {
	char *orig;  /* its name on the host */
	int ifindex; /* its index inside */
};

struct netif_state {
	int hostns, netns; /* fds of the host's and the container's netns */
	struct nl host, cont;
	struct moved_dev *moved;
	size_t n_moved, cap_moved;
	char **veths; /* host ends of the veth pairs made */
};

#define NETIF_STATE_INIT                                                                           \
	{                                                                                          \
		.hostns = -1, .netns = -1                                                          \
	}

/* Give the network namespace of pid its interfaces, addresses and route,
 * from the host side, before the container runs. Virtual interfaces are
 * made with their container end already inside, so nothing nsbox creates
 * outlives the namespace. id names automatic veth ends. */
int netif_setup(const struct plan_net *n, pid_t pid, const char *id, struct netif_state *st,
		struct nsbox_err *err);
/* Move host devices back under their own names, then let go of the
 * namespace (its virtual interfaces go with it). */
void netif_teardown(struct netif_state *st);

#endif

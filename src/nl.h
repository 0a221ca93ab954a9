/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_NL_H
#define NSBOX_NL_H

#include <stdbool.h>

#include "err.h"

struct mnl_socket;

/* An rtnetlink socket, bound to the network namespace it was opened in,
 * with extended acks: the kernel's own reason ends up in error messages. */
struct nl {
	struct mnl_socket *s;
	unsigned seq, portid;
};

int nl_open(struct nl *nl, struct nsbox_err *err);
void nl_close(struct nl *nl);

/* The index of interface name, 0 if there is none (errno ENODEV). */
int nl_ifindex(struct nl *nl, const char *name, struct nsbox_err *err);
/* Delete an interface. */
int nl_link_del(struct nl *nl, int ifindex, struct nsbox_err *err);
/* Set an interface up. */
int nl_link_up(struct nl *nl, int ifindex, struct nsbox_err *err);
/* Move interface ifindex into the network namespace netns_fd as newname. */
int nl_link_move(struct nl *nl, int ifindex, int netns_fd, const char *newname,
		 struct nsbox_err *err);
/* A veth pair: outside here, inside in netns_fd (NLM_F_EXCL: an existing
 * name is an error, never taken over). */
int nl_veth(struct nl *nl, const char *outside, const char *inside, int netns_fd,
	    struct nsbox_err *err);
/* A macvlan (bridge mode) or ipvlan (L2) on master, made directly in
 * netns_fd as name. */
int nl_vlan(struct nl *nl, const char *kind, int master, const char *name, int netns_fd,
	    struct nsbox_err *err);
/* Add family (AF_INET or AF_INET6) address addr/prefix to ifindex. */
int nl_addr(struct nl *nl, int ifindex, int family, const unsigned char *addr, unsigned prefix,
	    struct nsbox_err *err);
/* A default route through gateway. */
int nl_gateway(struct nl *nl, int family, const unsigned char *gw, struct nsbox_err *err);

/* Bring the loopback interface of the current network namespace up. */
int nl_lo_up(struct nsbox_err *err);

#endif

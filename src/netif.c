/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netif.h"
#include "util.h"

static const char *const kinds[] = {"move", "veth", "macvlan", "ipvlan"};

/* A socket in the container's namespace: made there, used from here. */
static int
open_inside(struct netif_state *st, struct nsbox_err *err)
{
	int rc;

	if (setns(st->netns, CLONE_NEWNET) < 0)
		return nsbox_error(err, errno, "enter the container's network namespace");
	rc = nl_open(&st->cont, err);
	if (setns(st->hostns, CLONE_NEWNET) < 0) {
		/* nsbox must not go on in the wrong namespace. */
		perror("nsbox: netif: back to the host's network namespace");
		abort();
	}
	return rc;
}

static int
host_index(struct netif_state *st, const struct netif_op *op, const char *role,
	   struct nsbox_err *err)
{
	int idx = nl_ifindex(&st->host, op->dev, err);

	if (idx == 0)
		return nsbox_error_at(err, op->origin, "network.netif: no host interface '%s'%s",
				      op->dev, role);
	return idx;
}

static int
add_netif(const struct netif_op *op, size_t i, const char *id, struct netif_state *st,
	  struct nsbox_err *err)
{
	char outside[IFNAMSIZ];
	int idx;

	switch (op->kind) {
	case NETIF_MOVE:
		if ((idx = host_index(st, op, "", err)) <= 0 ||
		    nl_link_move(&st->host, idx, st->netns, op->name, err) < 0)
			return -1;
		xgrow(&st->moved, &st->cap_moved, st->n_moved + 1, sizeof(*st->moved));
		st->moved[st->n_moved].orig = xstrdup(op->dev);
		st->moved[st->n_moved++].ifindex = nl_ifindex(&st->cont, op->name, err);
		break;
	case NETIF_VETH:
		if (op->dev)
			snprintf(outside, sizeof(outside), "%s", op->dev);
		else
			snprintf(outside, sizeof(outside), "nsb%.8s%u", id, (unsigned)(i % 100));
		if (nl_veth(&st->host, outside, op->name, st->netns, err) < 0) {
			if (errno == EEXIST)
				return nsbox_error_at(err, op->origin,
						      "network.netif: host interface '%s' already "
						      "exists",
						      outside);
			return -1;
		}
		strv_push(&st->veths, outside);
		if ((idx = nl_ifindex(&st->host, outside, err)) <= 0 ||
		    nl_link_up(&st->host, idx, err) < 0)
			return -1;
		break;
	case NETIF_MACVLAN:
	case NETIF_IPVLAN:
		if ((idx = host_index(st, op, " (the master)", err)) <= 0)
			return -1;
		if (nl_vlan(&st->host, kinds[op->kind], idx, op->name, st->netns, err) < 0) {
			if (errno == EOPNOTSUPP)
				return nsbox_error_at(err, op->origin,
						      "network.netif: this kernel lacks the %s "
						      "interface type",
						      kinds[op->kind]);
			return -1;
		}
		break;
	}
	idx = nl_ifindex(&st->cont, op->name, err);
	return idx > 0 ? nl_link_up(&st->cont, idx, err) : -1;
}

static int
add_addr(struct nl *nl, const struct addr_op *a, const char *key, struct nsbox_err *err)
{
	int idx = nl_ifindex(nl, a->ifname, err);

	if (idx == 0)
		return nsbox_error_at(err, a->origin, "network.%s: no interface '%s'", key,
				      a->ifname);
	if (idx < 0 || nl_addr(nl, idx, a->family, a->addr, a->prefix, err) < 0)
		return -1;
	return 0;
}

int
netif_setup(const struct plan_net *n, pid_t pid, const char *id, struct netif_state *st,
	    struct nsbox_err *err)
{
	char path[64];

	if (!n->n_netifs && !n->n_addrs && !n->n_addrs_out && !n->gateway.family)
		return 0;
	if (geteuid() != 0)
		return nsbox_error_at(err, n->n_netifs ? n->netifs[0].origin : "command line",
				      "network.netif: interfaces need root");
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	st->hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	st->netns = open(path, O_RDONLY | O_CLOEXEC);
	if (st->hostns < 0 || st->netns < 0)
		return nsbox_error(err, errno, "%s", path);
	if (nl_open(&st->host, err) < 0 || open_inside(st, err) < 0)
		return -1;
	for (size_t i = 0; i < n->n_netifs; i++) {
		if (add_netif(&n->netifs[i], i, id, st, err) < 0) {
			char where[300];

			snprintf(where, sizeof(where), "%s: network.netif: %s %s",
				 n->netifs[i].origin, kinds[n->netifs[i].kind], n->netifs[i].name);
			nsbox_error_locate(err, where);
			return -1;
		}
	}
	for (size_t i = 0; i < n->n_addrs; i++)
		if (add_addr(&st->cont, &n->addrs[i], "address", err) < 0)
			return -1;
	for (size_t i = 0; i < n->n_addrs_out; i++)
		if (add_addr(&st->host, &n->addrs_out[i], "address-outside", err) < 0)
			return -1;
	if (n->gateway.family &&
	    nl_gateway(&st->cont, n->gateway.family, n->gateway.addr, err) < 0) {
		char where[300];

		snprintf(where, sizeof(where), "%s: network.gateway", n->gateway.origin);
		nsbox_error_locate(err, where);
		return -1;
	}
	return 0;
}

void
netif_teardown(struct netif_state *st)
{
	struct nsbox_err err = {0};

	for (size_t i = 0; i < st->n_moved; i++) {
		if (st->cont.s && st->moved[i].ifindex > 0 &&
		    nl_link_move(&st->cont, st->moved[i].ifindex, st->hostns, st->moved[i].orig,
				 &err) < 0)
			fprintf(stderr, "nsbox: netif: could not move %s back: %s\n",
				st->moved[i].orig, err.msg);
		free(st->moved[i].orig);
	}
	free(st->moved);
	st->moved = NULL;
	/* The kernel would remove the pairs with the namespace, but later, in
	 * the background: delete the host ends now, so they are gone when
	 * nsbox exits. */
	for (size_t i = 0; st->veths && st->veths[i]; i++) {
		int idx = nl_ifindex(&st->host, st->veths[i], &err);

		if (idx > 0)
			nl_link_del(&st->host, idx, &err);
	}
	strv_free(st->veths);
	st->veths = NULL;
	st->n_moved = st->cap_moved = 0;
	nl_close(&st->cont);
	nl_close(&st->host);
	if (st->netns >= 0)
		close(st->netns);
	if (st->hostns >= 0)
		close(st->hostns);
	st->netns = st->hostns = -1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

int
nl_open(struct nl *nl, struct nsbox_err *err)
{
	int one = 1;

	nl->s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->s || mnl_socket_bind(nl->s, 0, MNL_SOCKET_AUTOPID) < 0) {
		nl_close(nl);
		return nsbox_error(err, errno, "netlink socket");
	}
	/* Best effort: without it, errors only lack the kernel's text. */
	mnl_socket_setsockopt(nl->s, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->s);
	nl->seq = (unsigned)time(NULL);
	return 0;
}

void
nl_close(struct nl *nl)
{
	if (nl->s)
		mnl_socket_close(nl->s);
	nl->s = NULL;
}

/* The text of an extended ack, if the kernel sent one. */
static const char *
extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e), len = mnl_nlmsg_get_payload_len(nlh);
	const struct nlattr *attr;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	off = MNL_ALIGN(off);
	if (off >= len)
		return NULL;
	attr = (const struct nlattr *)((const char *)e + off);
	for (int left = (int)(len - off); mnl_attr_ok(attr, left);
	     left -= (int)MNL_ALIGN(attr->nla_len), attr = mnl_attr_next(attr))
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	return NULL;
}

/* Send one request and read until its ack. With ifindex, also take the
 * index out of an RTM_NEWLINK answer (RTM_GETLINK). On a negative ack,
 * errno is the kernel's and err says what failed and why. */
static int
talk(struct nl *nl, struct nlmsghdr *nlh, int *ifindex, const char *what, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned seq = ++nl->seq;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl->s, nlh, nlh->nlmsg_len) < 0)
		return nsbox_error(err, errno, "%s: netlink send", what);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->s, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0)
			return nsbox_error(err, errno, "%s: netlink receive", what);
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != nl->portid)
				continue; /* not ours: a stale answer */
			if (m->nlmsg_type == RTM_NEWLINK && ifindex) {
				const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(m);

				*ifindex = ifi->ifi_index;
			} else if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				const char *why;

				if (!e->error)
					return 0;
				why = extack_msg(m);
				errno = -e->error;
				if (why)
					return nsbox_error(err, 0, "%s: %s (%s)", what,
							   strerror(-e->error), why);
				return nsbox_error(err, -e->error, "%s", what);
			} else if (m->nlmsg_type == NLMSG_DONE) {
				return 0;
			}
		}
	}
}

static struct ifinfomsg *
link_msg(char *buf, int type, unsigned flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = (unsigned short)type;
	nlh->nlmsg_flags = (unsigned short)flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

int
nl_ifindex(struct nl *nl, const char *name, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int idx = 0;

	link_msg(buf, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (talk(nl, nlh, &idx, name, err) < 0)
		return errno == ENODEV ? (errno = ENODEV, 0) : -1;
	return idx;
}

int
nl_link_up(struct nl *nl, int ifindex, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi = link_msg(buf, RTM_NEWLINK, 0, ifindex);

	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	return talk(nl, (struct nlmsghdr *)buf, NULL, "set up", err);
}

int
nl_link_del(struct nl *nl, int ifindex, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	link_msg(buf, RTM_DELLINK, 0, ifindex);
	return talk(nl, (struct nlmsghdr *)buf, NULL, "delete", err);
}

int
nl_link_move(struct nl *nl, int ifindex, int netns_fd, const char *newname, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	link_msg(buf, RTM_NEWLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	return talk(nl, nlh, NULL, "move", err);
}

int
nl_veth(struct nl *nl, const char *outside, const char *inside, int netns_fd, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *info, *data, *peer;
	struct ifinfomsg *pifi;

	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, outside);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	pifi = (struct ifinfomsg *)mnl_nlmsg_get_payload_tail(nlh);
	memset(pifi, 0, sizeof(*pifi));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, inside);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(nl, nlh, NULL, "create veth", err);
}

int
nl_vlan(struct nl *nl, const char *kind, int master, const char *name, int netns_fd,
	struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *info, *data;
	bool macvlan = strcmp(kind, "macvlan") == 0;

	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)master);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (macvlan)
		mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	else
		mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, IPVLAN_MODE_L2);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(nl, nlh, NULL, macvlan ? "create macvlan" : "create ipvlan", err);
}

int
nl_addr(struct nl *nl, int ifindex, int family, const unsigned char *addr, unsigned prefix,
	struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t len = family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)ifindex;
	/* No duplicate address detection: the address is usable at once. */
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	return talk(nl, nlh, NULL, "add address", err);
}

int
nl_gateway(struct nl *nl, int family, const unsigned char *gw, struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (unsigned char)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gw);
	return talk(nl, nlh, NULL, "add default route", err);
}

int
nl_lo_up(struct nsbox_err *err)
{
	struct nl nl = {0};
	int idx, rc;

	if (nl_open(&nl, err) < 0)
		return -1;
	idx = nl_ifindex(&nl, "lo", err);
	rc = idx > 0 ? nl_link_up(&nl, idx, err) : idx == 0 ? nsbox_error(err, ENODEV, "lo") : -1;
	nl_close(&nl);
	return rc;
}

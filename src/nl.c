/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <time.h>

#include "nl.h"

int
nl_lo_up(struct nsbox_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int rc = -1;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)if_nametoindex("lo");
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (ifi->ifi_index == 0)
		return nsbox_error(err, errno, "lo");
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		nsbox_error(err, errno, "netlink socket");
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		nsbox_error(err, errno, "netlink send");
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0) {
		nsbox_error(err, errno, "lo up");
		goto out;
	}
	rc = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

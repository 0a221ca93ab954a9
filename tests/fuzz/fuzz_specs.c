/* SPDX-License-Identifier: BSD-2-Clause */
/* The spec parsers, each on the same string: mount, netif, address, map,
 * size, cpu, rlimit, capability, address, hostname, tarball paths. */
#include "fuzz.h"
#include "idmap.h"
#include "value.h"
#include "tarball.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mounts[] = {"bind", "bind-ro", "tmp", "overlay"};
	char *s = fuzz_string(data, size);
	struct mount_op m;
	struct netif_op n;
	struct addr_op a;
	struct idmap map;
	uint64_t u, soft, hard;
	unsigned milli;
	int cap, fam;
	unsigned char addr[16];
	bool b;
	enum tristate t;

	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		memset(&m, 0, sizeof(m));
		if (!value_mount(mounts[i], s, &m))
			mount_op_clear(&m);
	}
	memset(&n, 0, sizeof(n));
	if (!value_netif(s, &n))
		netif_op_clear(&n);
	memset(&a, 0, sizeof(a));
	if (!value_addr(s, &a))
		free(a.ifname);
	idmap_parse(s, &map);
	value_size(s, true, &u);
	value_uint(s, 1, 4194304, &u);
	value_cpu(s, &milli);
	value_rlimit(s, true, &soft, &hard);
	value_cap(s, &cap);
	value_ipaddr(s, &fam, addr);
	value_hostname(s);
	value_ifname(s);
	value_envkey(s);
	value_abspath(s);
	value_bool(s, &b);
	value_tristate(s, &t);
	tarball_check_path(s);
	tarball_compression(data, size);
	free(s);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* The spec parsers, each on the same string: mount, netif, address, map,
 * size, cpu, rlimit, capability, address, hostname, tarball paths. */
#include "fuzz.h"
#include "idmap.h"
#include "spec.h"
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
		if (!spec_mount(mounts[i], s, &m))
			mount_op_clear(&m);
	}
	memset(&n, 0, sizeof(n));
	if (!spec_netif(s, &n))
		netif_op_clear(&n);
	memset(&a, 0, sizeof(a));
	if (!spec_addr(s, &a))
		free(a.ifname);
	idmap_parse(s, &map);
	spec_size(s, true, &u);
	spec_uint(s, 1, 4194304, &u);
	spec_cpu(s, &milli);
	spec_rlimit(s, true, &soft, &hard);
	spec_cap(s, &cap);
	spec_ipaddr(s, &fam, addr);
	spec_hostname(s);
	spec_ifname(s);
	spec_envkey(s);
	spec_abspath(s);
	spec_bool(s, &b);
	spec_tristate(s, &t);
	tarball_check_path(s);
	tarball_compression(data, size);
	free(s);
	return 0;
}

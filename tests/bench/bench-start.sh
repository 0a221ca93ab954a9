#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Start-to-exit of /bin/true in a busybox root: nsbox against unshare(1),
# bubblewrap and systemd-nspawn with the same namespaces, schroot (a
# directory chroot, profile minimal: no namespaces), plain /bin/true
# as the floor; a veth pair per run against the same pair made and
# removed with ip, in one namespace and with the peer in a new one (what
# nsbox does); the peak RSS of each case. Rounds interleaved; medians and
# ratios. Reports; never fails on a number. Needs root.
#
# NSBOX_BENCH_RUNS  runs per case, each round every case once (default 40)
# NSBOX_BENCH_OUT   where the TSV goes (default tests/bench/out)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/cases.sh
. "$TOP/tests/bench/cases.sh"
NSBOX="$TOP/nsbox"
RUNS=${NSBOX_BENCH_RUNS:-40}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
[ "$(id -u)" -eq 0 ] || { echo "bench-start: needs root" >&2; exit 1; }
# The veth cases must not touch the machine's own namespace. Before
# anything is made: exec would drop the trap that removes it.
if [ "${NSBOX_BENCH_IN_NETNS:-}" != 1 ]; then
	NSBOX_BENCH_IN_NETNS=1 exec /usr/bin/unshare -n sh "$0" "$@"
fi
W=$(mktemp -d /tmp/nsbox-bench-start.XXXXXX)
SCH=/etc/schroot/chroot.d/nsbox-bench-$$
trap 'rm -rf "$W"; rm -f "$SCH"; ip netns del "nsbox-bench-$$" 2>/dev/null || :' EXIT
mkdir -p "$OUT"
chmod 755 "$W" # the mapped root of the user-namespace case reaches it
R="$W/root"
sh "$TOP/tests/fixtures/mkroot.sh" "$R"
ln -sf busybox "$R/bin/true"
# systemd-nspawn wants to see an OS tree
mkdir -p "$R/usr/lib"; printf 'ID=busybox\nNAME=busybox\n' >"$R/usr/lib/os-release"

have() { command -v "$1" >/dev/null 2>&1; }
add() { case_add "$W/cases" "$@"; }
: >"$W/cases"
add floor /bin/true
add unshare /usr/bin/unshare -mpiu -f --mount-proc -R "$R" /bin/true
add unshare_net /usr/bin/unshare -mpiun -f --mount-proc -R "$R" /bin/true
# the issue's own command: -U and -r, a user namespace mapping root
add unshare_userns /usr/bin/unshare -Urmpiu -f --mount-proc -R "$R" /bin/true
add nsbox "$NSBOX" run --chroot="$R" --no-netns -- /bin/true
add nsbox_net "$NSBOX" run --chroot="$R" -- /bin/true
add nsbox_userns "$NSBOX" run --chroot="$R" --no-netns --set user.userns=yes -- /bin/true
# what bwrap --unshare-all makes as root: user, mount, pid, ipc, uts, net
# and cgroup namespaces
add nsbox_all "$NSBOX" run --chroot="$R" --set user.userns=yes -- /bin/true
have bwrap && add bwrap /usr/bin/bwrap --unshare-all --bind "$R" / --proc /proc --dev /dev /bin/true
have systemd-nspawn && add nspawn "$(command -v systemd-nspawn)" --register=no --keep-unit -q -D "$R" /bin/true
if have schroot && [ -d /etc/schroot/chroot.d ]; then
	printf '[nsbox-bench-%s]\ntype=directory\ndirectory=%s\nusers=root\nroot-users=root\nprofile=minimal\n' \
		$$ "$R" >"$SCH"
	add schroot /usr/bin/schroot -d / -c "nsbox-bench-$$" -- /bin/true
fi
# a veth pair per run; run inside a network namespace of the bench's own
add veth_ip /bin/sh -c 'ip link add nsbb0 type veth peer name nsbb1 && ip link del nsbb0'
# the kernel's side of nsbox's veth: the peer made in a new namespace, the
# pair deleted, the namespace let go; less the namespace alone
NS=nsbox-bench-$$
add netns_ip /bin/sh -c "ip netns add $NS && ip netns del $NS"
add veth_ip_netns /bin/sh -c "ip netns add $NS && ip link add nsbb0 type veth peer name eth0 netns $NS && ip link del nsbb0 && ip netns del $NS"
add veth_nsbox "$NSBOX" run --chroot="$R" --netif=veth:auto:eth0 -- /bin/true

# Every case once a round, RUNS rounds: spawn to reaped, measured by
# spawn-time (no shell, no date(1) in the number; until this pass each
# number had a fork and exec of date in it, some 1 ms on this VM, which
# brought every ratio closer to 1).
"$SPAWN_TIME" "$RUNS" "$W/cases" >"$W/times"

tsv="$OUT/start.tsv"
cat >"$W/ratios.awk" <<'EOF'
END {
	table()
	printf "\nnsbox / unshare, mount+pid+ipc+uts:      %.2f (target <= 1.2)\n", m["nsbox"] / m["unshare"]
	printf "nsbox / unshare, the same and net:       %.2f\n", m["nsbox_net"] / m["unshare_net"]
	printf "nsbox / unshare -Ur, the same and user:  %.2f\n", m["nsbox_userns"] / m["unshare_userns"]
	if ("bwrap" in m) printf "nsbox / bwrap --unshare-all, same namespaces: %.2f (target < 1)\n", m["nsbox_all"] / m["bwrap"]
	if ("nspawn" in m) printf "nsbox / systemd-nspawn:                  %.2f\n", m["nsbox_net"] / m["nspawn"]
	if ("schroot" in m) printf "nsbox / schroot (no namespaces):         %.2f\n", m["nsbox"] / m["schroot"]
	printf "veth per run: nsbox %d us more than a run without; ip link add+del %d us (through sh -c),\n", m["veth_nsbox"] - m["nsbox_net"], m["veth_ip"]
	printf "  with the peer in a new namespace %d us more than the namespace alone (target: nsbox <= that)\n", m["veth_ip_netns"] - m["netns_ip"]
	printf "peak RSS, the largest process of an nsbox run: %d KB (%d KB with a veth; target under 4096)\n", rss["nsbox_net"], rss["veth_nsbox"]
}
EOF
awk -v tsv="$tsv" -f "$TOP/tests/bench/table.awk" -f "$W/ratios.awk" "$W/times"
echo "(written to $tsv)"

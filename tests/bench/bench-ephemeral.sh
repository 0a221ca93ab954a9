#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# An ephemeral overlay root, start to exit of /bin/true: nsbox --ephemeral
# on the busybox fixture and on a Debian root of some 450 MB (the sid
# buildd root of bench-tarball.sh, unpacked once), against
# systemd-nspawn --volatile=overlay and --ephemeral on the same roots.
# nsbox should be flat in the root's size. Rounds interleaved; medians.
# Reports; never fails on a number. Needs root.
#
# NSBOX_BENCH_RUNS     runs per case are twice this (default 10; nspawn
#                      --ephemeral, which copies the tree off btrfs, 2)
# NSBOX_BENCH_TARBALL  the Debian root (default as bench-tarball.sh)
# NSBOX_BENCH_OUT      where the TSV goes (default tests/bench/out)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/cases.sh
. "$TOP/tests/bench/cases.sh"
NSBOX="$TOP/nsbox"
RUNS=${NSBOX_BENCH_RUNS:-10}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
TAR=${NSBOX_BENCH_TARBALL:-/var/tmp/nsbox-bench-sid.tar.zst}
[ "$(id -u)" -eq 0 ] || { echo "bench-ephemeral: needs root" >&2; exit 1; }
if [ ! -s "$TAR" ]; then
	echo "bench-ephemeral: making $TAR with nsbox-mkroot (once)" >&2
	"$TOP/helpers/nsbox-mkroot" sid "$TAR" >/dev/null
fi
W=$(mktemp -d /var/tmp/nsbox-bench-eph.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"
small="$W/small" big="$W/big"
sh "$TOP/tests/fixtures/mkroot.sh" "$small"
ln -sf busybox "$small/bin/true"
mkdir -p "$small/usr/lib"; printf 'ID=busybox\nNAME=busybox\n' >"$small/usr/lib/os-release"
mkdir "$big"
tar --zstd -xpf "$TAR" -C "$big" --numeric-owner --xattrs --xattrs-include='*' --acls
size=$(du -sm "$big" | cut -f1)

have() { command -v "$1" >/dev/null 2>&1; }
: >"$W/cases"
: >"$W/slow"
case_add "$W/cases" nsbox_small "$NSBOX" run --chroot="$small" --ephemeral -- /bin/true
case_add "$W/cases" nsbox_big "$NSBOX" run --chroot="$big" --ephemeral -- /bin/true
if have systemd-nspawn; then
	nspawn=$(command -v systemd-nspawn)
	case_add "$W/cases" volatile_small "$nspawn" --register=no --keep-unit -q --volatile=overlay -D "$small" /bin/true
	case_add "$W/cases" volatile_big "$nspawn" --register=no --keep-unit -q --volatile=overlay -D "$big" /bin/true
	case_add "$W/slow" ephemeral_big "$nspawn" --register=no --keep-unit -q --ephemeral -D "$big" /bin/true
fi

# Every case once a round (spawn-time.c: spawn to reaped, no shell in the
# number); nspawn --ephemeral, which copies the whole tree, twice.
"$SPAWN_TIME" "$((2 * RUNS))" "$W/cases" >"$W/times"
[ -s "$W/slow" ] && "$SPAWN_TIME" 2 "$W/slow" >>"$W/times"

tsv="$OUT/ephemeral.tsv"
echo "the Debian root: $size MB, $(find "$big" | wc -l) files"
cat >"$W/ratios.awk" <<'EOF'
END {
	table()
	printf "\nnsbox --ephemeral, big / small root:     %.2f (target: flat, at most 10 ms)\n", m["nsbox_big"] / m["nsbox_small"]
	if ("volatile_big" in m) printf "nsbox / nspawn --volatile=overlay (big): %.2f\n", m["nsbox_big"] / m["volatile_big"]
	if ("ephemeral_big" in m) printf "nsbox / nspawn --ephemeral (big):        %.3f\n", m["nsbox_big"] / m["ephemeral_big"]
}
EOF
awk -v tsv="$tsv" -f "$TOP/tests/bench/table.awk" -f "$W/ratios.awk" "$W/times"
echo "(written to $tsv)"

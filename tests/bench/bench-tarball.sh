#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Tarball roots, as ratios measured in one run, rounds interleaved:
#   cold: nsbox's first run on a tarball (extraction included) against
#         bsdtar -xf and GNU tar --zstd -xf of the same tarball, with the
#         same metadata kept (numeric owners, modes, xattrs, ACLs);
#   warm: a run on the cached tree against a run on a directory root with
#         the same throw-away overlay, and against a plain directory root.
# Reports; never fails on a number. Needs root.
#
# NSBOX_BENCH_TARBALL  the tarball (default: a sid buildd root made once by
#                      helpers/nsbox-mkroot in /var/tmp)
# NSBOX_BENCH_ROUNDS   rounds (default 5)
# NSBOX_BENCH_OUT      where the TSV goes (default tests/bench/out)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/cases.sh
. "$TOP/tests/bench/cases.sh"
NSBOX="$TOP/nsbox"
ROUNDS=${NSBOX_BENCH_ROUNDS:-5}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
TAR=${NSBOX_BENCH_TARBALL:-/var/tmp/nsbox-bench-sid.tar.zst}
[ "$(id -u)" -eq 0 ] || { echo "bench-tarball: needs root" >&2; exit 1; }
for t in bsdtar tar zstd; do
	command -v "$t" >/dev/null || { echo "bench-tarball: $t is missing (make bench-deps)" >&2; exit 1; }
done
if [ ! -s "$TAR" ]; then
	echo "bench-tarball: making $TAR with nsbox-mkroot (once)" >&2
	"$TOP/helpers/nsbox-mkroot" sid "$TAR" >/dev/null
fi
# NSBOX_BENCH_DIR: where the trees go (default /var/tmp: on disk, like the cache)
W=$(mktemp -d "${NSBOX_BENCH_DIR:-/var/tmp}/nsbox-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"

now() { date +%s%N; }
# time_ms CMD...: run it, print its wall time in ms
time_ms() { t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo $(((t1 - t0) / 1000000)); }

cold_nsbox() { NSBOX_CACHE_DIR="$W/cache" "$NSBOX" run --set root.tarball="$TAR" -- true; }
cold_bsdtar() { mkdir "$W/x"; bsdtar -xpf "$TAR" -C "$W/x" --numeric-owner --xattrs --acls; }
cold_gnutar() { mkdir "$W/x"; tar --zstd -xpf "$TAR" -C "$W/x" --numeric-owner --xattrs --xattrs-include='*' --acls; }
warm() { case_add "$W/warm.cases" "$@"; }
: >"$W/warm.cases"
warm warm_tarball "$NSBOX" run --set root.tarball="$TAR" -- true
warm warm_overlay "$NSBOX" run --chroot="$W/dir" --ephemeral -- true
warm warm_dir "$NSBOX" run --chroot="$W/dir" -- true

# The warm cases' inputs: a cached tree, and the same tree as a directory.
NSBOX_CACHE_DIR="$W/warm" "$NSBOX" run --set root.tarball="$TAR" -- true 2>/dev/null
cp -a "$(echo "$W"/warm/roots/[0-9a-f]*/tree)" "$W/dir"

: >"$W/times"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for c in cold_nsbox cold_bsdtar cold_gnutar; do
		sync
		echo "$c $(time_ms "$c")" >>"$W/times"
		rm -rf "$W/cache" "$W/x"
	done
	# a few ms each: spawn-time's clock (no shell, no date(1) in the
	# number), every case once a round, in ms with a decimal
	# (the cache of warm_tarball; the other cases have none)
	NSBOX_CACHE_DIR="$W/warm" "$SPAWN_TIME" 10 "$W/warm.cases" |
		awk '{ printf "%s %.1f\n", $1, $2 / 1000 }' >>"$W/times"
	r=$((r + 1))
done

size=$(du -sm "$W/dir" | cut -f1)
files=$(find "$W/dir" | wc -l)
tsv="$OUT/tarball.tsv"
awk -v tar="$TAR" -v size="$size" -v files="$files" -v tsv="$tsv" '
function median(c,   n, i, j, t, a) {
	n = split(v[c], a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	lo[c] = a[1]; hi[c] = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ v[$1] = v[$1] " " $2 }
END {
	split("cold_nsbox cold_bsdtar cold_gnutar warm_tarball warm_overlay warm_dir", order, " ")
	printf "tarball %s: %s MB extracted, %s files\n\n", tar, size, files
	printf "%-14s %9s %13s\n", "case", "median ms", "min-max ms"
	print "case\tmedian_ms\tmin_ms\tmax_ms" > tsv
	for (i = 1; i <= 6; i++) {
		c = order[i]; m[c] = median(c)
		printf "%-14s %9s %13s\n", c, m[c], lo[c] "-" hi[c]
		printf "%s\t%s\t%s\t%s\n", c, m[c], lo[c], hi[c] > tsv
	}
	printf "\ncold: nsbox / GNU tar --zstd = %.2f (target <= 1.1)\n", m["cold_nsbox"] / m["cold_gnutar"]
	printf "cold: nsbox / bsdtar         = %.2f\n", m["cold_nsbox"] / m["cold_bsdtar"]
	printf "warm: tarball - directory with the same overlay = %+.1f ms (target: a few ms)\n", m["warm_tarball"] - m["warm_overlay"]
	printf "warm: tarball - plain directory root            = %+.1f ms\n", m["warm_tarball"] - m["warm_dir"]
}' "$W/times"
echo "(written to $tsv)"

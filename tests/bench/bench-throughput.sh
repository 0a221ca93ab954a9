#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Throughput under load: 1, 4 and 16 concurrent streams of /bin/true runs
# in the busybox fixture root for a fixed time per cell, nsbox (its
# hardened defaults) against bwrap --unshare-all and unshare(1) with the
# same namespaces (user, mount, pid, ipc, uts, net, cgroup: what
# --unshare-all makes as root). Reports runs per second and the machine's
# CPU per run, from /proc/stat (throughput.c says why not wait4's rusage),
# and the CPU of the benchmark's own cgroup per run, which the work of
# other processes on a loaded machine does not reach.
# Cells interleaved, the order rotated each round; medians over rounds.
# Reports; never fails on a number. Needs root.
#
# NSBOX_BENCH_SECONDS  seconds per cell (default 10)
# NSBOX_BENCH_ROUNDS   rounds, each every cell once (default 3)
# NSBOX_BENCH_STREAMS  concurrencies, comma-separated (default 1,4,16)
# NSBOX_BENCH_OUT      where the TSV goes (default tests/bench/out)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/cases.sh
. "$TOP/tests/bench/cases.sh"
NSBOX="$TOP/nsbox"
THROUGHPUT="$TOP/tests/bench/throughput"
SECONDS_=${NSBOX_BENCH_SECONDS:-10}
ROUNDS=${NSBOX_BENCH_ROUNDS:-3}
STREAMS=${NSBOX_BENCH_STREAMS:-1,4,16}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
[ "$(id -u)" -eq 0 ] || { echo "bench-throughput: needs root" >&2; exit 1; }
[ -x "$THROUGHPUT" ] || { echo "bench-throughput: no $THROUGHPUT (make bench builds it)" >&2; exit 1; }
W=$(mktemp -d /tmp/nsbox-bench-tp.XXXXXX)
# a cgroup of our own for the driver and all it starts: v1's cpuacct or v2
CG=
if [ -d /sys/fs/cgroup/cpuacct ]; then
	CG=/sys/fs/cgroup/cpuacct/nsbox-bench-tp-$$ CPUFILE=cpuacct.usage
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	CG=/sys/fs/cgroup/nsbox-bench-tp-$$ CPUFILE=cpu.stat
fi
trap 'rm -rf "$W"; [ -z "$CG" ] || rmdir "$CG" 2>/dev/null || :' EXIT
[ -z "$CG" ] || mkdir "$CG" 2>/dev/null || CG=
mkdir -p "$OUT"
chmod 755 "$W" # the mapped root of the user namespaces reaches it
R="$W/root"
sh "$TOP/tests/fixtures/mkroot.sh" "$R"
ln -sf busybox "$R/bin/true"

: >"$W/cases"
case_add "$W/cases" nsbox_all "$NSBOX" run --chroot="$R" --set user.userns=yes -- /bin/true
command -v bwrap >/dev/null 2>&1 &&
	case_add "$W/cases" bwrap /usr/bin/bwrap --unshare-all --bind "$R" / --proc /proc --dev /dev /bin/true
case_add "$W/cases" unshare_all /usr/bin/unshare -UrmpiunC -f --mount-proc -R "$R" /bin/true

n=$(wc -l <"$W/cases")
echo "bench-throughput: $n cases at $STREAMS streams, $SECONDS_ s a cell, $ROUNDS rounds" \
	"(about $(((n * $(echo "$STREAMS" | tr , '\n' | wc -l) * (SECONDS_ + 1) + 3) * ROUNDS)) s)" >&2
# the driver alone in the cgroup: the shell must leave it empty for rmdir
# shellcheck disable=SC2016 # expanded by that shell
CG="$CG" CPUFILE="${CPUFILE:-}" sh -c '[ -z "$CG" ] || { echo $$ >"$CG/cgroup.procs" &&
	export NSBOX_BENCH_CGROUP_CPU="$CG/$CPUFILE"; }; exec "$@"' sh \
	"$THROUGHPUT" "$SECONDS_" "$ROUNDS" "$STREAMS" "$W/cases" | tee "$W/cells" |
	awk '{ printf "  round %d %-12s x%-3d %7d runs %7.1f/s\n", $1 + 1, $2, $3, $4, $4 * 1e6 / $5 }' >&2

# CASE_xSTREAMS: runs/s, and machine CPU per run in us; medians over rounds
cat >"$W/cells.awk" <<'EOF'
$2 == "background" { bg = bg " " ($6 / $5); next }
{
	c = $2 "_x" $3
	rate[c] = rate[c] " " ($4 * 1e6 / $5)
	per[c] = per[c] " " ($6 / $4)
	if ($7 >= 0) own[c] = own[c] " " ($7 / $4)
}
function stat(s,   n, a) {
	n = sorted(s, a)
	lo_ = a[1]; hi_ = a[n]
	return mid(a, n)
}
END {
	printf "\n%-18s %10s %18s %14s %14s %12s\n", "case", "runs/s", "min-max", "CPU us/run", "min-max", "own us/run"
	print "case\tmedian_runs_s\tmin_runs_s\tmax_runs_s" > tsv
	print "case\tmedian_us\tmin_us\tmax_us" > cpu
	if (owncpu != "") print "case\tmedian_us\tmin_us\tmax_us" > owncpu
	# rows by concurrency, then in the order of the cases file
	ns = split(streams, s, ","); nn = split(names, name, " ")
	for (i = 0; i < ns * nn; i++) {
		c = name[i % nn + 1] "_x" s[int(i / nn) + 1]
		if (!(c in rate)) continue
		r[c] = stat(rate[c]); rl = lo_; rh = hi_
		u[c] = stat(per[c]); ul = lo_; uh = hi_
		o[c] = (c in own) ? stat(own[c]) : -1
		printf "%-18s %10.1f %18s %14d %14s %12s\n", c, r[c], sprintf("%.1f-%.1f", rl, rh), u[c],
			sprintf("%d-%d", ul, uh), (o[c] < 0 ? "-" : sprintf("%d", o[c]))
		printf "%s\t%.1f\t%.1f\t%.1f\n", c, r[c], rl, rh > tsv
		printf "%s\t%d\t%d\t%d\n", c, u[c], ul, uh > cpu
		if (o[c] >= 0 && owncpu != "") printf "%s\t%d\t%d\t%d\n", c, o[c], lo_, hi_ > owncpu
	}
	printf "\nbackground: the machine was %.2f CPUs busy with nothing of ours running (median of rounds)\n", stat(bg)
	for (j = 1; j <= ns; j++) {
		x = "_x" s[j]
		if (("bwrap" x) in r)
			printf "x%-3s nsbox / bwrap: throughput %.2f (goal >= 1), CPU per run %.2f (own %.2f)\n", s[j],
				r["nsbox_all" x] / r["bwrap" x], u["nsbox_all" x] / u["bwrap" x],
				(o["bwrap" x] > 0 ? o["nsbox_all" x] / o["bwrap" x] : 0)
		printf "x%-3s nsbox / unshare: throughput %.2f, CPU per run %.2f (own %.2f)\n", s[j],
			r["nsbox_all" x] / r["unshare_all" x], u["nsbox_all" x] / u["unshare_all" x],
			(o["unshare_all" x] > 0 ? o["nsbox_all" x] / o["unshare_all" x] : 0)
	}
}
EOF
rm -f "$OUT/cgroup-cpu-per-run.tsv"
awk -v tsv="$OUT/throughput.tsv" -v cpu="$OUT/cpu-per-run.tsv" -v streams="$STREAMS" \
	-v owncpu="${CG:+$OUT/cgroup-cpu-per-run.tsv}" \
	-v names="$(cut -f1 "$W/cases" | tr '\n' ' ')" \
	-f "$TOP/tests/bench/table.awk" -f "$W/cells.awk" "$W/cells"
echo "(written to $OUT/throughput.tsv, cpu-per-run.tsv${CG:+ and cgroup-cpu-per-run.tsv})"

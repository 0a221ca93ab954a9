#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The last step of make bench: every benchmark's cases in one table, and
# as one TSV and one JSON file (tests/bench/out/bench.tsv, bench.json),
# from the TSV files the benchmarks wrote. The unit of each number is in
# its column's name in those files (us, ms, s, runs_s); a benchmark that
# did not run is left out.
#
# Every row that has peers doing the same work gets a ratio against the
# best of them, as a cost: time or CPU over the best peer's, or for
# throughput the best peer's runs/s over the row's; below 1 is better than
# every peer. Which rows do the same work is the table work() below. A
# plot of the ratios goes to bench.svg when gnuplot is installed.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
set --
for b in start throughput cpu-per-run cgroup-cpu-per-run ephemeral tarball debuild debci; do
	[ -s "$OUT/$b.tsv" ] && set -- "$@" "$OUT/$b.tsv"
done
[ $# -gt 0 ] || { echo "bench summary: no results in $OUT" >&2; exit 1; }
awk -v tsv="$OUT/bench.tsv" -v json="$OUT/bench.json" '
function jstr(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
# the work a row does, its role in role[] ("nsbox" or "peer"); "" for a row
# without peers (the floor, the veth cases, which are differences)
function work(bench, c) {
	role[bench, c] = (c ~ /nsbox/) ? "nsbox" : "peer"
	if (bench ~ /throughput|cpu-per-run/) {
		# CASE_xSTREAMS: the same namespaces at the same concurrency
		sub(/.*_x/, "x", c)
		return c
	}
	if (bench == "start") {
		# by namespaces: mount+pid+ipc+uts, with net, with user, all
		if (c ~ /^(nsbox|unshare|nspawn|schroot)$/) return "mpiu"
		if (c ~ /^(nsbox|unshare)_net$/) return "mpiun"
		if (c ~ /^(nsbox|unshare)_userns$/) return "mpiuU"
		if (c ~ /^(nsbox_all|bwrap)$/) return "all"
		return ""
	}
	if (bench == "ephemeral") {
		if (c ~ /_small$/) return "small"
		if (c ~ /_big$/) return "big"
	}
	if (bench == "tarball" && c ~ /^cold_/) {
		role[bench, c] = (c == "cold_nsbox") ? "nsbox" : "peer"
		return "cold"
	}
	if (bench == "debuild") {
		# PACKAGE_TOOL: the same source package on the same base
		sub(/_.*/, "", c)
		return c
	}
	# debci: the same jobs with as many workers
	if (bench == "debci" && c ~ /_[0-9]+w$/) { sub(/.*_/, "", c); return c }
	if (bench == "autopkgtest") {
		# open_nsbox, revert_unshare_big, run_schroot: the step and the root
		w = c; sub(/_(nsbox|unshare|schroot)/, "", w)
		return w
	}
	return ""
}
FNR == 1 {
	bench = FILENAME; sub(/.*\//, "", bench); sub(/\.tsv$/, "", bench)
	# the unit is the suffix of the second column: median_us, total_s
	unit = $2; sub(/^[^_]*_/, "", unit)
	for (i = 1; i <= NF; i++) col[i] = $i
	ncol = NF
	next
}
{
	n++
	row_bench[n] = bench; row_case[n] = $1; row_unit[n] = unit; row_med[n] = $2
	row_work[n] = work(bench, $1)
	if (row_work[n] != "" && role[bench, $1] == "peer") {
		# the best peer: the most runs/s, else the least time or CPU
		k = bench SUBSEP row_work[n]
		if (!(k in best) || (unit == "runs_s" ? $2 + 0 > best[k] + 0 : $2 + 0 < best[k] + 0)) {
			best[k] = $2; best_case[k] = $1
		}
	}
	row_min[n] = (ncol >= 4 && col[3] ~ /^min/) ? $3 : "-"
	row_max[n] = (ncol >= 4 && col[4] ~ /^max/) ? $4 : "-"
	row_rss[n] = "-"
	row_extra[n] = ""
	for (i = 3; i <= ncol; i++) {
		if (col[i] == "peak_rss_kb") row_rss[n] = $i
		else if (col[i] !~ /^(min|max)_/) row_extra[n] = row_extra[n] (row_extra[n] ? " " : "") col[i] "=" $i
	}
}
END {
	printf "\n%-18s %-20s %10s %20s %6s %8s %6s %-16s %s\n", "benchmark", "case", "median", "min-max", "unit",
		"peak KB", "ratio", "best peer", "other"
	print "benchmark\tcase\tmedian\tmin\tmax\tunit\tpeak_rss_kb\tratio\tbest_peer\tother" > tsv
	printf "[" > json
	for (i = 1; i <= n; i++) {
		k = row_bench[i] SUBSEP row_work[i]
		ratio = "-"; peer = "-"
		if (row_work[i] != "" && (k in best) && best[k] + 0 > 0 && row_med[i] + 0 > 0) {
			ratio = sprintf("%.2f", row_unit[i] == "runs_s" ? best[k] / row_med[i] : row_med[i] / best[k])
			peer = best_case[k]
		}
		printf "%-18s %-20s %10s %20s %6s %8s %6s %-16s %s\n", row_bench[i], row_case[i], row_med[i],
			(row_min[i] == "-" ? "-" : row_min[i] "-" row_max[i]), row_unit[i], row_rss[i], ratio, peer,
			row_extra[i]
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row_bench[i], row_case[i], row_med[i], row_min[i],
			row_max[i], row_unit[i], row_rss[i], ratio, peer, row_extra[i] > tsv
		printf "%s\n {\"benchmark\": %s, \"case\": %s, \"median\": %s, \"min\": %s, \"max\": %s, \"unit\": %s, \"peak_rss_kb\": %s, \"ratio\": %s, \"best_peer\": %s, \"other\": %s}",
			(i > 1 ? "," : ""), jstr(row_bench[i]), jstr(row_case[i]), row_med[i],
			(row_min[i] == "-" ? "null" : row_min[i]), (row_max[i] == "-" ? "null" : row_max[i]),
			jstr(row_unit[i]), (row_rss[i] == "-" ? "null" : row_rss[i]),
			(ratio == "-" ? "null" : ratio), (peer == "-" ? "null" : jstr(peer)), jstr(row_extra[i]) > json
	}
	print "\n]" > json
}' "$@"
echo "(written to $OUT/bench.tsv and $OUT/bench.json)"
sh "$TOP/tests/bench/plot.sh" "$OUT/bench.tsv" "$OUT/bench.svg"

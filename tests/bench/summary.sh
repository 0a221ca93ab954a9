#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The last step of make bench: every benchmark's cases in one table, and
# as one TSV and one JSON file (tests/bench/out/bench.tsv, bench.json),
# from the TSV files the benchmarks wrote. The unit of each number is in
# its column's name in those files (us, ms, s); a benchmark that did not
# run is left out.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
set --
for b in start ephemeral tarball debuild; do
	[ -s "$OUT/$b.tsv" ] && set -- "$@" "$OUT/$b.tsv"
done
[ $# -gt 0 ] || { echo "bench summary: no results in $OUT" >&2; exit 1; }
awk -v tsv="$OUT/bench.tsv" -v json="$OUT/bench.json" '
function jstr(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
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
	printf "\n%-10s %-16s %12s %22s %5s %9s  %s\n", "benchmark", "case", "median", "min-max", "unit", "peak KB", "other"
	print "benchmark\tcase\tmedian\tmin\tmax\tunit\tpeak_rss_kb\tother" > tsv
	printf "[" > json
	for (i = 1; i <= n; i++) {
		printf "%-10s %-16s %12s %22s %5s %9s  %s\n", row_bench[i], row_case[i], row_med[i],
			(row_min[i] == "-" ? "-" : row_min[i] "-" row_max[i]), row_unit[i], row_rss[i], row_extra[i]
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row_bench[i], row_case[i], row_med[i], row_min[i],
			row_max[i], row_unit[i], row_rss[i], row_extra[i] > tsv
		printf "%s\n {\"benchmark\": %s, \"case\": %s, \"median\": %s, \"min\": %s, \"max\": %s, \"unit\": %s, \"peak_rss_kb\": %s, \"other\": %s}",
			(i > 1 ? "," : ""), jstr(row_bench[i]), jstr(row_case[i]), row_med[i],
			(row_min[i] == "-" ? "null" : row_min[i]), (row_max[i] == "-" ? "null" : row_max[i]),
			jstr(row_unit[i]), (row_rss[i] == "-" ? "null" : row_rss[i]), jstr(row_extra[i]) > json
	}
	print "\n]" > json
}' "$@"
echo "(written to $OUT/bench.tsv and $OUT/bench.json)"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# plot.sh BENCH.TSV OUT.SVG: the ratios of summary.sh's table as bars, one
# a row that has peers, on a log scale with a line at 1 (as good as the
# best peer on the same work; below is better). nsbox's rows and its peers'
# in two colours. Says so and does nothing without gnuplot.
set -eu
in=$1 out=$2
command -v gnuplot >/dev/null 2>&1 || { echo "bench plot: no gnuplot (make bench-deps)" >&2; exit 0; }
data=$(mktemp /tmp/nsbox-bench-plot.XXXXXX)
trap 'rm -f "$data"' EXIT
# benchmark/case, ratio, nsbox or not; the rows with a ratio only
awk -F '\t' 'NR > 1 && $8 != "-" {
	printf "%s/%s\t%s\t%d\n", $1, $2, $8, ($2 ~ /nsbox/ || $1 "/" $2 == "tarball/cold_nsbox")
}' "$in" >"$data"
[ -s "$data" ] || { echo "bench plot: no ratios in $in" >&2; exit 0; }
n=$(wc -l <"$data")
gnuplot <<GP
set terminal svg size $((200 + 22 * n)),520 dynamic font "sans,10" background "white"
set output "$out"
set datafile separator "\t"
set title "nsbox and its peers: cost against the best peer on the same work (below 1 is better)\n$(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r)"
set logscale y 2
set ylabel "ratio to the best peer (time, CPU, or 1 / runs per second)"
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -60 left noenhanced font ",8"
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 dt 2 lc rgb "black"
set bmargin 14
plot "$data" using 0:(\$3 > 0 ? \$2 : 1/0):xtic(1) with boxes lc rgb "#1f77b4" title "nsbox", \
	"" using 0:(\$3 > 0 ? 1/0 : \$2) with boxes lc rgb "#bbbbbb" title "peers"
GP
echo "(plot written to $out)"

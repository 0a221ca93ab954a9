# SPDX-License-Identifier: BSD-2-Clause
# Shared by the benchmarks: input lines "CASE MICROSECONDS"; table() prints
# each case's median and range in the order first seen, writes them as TSV
# to the file tsv, and leaves the medians in m[] for the caller's ratios.
# the numbers of the list s in a[1..n], ascending; n
function sorted(s, a,   n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n
}
function mid(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
# case c's median time; its range in lo[c], hi[c]
function median(c,   n, a) {
	n = sorted(v[c], a)
	lo[c] = a[1]; hi[c] = a[n]
	return mid(a, n)
}
# An optional third field is the run's peak RSS in KB (spawn-time.c): its
# median is a column of its own, rss[] for the caller.
{
	v[$1] = v[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
	if (NF >= 3) { kb[$1] = kb[$1] " " $3; has_rss = 1 }
}
function table(   i, c, n, a) {
	printf "%-16s %10s %18s%s\n", "case", "median us", "min-max us", has_rss ? "   peak RSS KB" : ""
	print "case\tmedian_us\tmin_us\tmax_us" (has_rss ? "\tpeak_rss_kb" : "") > tsv
	for (i = 1; i <= k; i++) {
		c = order[i]; m[c] = median(c)
		if (has_rss) { n = sorted(kb[c], a); rss[c] = mid(a, n) }
		printf "%-16s %10d %18s", c, m[c], lo[c] "-" hi[c]
		printf "%s\t%d\t%d\t%d", c, m[c], lo[c], hi[c] > tsv
		if (has_rss) { printf " %14d", rss[c]; printf "\t%d", rss[c] > tsv }
		printf "\n"; printf "\n" > tsv
	}
}

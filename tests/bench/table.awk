# SPDX-License-Identifier: BSD-2-Clause
# Shared by the benchmarks: input lines "CASE MICROSECONDS"; table() prints
# each case's median and range in the order first seen, writes them as TSV
# to the file tsv, and leaves the medians in m[] for the caller's ratios.
function median(c,   n, i, j, t, a) {
	n = split(v[c], a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	lo[c] = a[1]; hi[c] = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ v[$1] = v[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
function table(   i, c) {
	printf "%-16s %10s %18s\n", "case", "median us", "min-max us"
	print "case\tmedian_us\tmin_us\tmax_us" > tsv
	for (i = 1; i <= k; i++) {
		c = order[i]; m[c] = median(c)
		printf "%-16s %10d %18s\n", c, m[c], lo[c] "-" hi[c]
		printf "%s\t%d\t%d\t%d\n", c, m[c], lo[c], hi[c] > tsv
	}
}

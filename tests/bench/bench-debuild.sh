#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox-debuild against sbuild --chroot-mode=unshare (and, where installed,
# pbuilder and cowbuilder) on the same inputs: Debian packages from the
# mirror's sid (hello, autotools; cjson, CMake), the same sid buildd
# tarball. Rounds interleaved; per case the median and range of the total,
# and overhead = total - dpkg-buildpackage's own time where the tool's log
# says it. Every round, nsbox-debuild's cold results are compared with
# sbuild's: every .deb byte for byte, the .buildinfo line for line but for
# Build-Date. sbuild builds in /build/SOURCE-VERSION as nsbox-debuild does
# (--build-path=/build; by default a random directory goes into the
# binaries of some packages), and both pass dpkg-buildpackage
# --sanitize-env. Reports; never fails on a number. Needs root and the mirror.
#
# NSBOX_BENCH_SID       the base tarball (default /var/cache/nsbox-test/bench-sid-DATE.tar.zst,
#                       made with nsbox-mkroot once a day: its apt lists are
#                       today's, the older ones go)
# NSBOX_BENCH_COLD_OPTS options of the cold builds only, e.g. --update-window=0:
#                       the base's lists checked against the mirror (or
#                       updated) however young they are
# NSBOX_BENCH_ROUNDS    rounds (default 5)
# NSBOX_BENCH_PACKAGES  source packages (default "hello cjson")
# NSBOX_BENCH_PBUILDER  no: not pbuilder and cowbuilder, which are measured
#                       when installed (their bases are made first, which
#                       takes about two minutes)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NSBOX="$TOP/nsbox"
DEBUILD="$TOP/debuild/nsbox-debuild"
ROUNDS=${NSBOX_BENCH_ROUNDS:-5}
PKGS=${NSBOX_BENCH_PACKAGES:-hello cjson}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
TAR=${NSBOX_BENCH_SID:-}
COLD_OPTS=${NSBOX_BENCH_COLD_OPTS:-}
MIRROR=${NSBOX_MIRROR:-http://deb.debian.org/debian}
BU=nsbox-bench # sbuild's unshare mode runs as a user with subordinate ids
[ "$(id -u)" -eq 0 ] || { echo "bench-debuild: needs root" >&2; exit 1; }
if [ -z "$TAR" ]; then
	TAR=/var/cache/nsbox-test/bench-sid-$(date +%Y%m%d).tar.zst
	for old in /var/cache/nsbox-test/bench-sid-*.tar.zst; do
		[ "$old" = "$TAR" ] || rm -f "$old" "$old.lock"
	done
fi
[ -s "$TAR" ] || "$TOP/helpers/nsbox-mkroot" sid "$TAR" >/dev/null 2>&1 ||
	{ echo "bench-debuild: nsbox-mkroot sid $TAR failed" >&2; exit 1; }
W=$(mktemp -d /var/tmp/nsbox-bench-debuild.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/src"
export NSBOX NSBOX_CACHE_DIR="$W/cache"
P="$W/sid.conf"
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s\n' "$TOP" "$TAR" >"$P"
# Both tools build with the same options: nsbox-debuild's default.
DBO="parallel=$(nproc)"

# the sources, as Debian has them
# shellcheck disable=SC2016 # the container's script expands its own variables
"$NSBOX" run --profile="$P" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/src":/build/src --chdir=/build/src --setenv=M="$MIRROR" --setenv=S="$PKGS" -- sh -c '
	echo "deb-src $M sid main" >/etc/apt/sources.list.d/src.list
	apt-get -q -o Acquire::Check-Valid-Until=false -o Acquire::Languages=none update >/dev/null &&
		for s in $S; do apt-get -q source "$s" >/dev/null 2>&1 || exit 1; done' 2>/dev/null ||
	{ echo "bench-debuild: apt-get source $PKGS failed" >&2; exit 1; }
for p in $PKGS; do
	dsc=$(find "$W/src" -maxdepth 1 -name "${p}_*.dsc" | head -1)
	tree=$(find "$W/src" -mindepth 1 -maxdepth 1 -type d -name "$p-*" | head -1)
	if [ -z "$dsc" ] || [ -z "$tree" ]; then echo "bench-debuild: no $p source" >&2; exit 1; fi
	echo "$p: $(basename "$dsc"), base $TAR" >&2
done
dsc_of() { find "$W/src" -maxdepth 1 -name "${1}_*.dsc" | head -1; }
tree_of() { find "$W/src" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -1; }

now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{printf "%.1f", $2 - $1}'; }
: >"$W/times"
record() { echo "$1 $2 $3" >>"$W/times"; } # case total build-time

nsbox_run() { # PKG cold|warm
	[ "$2" = warm ] || rm -rf "$W/cache/layers" "$W/cache/debuild"
	rm -rf "$W/o"
	mkdir "$W/o"
	o=''
	[ "$2" = warm ] || o=$COLD_OPTS
	t0=$(now)
	# shellcheck disable=SC2086 # o: words
	(cd "$(tree_of "$1")" && "$DEBUILD" --profile="$P" --output="$W/o" $o) >"$W/nsbox.out" 2>&1 ||
		{ tail -5 "$W/nsbox.out" >&2; return 0; }
	t1=$(now)
	b=$(sed -n 's/^=== dpkg-buildpackage: exit 0, \([0-9.]*\) s$/\1/p' "$W"/o/*.build)
	record "${1}_nsbox-$2" "$(secs "$t0" "$t1")" "$b"
	if [ "$2" = cold ]; then
		# which lists apt read: the base's (young, or checked against the
		# mirror), or the kept ones, updated
		if grep -q '^nsbox-debuild: the package lists of the base are younger' "$W"/o/*.build; then
			echo "$1 base-young" >>"$W/lists"
		elif grep -q '^nsbox-debuild: the mirror serves the Release files' "$W"/o/*.build; then
			echo "$1 base-checked" >>"$W/lists"
		else
			echo "$1 updated" >>"$W/lists"
		fi
		rm -rf "$W/o.$1"
		mv "$W/o" "$W/o.$1"
	fi
}

sbuild_ok=no
if command -v sbuild >/dev/null && command -v newuidmap >/dev/null; then
	id "$BU" >/dev/null 2>&1 || useradd -m -s /bin/sh "$BU"
	grep -q "^$BU:" /etc/subuid || echo "$BU:400000:65536" >>/etc/subuid
	grep -q "^$BU:" /etc/subgid || echo "$BU:400000:65536" >>/etc/subgid
	cp "$TAR" "$W/sbuild-sid.tar.zst"
	chmod -R a+rX "$W/src" # sbuild reads the .dsc and its files as that user
	sbuild_ok=yes
fi
sbuild_run() { # PKG
	rm -rf "$W/so"
	mkdir "$W/so"
	chown "$BU:" "$W/so"
	t0=$(now)
	(cd "$W/so" && runuser -u "$BU" -- env DEB_BUILD_OPTIONS="$DBO" sbuild --chroot-mode=unshare \
		--chroot="$W/sbuild-sid.tar.zst" --dist=unstable --no-run-lintian --no-run-autopkgtest \
		--no-run-piuparts --no-apt-upgrade --no-apt-distupgrade --extra-repository= \
		--build-path=/build "$(dsc_of "$1")") \
		>"$W/sbuild.out" 2>&1 || { tail -5 "$W/sbuild.out" >&2; return 0; }
	t1=$(now)
	b=$(sed -n 's/^Build-Time: \([0-9]*\)$/\1/p' "$W"/so/*.build 2>/dev/null | head -1)
	record "${1}_sbuild-unshare" "$(secs "$t0" "$t1")" "${b:-}"
	same "$1"
}

# same PKG: this round's nsbox-debuild (cold) and sbuild results, compared;
# one line "PKG DEBS BUILDINFO" to $W/same: DEBS identical, differ or
# names-differ; BUILDINFO equal, differs or missing. The .buildinfo is
# compared without Build-Date.
norm() { sed -e '/^Build-Date:/d' "$1"; }
same() {
	a=$W/o.$1 b=$W/so
	if [ ! -d "$a" ] || [ -z "$(find "$b" -maxdepth 1 -name '*.deb')" ]; then
		echo "$1 not-compared -" >>"$W/same"
		return 0
	fi
	la=$(find "$a" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort)
	lb=$(find "$b" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort)
	if [ "$la" != "$lb" ]; then
		echo "$1 names-differ -" >>"$W/same"
		printf '%s: .deb names differ:\nnsbox-debuild: %s\nsbuild: %s\n' "$1" "$la" "$lb" >>"$W/diffs"
		return 0
	fi
	v=identical
	for f in $la; do
		if ! cmp -s "$a/$f" "$b/$f"; then
			v=differ
			echo "$1: $f differs" >>"$W/diffs"
		fi
	done
	ia='' ib=''
	for f in "$a"/*.buildinfo; do [ ! -f "$f" ] || ia=$f; done
	for f in "$b"/*.buildinfo; do [ ! -f "$f" ] || ib=$f; done
	if [ -z "$ia" ] || [ -z "$ib" ]; then
		v="$v missing"
	else
		norm "$ia" >"$W/bi.a"
		norm "$ib" >"$W/bi.b"
		if cmp -s "$W/bi.a" "$W/bi.b"; then
			v="$v equal"
		else
			v="$v differs"
			{
				echo "$1: .buildinfo (- nsbox-debuild, + sbuild):"
				diff "$W/bi.a" "$W/bi.b" | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
			} >>"$W/diffs"
		fi
	fi
	echo "$1 $v" >>"$W/same"
}

pb_ok=no
if [ "${NSBOX_BENCH_PBUILDER:-yes}" = yes ] && command -v pbuilder >/dev/null && command -v cowbuilder >/dev/null; then
	echo "bench-debuild: making the pbuilder and cowbuilder bases" >&2
	# a frozen sid's Release file has expired: apt in their bases must not care
	mkdir -p "$W/aptconf/apt.conf.d"
	echo 'Acquire::Check-Valid-Until "false";' >"$W/aptconf/apt.conf.d/99nsbox-bench-valid-until"
	if pbuilder create --basetgz "$W/base.tgz" --distribution sid --mirror "$MIRROR" --aptconfdir "$W/aptconf" >"$W/pb.out" 2>&1 &&
		cowbuilder --create --basepath "$W/base.cow" --distribution sid --mirror "$MIRROR" --aptconfdir "$W/aptconf" >>"$W/pb.out" 2>&1; then
		pb_ok=yes
	else
		echo "bench-debuild: making the pbuilder and cowbuilder bases failed:" >&2
		tail -5 "$W/pb.out" >&2
	fi
fi
pb_run() { # pbuilder|cowbuilder PKG
	rm -rf "$W/po"
	mkdir "$W/po"
	t0=$(now)
	if [ "$1" = pbuilder ]; then
		DEB_BUILD_OPTIONS="$DBO" pbuilder build --basetgz "$W/base.tgz" --buildresult "$W/po" \
			"$(dsc_of "$2")" >"$W/pb.out" 2>&1 || return 0
	else
		DEB_BUILD_OPTIONS="$DBO" cowbuilder --build --basepath "$W/base.cow" --buildresult "$W/po" \
			"$(dsc_of "$2")" >"$W/pb.out" 2>&1 || return 0
	fi
	record "${2}_$1" "$(secs "$t0" "$(now)")" ""
}

# the base extracted once: "nothing cached but the base"
for p in $PKGS; do nsbox_run "$p" warm >/dev/null 2>&1 || :; done
: >"$W/times"
: >"$W/lists"
: >"$W/same"
: >"$W/diffs"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for p in $PKGS; do
		nsbox_run "$p" cold
		nsbox_run "$p" warm
		[ "$sbuild_ok" = no ] || sbuild_run "$p"
		[ "$pb_ok" = no ] || { pb_run pbuilder "$p"; pb_run cowbuilder "$p"; }
	done
	echo "bench-debuild: round $r of $ROUNDS done" >&2
	r=$((r + 1))
done

tsv="$OUT/debuild.tsv"
# debuild.tsv: a row a package and tool; the total's median and range, the
# overhead's, and for nsbox-debuild's cold rows the comparison with sbuild
# ("debs_5/5,buildinfo_5/5": in every round every .deb identical and the
# .buildinfo equal).
awk -v tsv="$tsv" -v sb="$sbuild_ok" -v pb="$pb_ok" -v pkgs="$PKGS" -v samef="$W/same" '
function sorted(s, a,   n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n
}
function mid(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
BEGIN {
	while ((getline l < samef) > 0) {
		split(l, f, " ")
		nsame[f[1]]++
		if (f[2] == "identical") debs[f[1]]++
		if (f[3] == "equal") binfo[f[1]]++
	}
}
{ v[$1] = v[$1] " " $2; if ($3 != "") o[$1] = o[$1] " " ($2 - $3) }
END {
	np = split(pkgs, pk, " ")
	split("nsbox-cold nsbox-warm sbuild-unshare pbuilder cowbuilder", tools, " ")
	printf "%-26s %8s %12s %10s %12s  %s\n", "case", "total s", "min-max", "overhead s", "min-max", "same bytes as sbuild"
	print "case\ttotal_s\tmin_s\tmax_s\toverhead_s\toverhead_range_s\tsame_as_sbuild" > tsv
	for (p = 1; p <= np; p++) for (i = 1; i <= 5; i++) {
		c = pk[p] "_" tools[i]
		if (!(c in v)) continue
		n = sorted(v[c], a); m[c] = mid(a, n); lo = a[1]; hi = a[n]
		if (c in o) {
			n = sorted(o[c], a); ov = sprintf("%.1f", mid(a, n)); orng = sprintf("%.1f-%.1f", a[1], a[n])
			om[c] = ov
		} else { ov = "-"; orng = "-" }
		s = "-"
		if (tools[i] == "nsbox-cold" && sb == "yes") {
			# rounds with every .deb identical, with the .buildinfo equal
			s = (pk[p] in nsame) ? sprintf("debs_%d/%d,buildinfo_%d/%d", debs[pk[p]], nsame[pk[p]],
				binfo[pk[p]], nsame[pk[p]]) : "not-compared"
		}
		printf "%-26s %8.1f %12s %10s %12s  %s\n", c, m[c], lo "-" hi, ov, orng, s
		printf "%s\t%.1f\t%s\t%s\t%s\t%s\t%s\n", c, m[c], lo, hi, ov, orng, s > tsv
	}
	print ""
	for (p = 1; p <= np; p++) {
		c = pk[p]
		if (((c "_sbuild-unshare") in m) && ((c "_nsbox-cold") in m) && ((c "_nsbox-warm") in m))
			printf "%s: nsbox-debuild / sbuild: cold %.2f, warm %.2f (total)\n", c,
				m[c "_nsbox-cold"] / m[c "_sbuild-unshare"], m[c "_nsbox-warm"] / m[c "_sbuild-unshare"]
		if (((c "_nsbox-cold") in om) && ((c "_nsbox-warm") in om))
			printf "%s: nsbox-debuild overhead: cold %s s (target 4 s), warm %s s (target 1 s)\n", c,
				om[c "_nsbox-cold"], om[c "_nsbox-warm"]
	}
	if (sb == "no") print "sbuild: not installed (make bench-deps); no comparison of results"
	if (pb == "no") print "pbuilder, cowbuilder: not measured (not installed, NSBOX_BENCH_PBUILDER=no, or their bases failed)"
}' "$W/times"
for p in $PKGS; do
	printf "%s: the cold builds' apt lists: the base's, young %d; the base's, checked against the mirror %d; updated %d\n" "$p" \
		"$(grep -c "^$p base-young" "$W/lists")" "$(grep -c "^$p base-checked" "$W/lists")" "$(grep -c "^$p updated" "$W/lists")"
done
echo "base: $TAR, its lists fetched $(tar -tvf "$TAR" ./var/lib/apt/lists/ 2>/dev/null | awk 'NR == 1 { print $4, $5 }')"
if [ -s "$W/diffs" ]; then
	echo "differences from sbuild's results:"
	awk '!seen[$0]++' "$W/diffs" | head -40
fi
echo "(written to $tsv)"

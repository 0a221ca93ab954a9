#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox-debuild against sbuild --chroot-mode=unshare (and, when asked,
# pbuilder and cowbuilder) on the same inputs: Debian's hello from the
# mirror's sid, the same sid buildd tarball. Rounds interleaved; totals,
# and overhead = total - dpkg-buildpackage's own time where the tool's log
# says it. Reports; never fails on a number. Needs root and the mirror.
#
# NSBOX_BENCH_SID       the base tarball (default /var/cache/nsbox-test/bench-sid.tar.zst,
#                       made with nsbox-mkroot when missing)
# NSBOX_BENCH_ROUNDS    rounds (default 3)
# shellcheck disable=SC2016 # the container's script expands its own variables
# NSBOX_BENCH_PBUILDER  yes: also pbuilder and cowbuilder (their bases are
#                       made first, which takes minutes)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NSBOX="$TOP/nsbox"
DEBUILD="$TOP/debuild/nsbox-debuild"
ROUNDS=${NSBOX_BENCH_ROUNDS:-3}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
TAR=${NSBOX_BENCH_SID:-/var/cache/nsbox-test/bench-sid.tar.zst}
MIRROR=${NSBOX_MIRROR:-http://deb.debian.org/debian}
BU=nsbox-bench # sbuild's unshare mode runs as a user with subordinate ids
[ "$(id -u)" -eq 0 ] || { echo "bench-debuild: needs root" >&2; exit 1; }
[ -s "$TAR" ] || "$TOP/helpers/nsbox-mkroot" sid "$TAR" >/dev/null
W=$(mktemp -d /var/tmp/nsbox-bench-debuild.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/src"
export NSBOX NSBOX_CACHE_DIR="$W/cache"
P="$W/sid.conf"
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s\n' "$TOP" "$TAR" >"$P"

# hello's source, as Debian has it
"$NSBOX" run --profile="$P" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/src":/build/src --chdir=/build/src --setenv=M="$MIRROR" -- sh -c '
	echo "deb-src $M sid main" >/etc/apt/sources.list.d/src.list
	apt-get -q -o Acquire::Check-Valid-Until=false update >/dev/null && apt-get -q source hello >/dev/null 2>&1' 2>/dev/null
dsc=$(find "$W/src" -maxdepth 1 -name 'hello_*.dsc' | head -1)
tree=$(find "$W/src" -mindepth 1 -maxdepth 1 -type d -name 'hello-*' | head -1)
if [ -z "$dsc" ] || [ -z "$tree" ]; then echo "bench-debuild: no hello source" >&2; exit 1; fi
echo "hello: $(basename "$dsc"), base $TAR" >&2

now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{printf "%.1f", $2 - $1}'; }
: >"$W/times"
record() { echo "$1 $2 $3" >>"$W/times"; } # case total build-time

nsbox_run() { # cold|warm
	[ "$1" = warm ] || rm -rf "$W/cache/layers" "$W/cache/debuild"
	rm -rf "$W/o"; mkdir "$W/o"
	t0=$(now)
	(cd "$tree" && "$DEBUILD" --profile="$P" --output="$W/o") >"$W/nsbox.out" 2>&1 || { tail -5 "$W/nsbox.out" >&2; return; }
	t1=$(now)
	b=$(sed -n 's/^=== dpkg-buildpackage: exit 0, \([0-9.]*\) s$/\1/p' "$W"/o/*.build)
	record "nsbox-debuild-$1" "$(secs "$t0" "$t1")" "$b"
}

sbuild_ok=no
if command -v sbuild >/dev/null && command -v newuidmap >/dev/null; then
	id "$BU" >/dev/null 2>&1 || useradd -m -s /bin/sh "$BU"
	grep -q "^$BU:" /etc/subuid || echo "$BU:400000:65536" >>/etc/subuid
	grep -q "^$BU:" /etc/subgid || echo "$BU:400000:65536" >>/etc/subgid
	cp "$TAR" "$W/sbuild-sid.tar.zst"; cp "$dsc" "$W/src"/hello_*.tar.* "$W/src"/hello_*.debian.* "$W/" 2>/dev/null || :
	chown -R "$BU:" "$W/src"
	sbuild_ok=yes
fi
sbuild_run() {
	rm -rf "$W/so"; mkdir "$W/so"; chown "$BU:" "$W/so"
	t0=$(now)
	(cd "$W/so" && runuser -u "$BU" -- sbuild --chroot-mode=unshare --chroot="$W/sbuild-sid.tar.zst" \
		--dist=unstable --no-run-lintian --no-run-autopkgtest --no-run-piuparts --no-apt-upgrade \
		--no-apt-distupgrade --extra-repository= "$dsc") >"$W/sbuild.out" 2>&1 || { tail -5 "$W/sbuild.out" >&2; return; }
	t1=$(now)
	b=$(sed -n 's/^Build-Time: \([0-9]*\)$/\1/p' "$W"/so/*.build 2>/dev/null | head -1)
	record sbuild-unshare "$(secs "$t0" "$t1")" "${b:-}"
}

pb_ok=no
if [ "${NSBOX_BENCH_PBUILDER:-no}" = yes ] && command -v pbuilder >/dev/null && command -v cowbuilder >/dev/null; then
	echo "bench-debuild: making the pbuilder and cowbuilder bases" >&2
	pbuilder create --basetgz "$W/base.tgz" --distribution sid --mirror "$MIRROR" >"$W/pb.out" 2>&1 &&
		cowbuilder --create --basepath "$W/base.cow" --distribution sid --mirror "$MIRROR" >>"$W/pb.out" 2>&1 &&
		pb_ok=yes
fi
pb_run() { # pbuilder|cowbuilder
	rm -rf "$W/po"; mkdir "$W/po"
	t0=$(now)
	if [ "$1" = pbuilder ]; then
		pbuilder build --basetgz "$W/base.tgz" --buildresult "$W/po" "$dsc" >"$W/pb.out" 2>&1 || return
	else
		cowbuilder --build --basepath "$W/base.cow" --buildresult "$W/po" "$dsc" >"$W/pb.out" 2>&1 || return
	fi
	record "$1" "$(secs "$t0" "$(now)")" ""
}

nsbox_run warm >/dev/null 2>&1 || : # the base extracted once: "nothing cached but the base"
: >"$W/times"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	nsbox_run cold
	nsbox_run warm
	[ "$sbuild_ok" = no ] || sbuild_run
	[ "$pb_ok" = no ] || { pb_run pbuilder; pb_run cowbuilder; }
	r=$((r + 1))
done

tsv="$OUT/debuild.tsv"
awk -v tsv="$tsv" -v sb="$sbuild_ok" -v pb="$pb_ok" '
function median(c,   n, i, j, t, a) {
	n = split(v[c], a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ v[$1] = v[$1] " " $2; if ($3 != "") o[$1] = o[$1] " " ($2 - $3) }
END {
	split("nsbox-debuild-cold nsbox-debuild-warm sbuild-unshare pbuilder cowbuilder", order, " ")
	printf "%-20s %10s %12s\n", "case", "total s", "overhead s"
	print "case\ttotal_s\toverhead_s" > tsv
	for (i = 1; i <= 5; i++) {
		c = order[i]
		if (!(c in v)) continue
		m[c] = median(c)
		if (c in o) { split(o[c], x, " "); v2 = v[c]; v[c] = o[c]; ov[c] = median(c); v[c] = v2 } else ov[c] = "-"
		printf "%-20s %10.1f %12s\n", c, m[c], ov[c]
		printf "%s\t%s\t%s\n", c, m[c], ov[c] > tsv
	}
	if ("sbuild-unshare" in m) {
		printf "\ncold: nsbox-debuild / sbuild = %.2f\n", m["nsbox-debuild-cold"] / m["sbuild-unshare"]
		printf "warm: nsbox-debuild / sbuild = %.2f\n", m["nsbox-debuild-warm"] / m["sbuild-unshare"]
	} else if (sb == "no") print "\nsbuild: not installed (make bench-deps)"
	if ("cowbuilder" in m)
		printf "cold overhead: nsbox-debuild %s s (target: under half of cowbuilder'"'"'s total overhead)\n", ov["nsbox-debuild-cold"]
	else if (pb == "no") print "pbuilder, cowbuilder: not measured (NSBOX_BENCH_PBUILDER=yes)"
	printf "warm overhead: %s s (target: under 1 s)\n", ov["nsbox-debuild-warm"]
}' "$W/times"
echo "(written to $tsv)"

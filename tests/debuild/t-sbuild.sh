#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# sbuild through autopkgtest-virt-nsbox (issue 25): Debian's hello
# (autotools), cjson (cmake), dash (autotools, no debhelper sequence of
# its own) and libdisplay-info (meson), fetched from the mirror's sid
# sources, built by sbuild --chroot-mode=autopkgtest with the server as
# the EXAMPLES of autopkgtest-virt-nsbox(1) write it (-d unstable finds
# the sid-build profile), as root with the build run as sbuild's user;
# the same sources built by nsbox-debuild and by sbuild --chroot-mode=unshare
# (an ordinary user with subordinate ids: sbuild's unshare mode needs them)
# on the same base tarball, all in /build/SOURCE-VERSION (sbuild's
# --build-path=/build: by default sbuild builds in a random directory,
# which goes into the binaries of some packages, cjson's among them):
# every .deb byte for byte, and the .buildinfo line for line but for
# Build-Date (issue 28: both pass dpkg-buildpackage --sanitize-env); where
# a .deb differs, its file list and contents name what. Each also through the server run by
# that user. The base is the daily sid tarball of nsbox-mkroot in
# /var/cache/nsbox-test (as t-root-safety.sh). Only apt and mmdebstrap talk
# to the mirror.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
# Run from make check, the test has make's MAKEFLAGS, MFLAGS and MAKELEVEL,
# and sbuild passes the caller's MAKEFLAGS into the build (dpkg's list of
# variables a .buildinfo records): root's builds would have a
# ` MAKEFLAGS=""` line that the user's (env -i) lack. As a packager's
# shell, none.
unset MAKEFLAGS MFLAGS MAKELEVEL
for t in sbuild mmdebstrap setpriv newuidmap; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done
[ -r /usr/share/autopkgtest/lib/VirtSubproc.py ] || { echo "Bail out! autopkgtest is not installed (make deps)"; exit 1; }
t0=$(date +%s)
sid_base
PKGS="hello cjson dash libdisplay-info"

# What an installation holds, where the user can reach it too (the
# checkout may sit in root's home): nsbox and the server in $W/bin, the
# profiles (a sid-build of the test's naming the base) in $W/profiles.
chmod 755 "$W"
mkdir -m 755 "$W/bin" "$W/profiles"
cp "$NSBOX_BIN" "$W/bin/nsbox"
cp "$TOP/helpers/autopkgtest-virt-nsbox" "$W/bin/"
cp "$TOP/profiles/build-common.conf" "$W/profiles/"
P=$W/profiles/sid-build.conf
printf '[profile]\ninclude = build-common\n\n[root]\ntarball = %s\nhostname = sid-build\n' "$BASE" >"$P"
chmod -R a+rX "$W/bin" "$W/profiles"
# sbuild looks for autopkgtest-virt-nsbox in its own $path (sbuild.conf),
# and then runs it through the caller's PATH: the test's bin in both, last
# in $path, after sbuild's default, which is also the build's PATH.
# As root, sbuild would build as root: $build_user makes it its sbuild user.
# No log filter: with --build-path=/build, sbuild's would write every
# "build" of its log as <<BUILDDIR>> ("USER=s<<BUILDDIR>>").
SBPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:$W/bin
printf '$path = "%s";\n$run_lintian = 0;\n$log_filter = 0;\n$build_user = "sbuild";\n1;\n' "$SBPATH" >"$W/sbuild-root.conf"
printf '$path = "%s";\n$run_lintian = 0;\n$log_filter = 0;\n1;\n' "$SBPATH" >"$W/sbuild-user.conf"
chmod 644 "$W"/sbuild-*.conf
DEB_BUILD_OPTIONS="parallel=$(nproc)"
# sbuild checks for the server in its $path, and runs it through PATH
PATH="$W/bin:$PATH"
export NSBOX="$W/bin/nsbox" NSBOX_PROFILE_PATH="$W/profiles" NSBOX_CACHE_DIR="$W/cache" DEB_BUILD_OPTIONS PATH

test_user nsbox-sbuilder 800000
U=nsbox-sbuilder
NSBOX_TEST_USER=$U
audit_snapshot before # now with the user's state directory
# as_u CMD...: CMD as the user, with a login's environment; nothing of root's.
as_u() {
	setpriv --reuid="$U" --regid="$U" --init-groups -- env -i HOME="$W/home" USER="$U" LOGNAME="$U" \
		PATH="$W/bin:/usr/bin:/bin:/usr/sbin:/sbin" LANG=C.UTF-8 SBUILD_CONFIG="$W/sbuild-user.conf" \
		NSBOX="$W/bin/nsbox" NSBOX_PROFILE_PATH="$W/profiles" DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS" "$@"
}

# --- -r: sbuild's %r names, mapped as nsbox-debuild maps them ---
out=$(printf 'open\n' | "$W/bin/autopkgtest-virt-nsbox" -r trixie-backports 2>&1)
case $out in *"no profile 'trixie-build'"*) ok "-r trixie-backports: the trixie-build profile";;
*) not_ok "-r trixie-backports: the trixie-build profile" "$out";; esac
err=$("$W/bin/autopkgtest-virt-nsbox" -r %r 2>&1 </dev/null); rc=$?
check "-r %r (sbuild knew no distribution): refused, with why" \
	"2 autopkgtest-virt-nsbox: error: -r %r: not a suite (sbuild substitutes %r only when it knows the distribution: give it -d)" \
	"$rc $(printf '%s\n' "$err" | tail -1)"

# --- an open that fails once the testbed runs, as the user: nothing left ---
# In a user namespace the upper's work directory (the kernel's, mode 0)
# and what the testbed's root wrote are not the user's to remove plainly.
out=$(printf 'open\n' | as_u "$W/bin/autopkgtest-virt-nsbox" -r unstable -u no:such 2>&1); rc=$?
check "as $U, an open that fails once the testbed runs (useradd refuses the user): 12, and no testbed or directory left" \
	"12 yes||" "$rc $(case $out in *"failure: "*useradd*) echo yes ;; esac)|$(as_u "$W/bin/nsbox" ps | awk '$1 ~ /^autopkgtest-/')|$(find /var/tmp -maxdepth 1 -name 'autopkgtest-virt-nsbox.*' -user "$U")"

# --- the sources, from the mirror's sid, unpacked (for nsbox-debuild) ---
mkdir -m 755 "$W/src"
"$NSBOX" run --profile="$P" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/src":/build/src --chdir=/build/src --setenv=MIRROR="$MIRROR" --setenv=PKGS="$PKGS" -- sh -c '
	echo "deb-src $MIRROR sid main" >/etc/apt/sources.list.d/src.list
	apt-get -q update >/dev/null || echo "apt-get update failed"
	for p in $PKGS; do apt-get -q source "$p" >/dev/null 2>&1 || echo "no source of $p"; done' >"$W/fetch.out" 2>"$W/fetch.err"
check "the sources of $PKGS from the mirror" "" "$(cat "$W/fetch.out")"
chmod -R a+rX "$W/src"
dsc() { find "$W/src" -maxdepth 1 -name "$1_*.dsc" | head -1; }

# --- the builds: the user's (sbuild's unshare mode, then through the
# server, each package) in the background, root's meanwhile ---
mkdir -m 755 "$W/un" "$W/uap"
chown "$U:$U" "$W/un" "$W/uap"
(
	for p in $PKGS; do
		as_u mkdir "$W/un/$p" && cd "$W/un/$p" && as_u timeout 900 sbuild --chroot-mode=unshare --chroot="$BASE" \
			-d unstable --no-run-lintian --build-path=/build "$(dsc "$p")" >"$W/un/$p.out" 2>&1
		echo "$p $?" >>"$W/un/status"
	done
	for p in $PKGS; do
		as_u mkdir "$W/uap/$p" && cd "$W/uap/$p" && as_u timeout 900 sbuild --chroot-mode=autopkgtest \
			--autopkgtest-virt-server=nsbox --autopkgtest-virt-server-opts='-r %r' -d unstable \
			--build-path=/build "$(dsc "$p")" >"$W/uap/$p.out" 2>&1
		echo "$p $?" >>"$W/uap/status"
	done
) &
users=$!

# sbuild: the man page's example, as written but for the .dsc's version
# and --build-path
line=$(man_examples "$TOP/man/autopkgtest-virt-nsbox.1" | grep -F -- '--chroot-mode=autopkgtest' | head -1)
[ -n "$line" ] || not_ok "autopkgtest-virt-nsbox(1) has an sbuild example"
mkdir "$W/ap" "$W/nd"
for p in $PKGS; do
	d=$(dsc "$p")
	mkdir "$W/ap/$p"
	cmd=$(printf '%s\n' "${line#? }" | sed "s|hello_[^ ]*\.dsc|--build-path=/build $d|")
	(cd "$W/ap/$p" && SBUILD_CONFIG="$W/sbuild-root.conf" timeout 900 sh -c "$cmd") >"$W/ap/$p.out" 2>&1
	check "sbuild through autopkgtest-virt-nsbox, as root: $p builds" "0 yes" \
		"$? $(ls "$W/ap/$p"/*.deb >/dev/null 2>&1 && echo yes)"
	check "... as sbuild's user, for unstable" "1 yes" \
		"$(grep -c '^USER=sbuild$' "$W/ap/$p/"*_amd64.build) $(grep -q '^Distribution: unstable$' "$W/ap/$p/"*_amd64.build && echo yes)"
	tree=$(find "$W/src" -mindepth 1 -maxdepth 1 -type d -name "$p-*" | head -1)
	mkdir "$W/nd/$p"
	(cd "$tree" && timeout 900 "$TOP/debuild/nsbox-debuild" --profile="$P" --output="$W/nd/$p") >"$W/nd/$p.out" 2>&1
	check "nsbox-debuild: $p builds" "0 yes" "$? $(ls "$W/nd/$p"/*.deb >/dev/null 2>&1 && echo yes)"
done

wait "$users"
for p in $PKGS; do
	check "sbuild --chroot-mode=unshare, as $U: $p builds" "$p 0 yes" \
		"$(grep "^$p " "$W/un/status") $(ls "$W/un/$p"/*.deb >/dev/null 2>&1 && echo yes)"
done
for p in $PKGS; do
	check "sbuild through autopkgtest-virt-nsbox, as $U: $p builds, as $U" "$p 0 yes 1" \
		"$(grep "^$p " "$W/uap/status") $(ls "$W/uap/$p"/*.deb >/dev/null 2>&1 && echo yes) $(cat "$W/uap/$p/"*_amd64.build 2>/dev/null | grep -c "^USER=$U\$")"
done

# debs DIR: each .deb of DIR, by name, with its file list (modes, owners,
# names) and the md5sums of its files; a debug file's build-id in its name
# is BUILD-ID (its content is compared).
debs() {
	for f in "$1"/*.deb; do
		[ -e "$f" ] || continue
		echo "== ${f##*/}"
		{
			dpkg-deb -c "$f" | awk '{print $1, $2, $6}'
			dpkg-deb --ctrl-tarfile "$f" | tar -xOf - ./md5sums 2>/dev/null
		} | sed -e 's|\(/\.build-id/\)[0-9a-f]*/[0-9a-f]*\.debug$|\1BUILD-ID.debug|' \
			-e 's|\(/\.build-id/\)[0-9a-f][0-9a-f]/$|\1XX/|' | sort -u
	done
}
# bytes NAME DIR1 DIR2: the same .deb names in both, each byte for byte,
# and the .buildinfo equal but for Build-Date; else what differs (the
# file lists and contents of a .deb that differs)
bytes() {
	why=''
	l1=$(find "$2" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort | paste -sd' ' -)
	l2=$(find "$3" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort | paste -sd' ' -)
	if [ -z "$l1" ] || [ "$l1" != "$l2" ]; then
		why="the .deb names: $l1 / $l2"
	else
		for f in $l1; do
			cmp -s "$2/$f" "$3/$f" && continue
			why="$why $f differs: $(diff "$2/${f%%_*}.all" "$3/${f%%_*}.all" 2>/dev/null | grep '^[<>]' | head -6 | tr '\n' ';')"
		done
		b1=$(find "$2" -maxdepth 1 -name "*.buildinfo" | head -1)
		b2=$(find "$3" -maxdepth 1 -name "*.buildinfo" | head -1)
		if [ -z "$b1" ] || [ -z "$b2" ]; then
			why="$why a .buildinfo is missing"
		else
			sed '/^Build-Date:/d' "$b1" >"$W/bi1"
			sed '/^Build-Date:/d' "$b2" >"$W/bi2"
			cmp -s "$W/bi1" "$W/bi2" ||
				why="$why the .buildinfo: $(diff "$W/bi1" "$W/bi2" | grep '^[<>]' | head -8 | tr '\n' ';')"
		fi
	fi
	if [ -z "$why" ]; then ok "$1"; else not_ok "$1" "$why"; fi
}
for p in $PKGS; do
	for b in ap nd un uap; do
		debs "$W/$b/$p" >"$W/$b/$p.debs"
		# per .deb, for bytes' explanation
		for f in "$W/$b/$p"/*.deb; do
			[ -e "$f" ] || continue
			dn=${f##*/}
			debs "$W/$b/$p" | awk -v n="== $dn" '/^== / {p = ($0 == n)} p' >"$W/$b/$p/${dn%%_*}.all"
		done
	done
	bytes "$p: nsbox-debuild's .debs and .buildinfo are sbuild --chroot-mode=unshare's" "$W/un/$p" "$W/nd/$p"
	bytes "$p: sbuild through the server: its .debs and .buildinfo are sbuild --chroot-mode=unshare's" "$W/un/$p" "$W/ap/$p"
	bytes "$p: sbuild through the server as $U: its .debs and .buildinfo are sbuild --chroot-mode=unshare's" "$W/un/$p" "$W/uap/$p"
done
for f in "$W"/ap/*.out "$W"/nd/*.out "$W"/un/*.out "$W"/uap/*.out; do
	[ ! -s "$f" ] || [ "$failed" -eq 0 ] || tail -3 "$f" | sed "s|^|# ${f#"$W"/}: |"
done
# sbuild writes what went wrong (its own and the server's stderr) to the
# build's log, not to its output: a failed build's log, its end
[ "$failed" -eq 0 ] || for d in "$W"/ap/* "$W"/un/* "$W"/uap/*; do
	[ -d "$d" ] || continue
	! ls "$d"/*.deb >/dev/null 2>&1 || continue
	for f in "$d"/*.build; do
		[ -f "$f" ] && [ ! -L "$f" ] && grep -v '^$' "$f" | tail -25 | sed "s|^|# ${f#"$W"/}: |"
	done
done

"$NSBOX" cache prune --all >/dev/null
check "nothing the server made is left in /var/tmp" "" "$(find /var/tmp -maxdepth 1 -name 'autopkgtest-virt-nsbox.*' -newer "$W/bin/nsbox")"
audit_check "sbuild"
restore
echo "# run time: $(($(date +%s) - t0)) s"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox-debuild run by an ordinary user with subordinate ids, on a machine
# where root made nothing: no /etc/nsbox, no /var/cache/nsbox, only the
# shipped profiles, whose sid-build names root's tarball. As the README's
# new user would: --create makes the user's own base and a profile of the
# user's that shadows the shipped one; Debian's hello (autotools) and
# cJSON (cmake), fetched from the mirror in a container of the user's, build;
# results and logs belong to the user; the .deb runs. nsbox is
# tests/nsbox-shipped (see the Makefile), copied where the user can run it
# with the rest of what an installation holds. Only apt and mmdebstrap
# talk to the mirror.
# shellcheck disable=SC2016,SC2012,SC2010,SC2046,SC2034 # ls of our own names; a list meant to split; lib.sh reads NSBOX_TEST_USER
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
for t in mmdebstrap setpriv newuidmap; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done
[ -x "$TOP/tests/nsbox-shipped" ] || { echo "Bail out! no tests/nsbox-shipped (make check-debuild builds it)"; exit 1; }

# What an installation holds, where the user can reach it (the checkout may
# sit in root's home): the programs in $W/inst, the shipped profiles where
# tests/nsbox-shipped looks for them, in a directory only root can write.
SHIPPED=/var/cache/nsbox-test/shipped
mkdir -p /var/cache/nsbox-test && chmod 755 /var/cache/nsbox-test
rm -rf "$SHIPPED"
mkdir -m 755 "$SHIPPED" "$SHIPPED/profiles"
cp "$TOP"/profiles/*.conf "$SHIPPED/profiles/"
chmod 644 "$SHIPPED"/profiles/*
mkdir -p "$W/inst/bin" "$W/inst/debuild"
cp "$TOP/tests/nsbox-shipped" "$W/inst/bin/nsbox"
cp -r "$TOP/helpers" "$W/inst/helpers"
cp "$TOP/debuild/nsbox-debuild" "$W/inst/debuild/"
chmod -R a+rX "$W/inst"

test_user nsbox-builder 700000
U=nsbox-builder
UID_=$(id -u "$U")
NSBOX_TEST_USER=$U
audit_snapshot before # now with the user's state directory
H=$W/home
# as_u CMD...: CMD as the user, with a login's environment and the
# installed nsbox first in PATH; nothing of root's environment.
as_u() {
	setpriv --reuid="$U" --regid="$U" --init-groups -- env -i HOME="$H" USER="$U" LOGNAME="$U" \
		PATH="$W/inst/bin:$W/inst/debuild:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" NSBOX_MIRROR="$MIRROR" \
		LANG=C.UTF-8 "$@"
}
DEBUILD=$W/inst/debuild/nsbox-debuild

check "the shipped sid-build names root's base" "/var/cache/nsbox/sid.tar.zst" \
	"$(as_u nsbox show --profile=sid-build --get=root.tarball 2>&1)"
had_root_cache=$(test -e /var/cache/nsbox/sid.tar.zst && stat -c %Y /var/cache/nsbox/sid.tar.zst || echo none)

# --- a profile of the user's own that names root's base: refused, nothing made ---
mkdir -p "$W/xdg/nsbox"
printf '[root]\ntarball = /var/cache/nsbox/sid.tar.zst\n' >"$W/xdg/nsbox/sid-build.conf"
chown -R "$U:$U" "$W/xdg"
run_refused "--create: the user's own profile naming root's base is refused" 125 \
	"nsbox-debuild: $W/xdg/nsbox/sid-build.conf: its root.tarball /var/cache/nsbox/sid.tar.zst is not yours to write; *" \
	as_u XDG_CONFIG_HOME="$W/xdg" sh -c "cd && '$DEBUILD' --create --dist=sid"
check "... and made no base" "" "$(ls -A "$H/.cache/nsbox" 2>/dev/null | grep -v '^roots$')"

# --- --create: the user's own base and profile ---
as_u sh -c "cd && '$DEBUILD' --create --dist=sid" >"$W/create.log" 2>&1
check "--create as a user: exit 0" 0 "$?"
grep '^nsbox-debuild' "$W/create.log" | sed 's/^/# /'
check "... the base is the user's, in the user's cache" "$UID_" "$(stat -c %u "$H/.cache/nsbox/sid.tar.zst" 2>&1)"
check "... the profile is the user's, and names that base" "$UID_ $H/.cache/nsbox/sid.tar.zst" \
	"$(stat -c %u "$H/.config/nsbox/sid-build.conf" 2>&1) $(as_u nsbox show --profile=sid-build --get=root.tarball 2>&1)"
check "... and shadows the shipped one" "sid-build (shadowed by $H/.config/nsbox/sid-build.conf)" \
	"$(as_u nsbox list | awk -v s="$SHIPPED/profiles/sid-build.conf" '$2 == s {$2 = ""; print}' | sed 's/  */ /g')"
check "... root's cache untouched" "$had_root_cache" \
	"$(test -e /var/cache/nsbox/sid.tar.zst && stat -c %Y /var/cache/nsbox/sid.tar.zst || echo none)"

# --- two real packages, fetched as the user ---
as_u mkdir "$H/src"
as_u sh -c "cd ~/src && nsbox run --profile=sid-build --set namespaces.net=no \
	-m bind-ro:/etc/resolv.conf:/etc/resolv.conf -m bind:\$HOME/src:/build/src --chdir=/build/src \
	--setenv=M='$MIRROR' -- sh -c 'echo \"deb-src \$M sid main\" >/etc/apt/sources.list.d/src.list
		apt-get -q update >/dev/null && apt-get -q source hello cjson >/dev/null 2>&1'" >"$W/fetch.log" 2>&1 ||
	not_ok "fetching hello's and cjson's sources from the mirror" "$(tail -3 "$W/fetch.log")"
for pkg in hello cjson; do
	d=$(find "$H/src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -1)
	if [ -z "$d" ]; then
		not_ok "$pkg: its source was unpacked" "$(ls "$H/src")"
		continue
	fi
	as_u sh -c "cd '$d' && nsbox-debuild" >"$W/$pkg.log" 2>&1
	rc=$?
	check "$pkg: nsbox-debuild as a user: exit 0" 0 "$rc"
	[ "$rc" -eq 0 ] || tail -5 "$W/$pkg.log" | sed 's/^/# /'
	ls "$H/src" | grep -E '\.(deb|buildinfo|changes|build)$' | grep -E "^($pkg|lib$pkg)" >"$W/$pkg.results"
	check "$pkg: a .deb, .buildinfo, .changes and the log" "yes yes yes yes" \
		"$(for e in deb buildinfo changes build; do grep -q "\.$e\$" "$W/$pkg.results" && printf 'yes ' || printf 'no '; done | sed 's/ $//')"
	check "$pkg: every result belongs to the user" "$UID_:$UID_" \
		"$(cd "$H/src" && stat -c %u:%g $(cat "$W/$pkg.results") | sort -u | tr '\n' ' ' | sed 's/ $//')"
	check "$pkg: its tree still the user's alone" "" "$(find "$d" ! -uid "$UID_" | head -3)"
done
# the user's base keeps its lists, and apt's cache of them valid
check "hello: the first build read the lists of the user's fresh base: no apt-get update" 1 \
	"$(grep -c '^nsbox-debuild: the package lists of the base are younger than 30 minutes: no apt-get update$' "$H/src"/hello_*.build)"
check "hello's .deb installs and runs in a container of the user's" "Hello, world!" \
	"$(as_u sh -c 'nsbox run --profile=sid-build -m bind-ro:$HOME/src:/mnt -- sh -c "dpkg -i /mnt/hello_*_amd64.deb >/dev/null && hello"' 2>&1)"
check "nothing nsbox-debuild made is left in /var/tmp" "" "$(find /var/tmp -maxdepth 1 -name 'nsbox-debuild.*' -user "$U")"
rm -rf "$SHIPPED"
audit_check "nsbox-debuild as a user"
finish

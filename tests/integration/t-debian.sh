#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A real Debian root: a bookworm tarball made by helpers/nsbox-mkroot
# (cached in /var/cache/nsbox-test between runs), run with the shipped
# bookworm-build profile. Debian's package tools under nsbox's default
# capabilities: apt-get update and install, build-dep, useradd, su,
# dpkg-buildpackage with fakeroot as an unprivileged user, and dpkg -i.
# Only apt and mmdebstrap talk to the mirror.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
# where only root can write: nsbox-mkroot refuses anywhere else as root
debian_base
out=$(cat "$LOG")
case $out in *"[root]
tarball = $TAR
hostname = bookworm-build"*) ok "nsbox-mkroot prints the profile lines that use the tarball";;
*) not_ok "nsbox-mkroot prints the profile lines that use the tarball" "$(tail -12 "$LOG")";; esac
check "nsbox-mkroot: a tarball without device nodes" "0" \
	"$(zstd -dc "$TAR" | tar -tvf - | grep -c '^[cb]')"
export NSBOX_CACHE_DIR="$W/cache"
# The shipped profile, on the test's tarball; the host's resolver for apt.
deb() { "$NSBOX" run --profile="$PROFILES/bookworm-build.conf" --set root.tarball="$TAR" \
	--no-netns -m bind-ro:/etc/resolv.conf:/etc/resolv.conf "$@"; }
out=$(deb -- sh -c 'cat /etc/debian_version; hostname; pwd; apt-get -q update >/dev/null && apt-get install -y -q hello >/dev/null && hello' 2>"$W/err")
check "nsbox run --profile=bookworm-build: apt-get install in the tarball root" \
	"12 bookworm-build /build Hello, world!" "$(printf '%s\n' "$out" | sed 's/^12\..*/12/' | tr '\n' ' ' | sed 's/ $//')"
check "the base is untouched: hello is not installed in the next run" "no" \
	"$(deb -- sh -c 'command -v hello >/dev/null && echo yes || echo no' 2>/dev/null)"

# A package whose build needs a build-dependency, chown and dpkg-deb.
P="$W/pkg/t-1.0"
mkdir -p "$P/debian/source"
cat >"$P/debian/control" <<'C'
Source: t
Section: misc
Priority: optional
Maintainer: nsbox tests <nsbox@example.invalid>
Build-Depends: hello
Standards-Version: 4.6.2

Package: t
Architecture: all
Description: nsbox capability probe
 Built to find out which capabilities dpkg-buildpackage needs.
C
cat >"$P/debian/changelog" <<'C'
t (1.0) unstable; urgency=medium

  * Initial.

 -- nsbox tests <nsbox@example.invalid>  Mon, 23 Nov 2026 12:00:00 +0000
C
printf '#!/usr/bin/make -f\nbuild build-arch build-indep:\n\thello >built\nbinary binary-arch binary-indep:\n\tmkdir -p debian/tmp/DEBIAN debian/tmp/usr/share/doc/t\n\tcp built debian/tmp/usr/share/doc/t/\n\tchown -R root:root debian/tmp\n\tdpkg-gencontrol -pt -Pdebian/tmp\n\tdpkg-deb --build debian/tmp ..\nclean:\n\trm -rf debian/tmp built\n' >"$P/debian/rules"
chmod 755 "$P/debian/rules"; echo "3.0 (native)" >"$P/debian/source/format"

own "$W/pkg"
out=$(deb -m bind:"$W/pkg":/src -- sh -c '
	step() { echo "$1"; shift; "$@" >/tmp/log 2>&1 || { echo "$? FAILED"; tail -5 /tmp/log; exit 1; }; }
	step update apt-get update
	step install apt-get install -y hello
	cd /src/t-1.0
	step build-dep apt-get build-dep -y .
	step useradd useradd -m builder
	step chown chown -R builder /src
	step build su builder -c "dpkg-buildpackage -us -uc -b -rfakeroot"
	step dpkg-i dpkg -i /src/t_1.0_all.deb
	step run cat /usr/share/doc/t/built' 2>&1)
check "apt, build-dep, useradd, su, dpkg-buildpackage, dpkg -i with the default capabilities" \
	"update install build-dep useradd chown build dpkg-i run" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')"
check "the package was built and installed" "Hello, world!" "$(dpkg-deb --fsys-tarfile "$W/pkg/t_1.0_all.deb" | tar -xOf - ./usr/share/doc/t/built)"

audit_check "after all runs"
finish

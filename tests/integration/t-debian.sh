#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Debian's package tools under nsbox's default capabilities, in a real
# bookworm root made by mmdebstrap (cached in /var/tmp between local runs):
# apt-get update and install, build-dep, useradd, su, dpkg-buildpackage
# with fakeroot as an unprivileged user, and dpkg -i. Only apt and
# mmdebstrap talk to the mirror.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
TAR=/var/tmp/nsbox-test-bookworm.tar
command -v mmdebstrap >/dev/null || { echo "Bail out! mmdebstrap is missing (make deps)"; exit 1; }
if [ ! -s "$TAR" ]; then
	if ! mmdebstrap --quiet --format=tar --variant=apt --include=build-essential,fakeroot \
		bookworm "$TAR.tmp" "$MIRROR"; then
		rm -f "$TAR.tmp"; echo "Bail out! mmdebstrap bookworm failed"; exit 1
	fi
	mv "$TAR.tmp" "$TAR"
fi
DROOT="$W/bookworm"
mkdir "$DROOT"
tar -C "$DROOT" --numeric-owner -xpf "$TAR" || { echo "Bail out! cannot unpack $TAR"; exit 1; }

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

out=$("$NSBOX" run --chroot="$DROOT" -w --no-netns -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/pkg":/build -- sh -c '
	step() { echo "$1"; shift; "$@" >/tmp/log 2>&1 || { echo "$? FAILED"; tail -5 /tmp/log; exit 1; }; }
	step update apt-get update
	step install apt-get install -y hello
	cd /build/t-1.0
	step build-dep apt-get build-dep -y .
	step useradd useradd -m builder
	step chown chown -R builder /build
	step build su builder -c "dpkg-buildpackage -us -uc -b -rfakeroot"
	step dpkg-i dpkg -i /build/t_1.0_all.deb
	step run cat /usr/share/doc/t/built' 2>&1)
check "apt, build-dep, useradd, su, dpkg-buildpackage, dpkg -i with the default capabilities" \
	"update install build-dep useradd chown build dpkg-i run" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')"
check "the package was built and installed" "Hello, world!" "$(dpkg-deb --fsys-tarfile "$W/pkg/t_1.0_all.deb" | tar -xOf - ./usr/share/doc/t/built)"

audit_check "after all runs"
finish

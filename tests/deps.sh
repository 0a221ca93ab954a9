#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian packages nsbox needs to build and test, if any is
# missing. A no-op when all are present.
set -eu

pkgs="gcc make pkg-config libinih-dev libmnl-dev libcap-dev libarchive-dev
libcmocka-dev libc6-dev busybox-static perl iproute2 uidmap mmdebstrap mandoc cppcheck shellcheck
clang clang-format python3 zstd xz-utils bzip2 lz4 attr acl libcap2-bin libarchive-tools
libsystemd-dev dbus-daemon python3-dbusmock systemd-container iputils-ping
xvfb x11-utils"

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing (run make deps as root)" >&2
	exit 1
fi
echo "deps: installing:$missing"
apt-get update -q
# shellcheck disable=SC2086 # word splitting is wanted
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing

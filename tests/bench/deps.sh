#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What make bench compares nsbox with, on top of make deps.
set -eu
sh "$(dirname "$0")/../deps.sh"
pkgs="libarchive-tools tar zstd mmdebstrap sbuild uidmap pbuilder cowbuilder debootstrap bubblewrap
systemd-container time schroot gnuplot-nox"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && { echo "bench-deps: all present"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "bench-deps: missing:$missing (run as root)" >&2; exit 1; }
apt-get update -q
# shellcheck disable=SC2086 # word splitting is wanted
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mkimage.sh DIR: a Debian trixie disk image for tests/vm in DIR, unless
# one of the same inputs is there: DIR/KEY.img (ext4, raw), DIR/KEY.vmlinuz,
# DIR/KEY.initrd, where KEY hashes this script and the package list of
# tests/deps.sh (the image holds every build and test dependency, so that
# `make deps` in the guest installs nothing and the guest needs no
# network). Prints the image's path. From the Debian mirror only
# (NSBOX_TEST_MIRROR, else deb.debian.org), with mmdebstrap, as root.
#
# The guest: systemd as PID 1 (cgroup v2 only: trixie's systemd mounts
# nothing else), a tmpfs /run, dbus, systemd-machined (systemd-container),
# sudo, and one unit, check-vm.service, that the runner's kernel command
# line starts (systemd.unit=check-vm.target): it unpacks the checkout from
# the second disk (/dev/vdb, a tar) into /root/nsbox and runs
# tests/vm/guest.sh there, its TAP to the second serial port (/dev/ttyS1),
# then powers off. /srv/boot is a second, minimal root with systemd as its
# init and a login prompt, for booting in nsbox. apt's cache of the packages
# the image was made of is kept (/var/cache/apt/archives): the guest's
# local repository, for a run that installs packages without a network.
# /srv/peer: a bookworm testbed, redis's .debs and its source, for
# autopkgtest through autopkgtest-virt-nsbox.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
DIR=$1
MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
# what make deps installs, so that the README's command installs nothing
pkgs=$(sed -n -e '/^pkgs="/,/"$/p' -e '/^vmhost="/p' "$here/../deps.sh" | tr -d '"' |
	sed 's/^[a-z]*=//' | tr -s ' \n' ',,' | sed 's/,$//')
vmpkgs=systemd-sysv,dbus,dbus-user-session,systemd-container,linux-image-amd64,udev,sudo,procps,psmisc,util-linux
KEY=$({ cat "$0"; echo "$pkgs"; echo "$MIRROR"; } | sha256sum | cut -c1-16)
IMG=$DIR/trixie-$KEY
if [ -s "$IMG.img" ] && [ -s "$IMG.vmlinuz" ] && [ -s "$IMG.initrd" ]; then
	echo "$IMG"
	exit 0
fi
mkdir -p "$DIR"
# images of other inputs go
find "$DIR" -maxdepth 1 -name 'trixie-*' ! -name "trixie-$KEY.*" -exec rm -rf {} +
T=$(mktemp -d "$DIR/.new.XXXXXX")
trap 'rm -rf "$T"' EXIT
# mmdebstrap's mounts in a namespace of their own: on the host they would
# show in the integration tests' leak audits
# shellcheck disable=SC2016 # expanded by mmdebstrap's hooks
unshare --mount --propagation private -- mmdebstrap --quiet --variant=important --include="$vmpkgs,$pkgs" --skip=cleanup/apt/cache \
	--customize-hook='echo nsbox-vm >"$1/etc/hostname"' \
	--customize-hook='printf "127.0.1.1 nsbox-vm\n" >>"$1/etc/hosts"' \
	--customize-hook='passwd --root "$1" -d root' \
	--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
	--customize-hook='cat >"$1/etc/systemd/system/check-vm.target" <<EOF
[Unit]
Description=nsbox tests in the VM
Requires=multi-user.target check-vm.service
After=multi-user.target
AllowIsolate=yes
EOF' \
	--customize-hook='cat >"$1/etc/systemd/system/check-vm.service" <<EOF
[Unit]
Description=nsbox tests in the VM (tests/vm/guest.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c "mkdir -p /root/nsbox && tar -xf /dev/vdb -C /root/nsbox && cd /root/nsbox && exec sh tests/vm/guest.sh >/dev/ttyS1 2>/dev/ttyS0"
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=infinity
StandardOutput=journal+console
EOF' \
	--customize-hook='rm -f "$1"/etc/systemd/system/getty.target.wants/* "$1"/etc/systemd/system/multi-user.target.wants/apt* "$1"/etc/systemd/system/timers.target.wants/*' \
	trixie "$T/root.tar" "$MIRROR"
mkdir "$T/tree"
tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$T/root.tar" -C "$T/tree"
rm "$T/root.tar"
# a root to boot in nsbox: systemd as its PID 1, and a login prompt
# shellcheck disable=SC2016 # expanded by mmdebstrap's hooks
unshare --mount --propagation private -- mmdebstrap --quiet --variant=minbase --include=systemd-sysv,dbus,login \
	--customize-hook='echo boot >"$1/etc/hostname"' \
	--customize-hook='passwd --root "$1" -d root' \
	trixie "$T/boot.tar" "$MIRROR"
mkdir -p "$T/tree/srv/boot"
tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$T/boot.tar" -C "$T/tree/srv/boot"
rm "$T/boot.tar"
# autopkgtest on a real package in the guest (run.sh's full and peer sets):
# bookworm's redis, whose 0001-redis-cli restarts redis-server through its
# init script (ulimit -n 65536) and leaves it running. A bookworm testbed,
# the .debs of redis's binary packages and of dpkg-dev (autopkgtest wants
# it in the testbed to test a source tree) with what they need beyond it
# (the guest's local repository), and redis's unpacked source, in /srv/peer.
P=$T/tree/srv/peer
mkdir -p "$P/debs"
# shellcheck disable=SC2016 # expanded by mmdebstrap's hooks
unshare --mount --propagation private -- mmdebstrap --quiet --variant=minbase \
	--customize-hook='APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get -qq -y --download-only install redis redis-server redis-tools redis-sentinel dpkg-dev' \
	--customize-hook="mv \"\$1\"/var/cache/apt/archives/*.deb '$P/debs/'" \
	bookworm "$P/bookworm.tar" "$MIRROR"
A=$T/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
echo "deb-src $MIRROR bookworm main" >"$A/sources.list"
set -- -qq -o Dir::Etc::sourcelist="$A/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$A/lists" \
	-o Dir::Cache="$A/cache" -o Acquire::Languages=none
apt-get "$@" update
(cd "$A" && apt-get "$@" source redis >/dev/null 2>&1 && mv redis-*/ "$P/") ||
	{ echo "mkimage.sh: apt-get source redis (bookworm) failed" >&2; exit 1; }
cp "$T"/tree/boot/vmlinuz-* "$T/vmlinuz"
cp "$T"/tree/boot/initrd.img-* "$T/initrd"
mke2fs -q -t ext4 -L root -d "$T/tree" "$T/img" 8G >/dev/null
mv "$T/vmlinuz" "$IMG.vmlinuz"
mv "$T/initrd" "$IMG.initrd"
mv "$T/img" "$IMG.img"
echo "$IMG"

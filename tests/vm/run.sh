#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# make check-vm: boot a Debian trixie VM (systemd as PID 1, cgroup v2 only,
# a tmpfs /run, systemd-machined) under qemu and run tests/vm/guest.sh in
# it; its TAP comes out here. The image is made by mkimage.sh and kept in
# NSBOX_VM_CACHE (default /var/cache/nsbox-test/vm) until its inputs
# change; the guest runs on a throw-away snapshot of it (-snapshot). The
# checkout (tracked and new files, no build output) goes in as a tar on a
# second disk; the serial console is kept in $NSBOX_VM_LOG (default
# tests/vm/console.log). KVM when /dev/kvm works, TCG otherwise.
# NSBOX_VM_TIMEOUT (seconds, default 2400) ends a guest that hangs: a
# failure. NSBOX_VM_SET=ci leaves out the slow parts, peer runs only
# autopkgtest on redis (tests/vm/README.md).
# Needs root, qemu-system-x86 and mmdebstrap (make deps).
set -u
here=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$here/../.." && pwd)
CACHE=${NSBOX_VM_CACHE:-/var/cache/nsbox-test/vm}
LOG=${NSBOX_VM_LOG:-$here/console.log}
TIMEOUT=${NSBOX_VM_TIMEOUT:-2400}
# full: everything guest.sh has; ci: without the sid-build-style apt
# install, autopkgtest on redis and the integration test files (.ci/run's
# choice); peer: the README's command and autopkgtest on redis alone
SET=${NSBOX_VM_SET:-full}
case $SET in full | ci | peer) ;; *) echo "Bail out! NSBOX_VM_SET: full, ci or peer, not '$SET'"; exit 1 ;; esac
bail() { echo "Bail out! $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || bail "make check-vm needs root (mmdebstrap, the image)"
command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 is missing (make deps: qemu-system-x86)"

t0=$(date +%s)
mkdir -p "$CACHE" && chmod 700 "$CACHE"
IMG=$(sh "$here/mkimage.sh" "$CACHE" 2>"$CACHE/mkimage.err") || bail "making the image: $(tail -3 "$CACHE/mkimage.err" | tr '\n' ' ')"
t1=$(date +%s)

W=$(mktemp -d /tmp/nsbox-vm.XXXXXX)
trap 'rm -rf "$W"' EXIT
git -C "$TOP" ls-files -z --cached --others --exclude-standard |
	tar -C "$TOP" --null -T - --ignore-failed-read -cf "$W/src.tar"
# a tar is read from the disk as it is; pad it to whole sectors
truncate -s %512 "$W/src.tar"

# KVM only where it really runs a guest: /dev/kvm can exist where the CPU
# has no virtualisation for this machine (then qemu hangs, not fails).
# TCG runs the vCPUs on one thread: with one thread each, the guest
# kernel's code patching (static keys) raced and oopsed here (int3).
accel=tcg,thread=single cpu=max
if [ -w /dev/kvm ] && grep -qE '^flags.*\b(vmx|svm)\b' /proc/cpuinfo; then
	accel=kvm cpu=host
fi
ncpu=$(nproc)
[ "$ncpu" -le 4 ] || ncpu=4
echo "# vm: $IMG.img, accel $accel, $ncpu CPUs, set $SET; image ready in $((t1 - t0)) s"
: >"$W/tap"
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$ncpu" -m 3072 \
	-display none -vga none -nodefaults -no-reboot -snapshot \
	-chardev file,id=con,path="$LOG" -serial chardev:con \
	-chardev file,id=tap,path="$W/tap" -serial chardev:tap \
	-drive file="$IMG.img",format=raw,if=virtio \
	-drive file="$W/src.tar",format=raw,if=virtio,readonly=on \
	-kernel "$IMG.vmlinuz" -initrd "$IMG.initrd" \
	-append "console=ttyS0 root=/dev/vda rw panic=-1 systemd.unit=check-vm.target systemd.show_status=0 quiet nsbox.vmset=$SET" \
	</dev/null >"$W/qemu.out" 2>&1
rc=$?
t2=$(date +%s)
tr -d '\r' <"$W/tap"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "not ok - the guest ended within ${TIMEOUT} s (NSBOX_VM_TIMEOUT); console in $LOG"
	echo "1..1"
	exit 1
fi
grep -q '^1\.\.[0-9]' "$W/tap" || {
	echo "not ok - the guest printed its plan (qemu: $rc, $(tail -2 "$W/qemu.out" | tr '\n' ' ')); console in $LOG"
	exit 1
}
echo "# vm: the guest ran for $((t2 - t1)) s (boot and tests, $accel)"

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Full file systems and few file descriptors (SECURITY-CASES C3-C6): an
# upper on an 8 MB tmpfs, /run/nsbox with no inode left, ulimit -n 16.
# shellcheck disable=SC3045 # ulimit -n: dash and bash have it
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

run() { "$NSBOX" run --chroot="$ROOT" "$@"; }
# the test's own mounts go even when it is stopped half-way
trap 'umount "$W/small" 2>/dev/null; umount "$STATEDIR" 2>/dev/null' EXIT INT TERM

# --- C3, C4: the upper's file system fills up ---
mkdir "$W/small"
# the upper's directory is the caller's: root's (which nsbox as root
# insists on), or in mode user the user's, who makes the upper there
mount -t tmpfs -o size=8M,mode=755 tmpfs "$W/small"
[ "$MODE" != user ] || chown "$NSBOX_TEST_USER" "$W/small"
mkdir "$W/small/up"; own "$W/small/up"
out=$(run --set root.upper="$W/small/up" -- sh -c 'dd if=/dev/zero of=/big bs=1M count=16 2>&1; echo "dd: $?"' 2>&1); rc=$?
case $out in *"No space left on device"*"dd: 1"*) ok "C3: the payload sees ENOSPC";;
*) not_ok "C3: the payload sees ENOSPC" "$out";; esac
check "C3: the exit status is the payload's" 0 "$rc"
check "C4: the upper keeps what was written" "yes" "$([ -s "$W/small/up/big" ] && echo yes)"
check "C4: the next run on the full upper works" "hello" "$(run --set root.upper="$W/small/up" -- echo hello 2>&1)"
umount "$W/small"

# --- C5: no inode left where the state goes ---
if [ "$STATEDIR" = /run/nsbox ]; then
	mount -t tmpfs -o size=1M,nr_inodes=3,mode=0711 tmpfs /run/nsbox
else # the user's, as nsbox wants it
	mkdir -p "$STATEDIR"
	mount -t tmpfs -o "size=1M,nr_inodes=3,mode=0700,uid=$(id -u "$NSBOX_TEST_USER"),gid=$(id -g "$NSBOX_TEST_USER")" tmpfs "$STATEDIR"
fi
touch "$STATEDIR/x" 2>/dev/null
i=0; while touch "$STATEDIR/fill$i" 2>/dev/null; do i=$((i + 1)); done
out=$(run -- true 2>&1); rc=$?
case "$rc|$out" in "125|nsbox: state: $STATEDIR"*"No space left on device") ok "C5: full state fs: 125 and one line";;
*) not_ok "C5: full state fs: 125 and one line" "$rc|$out";; esac
rm -f "$STATEDIR/x" "$STATEDIR"/fill*
check "C5: nothing half-written is left" "" "$(ls -A "$STATEDIR")"
mount -o remount,nr_inodes=1000 "$STATEDIR"
check "C5: with room again, it runs" "0" "$(run -- true >/dev/null 2>&1; echo $?)"
umount "$STATEDIR"

# --- an ephemeral root's upper is on disk, not where the state is (a
# tmpfs /run on most hosts): 16 MB written with 4 MB there ---
if [ "$STATEDIR" = /run/nsbox ]; then
	mount -t tmpfs -o size=4M,mode=0711 tmpfs /run/nsbox
else
	mount -t tmpfs -o "size=4M,mode=0700,uid=$(id -u "$NSBOX_TEST_USER"),gid=$(id -g "$NSBOX_TEST_USER")" tmpfs "$STATEDIR"
fi
out=$(run --ephemeral -- sh -c 'dd if=/dev/zero of=/big bs=1M count=16 2>/dev/null && ls -l /big' 2>&1)
case $out in *" 16777216 "*"/big") ok "an ephemeral upper takes 16 MB with 4 MB in the state directory";;
*) not_ok "an ephemeral upper takes 16 MB with 4 MB in the state directory" "$out";; esac
check "... and leaves nothing there" "" "$(ls -A "$STATEDIR")"
umount "$STATEDIR"

# --- C6: ulimit -n 16 in the caller ---
veth=--netif=veth:auto:eth0
only "$PRIV" 0 "" || veth=--netif # interfaces need root
out=$(ulimit -n 16 && run "$veth" -- echo fine 2>&1); rc=$?
check "C6: ulimit -n 16: it runs (with a veth as root)" "0|fine" "$rc|$out"
out=$(ulimit -n 16 && run --set limits.nofile=16 -- sh -c 'ls /proc/self/fd | wc -l' 2>&1)
check "C6: the payload gets only 0, 1, 2 (and ls's own)" "4" "$out"

trap - EXIT INT TERM
audit_check "full"
finish

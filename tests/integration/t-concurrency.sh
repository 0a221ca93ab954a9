#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# C1: 50 concurrent ephemeral runs of one tarball root, each with a veth
# whose host name nsbox picks; C9: 1000 sequential runs without growth in
# state, cgroups, interfaces or the driver's fds. In a network namespace of
# the test's own.
# shellcheck disable=SC2016
if [ "${NSBOX_IN_NETNS:-}" != 1 ] && [ "$(id -u)" -eq 0 ]; then
	NSBOX_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "C1 and C9 runs have veths, which need root"

export NSBOX_CACHE_DIR="$W/cache"
tar -C "$ROOT" --numeric-owner -czf "$W/root.tar.gz" .
links() { ip -o link show | wc -l; }
links0=$(links)

# --- C1 ---
i=0
while [ $i -lt 50 ]; do
	"$NSBOX" run --set root.tarball="$W/root.tar.gz" --netif=veth:auto:eth0 --set limits.pids=64 \
		-- sh -c 'echo $$-$(cat /proc/sys/kernel/random/uuid) >/marker; sleep 2; cat /marker; ls /sys/class/net | tr "\n" " "' \
		>"$W/c1.$i.out" 2>"$W/c1.$i.err" &
	i=$((i + 1))
done
wait
ok=0
i=0
while [ $i -lt 50 ]; do
	[ -s "$W/c1.$i.out" ] && ok=$((ok + 1))
	i=$((i + 1))
done
check "C1: 50 concurrent runs all print their marker" 50 "$ok"
check "C1: each saw only its own /marker (50 different ones)" 50 "$(for f in "$W"/c1.*.out; do head -1 "$f"; done | sort -u | wc -l)"
check "C1: each had its own eth0 and lo" 50 "$(grep -c 'eth0 lo' "$W"/c1.*.out | awk -F: '{s += $2} END {print s}')"
check "C1: one extraction for all" 1 "$(cat "$W"/c1.*.err | grep -c 'extracting root.tar.gz into')"
check "C1: no interface left" "$links0" "$(links)"

# --- C9 ---
# The driver shell's fds, each with what it points to. A simple command
# writing a file: in $(...) or a pipe, find could list a pipe end that the
# shell closes just after its fork, one fd more now and then.
# (the same file each time: the shell may hold it open while find runs)
fds() { find /proc/$$/fd -mindepth 1 -printf '%f %l\n' >"$W/fds"; sort -n "$W/fds" >"$W/$1"; }
fds fd0
i=0 fails=0
while [ $i -lt 1000 ]; do
	"$NSBOX" run --chroot="$ROOT" --set limits.pids=32 -- true || fails=$((fails + 1))
	i=$((i + 1))
done
check "C9: 1000 sequential runs, all 0" 0 "$fails"
fds fd1
check "C9: the driver's fds did not grow" "$(tr '\n' ' ' <"$W/fd0")" "$(tr '\n' ' ' <"$W/fd1")"
check "C9: no interface left" "$links0" "$(links)"

audit_check "concurrency"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Shared by the integration tests: TAP output, the fixture root, and the
# leak audit (host mountinfo and nsbox state before and after).
# shellcheck disable=SC2012,SC2034 # ls of nsbox's own names; vars for the tests
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NSBOX="$TOP/nsbox"
W=$(mktemp -d /tmp/nsbox-it.XXXXXX)
ROOT="$W/root"
n=0
failed=0

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "Bail out! integration tests need root in CI"
			exit 1
		fi
		echo "1..0 # SKIP not root"
		exit 0
	fi
}

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "got: $3"; fi
}

audit_snapshot() {
	grep -v ' /tmp/nsbox-it\.' /proc/self/mountinfo | awk '{print $5}' | sort >"$W/$1.mounts"
	ls -A /run/nsbox 2>/dev/null | sort >"$W/$1.state"
	find /sys/fs/cgroup -name 'nsbox-*' -type d 2>/dev/null | sort >"$W/$1.cgroups"
	ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort >"$W/$1.links"
	# nsbox processes, and any process in a pid namespace that is not
	# ours: what a container would leave running. Zombies are not counted:
	# a detached or killed nsbox's are for PID 1 to reap.
	ps -e -o pid=,pidns=,stat=,comm= | awk -v own="$(ps -o pidns= -p $$ | tr -d ' ')" \
		'$2 != "-" && $3 !~ /^Z/ && ($4 == "nsbox" || $2 != own) {print $1, $4}' | sort >"$W/$1.procs"
}

# The host must look as it did before: no mounts, no state left.
audit_check() {
	audit_snapshot after
	if cmp -s "$W/before.mounts" "$W/after.mounts"; then ok "$1: no mounts left on the host"
	else not_ok "$1: no mounts left on the host" "$(diff "$W/before.mounts" "$W/after.mounts" | tr '\n' ' ')"; fi
	if cmp -s "$W/before.state" "$W/after.state"; then ok "$1: no state left in /run/nsbox"
	else not_ok "$1: no state left in /run/nsbox" "$(tr '\n' ' ' <"$W/after.state")"; fi
	if cmp -s "$W/before.cgroups" "$W/after.cgroups"; then ok "$1: no cgroup left"
	else not_ok "$1: no cgroup left" "$(tr '\n' ' ' <"$W/after.cgroups")"; fi
	if cmp -s "$W/before.links" "$W/after.links"; then ok "$1: no interface left"
	else not_ok "$1: no interface left" "$(diff "$W/before.links" "$W/after.links" | tr '\n' ' ')"; fi
	new=$(comm -13 "$W/before.procs" "$W/after.procs" | cut -d' ' -f1 | paste -sd, -)
	if [ -z "$new" ]; then ok "$1: no process left"
	else not_ok "$1: no process left" "$(ps -o pid=,ppid=,stat=,args= -p "$new" | tr '\n' ';')"; fi
}

# test_user NAME FIRST: the user NAME, its home $W/home, subordinate ids
# FIRST..FIRST+65535; restore undoes it (and runs on exit).
test_user() {
	TU=$1
	chmod 755 "$W"
	useradd -m -d "$W/home" -s /bin/sh "$TU" || { echo "Bail out! useradd $TU"; exit 1; }
	cp /etc/subuid "$W/subuid.saved"; cp /etc/subgid "$W/subgid.saved"
	echo "$TU:$2:65536" >>/etc/subuid; echo "$TU:$2:65536" >>/etc/subgid
	trap restore EXIT INT TERM
}
restore() {
	cp "$W/subuid.saved" /etc/subuid; cp "$W/subgid.saved" /etc/subgid; userdel "$TU" 2>/dev/null
	trap - EXIT INT TERM
}

# The .Dl lines of a man page's EXAMPLES section.
man_examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$1"
}

finish() {
	rm -rf "$W"
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

need_root
sh "$TOP/tests/fixtures/mkroot.sh" "$ROOT" || { echo "Bail out! cannot build the fixture root"; exit 1; }
cp "$TOP/tests/probe/nsbox-probe" "$ROOT/bin/" || { echo "Bail out! no tests/probe/nsbox-probe (make check builds it)"; exit 1; }
"$NSBOX" gc >/dev/null 2>&1 # leftovers of earlier killed runs are not this test's
audit_snapshot before

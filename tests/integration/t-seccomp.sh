#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# security.seccomp = yes: the default denylist (I9, I10), and what it
# leaves alone; the build profiles have it on.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

calls="keyctl bpf perf_event_open add_key init_module userfaultfd clone3 mount unshare-user audit-socket"
probe() { # OPTIONS...: each call's result, on one line
	for c in $calls; do
		"$NSBOX" run --chroot="$ROOT" "$@" -- nsbox-probe syscall "$c"
	done | tr '\n' ' ' | sed 's/ $//'
}
check "I9, I10: with seccomp, each denied call fails as the filter says" \
	"keyctl: Operation not permitted bpf: Operation not permitted perf_event_open: Operation not permitted add_key: Operation not permitted init_module: Operation not permitted userfaultfd: Operation not permitted clone3: Function not implemented mount: Operation not permitted unshare-user: Operation not permitted audit-socket: Address family not supported by protocol" \
	"$(probe --set security.seccomp=yes)"
check "I9: nested user namespaces are refused by the filter, not by chance" \
	"userns: created|userns: Operation not permitted" \
	"$("$NSBOX" run --chroot="$ROOT" -- nsbox-probe userns)|$("$NSBOX" run --chroot="$ROOT" --set security.seccomp=yes -- nsbox-probe userns)"
check "with CAP_SYS_ADMIN, the container may mount" "mount: ok" \
	"$("$NSBOX" run --chroot="$ROOT" --set security.seccomp=yes --caps=+sys_admin -- nsbox-probe syscall mount)"
check "the filter leaves ordinary work alone (fork, exec, files, sockets)" "ok" \
	"$("$NSBOX" run --chroot="$ROOT" --set security.seccomp=yes -- sh -c 'echo x >/tmp/f && cat /tmp/f >/dev/null && (true) && echo ok')"
check "I3: Seccomp 2 in /proc/self/status" "2" \
	"$("$NSBOX" run --chroot="$ROOT" --set security.seccomp=yes -- sh -c "awk '/^Seccomp:/{print \$2}' /proc/self/status")"
# nsbox exec into a filtered container, with every spelling: t-exec.sh
check "the build profiles turn it on" "seccomp = yes  # $PROFILES/build-common.conf" \
	"$("$NSBOX" show --profile="$PROFILES/sid-build.conf" | grep '^seccomp = ' | sed 's/:[0-9]*$//')"

audit_check "seccomp"
finish

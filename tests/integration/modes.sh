#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run the integration suite in one mode of SECURITY-CASES.md 3.0, or all:
#   root        as root (what `make check-integration` runs)
#   userns      as root, every run with a user namespace
#   user        as an unprivileged user with subordinate ids
#   no-openat2  as root, with openat2 failing (ENOSYS): the fallback resolver
# Mode user makes a user of its own (nsbox-mode) and removes it. Uid 0 of
# `unshare -r` (a rootless container) is tested in t-userns.sh only.
# NSBOX_TESTS="t-exec t-ps" runs those tests only (default: every t-*.sh).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ "$#" -gt 0 ] || set -- userns user no-openat2
tests=$(for t in ${NSBOX_TESTS:-}; do printf ' %s' "$TOP/tests/integration/${t%.sh}.sh"; done)
[ -n "$tests" ] || tests=$(printf ' %s' "$TOP"/tests/integration/t-*.sh)
rc=0
# shellcheck disable=SC2086 # PROVE holds options, split on purpose
for mode in "$@"; do
	echo "### integration suite, mode $mode"
	case $mode in
	user)
		userdel -r nsbox-mode >/dev/null 2>&1 || true
		useradd -m -s /bin/sh nsbox-mode
		cp /etc/subuid /etc/subuid.nsbox-mode; cp /etc/subgid /etc/subgid.nsbox-mode
		sed -i '/^nsbox-mode:/d' /etc/subuid /etc/subgid # useradd may have added some
		echo nsbox-mode:400000:65536 >>/etc/subuid; echo nsbox-mode:400000:65536 >>/etc/subgid
		NSBOX_TEST_MODE=$mode NSBOX_TEST_USER=nsbox-mode prove ${PROVE:-} $tests || rc=1
		mv /etc/subuid.nsbox-mode /etc/subuid; mv /etc/subgid.nsbox-mode /etc/subgid
		userdel -r nsbox-mode >/dev/null 2>&1 || true ;;
	*)
		NSBOX_TEST_MODE=$mode prove ${PROVE:-} $tests || rc=1 ;;
	esac
done
exit $rc

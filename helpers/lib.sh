# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh
# Shared by nsbox-debuild and nsbox-mkroot (sourced, not run).

# root_dir_ok DIR [sticky]: as root, DIR is a directory only root can
# change. Root creates, locks and replaces files there by name, which is
# safe only where no other user can put a link or swap a directory: so
# DIR, every directory above it and every symbolic link on the way (as
# written and as resolved) belong to root, and no directory is writable
# by anyone else, unless it is sticky (/tmp) and above DIR, or DIR itself
# with "sticky" (where mktemp -d's directory cannot be renamed by
# others). An unprivileged caller's files are its own business.
root_dir_ok() {
	[ "$(id -u)" -eq 0 ] || return 0
	case $1 in /*) _p=$1 ;; *) _p=$(pwd)/$1 ;; esac
	_real=$(cd -P -- "$1" 2>/dev/null && pwd) || return 1
	root_chain_ok "$_p" "${2:-no}" && root_chain_ok "$_real" "${2:-no}"
}

# root_chain_ok PATH sticky|no: PATH and each path above it, as written
# (lstat: a link is looked at, not followed).
root_chain_ok() {
	_d=$1 _sticky=$2
	while :; do
		# shellcheck disable=SC2046 # stat prints two words
		set -- $(stat -c '%u %a' -- "$_d" 2>/dev/null) || return 1
		[ "$#" -eq 2 ] && [ "$1" -eq 0 ] || return 1
		if [ ! -L "$_d" ] && [ $((0$2 & 022)) -ne 0 ]; then
			[ "$_sticky" = sticky ] && [ $((0$2 & 01000)) -ne 0 ] || return 1
		fi
		case $_d in / | .) return 0 ;; esac
		_d=$(dirname -- "$_d") _sticky=sticky
	done
}

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The bash completion against the nsbox of this tree (TAP).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
ln -s "$TOP/nsbox" "$B/nsbox"
ln -s "$TOP/debuild/nsbox-debuild" "$B/nsbox-debuild"
export PATH="$B:$PATH" NSBOX_PROFILE_PATH="$TOP/profiles"
# shellcheck source=helpers/bash-completion/nsbox
. "$TOP/helpers/bash-completion/nsbox"
compopt() { :; } # only inside a real completion
n=0 failed=0
# t NAME EXPECTED WORDS...: complete the last word
t() {
	local name=$1 want=$2
	shift 2
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	case ${COMP_WORDS[0]} in nsbox-debuild) _nsbox_debuild ;; *) _nsbox ;; esac
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
	n=$((n + 1))
	if [ "$got" = "$want" ]; then echo "ok $n - $name"; else
		failed=$((failed + 1)); echo "not ok $n - $name"; echo "# expected: $want"; echo "# got: $got"; fi
}
t "commands" "pause ps" nsbox p
t "commands: r" "resume run" nsbox r
t "run options from --help" "--chdir= --chroot=" nsbox run --ch
t "--set keys from show --keys" "--set=root.ephemeral=" nsbox run --set=root.ep
t "profiles from nsbox list" "--profile=sid-build" nsbox run --profile=sid
t "-p PROFILE" "sandbox" nsbox show -p sa
t "cache actions" "id list prune" nsbox cache ""
t "kill: signals after the name" "TERM" nsbox kill box TE
t "after --: the container's command is not nsbox's" "" nsbox run -- ps
t "nsbox-debuild options" "--lintian" nsbox-debuild --lin
t "nsbox-debuild --profile=" "--profile=trixie-build" nsbox-debuild --profile=trix
# tests/data/shadow/sandbox.conf is shadowed by profiles/sandbox.conf: nsbox
# list shows both, the completion offers the name once (as with a profile
# of the tree that is also installed under /usr/local)
NSBOX_PROFILE_PATH="$TOP/profiles:$TOP/tests/data/shadow" \
	t "a shadowed profile: its name once" "sandbox" nsbox show -p sa
echo "1..$n"
[ "$failed" -eq 0 ]

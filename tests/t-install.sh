#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# make install and uninstall (TAP): into a DESTDIR, then, in CI as root,
# into /usr/local when no nsbox is installed there; the installed programs
# run, and uninstall removes exactly what install put there. What the
# DESTDIR holds is counted there only: the results do not depend on what
# /usr/local and /etc/nsbox hold.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir "$D/root"
n=0 failed=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
		failed=$((failed + 1)); echo "not ok $n - $1"; echo "# expected: $2"; echo "# got: $3"; fi
}
files() { (cd "$1" && find . ! -type d | sort | tr '\n' ' '); }

make -s -C "$TOP" install DESTDIR="$D/root" >/dev/null
check "install into a DESTDIR: the layout" \
	"./etc/nsbox/README ./usr/local/bin/autopkgtest-virt-nsbox ./usr/local/bin/nsbox ./usr/local/bin/nsbox-debuild ./usr/local/bin/nsbox-gitlab-executor ./usr/local/lib/nsbox/lib.sh ./usr/local/lib/nsbox/nsbox-mkroot ./usr/local/share/bash-completion/completions/nsbox ./usr/local/share/bash-completion/completions/nsbox-debuild ./usr/local/share/man/man1/autopkgtest-virt-nsbox.1 ./usr/local/share/man/man1/nsbox-debuild.1 ./usr/local/share/man/man1/nsbox-gitlab-executor.1 ./usr/local/share/man/man1/nsbox-mkroot.1 ./usr/local/share/man/man1/nsbox.1 ./usr/local/share/man/man5/nsbox.conf.5 ./usr/local/share/nsbox/profiles/autopkgtest.conf ./usr/local/share/nsbox/profiles/bookworm-build.conf ./usr/local/share/nsbox/profiles/build-common.conf ./usr/local/share/nsbox/profiles/sandbox.conf ./usr/local/share/nsbox/profiles/sid-build.conf ./usr/local/share/nsbox/profiles/trixie-build.conf " \
	"$(files "$D/root")"
check "the installed nsbox runs" "nsbox 0.1.0" "$("$D/root/usr/local/bin/nsbox" --version | sed -n 1p)"
check "nsbox --version: the optional features, + or -" "yes" \
	"$("$D/root/usr/local/bin/nsbox" --version | sed -n 2p | grep -Eqx '[+-]sd-bus [+-]seccomp' && echo yes)"
# by path, so that only the DESTDIR's count, whatever /etc/nsbox and
# /usr/local hold; their includes are found in the DESTDIR first
P="$D/root/usr/local/share/nsbox/profiles"
check "the shipped profiles are valid" "6" \
	"$(NSBOX_PROFILE_PATH="$P" "$D/root/usr/local/bin/nsbox" check "$P"/*.conf 2>&1 | grep -c ': ok$')"
check "nsbox-debuild knows where nsbox-mkroot is" "LIBEXECDIR=/usr/local/lib/nsbox" \
	"$(grep '^LIBEXECDIR=' "$D/root/usr/local/bin/nsbox-debuild" | cut -d' ' -f1)"
check "the man pages are lint-clean" "" "$(mandoc -Tlint -Wwarning "$D"/root/usr/local/share/man/man*/* 2>&1)"
make -s -C "$TOP" uninstall DESTDIR="$D/root" >/dev/null 2>&1
check "uninstall removes what install put there" "" "$(files "$D/root")"

# An nsbox installed there already (the README's first command) is the
# user's: not replaced, and not removed by this test's uninstall.
if [ -e /usr/local/bin/nsbox ] || [ -e /usr/local/share/nsbox ]; then
	echo "# /usr/local: not tested, an nsbox is installed there already"
elif [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
	find /usr/local /etc/nsbox 2>/dev/null | sort >"$D/before"
	make -s -C "$TOP" install >/dev/null
	check "/usr/local: nsbox finds the shipped profiles" "yes" \
		"$(nsbox list 2>/dev/null | grep -q '^sid-build.*/usr/local/share/nsbox/profiles/sid-build.conf' && echo yes)"
	check "/usr/local: nsbox-debuild runs" "yes" "$(nsbox-debuild --help | grep -q '^usage: nsbox-debuild' && echo yes)"
	check "/usr/local: the completion loads" "complete -F _nsbox nsbox" \
		"$(bash -c '. /usr/local/share/bash-completion/completions/nsbox; complete -p nsbox')"
	make -s -C "$TOP" uninstall >/dev/null 2>&1
	find /usr/local /etc/nsbox 2>/dev/null | sort >"$D/after"
	check "/usr/local: uninstall leaves it as it was" "" "$(diff "$D/before" "$D/after" | grep '^[<>]' | tr '\n' ' ')"
else
	echo "# /usr/local is installed into only in CI, as root"
fi
echo "1..$n"
[ "$failed" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The EXAMPLES of nsbox(1), nsbox.conf(5) and nsbox-mkroot(1), run as
# written: "# " lines as root, "$ " lines as a user this test makes (with
# subordinate ids). Paths are the test's: /srv/roots/sid and ~/roots/sid
# are the fixture root, NSBOX_CACHE_DIR is the test's (so nsbox-mkroot sid
# writes there, from the mirror), and profiles come from a directory in
# NSBOX_PROFILE_PATH. nsbox-debuild(1)'s examples run in t-debuild.sh.
# An example this test does not know fails it: new examples get a check.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes root "examples run as written: as root, and as a user of their own"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
command -v mmdebstrap >/dev/null || { echo "Bail out! mmdebstrap is missing (make deps)"; exit 1; }
TAR="$W/cache/sid.tar.zst"

test_user nsbox-examples 510000
mkdir -p "$W/home/roots"
cp -a "$ROOT" "$W/home/roots/sid"; chown -R "$TU:" "$W/home/roots"
# as mmdebstrap --mode=unshare makes it: the first subordinate id's
cp -a "$ROOT" "$W/home/roots/bookworm"; chown -R 510000:510000 "$W/home/roots/bookworm"
# an X server for the X client example
start_xvfb
mkdir "$W/bin" "$W/profiles"
cp "$NSBOX_BIN" "$W/bin/nsbox"; cp "$TOP/helpers/nsbox-mkroot" "$TOP/helpers/lib.sh" "$W/bin/"; chmod 755 "$W/bin"/*
# The shipped profiles, with the sid tarball at the test's path.
cp "$TOP"/profiles/*.conf "$W/profiles/"
sed -i "s|^tarball = .*|tarball = $TAR|" "$W/profiles/sid-build.conf"
chmod 755 "$W/profiles"; chmod 644 "$W/profiles"/*
export NSBOX_PROFILE_PATH="$W/profiles" NSBOX_CACHE_DIR="$W/cache" NSBOX_MIRROR="$MIRROR"

# nsbox.conf(5): its profile, as "mine" in the profile directory.
sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$TOP/man/nsbox.conf.5" |
	sed -n '/^\.Bd -literal/,/^\.Ed/p' | sed '1d;$d' >"$W/profiles/mine.conf"
out=$("$NSBOX" check mine 2>&1); rc=$?
check "nsbox.conf(5): the example profile checks" "0|mine: ok" "$rc|$out"

run() { # WHO CMD: prints the output, returns the status
	cmd=$(printf '%s' "$2" | sed -e "s|/srv/roots/sid|$ROOT|g" \
		-e "s|/var/cache/nsbox/sid.tar.zst|$TAR|g" -e "s|/home/me/src|$W/home|g" \
		-e "s|0:100000:|0:510000:|g")
	case $1 in
	'#') (cd "$W" && PATH="$W/bin:$PATH" sh -c "$cmd" </dev/null 2>&1) ;;
	'$') (cd "$W/home" && runuser -u "$TU" -- env -i PATH="$W/bin:/usr/bin:/bin" \
		HOME="$W/home" USER="$TU" NSBOX_PROFILE_PATH="$W/profiles" DISPLAY=":$d" \
		NSBOX_MIRROR="$MIRROR" sh -c "$cmd" </dev/null 2>&1) ;;
	esac
}

# nsbox-mkroot(1) first: its sid root is the one the others use.
for page in nsbox-mkroot.1 nsbox.1 nsbox.conf.5; do
	man_examples "$TOP/man/$page" >"$W/lines"
	check "$page has examples" yes "$([ -s "$W/lines" ] && echo yes)"
	while IFS= read -r line; do
		who=${line%% *} cmd=${line#? }
		out=$(run "$who" "$cmd"); rc=$?
		t="$page: $line"
		case $cmd in
		"nsbox run -- id")
			check "$t" "0 yes" "$rc $(echo "$out" | grep -q '^uid=0(root)' && echo yes)" ;;
		"nsbox run --chroot=/srv/roots/sid --ephemeral -- /bin/sh")
			check "$t" 0 "$rc" ;;
		"nsbox show --profile=sid-build --mount=tmp:/tmp")
			check "$t" "0 yes" "$rc $(echo "$out" | grep -q '^tmp = /tmp  # command line' && echo yes)" ;;
		"nsbox check")
			check "$t: every profile is ok" "0 0" "$rc $(echo "$out" | grep -vc ': ok$')" ;;
		'nsbox run --chroot=$HOME/roots/sid --ephemeral --user=builder -- id')
			check "$t" "0 uid=1000(builder)" "$rc $(echo "$out" | cut -d' ' -f1)" ;;
		'nsbox run --user=$USER --mount=tmp:$HOME -- xdpyinfo')
			check "$t: reaches the display" "0 yes" "$rc $(echo "$out" | grep -q "^name of display: *:$d\$" && echo yes)" ;;
		'nsbox run --user-map=0:100000:65536 --chroot=$HOME/roots/bookworm -- id')
			check "$t" "0 uid=0(root)" "$rc $(echo "$out" | cut -d' ' -f1)" ;;
		'nsbox run --chroot=$HOME/roots/bookworm --ephemeral -- ls -ln /etc/passwd')
			check "$t: root's inside" "0 0 0" "$rc $(echo "$out" | awk '{print $3, $4}')" ;;
		"nsbox gc --dry-run")
			check "$t" "0" "$rc" ;;
		"nsbox run --set root.tarball=/var/cache/nsbox/sid.tar.zst -- apt-get --version" | \
		"nsbox run --profile=sid-build -- apt-get --version")
			check "$t" "0 yes" "$rc $(echo "$out" | grep -q '^apt [0-9]' && echo yes)" ;;
		"nsbox cache list")
			check "$t: lists the tarball" "0 yes" "$rc $(echo "$out" | grep -q "$TAR" && echo yes)" ;;
		"nsbox cache prune --dry-run")
			check "$t" 0 "$rc" ;;
		"nsbox show --profile=mine --set root.hostname=x")
			check "$t" "0 yes yes" "$rc $(echo "$out" | grep -q '^hostname = x  # command line' && echo yes) $(echo "$out" | grep -q '^DEB_BUILD_OPTIONS = parallel=2 nocheck' && echo yes)" ;;
		"nsbox-mkroot sid")
			check "$t: makes \$NSBOX_CACHE_DIR/sid.tar.zst" "0 yes" "$rc $(test -s "$TAR" && echo yes)"
			[ "$rc" -eq 0 ] || echo "$out" | tail -5 | sed 's/^/# /' ;;
		"nsbox-mkroot --variant=apt --include=build-essential bookworm ~/roots/bookworm.tar.zst")
			check "$t: a user makes a root with build-essential" "0 yes" \
				"$rc $(run '$' 'nsbox run --set root.tarball=$HOME/roots/bookworm.tar.zst -- gcc --version' | grep -q '^gcc' && echo yes)"
			[ "$rc" -eq 0 ] || echo "$out" | tail -5 | sed 's/^/# /'
			run '$' 'nsbox cache prune --all' >/dev/null ;;
		*) not_ok "$t: this test knows the example" "add a check to $0" ;;
		esac
	done <"$W/lines"
done
"$NSBOX" cache prune --all >/dev/null
stop_xvfb

restore
audit_check "examples"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A root nsbox-debuild (as through sudo) against a user who owns the tree
# and its parent directory and plants links, hard links, FIFOs and
# directories at the result names, swaps links in during the build, and
# points --output, TMPDIR and the cache at what it controls; and
# nsbox-mkroot and --update with a tarball in a user's directory. Each
# victim is a root file (mode 600) whose content, owner and mode are
# checked afterwards, and each build's status and results prove the
# build ran. The base is a sid tarball made once a day by nsbox-mkroot
# (/var/cache/nsbox-test), the one package tests/fixtures/debuild's.
# shellcheck disable=SC2016,SC2086,SC2012 # $SUDO splits on purpose
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

DEBUILD="$TOP/debuild/nsbox-debuild"
export NSBOX NSBOX_CACHE_DIR="$W/cache" NSBOX_MIRROR="${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}"
for t in mmdebstrap setpriv; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done
sid_base
mkdir -m 755 "$W/profiles"
P=$W/profiles/sid-build.conf
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s\n' "$TOP" "$BASE" >"$P"

test_user nsbox-mallory 600000
M=nsbox-mallory
MUID=$(id -u "$M") MGID=$(id -g "$M")
as_m() { setpriv --reuid="$M" --regid="$M" --init-groups -- "$@"; }
SRC=$W/home/src
TREE=$SRC/nsbox-test-ok-1.0
as_m mkdir "$SRC"
as_m cp -r "$TOP/tests/fixtures/debuild/nsbox-test-ok" "$TREE"
NAMES="nsbox-test-ok_1.0_amd64.build nsbox-test-ok_1.0_amd64.deb nsbox-test-ok_1.0_amd64.buildinfo nsbox-test-ok_1.0_amd64.changes"

# The victims: root's, mode 600, where the user cannot reach them.
V=$W/victim
mkdir -m 700 "$V"
victims() {
	for f in build deb buildinfo changes; do
		echo "root's $f" >"$V/$f"
		chmod 600 "$V/$f"
	done
}
# intact: every victim as it was made, else what changed.
intact() {
	r=
	for f in build deb buildinfo changes; do
		s=$(stat -c '%U:%G %a %h' "$V/$f" 2>&1)
		c=$(cat "$V/$f" 2>&1)
		[ "$s|$c" = "root:root 600 1|root's $f" ] || r="$r $f($s, $(printf %.20s "$c"))"
	done
	echo "${r:-intact}"
}
# results: each result name in SRC as "type owner", one line.
results() {
	for f in $NAMES; do stat -c '%F %U' "$SRC/$f" 2>&1; done | sort | uniq -c | sed 's/^ *//' | paste -sd, -
}
RESULTS="4 regular file $M"
clean_results() { for f in $NAMES; do rm -rf "${SRC:?}/$f"; done; }
# debuild [ENV=VALUE...] -- [OPTIONS]: a root nsbox-debuild in the tree,
# stderr kept in $W/err; its status.
debuild() {
	e=
	while [ "$1" != -- ]; do e="$e $1"; shift; done
	shift
	# shellcheck disable=SC2086 # the assignments
	(cd "$TREE" && env $e timeout 900 "$DEBUILD" --profile="$P" "$@") >"$W/out" 2>"$W/err"
}
SUDO="SUDO_UID=$MUID SUDO_GID=$MGID SUDO_USER=$M"

# --- 1. the issue's attack: links at every result name, through sudo ---
victims
for f in $NAMES; do as_m ln -s "$V/${f##*.}" "$SRC/$f"; done
as_m mkdir "$W/home/tmp"
debuild $SUDO TMPDIR="$W/home/tmp" -- ; rc=$?
check "links at the result names: the build succeeds" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$W/err" | tail -5
check "... every victim keeps its content, owner and mode" intact "$(intact)"
check "... the results replace the links, as the user's regular files" "$RESULTS" "$(results)"
check "... the .deb is a package" "nsbox-test-ok" "$(dpkg-deb -f "$SRC/nsbox-test-ok_1.0_amd64.deb" Package 2>&1)"
check "... root's scratch directory was not made in the user's TMPDIR" "" "$(ls -A "$W/home/tmp")"

# --- 2. the same links, root without sudo: written as the tree's owner ---
clean_results; victims
for f in $NAMES; do as_m ln -s "$V/${f##*.}" "$SRC/$f"; done
debuild -- ; rc=$?
check "root without SUDO_UID: the build succeeds" 0 "$rc"
check "... the victims are intact" intact "$(intact)"
check "... the results are the tree owner's" "$RESULTS" "$(results)"

# --- 3. hard links to root's files (a host without protected_hardlinks) ---
clean_results; victims
for f in $NAMES; do ln "$V/${f##*.}" "$SRC/$f"; done
debuild $SUDO -- ; rc=$?
check "hard links at the result names: the build succeeds" 0 "$rc"
check "... the victims are intact, their links gone" intact "$(intact)"
check "... the results are the user's" "$RESULTS" "$(results)"

# --- 4. FIFOs at the result names: no hang, replaced ---
clean_results; victims
for f in $NAMES; do as_m mkfifo "$SRC/$f"; done
debuild $SUDO -- ; rc=$?
check "FIFOs at the result names: the build succeeds, nothing hangs" 0 "$rc"
check "... the results replace them" "$RESULTS" "$(results)"

# --- 5. a directory where the .deb goes: one line, nothing touched ---
clean_results
as_m mkdir "$SRC/nsbox-test-ok_1.0_amd64.deb"
as_m touch "$SRC/nsbox-test-ok_1.0_amd64.deb/keep"
debuild $SUDO -- ; rc=$?
check "a directory at a result name: 125 and one line naming it" \
	"125|nsbox-debuild: $SRC/nsbox-test-ok_1.0_amd64.deb: a directory is in the way of the result; remove it" \
	"$rc|$(grep '^nsbox-debuild: ' "$W/err" | grep -v '^nsbox-debuild: build-dependency layer')"
check "... the build had run (its log says so)" 1 "$(grep -c '^=== dpkg-buildpackage: exit 0' "$W/out")"
check "... the directory is as it was" "keep" "$(ls -A "$SRC/nsbox-test-ok_1.0_amd64.deb")"

# --- 6. links swapped in, again and again, while the build runs ---
clean_results; victims
setpriv --reuid="$M" --regid="$M" --init-groups -- sh -c \
	'while :; do for f in $2; do ln -sfn "$1/${f##*.}" "$3/$f" 2>/dev/null; done; done' \
	swap "$V" "$NAMES" "$SRC" &
swapper=$!
debuild $SUDO -- ; rc=$?
kill "$swapper"; wait "$swapper" 2>/dev/null
check "links swapped in during the build: the build succeeds" 0 "$rc"
check "... and delivered its results" 1 "$(grep -c "^nsbox-debuild: built nsbox-test-ok 1.0; results and nsbox-test-ok_1.0_amd64.build in $SRC\$" "$W/err")"
check "... the victims are intact" intact "$(intact)"

# --- 7. --output: a link to root's directory; a directory of root's ---
clean_results; victims
as_m ln -s "$V" "$W/home/out"
debuild $SUDO -- --output="$W/home/out"; rc=$?
check "--output a link to root's private directory: 125, one line, before building" \
	"125|nsbox-debuild: $W/home/out: cannot enter it as uid $MUID|0" \
	"$rc|$(cat "$W/err")|$(grep -c '^=== dpkg-buildpackage' "$W/out")"
mkdir -m 755 "$W/rootout"
debuild $SUDO -- --output="$W/rootout"; rc=$?
check "--output root's directory: 125, one line" \
	"125|nsbox-debuild: $W/rootout: not writable by uid $MUID, who gets the results" "$rc|$(cat "$W/err")"
check "... nothing was written in either" "build buildinfo changes deb|" "$(ls "$V" | paste -sd' ' -)|$(ls -A "$W/rootout")"
check "... the victims are intact" intact "$(intact)"

# --- 8. root's own tree, into a user's directory: refused ---
cp -r "$TOP/tests/fixtures/debuild/nsbox-test-ok" "$W/roottree"
err=$(cd "$W/roottree" && "$DEBUILD" --profile="$P" --output="$SRC" 2>&1 >/dev/null); rc=$?
check "root's tree with --output a user's directory: 125, one line" \
	"125|nsbox-debuild: $SRC: root writes results only into a directory of its own (owner uid $MUID, mode 755); run through sudo" "$rc|$err"

# --- 9. the cache, the tarball and nsbox-mkroot's output in a user's directory ---
as_m mkdir "$W/home/cache"
debuild $SUDO NSBOX_CACHE_DIR="$W/home/cache" -- ; rc=$?
check "NSBOX_CACHE_DIR a user's directory: 125, one line" \
	"125|nsbox-debuild: the cache: $W/home/cache is not a directory only root can write (it or a directory above it belongs to another user or is writable by others); as root, nsbox-debuild writes there only where no other user can put a link" \
	"$rc|$(cat "$W/err")"
check "... nothing made in it" "" "$(ls -A "$W/home/cache")"
as_m ln -s "$BASE" "$W/home/base.tar.zst"
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s\n' "$TOP" "$W/home/base.tar.zst" >"$W/profiles/user-tarball.conf"
err=$("$DEBUILD" --update --profile="$W/profiles/user-tarball.conf" 2>&1); rc=$?
check "--update of a tarball in a user's directory: 125, one line" \
	"125|nsbox-debuild: --update: $W/home is not a directory only root can write (it or a directory above it belongs to another user or is writable by others); as root, nsbox-debuild writes there only where no other user can put a link" \
	"$rc|$err"
err=$(sh "$TOP/helpers/nsbox-mkroot" sid "$W/home/new.tar.zst" 2>&1); rc=$?
check "nsbox-mkroot into a user's directory: exit 2, one line" \
	"2|nsbox-mkroot: $W/home: not a directory only root can write (it or one above it belongs to another user or is writable by others); as root, nsbox-mkroot writes only where no other user can put a link" \
	"$rc|$err"
check "... neither made a lock or a temp file there" "base.tar.zst cache out src tmp" \
	"$(ls "$W/home" | paste -sd' ' -)"
check "the victims are intact at the end" intact "$(intact)"

"$NSBOX" cache prune --all >/dev/null 2>&1
restore
audit_check "root safety"
finish

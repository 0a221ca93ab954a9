#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox-debuild on a sid base made by nsbox-debuild --create: the packages
# in tests/fixtures/debuild, the layer cache, a failing build, a build that
# tries the network, the base left untouched, --update, lintian, and
# Debian's own hello from the mirror. The EXAMPLES of nsbox-debuild(1) run
# as written, with a sid-build profile of the test's in NSBOX_PROFILE_PATH.
# Only apt and mmdebstrap talk to the mirror.
# shellcheck disable=SC2016,SC2012
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

DEBUILD="$TOP/debuild/nsbox-debuild"
export NSBOX NSBOX_CACHE_DIR="$W/cache" NSBOX_MIRROR="${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}"
TAR="$W/sid.tar.zst"
mkdir "$W/profiles" "$W/xbin"
export NSBOX_PROFILE_PATH="$W/profiles"
P="$W/profiles/sid-build.conf"
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s\nhostname = sid-build\n' "$TOP" "$TAR" >"$P"
OUT="$W/out"
mkdir -p "$OUT"
chmod 755 "$W"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$DEBUILD" >"$W/xbin/nsbox-debuild"; chmod 755 "$W/xbin/nsbox-debuild"
man_examples "$TOP/man/nsbox-debuild.1" >"$W/examples"
: >"$W/examples.run"
# example WORDS DIR: run the man page's example that contains WORDS, as
# written (but for sudo, and hello-2.12 for the version fetched), in DIR.
example() {
	line=$(grep -F -- "$1" "$W/examples" | head -1)
	[ -n "$line" ] || { echo "# no example with '$1' in nsbox-debuild(1)"; return 99; }
	echo "$line" >>"$W/examples.run"
	cmd=$(printf '%s\n' "${line#? }" | sed -e 's/sudo //' -e "s|hello-2\.12|${hdir:-hello-2.12}|")
	(cd "$2" && PATH="$W/xbin:$PATH" sh -c "$cmd")
}
for t in mmdebstrap python3 script; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done

# --- the base: --create ---
example "--create --dist=sid" "$W" >"$W/create.log" 2>&1
check "--create: makes the profile's tarball" "0 yes" "$? $(test -s "$TAR" && echo yes)"
if grep -q "tarball = $TAR" "$W/create.log"; then ok "--create: prints the profile lines"
else not_ok "--create: prints the profile lines" "$(tail -5 "$W/create.log")"; fi
check "the sid base tells apt to ignore Valid-Until (frozen mirror)" "1" \
	"$("$NSBOX" run --profile="$P" -- sh -c 'grep -rh Check-Valid-Until /etc/apt/apt.conf.d/ | grep -c false' 2>/dev/null)"
# apt's cache in the base is valid: apt reads it, and does not make it again
valid_cache='c=/var/cache/apt/pkgcache.bin; a=$(stat -c %Y.%s $c) &&
	apt-cache -q -o Acquire::Languages=none -o Dir::Cache::srcpkgcache= show dpkg >/dev/null &&
	[ "$(stat -c %Y.%s $c)" = "$a" ] && echo ok $(find /var/lib/apt/lists -maxdepth 1 -name "*_Packages" | wc -l) $(find /var/lib/apt/lists -name "*Translation*" | wc -l)'
check "the base keeps apt's lists, without translations, and a valid cache of them" "ok 1 0" \
	"$("$NSBOX" run --profile="$P" -- sh -c "$valid_cache" 2>&1)"
sum_tree() { (cd "$1" && find . -printf '%p %m %U %G %s %l\n' | sort; find . -type f -exec cat {} + | md5sum); }
"$NSBOX" run --profile="$P" -- true 2>/dev/null
base_tree=$(echo "$W"/cache/roots/[0-9a-f]*/tree)
base_sum=$(sum_tree "$base_tree")

pkg() { rm -rf "$W/$1-1.0"; cp -a "$TOP/tests/fixtures/debuild/$1" "$W/$1-1.0"; }
build() { # PKG [OPTIONS]: build in the package's tree; output in $OUT
	p=$1; shift
	(cd "$W/$p-1.0" && "$DEBUILD" --profile="$P" --output="$OUT" "$@") >"$W/$p.out" 2>&1
}

# --- outside a source tree; a missing base ---
err=$(cd "$W" && "$DEBUILD" --profile="$P" 2>&1); rc=$?
check "outside a source tree: exit 2 and why" "2|nsbox-debuild: $W is not a Debian source tree (no debian/control or debian/changelog); run nsbox-debuild in an unpacked source package" "$rc|$err"
printf '[root]\ntarball = %s/nonexistent.tar.zst\n' "$W" >"$W/none.conf"
pkg nsbox-test-ok
err=$(cd "$W/nsbox-test-ok-1.0" && "$DEBUILD" --profile="$W/none.conf" 2>&1); rc=$?
check "a missing base: 125 and the command that makes it" \
	"125|nsbox-debuild: the base tarball $W/nonexistent.tar.zst of the profile $W/none.conf does not exist; make it with: nsbox-debuild --create --dist=sid" "$rc|$err"

# --- a package with a build dependency the base lacks ---
build nsbox-test-ok; rc=$?
check "build: exit 0" 0 "$rc"
check "build: results in --output" "nsbox-test-ok_1.0_amd64.build nsbox-test-ok_1.0_amd64.buildinfo nsbox-test-ok_1.0_amd64.changes nsbox-test-ok_1.0_amd64.deb" \
	"$(ls "$OUT" | tr '\n' ' ' | sed 's/ $//')"
LOG="$OUT/nsbox-test-ok_1.0_amd64.build"
check "the log: the plan, the base's identity, every phase with its time" "1 1 2" \
	"$(grep -c '^=== plan' "$LOG") $(grep -c "^base: $TAR sha256:$("$NSBOX" cache id "$TAR")" "$LOG") $(grep -cE '^(deps|build) 0 [0-9.]+$' "$LOG")"
check "... hello resolved and installed in that one container, no install phase" "1 1 0" \
	"$(grep -c '^nsbox-resolved: hello ' "$LOG") $(sed -n '/^=== deps$/,/^=== deps:/p' "$LOG" | grep -c '^Setting up hello ') $(grep -c '^install ' "$LOG")"
check "the log: the layer was made" 1 "$(grep -c '^layer-cache miss' "$LOG")"
KEPT=$(echo "$W"/cache/debuild/apt/*/lists)
check "a first build on a fresh base reads the base's lists: no apt-get update, nothing copied" \
	"1 .nsbox-base" \
	"$(grep -c '^nsbox-debuild: the package lists of the base are younger than 30 minutes: no apt-get update$' "$LOG") $(ls -A "$KEPT" | tr '\n' ' ' | sed 's/ $//')"
ltree=$(echo "$W"/cache/layers/[0-9a-f]*/tree)
check "... and the layer holds neither lists nor an apt cache" "" \
	"$(find "$ltree/var/lib/apt/lists" "$ltree/var/cache/apt" -type f 2>/dev/null)"
check "... its upper in memory: root's tmpfs, in nsbox-debuild's own mount namespace" 1 \
	"$(grep -c "^build dependencies' upper: in memory (a tmpfs of [0-9]* MiB)\$" "$LOG")"
check "DEB_BUILD_OPTIONS gets parallel=CPUs" 1 "$(grep -c "^DEB_BUILD_OPTIONS=parallel=$(nproc)\$" "$LOG")"
check "built as an unprivileged user, from a copy of root's tree" 1 "$(grep -c '^source tree: .* (copy as uid 1000)$' "$LOG")"
check "the .deb installs and runs in a fresh container" "nsbox-test-ok: Hello, world!" \
	"$("$NSBOX" run --profile="$P" -m bind-ro:"$OUT":/mnt -- sh -c 'dpkg -i /mnt/nsbox-test-ok_1.0_amd64.deb >/dev/null && nsbox-test-ok' 2>/dev/null)"
dpkg-deb -c "$OUT/nsbox-test-ok_1.0_amd64.deb" >"$W/list1"
cp "$LOG" "$W/log1"
rm -f "$OUT"/*
build nsbox-test-ok; rc=$?
check "a second build: exit 0, the layer is reused" "0 1 0" \
	"$rc $(grep -c '^layer-cache hit' "$LOG") $(grep -c '^install ' "$LOG")"
dpkg-deb -c "$OUT/nsbox-test-ok_1.0_amd64.deb" >"$W/list2"
check "... and the same .deb file list, byte for byte" "" "$(cmp "$W/list1" "$W/list2")"
# lists older than the window (0 minutes): checked against the mirror,
# which still serves the base's Release file, so the base's lists stand;
# apt is asked again, and its hook finds the layer and stops it before dpkg
rm -f "$OUT"/*
build nsbox-test-ok --update-window=0; rc=$?
check "--update-window=0: the base's lists checked, apt stopped by its hook at the cached layer" "0 1 1 1 0 0" \
	"$rc $(grep -c '^nsbox-debuild: the mirror serves the Release files of the package lists of the base: no apt-get update$' "$LOG") $(grep -c '^layer-cache hit' "$LOG") $(grep -c '^nsbox-resolved: hello ' "$LOG") $(sed -n '/^=== deps$/,/^=== deps:/p' "$LOG" | grep -c -e '^Setting up ' -e '^Unpacking ' -e '^E: ') $(grep -c '^install ' "$LOG")"
check "... the kept lists still unused" ".nsbox-base" "$(ls -A "$KEPT" | tr '\n' ' ' | sed 's/ $//')"
# sources the base's lists lack (deb-src): apt-get update into the kept
# lists, which start from a copy of the base's
echo "deb-src $NSBOX_MIRROR sid main" >"$W/src.list"
printf '[profile]\ninclude = %s\n\n[mount]\nbind-ro = %s:/etc/apt/sources.list.d/nsbox-test-src.list\n' "$P" "$W/src.list" >"$W/src.conf"
rm -f "$OUT"/*
(cd "$W/nsbox-test-ok-1.0" && "$DEBUILD" --profile="$W/src.conf" --output="$OUT" --update-window=0) >"$W/src.out" 2>&1; rc=$?
check "a source the base's lists lack: apt-get update, apt stopped at the cached layer" "0 0 1 0" \
	"$rc $(grep -c 'no apt-get update' "$LOG") $(grep -c '^layer-cache hit' "$LOG") $(grep -c '^install ' "$LOG")"
# The copy keeps the base's mtime, older than the tarball; apt found it
# current and fetched no Packages again.
check "... into the kept lists, started from a copy of the base's Packages" "yes no 1 1" \
	"$([ -e "$KEPT/.nsbox-updated" ] && echo yes || echo no) $([ -e "$KEPT/.nsbox-base" ] && echo yes || echo no) $(find "$KEPT" -maxdepth 1 -name '*_Packages' ! -newer "$TAR" | wc -l) $(find "$KEPT" -maxdepth 1 -name '*_Sources' | wc -l)"
base12=$("$NSBOX" cache id "$TAR" | cut -c1-12)
check "nsbox cache list shows the layer on its base" 1 \
	"$("$NSBOX" cache list | grep -c "current  build dependencies on $base12")"
rm -f "$OUT"/*
build nsbox-test-ok --no-cache; rc=$?
check "--no-cache: builds, and installs the dependencies again" "0 1 0" \
	"$rc $(grep -c '^install 0' "$LOG") $(grep -c '^layer-cache' "$LOG")"
# a tmpfs the dependencies do not fit in: installed again on disk
rm -f "$OUT"/*
export NSBOX_DEBUILD_MEM=1
build nsbox-test-ok --no-cache; rc=$?
unset NSBOX_DEBUILD_MEM
check "NSBOX_DEBUILD_MEM=1: the dependencies do not fit in 1 MiB, and install again on disk" "0 1 1 1" \
	"$rc $(grep -c '^nsbox-debuild: the build dependencies did not fit in memory ([0-9]* MB): installing them again on disk$' "$LOG") $(grep -c '^install [1-9][0-9]* ' "$LOG") $(grep -c '^install 0 ' "$LOG")"
rm -f "$OUT"/*
export NSBOX_DEBUILD_MEM=0
build nsbox-test-ok --no-cache; rc=$?
unset NSBOX_DEBUILD_MEM
check "NSBOX_DEBUILD_MEM=0: the upper on disk" "0 1" "$rc $(grep -c "^build dependencies' upper: on disk\$" "$LOG")"

# --- a tree of an ordinary user is bound in and built as that user ---
# Its results are written as that user too: into a directory it can write.
pkg nsbox-test-ok; chown -R 1234:1234 "$W/nsbox-test-ok-1.0"; rm -f "$OUT"/*; chown 1234:1234 "$OUT"
build nsbox-test-ok; rc=$?
check "a user's tree: bound in and built as its owner" "0 1" "$rc $(grep -c '^source tree: .* (bind as uid 1234)$' "$LOG")"
check "... its results and log written as that user" "4 1234:1234" "$(stat -c %u:%g "$OUT"/* | sort | uniq -c | sed 's/^ *//')"
chown 0:0 "$OUT"
check "... and everything in it still belongs to that user" "" "$(find "$W/nsbox-test-ok-1.0" ! -uid 1234)"
check "... the build ran in it" "yes" "$(test -x "$W/nsbox-test-ok-1.0/greet" && echo yes || echo no)"

# --- a build that fails: its status, no results, the log, no signing ---
mkdir "$W/bin"; printf '#!/bin/sh\ntouch %s/signed\n' "$W" >"$W/bin/debsign"; chmod 755 "$W/bin/debsign"
pkg nsbox-test-fail; rm -f "$OUT"/*
(cd "$W/nsbox-test-fail-1.0" && PATH="$W/bin:$PATH" "$DEBUILD" --profile="$P" --output="$OUT" --sign) >"$W/fail.out" 2>&1; rc=$?
check "a failing build: dpkg-buildpackage's status" 2 "$rc"
check "a failing build: only the log" "nsbox-test-fail_1.0_amd64.build" "$(ls "$OUT")"
check "a failing build: the log says why" 1 "$(grep -c 'nsbox-test-fail: failing on purpose' "$OUT/nsbox-test-fail_1.0_amd64.build")"
check "a failing build: no signing attempted" "no" "$(test -e "$W/signed" && echo yes || echo no)"

# --- a build that tries the network: a listener on the host's loopback ---
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 47813)); s.listen(5); s.settimeout(120)
try:
    s.accept(); open(sys.argv[1], "w").write("connected\n")
except OSError:
    pass' "$W/connected" &
listener=$!
sleep 0.5
pkg nsbox-test-net; rm -f "$OUT"/*
build nsbox-test-net; rc=$?
kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null
check "a build that tries the network fails" "2" "$rc"
check "... unable to connect" 1 "$(grep -c 'nsbox-test-net: no network: .*Connection refused' "$OUT/nsbox-test-net_1.0_amd64.build")"
check "... and the host's listener saw nothing" "no" "$(test -e "$W/connected" && echo yes || echo no)"

# --- lintian, in the same container; results in .. ---
pkg nsbox-test-ok
example "--lintian" "$W/nsbox-test-ok-1.0" >"$W/lintian.out" 2>&1; rc=$?
check "--lintian: the build succeeds and lintian ran, nocheck" "0 1 1" \
	"$rc $(grep -c '^lintian: exit [0-9]' "$W/nsbox-test-ok_1.0_amd64.build") $(grep -c '^DEB_BUILD_OPTIONS=nocheck parallel=' "$W/nsbox-test-ok_1.0_amd64.build")"
check "... and its results in the parent directory" "nsbox-test-ok_1.0_amd64.deb" "$(cd "$W" && ls ./*.deb | sed 's|^\./||')"
rm -f "$W"/nsbox-test-ok_1.0_*

# --- a shell in a failed build ---
out=$(cd "$W/nsbox-test-fail-1.0" && printf 'echo INSIDE-$((20+22)) $(id -u); exit\n' |
	script -qec "$DEBUILD --profile=$P --output=$OUT --shell-on-failure" /dev/null 2>&1 | tr -d '\r')
case $out in *"INSIDE-42 0"*) ok "--shell-on-failure: a shell in the failed container";;
*) not_ok "--shell-on-failure: a shell in the failed container" "$(printf '%s\n' "$out" | tail -5)";; esac

check "the base's cached tree is unchanged by all the builds" "$base_sum" "$(sum_tree "$base_tree")"

# --- Debian's hello, from the mirror's sid sources ---
mkdir "$W/hello"
"$NSBOX" run --profile="$P" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/hello":/build/hello --chdir=/build/hello --setenv=NSBOX_MIRROR="$NSBOX_MIRROR" -- sh -c '
	echo "deb-src $NSBOX_MIRROR sid main" >/etc/apt/sources.list.d/src.list
	apt-get -q -o Acquire::Check-Valid-Until=false update >/dev/null &&
	apt-get -q source hello >/dev/null 2>&1 && mkdir theirs && cd theirs && apt-get -q download hello >/dev/null 2>&1' 2>/dev/null ||
	not_ok "fetching hello's source from the mirror"
hdir=$(find "$W/hello" -mindepth 1 -maxdepth 1 -type d -name 'hello-*' | head -1)
if [ -n "$hdir" ]; then
	example "cd hello-2.12" "$W/hello" >"$W/hello.out" 2>&1
	check "Debian's hello builds" 0 "$?"
	theirs=$(find "$W/hello/theirs" -maxdepth 1 -name 'hello_*.deb' | head -1)
	ours=$(find "$W/hello" -maxdepth 1 -name 'hello_*.deb' | head -1)
	dpkg-deb -c "$theirs" | awk '{print $1, $6}' | sort >"$W/theirs"
	dpkg-deb -c "$ours" | awk '{print $1, $6}' | sort >"$W/ours"
	check "hello's .deb has the file list (and modes) of Debian's" "" "$(diff "$W/theirs" "$W/ours" | head -5)"
else
	not_ok "hello's source was unpacked" "$(ls "$W/hello")"
fi

# --- --update: the base upgraded and repacked atomically (on a copy) ---
cp "$TAR" "$W/copy.tar.zst"
mkdir "$W/copyprofiles"
printf '[profile]\ninclude = %s/profiles/build-common.conf\n\n[root]\ntarball = %s/copy.tar.zst\n' "$TOP" "$W" >"$W/copyprofiles/sid-build.conf"
ln -s copyprofiles/sid-build.conf "$W/copy.conf"
ino=$(stat -c %i "$W/copy.tar.zst")
NSBOX_PROFILE_PATH="$W/copyprofiles" example "--update --dist=sid" "$W" >"$W/update.out" 2>&1
check "--update: exit 0, a new file in place" "0 yes" "$? $([ "$(stat -c %i "$W/copy.tar.zst")" != "$ino" ] && echo yes)"
grep -q "^nsbox-debuild: updated" "$W/update.out" || tail -3 "$W/update.out" | sed "s/^/# /"
"$NSBOX" run --profile="$W/copy.conf" -- true 2>/dev/null # extracted
check "--update: the new base runs apt, keeps its lists and a valid cache of them" "ok 1 0" \
	"$("$NSBOX" run --profile="$W/copy.conf" -- sh -c "$valid_cache" 2>&1)"

check "every example of nsbox-debuild(1) ran" "" "$(sort "$W/examples" | comm -23 - "$(sort "$W/examples.run" >"$W/s"; echo "$W/s")")"
"$NSBOX" cache prune --all >/dev/null
check "nothing nsbox-debuild made is left in /var/tmp" "" "$(find /var/tmp -maxdepth 1 -name 'nsbox-debuild.*')"
audit_check "nsbox-debuild"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Tarball roots: the cache (cold, warm, changed, concurrent, killed), the
# hostile archives of SECURITY-CASES.md 6.5 (A1-A17), and nsbox cache.
# shellcheck disable=SC2016,SC2012,SC2045 # ls of nsbox's own hex names
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

CACHE="$W/cache"
export NSBOX_CACHE_DIR="$CACHE"
T="$W/tars"
OUT="$W/outside"
mkdir -p "$T" "$OUT"
chmod 755 "$W" "$OUT"
echo marker >"$OUT/marker"
for tool in python3 zstd xz bzip2 lz4 getfattr setfattr setfacl getfacl setpriv; do
	command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (make deps)"; exit 1; }
done

# The fixture root as a tarball, in every compression nsbox reads.
tar -C "$ROOT" --numeric-owner --owner=0 --group=0 -cf "$T/root.tar" .
gzip -1 -c "$T/root.tar" >"$T/root.tar.gz"
bzip2 -1 -c "$T/root.tar" >"$T/root.tar.bz2"
xz -0 -T1 -c "$T/root.tar" >"$T/root.tar.xz"
zstd -q -1 -c "$T/root.tar" >"$T/root.tar.zst"
lz4 -q -1 -c "$T/root.tar" >"$T/root.tar.lz4"

tb() { t=$1; shift; "$NSBOX" run --set root.tarball="$t" "$@"; }
# The cache holds exactly N entries and nothing half-done.
entries() { find "$CACHE/roots" -mindepth 1 -maxdepth 1 -name "[0-9a-f]*" 2>/dev/null | wc -l; }
tmp_empty() { [ -z "$(ls -A "$CACHE/roots/tmp" 2>/dev/null)" ]; }
# the cached tree of a tarball last used (made with a map where the
# mode's runs have a user namespace)
mapped=yes; [ "$MODE" = root ] || [ "$MODE" = no-openat2 ] && mapped=no
tree_of() {
	for e in $(ls -td "$CACHE"/roots/[0-9a-f]*); do
		case $e in *-m*) m=yes;; *) m=no;; esac
		[ "$m" = "$mapped" ] || continue
		grep -qx "tarball=$1" "$e/info" 2>/dev/null && { echo "$e/tree"; return; }
	done
}
sum_tree() { (cd "$1" && find . -printf '%p %m %U %G %s %l\n' | sort; find . -type f -exec cat {} + | md5sum); }

# --- every compression; cold, then warm ---
for c in tar tar.gz tar.bz2 tar.xz tar.zst tar.lz4; do
	check "root.tarball: .$c" "root" "$(tb "$T/root.$c" -- id -un 2>/dev/null)"
done
check "each is its own entry of the cache" 6 "$(entries)"
err=$(tb "$T/root.tar.gz" -- true 2>&1)
check "warm: nothing is extracted again" "" "$err"
err=$(tb "$T/root.tar.gz" -- true 2>&1 >/dev/null)
check "no tty: no progress lines on a warm start" "" "$err"
rm -rf "$CACHE"
err=$(tb "$T/root.tar.gz" -- true 2>&1)
case $err in "nsbox: extracting root.tar.gz into the cache
nsbox: extracted root.tar.gz in "*" s ("*" MB, "*" entries)") ok "no tty: one line at the start, one at the end";;
*) not_ok "no tty: one line at the start, one at the end" "$err";; esac
rm -rf "$CACHE"
out=$(script -qec "$NSBOX run --set root.tarball=$T/root.tar.gz -- true" /dev/null </dev/null)
case $out in *"extracting root.tar.gz: "*"extracted root.tar.gz in "*) ok "tty: a running count, then the summary";;
*) not_ok "tty: a running count, then the summary" "$out";; esac
only "$PRIV" 1 "the cache is the user's, 0700" &&
check "the cache is root's, 0711; entries are 0700" "711 700" \
	"$(stat -c %a "$CACHE/roots") $(stat -c %a "$(dirname "$(tree_of "$T/root.tar.gz")")")"

# --- a throw-away upper; the cached tree never changes ---
tree=$(tree_of "$T/root.tar.gz")
before=$(sum_tree "$tree")
check "writes go to a throw-away upper" "hi" "$(tb "$T/root.tar.gz" -- sh -c 'echo hi >/x; rm -rf /bin/ls /etc; cat /x')"
check "the next run starts from the tarball again" "no" "$(tb "$T/root.tar.gz" -- sh -c 'test -e /x && echo yes || echo no')"
tb "$T/root.tar.gz" --set root.upper="$W/up" -- sh -c 'echo kept >/kept'
check "root.upper keeps changes" "kept" "$(tb "$T/root.tar.gz" --set root.upper="$W/up" -- cat /kept)"
check "... in the upper, not in the cache" "kept no" "$(cat "$W/up/kept") $(test -e "$tree/kept" && echo yes || echo no)"
check "the cached tree is unchanged (checksum)" "$before" "$(sum_tree "$tree")"
check "the overlay's lower is the cached tree" "yes" \
	"$(tb "$T/root.tar.gz" -- cat /proc/self/mountinfo | grep -q " / .*lowerdir=$tree" && echo yes || echo no)"
check "I1: the init holds no fd (no cache lock, no tarball)" "" "$(init_fds tb "$T/root.tar.gz")"
check "I1: the payload holds only 0-2 (and ls's own)" "0 1 2 3" "$(tb "$T/root.tar.gz" -- ls /proc/self/fd | tr '\n' ' ' | sed 's/ $//')"
check "root + userns: owners inside are the tarball's" "0:0" \
	"$(tb "$T/root.tar.gz" --set user.userns=yes -- stat -c %u:%g /etc/passwd 2>/dev/null)"
only "$PRIV" 1 "root's user namespaces" &&
check "root + userns: a tree of its own, with the mapped owners" "1879048192" \
	"$(for e in "$CACHE"/roots/*-m*; do grep -qx "tarball=$T/root.tar.gz" "$e/info" && stat -c %u "$e/tree/etc/passwd"; done)"
check "root + userns: base files are writable" "ok" \
	"$(tb "$T/root.tar.gz" --set user.userns=yes -- sh -c 'echo x >>/etc/passwd && echo ok')"

# --- ACLs and xattrs of a real tree survive ---
cp -a "$ROOT" "$W/acl"; touch "$W/acl/shared"
setfacl -m u:1234:rw "$W/acl/shared"; setfattr -n user.nsbox -v kept "$W/acl/shared"
tar -C "$W/acl" --numeric-owner --owner=0 --group=0 --acls --xattrs --xattrs-include='*' -cf "$T/acl.tar" .
tb "$T/acl.tar" -- true 2>/dev/null
check "an ACL is kept" "user:$(host_id 1234):rw-" "$(getfacl -cn "$(tree_of "$T/acl.tar")/shared" 2>/dev/null | grep '^user:[0-9]')"
check "a user xattr is kept" "kept" "$(getfattr --only-values -n user.nsbox "$(tree_of "$T/acl.tar")/shared" 2>/dev/null)"

# --- A17: the same name, other content ---
mkdir "$W/v"; echo 1 >"$W/v/version"; tar -C "$W/v" -czf "$T/v.tar.gz" .
# v.tar.gz has no shell: the runs fail, but the tree is made first.
tb "$T/v.tar.gz" -- /version >/dev/null 2>&1
tree1=$(tree_of "$T/v.tar.gz")
echo 2 >"$W/v/version"; tar -C "$W/v" -czf "$T/v.tar.gz.new" .; mv "$T/v.tar.gz.new" "$T/v.tar.gz"
tb "$T/v.tar.gz" -- /version >/dev/null 2>&1
tree2=$(tree_of "$T/v.tar.gz")
check "A17: changed content under the same name is extracted again" "1 2" \
	"$(cat "$tree1/version") $(cat "$tree2/version")"
check "A17: ... into a new entry (a content key)" "yes" "$([ "$tree1" != "$tree2" ] && echo yes)"
check "A17: cache list says the old entry's tarball changed" 1 \
	"$("$NSBOX" cache list | grep -c "changed  $T/v.tar.gz")"

# --- A15: concurrent cold starts share one extraction ---
rm -rf "$CACHE"
i=0; while [ $i -lt 10 ]; do
	tb "$T/root.tar.zst" -- sh -c 'echo $$ >/m; sleep 0.2; cat /m' >"$W/c$i.out" 2>"$W/c$i.err" &
	i=$((i + 1))
done
wait
check "A15: 10 cold starts all succeed" "10" "$(cat "$W"/c*.out | grep -c '^2$')"
check "A15: exactly one extraction" "1" "$(cat "$W"/c*.err | grep -c 'extracting root.tar.zst into')"
check "A15: one entry" "1" "$(entries)"

# --- A16: kill -9 in the middle of an extraction; SIGTERM ---
# 60000 empty files: an extraction that takes a while and writes little.
cp -a "$ROOT" "$W/slow"; mkdir "$W/slow/many"
(cd "$W/slow/many" && seq 60000 | xargs touch)
tar -C "$W/slow" -cf - . | zstd -q -1 >"$T/slow.tar.zst"; rm -rf "$W/slow"
slow_start() { # start an extraction of slow.tar.zst and wait until it is under way
	# "$NSBOX" itself, so that $! is nsbox and not a subshell
	"$NSBOX" run --set root.tarball="$T/slow.tar.zst" -- true >/dev/null 2>"$W/slow.err" &
	pid=$!
	# under way: files are arriving in many/
	wait_until "[ -n \"\$(find '$CACHE/roots/tmp' -maxdepth 4 -path '*/many/*' -print -quit 2>/dev/null)\" ]"
}
slow_entries() { grep -l slow.tar.zst "$CACHE"/roots/*/info 2>/dev/null | wc -l; }
slow_start || not_ok "A16: the extraction started"
kill -9 "$pid"; wait "$pid" 2>/dev/null # reaped: the extraction (threads of it) is over
check "A16: kill -9 leaves a half tree in tmp, not an entry" "1 0" \
	"$(ls "$CACHE/roots/tmp" | wc -l) $(slow_entries)"
check "A16: the next run recovers" "0" "$(tb "$T/slow.tar.zst" -- true 2>/dev/null; echo $?)"
check "A16: ... and removed the stale tmp" "yes 1" "$(tmp_empty && echo yes) $(slow_entries)"
check "A16: the tree is complete" "60000" "$(tb "$T/slow.tar.zst" -- sh -c 'ls /many | wc -l')"
"$NSBOX" cache prune --all >/dev/null
slow_start || not_ok "SIGTERM: the extraction started"
kill -TERM "$pid"; wait "$pid"; rc=$?
check "SIGTERM during an extraction: 143" 143 "$rc"
check "SIGTERM during an extraction: nothing left in tmp, no entry" "0" \
	"$(ls -A "$CACHE/roots/tmp")$(slow_entries)"

# --- A10: no space left ---
truncate -s 1G "$W/big"; tar -C "$W" -cf - big | zstd -q -1 -T0 >"$T/big.tar.zst"; rm "$W/big"
mkdir "$W/small"; mount -t tmpfs -o size=100M tmpfs "$W/small"
err=$(NSBOX_CACHE_DIR="$W/small/c" "$NSBOX" run --set root.tarball="$T/big.tar.zst" -- true 2>&1); rc=$?
check "A10: no space: 125" 125 "$rc"
case $err in *"root.tarball: $T/big.tar.zst: entry 'big': No space left on device"*) ok "A10: says so, naming the tarball and the entry";;
*) not_ok "A10: says so, naming the tarball and the entry" "$err";; esac
check "A10: nothing half-done is kept" "" "$(ls -A "$W/small/c/roots/tmp"; find "$W/small/c/roots" -maxdepth 1 -name '[0-9a-f]*')"
check "A10: the space is free again" "yes" "$([ "$(df --output=used -k "$W/small" | tail -1)" -lt 1024 ] && echo yes)"
umount "$W/small"

# --- A1-A14: hostile archives ---
python3 "$TOP/tests/fixtures/hostile-tars.py" "$T" "$OUT" "$ROOT/bin/busybox" || echo "Bail out! hostile-tars.py"
rm -rf "$CACHE"
shadow_links=$(stat -c %h /etc/shadow)
refused() { # NAME TARBALL EXPECTED-MESSAGE-PART
	had=$(entries)
	err=$(tb "$T/$2" -- true 2>&1); rc=$?
	check "$1: refused (125)" 125 "$rc"
	case $err in *"nsbox: command line: root.tarball: $T/$2: $3"*) ok "$1: the message names the entry";;
	*) not_ok "$1: the message names the entry" "$err";; esac
	check "$1: nothing cached, nothing in tmp" "$had yes" "$(entries) $(tmp_empty && echo yes)"
}
refused "A1 ../evil" a01-dotdot.tar "entry '../evil': path contains '..'"
check "A1: no evil outside" "no" "$(test -e "$CACHE/roots/evil" -o -e "$CACHE/roots/tmp/evil" && echo yes || echo no)"
refused "A2 absolute" a02-absolute.tar "entry '/etc/nsbox-evil-a2': path is absolute"
check "A2: host file absent" "no" "$(test -e /etc/nsbox-evil-a2 && echo yes || echo no)"
refused "A3 through a symlink" a03-symlink-dir.tar "entry 'lnk/evil': leads through a symlink 'lnk'"
refused "A4 ../../.. symlink" a04-symlink-up.tar "entry 'lnk/x': leads through a symlink 'lnk'"
refused "A4 dir, then symlink" a04-dir-then-symlink.tar "entry 'd/x': leads through a symlink 'd'"
refused "a directory over a symlink" a04-dir-over-symlink.tar "entry 'lnk/': is a directory over a symlink 'lnk'"
refused "A5 hard link /etc/shadow" a05-hardlink-abs.tar "entry 'h': hard link to '/etc/shadow': path is absolute"
refused "A5 hard link ../../etc/shadow" a05-hardlink-up.tar "entry 'h': hard link to '../../etc/shadow': path contains '..'"
refused "A5 hard link through a symlink" a05-hardlink-via-symlink.tar \
	"entry 'h': hard link to 'l/shadow': hard link target leads through a symlink 'l'"
check "A5: /etc/shadow's link count is unchanged" "$shadow_links" "$(stat -c %h /etc/shadow)"
check "A3-A6: nothing written outside" "marker" "$(ls "$OUT")"
check "A6: the chmod fixup does not follow a symlink" "0" "$(tb "$T/a06-chmod-fixup.tar" -- /bin/ok >/dev/null 2>&1; echo $?)"
check "A6: the outside directory keeps its mode" "755" "$(stat -c %a "$OUT")"
err=$(tb "$T/a07-devices.tar" -- sh -c 'test -p /fifo && test ! -e /null2 && test ! -e /sda && echo fine' 2>&1)
case $err in *"skipped 2 device nodes"*fine) ok "A7: devices skipped with one warning; fifo kept";;
*) not_ok "A7: devices skipped with one warning; fifo kept" "$err";; esac
tb "$T/a08-setuid.tar" -- true 2>/dev/null
evil="$(tree_of "$T/a08-setuid.tar")/bin/evil"
check "A8: the setuid file is extracted as it is" "4755 $(host_id 0)" "$(stat -c '%a %u' "$evil")"
err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$evil" 2>&1)
case $err in *"Permission denied"*) ok "A8: nobody cannot reach it (the entry is 0700)";;
*) not_ok "A8: nobody cannot reach it (the entry is 0700)" "$err";; esac
tb "$T/a09-xattrs.tar" -- true 2>/dev/null
t9=$(tree_of "$T/a09-xattrs.tar")
check "A9: overlayfs xattrs stripped, others kept" "user.keep" \
	"$(getfattr --absolute-names -d -m - "$t9/f" 2>/dev/null | sed -n 's/=.*//p' | tr '\n' ' ' | sed 's/ $//')"
check "A9: file capabilities kept" "cap_net_raw=ep" "$(getcap "$t9/ping" | awk '{print $2}')"
tb "$T/a09-xattrs.tar" --set user.userns=yes -- true 2>/dev/null
rootid=1879048192; only "$PRIV" 0 "" || rootid=$(host_id 0)
check "A9: in a user namespace, capabilities are v3 with its root" "cap_net_raw=ep [rootid=$rootid]" \
	"$(for t in "$CACHE"/roots/*-m*/tree; do grep -q a09 "$t/../info" && getcap -n "$t/ping"; done | cut -d' ' -f2-)"
refused "A11 truncated" a11-zip.tar "not a tar archive (unsupported format)"
refused "A11 cpio" a11-cpio.tar "not a tar archive (unsupported format)"
head -c 5000 "$T/root.tar.gz" >"$T/trunc.tar.gz"
refused "A11 truncated" trunc.tar.gz "gzip: "
head -c 1000000 "$T/root.tar" >"$T/trunc.tar"
refused "A11 truncated tar" trunc.tar "entry './bin/busybox': Truncated tar archive"
mkdir "$W/trap"; for p in zstd gzip xz bzip2 lz4 unzstd zcat; do
	printf '#!/bin/sh\ntouch %s/trap/ran\nexit 1\n' "$W" >"$W/trap/$p"; chmod 755 "$W/trap/$p"
done
run_ok "A12: a zstd tarball root starts, with failing decompressors first in PATH" \
	env PATH="$W/trap:$PATH" "$NSBOX" run --set root.tarball="$T/root.tar.zst" -- true
check "A12: no external decompressor is run" "no" "$(test -e "$W/trap/ran" && echo yes || echo no)"
check "A13: a duplicate entry: the last one wins" "two" "$(tb "$T/a13-duplicate.tar" -- sh -c 'read -r l </dup; echo $l' 2>/dev/null)"
refused "A13 a file over a directory" a13-dir-then-file.tar "entry 'd': Can't replace existing directory"
check "A13: names longer than PATH_MAX" "ok" "$(tb "$T/a13-long.tar" -- /bin/ok 2>/dev/null)"
check "A13: 100000 entries" "100000" "$(tb "$T/a13-many.tar" -- sh -c 'ls /many | wc -l' 2>/dev/null)"
refused "A14 a stray entry under lib -> usr/lib" a14-merged-usr.tar "entry 'lib/foo': leads through a symlink 'lib'"
check "A14: nothing under usr/lib" "" "$(find "$CACHE/roots" -name foo)"

# --- errors of the profile ---
err=$(tb "$W/nonexistent.tar" -- true 2>&1); rc=$?
check "a missing tarball: 125, one line" "125|nsbox: command line: root.tarball: $W/nonexistent.tar: No such file or directory" "$rc|$err"
err=$(tb "$W" -- true 2>&1); rc=$?
check "a directory: 125, one line" "125|nsbox: command line: root.tarball: $W: not a regular file" "$rc|$err"

# --- nsbox cache ---
rm -rf "$CACHE"
tb "$T/root.tar.gz" -- true 2>/dev/null
tb "$T/root.tar.xz" -- true 2>/dev/null
tb "$T/root.tar.bz2" -- true 2>/dev/null
rm "$T/root.tar.bz2"
list=$("$NSBOX" cache list)
check "cache list: a header, an entry per tarball, a total" 5 "$(echo "$list" | wc -l)"
check "cache list: a gone tarball" 1 "$(echo "$list" | grep -c "gone     $T/root.tar.bz2")"
"$NSBOX" run --set root.tarball="$T/root.tar.gz" -- sleep 1733 &
inuse=$!
wait_proc 'sleep 1733' || not_ok "a run on root.tar.gz starts"
check "cache list: in use" 1 "$("$NSBOX" cache list | grep -c "in use   $T/root.tar.gz")"
check "cache prune --dry-run: says what would go, removes nothing" "1 3" \
	"$("$NSBOX" cache prune --dry-run | grep -c "^would remove .*root.tar.bz2: gone") $(entries)"
"$NSBOX" cache prune >/dev/null
check "cache prune: the gone tarball's entry goes, the current ones stay" 2 "$(entries)"
"$NSBOX" cache prune --all >/dev/null
check "cache prune --all: the entry in use stays" 1 "$(entries)"
kill "$inuse"; wait "$inuse"
"$NSBOX" cache prune --all >/dev/null
check "cache prune --all: then it goes too" "0 yes" "$(entries) $(tmp_empty && echo yes)"
check "cache prune: index and locks are empty" "" "$(ls -A "$CACHE/roots/index"; ls -A "$CACHE/roots/locks")"
err=$("$NSBOX" cache frob 2>&1); rc=$?
check "cache: an unknown action" "125|nsbox: command line: nsbox cache: expected list, prune, dir or id TARBALL" "$rc|$err"
check "cache id: the tarball's SHA-256, cached or not" "$(sha256sum <"$T/root.tar.xz" | cut -d' ' -f1) $(sha256sum <"$T/root.tar.lz4" | cut -d' ' -f1)" \
	"$("$NSBOX" cache id "$T/root.tar.xz") $("$NSBOX" cache id "$T/root.tar.lz4")"
check "cache dir: NSBOX_CACHE_DIR when set" "$CACHE" "$("$NSBOX" cache dir)"
only "$PRIV" 1 "a user's cache is in its home" &&
	check "cache dir: else root's" "/var/cache/nsbox" "$(env -u NSBOX_CACHE_DIR "$NSBOX" cache dir)"

audit_check "tarball roots"
rm -rf "$CACHE"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# User namespaces: root with userns = yes or a map, and an unprivileged
# user with /etc/subuid ranges (a test user this script creates and
# removes), U1-U7.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

TU=nsbox-test
chmod 755 "$W" # the mapped root must reach the fixture
command -v newuidmap >/dev/null || { echo "Bail out! newuidmap is missing (make deps: uidmap)"; exit 1; }

# --- root ---
only "root no-openat2" 1 "every run asks for a user namespace" &&
	check "root: no user namespace unless asked" "$(readlink /proc/self/ns/user)" \
		"$("$NSBOX" run -- readlink /proc/self/ns/user)"
if only "$PRIV" 6 "root's user namespaces"; then
	check "U7: userns = yes maps root to a private range" "0 1879048192 65536" \
		"$("$NSBOX" run --chroot="$ROOT" --set user.userns=yes -- cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
	mkdir -m 777 "$W/out"
	mkdir "$ROOT/out" # the base is root's, unmapped: the mapped root cannot create it
	"$NSBOX" run --chroot="$ROOT" --set user.userns=yes -m bind:"$W/out":/out -- touch /out/f
	rmdir "$ROOT/out"
	check "U7: a file written to a bind belongs to the range on the host" "1879048192:1879048192" \
		"$(stat -c %u:%g "$W/out/f")"
	check "root: a map puts the container in a user namespace" "0 300000 65536|0 300000 65536" \
		"$("$NSBOX" run --chroot="$ROOT" -e 0:300000:65536 -- cat /proc/self/uid_map /proc/self/gid_map | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
	check "root + userns: ephemeral writes" "made" \
		"$("$NSBOX" run --chroot="$ROOT" -w --set user.userns=yes -- sh -c 'mkdir /newdir && echo made')"
	check "root + userns: the capability set" "00000000800405fb" \
		"$("$NSBOX" run --chroot="$ROOT" --set user.userns=yes -- sh -c "awk '/CapEff/{print \$2}' /proc/self/status")"
	# I11 in a user namespace: a bind-ro of a tree whose submount is nosuid
	# and nodev: the submount is read-only too, and keeps its locked flags.
	mkdir -p "$W/tree/sub"
	mount -t tmpfs -o nosuid,nodev tmpfs "$W/tree/sub"
	check "I11 + userns: the submount is ro, nosuid, nodev" "ro nosuid nodev" \
		"$("$NSBOX" run --chroot="$ROOT" -w --set user.userns=yes -m bind-ro:"$W/tree":/mnt -- \
			awk '$2 == "/mnt/sub" {n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] ~ /^(ro|nosuid|nodev)$/) printf "%s ", o[i]}' /proc/mounts | sed 's/ $//')"
	umount "$W/tree/sub"
fi
err=$("$NSBOX" run --chroot="$ROOT" --set user.uid-map=0:300000:10 -- true 2>&1); rc=$?
check "U3: a uid map without a gid map: 125" 125 "$rc"
case $err in "nsbox: command line: user.uid-map: a uid map needs a gid map too"*) ok "U3: says what is missing";;
*) not_ok "U3: says what is missing" "$err";; esac

# --- an unprivileged user ---
if ! id "$TU" >/dev/null 2>&1; then
	useradd -M -d /nonexistent -s /bin/sh "$TU" || { echo "Bail out! useradd $TU"; exit 1; }
	made_user=1
fi
cp /etc/subuid "$W/subuid.saved"; cp /etc/subgid "$W/subgid.saved"
sed -i "/^$TU:/d" /etc/subuid /etc/subgid
echo "$TU:300000:65536" >>/etc/subuid; echo "$TU:300000:65536" >>/etc/subgid
tuid=$(id -u "$TU")
cleanup_user() {
	cp "$W/subuid.saved" /etc/subuid; cp "$W/subgid.saved" /etc/subgid
	[ -z "${made_user:-}" ] || userdel "$TU"
}
trap cleanup_user EXIT INT TERM
UROOT="$W/uroot"
cp -a "$ROOT" "$UROOT"; chown -R "$TU:" "$UROOT"
as_user() { runuser -u "$TU" -- env -i PATH=/usr/bin:/bin "$@"; }
# The checkout may sit in a directory only root can reach.
cp "$NSBOX_BIN" "$W/nsbox"; NSBOX="$W/nsbox"

check "unprivileged: run -- id" "uid=0(root) gid=0(root)" "$(as_user "$NSBOX" run -- id | cut -d' ' -f1-2)"
check "unprivileged: caller is root, its range follows" "0 $tuid 1|1 300000 65535" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -- cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
check "unprivileged: --user inside" "1000 1000" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" --user=builder -- sh -c 'echo $(id -u) $(id -g)')"
check "unprivileged: ephemeral" "x no" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -w -- sh -c 'echo x >/etc/new; rm -r /home; cat /etc/new' | tr '\n' ' '; [ -e "$UROOT/etc/new" ] && echo yes || echo no)"
check "unprivileged: the base is untouched" "yes" "$([ -d "$UROOT/home/builder" ] && echo yes)"
check "unprivileged: an upper with a subordinate id's files is removed" "0 " \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -w --user=builder -- sh -c 'mkdir /tmp/d && touch /tmp/d/f'; echo "$? $(ls -A "/tmp/nsbox-$tuid")")"
check "unprivileged: tmp mount" "tmpfs" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -m tmp:/scratch -- sh -c "awk '\$2==\"/scratch\"{print \$3}' /proc/mounts")"
check "unprivileged: /proc masks hold" "0" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -- sh -c 'cat /proc/kallsyms 2>/dev/null | wc -c')"
check "unprivileged: /dev" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -- ls /dev | tr '\n' ' ' | sed 's/ $//')"
check "unprivileged: a map with a delegated range" "0 $tuid 1|1 300000 1000" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -e 0:"$tuid":1 -e 1:300000:1000 -- cat /proc/self/uid_map 2>&1 | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
# pflask's --user-map=0:100000:65536: root inside is the first subordinate
# id and the caller is not mapped; the state directory (mode 700), a home
# of mode 700 and the run directory are still reached, through fds.
SROOT="$W/uhome/sroot"
mkdir -m 700 "$W/uhome"; cp -a "$ROOT" "$SROOT"; chown -R 300000:300000 "$SROOT"
chown 301000:301000 "$SROOT/home/builder"; echo src >"$W/uhome/f"; chown "$TU:" "$W/uhome" "$W/uhome/f"
check "unprivileged, caller unmapped: the map as given, root owns /etc/passwd" "0 300000 65536|0:0" \
	"$(as_user "$NSBOX" run --chroot="$SROOT" -e 0:300000:65536 -- sh -c 'cat /proc/self/uid_map; stat -c %u:%g /etc/passwd' 2>&1 | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
check "unprivileged, caller unmapped: ephemeral, a bind from a mode 700 home" "made src no" \
	"$(as_user "$NSBOX" run --chroot="$SROOT" -e 0:300000:65536 -w -m bind-ro:"$W/uhome/f":/f -- sh -c 'touch /new && echo made; cat /f' 2>&1 | paste -sd' ') $([ -e "$SROOT/new" ] && echo yes || echo no)"
check "unprivileged, caller unmapped: --user inside" "1000 1000" \
	"$(as_user "$NSBOX" run --chroot="$SROOT" -e 0:300000:65536 --user=builder -- sh -c 'echo $(id -u) $(id -g)' 2>&1)"
check "unprivileged, caller unmapped: a detached run, its pty and socket" "0 bg" \
	"$(as_user "$NSBOX" run --chroot="$SROOT" -e 0:300000:65536 --detach --name=bg -- sleep 30 >/dev/null; as_user "$NSBOX" stop bg; echo "$? bg")"
# A root made by mmdebstrap --mode=unshare: / belongs to the first
# subordinate id, and no map is given.
check "unprivileged: a root of a subordinate id runs with its own ownership" "0 300000 65536|0:0|1000:1000" \
	"$(as_user "$NSBOX" run --chroot="$SROOT" -- sh -c 'cat /proc/self/uid_map; stat -c %u:%g /etc/passwd /home/builder' 2>&1 | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
check "unprivileged: -v says which map it picked" "nsbox: $SROOT belongs to 300000:300000: --user-map=0:300000:65536" \
	"$(as_user "$NSBOX" run -v --chroot="$SROOT" -- true 2>&1 | grep -v '^nsbox: step')"
err=$(as_user mkdir "$W/uhome/up" && as_user "$NSBOX" run --chroot="$SROOT" -e 0:300000:65536 --set root.upper="$W/uhome/up" -- true 2>&1)
check "unprivileged, caller unmapped: a caller's upper is refused" \
	"nsbox: command line: root.upper: $W/uhome/up belongs to uid $tuid, which the map leaves out: the container's root (uid 300000 on the host) cannot write it" "$err"
err=$(as_user "$NSBOX" run --chroot="$UROOT" -e 0:"$tuid":1 -e 1:200000:65536 -- true 2>&1); rc=$?
check "U1: a range not delegated: 125" 125 "$rc"
check "U1: the message" "nsbox: command line: user.map: host uids 200000-265535 are not delegated to $TU (/etc/subuid)" "$err"
mkdir -m 755 "$W/evil"
printf '#!/bin/sh\ntouch %s/evil/ran\nexit 1\n' "$W" >"$W/evil/newuidmap"; chmod 755 "$W/evil/newuidmap"
cp "$W/evil/newuidmap" "$W/evil/newgidmap"
runuser -u "$TU" -- env -i PATH="$W/evil:/usr/bin:/bin" "$NSBOX" run --chroot="$UROOT" -- true
check "U5: newuidmap from PATH is never run" "no" "$([ -e "$W/evil/ran" ] && echo yes || echo no)"
# U4: a broken newuidmap (bound over the real one in a mount namespace of
# the test's own): its stderr in the one line, and no child left behind.
printf '#!/bin/sh\necho "newuidmap: write to uid_map failed: Operation not permitted" >&2\nexit 1\n' >"$W/evil/broken"
chmod 755 "$W/evil/broken"
err=$(unshare -m sh -c 'mount --bind "$1" /usr/bin/newuidmap && shift && exec "$@"' sh "$W/evil/broken" \
	runuser -u "$TU" -- env -i PATH=/usr/bin:/bin "$NSBOX" run --chroot="$UROOT" -- true 2>&1); rc=$?
check "U4: a failing newuidmap: 125 and its message" \
	"125|nsbox: maps: /usr/bin/newuidmap failed: newuidmap: write to uid_map failed: Operation not permitted" "$rc|$err"
check "U4: no child of that run is left" "" "$(pgrep -u "$TU" -f "$W/nsbox" || true)"
# A tarball root: extracted in the user's namespace, into its own cache.
cp -a "$ROOT" "$W/troot"; chown -R 0:0 "$W/troot"; chown 1000:1000 "$W/troot/home/builder"
tar -C "$W/troot" --numeric-owner -czf "$W/root.tar.gz" .
chmod 644 "$W/root.tar.gz"
mkdir -m 700 "$W/ucache"; chown "$TU:" "$W/ucache"
ut() { as_user NSBOX_CACHE_DIR="$W/ucache" "$NSBOX" run --set root.tarball="$W/root.tar.gz" "$@"; }
check "unprivileged tarball: the owners inside are the tarball's" "0:0 1000:1000" \
	"$(ut -- stat -c %u:%g /etc/passwd /home/builder 2>/dev/null | paste -sd' ')"
tree=$(echo "$W"/ucache/roots/*/tree)
check "unprivileged tarball: on the host, the caller's and its range's" "$tuid 300999" \
	"$(stat -c %u "$tree/etc/passwd") $(stat -c %u "$tree/home/builder")"
check "A8 unprivileged: a setuid file is never host root's" "0" \
	"$(find "$W/ucache" -uid 0 | wc -l)"
check "unprivileged tarball: writes go to a throw-away upper" "x no" \
	"$(ut -- sh -c 'echo x >/etc/new; cat /etc/new' 2>/dev/null) $(test -e "$tree/etc/new" && echo yes || echo no)"
check "unprivileged tarball: --user inside" "1000" "$(ut --user=builder -- id -u 2>/dev/null)"
check "unprivileged: cache prune --all removes trees of mapped ids" "0" \
	"$(as_user NSBOX_CACHE_DIR="$W/ucache" "$NSBOX" cache prune --all >/dev/null; find "$W/ucache/roots" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' | wc -l)"
check "unprivileged: nothing left in the cache's tmp" "" "$(ls -A "$W/ucache/roots/tmp")"

sed -i "/^$TU:/d" /etc/subuid /etc/subgid
check "no subuid range: only the caller's id" "0 $tuid 1" \
	"$(as_user "$NSBOX" run --chroot="$UROOT" -- cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
as_user "$NSBOX" run --chroot="$UROOT" --user=builder -- true 2>"$W/err"; rc=$?
check "U6: an unmapped user: 125" 125 "$rc"
check "U6: the message" "nsbox: user: builder (uid 1000, gid 1000) is not mapped in the user namespace (see user.map)" "$(cat "$W/err")"
err=$(as_user "$NSBOX" run --chroot="$UROOT" --netif=veth:auto:eth0 -- true 2>&1); rc=$?
check "unprivileged: interfaces refused" "125 nsbox: command line: network.netif: interfaces need root" "$rc $err"
as_user "$NSBOX" run --chroot="$UROOT" --set user.userns=no -- true 2>"$W/err"; rc=$?
check "userns = no needs root: 125" 125 "$rc"
check "unprivileged: no state left" "" "$(ls -A "/tmp/nsbox-$tuid" 2>&1)"

# --- uid 0 of a user namespace (unshare -r, a rootless container) ---
# with a /run of its own, as such a container has; setgroups is denied
# there, and only the caller's id is mapped.
rootless() { as_user unshare -rm sh -c "mount -t tmpfs tmpfs /run && $1"; }
check "rootless: run, ephemeral, nothing left in its /run" "0 $tuid 1|made" \
	"$(rootless "'$NSBOX' run --chroot='$UROOT' -- cat /proc/self/uid_map; '$NSBOX' run -w --chroot='$UROOT' -- sh -c 'touch /x && echo made'; ls -A /run/nsbox" | tr -s ' ' | sed 's/^ //' | paste -sd'|')"
err=$(rootless "'$NSBOX' run --chroot='$UROOT' -u builder -- true" 2>&1); rc=$?
check "rootless: an unmapped user: 125, one line" \
	"125|nsbox: user: builder (uid 1000, gid 1000) is not mapped in the user namespace (see user.map)" "$rc|$err"
rm -rf "/tmp/nsbox-$tuid"
cleanup_user
trap - EXIT INT TERM

audit_check "after all runs"
finish

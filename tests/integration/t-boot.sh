#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Booting an OS: systemd as PID 1 in a bookworm root made by
# helpers/nsbox-mkroot with systemd included (from the mirror). It reaches
# running (or degraded), nsbox exec reaches it, nsbox stop halts it
# (SIGRTMIN+3) and nsbox exits 0; the cgroups systemd made go with the run.
# Once from the tarball in the foreground, once pflask's way (--chroot=DIR)
# detached.
# shellcheck disable=SC2016 # sh -c scripts for the container
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "booting an init needs a cgroup, and only root has one here"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
command -v mmdebstrap >/dev/null || { echo "Bail out! mmdebstrap is missing (make deps)"; exit 1; }
TAR="$W/systemd.tar.zst"
export NSBOX_CACHE_DIR="$W/cache"
# NSBOX_TEST_BOOT_TAR: such a root made elsewhere (tests/vm: the guest has
# no network, and its image has one)
if [ -n "${NSBOX_TEST_BOOT_TAR:-}" ]; then
	TAR=$NSBOX_TEST_BOOT_TAR
	echo "# the root: $TAR (NSBOX_TEST_BOOT_TAR)"
elif ! "$TOP/helpers/nsbox-mkroot" --mirror="$MIRROR" --variant=minbase --include=systemd,systemd-sysv,dbus \
	bookworm "$TAR" >"$W/mkroot.log" 2>&1; then
	tail -20 "$W/mkroot.log"; echo "Bail out! nsbox-mkroot with systemd failed"; exit 1
fi
scopes() { find /sys/fs/cgroup \( -name '*.scope' -o -name '*.slice' \) 2>/dev/null | sort; }
scopes >"$W/scopes.before"

# wait_running NAME: systemctl is-system-running --wait, through nsbox
# exec, once systemd listens (up to 2 minutes)
wait_running() {
	i=0
	while :; do
		st=$(timeout 120 "$NSBOX" exec "$1" -- systemctl is-system-running --wait 2>&1)
		# offline: systemd has not mounted /run yet
		case $st in *"Failed to connect"* | *"no running container"* | offline) ;; *) break;; esac
		i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.2
	done
	echo "$st"
}

# --- from the tarball, in the foreground with a pty ---
"$NSBOX" run --set root.tarball="$TAR" --ephemeral --name=boot1 --tty -- /lib/systemd/systemd \
	</dev/null >"$W/boot1.out" 2>&1 &
run=$!
state=$(wait_running boot1)
case $state in running | degraded) ok "systemd reaches $state";;
*) not_ok "systemd reaches running or degraded" "$state" "$(tr -d '\r' <"$W/boot1.out" | tail -5)";; esac
[ "$state" = degraded ] && "$NSBOX" exec boot1 -- systemctl --failed --no-legend | sed 's/^/# failed: /'
check "it knows it is in a container (container=nsbox)" "container-other" \
	"$("$NSBOX" exec boot1 -- systemd-detect-virt --container 2>&1)"
check "its cgroup tree is cgroup2, rooted at the run's cgroup" "cgroup2fs 0::/init.scope" \
	"$("$NSBOX" exec boot1 -- sh -c 'echo $(stat -f -c %T /sys/fs/cgroup) $(grep "^0::" /proc/1/cgroup)')"
cg=$("$NSBOX" ps --json | /usr/bin/python3 -c 'import json,sys; print([r["cgroups"][0] for r in json.load(sys.stdin) if r["name"] == "boot1"][0])')
check "... which is the run's nsbox-ID cgroup on the host, under the caller's" "yes yes" \
	"$(case $cg in */nsbox-*) echo yes;; esac) $(test -d "$cg/init.scope" && echo yes)"
# where systemd manages the cgroups, the run's scope is the run's too
run_scope=$cg
case ${cg%/*} in */nsbox-*.scope) run_scope=${cg%/*} ;; esac
check "the host's cgroups outside the run's are untouched" "" "$(scopes | grep -v -e "^$cg/" -e "^$run_scope\$" | comm -13 "$W/scopes.before" -)"
"$NSBOX" stop boot1; stop=$?
wait "$run"; rc=$?
check "nsbox stop: systemd halts (SIGRTMIN+3), nsbox exits 0" "0 0" "$stop $rc"
out=$(tr -d '\r' <"$W/boot1.out")
case $out in *"Welcome to "*"Halting system."*) ok "the console showed the boot and the halt";;
*) not_ok "the console showed the boot and the halt" "$(echo "$out" | tail -3)";; esac
check "the run's cgroups went with it" "" "$(scopes | comm -13 "$W/scopes.before" -)"

# --- pflask's way: --chroot=DIR, detached ---
mkdir "$W/root.sd"
tar -xpf "$TAR" -C "$W/root.sd" --numeric-owner --xattrs --xattrs-include='*'
codename=$(sed -n 's/^VERSION_CODENAME=//p' "$W/root.sd/etc/os-release")
"$NSBOX" run --chroot="$W/root.sd" --ephemeral --name=boot2 -d -- /lib/systemd/systemd >/dev/null
state=$(wait_running boot2)
case $state in running | degraded) ok "--chroot=DIR -d: systemd reaches $state";;
*) not_ok "--chroot=DIR -d: systemd reaches running or degraded" "$state";; esac
check "nsbox exec: a shell command in the booted system" "$codename" \
	"$("$NSBOX" exec boot2 -- sh -c '. /etc/os-release; echo "$VERSION_CODENAME"')"
"$NSBOX" stop boot2
check "nsbox stop returns once it is gone" "" "$("$NSBOX" ps | awk '$1 == "boot2"')"
check "the root directory is as it was (ephemeral)" "no" "$(test -s "$W/root.sd/etc/machine-id" && echo yes || echo no)"
check "no cgroup left" "" "$(scopes | comm -13 "$W/scopes.before" -)"

# --- an init without what booting needs: one line, 125 ---
err=$("$NSBOX" run --chroot="$W/root.sd" --no-pidns -- /lib/systemd/systemd 2>&1); rc=$?
check "an init without a pid namespace: 125 and why" \
	"125|nsbox: command line: process.init: /lib/systemd/systemd is an init: booting it needs a root (root.directory or root.tarball) and mount, pid and cgroup namespaces" "$rc|$err"

rm -rf "$W/root.sd"
"$NSBOX" cache prune --all >/dev/null
audit_check "boot"
finish

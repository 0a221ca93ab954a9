#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Shared by the integration tests: TAP output, the fixture root, and the
# leak audit (host mountinfo and nsbox state before and after).
# shellcheck disable=SC2012,SC2034 # ls of nsbox's own names; vars for the tests
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NSBOX="$TOP/nsbox"
NSBOX_BIN=$NSBOX # the binary itself, whatever the mode
PROFILES=$TOP/profiles # the shipped profiles, where the mode's caller can read them
W=$(mktemp -d /tmp/nsbox-it.XXXXXX)
ROOT="$W/root"
n=0
failed=0

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "Bail out! integration tests need root in CI"
			exit 1
		fi
		echo "1..0 # SKIP not root"
		exit 0
	fi
}

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "got: $3"; fi
}

# run_ok NAME CMD...: CMD exits 0; else a failure that shows its status
# and stderr. What it printed is in $RUN_OUT. An absence check ("nothing was
# written outside") starts from it, so that a run that never started
# cannot pass for one that was contained.
run_ok() {
	_name=$1; shift
	RUN_OUT=$("$@" 2>"$W/run_ok.err"); _rc=$?
	if [ "$_rc" -eq 0 ]; then ok "$_name"
	else not_ok "$_name" "status $_rc" "$(tr '\n' ' ' <"$W/run_ok.err")"; fi
	return "$_rc"
}

# run_refused NAME RC MESSAGE CMD...: CMD exits RC, its stderr one line
# that starts with MESSAGE (a glob).
run_refused() {
	_name=$1 _want=$2 _msg=$3; shift 3
	_err=$("$@" 2>&1 >/dev/null); _rc=$?
	# shellcheck disable=SC2254 # MESSAGE is a pattern
	case "$_rc|$_err" in
	"$_want|"$_msg)
		if [ "$(printf '%s\n' "$_err" | wc -l)" -eq 1 ]; then ok "$_name"
		else not_ok "$_name" "more than one line:" "$_err"; fi ;;
	*) not_ok "$_name" "expected: $_want|$_msg" "got: $_rc|$_err" ;;
	esac
}

# wait_until COND: until the shell command COND is true, 10 s at most
# (then 1); in place of a sleep that guesses how long a start takes.
wait_until() {
	_i=0
	until eval "$1"; do
		_i=$((_i + 1)); [ "$_i" -lt 200 ] || return 1
		sleep 0.05
	done
}

# wait_secs COND SECONDS: wait_until with a longer bound, for daemons
# (buildbot, debci's workers) that take seconds to start.
wait_secs() {
	_end=$(($(date +%s) + $2))
	until eval "$1"; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.2
	done
}

# wait_running NAME: until the container NAME is in nsbox ps.
wait_running() {
	wait_until "\"\$NSBOX\" ps 2>/dev/null | awk -v n='$1' '\$1 == n {f = 1} END {exit !f}'"
}

# sweeper_of PID: the sweeper of the run of nsbox PID: its child in this
# PID namespace (the container's init is in another).
sweeper_of() {
	ps -o pid=,pidns= --ppid "$1" | awk -v own="$(ps -o pidns= -p $$ | tr -d ' ')" '$2 == own {print $1}'
}

# wait_proc PATTERN: until a process whose whole command line is PATTERN
# (pgrep -x -f) runs: a payload that has exec'd.
wait_proc() {
	wait_until "pgrep -x -f '$1' >/dev/null"
}

# debian_base: TAR, a bookworm root tarball made by helpers/nsbox-mkroot
# (build-essential, fakeroot) and LOG, what nsbox-mkroot said; kept in
# /var/cache/nsbox-test between runs, where only root can write (nsbox-mkroot
# refuses anywhere else as root).
debian_base() {
	MIRROR=${MIRROR:-${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}}
	mkdir -p /var/cache/nsbox-test && chmod 755 /var/cache/nsbox-test
	TAR=/var/cache/nsbox-test/bookworm.tar.zst
	LOG=/var/cache/nsbox-test/bookworm.mkroot.log
	command -v mmdebstrap >/dev/null || { echo "Bail out! mmdebstrap is missing (make deps)"; exit 1; }
	if [ ! -s "$TAR" ] || [ ! -s "$LOG" ]; then
		if ! "$TOP/helpers/nsbox-mkroot" --variant=apt --include=build-essential,fakeroot \
			--mirror="$MIRROR" bookworm "$TAR" >"$LOG" 2>&1; then
			tail -20 "$LOG"; rm -f "$LOG"; echo "Bail out! nsbox-mkroot bookworm failed"; exit 1
		fi
	fi
}

# sid_base: BASE, a sid root tarball made by helpers/nsbox-mkroot (the
# buildd variant) once a day in /var/cache/nsbox-test, where only root can
# write; yesterday's is removed.
sid_base() {
	BASES=/var/cache/nsbox-test
	BASE=$BASES/sid-$(date +%Y%m%d).tar.zst
	if [ ! -s "$BASE" ]; then
		mkdir -p "$BASES" && chmod 755 "$BASES"
		find "$BASES" -maxdepth 1 -name 'sid-*.tar.zst' -delete
		sh "$TOP/helpers/nsbox-mkroot" sid "$BASE" >"$W/mkroot.log" 2>&1 ||
			{ echo "Bail out! nsbox-mkroot sid $BASE: $(tail -1 "$W/mkroot.log")"; exit 1; }
	fi
}

audit_snapshot() {
	grep -v ' /tmp/nsbox-it\.' /proc/self/mountinfo | awk '{print $5}' | sort >"$W/$1.mounts"
	{ ls -A /run/nsbox; [ -z "${NSBOX_TEST_USER:-}" ] || ls -A "/tmp/nsbox-$(id -u "$NSBOX_TEST_USER")"; } 2>/dev/null | sort >"$W/$1.state"
	find /sys/fs/cgroup -name 'nsbox-*' -type d 2>/dev/null | sort >"$W/$1.cgroups"
	# ephemeral and tarball uppers, on disk (CACHE/scratch)
	{ ls -A /var/cache/nsbox/scratch; [ -z "${NSBOX_TEST_USER:-}" ] ||
		ls -A "$(getent passwd "$NSBOX_TEST_USER" | cut -d: -f6)/.cache/nsbox/scratch"; } 2>/dev/null |
		sed 's/^/scratch /' >>"$W/$1.state"
	ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort >"$W/$1.links"
	# nsbox processes, and any process in a pid namespace that is not
	# ours: what a container would leave running. Zombies are not counted:
	# a detached or killed nsbox's are for PID 1 to reap.
	ps -e -o pid=,pidns=,stat=,comm= | awk -v own="$(ps -o pidns= -p $$ | tr -d ' ')" \
		'$2 != "-" && $3 !~ /^Z/ && ($4 == "nsbox" || $2 != own) {print $1, $4}' | sort >"$W/$1.procs"
}

# Whether the snapshot "after" is "before", with no process more.
audit_same() {
	for _f in mounts state cgroups links; do
		cmp -s "$W/before.$_f" "$W/after.$_f" || return 1
	done
	[ -z "$(comm -13 "$W/before.procs" "$W/after.procs")" ]
}

# The host must look as it did before: no mounts, no state left.
audit_check() {
	# Until the host is as it was, 10 s at most: where systemd manages the
	# cgroups, a run's scope goes just after it, and a killed run's sweeper
	# may still be removing its leftovers. A leak is there still after that.
	# shellcheck disable=SC2016 # expanded by wait_until's eval
	wait_until 'audit_snapshot after; audit_same'
	if cmp -s "$W/before.mounts" "$W/after.mounts"; then ok "$1: no mounts left on the host"
	else not_ok "$1: no mounts left on the host" "$(diff "$W/before.mounts" "$W/after.mounts" | tr '\n' ' ')"; fi
	if cmp -s "$W/before.state" "$W/after.state"; then ok "$1: no state left in /run/nsbox"
	else not_ok "$1: no state left in /run/nsbox" "$(tr '\n' ' ' <"$W/after.state")"; fi
	if cmp -s "$W/before.cgroups" "$W/after.cgroups"; then ok "$1: no cgroup left"
	else not_ok "$1: no cgroup left" "$(tr '\n' ' ' <"$W/after.cgroups")"; fi
	if cmp -s "$W/before.links" "$W/after.links"; then ok "$1: no interface left"
	else not_ok "$1: no interface left" "$(diff "$W/before.links" "$W/after.links" | tr '\n' ' ')"; fi
	new=$(comm -13 "$W/before.procs" "$W/after.procs" | cut -d' ' -f1 | paste -sd, -)
	if [ -z "$new" ]; then ok "$1: no process left"
	else not_ok "$1: no process left" "$(ps -o pid=,ppid=,stat=,args= -p "$new" | tr '\n' ';')"; fi
}

# test_user NAME FIRST: the user NAME, its home $W/home, subordinate ids
# FIRST..FIRST+65535; restore undoes it (and runs on exit). A user, group
# or subordinate ids of that name left by a run that was killed (SIGKILL
# runs no trap) are removed first: the name is the test's own.
test_user() {
	TU=$1
	chmod 755 "$W"
	if id "$TU" >/dev/null 2>&1; then
		pkill -KILL -u "$TU" 2>/dev/null
		userdel -f "$TU" 2>/dev/null
	fi
	! getent group "$TU" >/dev/null || groupdel "$TU" 2>/dev/null
	sed -i "/^$TU:/d" /etc/subuid /etc/subgid
	useradd -m -d "$W/home" -s /bin/sh "$TU" || { echo "Bail out! useradd $TU"; exit 1; }
	echo "$TU:$2:65536" >>/etc/subuid; echo "$TU:$2:65536" >>/etc/subgid
	TU_MADE=$TU
	trap restore EXIT INT TERM
}
restore() {
	[ -n "${TU_MADE:-}" ] || return 0
	sed -i "/^$TU_MADE:/d" /etc/subuid /etc/subgid
	userdel "$TU_MADE" 2>/dev/null
	TU_MADE=''
	trap - EXIT INT TERM
}

# The .Dl lines of a man page's EXAMPLES section.
man_examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$1"
}

# start_xvfb: an X server on a display of the test's own (-nolisten tcp):
# $d is its number; stop_xvfb ends it.
start_xvfb() {
	if ! command -v Xvfb >/dev/null || ! command -v xdpyinfo >/dev/null; then
		echo "Bail out! Xvfb or xdpyinfo is missing (make deps: xvfb x11-utils)"; exit 1
	fi
	d=77
	while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ]; do d=$((d + 1)); done
	Xvfb ":$d" -nolisten tcp >"$W/xvfb.log" 2>&1 &
	xvfb=$!
	_i=0
	while [ ! -S "/tmp/.X11-unix/X$d" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
}
stop_xvfb() {
	kill "$xvfb"; wait "$xvfb" 2>/dev/null
}

finish() {
	restore
	rm -rf "$W"
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# The mode of the whole suite (tests/integration/modes.sh sets it up):
# root; userns (root, every run with --set=user.userns=yes and the root
# owned by the mapped range); user (nsbox run by NSBOX_TEST_USER, who has
# subordinate ids); no-openat2 (root, openat2 failing with ENOSYS). $NSBOX
# is then a wrapper.
MODE=${NSBOX_TEST_MODE:-root}
mode_wrapper() {
	printf '#!/bin/sh\n%s\n' "$1" >"$W/nsbox-mode"
	chmod 755 "$W/nsbox-mode"
	NSBOX="$W/nsbox-mode"
}
case $MODE in
root) ;;
userns)
	mode_wrapper "[ \"\$1\" = run ] && { shift; exec '$TOP/nsbox' run --set=user.userns=yes \"\$@\"; }
exec '$TOP/nsbox' \"\$@\"" ;;
no-openat2) mode_wrapper "exec '$TOP/tests/probe/nsbox-probe' no-openat2 '$TOP/nsbox' \"\$@\"" ;;
user)
	[ -n "${NSBOX_TEST_USER:-}" ] || { echo "Bail out! mode $MODE needs NSBOX_TEST_USER"; exit 1; }
	u="$(command -v setpriv) --reuid=$NSBOX_TEST_USER --regid=$NSBOX_TEST_USER --init-groups --"
	# the checkout may sit where only root can reach it
	cp "$TOP/nsbox" "$W/nsbox-bin"
	cp -r "$TOP/profiles" "$W/profiles"; PROFILES=$W/profiles
	mode_wrapper "unset XDG_RUNTIME_DIR; HOME=$(getent passwd "$NSBOX_TEST_USER" | cut -d: -f6) exec $u '$W/nsbox-bin' \"\$@\"" ;;
*) echo "Bail out! unknown NSBOX_TEST_MODE $MODE"; exit 1 ;;
esac

# own PATH...: give what the test made for the container to write to the
# id the container's root has on the host in this mode.
own() {
	case $MODE in
	userns) chown -R "$MAPPED:$MAPPED" "$@" ;;
	user) chown -R "$NSBOX_TEST_USER:$NSBOX_TEST_USER" "$@" ;;
	esac
}

# The modes where nsbox runs as root, and where its state is.
PRIV="root userns no-openat2"
# $AS_CALLER CMD runs CMD as who runs nsbox in this mode.
STATEDIR=/run/nsbox AS_CALLER=
case " $PRIV " in *" $MODE "*) ;; *)
	STATEDIR=/tmp/nsbox-$(id -u "$NSBOX_TEST_USER")
	AS_CALLER="setpriv --reuid=$NSBOX_TEST_USER --regid=$NSBOX_TEST_USER --init-groups --" ;;
esac


# host_id N: the host's id for the container's id N when it is run with
# this mode's default maps.
host_id() {
	case $MODE in
	userns) echo $((MAPPED + $1)) ;;
	user)
		if [ "$1" -eq 0 ]; then id -u "$NSBOX_TEST_USER"
		else echo $(($(awk -F: -v u="$NSBOX_TEST_USER" '$1 == u {print $2; exit}' /etc/subuid) + $1 - 1)); fi ;;
	*) echo "$1" ;;
	esac
}

# init_fds NSBOX-RUN-COMMAND...: the fds the container's init holds, one
# line, looked at from the host. From inside, a user namespace's payload
# cannot read them: the init is not dumpable and the payload has no
# CAP_SYS_PTRACE, so an `ls /proc/1/fd` there would pass on an error.
# The payload is a sleep, found by its exact command line once it has
# exec'd; its parent is the init.
init_fds() {
	"$@" -- sleep 313 &
	_bg=$! _i=0 _pl=
	while [ "$_i" -lt 200 ] && [ -z "$_pl" ]; do
		_pl=$(pgrep -x -f 'sleep 313' | head -n 1)
		[ -n "$_pl" ] || sleep 0.05
		_i=$((_i + 1))
	done
	if [ -z "$_pl" ]; then
		echo "no payload"
	else
		_init=$(awk '{print $4}' "/proc/$_pl/stat")
		# the sleep may run before its init has closed all: nsbox ps lists
		# the run once the init's end of the setup channel is closed
		wait_until "\"\$NSBOX\" ps | awk -v p=$_init '\$3 == p {f = 1} END {exit !f}'"
		ls "/proc/$_init/fd" | tr '\n' ' ' | sed 's/ $//'
		kill "$_pl"
	fi
	wait "$_bg"
}

# only "MODE..." N WHY: true in these modes; in the others, N tests
# skipped saying why.
only() {
	for m in $1; do [ "$m" = "$MODE" ] && return 0; done
	i=0
	while [ "$i" -lt "$2" ]; do
		i=$((i + 1)); n=$((n + 1))
		echo "ok $n # SKIP mode $MODE: $3"
	done
	return 1
}

# modes "MODE..." WHY: this test runs in these modes only; in the others
# it says why not, as a TAP skip of the whole file.
modes() {
	for m in $1; do [ "$m" = "$MODE" ] && return 0; done
	echo "1..0 # SKIP mode $MODE: $2"
	rm -rf "$W"
	exit 0
}

need_root
sh "$TOP/tests/fixtures/mkroot.sh" "$ROOT" || { echo "Bail out! cannot build the fixture root"; exit 1; }
cp "$TOP/tests/probe/nsbox-probe" "$ROOT/bin/" || { echo "Bail out! no tests/probe/nsbox-probe (make check builds it)"; exit 1; }
# With a user namespace, the root is its root's, as the man page says it
# should be; the user modes' user has $W as a home of sorts.
if [ "$MODE" = userns ]; then
	# The container's root is the first id root delegates, or 0x70000000.
	MAPPED=$(awk -F: '$1 == "root" {print $2; exit}' /etc/subuid)
	MAPPED=${MAPPED:-1879048192}
fi
case $MODE in
userns) chmod 755 "$W"; own "$ROOT" ;;
user) chown "$NSBOX_TEST_USER" "$W"; chmod 755 "$W"; own "$ROOT" ;;
esac
"$NSBOX" gc >/dev/null 2>&1 # leftovers of earlier killed runs are not this test's
audit_snapshot before

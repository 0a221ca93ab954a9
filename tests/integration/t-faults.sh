#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every executor step, failed and killed (SECURITY-CASES L14, L16, C2),
# with tests/nsbox-fault, the test build with fault points: STEP:fail makes
# a step fail once it has run, so its undo runs; STEP:stop waits there
# for this test to kill -9 nsbox. The run uses a tarball root, a veth, a
# pids limit and a pre-exec hook, so that each step has something to undo.
# After a failure the host must be clean at once; after kill -9, once
# nsbox gc (what the next run does first) has run.
if [ "${NSBOX_IN_NETNS:-}" != 1 ] && [ "$(id -u)" -eq 0 ]; then
	NSBOX_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "its runs have a veth and a pids limit, which need root"

FAULT="$TOP/tests/nsbox-fault"
[ -x "$FAULT" ] || { echo "Bail out! no tests/nsbox-fault (make check builds it)"; exit 1; }
export NSBOX_CACHE_DIR="$W/cache"
tar -C "$ROOT" -cf "$W/root.tar" .
printf '#!/bin/sh\nexit 0\n' >"$W/hook"; chmod 755 "$W/hook"
set -- --set root.tarball="$W/root.tar" --netif=veth:fveth0:eth0 --set limits.pids=32 \
	--set hooks.pre-exec="$W/hook"
"$FAULT" run "$@" -- true 2>/dev/null || echo "Bail out! the run without a fault fails"
"$FAULT" run --dry-run "$@" -- true | sed -n 's/^# \(parent\|child\): //p' >"$W/steps"
check "the steps, from --dry-run" "state prepare-root cgroup clone cgroup-attach prlimit maps host-fds netif register pre-exec" \
	"$(sed -n '1,11p' "$W/steps" | tr '\n' ' ' | sed 's/ $//')"

check "the installed build has no fault points" 0 \
	"$(NSBOX_FAULT=state:fail "$NSBOX" run --chroot="$ROOT" -- true >/dev/null 2>&1; echo $?)"

# clean LABEL: the host as before the test, at once
clean() {
	audit_snapshot now
	for k in mounts state cgroups links; do
		cmp -s "$W/before.$k" "$W/now.$k" || { echo "$k: $(diff "$W/before.$k" "$W/now.$k" | tr '\n' ' ')"; return; }
	done
	comm -13 "$W/before.procs" "$W/now.procs" | sed 's/^/process: /'
}

while IFS= read -r s; do
	# --- STEP:fail: 125, one line, nothing left ---
	if [ "$s" != cleanup ]; then
		err=$(NSBOX_FAULT="$s:fail" "$FAULT" run "$@" -- true 2>&1); rc=$?
		check "$s:fail: 125 and one line" "125|nsbox: $s: fault injected" "$rc|$err"
		check "$s:fail: nothing left" "" "$(clean)"
	fi
	# --- STEP:stop, then kill -9: nsbox gc finds the rest ---
	: >"$W/stop.err"
	NSBOX_FAULT="$s:stop" "$FAULT" run "$@" -- true 2>"$W/stop.err" &
	pid=$!
	i=0
	until grep -q "fault: $s: stopped" "$W/stop.err"; do
		i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
	done
	kill -KILL "$pid"; wait "$pid" 2>/dev/null
	# The container dies with nsbox (PR_SET_PDEATHSIG), but not at the
	# same instant; until it has, the run's lock is held and gc leaves it.
	i=0
	while :; do
		"$FAULT" gc >/dev/null 2>&1
		left=$(clean)
		if [ -z "$left" ] || [ $i -ge 50 ]; then break; fi
		i=$((i + 1)); sleep 0.1
	done
	check "$s:stop, kill -9, gc: nothing left" "stopped|" \
		"$(grep -q "fault: $s: stopped" "$W/stop.err" && echo stopped)|$left"
done <"$W/steps"

# --- C2: 50 at once, 10 of them failing at clone ---
mkdir "$W/c2"
i=0
while [ $i -lt 50 ]; do
	f=; [ $((i % 5)) -eq 0 ] && f=clone:fail
	(NSBOX_FAULT=$f "$FAULT" run --set root.tarball="$W/root.tar" --set limits.pids=32 -- true \
		>/dev/null 2>&1; echo $? >"$W/c2/$i") &
	i=$((i + 1))
done
wait
check "C2: 40 succeed, 10 exit 125" "40 10" \
	"$(cat "$W"/c2/* | grep -c '^0$') $(cat "$W"/c2/* | grep -c '^125$')"
check "C2: nothing left" "" "$(clean)"

"$FAULT" cache prune --all >/dev/null
audit_check "faults"
finish

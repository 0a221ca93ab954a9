#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# [limits]: cgroups under the caller's own (v2 where the unified hierarchy
# has the controller, v1 otherwise), OOM reported, fork bombs contained,
# nothing left after success, failure, SIGTERM and kill -9 (the run's sweeper).
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "limits need a cgroup, and only root has one here"

run() { "$NSBOX" run --chroot="$ROOT" "$@"; }
ours() { find /sys/fs/cgroup -name 'nsbox-*' -type d 2>/dev/null; }
# gone: ours, once empty (10 s at most). Where systemd manages the
# cgroups, the run's scope goes when systemd sees it empty, just after.
gone() { wait_until '[ -z "$(ours)" ]'; ours; }
# A host whose cgroups systemd manages: the run's cgroups are in a scope
# systemd delegated to it, not under the caller's cgroup (nsbox(1)).
SD=no
if [ -d /run/systemd/system ] && [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then SD=yes; fi
check "no nsbox cgroup before" "" "$(ours)"

# cg PID CONTROLLER -> "v1 MOUNT PATH" or "v2 MOUNT PATH": where the
# process's cgroup of that controller is (v1 when a v1 hierarchy has it
# and the process is in a cgroup there other than the unified one's).
cg() {
	v1=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" /proc/"$1"/cgroup | cut -d: -f3)
	m1=$(findmnt -rn -t cgroup -o TARGET,OPTIONS | awk -v c="$2" 'index("," $2 ",", "," c ",") {print $1; exit}')
	m2=$(findmnt -rn -t cgroup2 -o TARGET | head -1)
	if [ -n "$m2" ] && grep -qw "$2" "$m2/cgroup.controllers" 2>/dev/null; then
		echo "v2 $m2 $(sed -n 's/^0:://p' /proc/"$1"/cgroup)"
	else
		echo "v1 $m1 $v1"
	fi
}

# --- memory ---
err=$(run --set limits.memory=64M -- nsbox-probe alloc 300 2>&1); rc=$?
check "C8: over the memory limit: the payload is OOM-killed (137)" 137 "$rc"
check "C8: nsbox says which limit" "nsbox: the container hit its memory limit (limits.memory) and the kernel killed a process" "$err"
out=$(run --set limits.memory=512M -- nsbox-probe alloc 100 2>&1); rc=$?
check "under the limit: runs, nothing said" "allocated|0" "$out|$rc"

# --- pids ---
out=$(run --set limits.pids=20 -- nsbox-probe forks 100 2>&1); rc=$?
case $out in "forks: 18 Resource temporarily unavailable") ok "C7: a fork bomb stops at limits.pids (init, the payload and 18)";;
*) not_ok "C7: a fork bomb stops at limits.pids (init, the payload and 18)" "$out";; esac
check "C7: the payload's status is its own" 0 "$rc"

# --- where the cgroups are, and what is in them ---
# (a sleep that outlives the checks on a slow machine: ended after them)
run --set limits.memory=100M --set limits.pids=64 --set limits.cpu=0.5 -- sleep 1731 &
pid=$!
wait_proc 'sleep 1731'
c=$(pgrep -f '^sleep 1731$' | head -1)
for ctl in memory pids cpu; do
	# shellcheck disable=SC2046 # three words
	set -- $(cg "$c" "$ctl") $(cg $$ "$ctl")
	case $3 in
	*/nsbox-*) ok "$ctl ($1): the container has a cgroup of its own" ;;
	*) not_ok "$ctl ($1): the container has a cgroup of its own" "$3" ;;
	esac
	if [ "$SD" = yes ]; then
		case $3 in */nsbox-*.scope/nsbox-*) ok "$ctl: it is in a scope systemd delegated to the run";;
		*) not_ok "$ctl: it is in a scope systemd delegated to the run" "container: $3";; esac
	else
		case $3 in "${6%/}/nsbox-"*) ok "$ctl: it is under the caller's own cgroup";;
		*) not_ok "$ctl: it is under the caller's own cgroup" "caller: $6" "container: $3";; esac
	fi
	dir=$2$3
	case $1/$ctl in
	v1/memory) check "memory.limit_in_bytes" 104857600 "$(cat "$dir/memory.limit_in_bytes")" ;;
	v2/memory) check "memory.max" 104857600 "$(cat "$dir/memory.max")" ;;
	*/pids) check "pids.max" 64 "$(cat "$dir/pids.max")" ;;
	v1/cpu) check "cpu: 0.5 CPU is 50 ms per 100 ms" "50000 100000" "$(cat "$dir/cpu.cfs_quota_us") $(cat "$dir/cpu.cfs_period_us")" ;;
	v2/cpu) check "cpu: 0.5 CPU is 50 ms per 100 ms" "50000 100000" "$(cat "$dir/cpu.max")" ;;
	esac
done
check "the container's cgroup namespace starts at its own cgroup" "/" \
	"$("$NSBOX" run --chroot="$ROOT" --set limits.memory=100M -- sh -c "grep -E ':memory:|^0::' /proc/self/cgroup | head -1 | cut -d: -f3")"
kill "$c"
wait $pid
check "after a run: no cgroup left" "" "$(gone)"

# --- limits.io-weight: the weight this kernel has (v2 io, else v1 blkio) ---
# A v1 blkio has a weight only with BFQ (CFQ is gone): without one, the
# run goes on with one warning (nsbox.conf(5)).
weights=$(find /sys/fs/cgroup/blkio -maxdepth 1 -name '*weight*' 2>/dev/null)
if [ -d /sys/fs/cgroup/blkio ] && [ -z "$weights" ] &&
	! grep -qw io /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
	out=$(run --set limits.io-weight=300 -- echo ran 2>&1)
	check "io-weight 300, a kernel with no weight to set: it runs, one warning" \
		"ran|nsbox: warning: command line: limits.io-weight: this system has no I/O weight to set (no io or blkio controller with a weight); ignored" \
		"$(echo "$out" | grep -v warning)|$(echo "$out" | grep warning)"
else
run --name=iow --set limits.io-weight=300 -- sleep 1732 &
pid=$!
wait_running iow
dir=$("$NSBOX" ps --json | /usr/bin/python3 -c 'import json,sys; print([r["cgroups"][0] for r in json.load(sys.stdin) if r["name"] == "iow"][0])')
w=
for f in io.weight io.bfq.weight blkio.weight blkio.bfq.weight; do
	[ -f "$dir/$f" ] && { w="$f $(sed 's/^default //' "$dir/$f")"; break; }
done
case $w in "io.weight 300" | "io.bfq.weight 300" | "blkio.weight 1000" | "blkio.bfq.weight 300")
	ok "io-weight 300: $w";;
*) not_ok "io-weight 300 in the run's io or blkio cgroup" "$dir: $w";; esac
"$NSBOX" stop iow
wait $pid
fi
out=$(run --set limits.io-weight=0 -- true 2>&1); rc=$?
check "io-weight 0: one line, 125" \
	"125|nsbox: command line: limits.io-weight: '0': expected a weight from 1 to 10000 (100 is the default)" "$rc|$out"

# --- pflask's --cgroup ---
run -g memory -- sleep 1718 &
pid=$!
wait_proc 'sleep 1718'
# shellcheck disable=SC2046 # three words
set -- $(cg "$(pgrep -x -f 'sleep 1718' | head -1)" memory)
case $1:$3 in
v1:*/nsbox-*) ok "-g memory (pflask): a memory cgroup of its own ($1)" ;;
v2:*/nsbox-*) check "-g memory (pflask): a memory cgroup of its own ($1)" max "$(cat "$2$3/memory.max")" ;;
*) not_ok "-g memory (pflask): a memory cgroup of its own" "$*" ;;
esac
kill "$(pgrep -x -f 'sleep 1718' | head -1)"; wait $pid
err=$(run -g frob -- true 2>&1); rc=$?
check "an unknown controller: 125, one line" "125|nsbox: command line: limits.cgroup: this system has no frob cgroup controller" "$rc|$err"

# --- nothing left: after a failed start, SIGTERM, kill -9 ---
run --set limits.memory=100M --set root.chdir=/nonexistent -- true 2>/dev/null
check "after a failed start: no cgroup left" "" "$(gone)"
"$NSBOX" run --chroot="$ROOT" --set limits.pids=64 -- sleep 1719 &
pid=$!; wait_proc 'sleep 1719'; kill -TERM $pid; wait $pid
check "after SIGTERM: 143, no cgroup left" "143 " "$? $(gone)"
"$NSBOX" run --chroot="$ROOT" --set limits.pids=64 --set limits.memory=100M -- sleep 1720 &
pid=$!; wait_proc 'sleep 1720'
# memory and pids: one cgroup each in v1, one for both in v2; and, where
# systemd manages the cgroups, the scope that holds it
case $SD/$(stat -fc %T /sys/fs/cgroup) in
yes/*) want=2 ;; */cgroup2fs) want=1 ;; *) want=2 ;;
esac
check "kill -9: the run has its cgroups" "$want" "$(ours | wc -l)"
kill -KILL $pid; wait $pid 2>/dev/null
if [ "$SD" = yes ]; then
	# the container's init dies with nsbox, and systemd removes the
	# scope once nothing is in it: nothing is left for gc
	check "kill -9: systemd removes the scope once the container is gone" "" "$(gone)"
	"$NSBOX" gc >/dev/null 2>&1
else
	# the run's sweeper removes them once nsbox is gone: nothing for gc
	check "kill -9: the run's sweeper removes the cgroups, no gc needed" "" "$(gone)"
	check "kill -9: nothing is left for gc" "" "$("$NSBOX" gc --dry-run)"
fi
check "kill -9: nothing of the container survives" 0 "$(pgrep -fc '^sleep 1720$' || true)"

audit_check "limits"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A run whose whole process group is killed with SIGKILL, as CI engines
# end a step (buildbot past maxTime, timeout -s KILL): the container dies
# with nsbox, and the run's sweeper removes its state, upper and cgroup
# without a next run or nsbox gc. A run that ends as it should leaves no
# sweeper behind. (tests/ci/t-buildbot.sh does the same through buildbot.)
# shellcheck disable=SC2016 # expanded by wait_until's eval
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# An upper on disk in every mode; a cgroup where nsbox may make one.
set -- --chroot="$ROOT" --ephemeral --name=killed
case " $PRIV " in *" $MODE "*) set -- "$@" --set limits.pids=64 ;; esac

# A group of its own, as a CI worker makes for a step: nsbox is its leader.
setsid "$NSBOX" run "$@" -- sleep 4242 &
leader=$!
if wait_running killed && wait_proc 'sleep 4242'; then ok "the run starts (nsbox ps, its sleep)"
else not_ok "the run starts" "$("$NSBOX" ps | tr '\n' ';')"; fi
audit_snapshot during
check "it has state and an upper" "state upper" \
	"$(grep -q '[.]json$' "$W/during.state" && printf state) $(grep -q '^scratch ' "$W/during.state" && printf upper)"
only "$PRIV" 1 "no cgroup for a user here" &&
	check "... and a cgroup" "yes" "$(cmp -s "$W/before.cgroups" "$W/during.cgroups" || echo yes)"
pgid=$(ps -o pgid= -p "$leader" | tr -d ' ')
sweeper=$(sweeper_of "$leader")
check "its sweeper is nsbox's child, out of nsbox's process group" "yes" \
	"$([ -n "$sweeper" ] && [ "$(ps -o pgid= -p "$sweeper" | tr -d ' ')" != "$pgid" ] && echo yes)"
# (dash's kill takes no --; a failed kill must not leave the wait hanging)
/bin/kill -s KILL -- "-$pgid" || { not_ok "kill the run's process group" "pgid '$pgid'"; kill -KILL "$leader"; }
wait "$leader" 2>/dev/null
# ps shows it until the container's init has died (with nsbox, not in
# the same instant)
wait_until '[ -z "$("$NSBOX" ps | awk '"'"'$1 == "killed"'"'"')" ]'
# no gc here: the sweeper alone
wait_until 'audit_snapshot mid; cmp -s "$W/before.state" "$W/mid.state" && cmp -s "$W/before.procs" "$W/mid.procs"'
check "SIGKILL to the group: gone from ps" "" "$("$NSBOX" ps | awk '$1 == "killed"')"
check "the sweeper is done, and gc finds nothing" "" "$("$NSBOX" gc --dry-run 2>&1)"
audit_check "killed group"

# A run that ends: nsbox ends its sweeper before it exits.
audit_snapshot before
run_ok "a run that ends" "$NSBOX" run "$@" -- true
audit_snapshot now
check "... leaves no sweeper, state or upper, at once" "yes" \
	"$(cmp -s "$W/before.state" "$W/now.state" && cmp -s "$W/before.procs" "$W/now.procs" && echo yes)"
audit_check "t-killed"
finish

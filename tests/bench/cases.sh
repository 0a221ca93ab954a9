# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh
# Sourced by the benchmarks (after TOP is set): the case lines and the
# clock of spawn-time.c. Fails at once when make bench has not built it.
SPAWN_TIME="$TOP/tests/bench/spawn-time"
[ -x "$SPAWN_TIME" ] || { echo "$0: no tests/bench/spawn-time (make bench builds it)" >&2; exit 1; }
# case_add FILE NAME ARGV...: one case, its fields tab-separated; a case
# that needs a shell says sh -c, and is compared only with such cases
case_add() {
	_f=$1
	shift
	(IFS=$(printf '\t'); printf '%s\n' "$*") >>"$_f"
}

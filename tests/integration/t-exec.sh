#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox exec against the state a run leaves (issue 23): every spelling of
# security.seccomp and no-new-privileges that the parser takes, read back
# typed from the state; and the joining process, which is the host's
# nsbox until its execve, out of reach of what runs in the container
# (CVE-2019-5736: /proc/PID/exe).
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "$NO_USER_EXEC"

# state KEY NAME: the typed value of security.KEY in NAME's state
state() {
	"$NSBOX" ps --json | python3 -c 'import json, sys
r = [r for r in json.load(sys.stdin) if r["name"] == sys.argv[2]][0]
print(json.dumps(r["security"][sys.argv[1]]))' "$1" "$2"
}

# --- every spelling, on the command line and in a profile ---
i=0
for v in yes true 1 no false 0; do
	i=$((i + 1))
	case $v in yes | true | 1) want=true calls="unshare-user: Operation not permitted" ;;
	*) want=false calls="unshare-user: ok" ;; esac
	if [ $((i % 2)) -eq 0 ]; then
		# from a profile, as a packager writes it
		printf '[root]\ndirectory = %s\n[security]\nseccomp = %s\nno-new-privileges = %s\n' \
			"$ROOT" "$v" "$v" >"$W/p$i.conf"
		set -- --profile="$W/p$i.conf"
		from="profile"
	else
		set -- --chroot="$ROOT" --set=security.seccomp="$v" --set=security.no-new-privileges="$v"
		from="command line"
	fi
	out=$("$NSBOX" run --detach --name="sc$i" "$@" -- sleep 1726 2>&1); rc=$?
	check "seccomp=$v ($from): the run starts" "0 sc$i" "$rc $out"
	check "seccomp=$v ($from): the state says $want, typed" "$want $want" \
		"$(state seccomp "sc$i") $(state no-new-privileges "sc$i")"
	check "seccomp=$v ($from): what nsbox exec runs has the run's filter" "$calls" \
		"$("$NSBOX" exec "sc$i" -- nsbox-probe syscall unshare-user)"
	nnp=$([ "$want" = true ] && echo 1 || echo 0)
	check "no-new-privileges=$v ($from): so has what nsbox exec runs" "$nnp" \
		"$("$NSBOX" exec "sc$i" -- awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)"
	"$NSBOX" stop "sc$i"
done

# --- a state that is not nsbox's is not read as one ---
"$NSBOX" run --detach --name=keep --chroot="$ROOT" -- sleep 1727 >/dev/null
id=$("$NSBOX" ps --json | python3 -c 'import json, sys; print([r["id"] for r in json.load(sys.stdin) if r["name"] == "keep"][0])')
cp "$STATEDIR/$id.json" "$W/state.saved"
# what the old reader took for "on": the text anywhere in the file
printf '{"id": "%s", "name": "keep", "nsbox_pid": 1, "pid": 1, "x": "\\"seccomp\\": {\\"value\\": \\"yes\\"", "security": ' "$id" >"$STATEDIR/$id.json"
err=$("$NSBOX" exec keep -- true 2>&1); rc=$?
check "a cut-short state: exec finds no such container, and says why" "125 yes yes" \
	"$rc $(echo "$err" | grep -q "^nsbox: $STATEDIR/$id.json: an object was expected; skipped$" && echo yes) $(echo "$err" | grep -q "no running container named 'keep'" && echo yes)"
cp "$W/state.saved" "$STATEDIR/$id.json"
check "the state put back: exec works again" "ok" "$("$NSBOX" exec keep -- echo ok)"
"$NSBOX" stop keep

# --- the joining process and /proc/PID/exe ---
# The container's command watches its /proc for the processes nsbox exec
# brings in and tries to open each one's exe. A PATH of 400 directories
# that do not exist makes the joining process search long before its
# execve (nsbox resolves the command itself), which is when its exe is
# still the host's nsbox.
path=$(i=0; while [ $i -lt 400 ]; do printf '/nonexistent/%d:' $i; i=$((i + 1)); done)/bin
rounds=40
"$NSBOX" run --chroot="$ROOT" --name=watch --setenv=PATH="$path" -- \
	nsbox-probe watch-exe "$(stat -L -c %d:%i "$NSBOX_BIN")" "$rounds" >"$W/watch.out" 2>&1 &
watch=$!
j=0
while [ $j -lt 100 ] && ! "$NSBOX" ps | grep -q '^watch '; do sleep 0.05; j=$((j + 1)); done
j=0 fails=0
while [ $j -lt "$rounds" ]; do
	"$NSBOX" exec watch -- sleep 0.02 || fails=$((fails + 1))
	j=$((j + 1))
done
wait $watch; rc=$?
check "nsbox exec ran $rounds times" "0" "$fails"
read -r _ seen _ opened _ handles <"$W/watch.out"
check "the watcher saw them come and go, and opened the exe of some once they ran" "0 yes yes" \
	"$rc $([ "${seen:-0}" -ge "$rounds" ] && echo yes) $([ "${opened:-0}" -gt 0 ] && echo yes)"
check "no handle on the host's nsbox through /proc/PID/exe, of the joining process or of the init" "0" "${handles:-?}"

audit_check "exec"
finish

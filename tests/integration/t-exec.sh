#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox exec against the state a run leaves (issue 23): every spelling of
# security.seccomp and no-new-privileges that the parser takes, read back
# typed from the state; and the joining process, which is the host's
# nsbox until its execve, out of reach of what runs in the container
# (CVE-2019-5736: /proc/PID/exe). In every mode: in mode user, exec by the
# run's own user enters through the namespaces the run's nsbox holds,
# while the init stays closed to that user.
# shellcheck disable=SC2016,SC3045 # SC3045: ulimit -S, -H, -n: dash and bash have them
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

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

# --- the namespaces exec enters are the init's (issue 25) ---
"$NSBOX" run --detach --name=ns --chroot="$ROOT" -- sleep 1729 >/dev/null
nsb=$("$NSBOX" ps --json | python3 -c 'import json, sys; print([r["nsbox_pid"] for r in json.load(sys.stdin) if r["name"] == "ns"][0])')
init=$("$NSBOX" ps | awk '$1 == "ns" {print $3}')
# read from the host as root: the init's, and what exec's command is in
want=$(for t in user mnt pid net ipc uts cgroup; do readlink "/proc/$init/ns/$t"; done | tr '\n' ' ')
got=$("$NSBOX" exec ns -- sh -c 'for t in user mnt pid net ipc uts cgroup; do readlink /proc/self/ns/$t; done' | tr '\n' ' ')
check "exec: in each of the init's namespaces" "$want" "$got"
check "exec: under the container's root, in its PID namespace" "yes 1729" \
	"$("$NSBOX" exec ns -- test -x /bin/nsbox-probe && echo yes) $("$NSBOX" exec ns -- cat /proc/2/cmdline | tr '\0' ' ' | cut -d' ' -f2)"
if [ "$MODE" = user ]; then
	# the init is still not dumpable: its namespaces and environment
	# stay closed to the user, who enters through those nsbox holds
	check "mode user: the init's /proc/PID/ns and environ stay closed to the user (EACCES)" "no no" \
		"$($AS_CALLER readlink "/proc/$init/ns/user" >/dev/null 2>&1 && echo yes || echo no) $($AS_CALLER cat "/proc/$init/environ" >/dev/null 2>&1 && echo yes || echo no)"
	check "mode user: nsbox (the run's, on the host) holds them" "yes" \
		"$(for f in "/proc/$nsb/fd/"*; do readlink "$f"; done | grep -q '^user:\[' && echo yes)"
fi
check "the container's init holds no namespace fd" 0 \
	"$(for f in "/proc/$init/fd/"*; do readlink "$f"; done 2>/dev/null | grep -cE '^(user|mnt|pid|net|ipc|uts|cgroup):')"
"$NSBOX" stop ns

# --- nsbox's failure and the command's status (issue 25) ---
"$NSBOX" run --detach --name=st --chroot="$ROOT" -- sleep 1728 >/dev/null
check "the command's own 125 is its status" 125 "$("$NSBOX" exec st -- sh -c 'exit 125'; echo $?)"
check "--failure-status=255: the command's own 125 and 255 pass" "125 255" \
	"$("$NSBOX" exec --failure-status=255 st -- sh -c 'exit 125'; echo $?) $("$NSBOX" exec --failure-status=255 st -- sh -c 'exit 255'; echo $?)"
run_refused "--failure-status=255: nsbox's failure (no such container) is 255, one line" 255 \
	"nsbox: command line: nsbox exec: no running container named 'gone'*" \
	"$NSBOX" exec --failure-status=255 gone -- true
# a failure in the process that joins the container, after the fork: told
# over a pipe, never through a status the command could give
FAULT="$TOP/tests/nsbox-fault"
if [ "$MODE" = root ]; then
	run_refused "a failure inside, just before the command's exec: the failure status, one line" 254 \
		"nsbox: exec: fault injected" env NSBOX_FAULT=exec:fail "$FAULT" exec --failure-status=254 st -- true
	run_refused "the same with --kill-leftovers" 254 \
		"nsbox: exec: fault injected" env NSBOX_FAULT=exec:fail "$FAULT" exec --kill-leftovers --failure-status=254 st -- true
fi
check "--status-map: the command's 254 and 255 become 253, others pass" "253 253 7 0" \
	"$(for c in 254 255 7 0; do "$NSBOX" exec --failure-status=255 --status-map=254:253 --status-map=255:253 st -- sh -c "exit $c"; printf '%s ' $?; done | sed 's/ $//')"
check "--status-map: a signal's 128+N too" 253 "$("$NSBOX" exec --status-map=137:253 st -- sh -c 'kill -KILL $$'; echo $?)"
run_refused "a map onto the failure status is refused" 255 \
	"nsbox: command line: --status-map=3:255: 255 is nsbox's own failure status*" \
	"$NSBOX" exec --failure-status=255 --status-map=3:255 st -- true
run_refused "--failure-status=0 is refused" 125 "nsbox: command line: --failure-status: expected a status from 1 to 255" \
	"$NSBOX" exec --failure-status=0 st -- true
check "not found is still 127 (the command's, by POSIX)" 127 "$("$NSBOX" exec --failure-status=255 st -- /nonexistent 2>/dev/null; echo $?)"

# --- what a command leaves behind ---
# --kill-leftovers: a background sleep with the caller's stdout open, a
# daemon that forks twice and calls setsid: the caller reads to its end
# of file as soon as the command returns, and none of them is left.
t0=$(date +%s)
out=$("$NSBOX" exec --kill-leftovers st -- sh -c 'sleep 1041 & (setsid sh -c "sleep 1042 &" &); sleep 0.2; echo started; exit 3' | cat)
check "--kill-leftovers: EOF as the command returns" "started yes" "$(echo "$out" | head -1) $([ $(($(date +%s) - t0)) -lt 10 ] && echo yes)"
check "--kill-leftovers: the status is the command's" 3 "$("$NSBOX" exec --kill-leftovers st -- sh -c 'sleep 1043 & exit 3' >/dev/null; echo $?)"
check "--kill-leftovers: the background sleep, the setsid daemon's, all gone" "0 0 0" \
	"$(pgrep -fc '^sleep 1041$') $(pgrep -fc '^sleep 1042$') $(pgrep -fc '^sleep 1043$')"
check "--kill-leftovers: the container runs on" "1728" "$("$NSBOX" exec --kill-leftovers st -- sh -c 'cat /proc/1/cmdline /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "' | grep -o 1728 | head -1)"
# without it, as nsenter and docker exec: nsbox exec returns with the
# command, and the sleep stays (it would hold a pipe on its stdout)
"$NSBOX" exec st -- sh -c 'sleep 1044 >/dev/null & echo started' >"$W/left.out"
wait_proc 'sleep 1044' # (sh may exit before its child has exec'd sleep)
check "the default leaves them running" "started 1" "$(cat "$W/left.out") $(pgrep -fc '^sleep 1044$')"

# --- nsbox stop of a name that is gone ---
"$NSBOX" stop st
run_refused "stop of a name that is gone: 125, one line" 125 \
	"nsbox: command line: nsbox stop: no running container named 'st' (see nsbox ps)" "$NSBOX" stop st
check "stop --ignore of a name that is gone: 0, silent" "0|" "$("$NSBOX" stop --ignore st 2>&1; echo "$?|")"
check "no sleep of the container left" "0" "$(pgrep -fc '^sleep 10(4[0-9]|728)$')"

# --- the joining process and /proc/PID/exe ---
# The container's command watches its /proc for the processes nsbox exec
# brings in and tries to open each one's exe. A PATH of 400 directories
# that do not exist makes the joining process search long before its
# execve (nsbox resolves the command itself), which is when its exe is
# still the host's nsbox.
path=$(i=0; while [ $i -lt 400 ]; do printf '/nonexistent/%d:' $i; i=$((i + 1)); done)/bin
# --- the command's resource limits are the run's, not the caller's ---
"$NSBOX" run --detach --name=lim --chroot="$ROOT" --set limits.nofile=100:200 --set limits.core=0:0 \
	-- sleep 1733 >/dev/null
check "exec: the run's nofile (100:200) and core (0:0), the caller's being 64:20000 and unlimited" \
	"100 200 0 0" \
	"$(ulimit -Sc unlimited 2>/dev/null; ulimit -Sn 64; "$NSBOX" exec lim -- sh -c 'echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Sc) $(ulimit -Hc)')"
"$NSBOX" stop lim >/dev/null
# Above the caller's own hard limit: a caller with CAP_SYS_RESOURCE (root
# on a usual host; not the machine this was written on, where root lacks
# it) gives the run the plan's limit (default nofile 1024:524288), and
# exec gives the command the run's; any other caller keeps its own.
hard=$( (ulimit -n 4096 && "$NSBOX" run --chroot="$ROOT" -- sh -c 'ulimit -Hn') 2>&1)
"$NSBOX" run --detach --name=lim --chroot="$ROOT" -- sleep 1733 >/dev/null
ehard=$( (ulimit -n 4096 && "$NSBOX" exec lim -- sh -c 'ulimit -Hn') 2>&1)
"$NSBOX" stop lim >/dev/null
capres=no
if [ -z "$AS_CALLER" ] && [ $((0x$(sed -n 's/^CapEff:\t//p' /proc/self/status) >> 24 & 1)) -eq 1 ]; then capres=yes; fi
if [ $capres = yes ]; then
	check "with CAP_SYS_RESOURCE and a hard limit of 4096: run and exec get the plan's 524288" "524288 524288" "$hard $ehard"
else
	check "without CAP_SYS_RESOURCE and a hard limit of 4096: run and exec keep 4096" "4096 4096" "$hard $ehard"
fi

rounds=40
"$NSBOX" run --chroot="$ROOT" --name=watch --setenv=PATH="$path" -- \
	nsbox-probe watch-exe "$(stat -L -c %d:%i "$NSBOX_BIN")" "$rounds" >"$W/watch.out" 2>&1 &
watch=$!
j=0
while [ $j -lt 100 ] && ! "$NSBOX" ps | grep -q '^watch '; do sleep 0.05; j=$((j + 1)); done
j=0 fails=0
while [ $j -lt "$rounds" ]; do
	"$NSBOX" exec watch -- sleep 0.05 || fails=$((fails + 1)) # (the watcher must see it)
	j=$((j + 1))
done
wait $watch; rc=$?
check "nsbox exec ran $rounds times" "0" "$fails"
read -r _ seen _ opened _ handles <"$W/watch.out"
check "the watcher saw them come and go, and opened the exe of some once they ran" "0 yes yes" \
	"$rc $([ "${seen:-0}" -ge "$rounds" ] && echo yes) $([ "${opened:-0}" -gt 0 ] && echo yes)"
check "no handle on the host's nsbox through /proc/PID/exe, of the joining process or of the init" "0" "${handles:-?}"

# --- the payload's environment, whatever it is, whenever exec comes ---
# exec gives its command the payload's environment, read from
# /proc/PID/environ. An empty one (env -i) is empty still, and nsbox exec
# does not crash on it (it did: 139). Nor on a payload caught inside an
# execve, whose environ reads empty until the kernel has laid out the new
# image: nsbox run reports a container started from the moment its payload
# is in execve, so the first exec after a start could catch it there
# (autopkgtest-virt-nsbox's open, under load). Here the payload is in
# execve again and again.
"$NSBOX" run --detach --name=envi --chroot="$ROOT" -- env -i /bin/sleep 1734 >/dev/null
check "exec into a payload with an empty environment: none, and its status" "|0" \
	"$("$NSBOX" exec envi -- env; echo "|$?")"
"$NSBOX" stop envi
"$NSBOX" run --detach --name=reexec --chroot="$ROOT" --setenv=MARK=kept -- \
	sh -c 'exec sh -c "$0" "$0"' 'exec sh -c "$0" "$0"' >/dev/null
j=0 bad=
while [ $j -lt 200 ]; do
	got=$("$NSBOX" exec reexec -- sh -c 'echo "$MARK"' 2>&1; echo "rc=$?")
	[ "$got" = "kept
rc=0" ] || bad="${bad}[$got]"
	j=$((j + 1))
done
check "200 execs into a payload that execs itself without end: each gets its environment" "" "$bad"
"$NSBOX" stop reexec

audit_check "exec"
finish

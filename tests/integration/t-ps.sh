#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Names and state: nsbox ps, stop and kill on running containers.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

printf '[root]\ndirectory = %s\n' "$ROOT" >"$W/fixture.conf"
# A user gets no cgroup here: nothing delegates one to it.
pids=--set=limits.pids=100 cg=yes
case " $PRIV " in *" $MODE "*) ;; *) pids=--set=limits.pids= cg=no ;; esac
check "ps: a header, nothing running" "NAME PROFILE PID UPTIME ROOT CGROUP" "$("$NSBOX" ps | tr -s ' ')"

"$NSBOX" run --chroot="$ROOT" --name=web -- sh -c 'trap "echo got USR1" USR1; echo ready; while :; do sleep 0.1; done' >"$W/web.out" 2>&1 &
web=$!
"$NSBOX" run --profile="$W/fixture.conf" "$pids" -- sleep 1721 &
other=$!
wait_until 'grep -q ready "$W/web.out"' && wait_running "fixture-$other"
ps=$("$NSBOX" ps)
check "ps: the named container" "web - $ROOT -" \
	"$(echo "$ps" | awk '$1 == "web" {print $1, $2, $5, $6}')"
check "ps: the default name is PROFILE-PID, with its profile and cgroup" "fixture-$other $W/fixture.conf $ROOT $cg" \
	"$(echo "$ps" | awk -v n="fixture-$other" '$1 == n {print $1, $2, $5, ($6 ~ /nsbox-/) ? "yes" : "no"}')"
pid=$(echo "$ps" | awk '$1 == "web" {print $3}')
check "ps: PID is the container's first process on the host" "yes" \
	"$([ "$(readlink /proc/"$pid"/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && echo yes)"
check "ps --json: valid JSON with the state of each" "2 web running" \
	"$("$NSBOX" ps --json | python3 -c 'import json, sys; v = json.load(sys.stdin); w = [r for r in v if r["name"] == "web"][0]; print(len(v), w["name"], w["status"])')"
err=$("$NSBOX" run --chroot="$ROOT" --name=web -- true 2>&1); rc=$?
check "a name in use: 125, one line" "125|nsbox: command line: process.name: a running container is already named web" "$rc|$err"
"$NSBOX" kill web USR1; wait_until 'grep -q "got USR1" "$W/web.out"'
check "kill NAME USR1: the payload gets it" "ready got USR1" "$(tr '\n' ' ' <"$W/web.out" | sed 's/ $//')"
"$NSBOX" stop web
wait $web
check "stop NAME: SIGTERM, the payload's status" 143 $?
"$NSBOX" stop "fixture-$other"
wait $other
check "stop NAME: the other one" 143 $?

# --- exec: a command in a running container ---
"$NSBOX" run --chroot="$ROOT" --name=box --hostname=boxhost --user=builder --chdir=/tmp -n \
	--setenv=MARK=inside "$pids" -- sh -c 'echo here >/tmp/made; exec sleep 1723' &
box=$!
wait_running box && wait_proc 'sleep 1723'
inside=$("$NSBOX" exec box -- sh -c 'echo "$(hostname) $(id -u) $(pwd) $MARK $(cat /tmp/made) $$"; ls /sys/class/net | tr "\n" " "')
check "exec: the container's hostname, uid, cwd, environment, files, pid namespace" \
	"boxhost 1000 /tmp inside here" "$(echo "$inside" | head -1 | cut -d' ' -f1-5)"
check "exec: a pid of the container's namespace (small)" "yes" "$([ "$(echo "$inside" | head -1 | cut -d' ' -f6)" -lt 100 ] && echo yes)"
check "exec: its network namespace (lo only)" "lo " "$(echo "$inside" | tail -1)"
check "exec: its capabilities (none, as the user's command)" "0000000000000000" \
	"$("$NSBOX" exec box -- sh -c "awk '/^CapEff/{print \$2}' /proc/self/status")"
# its pids cgroup, the root of its cgroup namespace: on v1 (here, a
# hybrid host), the pids line; with the unified hierarchy only, the one line
cgline=':pids:/$'
[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || cgline='^0::/$'
check "exec: in its cgroups" "yes" \
	"$("$NSBOX" exec box -- cat /proc/self/cgroup | grep -q "$cgline" && echo yes)"
check "exec: the status passes" 7 "$("$NSBOX" exec box -- sh -c 'exit 7'; echo $?)"
check "exec: not found: 127" 127 "$("$NSBOX" exec box -- /nonexistent 2>/dev/null; echo $?)"
check "exec: the container's PATH, not the caller's" 0 \
	"$(env PATH=/nonexistent "$NSBOX" exec box -- true; echo $?)"
err=$("$NSBOX" exec nope -- true 2>&1); rc=$?
check "exec: an unknown name: 125, one line" "125|nsbox: command line: nsbox exec: no running container named 'nope' (see nsbox ps)" "$rc|$err"
"$NSBOX" stop box; wait $box

# --- stats, pause, resume ---
if only "$PRIV" 3 "limits need a cgroup"; then
	"$NSBOX" run --chroot="$ROOT" --name=busy --set limits.memory=100M --set limits.pids=50 \
		-g cpuacct,freezer -- sh -c 'while :; do :; done' &
	busy=$!
	wait_running busy
	st=$("$NSBOX" stats busy)
	check "stats: memory with its limit, pids with theirs" "limit 104857600|2, limit 50" \
		"$(echo "$st" | sed -n 's/^memory [0-9]* bytes, //p')|$(echo "$st" | sed -n 's/^pids //p')"
	cpu() { "$NSBOX" stats busy | sed -n 's/^cpu \([0-9.]*\) s$/\1/p'; }
	# pause returns once every task is frozen: no CPU from then on
	"$NSBOX" pause busy; a=$(cpu); sleep 1; b=$(cpu)
	check "pause: the container uses no CPU once nsbox pause returns" "$a" "$b"
	"$NSBOX" resume busy; c=0
	wait_until 'c=$(cpu); awk -v b="$b" -v c="$c" "BEGIN { exit !(c > b + 0.1) }"'
	check "resume: it runs again" "yes" "$(awk -v b="$b" -v c="$c" 'BEGIN { if (c > b + 0.1) print "yes" }')"
	"$NSBOX" stop busy; wait $busy
fi
"$NSBOX" run --chroot="$ROOT" --name=plain -- sleep 1724 &
plain=$!
wait_running plain
err=$("$NSBOX" pause plain 2>&1); rc=$?
check "pause without a freezer: 125, what to do" "125|nsbox: command line: nsbox pause: plain has no freezer (run it with --cgroup=freezer, or on cgroup v2 with any [limits])" "$rc|$err"
"$NSBOX" stop plain; wait $plain

# An init as the command (PID 1, init = auto) gets SIGRTMIN+3 for stop, as
# systemd wants and nspawn sends; a script stands in for systemd here.
if only "$PRIV" 1 "an init needs a cgroup"; then
	mkdir -p "$ROOT/sbin"
	printf '#!/bin/sh\ntrap "echo got RTMIN+3; exit 0" 37\necho ready\nwhile :; do sleep 0.1; done\n' >"$ROOT/sbin/init"
	chmod 755 "$ROOT/sbin/init"
	"$NSBOX" run --chroot="$ROOT" --name=boot -- /sbin/init >"$W/boot.out" 2>&1 &
	boot=$!
	wait_until 'grep -q ready "$W/boot.out"'
	"$NSBOX" stop boot; wait $boot
	check "stop: an init gets SIGRTMIN+3 (halt), not SIGTERM" "0 ready got RTMIN+3" "$? $(tr '\n' ' ' <"$W/boot.out" | sed 's/ $//')"
	rm "$ROOT/sbin/init"
fi

"$NSBOX" run --chroot="$ROOT" --name=stubborn --set process.grace=1 -- sh -c 'trap "" TERM; echo ready; sleep 1722' >"$W/stubborn.out" &
pid=$!
wait_until 'grep -qs ready "$W/stubborn.out"'
"$NSBOX" stop stubborn
wait $pid
check "stop: SIGKILL after the grace period" 137 $?
check "stop: nothing of it survives" 0 "$(pgrep -fc '^sleep 1722$' || true)"
err=$("$NSBOX" stop nope 2>&1); rc=$?
check "stop: an unknown name: 125, one line" "125|nsbox: command line: nsbox stop: no running container named 'nope' (see nsbox ps)" "$rc|$err"
err=$("$NSBOX" kill nope FROB 2>&1); rc=$?
check "kill: an unknown signal: 125, one line" "125|nsbox: command line: nsbox kill: unknown signal 'FROB'" "$rc|$err"
check "ps: nothing running again" "1" "$("$NSBOX" ps | wc -l)"

audit_check "ps"
finish

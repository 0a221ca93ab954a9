#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Registration with systemd-machined, on a private system bus: a real
# dbus-daemon, and machined mocked by python3-dbusmock with the template in
# tests/fixtures/machined.py. The host's machinectl talks to it: list,
# status and poweroff (login needs a real machined in a booted system).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "only root registers with machined"

for t in dbus-daemon machinectl busctl; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done
PY=/usr/bin/python3 # Debian's, which has python3-dbusmock
"$PY" -c 'import dbusmock' 2>/dev/null || { echo "Bail out! python3-dbusmock is missing (make deps)"; exit 1; }
# Built with sd-bus: a bus that is not there is the system bus's error, not
# "built without sd-bus" (whatever bus the host itself has).
if DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/nobus" "$NSBOX" run --register=yes -- true 2>&1 |
	grep -q 'built without sd-bus'; then
	echo "Bail out! nsbox was built without sd-bus (libsystemd-dev)"; exit 1
fi

cat >"$W/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$W/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$W/bus.conf" --nofork --nopidfile >"$W/bus.log" 2>&1 &
bus=$!
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus"
mock=
start_mock() {
	"$PY" -m dbusmock --system -t "$TOP/tests/fixtures/machined.py" -l "$W/calls" >"$W/mock.log" 2>&1 &
	mock=$!
	i=0
	until busctl status org.freedesktop.machine1 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "Bail out! the machined mock did not start: $(cat "$W/mock.log")"; exit 1; }
		sleep 0.1
	done
}
stop_mock() { kill "$mock" 2>/dev/null; wait "$mock" 2>/dev/null; mock=; }
trap 'stop_mock; kill $bus 2>/dev/null' EXIT INT TERM
start_mock

# machinectl works only where systemd is PID 1 (it looks for
# /run/systemd/system): let it believe so in a mount namespace of its own.
mctl() {
	unshare -m sh -c 'mount -t tmpfs none /run && mkdir -p /run/systemd/system && exec machinectl "$@"' mctl "$@"
}

# until CMD: poll for up to 10 s
until_ok() {
	i=0
	until eval "$1"; do i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1; done
}

# --- registered while it runs, with its leader and root ---
"$NSBOX" run --chroot="$ROOT" --name=reg1 -- sleep 60 >"$W/reg1.out" 2>&1 &
run=$!
until_ok 'mctl list --no-legend 2>/dev/null | grep -q "^reg1 "'
check "machinectl list: the container, class container, service nsbox" "reg1 container nsbox" \
	"$(mctl list --no-legend 2>/dev/null | awk '$1 == "reg1" {print $1, $2, $3}')"
pid=$("$NSBOX" ps --json | python3 -c 'import json,sys; print([r["pid"] for r in json.load(sys.stdin) if r["name"] == "reg1"][0])')
check "the leader is the container's PID 1 on the host" "$pid" \
	"$(busctl get-property org.freedesktop.machine1 "$(busctl call org.freedesktop.machine1 /org/freedesktop/machine1 org.freedesktop.machine1.Manager GetMachine s reg1 | cut -d'"' -f2)" org.freedesktop.machine1.Machine Leader | awk '{print $2}')"
status=$(mctl status reg1 2>&1)
check "machinectl status: the root directory" "$ROOT" \
	"$(printf '%s\n' "$status" | awk '$1 == "Root:" {print $2}')"
case $status in *"Leader: $pid"*) ok "machinectl status: the leader";;
*) not_ok "machinectl status: the leader" "$status";; esac

# --- machinectl poweroff: machined signals the leader (SIGRTMIN+4) ---
mctl poweroff reg1
wait "$run"; rc=$?
check "machinectl poweroff: nsbox's init ends the command with SIGTERM" 143 "$rc"
check "unregistered at exit" "" "$(mctl list --no-legend 2>/dev/null | awk '$1 == "reg1"')"
check "the calls: one RegisterMachine and one UnregisterMachine for reg1" "1 1" \
	"$(grep -c ' RegisterMachine "reg1"' "$W/calls") $(grep -c ' UnregisterMachine "reg1"' "$W/calls")"

# --- --register=no; the default as root with the host's root ---
out=$("$NSBOX" run --register=no --name=reg2 -- sh -c 'echo ran' 2>&1)
check "--register=no: runs, and machined never hears of it" "ran 0" "$out $(grep -c 'reg2' "$W/calls")"
"$NSBOX" run --name=reg3 -- true
check "no root: registered with / as its root directory" "1" "$(grep -c 'RegisterMachine "reg3" .* "/"$' "$W/calls")"

# --- a machined that refuses: a warning by default, an error with yes ---
busctl call org.freedesktop.machine1 /org/freedesktop/machine1 org.freedesktop.machine1.Manager \
	RegisterMachine sayssus taken 0 test container $$ / >/dev/null
out=$("$NSBOX" run --chroot="$ROOT" --name=taken -- echo ran 2>&1); rc=$?
check "refused (the name is taken): one warning, and the run goes on" \
	"0|nsbox: warning: systemd-machined did not register taken: Machine 'taken' already exists|ran" \
	"$rc|$(echo "$out" | tr '\n' '|' | sed 's/|$//')"
out=$("$NSBOX" run --chroot="$ROOT" --name=taken --register=yes -- echo ran 2>&1); rc=$?
check "refused with --register=yes: 125 and one line, the command never ran" \
	"125|nsbox: command line: process.register: cannot register taken with systemd-machined: Machine 'taken' already exists" \
	"$rc|$out"

# --- no machined on the bus: silent by default, an error with yes ---
stop_mock
out=$("$NSBOX" run --chroot="$ROOT" --name=reg4 -- echo ran 2>&1); rc=$?
check "machined absent: the run goes on without a word" "0|ran" "$rc|$out"
printf '[process]\nregister = yes\n' >"$W/reg.conf"
out=$("$NSBOX" run --profile="$W/reg.conf" --chroot="$ROOT" --name=reg4 -- echo ran 2>&1); rc=$?
case "$rc|$out" in "125|nsbox: $W/reg.conf:2: process.register: cannot register reg4 with systemd-machined: "*)
	ok "machined absent, register = yes: 125 and the profile's line";;
*) not_ok "machined absent, register = yes: 125 and the profile's line" "$rc|$out";; esac
unset DBUS_SYSTEM_BUS_ADDRESS
out=$(env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/nobus" "$NSBOX" run --name=reg5 -- echo ran 2>&1); rc=$?
check "no bus at all: the run goes on without a word" "0|ran" "$rc|$out"

kill "$bus"; wait "$bus" 2>/dev/null
trap - EXIT INT TERM
audit_check "machined"
finish

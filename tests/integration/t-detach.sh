#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# pflask's --detach and --attach (L19): a detached container keeps a pty
# and the last of its output; nsbox attach shows it and types into it;
# Ctrl-@ detaches; a socket someone else serves is refused.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Ticks from a loop of their own, and a read that blocks: busybox's
# read -t reads a byte at a time against its deadline, and drops what it
# has read of a line when the deadline passes between two bytes (seen
# under TCG: "got ello").
out=$("$NSBOX" run -d --name=bg --chroot="$ROOT" -- sh -c \
	'(i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done) </dev/null &
	while read l; do echo "got $l"; done'); rc=$?
check "run -d: returns at once, printing the name" "0 bg" "$rc $out"
check "run -d: the container runs on, with a pty" "bg /dev/pts/0" \
	"$("$NSBOX" ps | awk '$1 == "bg" {print $1}') $("$NSBOX" exec bg -- readlink /proc/2/fd/0)"
# until the container has printed something: attach then replays it
wait_until "printf '\\0' | timeout 5 \"\$NSBOX\" attach bg 2>/dev/null | grep -q '^tick'" ||
	not_ok "run -d: the container prints" "no tick in 10 s"
check "attach: shows what was missed, then Ctrl-@ detaches" "tick 0" \
	"$(printf '\0' | timeout 5 "$NSBOX" attach bg 2>/dev/null | tr -d '\r' | head -1)"
check "attach again: it still runs" "yes" \
	"$(printf '\0' | timeout 5 "$NSBOX" attach bg 2>/dev/null | tr -d '\r' | grep -q '^tick' && echo yes)"
# Type once attached (the replay has come), detach once answered.
typist() {
	wait_until "[ -s '$W/attach.out' ]" && printf 'hello\n'
	wait_until "grep -q '^got' '$W/attach.out'"; printf '\0'
}
: >"$W/attach.out"
typist | timeout 5 "$NSBOX" attach bg >"$W/attach.out" 2>/dev/null
got=$(tr -d '\r' <"$W/attach.out" | grep '^got')
check "attach: what is typed reaches the container" "got hello" "$got"
pid=$("$NSBOX" ps | awk '$1 == "bg" {print $3}')
nb=$("$NSBOX" ps --json | python3 -c 'import json, sys; print([r["nsbox_pid"] for r in json.load(sys.stdin) if r["name"] == "bg"][0])')
check "pflask's --attach=PID (of nsbox) works too" "yes" \
	"$(printf '\0' | timeout 5 "$NSBOX" run --attach="$nb" 2>/dev/null | tr -d '\r' | grep -q '^tick' && echo yes)"
# A socket someone else serves at the path is not the container's.
id=$("$NSBOX" ps --json | python3 -c 'import json, sys; print([r["id"] for r in json.load(sys.stdin) if r["name"] == "bg"][0])')
sock=$STATEDIR/$id/attach.sock
mv "$sock" "$sock.real"
# (it listens before the path exists: a connect then finds a listener)
$AS_CALLER /usr/bin/python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1] + ".new"); s.listen(1)
os.rename(sys.argv[1] + ".new", sys.argv[1]); time.sleep(60)' "$sock" &
squat=$!
wait_until "[ -S '$sock' ]" || not_ok "L19: the squatter serves $sock"
err=$(printf '\0' | timeout 5 "$NSBOX" attach bg 2>&1); rc=$?
check "L19: a squatted socket is refused (server credentials)" "125|nsbox: attach: $sock is not served by the container's nsbox" "$rc|$err"
kill $squat 2>/dev/null; wait $squat 2>/dev/null
rm -f "$sock"; mv "$sock.real" "$sock"
"$NSBOX" stop bg
check "stop: the detached container is gone" "" "$("$NSBOX" ps | awk '$1 == "bg"')"
check "... and its nsbox" "0" "$(pgrep -fc 'nsbox run -d --name=bg' || true)"
check "a container's pid namespace held nothing else" "no" "$(test -d /proc/"$pid" && echo yes || echo no)"

err=$("$NSBOX" run -d --chroot="$W/nonexistent" -- true 2>&1); rc=$?
check "run -d: a failed start is the caller's error (125, one line)" \
	"125|nsbox: prepare-root: root.directory $W/nonexistent: No such file or directory" "$rc|$err"
"$NSBOX" run --chroot="$ROOT" --name=fg -- sleep 1725 &
fg=$!
wait_running fg || not_ok "a container run in the foreground starts"
err=$("$NSBOX" attach fg 2>&1); rc=$?
check "attach to a container that was not detached: 125" "125|nsbox: command line: nsbox attach: fg was not started with --detach" "$rc|$err"
"$NSBOX" stop fg; wait $fg

audit_check "detach"
finish

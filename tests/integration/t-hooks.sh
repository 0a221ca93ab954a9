#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# [hooks] pre-exec and post-exit: what a hook gets, when it runs, what a
# failing one does, and which ones root refuses (T4).
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

H="$W/hooks"
mkdir -m 755 "$H"
hook() { # NAME BODY: an executable sh script owned by root, 0755
	printf '#!/bin/sh\n%s\n' "$2" >"$H/$1"
	chmod 755 "$H/$1"
}
run() { "$NSBOX" run --chroot="$ROOT" "$@"; }

# --- what pre-exec gets ---
hook pre 'exec >'"$W"'/pre.out 2>&1
echo "argv: $# $1"
echo "env: $(env | cut -d= -f1 | grep -vx "PWD\|SHLVL\|_" | sort | tr "\n" " ")" # less what sh adds
echo "fds: $(ls /proc/self/fd | tr "\n" " ")"
echo "mntns: $(readlink /proc/$1/ns/mnt)"
echo "netns: $(readlink /proc/$1/ns/net)"
echo "cmd: $(tr "\0" " " </proc/$1/cmdline)"'
out=$(run --set hooks.pre-exec="$H/pre" -n -- sh -c 'echo payload ran' 2>&1)
check "pre-exec: the run goes on" "payload ran" "$out"
check "pre-exec: one argument, the container's pid" "1" "$(sed -n 's/^argv: \([0-9]*\) [0-9]*$/\1/p' "$W/pre.out")"
check "T4: pre-exec: its environment only (PATH, the pid, pidfd, id, new namespaces)" \
	"env: CLONE_NEWNET $([ "$MODE" = root ] || [ "$MODE" = no-openat2 ] || echo "CLONE_NEWUSER ")NSBOX_ID NSBOX_PID NSBOX_PIDFD PATH " \
	"$(grep '^env:' "$W/pre.out")"
check "T4: pre-exec: fds 0-2 and the pidfd (3), nothing else" "fds: 0 1 2 3 4 " "$(grep '^fds:' "$W/pre.out")"
check "pre-exec: the namespaces exist (another mount and net namespace)" "yes yes" \
	"$([ "$(sed -n 's/^mntns: //p' "$W/pre.out")" != "$(readlink /proc/self/ns/mnt)" ] && echo yes) $([ "$(sed -n 's/^netns: //p' "$W/pre.out")" != "$(readlink /proc/self/ns/net)" ] && echo yes)"
check "pre-exec: nothing of the payload runs yet" "no" \
	"$(grep -q '^cmd: sh -c echo payload' "$W/pre.out" && echo yes || echo no)"
run --set hooks.pre-exec="$H/pre" --set user.userns=yes -- true 2>/dev/null
check "pre-exec: CLONE_NEWUSER=1 with a user namespace" 1 "$(grep -c 'CLONE_NEWUSER' "$W/pre.out")"

# --- a failing pre-exec aborts ---
hook fail 'exit 3'
err=$(run --set hooks.pre-exec="$H/fail" -- sh -c 'echo payload ran' 2>&1); rc=$?
check "a failing pre-exec: 125, one line, the payload never runs" \
	"125|nsbox: command line: hooks.pre-exec: $H/fail exited with status 3" "$rc|$err"

# --- post-exit ---
hook post 'echo "$# $1 $NSBOX_STATUS" >'"$W"'/post.out'
run --set hooks.post-exit="$H/post" -- sh -c 'exit 42'
check "post-exit: the status passes" 42 "$?"
check "post-exit: gets the container's status" "1 42 42" "$(cat "$W/post.out")"
run --set hooks.post-exit="$H/post" -- sh -c 'kill -TERM $$'
check "post-exit: a signal's status" "1 143 143" "$(cat "$W/post.out")"
hook postfail 'exit 1'
err=$(run --set hooks.post-exit="$H/postfail" -- true 2>&1); rc=$?
check "a failing post-exit: said, the status stays the payload's" \
	"0|nsbox: command line: hooks.post-exit: $H/postfail failed (status 1)" "$rc|$err"

# --- T4: hooks root refuses ---
refused() { # NAME PATH WHY
	err=$(run --set hooks.pre-exec="$2" -- true 2>&1); rc=$?
	check "T4: $1: refused" "125|nsbox: command line: hooks.pre-exec: $2 $3" "$rc|$err"
}
ln -s "$H/pre" "$H/link"
refused "a symlink" "$H/link" "is a symlink (name the file itself)"
if only "$PRIV" 3 "a user's hooks run as the user: only root checks who wrote them"; then
	hook user 'exit 0'; chown 1000 "$H/user"
	refused "owned by a user" "$H/user" "is not owned by root or is writable by others"
	hook open 'exit 0'; chmod 777 "$H/open"
	refused "writable by others" "$H/open" "is not owned by root or is writable by others"
	mkdir -m 777 "$W/opendir"; hook ok 'exit 0'; cp -p "$H/ok" "$W/opendir/ok"
	refused "in a directory others can write" "$W/opendir/ok" "is in a directory not owned by root or writable by others"
fi
hook noexec 'exit 0'; chmod 644 "$H/noexec"
refused "not executable" "$H/noexec" "is not an executable file"
err=$(run --set hooks.pre-exec=relative/hook -- true 2>&1); rc=$?
case $rc$err in 125*"hooks.pre-exec"*) ok "T4: a relative path: refused";; *) not_ok "T4: a relative path: refused" "$rc $err";; esac
check "T4: refused before anything exists (no state left)" "" "$(find "$STATEDIR" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -vxF -f "$W/before.state")"

audit_check "hooks"
finish

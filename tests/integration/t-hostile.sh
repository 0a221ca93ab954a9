#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Hostile roots (SECURITY-CASES R1-R12): symlinks pointing out of the root
# never make nsbox create, mount or remove anything outside it. Every case
# runs twice: with openat2, and with openat2 failing (ENOSYS, through the
# probe's seccomp wrapper) so the fallback walk is exercised too.
# R7 (a /dev bind mode) and R9 (copying resolv.conf) do not apply: nsbox
# offers neither.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

EVIL="$W/evil"
OUT="$W/outside"
mkdir -p "$OUT" "$W/src"; echo m >"$OUT/marker"; echo hello >"$W/src/file"
outside() { (cd "$OUT" && find . | sort | tr '\n' ' '); }
before=$(outside)

hostile() {
	mode=$1; shift
	rm -rf "$EVIL"; cp -a "$ROOT" "$EVIL"
	run() { $WRAP "$NSBOX" run --chroot="$EVIL" "$@"; }

	ln -s "$OUT" "$EVIL/mnt"
	run -m bind:"$W/src":/mnt/x -- true 2>/dev/null
	check "$mode R1: absolute symlink: nothing outside" "$before" "$(outside)"
	ln -s ../../../../../../.. "$EVIL/up"
	run -m tmp:/up/escape -- true 2>/dev/null
	check "$mode R2: ../ symlink stays inside the root" "no" "$([ -e /escape ] && echo yes || echo no)"
	ln -s /nonexistent-nsbox/dir "$EVIL/dangling"
	run -m tmp:/dangling/sub -- true 2>/dev/null
	check "$mode R3: dangling symlink creates nothing on the host" "no" "$([ -e /nonexistent-nsbox ] && echo yes || echo no)"
	echo secret >"$W/shadow"; ln -s "$W/shadow" "$EVIL/etc/hostfile"
	run -m bind:"$W/src/file":/etc/hostfile -- true 2>/dev/null
	check "$mode R4: file bind target symlink: host file untouched" "secret" "$(cat "$W/shadow")"
	check "$mode R4: ... not re-moded" "644" "$(stat -c %a "$W/shadow")"

	rm -rf "$EVIL/proc"; ln -s "$OUT" "$EVIL/proc"
	err=$(run -- true 2>&1); rc=$?
	check "$mode R5: /proc symlink refused" "125" "$rc"
	case $err in *"/proc must be an ordinary directory"*) ok "$mode R5: message says why";; *) not_ok "$mode R5: message" "$err";; esac
	rm "$EVIL/proc"; mkdir "$EVIL/proc"
	rm -rf "${EVIL:?}/dev"; ln -s "$OUT" "$EVIL/dev"; echo x >"$OUT/ptmx"; before6=$(outside)
	err=$(run -- true 2>&1); rc=$?
	check "$mode R6: /dev symlink refused" "125" "$rc"
	check "$mode R6: the outside dir and its marker unchanged" "$before6" "$(outside)"
	rm "$OUT/ptmx" "$EVIL/dev"; mkdir "$EVIL/dev"
	check "$mode: nothing outside after R1-R6" "$before" "$(outside)"

	ln -sf /etc/shadow "$EVIL/etc/passwd"
	err=$(run --user=builder -- true 2>&1); rc=$?
	check "$mode R8: passwd symlinked to the host's shadow: 125" 125 "$rc"
	check "$mode R8: the root's own files were read" "nsbox: user: no user 'builder' in the container's /etc/passwd" "$err"
	cp "$ROOT/etc/passwd" "$EVIL/etc/passwd"

	check "$mode R10: chdir through /proc/self/fd stays inside" "inside" \
		"$(run --chdir=/proc/self/fd/3 -- pwd 2>/dev/null | grep -q nsbox-it && echo outside || echo inside)"
	check "$mode R10: chdir=/../../ refused" 125 "$(run --chdir=/../../ -- pwd 2>/dev/null; echo $?)"
	ln -s "$OUT" "$EVIL/jump"
	check "$mode R10: chdir to a symlink out of the root" "no such dir" \
		"$(run --chdir=/jump -- pwd 2>/dev/null || echo no such dir)"

	run -w -- sh -c "rm -rf /tmp && ln -s $OUT /tmp && ln -s $OUT/marker /m2" 2>/dev/null
	check "$mode R12: cleanup of the upper never follows the payload's symlinks" "$before" "$(outside)"

	# R11: a host helper flips a symlink in the root between a directory
	# inside and the outside directory while runs mount through it.
	mkdir "$EVIL/flipdir"
	( while [ -e "$W/flipping" ]; do
		ln -sfn "$OUT" "$EVIL/f.tmp" && mv -T "$EVIL/f.tmp" "$EVIL/flip"
		ln -sfn flipdir "$EVIL/f.tmp" && mv -T "$EVIL/f.tmp" "$EVIL/flip"
	done ) &
	touch "$W/flipping"
	i=0; bad=0
	while [ $i -lt 100 ]; do
		run -m tmp:/flip/x -- true 2>/dev/null
		grep -q " $OUT" /proc/self/mountinfo && bad=$((bad + 1))
		i=$((i + 1))
	done
	rm "$W/flipping"; wait
	check "$mode R11: 100 starts against a flipping symlink: no mount outside" 0 "$bad"
	check "$mode R11: nothing created outside" "$before" "$(outside)"
}

WRAP=""
hostile openat2
WRAP="$TOP/tests/probe/nsbox-probe no-openat2"
hostile fallback

audit_check "after all runs"
finish

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

	# Each case first shows what the run did. With openat2 a link is
	# followed as if the root were / (RESOLVE_IN_ROOT): a target that
	# stays in the root is mounted there, one that leads to a place the
	# root does not have is refused (a link in the way is never replaced
	# by a directory). The fallback walk follows no link at all: a
	# directory link on the way is refused, a link as the last name is
	# mounted over, in the root.
	# in mode no-openat2 both passes take the fallback walk
	resolver=$mode
	[ "$MODE" != no-openat2 ] || resolver=fallback
	ln -s "$OUT" "$EVIL/mnt"
	run_refused "$mode R1: a bind through an absolute symlink out of the root: refused" 125 \
		"nsbox: command line: mount /mnt/x: *" run -m bind:"$W/src":/mnt/x -- true
	check "$mode R1: absolute symlink: nothing outside" "$before" "$(outside)"
	ln -s ../../../../../../.. "$EVIL/up"
	if [ "$resolver" = openat2 ]; then
		check "$mode R2: a ../ symlink ends at the root's /: the tmpfs is at /escape inside" "tmpfs" \
			"$(run -m tmp:/up/escape -- sh -c "awk '\$2 == \"/escape\" {print \$3}' /proc/mounts" 2>&1)"
	else
		run_refused "$mode R2: a ../ symlink on the way: refused" 125 \
			"nsbox: command line: mount /up/escape: *" run -m tmp:/up/escape -- true
	fi
	check "$mode R2: ../ symlink stays inside the root" "no" "$([ -e /escape ] && echo yes || echo no)"
	ln -s /nonexistent-nsbox/dir "$EVIL/dangling"
	run_refused "$mode R3: a dangling symlink in the way: refused" 125 \
		"nsbox: command line: mount /dangling/sub: *" run -m tmp:/dangling/sub -- true
	check "$mode R3: dangling symlink creates nothing on the host" "no" "$([ -e /nonexistent-nsbox ] && echo yes || echo no)"
	echo secret >"$W/shadow"; ln -s "$W/shadow" "$EVIL/etc/hostfile"
	if [ "$resolver" = openat2 ]; then
		run_refused "$mode R4: a file bind over a symlink to a host path: refused" 125 \
			"nsbox: command line: mount /etc/hostfile: cannot create /etc/hostfile: *" \
			run -m bind:"$W/src/file":/etc/hostfile -- true
	else
		check "$mode R4: a file bind over a symlink to a host path: over the link, in the root" "hello" \
			"$(run -m bind:"$W/src/file":/etc/hostfile -- cat /etc/hostfile 2>&1)"
	fi
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

	run_refused "$mode R10: chdir through /proc/self/fd: refused" 125 \
		"nsbox: chdir: root.chdir /proc/self/fd/3: *" run --chdir=/proc/self/fd/3 -- pwd
	run_refused "$mode R10: chdir=/../../ refused" 125 \
		"nsbox: command line: root.chdir: '/../../': path must not contain . or .. components" \
		run --chdir=/../../ -- pwd
	ln -s "$OUT" "$EVIL/jump"
	run_refused "$mode R10: chdir to a symlink out of the root: not there inside" 125 \
		"nsbox: chdir: root.chdir /jump: No such file or directory" run --chdir=/jump -- pwd

	run_ok "$mode R12: the payload puts links out of the root in its upper" \
		run -w -- sh -c "rm -rf /tmp && ln -s $OUT /tmp && ln -s $OUT/marker /m2 && readlink /m2"
	check "$mode R12: cleanup of the upper never follows the payload's symlinks" "$before" "$(outside)"

	# R11: a host helper flips a symlink in the root between a directory
	# inside and the outside directory while runs mount through it.
	mkdir "$EVIL/flipdir"
	( while [ -e "$W/flipping" ]; do
		ln -sfn "$OUT" "$EVIL/f.tmp" && mv -T "$EVIL/f.tmp" "$EVIL/flip"
		ln -sfn flipdir "$EVIL/f.tmp" && mv -T "$EVIL/f.tmp" "$EVIL/flip"
	done ) &
	touch "$W/flipping"
	i=0; bad=0 started=0
	while [ $i -lt 100 ]; do
		run -m tmp:/flip/x -- true 2>/dev/null && started=$((started + 1))
		grep -q " $OUT" /proc/self/mountinfo && bad=$((bad + 1))
		i=$((i + 1))
	done
	rm "$W/flipping"; wait
	# through flipdir the mount is inside the root and the run starts
	check "$mode R11: of 100 starts, some went through (the link was inside)" "yes" \
		"$([ "$started" -gt 0 ] && echo yes || echo "$started")"
	check "$mode R11: 100 starts against a flipping symlink: no mount outside" 0 "$bad"
	check "$mode R11: nothing created outside" "$before" "$(outside)"
}

WRAP=""
hostile openat2
WRAP="$TOP/tests/probe/nsbox-probe no-openat2"
hostile fallback

audit_check "after all runs"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The payload's life: nsbox's init, signals, the grace period, zombies,
# the terminal (under script(1)), capabilities and no_new_privs.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

run() { "$NSBOX" run --chroot="$ROOT" "$@"; }
command -v script >/dev/null || { echo "Bail out! script(1) is missing (make deps)"; exit 1; }
# Run a command line under a new pty (script -e keeps its exit status).
# When its input ends, script(1) sends an end-of-file character; once nsbox
# has made that terminal raw it is a NUL, which the container's pty echoes
# as "^@" if the command has not finished yet (seen under ASan): drop it.
inpty() { script -qec "$1" /dev/null | sed 's/^\^@//'; }
inpty_rc() { script -qec "$1" /dev/null; } # for the exit status

# --- init and signals ---
check "init is PID 1, the payload PID 2" "2" "$(run -- sh -c 'echo $$')"
check "init = no: the payload is PID 1" "1" "$(run --set process.init=no -- sh -c 'echo $$')"
mkdir -p "$ROOT/sbin"; printf '#!/bin/sh\necho $$\n' >"$ROOT/sbin/init"; chmod 755 "$ROOT/sbin/init"
only "root userns no-openat2" 1 "an init needs a cgroup, which no one delegates to the user here" &&
	check "L12: a command that is an init is PID 1" "1" "$(run -- /sbin/init)"
check "L12: init = yes overrides" "2" "$(run --set process.init=yes -- /sbin/init)"
rm "$ROOT/sbin/init"
check "init = no, no PID namespace: refused" "125" \
	"$(run --no-pidns --set process.init=yes -- true 2>/dev/null; echo $?)"

# In the background, "$NSBOX" itself: $! must be nsbox, not a subshell.
"$NSBOX" run --chroot="$ROOT" -- nsbox-probe sig-wait >"$W/sig" &
pid=$!
wait_until 'grep -qx ready "$W/sig"'
# each one once the last has arrived: two pending at once are taken lowest
# first (HUP before INT), by the kernel, not by nsbox
for s in INT HUP QUIT USR1 USR2 TERM; do kill -"$s" $pid; wait_until "grep -qx $s \"\$W/sig\""; done
wait $pid; rc=$?
check "L7: each forwarded signal arrives once" "ready INT HUP QUIT USR1 USR2 TERM" "$(tr '\n' ' ' <"$W/sig" | sed 's/ $//')"
check "L7: the payload's status after TERM" 0 "$rc"

for s in INT HUP; do
	# (the last round's file must not answer for this one)
	rm -f "$W/ready"
	"$NSBOX" run --chroot="$ROOT" -- sh -c 'trap "exit 9" '"$s"'; echo ready; while :; do sleep 0.1; done' >"$W/ready" &
	pid=$!; wait_until 'grep -qs ready "$W/ready"'; kill -"$s" $pid; wait $pid
	check "SIG$s to nsbox reaches a trapping payload" 9 $?
done
"$NSBOX" run --chroot="$ROOT" -- sleep 1741 &
pid=$!; wait_proc 'sleep 1741'; kill -INT $pid; wait $pid
check "SIGINT kills an unhandled payload: 130" 130 $?

# Durations no other process on the machine is likely to sleep.
"$NSBOX" run --chroot="$ROOT" --set process.grace=1 -- sh -c 'trap "" TERM; sleep 1717' &
pid=$!; wait_proc 'sleep 1717'; kill -TERM $pid; wait $pid
check "L8: TERM ignored: SIGKILL after the grace period, 137" 137 $?
check "L8: nothing of it survives" 0 "$(pgrep -fc '^sleep 1717$' || true)"

check "L10: 200 orphans reaped, status kept" "0 5" \
	"$(run -- sh -c 'nsbox-probe zombies 200; sleep 0.5; printf "%s " $(grep -l "^[0-9]* ([^)]*) Z" /proc/[0-9]*/stat 2>/dev/null | wc -l); exit 5'; echo $?)"
check "L11: background children do not hold nsbox" "0" \
	"$(run -- sh -c 'sleep 1718 & exit 0'; echo $?)"
check "L11: the background child is gone" 0 "$(pgrep -fc '^sleep 1718$' || true)"

# Without a PID namespace the kernel kills nothing at the end: the init
# kills what the run left, and the run's cgroup holds it for teardown and
# for gc after a kill -9 of nsbox.
# wait_file FILE: until FILE has something in it (5 s at most).
wait_file() {
	_i=0
	until [ -s "$1" ] || [ "$_i" -ge 100 ]; do sleep 0.05; _i=$((_i + 1)); done
}
# (With a user namespace, a root's /proc cannot be mounted without a PID
# namespace of its own: the host's belongs to the initial user namespace.)
if only "root no-openat2" 7 "no PID namespace with a user namespace: the root's /proc cannot be mounted"; then
	out=$(run --no-pidns -- sh -c 'setsid sleep 1719 & echo started; exit 0'); rc=$?
	check "no PID namespace: a daemon left behind, the run's status" "0 started" "$rc $out"
	check "... and the daemon is gone when nsbox returns" 0 "$(pgrep -fc '^sleep 1719$' || true)"
	"$NSBOX" run --chroot="$ROOT" --no-pidns -- sh -c 'setsid sleep 1720 & echo started; sleep 1721' >"$W/nopid" &
	pid=$!; wait_file "$W/nopid"; wait_proc 'sleep 1720'
	check "... SIGTERM of nsbox: the run had started its daemon" "started 1" "$(cat "$W/nopid") $(pgrep -fc '^sleep 1720$')"
	kill -TERM $pid; wait $pid
	check "... SIGTERM of nsbox: nothing of the run survives" 0 "$(pgrep -fc '^sleep 17(20|21)$' || true)"
	: >"$W/nopid"
	"$NSBOX" run --chroot="$ROOT" --no-pidns -- sh -c 'setsid sleep 1722 & echo started; sleep 1723' >"$W/nopid" &
	pid=$!; wait_file "$W/nopid"; wait_proc 'sleep 1722'
	check "... kill -9 of nsbox: the run had started its daemon" "started 1" "$(cat "$W/nopid") $(pgrep -fc '^sleep 1722$')"
	kill -KILL $pid; wait $pid 2>/dev/null
	# no gc: the run's sweeper kills the cgroup once nsbox is gone
	wait_until "! pgrep -f '^sleep 172[23]$' >/dev/null"
	check "... which the run's sweeper kills with the cgroup, no gc needed" 0 "$(pgrep -fc '^sleep 172[23]$' || true)"
	check "... and nothing is left for gc" "" "$("$NSBOX" gc --dry-run)"
fi

# L18: a caller that ignores SIGCHLD and blocks signals
check "L18: caller ignoring SIGCHLD" "7" "$(perl -e '$SIG{CHLD}="IGNORE"; exec @ARGV' "$NSBOX" run --chroot="$ROOT" -- sh -c 'exit 7'; echo $?)"
check "L18: payload mask and dispositions reset" "0000000000000000 0000000000000000" \
	"$(perl -e 'use POSIX; $SIG{TERM}="IGNORE"; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1)); exec @ARGV' \
	"$NSBOX" run --chroot="$ROOT" -- awk '/SigBlk|SigIgn/{printf "%s ", $2}' /proc/self/status | sed 's/ $//')"

# L17: the parent-death signal survives the uid change
"$NSBOX" run --chroot="$ROOT" --user=builder -- sleep 301 &
pid=$!
wait_proc 'sleep 301'; started=$?
puid=$(stat -c %u "/proc/$(pgrep -x -f 'sleep 301' | head -n 1)" 2>/dev/null)
kill -KILL $pid; wait $pid 2>/dev/null
check "L17: the payload ran, as builder" "0 $(host_id 1000)" "$started $puid"
wait_until "! pgrep -x -f 'sleep 301' >/dev/null"
check "L17: kill -9 of nsbox kills a payload running as another user" 0 "$(pgrep -fc '^sleep 301$' || true)"
"$NSBOX" run --chroot="$ROOT" -- true 2>/dev/null

# L3: a script whose interpreter is missing
printf '#!/nonexistent\n' >"$ROOT/bin/badscript"; chmod 755 "$ROOT/bin/badscript"
err=$(run -- /bin/badscript 2>&1); rc=$?
check "L3: bad interpreter -> 126" 126 "$rc"
check "L3: one line saying so" "nsbox: exec /bin/badscript: bad interpreter (the #! line names a missing program)" "$err"
rm "$ROOT/bin/badscript"

# I1, I2: the init holds nothing; nothing reaches outside the root
check "I1: the init (PID 1) holds no fd" "" "$(init_fds "$NSBOX" run --chroot="$ROOT")"
check "I2: cwd and root inside; the init's root unreadable" "/ / no" \
	"$(run -- sh -c 'echo $(pwd) $(readlink /proc/self/root) $(readlink /proc/1/root 2>/dev/null || echo no)')"
# I5: a nested user and PID namespace cannot mount a proc that lacks the masks
check "I5: in a nested user and PID namespace (made: 'in'), mounting a proc fails" "in" \
	"$(run -- unshare -mrpf sh -c 'echo in; mount -t proc proc /proc 2>/dev/null && echo mounted; echo h 2>/dev/null >/proc/sysrq-trigger && echo written')"
check "U6: a numeric user not in passwd: that uid, HOME /" "4242 /" \
	"$(run --user=4242 -- sh -c 'echo $(id -u) $HOME')"

# --- the terminal ---
check "a pty when stdin is a terminal" "/dev/pts/0" "$(inpty "$NSBOX run --chroot=$ROOT -- tty" </dev/null | tr -d '\r')"
check "no pty without one (--pipe)" "not a tty" "$(inpty "$NSBOX run --pipe --chroot=$ROOT -- tty" </dev/null | tr -d '\r')"
check "--tty without a terminal" "/dev/pts/0" "$("$NSBOX" run --tty --chroot="$ROOT" -- tty </dev/null | tr -d '\r')"
check "/dev/console is the pty" "136 0" \
	"$(inpty "$NSBOX run --chroot=$ROOT -- stat -c '%t %T' /dev/console" </dev/null | tr -d '\r' | sed 's/^88 /136 /')"
check "the window size is copied" "33 77" \
	"$(inpty "stty rows 33 cols 77; $NSBOX run --chroot=$ROOT -- nsbox-probe winsize" </dev/null | tr -d '\r')"
# The resize once the payload's sh catches WINCH (bit 28 of SigCgt), not
# after a guess of how long a start takes; the payload gives up after 60 s.
cat >"$W/winch.sh" <<EOF
stty rows 20 cols 60
"$NSBOX" run --chroot="$ROOT" -- sh -c 'trap "nsbox-probe winsize; exit 0" WINCH; i=0; while [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; echo not resized' </dev/tty &
armed() { for p in \$(pgrep -f '^sh -c trap'); do awk '/^SigCgt:/ {exit !index("89abcdef", substr(\$2, 10, 1))}' /proc/\$p/status && return 0; done; return 1; }
i=0; until armed || [ \$i -ge 600 ]; do sleep 0.05; i=\$((i + 1)); done
stty rows 40 cols 90; kill -WINCH \$!; wait
EOF
check "SIGWINCH resizes the container's pty" "40 90" \
	"$(inpty "sh $W/winch.sh" </dev/null | tr -d '\r' | tail -1)"
check "10 MB of output drained through the pty" 10000000 \
	"$(inpty "$NSBOX run --chroot=$ROOT -- sh -c 'head -c 10000000 /dev/zero | tr \"\\\\0\" a'" </dev/null | tr -cd a | wc -c)"
check "the exit status through the pty" 7 "$(inpty_rc "$NSBOX run --chroot=$ROOT -- sh -c 'exit 7'" </dev/null >/dev/null; echo $?)"
out=$( (sleep 1; printf 'sleep 30\n'; sleep 1; printf '\003'; sleep 0.5; printf 'echo alive\nexit 4\n') |
	inpty_rc "$NSBOX run --chroot=$ROOT -- sh"; echo "rc=$?")
case $out in *alive*rc=4) ok "L9: Ctrl-C reaches the payload, nsbox survives";;
*) not_ok "L9: Ctrl-C reaches the payload, nsbox survives" "$(printf %s "$out" | tr -d '\r' | tail -3)";; esac
out=$(printf 'a\000b\n' | inpty_rc "$NSBOX run --chroot=$ROOT -- sh -c 'read x; echo got'"; echo "rc=$?")
case $out in *got*rc=0) ok "a NUL byte on stdin kills nothing";; *) not_ok "a NUL byte on stdin kills nothing" "$out";; esac
# I7: nothing a payload pushes with TIOCSTI lands in the caller's terminal
for mode in "" --pipe; do
	# What the outer shell reads afterwards goes to a file: script(1) may
	# end the session, and lose its last output, once its stdin is at EOF.
	rm -f "$W/after"
	out=$(inpty "$NSBOX run $mode --chroot=$ROOT -- nsbox-probe tiocsti 0 'echo INJECTED$(printf "\\r")'; read -t 1 x; echo \"after=[\$x]\" >$W/after" </dev/null | tr -d '\r')
	case $out in *"tiocsti: Operation not permitted"*) ok "I7: TIOCSTI ${mode:-with a pty} fails";;
	*) not_ok "I7: TIOCSTI ${mode:-with a pty} fails" "$out";; esac
	# (script's own ^D at the end of its input may be read as a byte)
	check "I7: ... and nothing lands in the caller's terminal${mode:+ ($mode)}" "after=[] 0" \
		"$(tr -d '\004' <"$W/after" 2>&1) $(grep -c INJECTED "$W/after")"
done
out=$(inpty "$NSBOX run --pipe --caps=+sys_admin --chroot=$ROOT -- nsbox-probe tiocsti 2 'x'" </dev/null | tr -d '\r')
check "I7: not even with CAP_SYS_ADMIN" "tiocsti: Operation not permitted" "$out"
# I7 (d), (e): the request's bit 32 (the kernel drops it), and TIOCLINUX;
# with the TIOCSTI filter alone and within the denylist
for sc in no yes; do
	for mode in "" --pipe; do
		out=$(inpty "$NSBOX run $mode --set security.seccomp=$sc --chroot=$ROOT -- sh -c 'nsbox-probe tiocsti-hi 0 x; nsbox-probe tioclinux 0'" </dev/null | tr -d '\r' | tr '\n' ' ')
		check "I7: TIOCSTI | 1 << 32 and TIOCLINUX fail (${mode:-a pty}, seccomp $sc)" \
			"tiocsti-hi: Operation not permitted tioclinux: Operation not permitted " "$out"
	done
done
# The TIOCSTI filter comes where a terminal is within reach; with the
# denylist it is part of it (one filter). Without any terminal, the
# kernel alone refuses TIOCSTI to a payload with no controlling terminal
# and no CAP_SYS_ADMIN: no filter is needed.
nf() { "$NSBOX" run "$@" -- nsbox-probe filters </dev/null 2>&1; }
# (mode no-openat2's wrapper has a filter of its own, which is inherited)
f0=0 f1=1
[ "$MODE" = no-openat2 ] && f0=1 f1=2
check "the TIOCSTI filter: a pty, --pipe on a tty, with the denylist" "$f1 $f1 $f1" \
	"$(inpty "$NSBOX run --chroot=$ROOT -- nsbox-probe filters" </dev/null | tr -d '\r') $(inpty "$NSBOX run --pipe --chroot=$ROOT -- nsbox-probe filters" </dev/null | tr -d '\r') $(nf --chroot="$ROOT" --set security.seccomp=yes)"
check "... also without a terminal: the host's /dev" "$f1" \
	"$("$NSBOX" run -- awk '/^Seccomp_filters:/{print $2}' /proc/self/status </dev/null 2>&1)"
# CAP_SYS_ADMIN counts in the host's user namespace only; and a user
# namespace cannot mount /proc without a PID namespace of its own
only "root no-openat2" 1 "a user namespace: no CAP_SYS_ADMIN in the host's, no /proc without a PID namespace" &&
	check "... CAP_SYS_ADMIN in the host's user namespace, the host's PIDs" "$f1 $f1" \
		"$(nf --chroot="$ROOT" --caps=+sys_admin) $(nf --chroot="$ROOT" --no-pidns)"
only "userns user" 1 "no user namespace: CAP_SYS_ADMIN is the host's" &&
	check "... but not for CAP_SYS_ADMIN in a user namespace" "$f0" "$(nf --chroot="$ROOT" --caps=+sys_admin)"
check "... and none with no terminal within reach" "$f0" "$(nf --chroot="$ROOT")"
check "... where TIOCSTI still fails: no terminal, no controlling terminal" \
	"tiocsti: Inappropriate ioctl for device|no /dev/tty" \
	"$("$NSBOX" run --chroot="$ROOT" -- sh -c 'nsbox-probe tiocsti 0 x; (exec 3</dev/tty) 2>/dev/null || echo no /dev/tty' </dev/null 2>&1 | tr '\n' '|' | sed 's/|$//')"

# --- capabilities ---
caps() { "$NSBOX" run --chroot="$ROOT" "$@" -- sh -c "awk '/^Cap|^NoNewPrivs/{printf \"%s %s \", \$1, \$2}' /proc/self/status" | sed 's/ $//'; }
check "I3: root: the default set, nothing inheritable or ambient" \
	"CapInh: 0000000000000000 CapPrm: 00000000800405fb CapEff: 00000000800405fb CapBnd: 00000000800405fb CapAmb: 0000000000000000 NoNewPrivs: 1" "$(caps)"
check "I3: --caps=-chown,+sys_admin" \
	"CapInh: 0000000000000000 CapPrm: 00000000802405fa CapEff: 00000000802405fa CapBnd: 00000000802405fa CapAmb: 0000000000000000 NoNewPrivs: 1" "$(caps --caps=-chown,+sys_admin)"
check "I3: another user has none" \
	"CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 CapBnd: 00000000800405fb CapAmb: 0000000000000000 NoNewPrivs: 1" "$(caps --user=builder)"
check "no-new-privileges = no" "NoNewPrivs: 0" "$(caps --set security.no-new-privileges=no | grep -o 'NoNewPrivs: .')"
run -- mknod /tmp/null c 1 3 2>/dev/null
check "I10: mknod refused without CAP_MKNOD" 1 $?
run -- mount -t tmpfs none /mnt 2>/dev/null
check "I10: mount refused without CAP_SYS_ADMIN" 255 $?

audit_check "after all runs"
finish

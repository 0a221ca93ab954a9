#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nsbox run as root: roots, mounts, /proc, /dev, env, users, exit codes.
# Commands in single quotes run inside the container, expanded there.
# shellcheck disable=SC2016,SC2012
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

run() { "$NSBOX" run "$@"; }

# pflask's examples
check "run -- id (host root)" "uid=0(root) gid=0(root)" "$(run -- id | cut -d' ' -f1-2)"
check "host root: pid 2 under nsbox's init" "2" "$(run -- sh -c 'echo $$')"
check "chroot: the root's own passwd" "builder" "$(run --chroot="$ROOT" -- cut -d: -f1 /etc/passwd | tail -1)"
check "chroot: cwd is /" "/" "$(run --chroot="$ROOT" -- pwd)"

# exit statuses
for code in 0 1 42 255; do
	run --chroot="$ROOT" -- sh -c "exit $code"
	check "exit $code passes through" "$code" "$?"
done
run --chroot="$ROOT" -- sh -c 'kill -KILL $$'; check "SIGKILL -> 137" 137 $?
run --chroot="$ROOT" -- sh -c 'kill -SEGV $$'; check "SIGSEGV -> 139" 139 $?
run --chroot="$ROOT" -- sh -c 'kill -TERM $$'; check "SIGTERM -> 143" 143 $?
run --chroot="$ROOT" -- /nonexistent 2>/dev/null; check "not found -> 127" 127 $?
run --chroot="$ROOT" -- /etc/passwd 2>/dev/null; check "not executable -> 126" 126 $?
err=$(run --chroot="$W/nope" -- true 2>&1); rc=$?
check "missing root -> 125" 125 "$rc"
check "missing root: one line naming the step" "1" "$(printf '%s\n' "$err" | wc -l)"
case $err in "nsbox: prepare-root: root.directory $W/nope"*) ok "message names the root";;
*) not_ok "message names the root" "$err";; esac

err=$(run --chroot="$ROOT" -m bind:"$W/nope":/mnt/x -- true 2>&1); rc=$?
check "a missing bind source: 125, one line at its origin (no step name)" \
	"125 nsbox: command line: mount /mnt/x: $W/nope: No such file or directory" "$rc $err"

# ephemeral: writes vanish, the base is untouched, the upper is removed
run_ok "ephemeral: the run writes and deletes" run --chroot="$ROOT" --ephemeral -- \
	sh -c 'echo x >/marker && rm /etc/group && cat /marker && ! test -e /etc/group'
check "ephemeral: it saw its own changes" "x" "$RUN_OUT"
check "ephemeral: write not in the base" "no" "$([ -e "$ROOT/marker" ] && echo yes || echo no)"
check "ephemeral: delete not in the base" "yes" "$([ -e "$ROOT/etc/group" ] && echo yes || echo no)"
check "ephemeral: sees its own writes" "x" "$(run --chroot="$ROOT" -w -- sh -c 'echo x >/m; cat /m')"

# a persistent upper keeps what was written
run --chroot="$ROOT" --set root.upper="$W/upper" -- sh -c 'echo kept >/kept'
check "upper: write kept in the upper" "kept" "$(cat "$W/upper/kept" 2>&1)"
check "upper: base untouched" "no" "$([ -e "$ROOT/kept" ] && echo yes || echo no)"
check "upper: next run sees it" "kept" "$(run --chroot="$ROOT" --set root.upper="$W/upper" -- cat /kept)"

# Root makes, chowns and mounts the upper by name: only where no one else
# can change what the name is. A user who owns the upper's directory
# makes the upper a link to root's directory (or swaps one in while
# nsbox starts): the container would write there.
if only "$PRIV" 4 "run by a user, nsbox writes with the user's own rights"; then
	mkdir -p "$W/victim" "$W/mal"; echo root >"$W/victim/f"; chmod 755 "$W/victim"
	chown nobody "$W/mal"; ln -s "$W/victim" "$W/mal/up"
	err=$(run --chroot="$ROOT" --set root.upper="$W/mal/up" -- sh -c 'echo x >/pwned' 2>&1); rc=$?
	check "upper in a user's directory, a link to root's: refused, one line" \
		"125|nsbox: command line: root.upper: $W/mal/up: $W/mal is missing, not root's or writable by others; as root, nsbox makes and uses an upper only where only root can change the path" \
		"$rc|$err"
	check "upper in a user's directory: root's directory untouched" "f root 0 755" \
		"$(ls "$W/victim" | tr '\n' ' ')$(cat "$W/victim/f") $(stat -c '%u %a' "$W/victim")"
	rm "$W/mal/up"; chmod 1777 "$W/mal"; chown root "$W/mal"
	err=$(run --chroot="$ROOT" --set root.upper="$W/mal/up" -- true 2>&1); rc=$?
	check "upper in a sticky directory (anyone may put a link there first): refused" \
		"125 no" "$rc $([ -e "$W/mal/up" ] && echo yes || echo no)"
	ln -s "$W" "$W/rootlink"
	check "upper through root's own link: taken" "kept" \
		"$(run --chroot="$ROOT" --set root.upper="$W/rootlink/upper" -- cat /kept 2>&1)"
fi

# read-only overlay layers
mkdir -p "$W/layer/opt"; echo layered >"$W/layer/opt/f"
check "overlay layer visible" "layered" "$(run --chroot="$ROOT" -w --set root.overlay="$W/layer" -- cat /opt/f)"

# mounts
mkdir -p "$W/src/sub"; echo hello >"$W/src/file"; own "$W/src"
check "bind" "hello" "$(run --chroot="$ROOT" -m bind:"$W/src":/mnt/src -- cat /mnt/src/file)"
run --chroot="$ROOT" -m bind:"$W/src":/mnt/src -- sh -c 'echo w >/mnt/src/written'
check "bind is writable" "w" "$(cat "$W/src/written" 2>&1)"
run_ok "bind-ro: the run sees the source, and its write fails (EROFS)" run --chroot="$ROOT" \
	-m bind-ro:"$W/src":/mnt/src -- sh -c 'cat /mnt/src/file && ! echo w 2>/dev/null >/mnt/src/ro'
check "bind-ro: it read the source" "hello" "$RUN_OUT"
check "bind-ro refuses writes" "no" "$([ -e "$W/src/ro" ] && echo yes || echo no)"
mount -t tmpfs none "$W/src/sub"
echo sub >"$W/src/sub/seen"
run_ok "bind-ro of a tree with a submount: the run sees the submount, and its write fails" \
	run --chroot="$ROOT" -m bind-ro:"$W/src":/mnt/src -- sh -c 'cat /mnt/src/sub/seen && ! echo w 2>/dev/null >/mnt/src/sub/ro'
check "bind-ro: it read the submount" "sub" "$RUN_OUT"
check "bind-ro is recursive (submount read-only)" "no" "$([ -e "$W/src/sub/ro" ] && echo yes || echo no)"
umount "$W/src/sub"
check "bind a file" "hello" "$(run --chroot="$ROOT" -m bind:"$W/src/file":/etc/motd -- cat /etc/motd)"
check "tmp" "tmpfs" "$(run --chroot="$ROOT" -m tmp:/scratch -- sh -c "awk '\$2==\"/scratch\"{print \$3}' /proc/mounts")"
mkdir -p "$W/ovl/up" "$W/ovl/work"; own "$W/ovl"
run_ok "pflask overlay: the run writes under it" \
	run --chroot="$ROOT" -m "overlay:$W/ovl/up:/etc:$W/ovl/work" -- sh -c 'echo o >/etc/new'
check "pflask overlay: writes go to DIR" "o" "$(cat "$W/ovl/up/new" 2>&1)"
check "pflask overlay: lower kept" "no" "$([ -e "$ROOT/etc/new" ] && echo yes || echo no)"
err=$(run --chroot="$ROOT" -m "overlay:$W/ovl/up:/:$W/ovl/work" -- true 2>&1); rc=$?
check "pflask overlay on /: refused, saying what to use" \
	"125|nsbox: command line: mount.overlay: '$W/ovl/up:/:$W/ovl/work': an overlay on / is the root's upper: use --set root.upper=DIR (overlayfs's work directory is then DIR.work), or --ephemeral to discard the changes" "$rc|$err"
run --chroot="$ROOT" --set root.upper="$W/ovl-root" -- sh -c 'echo r >/etc/rootnew'
check "pflask overlay on /: root.upper instead" "r no" \
	"$(cat "$W/ovl-root/etc/rootnew" 2>&1) $([ -e "$ROOT/etc/rootnew" ] && echo yes || echo no)"
check "mount tmp over \$HOME on the host root" "0" "$(run -m tmp:/root -- sh -c 'ls -A /root | wc -l')"

# /proc and /dev from inside
check "I4: /proc/kallsyms masked" "0" "$(run --chroot="$ROOT" -- sh -c 'cat /proc/kallsyms 2>/dev/null | wc -c')"
run --chroot="$ROOT" -- sh -c 'echo h >/proc/sysrq-trigger' 2>/dev/null
check "I4: /proc/sysrq-trigger not writable" "1" "$?"
run --chroot="$ROOT" -- sh -c 'echo 1 >/proc/sys/kernel/sysrq' 2>/dev/null
check "I4: /proc/sys read-only" "1" "$?"
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
check "/proc/sys/net writable with a private network" "$((1 - fwd))" \
	"$(run --chroot="$ROOT" --netif --caps=+net_admin -- sh -c "echo $((1 - fwd)) >/proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_forward")"
check "... and the host's is unchanged" "$fwd" "$(cat /proc/sys/net/ipv4/ip_forward)"
run --chroot="$ROOT" --no-netns --caps=+net_admin -- sh -c "echo $fwd >/proc/sys/net/ipv4/ip_forward" 2>/dev/null
check "/proc/sys/net read-only with the host's network" 1 $?
check "I4: /sys read-only" "ro" "$(run --chroot="$ROOT" -- sh -c "awk '\$2==\"/sys\"{split(\$4,a,\",\");print a[1]}' /proc/mounts")"
check "I8: /dev has exactly the documented nodes" \
	"fd full null ptmx pts random shm stderr stdin stdout tty urandom zero" \
	"$(run --chroot="$ROOT" -- ls /dev | tr '\n' ' ' | sed 's/ $//')"
check "I6: old root detached (no mount point outside the root)" "0" \
	"$(run --chroot="$ROOT" -- sh -c "awk '\$5 ~ /nsbox-it/' /proc/self/mountinfo | wc -l")"

# env, user, fds, hostname
check "env cleared" "[]" "$(NSBOX_T=1 run --chroot="$ROOT" -- sh -c 'echo [${NSBOX_T:-}]')"
# (the caller's PATH goes in too: one with /bin, which the busybox root has;
# a systemd service's has only /usr/bin and /usr/sbin)
check "keepenv" "1" "$(PATH=/usr/bin:/bin NSBOX_T=1 run --chroot="$ROOT" --keepenv -- sh -c 'echo ${NSBOX_T:-}')"
check "setenv with a comma" "a,b" "$(run --chroot="$ROOT" --setenv=X=a,b -- sh -c 'echo $X')"
# the command is looked up in the PATH it gets, not in nsbox's own: the
# caller's lacks /usr/local/bin, the container's default has it
mkdir -p "$W/tbin"; printf '#!/bin/sh\necho found\n' >"$W/tbin/tprog"
printf 'echo plain "$1"\n' >"$W/tbin/tplain"; chmod 755 "$W/tbin/tprog" "$W/tbin/tplain"; own "$W/tbin"
check "the container's PATH finds the command, not the caller's" "found" \
	"$(env PATH=/usr/bin:/bin "$NSBOX" run --chroot="$ROOT" -m bind-ro:"$W/tbin":/usr/local/bin -- tprog)"
check "setenv PATH: the command is found there" "found" \
	"$(run --chroot="$ROOT" -m bind-ro:"$W/tbin":/opt/tbin --setenv=PATH=/opt/tbin:/bin -- tprog)"
check "a file with no #! found in PATH runs with /bin/sh" "plain x" \
	"$(run --chroot="$ROOT" -m bind-ro:"$W/tbin":/opt/tbin --setenv=PATH=/bin:/opt/tbin -- tplain x)"
run --chroot="$ROOT" --setenv=PATH=/opt/none -- true 2>/dev/null
check "not in the container's PATH -> 127" 127 $?
check "PATH set" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$(run --chroot="$ROOT" -- sh -c 'echo $PATH')"
check "user from the root's passwd" "1000 1000 1000 2000 /home/builder" \
	"$(run --chroot="$ROOT" --user=builder -- sh -c 'echo $(id -u) $(id -g) $(id -G) $HOME')"
run --chroot="$ROOT" --user=nosuch -- true 2>/dev/null; check "unknown user -> 125" 125 $?
check "I1: only fds 0-2 (and ls's own)" "0 1 2 3" \
	"$(exec 5</dev/null 7</ 9</dev/null; run --chroot="$ROOT" -- ls /proc/self/fd | tr '\n' ' ' | sed 's/ $//')"
check "hostname" "box" "$(run --chroot="$ROOT" --hostname=box -- hostname)"
check "I3: capabilities dropped to the default set" "00000000800405fb" \
	"$(run --chroot="$ROOT" -- sh -c "awk '/CapBnd/{print \$2}' /proc/self/status")"
check "I3: no_new_privs" "1" "$(run --chroot="$ROOT" -- sh -c "awk '/NoNewPrivs/{print \$2}' /proc/self/status")"
check "nofile soft limit 1024" "1024" "$(run --chroot="$ROOT" -- sh -c 'ulimit -n')"

# namespaces on and off
check "net: --netif, only lo, up" "lo UP" "$(run --chroot="$ROOT" --netif -- sh -c "ip -o link | awk '{print \$2, \$3}' | tr -d ':' | sed 's/<.*UP.*>/UP/'")"
check "no profile: the host's network, as pflask" "$(readlink /proc/self/ns/net)" "$(run --chroot="$ROOT" -- readlink /proc/self/ns/net)"
check "a profile: a network of its own" "no" \
	"$(printf '[root]\n' >"$W/empty.conf"; [ "$(run --profile="$W/empty.conf" --chroot="$ROOT" -- readlink /proc/self/ns/net)" = "$(readlink /proc/self/ns/net)" ] && echo yes || echo no)"
check "--no-netns sees the host's interfaces" "$(grep -c : /proc/net/dev)" "$(run --no-netns -- grep -c : /proc/net/dev)"
check "--no-pidns sees host pids" "yes" "$(run --no-pidns -- sh -c '[ $$ -gt 2 ] && echo yes')"
check "--no-utsns keeps the host name" "$(hostname)" "$(run --no-utsns -- hostname)"
inner=$(run -- readlink /proc/self/ns/ipc)
if [ -n "$inner" ] && [ "$inner" != "$(readlink /proc/self/ns/ipc)" ]; then ok "ipc namespace is new"
else not_ok "ipc namespace is new" "$inner"; fi
check "--no-ipcns shares the host's" "$(readlink /proc/self/ns/ipc)" "$(run --no-ipcns -- readlink /proc/self/ns/ipc)"

# 20 MB through stdout, byte-exact
head -c 20000000 /dev/urandom >"$W/big"
run --chroot="$ROOT" -m bind-ro:"$W/big":/big -- cat /big | cmp -s - "$W/big"
check "20 MB stdout byte-exact" 0 $?

# signals: SIGTERM to nsbox reaches the payload
"$NSBOX" run --chroot="$ROOT" -- sh -c 'trap "exit 3" TERM; echo ready; while :; do sleep 1; done' >"$W/ready" &
pid=$!; wait_until 'grep -q ready "$W/ready"'; kill -TERM $pid; wait $pid
check "L5: SIGTERM forwarded, payload's status" 3 $?
"$NSBOX" run --chroot="$ROOT" -- sleep 1731 &
pid=$!; wait_proc 'sleep 1731'; kill -TERM $pid; wait $pid
check "L6: SIGTERM kills an unhandled payload" 143 $?

# kill -9 of nsbox and of its sweeper (t-killed.sh has nsbox's alone):
# nothing survives, the next run cleans up. The sweeper first: once nsbox
# is gone it sweeps at once, and a shell descheduled between the two
# kills found it gone, its work done (the CI's fresh stage, once).
"$NSBOX" run --chroot="$ROOT" -w -- sleep 3013 &
pid=$!; wait_proc 'sleep 3013'; kill -KILL "$(sweeper_of $pid)" $pid; wait $pid 2>/dev/null
# the container dies with nsbox (PDEATHSIG), not in the same instant: under
# ASan on a loaded machine it took more than a second once. (A number no
# other process on the machine uses: a `sleep 300` elsewhere failed this.)
wait_until "! pgrep -x -f 'sleep 3013' >/dev/null"
check "L13: no container process after kill -9" "0" "$(pgrep -fc '^sleep 3013$' || true)"
check "L13: nsbox gc --dry-run lists the leftovers" 1 "$("$NSBOX" gc --dry-run | wc -l)"
msg=$(run --chroot="$ROOT" -- true 2>&1)
case $msg in "nsbox: removed leftovers of run "*) ok "L15: next run removes leftovers";; *) not_ok "L15: next run removes leftovers" "$msg";; esac
"$NSBOX" run --chroot="$ROOT" -w -- sleep 3014 &
pid=$!; wait_proc 'sleep 3014'; kill -KILL "$(sweeper_of $pid)" $pid; wait $pid 2>/dev/null
wait_until "! pgrep -x -f 'sleep 3014' >/dev/null"
msg=$("$NSBOX" gc 2>&1)
case $msg in "nsbox: removed leftovers of run "*) ok "nsbox gc removes leftovers";; *) not_ok "nsbox gc removes leftovers" "$msg";; esac
check "nsbox gc: nothing left to list" "" "$("$NSBOX" gc --dry-run)"
"$NSBOX" run --chroot="$ROOT" --name=live -- sleep 2 &
pid=$!; wait_running live
check "nsbox gc never touches a live run" "" "$("$NSBOX" gc 2>&1)"
wait $pid; check "... which ends normally" 0 $?

# --json-status-fd: the start and the end as JSON lines, who failed
out=$("$NSBOX" run --chroot="$ROOT" --name=js --json-status-fd=3 -- sh -c 'exit 3' 3>&1 >/dev/null)
check "--json-status-fd: a started line (pid, name, id)" "started js" \
	"$(echo "$out" | head -1 | python3 -c 'import json, sys; e = json.load(sys.stdin); print(e["event"], e["name"]) if e["pid"] > 0 and e["id"] else None')"
check "--json-status-fd: the end: the command's status, the command failed" "exited 3 command" \
	"$(echo "$out" | tail -1 | python3 -c 'import json, sys; e = json.load(sys.stdin); print(e["event"], e["exit-code"], e["failed"])')"
out=$("$NSBOX" run --chroot="$W/nonexistent" --json-status-fd=3 -- true 3>&1 2>/dev/null >/dev/null)
check "--json-status-fd: nsbox failed: 125, nsbox, the message" "exited 125 nsbox True" \
	"$(echo "$out" | python3 -c 'import json, sys; e = json.load(sys.stdin); print(e["event"], e["exit-code"], e["failed"], "nonexistent" in e["message"])')"
err=$("$NSBOX" run --json-status-fd=77 -- true 2>&1); rc=$?
check "--json-status-fd: a closed fd is refused" "125|nsbox: command line: --json-status-fd: 77 is not an open file descriptor" "$rc|$err"
check "--json-status-fd: the container does not get the fd" "0 1 2 3" \
	"$("$NSBOX" run --chroot="$ROOT" --json-status-fd=3 -- ls /proc/self/fd 3>/dev/null | tr '\n' ' ' | sed 's/ $//')"

audit_check "after all runs"
finish

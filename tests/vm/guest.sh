#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/vm/guest.sh: what make check-vm runs in the trixie VM, from
# check-vm.service (as root, in /root/nsbox, a copy of the checkout); TAP
# to stdout (the host reads it from the second serial port). The host
# these tests are for: systemd as PID 1, cgroup v2 only, a tmpfs /run,
# systemd-machined.
# shellcheck disable=SC2016 # expanded in the containers
set -u
# a service's PATH has no /bin (merged /usr); the tests' busybox root has
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "got: $3"; fi; }
secs() { echo $(($(date +%s) - $1)); }
# settled CMD: until CMD prints nothing, 30 s at most; what it prints then.
# systemd removes an emptied scope on its own time, and this guest is
# emulated: a fixed pause could be too short.
settled() {
	_i=0
	while [ -n "$(eval "$1")" ] && [ $_i -lt 60 ]; do sleep 0.5; _i=$((_i + 1)); done
	eval "$1"
}
echo "# uptime $(cut -d' ' -f1 /proc/uptime) s when the tests start"

# --- the host ---
check "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
check "cgroup v2 only" "cgroup2fs" "$(stat -fc %T /sys/fs/cgroup)"
check "/run is a tmpfs" tmpfs "$(stat -fc %T /run)"
check "these tests run in a service's cgroup" /system.slice/check-vm.service "$(cut -d: -f3 /proc/self/cgroup)"

# --- the README's first command ---
t=$(date +%s)
cmd=$(sed -n '/^## Quick start/,/^## /s/^    \(make deps install .*\)/\1/p' README.md)
sh -c "$cmd" >/tmp/readme.log 2>&1
rc=$?
check "the README's first command: $cmd" 0 "$rc"
[ "$rc" -eq 0 ] || tail -5 /tmp/readme.log | sed 's/^/# /'
echo "# it took $(secs "$t") s"
make -s tests/probe/nsbox-probe tests/nsbox-fault >/tmp/make.log 2>&1 || not_ok "make the test helpers" "$(tail -3 /tmp/make.log)"

# --- autopkgtest through autopkgtest-virt-nsbox on a real package, as root
# with CAP_SYS_RESOURCE (the CI host's root lacks it): bookworm's redis
# (mkimage.sh's /srv/peer), whose 0001-redis-cli restarts redis-server
# through its init script, which runs `ulimit -n 65536`, and leaves it
# running. The testbed's apt has the local repository of redis's .debs in
# place of the mirror; -B: the tests use those, autopkgtest builds none. ---
peer() {
	t=$(date +%s)
	P=/srv/peer O=/var/tmp/redis-out
	(cd "$P/debs" && apt-ftparchive packages . >Packages 2>/dev/null)
	rm -rf "$O"
	timeout 1200 autopkgtest --test-name=0001-redis-cli --output-dir="$O" \
		--setup-commands='rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*; echo "deb [trusted=yes] file:/srv/debs ./" >/etc/apt/sources.list.d/local.list; apt-get -qq update' \
		-B "$(find "$P" -maxdepth 1 -type d -name 'redis-*' | head -1)" -- nsbox -t "$P/bookworm.tar" -- -m bind-ro:"$P/debs":/srv/debs \
		>/tmp/redis.log 2>&1
	rc=$?
	check "autopkgtest, bookworm's redis 0001-redis-cli (needs-root; leaves redis-server running), as root with CAP_SYS_RESOURCE: passes" \
		"0 PASS" "$rc $(awk '$1 == "0001-redis-cli" { print $2 }' "$O/summary" 2>/dev/null)"
	[ "$rc" -eq 0 ] || tail -8 /tmp/redis.log | sed 's/^/# /'
	# (autopkgtest writes a -stderr file only when there was some)
	check "... with nothing on its stderr: the init script's ulimit -n 65536 worked" "nothing" \
		"$(if [ -s "$O/0001-redis-cli-stderr" ]; then cat "$O/0001-redis-cli-stderr"
		elif [ -s "$O/0001-redis-cli-stdout" ]; then echo nothing; else echo "the test did not run"; fi)"
	check "... and redis-server answered it" yes "$(grep -q '^redis_version:' "$O/0001-redis-cli-stdout" 2>/dev/null && echo yes)"
	check "... and no redis-server, container or upper is left" "" \
		"$(pgrep -x redis-server; nsbox ps | tail -n +2; find /run/nsbox /var/tmp -maxdepth 1 -name '*autopkgtest*' 2>/dev/null)"
	echo "# autopkgtest on redis took $(secs "$t") s"
	rm -rf "$O" "$P/debs/Packages"
}
# the set run.sh asked for: ci leaves out the sid-build-style apt install,
# the peer check and the integration test files; peer runs only the peer
# check (after the README's command, which installs nsbox)
SET=$(sed -n 's/.*nsbox\.vmset=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ "$SET" = peer ]; then
	peer
	echo "1..$n"
	exit 0
fi

# A user with subordinate ids and a systemd manager of its own (lingering).
U=nsbox-vm
useradd -m -s /bin/sh "$U"
echo "$U:300000:65536" >>/etc/subuid
echo "$U:300000:65536" >>/etc/subgid
UU=$(id -u "$U")
loginctl enable-linger "$U"
i=0
until [ "$(systemctl is-active "user@$UU.service")" = active ] || [ $i -ge 600 ]; do sleep 0.2; i=$((i + 1)); done
check "the user's manager runs (lingering)" active "$(systemctl is-active "user@$UU.service")"
as_user() { setpriv --reuid="$U" --regid="$U" --init-groups -- env -i HOME="/home/$U" PATH=/usr/local/bin:/usr/bin:/bin "$@"; }

# sess USER CMD: CMD through /bin/sh in a login session of USER on this
# host, as `machinectl shell USER@.host` opens one (PAM, pam_systemd: a
# session-N.scope in user-UID.slice); its output, without the pty's CRs.
sess() { timeout 600 machinectl --quiet shell "$1@.host" /bin/sh -c "$2" </dev/null 2>&1 | tr -d '\r'; }
for who in root "$U"; do
	check "a login session of $who (machinectl shell $who@.host): session-N.scope in user-ID.slice" \
		"/user.slice/user-ID.slice/session-N.scope" \
		"$(sess "$who" 'cut -d: -f3 /proc/self/cgroup' | sed -E 's|user-[0-9]+\.slice|user-ID.slice|; s|session-[0-9]+\.scope|session-N.scope|')"
done

# --- [limits], where the cgroups are, and what is left ---
# lim WHO KEY=VALUE FILE: a container with that limit runs a sleep; from
# here, the sleep's cgroup's FILE, and that cgroup. WHO: root (this
# service), scope (root, in a transient scope: systemd-run --scope),
# session (root's login session), user (lingering: the user's manager, no
# session), usession (the user's login session).
lim() {
	who=$1 kv=$2 file=$3
	arg=$((4000 + n))
	case $who in
	root) nsbox run --set "limits.$kv" -- sleep "$arg" 2>/tmp/lim.err & ;;
	scope) systemd-run --quiet --scope -- nsbox run --set "limits.$kv" -- sleep "$arg" 2>/tmp/lim.err & ;;
	user) as_user nsbox run --set "limits.$kv" -- sleep "$arg" 2>/tmp/lim.err & ;;
	# a real login session (pam_systemd's session-N.scope), as root or the user
	session) sess root "nsbox run --set limits.$kv -- sleep $arg" >/tmp/lim.err & ;;
	usession) sess "$U" "nsbox run --set limits.$kv -- sleep $arg" >/tmp/lim.err & ;;
	esac
	bg=$!
	i=0 pid=
	while [ -z "$pid" ] && [ $i -lt 300 ]; do
		pid=$(pgrep -x -f "sleep $arg" | head -1)
		[ -n "$pid" ] || sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$pid" ]; then
		echo "no-payload: $(cat /tmp/lim.err)"
	else
		cgp=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
		echo "$(cat "/sys/fs/cgroup$cgp/$file" 2>&1) $cgp"
		kill "$pid"
	fi
	wait "$bg" 2>/dev/null
}
# scope_of "VALUE CGROUP": VALUE, and the unit the cgroup is in
where() { echo "$1" | sed -E 's|^(.*) /.*/(nsbox-[0-9a-f]+\.scope)/nsbox-[0-9a-f]+$|\1 in \2|; s|nsbox-[0-9a-f]+\.scope|nsbox-ID.scope|'; }
for who in root scope session user usession; do
	check "limits.memory as $who: in a scope systemd delegated" "67108864 in nsbox-ID.scope" "$(where "$(lim $who memory=64M memory.max)")"
	check "limits.pids as $who" "32 in nsbox-ID.scope" "$(where "$(lim $who pids=32 pids.max)")"
	check "limits.cpu as $who" "50000 100000 in nsbox-ID.scope" "$(where "$(lim $who cpu=0.5 cpu.max)")"
	check "limits.cgroup=memory as $who" "max in nsbox-ID.scope" "$(where "$(lim $who cgroup=memory memory.max)")"
done
for who in root scope session; do
	check "limits.io-weight as $who" "default 50 in nsbox-ID.scope" "$(where "$(lim $who io-weight=50 io.weight)")"
done
# the user's manager delegates memory, pids and cpu only (user@.service)
out=$(as_user nsbox run --set limits.io-weight=50 -- true 2>&1)
check "limits.io-weight as user: no io controller delegated: one warning, the run goes on" \
	"0 nsbox: warning: command line: limits.io-weight: this system has no I/O weight to set (no io or blkio controller with a weight); ignored" \
	"$? $out"
check "limits.shm-size (a root's own /dev)" "8.0M" \
	"$(nsbox run --chroot=/srv/boot --set limits.shm-size=8M -- df -h /dev/shm 2>&1 | awk 'NR == 2 {print $2}')"
# rlimits NSBOX...: "NAME SOFT HARD" of each key, sorted
rlimits() {
	"$@" run --set limits.nofile=100 --set limits.nproc=50 --set limits.core=0 --set limits.stack=8M \
		--set limits.fsize=1M --set limits.memlock=64K --set limits.as=1G -- \
		sh -c 'sed -nE "s/^Max (open files|processes|core file size|stack size|file size|locked memory|address space) +([0-9]+) +([0-9]+).*/\1 \2 \3/p" /proc/self/limits' 2>&1 | sort | tr '\n' ';'
}
want="address space 1073741824 1073741824;core file size 0 0;file size 1048576 1048576;locked memory 65536 65536;open files 100 100;processes 50 50;stack size 8388608 8388608;"
check "rlimits as root (nofile nproc core stack fsize memlock as)" "$want" "$(rlimits nsbox)"
check "rlimits as the user" "$want" "$(rlimits as_user nsbox)"
out=$(nsbox run --set limits.memory=32M -- "$(pwd)/tests/probe/nsbox-probe" alloc 200 2>&1 || echo "status $?")
check "over the memory limit: OOM-killed and said" "nsbox: the container hit its memory limit (limits.memory) and the kernel killed a process
status 137" "$out"
check "no nsbox scope or cgroup left" "" "$(settled 'systemctl list-units --all --no-legend "nsbox-*"; as_user env XDG_RUNTIME_DIR="/run/user/$UU" systemctl --user list-units --all --no-legend "nsbox-*"; find /sys/fs/cgroup -name "nsbox-*"')"

# --- an ephemeral root that grows past /run's size: its upper is on disk ---
run_kb=$(df -k --output=size /run | tail -1 | tr -d ' ')
mb=$((run_kb / 1024 + 100))
out=$(nsbox run --chroot=/srv/boot --ephemeral -- sh -c "dd if=/dev/zero of=/big bs=1M count=$mb status=none && du -m /big" 2>&1)
check "an ephemeral root takes $mb MB, more than /run's $((run_kb / 1024)) MB" "$mb /big" "$(echo "$out" | tr '\t' ' ')"
check "... and leaves nothing in /run/nsbox or the scratch directory" "" "$(find /run/nsbox /var/cache/nsbox/scratch -mindepth 1 2>/dev/null)"

# --- systemd booted in nsbox, registered with systemd-machined ---
# boot NAME: start it; wait_boot NAME: is-system-running --wait inside
boot() {
	nsbox run --chroot=/srv/boot --ephemeral --name="$1" --tty -- /lib/systemd/systemd \
		</dev/null >"/tmp/$1.out" 2>&1 &
}
wait_boot() {
	i=0
	while :; do
		st=$(timeout 300 nsbox exec "$1" -- systemctl is-system-running --wait 2>&1)
		case $st in *"Failed to connect"* | *"no running container"* | offline) ;; *) break ;; esac
		i=$((i + 1))
		[ $i -lt 600 ] || break
		sleep 0.2
	done
	echo "$st"
}
t=$(date +%s)
boot boot1
b1=$!
check "systemd in nsbox on a cgroup-v2-only host: is-system-running" running "$(wait_boot boot1)"
echo "# booted in $(secs "$t") s"
check "... its init in its own delegated subtree" "0::/init.scope" "$(nsbox exec boot1 -- cat /proc/1/cgroup)"
check "machinectl list: boot1, a container of nsbox's" "boot1 container nsbox" \
	"$(machinectl list --no-legend | awk '$1 == "boot1" {print $1, $2, $3}')"
check "machinectl show: its unit is the run's scope" "nsbox-ID.scope" \
	"$(machinectl show boot1 -p Unit --value | sed -E 's/^nsbox-[0-9a-f]+\.scope$/nsbox-ID.scope/')"
case $(machinectl status boot1 2>&1) in
*"Leader:"*"Unit: nsbox-"*) ok "machinectl status: leader and unit" ;;
*) not_ok "machinectl status: leader and unit" "$(machinectl status boot1 2>&1 | head -12)" ;;
esac
check "machinectl shell" "hello from boot1" \
	"$(timeout 120 machinectl shell boot1 /bin/echo hello from boot1 2>&1 </dev/null | tr -d '\r' | grep hello)"
# machinectl login, driven through a pty: the container's login prompt
(sleep 40) | timeout 60 script -qfc 'machinectl login boot1' /tmp/login.log >/dev/null 2>&1
case $(tr -d '\r' </tmp/login.log) in
*"boot login:"*) ok "machinectl login: the container's login prompt" ;;
*) not_ok "machinectl login: the container's login prompt" "$(tr -d '\r' </tmp/login.log | tail -5)" ;;
esac
machinectl poweroff boot1
timeout 120 sh -c "while kill -0 $b1 2>/dev/null; do sleep 0.5; done"
wait $b1
check "machinectl poweroff: the container ends, nsbox returns 0" 0 "$?"
boot boot2
b2=$!
check "a second boot" running "$(wait_boot boot2)"
machinectl terminate boot2
timeout 120 sh -c "while kill -0 $b2 2>/dev/null; do sleep 0.5; done"
wait $b2
echo "# after terminate nsbox returned $?"
check "after poweroff and terminate: no machine, scope or cgroup left" "" \
	"$(settled 'machinectl list --no-legend; systemctl list-units --all --no-legend "nsbox-*"; find /sys/fs/cgroup -name "nsbox-*"')"

if [ "$SET" = ci ]; then
	echo "# set ci: the sid-build-style apt install, autopkgtest on redis and the integration test files (make check-vm runs them) are left out"
	echo "1..$n"
	exit 0
fi

# --- a sid-build-style run: a tarball root, ephemeral, that installs a few
# hundred MB with apt while /run is a small tmpfs ---
# The packages: those this image was made with (mkimage.sh keeps apt's
# cache), as a local repository; the root: /srv/boot as a tarball.
t=$(date +%s)
run_size=$(findmnt -no OPTIONS /run | tr ',' '\n' | sed -n 's/^size=//p')
R=/var/tmp/sidlike
mkdir -p "$R"
tar --numeric-owner -C /srv/boot -cf "$R/root.tar" .
(cd /var/cache/apt/archives && apt-ftparchive packages . >Packages 2>/dev/null)
printf '[root]\ntarball = %s\nephemeral = yes\n' "$R/root.tar" >"$R/sidlike.conf"
mount -o remount,size=64M /run
out=$(nsbox run --profile="$R/sidlike.conf" -m bind-ro:/var/cache/apt/archives:/debs --setenv=DEBIAN_FRONTEND=noninteractive -- sh -c '
	set -e
	rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
	echo "deb [trusted=yes] file:/debs ./" >/etc/apt/sources.list.d/local.list
	apt-get -qq update
	before=$(du -sxm / | cut -f1)
	apt-get -qq -y --no-install-recommends install gcc make perl libc6-dev >/dev/null
	echo "grew $(($(du -sxm / | cut -f1) - before)) MB"
	echo "int main(void) { return 42; }" >/tmp/a.c && gcc -o /tmp/a /tmp/a.c && { /tmp/a || echo "gcc works: $?"; }' 2>&1)
mount -o remount,size="$run_size" /run
grew=$(echo "$out" | sed -n 's/^grew \([0-9]*\) MB$/\1/p')
check "a tarball root, ephemeral, with /run a 64 MB tmpfs: apt installs gcc make perl libc6-dev, and gcc works" \
	"big gcc works: 42" "$([ "${grew:-0}" -ge 150 ] && echo big) $(echo "$out" | grep '^gcc works')"
echo "# the root grew by ${grew:-?} MB in $(secs "$t") s; $(echo "$out" | grep -v -e '^grew' -e '^gcc works' | head -5 | tr '\n' ' ')"
check "... and leaves nothing in /run/nsbox or the scratch directory" "" "$(find /run/nsbox /var/cache/nsbox/scratch -mindepth 1 2>/dev/null)"
nsbox cache prune --all >/dev/null
rm -rf "$R" /var/cache/apt/archives/Packages

peer

# --- the integration tests, as root from this service ---
export CI=true
# t-boot's root with systemd: /srv/boot, as a tarball (no network here)
tar --numeric-owner -C /srv/boot -cf /var/tmp/boot.tar .
export NSBOX_TEST_BOOT_TAR=/var/tmp/boot.tar
for t in t-run t-limits t-process t-exec t-detach t-ps t-boot t-machined; do
	s=$(date +%s)
	prove --failures --comments "tests/integration/$t.sh" >/tmp/"$t".tap 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "integration $t as root from a service ($(secs "$s") s)"
	else not_ok "integration $t as root from a service" "$(grep -E '^(not ok|#|Bail)' /tmp/"$t".tap | head -30)"; fi
done

# --- as root from a login session (machinectl shell root@.host) ---
s=$(date +%s)
# (no terminal on the tests' stdin: the session's pty would give their
# containers one, and their output CRs)
sess root 'cd /root/nsbox && CI=true prove --failures --comments tests/integration/t-run.sh tests/integration/t-limits.sh </dev/null >/root/session.tap 2>&1; echo "rc $?"' >/tmp/session.out
rc=$(sed -n 's/^rc //p' /tmp/session.out)
if [ "$rc" = 0 ]; then ok "integration t-run, t-limits as root from a login session ($(secs "$s") s)"
else not_ok "integration t-run, t-limits as root from a login session" "$(cat /tmp/session.out)" "$(grep -E '^(not ok|#|Bail)' /root/session.tap | head -30)"; fi

# --- and as the user with lingering (nsbox run by a user, mode user) ---
for t in t-run t-exec; do
	s=$(date +%s)
	NSBOX_TEST_MODE=user NSBOX_TEST_USER=$U prove --failures --comments "tests/integration/$t.sh" >/tmp/"$t".user.tap 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "integration $t as a user with lingering ($(secs "$s") s)"
	else not_ok "integration $t as a user with lingering" "$(grep -E '^(not ok|#|Bail)' /tmp/"$t".user.tap | head -30)"; fi
done

echo "1..$n"

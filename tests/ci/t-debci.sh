#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# debci with the nsbox backend, end to end on this machine with Debian's
# own parts (issue 26): a RabbitMQ broker started here on loopback, two
# debci workers on the queue debci-tests-ARCH-nsbox, debci enqueue of
# real packages from the mirror, debci collector, and debci status
# showing pass. Then a worker is killed with SIGKILL in the middle of a
# test: its job goes back to the queue, the other worker runs it, and
# no container, mount, cgroup or process of the killed run is left.
#
# debci is run from a copy of its bin/ in the test's directory, with the
# backend installed there by make install-debci: debci finds backends
# only beside its own bin/, and /usr/share/debci is not the test's to
# change. Its configuration is a debci.conf of the test's
# (debci_config_dir). The testbed tarball is made by debci setup
# (create-testbed) in /var/cache/nsbox-test/debci, where debci's own
# 12-hour rule keeps it between runs.
# shellcheck disable=SC2016 # wait_until evaluates its argument
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
modes root "the workers run as root"
T0=$(date +%s)
SUITE=bookworm
PKGS="hello sed gzip"
KILLED=less # the job whose worker is killed
MIRROR=${MIRROR:-${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}}
for c in debci amqp-consume amqp-publish autopkgtest mmdebstrap /usr/lib/rabbitmq/bin/rabbitmq-server epmd; do
	command -v "$c" >/dev/null || { echo "Bail out! $c is missing (make deps: debci debci-worker debci-collector rabbitmq-server amqp-tools)"; exit 1; }
done
[ -e /usr/share/debci/bin/debci-collector ] || { echo "Bail out! debci-collector is missing (make deps)"; exit 1; }
chmod 755 "$W"
# servers: the directories of autopkgtest-virt-nsbox that this test made
others_at=$(ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null)
# shellcheck disable=SC2010 # the names are our own
servers() { ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null | grep -vxF -e "$others_at" -e ''; }
R=$W/rabbitmq D=$W/debci
mkdir -p "$R" "$D/backends" "$W/conf" "$W/data" "$W/tmp" "$W/lock"

# free_port: a TCP port nothing listens on, from the dynamic range
free_port() {
	while :; do
		_p=$(shuf -i 20000-32000 -n 1)
		ss -Htln "sport = :$_p" | grep -q . || { echo "$_p"; return; }
	done
}
AMQP_PORT=$(free_port) DIST_PORT=$(free_port) EPMD_PORT=$(free_port)

rabbit_pid='' collector='' w1='' w2=''
stop_all() {
	for p in $w1 $w2 $collector; do kill -TERM "$p" 2>/dev/null; done
	for p in $w1 $w2 $collector; do wait "$p" 2>/dev/null; done
	if [ -n "$rabbit_pid" ]; then
		kill -TERM "$rabbit_pid" 2>/dev/null
		_i=0
		while kill -0 "$rabbit_pid" 2>/dev/null && [ "$_i" -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -KILL "$rabbit_pid" 2>/dev/null
		wait "$rabbit_pid" 2>/dev/null
	fi
	ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1
	rabbit_pid='' collector='' w1='' w2=''
}
trap 'stop_all; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

# --- the broker, on loopback only, all of it the test's own ---
echo '[].' >"$R/enabled_plugins"
: >"$R/env.conf"
(
	export HOME="$R" RABBITMQ_CONF_ENV_FILE="$R/env.conf" RABBITMQ_CONFIG_FILE="$R/rabbitmq" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$R/enabled_plugins" RABBITMQ_MNESIA_BASE="$R/mnesia" \
		RABBITMQ_LOG_BASE="$R/log" RABBITMQ_PID_FILE="$R/pid" RABBITMQ_NODENAME="nsbox-debci-$$@localhost" \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$DIST_PORT" \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
		ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD_PORT"
	cd "$R" && exec /usr/lib/rabbitmq/bin/rabbitmq-server
) >"$R/out" 2>&1 &
rabbit_pid=$!
_i=0
until ss -Htln "sport = :$AMQP_PORT" | grep -q .; do
	_i=$((_i + 1))
	if [ "$_i" -gt 300 ] || ! kill -0 "$rabbit_pid" 2>/dev/null; then
		tail -5 "$R/out" | sed 's/^/# /'; echo "Bail out! rabbitmq-server did not start"; exit 1
	fi
	sleep 0.1
done
ok "rabbitmq-server listens on 127.0.0.1:$AMQP_PORT"
# what the broker and its epmd listen on: loopback and nothing else
bad=$(ss -Htlnp | grep -E "beam|epmd" | awk '{print $4}' | grep -vE '^(127\.0\.0\.1|\[::1\]):' | paste -sd' ' -)
check "the broker's ports (AMQP, distribution, epmd) are on loopback only" "" "$bad"

# --- debci: its bin/ copied, our backend installed beside it ---
cp -a /usr/share/debci/bin "$D/bin"
ln -s /usr/share/debci/lib "$D/lib"
run_ok "make install-debci into the test's debci tree" \
	make -s -C "$TOP" install-debci DESTDIR= DEBCIDIR="$D" MANDIR="$W/man"
check "installed: create-testbed and test-package, executable" "yes yes" \
	"$([ -x "$D/backends/nsbox/create-testbed" ] && echo yes) $([ -x "$D/backends/nsbox/test-package" ] && echo yes)"
BASES=/var/cache/nsbox-test/debci
mkdir -p "$BASES" && chmod 755 /var/cache/nsbox-test "$BASES"
cat >"$W/conf/debci.conf" <<EOF
debci_backend=nsbox
debci_suite=$SUITE
debci_data_basedir=$W/data
debci_amqp_server=amqp://guest:guest@127.0.0.1:$AMQP_PORT
debci_mirror=$MIRROR
debci_lock_dir=$BASES
debci_nsbox_dir=$BASES
EOF
export debci_config_dir="$W/conf" TMPDIR="$W/tmp" PATH="$TOP/helpers:$PATH" NSBOX
DEBCI=$D/bin/debci
# (as the package's configure does for its own data directory)
run_ok "debci migrate: the database" "$DEBCI" migrate --quiet
TAR=$BASES/$SUITE-$(dpkg --print-architecture).tar.zst
force=
[ -s "$TAR" ] || force=--force # debci's timestamp alone would skip it
t=$(date +%s)
if ! "$DEBCI" setup --backend=nsbox $force >"$W/setup.log" 2>&1; then
	tail -5 "$W/setup.log" | sed 's/^/# /'; echo "Bail out! debci setup (create-testbed) failed"; exit 1
fi
check "debci setup: the testbed tarball exists ($(($(date +%s) - t)) s)" "yes" "$([ -s "$TAR" ] && echo yes)"

# --- two workers, then the jobs ---
"$DEBCI" worker --backend=nsbox >"$W/w1.log" 2>&1 &
w1=$!
"$DEBCI" worker --backend=nsbox >"$W/w2.log" 2>&1 &
w2=$!
# both consume: each has its connection to the broker
consumers() { ss -Htnp state established "dport = :$AMQP_PORT" | grep -c amqp-consume; }
if wait_until '[ "$(consumers)" -ge 2 ]'; then ok "two debci workers consume debci-tests-$(dpkg --print-architecture)-nsbox"
else not_ok "two debci workers consume" "$(cat "$W/w1.log" "$W/w2.log")"; fi
# shellcheck disable=SC2086 # the package names
run_ok "debci enqueue $PKGS" "$DEBCI" enqueue $PKGS
"$DEBCI" collector >"$W/collector.log" 2>&1 &
collector=$!
statuses() { for p in "$@"; do "$DEBCI" status "$p" 2>/dev/null; done | paste -sd' ' -; }
all_pass() {
	_want=$(for p in "$@"; do echo pass; done | paste -sd' ' -)
	_i=0
	while [ "$(statuses "$@")" != "$_want" ] && [ "$_i" -lt 120 ]; do
		sleep 2; _i=$((_i + 1))
	done
}
t=$(date +%s)
# shellcheck disable=SC2086
all_pass $PKGS
# shellcheck disable=SC2086
check "debci status: $PKGS pass ($(($(date +%s) - t)) s)" "pass pass pass" "$(statuses $PKGS)"
started() { grep -c " $SUITE/[a-z0-9]*/nsbox started" "$1"; }
check "both workers took jobs (jobs started by each: $(started "$W/w1.log") and $(started "$W/w2.log"))" "yes" \
	"$([ "$(started "$W/w1.log")" -ge 1 ] && [ "$(started "$W/w2.log")" -ge 1 ] && echo yes)"
check "three results collected" "3" "$(grep -c " $SUITE/[a-z0-9]* pass" "$W/collector.log")"
for p in $PKGS; do
	log=$(find "$W/data/autopkgtest/$SUITE" -path "*/$p/*" -name log.gz | head -1)
	check "$p: the log says the testbed was nsbox's" "yes" \
		"$([ -n "$log" ] && zgrep -q -e '-- nsbox --tarball=' "$log" && echo yes)"
done
[ "$failed" -eq 0 ] || { sed 's/^/# w1: /' "$W/w1.log"; sed 's/^/# w2: /' "$W/w2.log"; sed 's/^/# c: /' "$W/collector.log"; }

# --- a worker killed with SIGKILL in the middle of a test ---
run_ok "debci enqueue $KILLED" "$DEBCI" enqueue "$KILLED"
victim='' vlog=$W/none other=$W/none
if wait_until "grep -q '^$KILLED .* started' '$W/w1.log' '$W/w2.log'"; then
	if grep -q "^$KILLED .* started" "$W/w1.log"; then victim=$w1 vlog=$W/w1.log other=$W/w2.log
	else victim=$w2 vlog=$W/w2.log other=$W/w1.log; fi
fi
# mid-test: its testbed runs
container() { "$NSBOX" ps 2>/dev/null | awk '$1 ~ /^autopkgtest-/ {print $1}' | head -1; }
wait_until '[ -n "$(container)" ]' || wait_until '[ -n "$(container)" ]'
name=$(container)
if [ -n "$victim" ] && [ -n "$name" ]; then ok "$KILLED started, its testbed $name runs"
else not_ok "$KILLED started, its testbed runs" "worker: ${victim:-none}, container: ${name:-none}"; fi
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
[ "$victim" = "$w1" ] && w1= || w2=
t=$(date +%s)
all_pass "$KILLED"
check "the killed worker's job went back to the queue; the other worker ran it: $KILLED passes ($(($(date +%s) - t)) s)" \
	"pass 1" "$(statuses "$KILLED") $(grep -c "^$KILLED .* started" "$other")"
check "the killed run was stopped by test-package, which saw its worker go (its log says so)" "1" \
	"$(grep -c "^debci-backend-nsbox: the worker (pid $victim) is gone: stopping $KILLED" "$vlog")"
check "the killed run's testbed is gone" "" "$("$NSBOX" ps 2>/dev/null | awk -v n="$name" '$1 == n')"
check "the killed run reported nothing: one result for $KILLED" "1" "$(grep -c "$KILLED $SUITE/[a-z0-9]* " "$W/collector.log")"
check "no job directory of debci worker's left, no server directory of autopkgtest-virt-nsbox" "" \
	"$(find "$W/tmp" -mindepth 1 -maxdepth 1 -name 'debci-worker-*'; servers)"

stop_all
check "no process of the broker, debci or autopkgtest left" "" \
	"$(pgrep -f "nsbox-debci-$$@localhost|$W/debci/bin|amqp-consume --url amqp://guest:guest@127.0.0.1:$AMQP_PORT" | paste -sd' ' -)"
check "the broker's ports are closed" "" "$(ss -Htln | awk -v a=":$AMQP_PORT" -v d=":$DIST_PORT" -v e=":$EPMD_PORT" 'index($4, a) || index($4, d) || index($4, e)')"
audit_check "debci"
echo "# wall time: $(($(date +%s) - T0)) s"
trap - EXIT
finish

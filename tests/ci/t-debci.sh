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
# shellcheck source=tests/ci/debci.sh
. "$TOP/tests/ci/debci.sh"
modes root "the workers run as root"
T0=$(date +%s)
SUITE=bookworm
PKGS="hello sed gzip"
KILLED=less # the job whose worker is killed
MIRROR=${MIRROR:-${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}}
for c in debci amqp-consume amqp-publish autopkgtest mmdebstrap /usr/lib/rabbitmq/bin/rabbitmq-server epmd; do
	command -v "$c" >/dev/null || { echo "Bail out! $c is missing (make deps-ci: debci debci-worker debci-collector rabbitmq-server amqp-tools)"; exit 1; }
done
[ -e /usr/share/debci/bin/debci-collector ] || { echo "Bail out! debci-collector is missing (make deps-ci)"; exit 1; }
chmod 755 "$W"
# servers: the directories of autopkgtest-virt-nsbox that this test made
others_at=$(ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null)
# shellcheck disable=SC2010 # the names are our own
servers() { ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null | grep -vxF -e "$others_at" -e ''; }
R=$W/rabbitmq D=$W/debci
mkdir -p "$D/backends"

rabbit_pid='' collector='' w1='' w2=''
stop_all() {
	for p in $w1 $w2 $collector; do kill -TERM "$p" 2>/dev/null; done
	for p in $w1 $w2 $collector; do wait "$p" 2>/dev/null; done
	debci_broker_stop
	collector='' w1='' w2=''
}
trap 'stop_all; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

# --- the broker, on loopback only, all of it the test's own ---
debci_broker_start "$R" 2>"$W/broker.err" ||
	{ sed 's/^/# /' "$W/broker.err"; echo "Bail out! rabbitmq-server did not start"; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$AMQP_PORT"
# what the broker and its epmd listen on: loopback and nothing else
bad=$(ss -Htlnp | grep -E "beam|epmd" | awk '{print $4}' | grep -vE '^(127\.0\.0\.1|\[::1\]):' | paste -sd' ' -)
check "the broker's ports (AMQP, distribution, epmd) are on loopback only" "" "$bad"

# --- debci: its bin/ copied, our backend installed beside it ---
run_ok "make install-debci into the test's debci tree" debci_tree "$TOP" "$D"
check "installed: create-testbed and test-package, executable" "yes yes" \
	"$([ -x "$D/backends/nsbox/create-testbed" ] && echo yes) $([ -x "$D/backends/nsbox/test-package" ] && echo yes)"
BASES=/var/cache/nsbox-test/debci
debci_config "$W" "$SUITE" "$MIRROR"
echo debci_backend=nsbox >>"$W/conf/debci.conf"
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
# (appended to: test-package writes to a worker's log when the worker is gone)
"$DEBCI" worker --backend=nsbox >>"$W/w1.log" 2>&1 &
w1=$!
"$DEBCI" worker --backend=nsbox >>"$W/w2.log" 2>&1 &
w2=$!
# both consume: each has its connection to the broker
if wait_secs '[ "$(debci_consumers)" -ge 2 ]' 60; then ok "two debci workers consume debci-tests-$(dpkg --print-architecture)-nsbox"
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
if [ "$failed" -ne 0 ]; then
	sed 's/^/# w1: /' "$W/w1.log"
	sed 's/^/# w2: /' "$W/w2.log"
	sed 's/^/# c: /' "$W/collector.log"
	# why a job did not pass: the end of its autopkgtest log
	for p in $PKGS; do
		[ "$("$DEBCI" status "$p" 2>/dev/null)" != pass ] || continue
		log=$(find "$W/data/autopkgtest/$SUITE" -path "*/$p/*" -name log.gz | head -1)
		[ -z "$log" ] || zcat "$log" | tail -25 | sed "s/^/# $p: /"
	done
fi

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

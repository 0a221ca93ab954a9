#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# debci with the nsbox backend (issue 26): jobs per minute for a small
# package (hello's autopkgtest, bookworm) with one and with two workers on
# this machine, against the same jobs through a backend that runs
# autopkgtest-virt-unshare on the same tarball; the seconds a job takes
# with one worker (the jobs run one after the other) and the difference
# between the two backends: the per-job overhead of one over the other.
# Everything as tests/ci/t-debci.sh sets it up: a RabbitMQ broker of the
# benchmark's own on loopback, debci from a copy of its bin/, debci
# collector; a job is counted done when the collector has its result.
# Each case starts with one job that is not counted (nsbox's first run
# extracts the tarball into its cache, which later jobs share; unshare
# extracts it for every job). Reports; never fails on a number. Needs root,
# debci (make deps) and the mirror.
#
# NSBOX_BENCH_DEBCI_JOBS  jobs per case (default 6)
# NSBOX_BENCH_DEBCI_PKG   the package (default hello)
# NSBOX_BENCH_OUT         where debci.tsv goes (default tests/bench/out)
#
# autopkgtest-virt-unshare maps root to the caller's subordinate ids: the
# benchmark gives root a range in /etc/subuid and /etc/subgid when it has
# none (0x70000000, 65536 ids, as tests/integration/lib.sh uses) and puts
# both files back at the end.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
JOBS=${NSBOX_BENCH_DEBCI_JOBS:-6}
PKG=${NSBOX_BENCH_DEBCI_PKG:-hello}
SUITE=bookworm
MIRROR=${NSBOX_MIRROR:-http://deb.debian.org/debian}
BASES=/var/cache/nsbox-test/debci
[ "$(id -u)" -eq 0 ] || { echo "bench-debci: needs root" >&2; exit 1; }
for c in debci amqp-consume autopkgtest autopkgtest-virt-unshare mmdebstrap /usr/lib/rabbitmq/bin/rabbitmq-server; do
	command -v "$c" >/dev/null || { echo "bench-debci: $c is missing (make deps)" >&2; exit 1; }
done
# shellcheck source=tests/ci/debci.sh
. "$TOP/tests/ci/debci.sh"
W=$(mktemp -d /var/tmp/nsbox-bench-debci.XXXXXX)
chmod 755 "$W"
D=$W/debci
mkdir -p "$OUT" "$D/backends"
cp /etc/subuid "$W/subuid"; cp /etc/subgid "$W/subgid"
workers=''
stop_workers() {
	for p in $workers; do kill -TERM "$p" 2>/dev/null; done
	for p in $workers; do wait "$p" 2>/dev/null; done
	workers=''
}
collector=''
cleanup() {
	stop_workers
	[ -z "$collector" ] || { kill -TERM "$collector" 2>/dev/null; wait "$collector" 2>/dev/null; }
	debci_broker_stop
	cp "$W/subuid" /etc/subuid; cp "$W/subgid" /etc/subgid
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

debci_broker_start "$W/rabbitmq" || { echo "bench-debci: rabbitmq-server did not start" >&2; exit 1; }
debci_tree "$TOP" "$D" || { echo "bench-debci: make install-debci failed" >&2; exit 1; }
debci_config "$W" "$SUITE" "$MIRROR"
DEBCI=$D/bin/debci
"$DEBCI" migrate --quiet >/dev/null || { echo "bench-debci: debci migrate failed" >&2; exit 1; }
TAR=$BASES/$SUITE-$(dpkg --print-architecture).tar.zst
force=''
[ -s "$TAR" ] || force=--force
"$DEBCI" setup --backend=nsbox $force >"$W/setup.log" 2>&1 || { tail -5 "$W/setup.log" >&2; exit 1; }

# the peer: debci's contract, autopkgtest-virt-unshare on the same tarball,
# with the same autopkgtest options as the nsbox backend's defaults
mkdir -p "$D/backends/unshare"
# shellcheck disable=SC2016 # "$@" is the backend's
printf '#!/bin/sh\nexec debci-autopkgtest --apt-upgrade "$@" -- unshare --tarball %s\n' "$TAR" \
	>"$D/backends/unshare/test-package"
printf '#!/bin/sh\n' >"$D/backends/unshare/create-testbed"
chmod 755 "$D/backends/unshare/test-package" "$D/backends/unshare/create-testbed"
grep -q '^root:' /etc/subuid || echo "root:1879048192:65536" >>/etc/subuid
grep -q '^root:' /etc/subgid || echo "root:1879048192:65536" >>/etc/subgid

"$DEBCI" collector >"$W/collector.log" 2>&1 &
collector=$!
done_jobs() { grep -c " $SUITE/[a-z0-9]* [a-z]* " "$W/collector.log"; }
now() { date +%s.%N; }

# run BACKEND WORKERS: N jobs of PKG, after one uncounted; a line
# "BACKEND WORKERS SECONDS" in results, the seconds from the enqueue to the
# last result, or - when they did not finish in time (10 minutes) or did
# not all pass
run() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		"$DEBCI" worker --backend="$1" >>"$W/worker-$1.log" 2>&1 &
		workers="$workers $!"
		_i=$((_i + 1))
	done
	_i=0
	while [ "$(debci_consumers)" -lt "$2" ] && [ "$_i" -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
	for _n in 1 $JOBS; do
		_before=$(done_jobs)
		_pkgs=$(yes "$PKG" | head -n "$_n" | paste -sd' ' -)
		_t0=$(now)
		# shellcheck disable=SC2086 # the package, N times
		"$DEBCI" enqueue --backend="$1" $_pkgs >/dev/null 2>&1
		_i=0
		while [ "$(done_jobs)" -lt $((_before + _n)) ] && [ "$_i" -lt 6000 ]; do sleep 0.1; _i=$((_i + 1)); done
		_t1=$(now)
	done
	stop_workers
	_pass=$(tail -n "$JOBS" "$W/collector.log" | grep -c " pass ")
	if [ "$(done_jobs)" -ge $((_before + JOBS)) ] && [ "$_pass" -eq "$JOBS" ]; then
		_s=$(echo "$_t0 $_t1" | awk '{printf "%.1f", $2 - $1}')
		echo "bench-debci: $1, $2 worker(s): $_s s for $JOBS jobs" >&2
	else
		_s=-
		echo "bench-debci: $1, $2 worker(s): $_pass of $JOBS jobs passed" >&2
		tail -5 "$W/worker-$1.log" >&2
	fi
	echo "$1 $2 $_s" >>"$W/results"
}

: >"$W/results"
for c in "nsbox 1" "nsbox 2" "unshare 1" "unshare 2"; do
	# shellcheck disable=SC2086 # backend and workers
	run $c
done

tsv="$OUT/debci.tsv"
awk -v tsv="$tsv" -v jobs="$JOBS" -v pkg="$PKG" '
{ secs[$1 "_" $2 "w"] = $3 }
END {
	print "case\tjob_s\tjobs_per_min" > tsv
	printf "%s, %d jobs a case\n%-14s %10s %12s\n", pkg, jobs, "case", "s per job", "jobs/min"
	split("nsbox_1w nsbox_2w unshare_1w unshare_2w", order, " ")
	for (i = 1; i <= 4; i++) {
		c = order[i]
		if (secs[c] == "-" || secs[c] == "") { printf "%-14s %10s %12s\n", c, "-", "-"; continue }
		per[c] = secs[c] / jobs
		printf "%-14s %10.2f %12.2f\n", c, per[c], 60 / per[c]
		printf "%s\t%.2f\t%.2f\n", c, per[c], 60 / per[c] > tsv
	}
	if (per["nsbox_1w"] && per["unshare_1w"])
		printf "\nper-job overhead, nsbox - unshare (one worker): %+.2f s (%.2fx)\n",
			per["nsbox_1w"] - per["unshare_1w"], per["nsbox_1w"] / per["unshare_1w"]
	if (per["nsbox_1w"] && per["nsbox_2w"])
		printf "two workers / one, nsbox: %.2fx the jobs per minute\n", per["nsbox_1w"] / per["nsbox_2w"]
}' "$W/results"
echo "(written to $tsv)"

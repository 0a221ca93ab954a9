#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# autopkgtest's testbeds: open, revert, and a whole autopkgtest run of a
# small package (dash's smoke test, its source from the mirror, given as a
# .dsc, no build), through autopkgtest-virt-nsbox, autopkgtest-virt-unshare
# (which unpacks the tarball at every open and revert) on the same tarball,
# and autopkgtest-virt-schroot on the same root unpacked (a directory
# schroot with union-type=overlay, in a file of /etc/schroot/chroot.d of
# the benchmark's own, and a profile of its own: sbuild's, but copying no
# user database from the host, as debci's profile does; both removed at
# the end). The
# root is the bookworm testbed of tests/peer/t-autopkgtest-suite.sh;
# revert also on a root of about three times its size, for nsbox and
# unshare: nsbox's revert (a new upper on the cached tree) should be flat
# in the root's size, and under 50 ms. Open and revert are timed by a
# driver that speaks the servers' protocol (a line out, its reply in,
# CLOCK_MONOTONIC around both); a round opens each server once and
# reverts it NSBOX_BENCH_REVERTS times, the servers' order rotated each
# round. Reports; never fails on a number. Needs root.
#
# NSBOX_BENCH_ROUNDS   rounds (default 5); whole runs: one a round
# NSBOX_BENCH_REVERTS  reverts per open (default 4)
# NSBOX_BENCH_AP_TARBALL the root (default the test's, made if missing)
# NSBOX_BENCH_OUT      where the TSV goes (default tests/bench/out)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NSBOX="$TOP/nsbox"
ROUNDS=${NSBOX_BENCH_ROUNDS:-5}
REVERTS=${NSBOX_BENCH_REVERTS:-4}
OUT=${NSBOX_BENCH_OUT:-$TOP/tests/bench/out}
MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
TAR=${NSBOX_BENCH_AP_TARBALL:-/var/cache/nsbox-test/bookworm-autopkgtest.tar.zst}
BIG=/var/tmp/nsbox-bench-ap-big.tar.zst
[ "$(id -u)" -eq 0 ] || { echo "bench-autopkgtest: needs root" >&2; exit 1; }
for t in autopkgtest autopkgtest-virt-unshare autopkgtest-virt-schroot schroot mmdebstrap; do
	command -v "$t" >/dev/null || { echo "bench-autopkgtest: no $t (make bench-deps)" >&2; exit 1; }
done
if [ ! -s "$TAR" ]; then
	echo "bench-autopkgtest: making $TAR with mmdebstrap (once)" >&2
	mkdir -p "${TAR%/*}"
	mmdebstrap --variant=buildd --skip=cleanup/apt/lists bookworm "$TAR.new.tar.zst" \
		"deb $MIRROR bookworm main" "deb-src $MIRROR bookworm main" >/dev/null 2>&1
	mv "$TAR.new.tar.zst" "$TAR"
fi
W=$(mktemp -d /var/tmp/nsbox-bench-ap.XXXXXX)
SCHROOT=nsbox-bench-ap-$$
CONF=/etc/schroot/chroot.d/$SCHROOT
cleanup() {
	# the benchmark's own sessions only (autopkgtest-virt-schroot ends
	# them at quit; a server killed midway does not)
	for s in $(schroot --list --all-sessions 2>/dev/null | grep -F "$SCHROOT"); do
		schroot --end-session --chroot="$s" >/dev/null 2>&1 || :
	done
	rm -f "$CONF"
	rm -rf "/etc/schroot/$SCHROOT"
	if [ -s "$W/subuid" ]; then cp "$W/subuid" /etc/subuid; cp "$W/subgid" /etc/subgid; fi
	NSBOX_CACHE_DIR="$W/cache" "$NSBOX" cache prune --all >/dev/null 2>&1 || :
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$OUT" "$W/bin"
# autopkgtest-virt-unshare maps root's subordinate ids (unshare
# --map-auto, which takes the first line of /etc/subuid): root gets a
# range for the benchmark, first, and the files are put back at the end.
if ! grep -q '^root:' /etc/subuid || ! grep -q '^root:' /etc/subgid; then
	cp /etc/subuid "$W/subuid"; cp /etc/subgid "$W/subgid"
	for f in subuid subgid; do
		{ echo "root:1500000000:65536"; grep -v '^root:' "$W/$f"; } >"/etc/$f"
	done
fi
ln -s "$TOP/helpers/autopkgtest-virt-nsbox" "$W/bin/"
export PATH="$W/bin:$PATH" NSBOX NSBOX_CACHE_DIR="$W/cache"

# The bigger root: the same, and two more copies of /usr (once).
if [ ! -s "$BIG" ]; then
	mkdir "$W/big"
	tar --zstd -xpf "$TAR" -C "$W/big" --numeric-owner
	for i in 1 2; do cp -a "$W/big/usr" "$W/big/usr-copy$i"; done
	tar --zstd -cpf "$BIG.new" -C "$W/big" --numeric-owner . && mv "$BIG.new" "$BIG"
	rm -rf "$W/big"
fi
# The schroot: the same root, unpacked.
mkdir "$W/sroot"
tar --zstd -xpf "$TAR" -C "$W/sroot" --numeric-owner
mkdir -p /var/lib/sbuild/build
# The host's passwd and shadow in the testbed (sbuild's profile copies
# them) make autopkgtest's su to its test user fail ("Authentication
# failure"); debci's profile copies none, and nor does this one.
cp -r /etc/schroot/sbuild "/etc/schroot/$SCHROOT"
: >"/etc/schroot/$SCHROOT/nssdatabases"
printf '[%s]\ntype=directory\ndirectory=%s\nunion-type=overlay\nprofile=%s\nusers=root\nroot-users=root\n' \
	"$SCHROOT" "$W/sroot" "$SCHROOT" >"$CONF"

# dash's source, for the whole runs
mkdir "$W/src"
"$NSBOX" run --set root.tarball="$TAR" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/src":/src --chdir=/src -- apt-get -q source --download-only dash >/dev/null 2>&1
DSC=$(ls "$W"/src/dash_*.dsc)

cat >"$W/drive.py" <<'EOF'
# drive ROUNDS REVERTS NAME ARGV... [-- NAME ARGV...]...: per round and
# server, start it, open once, revert REVERTS times, quit; the servers'
# order rotated each round. Lines "open_NAME US" and "revert_NAME US".
import subprocess, sys, tempfile, time
rounds, reverts = int(sys.argv[1]), int(sys.argv[2])
servers, cur = [], []
for a in sys.argv[3:] + ['--']:
    if a == '--':
        servers.append(cur)
        cur = []
    else:
        cur.append(a)


def say(p, line):
    t = time.monotonic()
    p.stdin.write(line + '\n')
    p.stdin.flush()
    reply = p.stdout.readline()
    if not reply.startswith('ok'):
        p.err.seek(0)
        sys.exit('%s: %s: %r; its stderr ends: %s' % (
            p.args[0], line, reply, ' | '.join(p.err.read().splitlines()[-8:])))
    return int((time.monotonic() - t) * 1e6)


for r in range(rounds):
    order = servers[r % len(servers):] + servers[:r % len(servers)]
    for name, *argv in order:
        err = tempfile.TemporaryFile('w+')
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=err, text=True)
        p.err = err
        p.stdout.readline()
        print('open_%s %d' % (name, say(p, 'open')), flush=True)
        for i in range(reverts):
            print('revert_%s %d' % (name, say(p, 'revert')), flush=True)
        p.stdin.write('quit\n')  # no reply: the server exits
        p.stdin.close()
        p.wait()
EOF
# nsbox's first open unpacks the tarballs into its cache: not counted
python3 "$W/drive.py" 1 0 warm autopkgtest-virt-nsbox -t "$TAR" -- warm autopkgtest-virt-nsbox -t "$BIG" >/dev/null
python3 "$W/drive.py" "$ROUNDS" "$REVERTS" \
	nsbox autopkgtest-virt-nsbox -t "$TAR" -- \
	unshare autopkgtest-virt-unshare -t "$TAR" -- \
	schroot autopkgtest-virt-schroot "$SCHROOT" -- \
	nsbox_big autopkgtest-virt-nsbox -t "$BIG" -- \
	unshare_big autopkgtest-virt-unshare -t "$BIG" >"$W/times"

# Whole runs: autopkgtest of dash's smoke test, no build, one per server
# a round, rotated.
run_one() {
	name=$1; shift
	a=$(date +%s%N)
	if autopkgtest -B --test-name=smoke "$DSC" -- "$@" >"$W/run.log" 2>&1; then
		echo "run_$name $((($(date +%s%N) - a) / 1000))" >>"$W/times"
	else
		echo "bench-autopkgtest: $name: autopkgtest failed: $(tail -1 "$W/run.log")" >&2
	fi
}
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	for k in 0 1 2; do
		case $(((r + k) % 3)) in
		0) run_one nsbox nsbox -t "$TAR" ;;
		1) run_one unshare unshare -t "$TAR" ;;
		2) run_one schroot schroot "$SCHROOT" ;;
		esac
	done
	r=$((r + 1))
done

size() { zstd -dc "$1" | wc -c | awk '{printf "%d MB", $1 / 1048576}'; }
echo "the root: $(size "$TAR"); the bigger root: $(size "$BIG")"
tsv="$OUT/autopkgtest.tsv"
cat >"$W/ratios.awk" <<'EOF'
# q A B: A / B, or n/a when either is missing
function q(a, b, f) { return (a in m) && (b in m) && m[b] > 0 ? sprintf(f, m[a] / m[b]) : "n/a" }
END {
	table()
	printf "\nrevert, nsbox: %.1f ms (goal: under 50); bigger root / root: %s\n", m["revert_nsbox"] / 1000, q("revert_nsbox_big", "revert_nsbox", "%.2f")
	printf "revert, nsbox / unshare: %s, / schroot: %s\n", q("revert_nsbox", "revert_unshare", "%.3f"), q("revert_nsbox", "revert_schroot", "%.2f")
	printf "open, nsbox / unshare: %s, / schroot: %s\n", q("open_nsbox", "open_unshare", "%.3f"), q("open_nsbox", "open_schroot", "%.2f")
	printf "whole run, nsbox / unshare: %s, / schroot: %s\n", q("run_nsbox", "run_unshare", "%.2f"), q("run_nsbox", "run_schroot", "%.2f")
}
EOF
awk -v tsv="$tsv" -f "$TOP/tests/bench/table.awk" -f "$W/ratios.awk" "$W/times"
echo "(written to $tsv)"

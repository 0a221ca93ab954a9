#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# autopkgtest-virt-nsbox against autopkgtest's own test suite and real
# packages (issue 25). The suite is tests/autopkgtest of bookworm's
# autopkgtest source, fetched from the mirror at test time (apt-get source
# in a container on the testbed's root) and never kept: the test writes a
# runner class of its own (as the suite has one per server: UnshareRunner,
# PodmanRunner...) whose server is `nsbox -t TARBALL`, runs every test the
# class inherits against the installed autopkgtest, and reports each as a
# TAP line: a pass, or a skip with the suite's own reason. Then autopkgtest
# on real packages of the mirror's bookworm, each test named: cron's
# check-listings-protection (needs-root, breaks-testbed: it adds a user
# and a crontab), redis's 0001-redis-cli
# (needs-root; `service redis-server restart` leaves the daemon running
# when the test returns) and tzdata's debconf (needs-root), the last also
# through the server run by an ordinary user with subordinate ids. The
# testbed is a bookworm buildd root with its apt lists kept and a deb-src
# line (the suite expects both, as its own debian/tests/unshare makes it)
# and sudo (test_can_sudo expects it of a container image, as
# autopkgtest-build-podman and -docker make them), made once by mmdebstrap in /var/cache/nsbox-test. Only apt and mmdebstrap
# talk to the mirror.
# NSBOX_SUITE_TESTS: only these of the suite's tests (names, spaces).
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

MIRROR=${NSBOX_TEST_MIRROR:-http://deb.debian.org/debian}
for t in mmdebstrap setpriv newuidmap autopkgtest dpkg-buildpackage dh; do
	command -v "$t" >/dev/null || { echo "Bail out! $t is missing (make deps)"; exit 1; }
done
[ -r /usr/share/autopkgtest/lib/VirtSubproc.py ] || { echo "Bail out! autopkgtest is not installed (make deps)"; exit 1; }
t0=$(date +%s)

# The testbed: bookworm's buildd variant, apt lists and a deb-src line kept.
TB=/var/cache/nsbox-test/bookworm-autopkgtest.tar.zst
if [ ! -s "$TB" ]; then
	mkdir -p /var/cache/nsbox-test && chmod 755 /var/cache/nsbox-test
	if ! mmdebstrap --variant=buildd --include=sudo --skip=cleanup/apt/lists bookworm "$TB.new.tar.zst" \
		"deb $MIRROR bookworm main" "deb-src $MIRROR bookworm main" >"$W/mmdebstrap.log" 2>&1; then
		rm -f "$TB.new.tar.zst"; echo "Bail out! mmdebstrap bookworm: $(tail -1 "$W/mmdebstrap.log")"; exit 1
	fi
	mv "$TB.new.tar.zst" "$TB"
fi

# What an installation holds, where the test user can reach it too.
chmod 755 "$W"
mkdir -m 755 "$W/bin"
cp "$NSBOX_BIN" "$W/bin/nsbox"
cp "$TOP/helpers/autopkgtest-virt-nsbox" "$W/bin/"
chmod -R a+rX "$W/bin"
PATH="$W/bin:$PATH"
export NSBOX="$W/bin/nsbox" NSBOX_CACHE_DIR="$W/cache" PATH

# --- the suite: bookworm's autopkgtest source, from the mirror ---
mkdir -m 755 "$W/src"
"$NSBOX" run --set root.tarball="$TB" --set namespaces.net=no -m bind-ro:/etc/resolv.conf:/etc/resolv.conf \
	-m bind:"$W/src":/build/src --chdir=/build/src -- \
	sh -c 'apt-get -q source autopkgtest >/dev/null 2>&1 || echo "no source of autopkgtest"
	mkdir t && cd t && apt-get -q source --download-only tap.py >/dev/null 2>&1 || echo no >../tappy' >"$W/fetch.out" 2>&1
# test_apt_source fetches tap.py's source in the testbed: a mirror that
# lacks it (a partial one) cannot pass it
[ ! -e "$W/src/tappy" ] || export NSBOX_SUITE_NO_TAPPY=1
SUITE=$(find "$W/src" -mindepth 3 -maxdepth 3 -path '*/tests/autopkgtest' -type f | head -1)
check "bookworm's autopkgtest source from the mirror, with its tests/autopkgtest" "yes" \
	"$(if [ -n "$SUITE" ]; then echo yes; else cat "$W/fetch.out"; fi)"
ver=$(dpkg-query -W -f='${Version}' autopkgtest)
check "the installed autopkgtest is the source's version" "yes" \
	"$(case $SUITE in */autopkgtest-"$ver"/tests/autopkgtest) echo yes;; *) echo "$ver, $SUITE";; esac)"

# The runner class: the suite's tests for a container server that can
# revert the whole system, fail in the usual ways and cannot reboot;
# each result one line: PASS NAME, SKIP NAME REASON, FAIL NAME and the
# reason's last lines.
cat >"$W/nsbox_runner.py" <<'EOF'
import importlib.machinery
import importlib.util
import os
import sys
import time
import unittest

path, tarball = sys.argv[1], sys.argv[2]
only = sys.argv[3:]
loader = importlib.machinery.SourceFileLoader('adtsuite', path)
adt = importlib.util.module_from_spec(
    importlib.util.spec_from_loader('adtsuite', loader))
loader.exec_module(adt)


class NsboxRunner(adt.AdtTestCase, adt.DebTestsVirtContainer,
                  adt.DebTestsFailureModes, adt.DebTestsCannotReboot):
    def __init__(self, *args, **kwargs):
        super().__init__(['nsbox', '-t', tarball], *args, **kwargs)

    @property
    def has_isolation_container(self):
        # the server does not announce isolation-container (no systemd)
        return False

    if os.environ.get('NSBOX_SUITE_NO_TAPPY'):
        @unittest.skip('the mirror does not serve tap.py\'s source, '
                       'which this test fetches')
        def test_apt_source(self):
            pass


class Lines(unittest.TestResult):
    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()

    def say(self, what, test, rest=''):
        print('%s %s %.0f%s' % (what, test.id().split('.')[-1],
                                time.monotonic() - self.t0, rest), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.say('PASS', test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.say('SKIP', test, ' ' + ' '.join(reason.split()))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.say('PASS', test, ' (an expected failure)')

    def bad(self, test, err):
        self.say('FAIL', test)
        for line in self._exc_info_to_string(err, test).splitlines()[-20:]:
            print('# ' + line, flush=True)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.say('FAIL', test, ' (an unexpected success)')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.bad(test, err)


names = unittest.TestLoader().getTestCaseNames(NsboxRunner)
if only:
    names = [n for n in names if n in only]
print('TESTS %d' % len(names), flush=True)
unittest.TestSuite(NsboxRunner(n) for n in names).run(Lines())
EOF
ts=$(date +%s)
# as debian/tests/autopkgtest runs it: the installed autopkgtest, from
# the source tree; its workdirs in /tmp, its HOME one of them
# shellcheck disable=SC2086 # a list of names
(cd "${SUITE%/tests/autopkgtest}" && AUTOPKGTEST_TEST_INSTALLED=yes timeout 3600 \
	python3 "$W/nsbox_runner.py" "$SUITE" "$TB" ${NSBOX_SUITE_TESTS:-}) >"$W/suite.out" 2>"$W/suite.err"
echo "# the suite: $(($(date +%s) - ts)) s"
total=$(sed -n 's/^TESTS //p' "$W/suite.out")
ran=0
while IFS= read -r l; do
	# WHAT NAME SECONDS [REASON]
	r=${l#* } name=${l#* }; name=${name%% *}; r=${r#* }; secs=${r%% *}; why=${r#"$secs"}
	case $l in
	"PASS "*) ran=$((ran + 1)); ok "suite: $name ($secs s)$why" ;;
	"SKIP "*) ran=$((ran + 1)); n=$((n + 1)); echo "ok $n - suite: $name # SKIP${why}" ;;
	"FAIL "*) ran=$((ran + 1)); not_ok "suite: $name ($secs s)$why" ;;
	"# "*) echo "$l" ;;
	esac
done <"$W/suite.out"
check "the suite ran every test of the runner class" "${total:-none}" "$ran"
[ -n "$total" ] && [ "$total" -gt 40 ] || [ -n "${NSBOX_SUITE_TESTS:-}" ] ||
	not_ok "the runner class has the suite's tests" "$(tail -5 "$W/suite.err")"

# --- real packages: autopkgtest fetches their sources in the testbed ---
# pkg NAME TEST [AS]: autopkgtest NAME's TEST through the server; $out
pkg() {
	_o=$W/$1-$2${3:+-$3}
	mkdir -m 755 "$_o"
	[ -z "${3:-}" ] || chown "$3" "$_o"
	(cd "$_o" && ${3:+as_u} timeout 900 autopkgtest --test-name="$2" --output-dir="$_o/out" "$1" -- nsbox -t "$TB") \
		>"$_o.log" 2>&1
	rc=$?
	out=$(grep -E "^$2 +(PASS|FAIL|SKIP)" "$_o/out/summary" 2>/dev/null)
}
# dpkg's test-func-root is not one of them: it makes device nodes
# (mknod c 1 3, b 1 0), which no testbed root may do here without a device
# policy (autopkgtest-virt-nsbox(1), BUGS).
pkg cron check-listings-protection
check "cron's check-listings-protection (needs-root, breaks-testbed): passes" "0 PASS" \
	"$rc $(echo "$out" | awk '{print $2}')"
pkg redis 0001-redis-cli
# redis-server's init script runs `ulimit -n 65536`, and says so on stderr
# when it cannot: the testbed's root may not raise its hard limit of open
# files above the one nsbox gave it (the plan's 524288, or the caller's own
# where the caller lacks CAP_SYS_RESOURCE: root on the machine this was
# written on has a hard limit of 20000 and lacks it).
hn=$(sh -c 'ulimit -Hn') # dash's and bash's -H
capres=$(($(printf '%d' "0x$(sed -n 's/^CapEff:\t//p' /proc/self/status)") >> 24 & 1))
if [ "$rc $(echo "$out" | awk '{print $2}')" != "0 PASS" ] && [ "$capres" -eq 0 ] &&
	[ "$hn" != unlimited ] && [ "$hn" -lt 65536 ] &&
	[ "$(grep -cv '^/etc/init.d/redis-server: [0-9]*: ulimit: error setting limit (Operation not permitted)$' \
		"$W/redis-0001-redis-cli/out/0001-redis-cli-stderr")" -eq 0 ]; then
	n=$((n + 1))
	echo "ok $n - redis's 0001-redis-cli (needs-root; leaves redis-server running): passes # SKIP its only failure is the init script's ulimit -n 65536 on stderr: this host's hard limit is $hn and its root lacks CAP_SYS_RESOURCE"
else
	check "redis's 0001-redis-cli (needs-root; leaves redis-server running): passes" "0 PASS" \
		"$rc $(echo "$out" | awk '{print $2}')"
fi
check "... and redis-server answered it" "yes" \
	"$(grep -q '^redis_version:' "$W/redis-0001-redis-cli/out/0001-redis-cli-stdout" && echo yes)"
check "... and is gone" "" "$(pgrep -x redis-server)"
pkg tzdata debconf
check "tzdata's debconf (needs-root): passes" "0 PASS" "$rc $(echo "$out" | awk '{print $2}')"
"$NSBOX" cache prune --all >/dev/null
audit_check "the suite and the packages, as root"

test_user nsbox-adt 810000
U=nsbox-adt
NSBOX_TEST_USER=$U
as_u() {
	setpriv --reuid="$U" --regid="$U" --init-groups -- env -i HOME="$W/home" USER="$U" LOGNAME="$U" \
		PATH="$W/bin:/usr/bin:/bin:/usr/sbin:/sbin" LANG=C.UTF-8 NSBOX="$W/bin/nsbox" "$@"
}
audit_snapshot before
pkg tzdata debconf "$U"
check "tzdata's debconf through the server run by $U: passes" "0 PASS" "$rc $(echo "$out" | awk '{print $2}')"
as_u "$NSBOX" cache prune --all >/dev/null
audit_check "autopkgtest as $U"
for f in "$W"/*.log; do
	[ "$failed" -eq 0 ] || tail -3 "$f" | sed "s|^|# ${f#"$W"/}: |"
done

check "nothing the servers made is left in /var/tmp" "" \
	"$(find /var/tmp -maxdepth 1 -name 'autopkgtest-virt-nsbox.*' -newer "$W/bin/nsbox")"
restore
echo "# run time: $(($(date +%s) - t0)) s"
finish

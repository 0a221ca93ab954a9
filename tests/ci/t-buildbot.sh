#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# buildbot drives nsbox (issue 26, "CI jobs invoking named profiles"):
# Debian's buildbot and buildbot-worker, a master and two workers on
# 127.0.0.1, builders whose one step is `nsbox run --profile=bbtest -- ...`
# with bbtest a named profile found through NSBOX_PROFILE_PATH. Builds are
# triggered with `buildbot sendchange` (one branch per builder) and read
# from the master's sqlite database (raw logs). Checked: a build passes,
# and two builds at once run on both workers; a payload's exit 3 fails
# the step with exit code 3; a step past its maxTime is killed as buildbot
# kills (SIGKILL to the step's process group), and nothing of the run is
# left; stdout and stderr reach the step log as the payload wrote them.
# shellcheck disable=SC2016 # expanded by wait_until's eval
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

PY=/usr/bin/python3 # Debian's, where buildbot's modules are
for c in buildbot buildbot-worker; do
	if ! command -v "$c" >/dev/null || ! "$PY" -c 'import buildbot, buildbot_worker' 2>/dev/null; then
		rm -rf "$W"
		if [ "${CI:-}" = true ]; then
			echo "Bail out! $c is missing (make deps-ci: buildbot buildbot-worker)"; exit 1
		fi
		echo "1..0 # SKIP $c is missing (make deps-ci)"; exit 0
	fi
done
t0=$(date +%s)
M=$W/master

# Stop the daemons and remove the profile, whatever happened.
bb_stop() {
	for d in "$W/w1" "$W/w2" "$M"; do
		[ -f "$d/twistd.pid" ] || continue
		pid=$(cat "$d/twistd.pid")
		kill "$pid" 2>/dev/null
		wait_until "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
	done
}
trap 'bb_stop; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM

# A free port on 127.0.0.1: the master's PB port, for workers and sendchange.
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The named profile: root's, 0644, in a directory of the test's own. Each
# run has an upper on disk (ephemeral) and a cgroup (limits): what a killed
# run could leave.
mkdir -p "$W/profiles" "$W/gate"
cat >"$W/profiles/bbtest.conf" <<EOF
[profile]
description = buildbot's builds (t-buildbot)

[root]
directory = $ROOT
ephemeral = yes
hostname = bbtest

# where the test tells the pass builds to end (gate/go)
[mount]
bind-ro = $W/gate:/gate

[limits]
pids = 64
EOF

# The bytes payload: UTF-8, a tab, an empty line, a last line without \n.
cat >"$ROOT/bytes.sh" <<'EOF'
printf 'out: plain ASCII\n'
printf 'err: first\n' >&2
printf 'out: UTF-8 \303\251t\303\251 \342\202\254 \360\237\220\247\n'
printf 'err: \316\261\316\262\316\263\tand a tab\n' >&2
printf '\n'
printf 'out: no newline at the end'
printf 'err: none here either' >&2
EOF
sh "$ROOT/bytes.sh" >"$W/bytes.out" 2>"$W/bytes.err"

buildbot create-master "$M" >"$W/create-master.log" 2>&1 ||
	{ tail -5 "$W/create-master.log"; echo "Bail out! buildbot create-master"; exit 1; }
cat >"$M/master.cfg" <<EOF
# written by tests/ci/t-buildbot.sh
from buildbot.plugins import changes, schedulers, steps, util, worker

NSBOX = ['$NSBOX_BIN', 'run', '--profile=bbtest', '--']
ENV = {'NSBOX_PROFILE_PATH': '$W/profiles'}

c = BuildmasterConfig = {}
c['title'] = 'nsbox t-buildbot'
c['buildbotURL'] = 'http://127.0.0.1/'
c['buildbotNetUsageData'] = None
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['protocols'] = {'pb': {'port': 'tcp:$PORT:interface=127.0.0.1'}}
c['workers'] = [worker.Worker('w1', 'pw1', max_builds=1),
                worker.Worker('w2', 'pw2', max_builds=1)]
c['change_source'] = [changes.PBChangeSource(user='t', passwd='pw')]
c['collapseRequests'] = False
c['logCompressionMethod'] = 'raw'

def builder(name, argv, **kw):
    f = util.BuildFactory()
    f.addStep(steps.ShellCommand(name='nsbox', command=NSBOX + argv, env=ENV, **kw))
    return util.BuilderConfig(name=name, workernames=['w1', 'w2'], factory=f)

c['builders'] = [
    builder('pass', ['sh', '-c', 'i=0; until [ -e /gate/go ] || [ \$i -ge 600 ]; do sleep 0.1; i=\$((i + 1)); done; hostname']),
    builder('fail', ['sh', '-c', 'echo failing; exit 3']),
    builder('timeout', ['sleep', '3600'], maxTime=10),
    builder('bytes', ['sh', '/bytes.sh']),
]
c['schedulers'] = [
    schedulers.SingleBranchScheduler(name=b.name, builderNames=[b.name],
                                     change_filter=util.ChangeFilter(branch=b.name),
                                     treeStableTimer=None)
    for b in c['builders']]
EOF

# The database: its builds, steps and logs, for the test to read.
cat >"$W/bbq.py" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=10)
q = lambda sql, *a: db.execute(sql, a).fetchall()
what = sys.argv[2]
if what == 'workers':  # connected workers
    print(' '.join(sorted(r[0] for r in q('SELECT w.name FROM connected_workers c JOIN workers w ON w.id = c.workerid'))))
elif what == 'builds':  # BUILDER: complete builds, "number results worker"
    for r in q('SELECT b.number, b.results, w.name FROM builds b JOIN builders r ON r.id = b.builderid '
               'JOIN workers w ON w.id = b.workerid WHERE r.name = ? AND b.complete_at IS NOT NULL '
               'ORDER BY b.number', sys.argv[3]):
        print(*r)
elif what == 'step':  # BUILDER NUMBER: the nsbox step's "results seconds state"
    for r in q('SELECT s.results, s.complete_at - s.started_at, s.state_string FROM steps s '
               'JOIN builds b ON b.id = s.buildid JOIN builders r ON r.id = b.builderid '
               "WHERE r.name = ? AND b.number = ? AND s.name = 'nsbox'", sys.argv[3], int(sys.argv[4])):
        print(*r)
elif what == 'log':  # BUILDER NUMBER CHANNEL: the stdio log's lines of one channel (o, e, h)
    text = ''.join(r[0].decode('utf-8') if isinstance(r[0], bytes) else r[0] for r in q(
        'SELECT c.content FROM logchunks c JOIN logs l ON l.id = c.logid JOIN steps s ON s.id = l.stepid '
        'JOIN builds b ON b.id = s.buildid JOIN builders r ON r.id = b.builderid '
        "WHERE r.name = ? AND b.number = ? AND s.name = 'nsbox' AND l.slug = 'stdio' "
        'ORDER BY c.first_line', sys.argv[3], int(sys.argv[4])))
    out = ''.join(l[1:] + '\n' for l in text.split('\n') if l[:1] == sys.argv[5])
    sys.stdout.buffer.write(out.encode('utf-8'))
EOF
bbq() { "$PY" "$W/bbq.py" "$M/state.sqlite" "$@"; }

# wait_builds BUILDER N SECONDS: until BUILDER has N complete builds.
wait_builds() {
	wait_secs '[ "$(bbq builds '"$1"' | wc -l)" -ge '"$2"' ]' "$3"
}
send() {
	buildbot sendchange --master="127.0.0.1:$PORT" --auth=t:pw --who=t-buildbot \
		--branch="$1" --comments="t-buildbot $1" >>"$W/sendchange.log" 2>&1
}

buildbot checkconfig "$M" >"$W/checkconfig.log" 2>&1 ||
	{ echo "Bail out! master.cfg: $(tail -3 "$W/checkconfig.log" | tr '\n' ' ')"; exit 1; }
if buildbot start "$M" >"$W/start.log" 2>&1; then ok "buildbot: the master starts (127.0.0.1:$PORT)"
else not_ok "buildbot: the master starts" "$(grep -A3 -m1 Traceback "$M/twistd.log" | tr '\n' ' ')"; bb_stop; finish; exit 1; fi
check "buildbot: the master listens on 127.0.0.1 only" "127.0.0.1:$PORT" \
	"$(ss -Htln "sport = :$PORT" | awk '{print $4}' | paste -sd ' ' -)"
for w in w1 w2; do
	if ! buildbot-worker create-worker "$W/$w" "127.0.0.1:$PORT" "$w" "p$w" >"$W/$w.create.log" 2>&1 ||
		! buildbot-worker start "$W/$w" >"$W/$w.start.log" 2>&1; then
		not_ok "buildbot: worker $w starts" "$(tail -3 "$W/$w.start.log" | tr '\n' ' ')"
	fi
done
wait_secs '[ "$(bbq workers)" = "w1 w2" ]' 60
check "buildbot: both workers are connected" "w1 w2" "$(bbq workers)"

# (a) two builds at once: each worker takes one (max_builds=1). The first
# waits until both run: a worker that is done by the second request could
# take it as well.
send pass && send pass
wait_secs '[ "$("$NSBOX" ps | awk "\$2 == \"bbtest\"" | wc -l)" -ge 2 ]' 60
: >"$W/gate/go"
if wait_builds pass 2 60; then
	check "(a) two passing builds are SUCCESS (0), one on each worker" "0 w1|0 w2" \
		"$(bbq builds pass | awk '{print $2, $3}' | sort | paste -sd '|' -)"
	check "(a) the step ran in the profile's container (its hostname)" "bbtest" \
		"$(bbq log pass 1 o)"
else
	not_ok "(a) two passing builds" "$(bbq builds pass | tr '\n' ';') $(tail -5 "$M/twistd.log" | tr '\n' ' ')"
fi

# (b) the payload's exit 3 fails the step, which records status 3.
send fail
if wait_builds fail 1 60; then
	check "(b) a failing payload: the build is FAILURE (2)" "2" "$(bbq builds fail | awk '{print $2}')"
	check "(b) ... the step too, having run it" "2|failing" \
		"$(bbq step fail 1 | awk '{print $1}')|$(bbq log fail 1 o)"
	check "(b) ... and buildbot records the exit code 3" "program finished with exit code 3" \
		"$(bbq log fail 1 h | grep -o 'program finished with exit code [0-9]*')"
else
	not_ok "(b) a failing build" "$(tail -5 "$M/twistd.log" | tr '\n' ' ')"
fi

# (c) maxTime=10 on a sleep of an hour: buildbot kills the step's process
# group with SIGKILL (its default). The container was there, and then
# nothing of it is: not in ps, no process, no state, no upper, no cgroup.
send timeout
if wait_secs '"$NSBOX" ps | awk "\$2 == \"bbtest\" {f = 1} END {exit !f}"' 30 && wait_proc 'sleep 3600'; then
	ok "(c) the step's container runs (nsbox ps, its sleep)"
else
	not_ok "(c) the step's container runs" "$("$NSBOX" ps | tr '\n' ';')"
fi
audit_snapshot during
check "(c) ... with a cgroup, an upper and its state" "cgroup upper state" \
	"$(cmp -s "$W/before.cgroups" "$W/during.cgroups" || printf cgroup) $(grep -q '^scratch ' "$W/during.state" && printf upper) $(grep -q '[.]json$' "$W/during.state" && printf state)"
if wait_builds timeout 1 60; then
	check "(c) a step past its maxTime is FAILURE (2), after about 10 s" "2 yes" \
		"$(bbq step timeout 1 | awk '{print $1, ($2 >= 10 && $2 < 40) ? "yes" : "no"}')"
	check "(c) ... as timed out, killed with SIGKILL" \
		"command timed out: 10 seconds elapsed running|process killed by signal 9" \
		"$(bbq log timeout 1 h | grep -o -e 'command timed out: 10 seconds elapsed running' -e 'process killed by signal 9' | paste -sd '|' -)"
else
	not_ok "(c) a timed out build" "$(tail -5 "$M/twistd.log" | tr '\n' ' ')"
fi
# What the run left goes once nsbox is gone: state, upper, nsbox processes.
wait_until 'audit_snapshot mid; cmp -s "$W/before.state" "$W/mid.state" && cmp -s "$W/before.procs" "$W/mid.procs"' || true
check "(c) nothing in nsbox ps" "" "$("$NSBOX" ps | awk '$2 == "bbtest"')"
check "(c) the payload is gone" "" "$(pgrep -a -x -f 'sleep 3600')"
audit_check "(c) after the killed step"

# (d) stdout and stderr as the payload wrote them.
send bytes
if wait_builds bytes 1 60; then
	check "(d) the bytes build is SUCCESS" "0" "$(bbq builds bytes | awk '{print $2}')"
	# buildbot ends a last line that has no newline with one
	bbq log bytes 1 o >"$W/got.out"; bbq log bytes 1 e >"$W/got.err"
	printf '\n' >>"$W/bytes.out"; printf '\n' >>"$W/bytes.err"
	if cmp -s "$W/bytes.out" "$W/got.out"; then ok "(d) stdout arrives byte for byte"
	else not_ok "(d) stdout arrives byte for byte" "$(od -c "$W/got.out" | head -5 | tr '\n' ' ')"; fi
	if cmp -s "$W/bytes.err" "$W/got.err"; then ok "(d) stderr arrives byte for byte"
	else not_ok "(d) stderr arrives byte for byte" "$(od -c "$W/got.err" | head -5 | tr '\n' ' ')"; fi
else
	not_ok "(d) the bytes build" "$(tail -5 "$M/twistd.log" | tr '\n' ' ')"
fi

bb_stop
left=
for d in "$M" "$W/w1" "$W/w2"; do
	if [ -f "$d/twistd.pid" ] && kill -0 "$(cat "$d/twistd.pid")" 2>/dev/null; then left="$left $d"; fi
done
check "buildbot: master and workers stopped" "" "$left"
audit_check "t-buildbot"
echo "# wall time: $(($(date +%s) - t0)) s"
trap - EXIT
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# helpers/nsbox-gitlab-executor, driven as GitLab Runner's custom executor
# drives it (docs.gitlab.com/runner/executors/custom.html; gitlab-runner
# is not in Debian): config, prepare, run SCRIPT STAGE for the runner's
# stages, cleanup, with the CUSTOM_ENV_ variables, a TMPDIR and a
# JOB_RESPONSE_FILE of the job's, and unusual BUILD_FAILURE_EXIT_CODE and
# SYSTEM_FAILURE_EXIT_CODE (37, 59) so that a status tells which it is.
# The scripts are written as the runner writes them (bash, the job's
# commands in an `: | eval '...'`, POSIX escapes); the root is the busybox
# fixture with the host's /usr bound read-only, for bash.
# shellcheck disable=SC2016,SC2086 # scripts for the container; $S is words
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
started=$(date +%s)

DRV=$TOP/helpers/nsbox-gitlab-executor
[ -x /usr/bin/bash ] || { echo "Bail out! no /usr/bin/bash on the host for the root"; exit 1; }
# the host's /usr read-only: bash, env and their libraries (merged /usr)
ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
mkdir -p "$W/profiles" "$W/gitlab"
cat >"$W/profiles/gitlab-ci-test.conf" <<EOF
[root]
directory = $ROOT
[mount]
bind-ro = /usr:/usr
EOF
# a start that takes a second, to kill prepare in the middle of it
printf '#!/bin/sh\ntouch %s/hook.started\nsleep 1\n' "$W" >"$W/slow-hook"
chmod 755 "$W/slow-hook"
cat >"$W/profiles/gitlab-ci-slow.conf" <<EOF
[profile]
include = gitlab-ci-test
[hooks]
pre-exec = $W/slow-hook
EOF
export NSBOX NSBOX_PROFILE_PATH="$W/profiles" NSBOX_GITLAB_DIR="$W/gitlab"
export BUILD_FAILURE_EXIT_CODE=37 SYSTEM_FAILURE_EXIT_CODE=59 CUSTOM_ENV_CI_JOB_IMAGE=gitlab-ci-test

# drv JOB [VAR=VALUE...] STAGE [ARGS]: the driver as the runner runs it
# for job JOB: the job's ids, its TMPDIR and response file, in TMPDIR.
drv() {
	_j=$1; shift
	mkdir -p "$W/job$_j"; [ -e "$W/job$_j/response.json" ] || echo "{\"id\": $_j}" >"$W/job$_j/response.json"
	(cd "$W/job$_j" && env CUSTOM_ENV_CI_RUNNER_ID=7 CUSTOM_ENV_CI_PROJECT_ID=42 \
		CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID=$((_j % 10)) CUSTOM_ENV_CI_JOB_ID="$_j" \
		TMPDIR="$W/job$_j" JOB_RESPONSE_FILE="$W/job$_j/response.json" "$@")
}
cname() { echo "gitlab-r7-p42-c$(($1 % 10))-j$1"; }
running() { "$NSBOX" ps | awk -v n="$1" '$1 == n {f = 1} END {print f ? "yes" : "no"}'; }

# gen JOB STAGE BODY: the runner's script for STAGE of job JOB, printed
# (its path, in a script directory of the job's TMPDIR, mode 0700)
gen() {
	_d=$(mktemp -d "$W/job$1/scriptXXXXXX")
	{
		printf '#!/usr/bin/env bash\n\ntrap exit 1 TERM\n\n'
		printf 'if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n'
		printf 'set +o noclobber\n'
		printf ": | eval '%s'\n" "$(printf '%s' "$3" | sed "s/'/'\\\\''/g")"
		printf 'exit 0\n'
	} >"$_d/script."
	chmod 700 "$_d/script."
	echo "$_d/script."
}
# stage JOB STAGE BODY: run it; its output in $W/out, its status in $rc
stage() {
	drv "$1" "$DRV" run "$(gen "$1" "$2" "$3")" "$2" >"$W/out" 2>"$W/err"; rc=$?
}

# config
out=$(drv 1 "$DRV" config); rc=$?
check "config: the runner's JSON" "0 /builds /cache False nsbox 0.1.0 {}" \
	"$rc $(printf '%s' "$out" | python3 -c 'import json, sys; j = json.load(sys.stdin)
print(j["builds_dir"], j["cache_dir"], j["builds_dir_is_shared"], j["driver"]["name"], j["driver"]["version"], j["job_env"])')"

# one job, stage by stage
N1=$(cname 1)
drv 1 "$DRV" prepare >"$W/out" 2>"$W/err"; rc=$?
check "prepare: one named container for the job" "0 yes" "$rc $(running "$N1")"
check "prepare: says which" "nsbox container $N1 on profile gitlab-ci-test" "$(cat "$W/out")"
stage 1 prepare_script 'echo "Running on $(hostname)..."'
check "prepare_script: runs in the container" "0 Running on $(hostname)..." "$rc $(cat "$W/out")"
stage 1 get_sources 'mkdir -p /builds/group/project && cd /builds/group/project && printf "source %s\n" "$BASH_VERSION" >README'
check "get_sources: writes into the builds dir" "0" "$rc"
stage 1 step_script 'cd /builds/group/project; cat README; printf "\001\000\377 it'"'"'s binary"'
printf 'source %s\n\001\000\377 it'"'"'s binary' "$(bash -c 'echo $BASH_VERSION')" >"$W/want"
if [ "$rc" -eq 0 ] && cmp -s "$W/want" "$W/out"; then ok "step_script: the next stage reads it; bash; output byte-exact (NUL, 0xff, quote, no final newline)"
else not_ok "step_script: byte-exact" "status $rc" "$(od -c "$W/out" | head -3 | tr '\n' ' ')" "$(cat "$W/err")"; fi
stage 1 step_script 'head -c 3000000 /dev/urandom | tee /builds/blob | sha256sum | cut -d" " -f1 >/builds/blob.sum; cat /builds/blob'
check "step_script: 3 MB of random bytes, unchanged" "0 $(cat "$W/gitlab/$N1/upper/builds/blob.sum" 2>/dev/null)" \
	"$rc $(sha256sum <"$W/out" | cut -d' ' -f1)"
check "the builds dir is in the job's upper, on disk" "yes" "$([ -s "$W/gitlab/$N1/upper/builds/group/project/README" ] && echo yes)"
stage 1 step_script 'echo before; false; echo after'
check "a failing script: BUILD_FAILURE_EXIT_CODE" "37 before" "$rc $(cat "$W/out")"
stage 1 step_script 'exit 59'
check "a script's own 59 is the job's failure, not the system's" "37" "$rc"
stage 1 step_script 'exit 125'
check "a script's own 125 too" "37" "$rc"
stage 1 after_script 'test -s /builds/group/project/README && echo after_script'
check "after_script runs after a failure, in the same container" "0 after_script" "$rc $(cat "$W/out")"
stage 1 step_script 'sleep 1234 & echo left'
check "what a stage leaves running is killed when it returns" "0 left no" \
	"$rc $(cat "$W/out") $(pgrep -x -f 'sleep 1234' >/dev/null && echo yes || echo no)"
check "the container runs between stages" "yes" "$(running "$N1")"
"$NSBOX" stop "$N1"
stage 1 step_script 'echo unreachable'
check "the container stopped between stages: SYSTEM_FAILURE_EXIT_CODE, nsbox's one line" "59 1" \
	"$rc $(wc -l <"$W/err")"
drv 1 "$DRV" cleanup >"$W/out" 2>"$W/err"; rc=$?
check "cleanup: exit 0, nothing of the job left" "0 no " "$rc $(running "$N1") $(ls -A "$W/gitlab")"

# refused, with one line and SYSTEM_FAILURE_EXIT_CODE, nothing left
run_refused "a profile that does not exist" 59 "nsbox-gitlab-executor: profile nope (the job's image): no profile 'nope'*" \
	drv 2 CUSTOM_ENV_CI_JOB_IMAGE=nope "$DRV" prepare
run_refused "an image that is a path is not a profile name" 59 "nsbox-gitlab-executor: profile '$W/profiles/gitlab-ci-test.conf' (the job's image): not a profile name*" \
	drv 2 CUSTOM_ENV_CI_JOB_IMAGE="$W/profiles/gitlab-ci-test.conf" "$DRV" prepare
run_refused "a docker image name is not a profile name" 59 "nsbox-gitlab-executor: profile 'debian:bookworm' (the job's image): not a profile name*" \
	drv 2 CUSTOM_ENV_CI_JOB_IMAGE=debian:bookworm "$DRV" prepare
run_refused "no image: the job's NSBOX_PROFILE" 59 "nsbox-gitlab-executor: profile nope2 (the job's NSBOX_PROFILE): no profile*" \
	drv 2 CUSTOM_ENV_CI_JOB_IMAGE= CUSTOM_ENV_NSBOX_PROFILE=nope2 "$DRV" prepare
run_refused "a profile not in NSBOX_GITLAB_PROFILES" 59 "nsbox-gitlab-executor: profile gitlab-ci-test (the job's image): not one of NSBOX_GITLAB_PROFILES (sid-build)" \
	drv 2 NSBOX_GITLAB_PROFILES=sid-build "$DRV" prepare
run_refused "an id that is not digits" 59 "nsbox-gitlab-executor: CUSTOM_ENV_CI_JOB_ID=2;x: not an id*" \
	drv 2 CUSTOM_ENV_CI_JOB_ID='2;x' "$DRV" prepare
run_refused "run without prepare" 59 "nsbox-gitlab-executor: run step_script: no container for this job ($(cname 2))*" \
	drv 2 "$DRV" run "$(gen 2 step_script true)" step_script
check "... none of them left a container or a directory" "no " "$(running "$(cname 2)") $(ls -A "$W/gitlab")"
drv 2 "$DRV" cleanup >"$W/out" 2>&1; rc=$?
check "cleanup of a job never prepared: 0, silent" "0 " "$rc $(cat "$W/out")"

# A job that gives another's ids (CUSTOM_ENV_ are the job's to change) has
# another TMPDIR and response file: refused, and the other job untouched.
drv 3 "$DRV" prepare >/dev/null 2>&1
mkdir -p "$W/job4"
S="TMPDIR=$W/job4 JOB_RESPONSE_FILE=$W/job4/response.json"
run_refused "another job's ids: prepare refused" 59 "nsbox-gitlab-executor: $(cname 3): the container of another job*" \
	drv 3 $S "$DRV" prepare
run_refused "another job's ids: run refused" 59 "nsbox-gitlab-executor: run step_script: no container for this job*" \
	drv 3 $S "$DRV" run "$(gen 3 step_script 'touch /builds/spoofed')" step_script
drv 3 $S "$DRV" cleanup >/dev/null 2>&1
check "another job's ids: cleanup leaves the container alone" "yes" "$(running "$(cname 3)")"
stage 3 step_script 'test ! -e /builds/spoofed && echo mine'
check "... which still runs the job's own stages" "0 mine" "$rc $(cat "$W/out")"
drv 3 "$DRV" cleanup >/dev/null 2>&1

# prepare retried (the runner retries a system failure): the first
# attempt's container goes
drv 5 "$DRV" prepare >/dev/null 2>&1
pid1=$("$NSBOX" ps | awk -v n="$(cname 5)" '$1 == n {print $3}')
drv 5 "$DRV" prepare >/dev/null 2>&1; rc=$?
pid2=$("$NSBOX" ps | awk -v n="$(cname 5)" '$1 == n {print $3}')
check "prepare again: a new container in place of the first" "0 yes 1" \
	"$rc $([ -n "$pid1" ] && [ -n "$pid2" ] && [ "$pid1" != "$pid2" ] && echo yes) $("$NSBOX" ps | grep -c "^$(cname 5) ")"
drv 5 "$DRV" cleanup >/dev/null 2>&1

# prepare killed with SIGKILL while nsbox starts the container: its
# whole process group (the runner's force kill; the nsbox run -d it ran
# dies too, but the detached nsbox has a session of its own), or the
# driver alone (its nsbox run -d waits on, and the start goes on)
for how in group alone; do
	j=6; [ "$how" = group ] || j=16
	rm -f "$W/hook.started"
	drv $j CUSTOM_ENV_CI_JOB_IMAGE=gitlab-ci-slow setsid "$DRV" prepare >/dev/null 2>&1 &
	wait_until "[ -e '$W/hook.started' ]" || not_ok "prepare killed ($how): the start began"
	# the driver leads the group of the starter, which became nsbox run -d
	pg=$(ps -o pgid= -p "$(cat "$W/gitlab/$(cname $j)/starter")" | tr -d ' ')
	if [ "$how" = group ]; then kill -KILL "-$pg"; else kill -KILL "$pg"; fi ||
		not_ok "prepare killed ($how): kill -9 of $pg"
	wait
	drv $j "$DRV" cleanup >"$W/out" 2>&1; rc=$?
	sleep 1.5 # past the hook: a start that went on would be done by now
	check "prepare killed mid-start ($how), then cleanup: nothing left" "0 no  0" \
		"$rc $(running "$(cname $j)") $(ls -A "$W/gitlab") $(pgrep -c -f -- "--name=$(cname $j)")"
done

# run killed mid-script (its process group, SIGKILL), then cleanup
drv 7 "$DRV" prepare >/dev/null 2>&1
drv 7 setsid "$DRV" run "$(gen 7 step_script 'echo started; exec sleep 4321')" step_script >"$W/out7" 2>&1 &
if ! { wait_until "grep -qs started '$W/out7'" && wait_proc 'sleep 4321'; }; then not_ok "run killed: the script ran"; fi
pg=$(ps -o pgid= -p "$(pgrep -o -f -- "run $W/job7")" | tr -d ' ')
kill -KILL "-$pg" || not_ok "run killed: kill -9 of its group $pg"
wait
drv 7 "$DRV" cleanup >/dev/null 2>&1; rc=$?
check "run killed mid-script, then cleanup: the payload is gone, nothing left" "0 no no " \
	"$rc $(running "$(cname 7)") $(pgrep -x -f 'sleep 4321' >/dev/null && echo yes || echo no) $(ls -A "$W/gitlab")"

# two jobs at once: two containers, each its own builds dir
drv 8 "$DRV" prepare >/dev/null 2>&1 &
drv 9 "$DRV" prepare >/dev/null 2>&1 &
wait
check "two concurrent jobs: two containers" "yes yes" "$(running "$(cname 8)") $(running "$(cname 9)")"
stage 8 step_script 'mkdir /builds && echo eight >/builds/who'
stage 9 step_script 'mkdir /builds && echo nine >/builds/who'
stage 8 step_script 'cat /builds/who'; o8=$(cat "$W/out")
stage 9 step_script 'cat /builds/who'; o9=$(cat "$W/out")
check "... each with its own builds dir" "eight nine" "$o8 $o9"
drv 8 "$DRV" cleanup >/dev/null 2>&1 &
drv 9 "$DRV" cleanup >/dev/null 2>&1 &
wait
check "... both cleaned up" "no no " "$(running "$(cname 8)") $(running "$(cname 9)") $(ls -A "$W/gitlab")"

audit_check "gitlab"
echo "# t-gitlab: $(($(date +%s) - started)) s"
finish

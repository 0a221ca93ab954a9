#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# autopkgtest-virt-nsbox (issue 25): the protocol, spoken to the server as
# autopkgtest speaks it, on a real bookworm root; then the real autopkgtest
# on a source tree whose tests need root, break the testbed and check that
# revert undid it. What the server made must be gone after quit, and after
# a SIGKILL of the server.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "the server runs as root for now: nsbox exec by a user cannot open its container's namespaces"
if [ ! -r /usr/share/autopkgtest/lib/VirtSubproc.py ] || ! command -v autopkgtest >/dev/null; then
	echo "Bail out! autopkgtest is not installed (make deps)"; exit 1
fi
debian_base
export NSBOX_CACHE_DIR="$W/cache" NSBOX
SERVER="$TOP/helpers/autopkgtest-virt-nsbox"
chmod 755 "$W"

# --- the protocol, line by line, through two FIFOs ---
mkfifo "$W/in" "$W/out"
others_at=$(ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null)
"$SERVER" -t "$TAR" <"$W/in" >"$W/out" 2>"$W/server.err" &
server=$!
exec 3>"$W/in" 4<"$W/out"
say() { echo "$1" >&3; read -r reply <&4; }
# servers: the directories of this test's servers (another checkout's may
# be there too, and are not this test's to judge or remove)
# shellcheck disable=SC2010 # the names are our own
servers() { ls -d /var/tmp/autopkgtest-virt-nsbox.* 2>/dev/null | grep -vxF -e "$others_at" -e ''; }
read -r reply <&4
check "the server greets: ok" "ok" "$reply"
say capabilities
check "capabilities before open" "ok" "$reply"
# The downtmp is shared with the host when the testbed's root is root;
# in a user namespace what the host copied there would be nobody's
# inside, so it is the testbed's own and copies go through nsbox exec.
shared=yes want='/var/tmp/autopkgtest-virt-nsbox.*/downtmp'
[ "$MODE" != userns ] || shared=no want='/tmp/autopkgtest.*'
say open
down=${reply#ok }
# shellcheck disable=SC2254 # want is a pattern
check "open: ok and the downtmp" "ok yes" "${reply%% *} $(case $down in $want) echo yes;; *) echo "$down";; esac)"
say capabilities
caps=$reply
share=
[ "$shared" = no ] || share="downtmp-host=$down"
case $caps in *downtmp-host=*) has=yes;; *) has=no;; esac
check "downtmp-host announced: $shared" "$shared" "$has"
for c in revert revert-full-system root-on-testbed $share; do
	case " $caps " in *" $c "*) ok "capability $c";; *) not_ok "capability $c" "$caps";; esac
done
case $caps in *" suggested-normal-user="?*) ok "a suggested normal user";; *) not_ok "a suggested normal user" "$caps";; esac
user=$(echo "$caps" | tr ' ' '\n' | sed -n 's/^suggested-normal-user=//p')
# prefix REPLY: the exec prefix of a print-execute-command reply, one
# argument a line, url-decoded; NAME, the testbed's (before the --)
prefix() {
	printf '%s\n' "${1#ok }" | tr ',' '\n' | python3 -c 'import sys, urllib.parse
for l in sys.stdin: print(urllib.parse.unquote(l.rstrip("\n")))'
}
say print-execute-command
prefix "$reply" >"$W/prefix"
check "print-execute-command: nsbox exec of the testbed, nsbox's failure 255, the command's 254 and 255 moved, leftovers killed" \
	"$NSBOX exec --failure-status=255 --status-map=254:253 --status-map=255:253 --kill-leftovers --" \
	"$(sed '$d' "$W/prefix" | sed '$d' | tr '\n' ' ')$(tail -1 "$W/prefix")"
name=$(tail -2 "$W/prefix" | head -1)
# x CMD...: CMD through the server's exec prefix, as autopkgtest runs it
x() {
	set -- "$@"
	while read -r _a; do set -- "$@" "$_a"; done <"$W/prefix"
	# the prefix first, then the command: rotate the command to the end
	_n=$(wc -l <"$W/prefix")
	_c=$(($# - _n))
	while [ "$_c" -gt 0 ]; do _a=$1; shift; set -- "$@" "$_a"; _c=$((_c - 1)); done
	"$@"
}
check "the testbed: root, Debian, the user exists" "0 bookworm yes" \
	"$(x id -u) $(x sh -c '. /etc/os-release; echo $VERSION_CODENAME') $(x getent passwd "$user" >/dev/null && echo yes)"
head -c 3000000 /dev/urandom >"$W/blob"
x cat <"$W/blob" >"$W/blob.back"
check "binary stdin and stdout pass unchanged" 0 "$(cmp -s "$W/blob" "$W/blob.back"; echo $?)"
check "a command's status passes" 7 "$(x sh -c 'exit 7'; echo $?)"
check "a command's own 125, 254 and 255: 125, 253, 253 (autopkgtest would take 254 and 255 for the testbed's)" \
	"125 253 253" "$(x sh -c 'exit 125'; echo $?) $(x sh -c 'exit 254'; echo $?) $(x sh -c 'exit 255'; echo $?)"
# A command that leaves a process with its output open: the caller reads
# to the end of its output as autopkgtest does, and the end comes when the
# command returns, not when the sleep would.
t0=$(date +%s)
out=$(x sh -c 'sleep 1011 & echo started' | cat)
check "a command that leaves sleep 1011 with its stdout open: the caller gets EOF at once, and the sleep is gone" \
	"started yes 0" "$out $([ $(($(date +%s) - t0)) -lt 10 ] && echo yes) $(pgrep -fc '^sleep 1011$')"
x sh -c "echo from inside >$down/f"
if [ "$shared" = yes ]; then
	check "the downtmp is the host's directory, at the same path" "from inside" "$(cat "$down/f")"
fi
echo from outside >"$W/f"
say "copydown $W/f $down/g"
check "copydown" "ok from outside" "$reply $(x cat "$down/g")"
say "copyup $down/f $W/f.up"
check "copyup" "ok from inside" "$reply $(cat "$W/f.up")"
upper=$(servers)/upper
# (a process left past its command: nsbox exec without --kill-leftovers)
x sh -c 'echo broken >/etc/nsbox-broken' && "$NSBOX" exec "$name" -- sh -c 'sleep 1013 </dev/null >/dev/null 2>&1 &'
check "what the testbed writes goes to the upper on disk" "broken" "$(cat "$upper/etc/nsbox-broken")"
say revert
check "revert: the same downtmp" "ok $down" "$reply"
say print-execute-command
prefix "$reply" >"$W/prefix"
name=$(tail -2 "$W/prefix" | head -1)
check "revert: the root's changes are gone" "no" "$(x sh -c 'test -e /etc/nsbox-broken && echo yes || echo no')"
check "revert: and its processes" 0 "$(pgrep -fc '^sleep 1013$')"
# The testbed stopped from outside: its name is gone, which is no error
# for the server; revert starts a new one, and nsbox's failure to enter
# the gone one is 255, a testbed failure to autopkgtest.
"$NSBOX" stop "$name"
check "the testbed stopped from outside: nsbox's failure through the prefix is 255, one line" \
	"255 1" "$(x true 2>"$W/x.err"; echo $?) $(wc -l <"$W/x.err")"
check "nsbox stop --ignore of the gone name: 0, and no message" "0 " "$("$NSBOX" stop --ignore "$name" 2>&1; echo $?) "
say revert
check "revert of a testbed that is gone: ok" "ok $down" "$reply"
say print-execute-command
prefix "$reply" >"$W/prefix"
name=$(tail -2 "$W/prefix" | head -1)
check "and the new testbed runs" "yes" "$(x echo yes)"
"$NSBOX" kill "$name" KILL
wait_until "! \"\$NSBOX\" ps | grep -q '^$name '"
say close
check "close of a testbed killed from outside: ok" "ok" "$reply"
check "close: the container is gone" "" "$("$NSBOX" ps | awk -v n="$name" '$1 == n')"
# bookworm's VirtSubproc answers quit by exiting, with no "ok"
echo quit >&3
exec 3>&- 4<&-
wait $server
check "the server exits 0" 0 $?
check "the server's directory is gone" "" "$(servers)"

# --- a SIGKILL of the server takes the testbed with it ---
"$SERVER" -t "$TAR" <"$W/in" >"$W/out" 2>>"$W/server.err" &
server=$!
exec 3>"$W/in" 4<"$W/out"
read -r reply <&4
say open
say print-execute-command
prefix "$reply" >"$W/prefix"
name=$(tail -2 "$W/prefix" | head -1)
check "a second testbed runs" "yes" "$("$NSBOX" ps | awk -v n="$name" '$1 == n {print "yes"}')"
kill -KILL $server; wait $server 2>/dev/null
exec 3>&- 4<&-
wait_until "! \"\$NSBOX\" ps | grep -q '^$name '"
check "SIGKILL of the server: no container left" "" "$("$NSBOX" ps | awk -v n="$name" '$1 == n')"
servers | xargs -r rm -rf # what a killed server cannot remove

# --- an open that fails once the testbed runs leaves nothing ---
# (useradd refuses the suggested user's name; VirtSubproc cleans up only
# an opened testbed, and sbuild SIGKILLs a server whose open failed)
out=$(printf 'open\n' | "$SERVER" -t "$TAR" -u no:such 2>&1); rc=$?
check "an open that fails once the testbed runs (useradd refuses the user): the server says why, exits 12" \
	"12 ok yes" "$rc $(printf '%s\n' "$out" | head -1) $(case $out in *"failure: "*useradd*) echo yes ;; esac)"
check "... its testbed is gone as it exits" "" "$("$NSBOX" ps | awk '$1 ~ /^autopkgtest-/')"
check "... and its directory" "" "$(servers)"
servers | xargs -r rm -rf

# --- the real autopkgtest ---
S=$W/nsbox-at-demo
cp -r "$TOP/tests/fixtures/autopkgtest/nsbox-at-demo" "$S"
# A test that leaves a sleep with its output open would make autopkgtest
# wait for it: the timeout turns a regression into a failure, not a hang.
PATH="$TOP/helpers:$PATH" autopkgtest --no-built-binaries --timeout-test=60 --output-dir="$W/at-out" "$S/" -- nsbox -t "$TAR" >"$W/at.log" 2>&1; rc=$?
check "autopkgtest on a source tree: one test fails (4), none is a testbed failure (16)" "4" "$rc"
check "autopkgtest: the results; exit255's own 255 is its failure, not the testbed's" \
	"root PASS|broken PASS|reverted PASS|leftover PASS|exit255 FAIL non-zero exit status 253" \
	"$(sed 's/  */ /g' "$W/at-out/summary" | tr '\n' '|' | sed 's/|$//')"
[ "$rc" -eq 4 ] || tail -30 "$W/at.log" | sed 's/^/# /'
check "autopkgtest: no server directory left" "" "$(servers)"

audit_check "autopkgtest"
finish

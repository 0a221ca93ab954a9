#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every command of README.md's quick start and tour that needs no network:
# lines "    # nsbox ..." run as root, "    $ nsbox ..." as a user this test
# makes, with the fixture for /path/to/rootfs. Runs in a network namespace
# of its own, with a veth called eth0 for the macvlan example.
# shellcheck disable=SC2016
if [ "${NSBOX_IN_NETNS:-}" != 1 ] && [ "$(id -u)" -eq 0 ]; then
	NSBOX_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes root "examples run as written: as root, and as a user of their own"

ip link add eth0 type veth peer name eth0peer || echo "Bail out! cannot make eth0 in the test's netns"
test_user nsbox-readme 500000
UROOT="$W/uroot"
cp -a "$ROOT" "$UROOT"; chown -R "$TU:" "$UROOT"
cp "$NSBOX_BIN" "$W/nsbox"; chmod 755 "$W/nsbox"
# $HOME/roots/bookworm as mmdebstrap --mode=unshare leaves it: the user's
# first subordinate id (500000) is its root.
mkdir "$W/home/roots"; cp -a "$ROOT" "$W/home/roots/bookworm"
chown -R 500000:500000 "$W/home/roots/bookworm"; chown "$TU:" "$W/home/roots"
# An X server for the browser example (X client: xdpyinfo).
start_xvfb
mkdir "$W/bin"; ln -s "$W/nsbox" "$W/bin/nsbox"

# The tour's lines, in order.
sed -n '/^## Tour/,/^## /p' "$TOP/README.md" | sed -n 's/^    \([#$]\) nsbox /\1 nsbox /p' >"$W/lines"
check "the README's tour has its commands" "yes" "$([ "$(wc -l <"$W/lines")" -ge 10 ] && echo yes)"
while IFS= read -r line; do
	who=${line%% *} cmd=${line#? }
	case $who in
	'#') out=$(cd "$W" && PATH="$W/bin:$PATH" sh -c "$(echo "$cmd" | sed "s|/path/to/rootfs|$ROOT|g")" \
		<"$( [ "${cmd#nsbox attach}" != "$cmd" ] && { printf '\0' >"$W/nul"; echo "$W/nul"; } || echo /dev/null)" 2>&1); rc=$? ;;
	'$') out=$(cd "$W/home" && runuser -u "$TU" -- env -i PATH="$W/bin:/usr/bin:/bin" HOME="$W/home" USER="$TU" \
		DISPLAY=":$d" sh -c "$(echo "$cmd" | sed -e "s|/path/to/rootfs|$UROOT|g" -e "s|0:100000:|0:500000:|g")" </dev/null 2>&1); rc=$? ;;
	esac
	check "README: $line" 0 "$rc"
	case $cmd in
	*"-- id") case $out in *"uid=0(root)"*|*"($TU)"*) ok "README: $line: its id";; *) not_ok "README: $line: its id" "$out";; esac ;;
	*"--netif -- ip link") check "README: $line: only lo" "lo" "$(echo "$out" | sed -n 's/^[0-9]*: \([a-z0-9]*\).*/\1/p' | tr '\n' ' ' | sed 's/ $//')" ;;
	*"macvlan"*) check "README: $line: lo and net0" "lo net0" "$(echo "$out" | sed -n 's/^[0-9]*: \([a-z0-9]*\)[@:].*/\1/p' | tr '\n' ' ' | sed 's/ $//')" ;;
	*"-- xdpyinfo") check "README: $line: reaches the display" "yes" "$(echo "$out" | grep -q "^name of display: *:$d\$" && echo yes)" ;;
	*"-- ls -ln /etc/passwd") check "README: $line: root's inside" "0 0" "$(echo "$out" | awk '{print $3, $4}')" ;;
	*"--ephemeral"*) check "README: $line: discarded" "no" "$(test -e "$ROOT/etc/discarded" && echo yes || echo no)" ;;
	esac
done <"$W/lines"
stop_xvfb
# Without a profile, pflask's defaults: the caller's network and variables.
check "no profile: the host's network namespace, as pflask" "$(readlink /proc/self/ns/net) x" \
	"$(cd "$W/home" && runuser -u "$TU" -- env -i PATH="$W/bin:/usr/bin:/bin" HOME="$W/home" V=x nsbox run -- sh -c 'echo $(readlink /proc/self/ns/net) $V' 2>&1)"
check "no profile, --chroot: the environment is cleared" "" \
	"$(cd "$W/home" && runuser -u "$TU" -- env -i PATH="$W/bin:/usr/bin:/bin" HOME="$W/home" V=x nsbox run --chroot="$UROOT" -- sh -c 'echo $V' 2>&1)"
check "a profile keeps its own network namespace" "no" \
	"$(echo '[root]' >"$W/p.conf"; chmod 644 "$W/p.conf"; cd "$W/home" && runuser -u "$TU" -- env -i PATH="$W/bin:/usr/bin:/bin" HOME="$W/home" nsbox run --profile="$W/p.conf" -- readlink /proc/self/ns/net 2>&1 | grep -qx "$(readlink /proc/self/ns/net)" && echo yes || echo no)"
check "README: the macvlan went with the container" "eth0 eth0peer lo" \
	"$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"

restore
ip link del eth0 # the test's own
audit_check "readme"
finish

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Network interfaces (N1-N8). The whole test runs in a network namespace of
# its own (unshare -n), so the "host" of these containers is that namespace:
# no packet can reach the machine's interfaces. Addresses are link-local
# (169.254.0.0/16) and ULA (fd00::/8).
# shellcheck disable=SC2016
# (Not as root, lib.sh's need_root skips, or fails in CI.)
if [ -z "${NSBOX_T_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	NSBOX_T_NETNS=1 exec unshare -n sh "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
modes "$PRIV" "interfaces need root"

run() { "$NSBOX" run --chroot="$ROOT" "$@"; }
links() { ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' '; }
ip link set lo up
ip link add hveth type veth peer name hpeer
before=$(links)

out=$(run --caps=+net_raw --netif=veth:vout:eth0 \
	--set network.address=eth0:169.254.1.2/16 --set network.address=eth0:fd00::2/64 \
	--set network.address-outside=vout:169.254.1.1/16 --set network.address-outside=vout:fd00::1/64 \
	--set network.gateway=169.254.1.1 -- sh -c '
	ping -c1 -W2 169.254.1.1 >/dev/null && echo v4
	ping -c1 -W2 fd00::1 >/dev/null && echo v6
	ip route | grep -q "^default via 169.254.1.1 dev eth0" && echo gw
	ip -o link show eth0 | grep -q ",UP" && echo up')
check "veth with addresses on both ends: IPv4, IPv6, gateway, up" "v4 v6 gw up" "$(printf %s "$out" | tr "\n" " ")"
check "veth: the host end is gone after a clean exit" "$before" "$(links)"

# ping as root inside with the default capabilities (no net_raw): ICMP
# echo sockets for the container's groups, net.ipv4.ping_group_range set
# in its own network namespace, as podman does. busybox's ping opens raw
# sockets only (+net_raw above); Debian's iputils-ping falls back to an
# echo socket. It is copied without its file capability (cap_net_raw=ep):
# the kernel refuses to exec such a file without net_raw in the bounding set.
command -v ping >/dev/null || { echo "Bail out! no ping (make deps: iputils-ping)"; exit 1; }
PROOT="$W/proot"
cp -a "$ROOT" "$PROOT"
for f in "$(command -v ping)" $(ldd "$(command -v ping)" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
	mkdir -p "$PROOT$(dirname "$f")"; cp "$f" "$PROOT$f"
done
own "$PROOT"
range="0 2147483647"; [ "$MODE" != userns ] || range="0 65535"
check "ping_group_range covers the container's groups, in its own netns only" "$range|1 0" \
	"$(run --netif -- cat /proc/sys/net/ipv4/ping_group_range | tr '\t' ' ')|$(tr '\t' ' ' </proc/sys/net/ipv4/ping_group_range)"
check "iputils ping over a veth with the default capabilities: IPv4, IPv6" "v4 v6" \
	"$("$NSBOX" run --chroot="$PROOT" --netif=veth:vout:eth0 \
	--set network.address=eth0:169.254.1.2/16 --set network.address=eth0:fd00::2/64 \
	--set network.address-outside=vout:169.254.1.1/16 --set network.address-outside=vout:fd00::1/64 -- sh -c '
	/usr/bin/ping -c1 -W2 169.254.1.1 >/dev/null && echo v4
	/usr/bin/ping -c1 -W2 fd00::1 >/dev/null && echo v6' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
eff=$("$NSBOX" run --chroot="$PROOT" --netif -- awk '/^CapEff/ {print $2}' /proc/self/status)
check "ping: the container's root had no net_raw" "0" "$((0x$eff & 0x2000))"

check "veth:auto: the host end gets a name" "yes" \
	"$(run --netif=veth:auto:eth0 -- sh -c 'ip -o link show eth0 >/dev/null && echo yes')"
check "veth:auto: and is gone after" "$before" "$(links)"

err=$(run --netif=veth:hveth:eth0 -- true 2>&1); rc=$?
check "N1: an existing host name: 125" 125 "$rc"
check "N1: the message" "nsbox: command line: network.netif: host interface 'hveth' already exists" "$err"
check "N1: nothing created, nothing taken" "$before" "$(links)"

err=$(run --netif=macvlan:nosuch:mv0 -- true 2>&1)
check "N3: a missing master" "nsbox: command line: network.netif: no host interface 'nosuch' (the master)" "$err"
err=$(run --netif=nosuch:eth0 -- true 2>&1)
check "N3: moving a missing device" "nsbox: command line: network.netif: no host interface 'nosuch'" "$err"
if [ -d /sys/module/ipvlan ] || modprobe -n ipvlan 2>/dev/null; then
	check "ipvlan" "yes" "$(run --netif=ipvlan:hveth:iv0 -- sh -c 'ip -o link show iv0 >/dev/null && echo yes')"
else
	err=$(run --netif=ipvlan:hveth:iv0 -- true 2>&1)
	check "ipvlan: this kernel lacks it, and says so" \
		"nsbox: command line: network.netif: this kernel lacks the ipvlan interface type" "$err"
fi
check "macvlan on a master" "yes" "$(run --netif=macvlan:hveth:mv0 -- sh -c 'ip -o link show mv0 | grep -q ",UP" && echo yes')"
check "macvlan: gone after" "$before" "$(links)"

# macvlan: two containers on one master talk to each other
ip link set hveth up; ip link set hpeer up
"$NSBOX" run --chroot="$ROOT" --netif=macvlan:hveth:mv0 --set network.address=mv0:169.254.2.1/16 -- sleep 1731 &
pid=$!; wait_proc 'sleep 1731'
check "macvlan: traffic between two containers" "yes" \
	"$(run --caps=+net_raw --netif=macvlan:hveth:mv0 --set network.address=mv0:169.254.2.2/16 -- sh -c 'ping -c1 -W2 169.254.2.1 >/dev/null && echo yes')"
kill "$pid"; wait "$pid"
ip link set hveth down; ip link set hpeer down

# a profile alone gives a container a working link to the host
cat >"$W/link.conf" <<'P'
[network]
netif = veth:vprof:eth0
address = eth0:169.254.3.2/16
address-outside = vprof:169.254.3.1/16
gateway = 169.254.3.1
[security]
capabilities = +net_raw
P
check "a profile's veth link to the host" "yes" \
	"$(run --profile="$W/link.conf" -- sh -c 'ping -c1 -W2 169.254.3.1 >/dev/null && echo yes')"

# N4, N7: caught when the plan is checked, before anything starts
err=$(run --netif=veth:auto:eth0 --set network.address=eth0:300.1.1.1/33 -- true 2>&1); rc=$?
check "N7: an invalid CIDR: 125 at plan time" "125 1" "$rc $(printf '%s\n' "$err" | grep -c 'network.address')"
err=$(run --netif=veth:auto:lo -- true 2>&1); rc=$?
check "N4: lo as an inside name: 125 at plan time" "125 1" "$rc $(printf '%s\n' "$err" | grep -c 'network.netif')"
err=$(run --netif=veth:auto:eth0 --netif=veth:auto:eth0 -- true 2>&1); rc=$?
check "N4: the same inside name twice: 125" "125 1" "$rc $(printf '%s\n' "$err" | grep -c 'network.netif')"
check "nothing created by refused plans" "$before" "$(links)"

check "move a host device in under a new name" "in0" \
	"$(run --netif=hpeer:in0 -- sh -c "ip -o link | awk -F': ' '\$2 ~ /^in0/{print \"in0\"}'")"
check "N6: a clean exit moves it back under its name" "$before" "$(links)"

# N5, N6: kill -9 of nsbox: the namespace dies with the container, and
# virtual interfaces with it (the kernel does this in the background).
"$NSBOX" run --chroot="$ROOT" --netif=veth:vkill:eth0 --netif=hpeer:in0 -- sleep 3015 &
pid=$!; wait_proc 'sleep 3015'; kill -KILL "$pid"; wait "$pid" 2>/dev/null
wait_until '! ip link show vkill >/dev/null 2>&1'
check "N5: kill -9: no host end of a veth left" "no" "$(ip link show vkill >/dev/null 2>&1 && echo yes || echo no)"
check "N6: kill -9: a moved veth end is destroyed with the namespace, and its peer" "" \
	"$(links | tr ' ' '\n' | grep -x 'hveth\|hpeer')"
"$NSBOX" gc >/dev/null 2>&1
ip link add hveth type veth peer name hpeer

# N2: two runs with the same fixed host name: one wins, the other is
# refused; the first lives until it is told to end (TERM, which it traps)
"$NSBOX" run --chroot="$ROOT" --name=vsame --netif=veth:vsame:eth0 -- \
	sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' &
pid=$!; wait_running vsame
err=$(run --netif=veth:vsame:eth0 -- true 2>&1); rc=$?
kill "$pid"; wait "$pid"; rc1=$?
check "N2: the first run" 0 "$rc1"
check "N2: the second is refused" "125 nsbox: command line: network.netif: host interface 'vsame' already exists" "$rc $err"
check "N2: nothing leaked" "$before" "$(links)"

check "ip -o link identical to the start" "$before" "$(links)"
ip link del hveth # the test's own
audit_check "after all runs"
finish

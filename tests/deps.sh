#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian packages nsbox needs to build and test, if any is
# missing. A no-op when all are present. Supported hosts: Debian 12
# (bookworm) and 13 (trixie); anything else stops here, in one line.
set -eu

field() { sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | tr -d "\"'" | head -n 1; }
case "$(field ID) $(field VERSION_ID)" in
"debian 12" | "debian 13") ;;
*)
	name=$(field PRETTY_NAME)
	echo "deps: ${name:-this system (no /etc/os-release)} is not supported: nsbox builds and is tested on Debian 12 (bookworm) and 13 (trixie) only (README.md, Supported hosts)" >&2
	exit 1 ;;
esac

pkgs="gcc make pkg-config libinih-dev libmnl-dev libcap-dev libarchive-dev
libcmocka-dev libc6-dev busybox-static perl iproute2 uidmap mmdebstrap mandoc cppcheck shellcheck
clang clang-format python3 zstd xz-utils bzip2 lz4 attr acl libcap2-bin libarchive-tools
libsystemd-dev dbus-daemon python3-dbusmock systemd-container iputils-ping
xvfb x11-utils autopkgtest sbuild"

# make check-vm's host side (the guest image holds the list above only)
vmhost="qemu-system-x86 e2fsprogs"

# make check-ci: the CI engines that drive nsbox (tests/ci): buildbot and
# its worker; debci's worker and collector, and the RabbitMQ broker that
# t-debci starts by hand on loopback (the service the package would start
# is kept from starting, below)
ci="buildbot buildbot-worker debci debci-worker debci-collector rabbitmq-server amqp-tools"

# make check-peer: autopkgtest's own suite (tests/peer) builds with debhelper
peer="debhelper"

missing=
# `make deps` (no argument): what make check and make check-vm need, and
# what the README's quick start installs; `make deps-ci` (argument ci):
# what make check-ci and make check-peer need (CI engines, not make check)
want="$pkgs $vmhost"
[ "${1:-}" != ci ] || want="$ci $peer"
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing (run make deps as root)" >&2
	exit 1
fi
echo "deps: installing:$missing"
# another apt-get (a second checkout's make deps) holds the lock: wait
apt-get -o DPkg::Lock::Timeout=600 update -q
# No service starts at install (rabbitmq-server would listen on every
# interface, debci-worker would start a worker): where no policy-rc.d
# says so already, one says it for this install, and goes after it.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# make deps: no service starts while it installs\nexit 101\n' >"$policy"
	chmod 755 "$policy"
fi
# shellcheck disable=SC2086 # word splitting is wanted
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing

#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh
# Shared by tests/ci/t-debci.sh and tests/bench/bench-debci.sh (sourced,
# not run): a RabbitMQ broker of the caller's own, on loopback, and a
# debci tree of its own with the nsbox backend in it.

# debci_free_port: a TCP port nothing listens on, from the dynamic range
debci_free_port() {
	while :; do
		_p=$(shuf -i 20000-32000 -n 1)
		ss -Htln "sport = :$_p" | grep -q . || { echo "$_p"; return; }
	done
}

# debci_broker_start DIR: rabbitmq-server, its state and logs in DIR, on
# 127.0.0.1 only: AMQP on $AMQP_PORT, Erlang distribution on $DIST_PORT,
# an epmd of its own on $EPMD_PORT (so that stopping it stops no one
# else's); HOME is DIR (the Erlang cookie), and no file of /etc/rabbitmq
# is read. Started by hand (no init system here to start it), as root.
# $rabbit_pid; 1 when it is not listening after 30 s (its log's end on
# stderr).
debci_broker_start() {
	_r=$1
	AMQP_PORT=$(debci_free_port) DIST_PORT=$(debci_free_port) EPMD_PORT=$(debci_free_port)
	mkdir -p "$_r"
	echo '[].' >"$_r/enabled_plugins"
	: >"$_r/env.conf"
	(
		export HOME="$_r" RABBITMQ_CONF_ENV_FILE="$_r/env.conf" RABBITMQ_CONFIG_FILE="$_r/rabbitmq" \
			RABBITMQ_ENABLED_PLUGINS_FILE="$_r/enabled_plugins" RABBITMQ_MNESIA_BASE="$_r/mnesia" \
			RABBITMQ_LOG_BASE="$_r/log" RABBITMQ_PID_FILE="$_r/pid" RABBITMQ_NODENAME="nsbox-debci-$$@localhost" \
			RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$DIST_PORT" \
			RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
			ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD_PORT"
		cd "$_r" && exec /usr/lib/rabbitmq/bin/rabbitmq-server
	) >"$_r/out" 2>&1 &
	rabbit_pid=$!
	_i=0
	until ss -Htln "sport = :$AMQP_PORT" | grep -q .; do
		_i=$((_i + 1))
		if [ "$_i" -gt 300 ] || ! kill -0 "$rabbit_pid" 2>/dev/null; then
			tail -5 "$_r/out" >&2
			return 1
		fi
		sleep 0.1
	done
}

# debci_broker_stop: SIGTERM (RabbitMQ's clean stop), SIGKILL after 30 s;
# then its epmd
debci_broker_stop() {
	if [ -n "${rabbit_pid:-}" ]; then
		kill -TERM "$rabbit_pid" 2>/dev/null
		_i=0
		while kill -0 "$rabbit_pid" 2>/dev/null && [ "$_i" -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -KILL "$rabbit_pid" 2>/dev/null
		wait "$rabbit_pid" 2>/dev/null
	fi
	[ -z "${EPMD_PORT:-}" ] || ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1
	rabbit_pid=''
}

# debci_tree TOP DIR: a debci of the caller's own in DIR: a copy of the
# installed debci's bin/ (debci finds its backends only beside its own
# bin/, by its real path), its lib/, and the nsbox backend installed by
# TOP's make install-debci (the man page in DIR/man).
debci_tree() {
	cp -a /usr/share/debci/bin "$2/bin" && ln -s /usr/share/debci/lib "$2/lib" &&
		make -s -C "$1" install-debci DESTDIR='' DEBCIDIR="$2" MANDIR="$2/man"
}

# debci_consumers: how many amqp-consume (debci workers) are connected to
# the broker
debci_consumers() {
	ss -Htnp state established "dport = :$AMQP_PORT" | grep -c amqp-consume
}

# debci_config DIR SUITE MIRROR: the caller's debci.conf in DIR/conf (data
# in DIR/data, the broker above, the testbed tarballs and debci setup's
# timestamp in $BASES), exported as debci_config_dir with TMPDIR (DIR/tmp),
# NSBOX and a PATH where autopkgtest finds TOP's autopkgtest-virt-nsbox
debci_config() {
	mkdir -p "$1/conf" "$1/data" "$1/tmp" "$BASES"
	chmod 755 /var/cache/nsbox-test "$BASES"
	cat >"$1/conf/debci.conf" <<EOF
debci_suite=$2
debci_data_basedir=$1/data
debci_amqp_server=amqp://guest:guest@127.0.0.1:$AMQP_PORT
debci_mirror=$3
debci_lock_dir=$BASES
debci_nsbox_dir=$BASES
EOF
	export debci_config_dir="$1/conf" TMPDIR="$1/tmp" PATH="$TOP/helpers:$PATH" NSBOX="$TOP/nsbox"
}

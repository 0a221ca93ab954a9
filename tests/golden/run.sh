#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Golden tests: run nsbox with the arguments in cases/NAME.args (one per
# line) from the top of the tree and compare stdout, stderr and the exit
# status with cases/NAME.out. UPDATE=1 rewrites the .out files.
set -u
cd "$(dirname "$0")/../.." || exit 1
NSBOX_PROFILE_PATH=profiles:tests/data/profiles:tests/data/shadow
export NSBOX_PROFILE_PATH
unset XDG_CONFIG_HOME

n=0
for args in tests/golden/cases/*.args; do
	n=$((n + 1))
done
echo "1..$n"

i=0
fail=0
for args in tests/golden/cases/*.args; do
	i=$((i + 1))
	name=${args%.args}
	out=$(mktemp)
	# One argument per line; a line may hold spaces.
	(
		set --
		while IFS= read -r a; do set -- "$@" "$a"; done <"$args"
		./nsbox "$@" 2>&1
		echo "# exit $?"
	) | grep -v '^[a-z0-9-]* *  */' >"$out"
	if [ "${UPDATE:-}" = 1 ]; then
		cp "$out" "$name.out"
	fi
	if diff -u "$name.out" "$out" >"$out.diff"; then
		echo "ok $i - ${name##*/}"
	else
		echo "not ok $i - ${name##*/}"
		sed 's/^/# /' "$out.diff"
		fail=1
	fi
	rm -f "$out" "$out.diff"
done
exit $fail

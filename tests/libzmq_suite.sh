#!/usr/bin/env bash
# libzmq_suite.sh BUILD_DIR: runs libzmq 4.3.4's own test programs against the
# libzmq.so.5 in BUILD_DIR/lib (../shared/tools/libzmq-tests.sh, which builds them once
# from the vendored tarball into its cache folder) and fails if any program fails that
# is not listed in tests/libzmq_expected_failures.txt. A listed program that passes is
# reported, so the list only ever shrinks.
#
# Without the shared tools folder (a checkout outside the workplace) there is nothing
# to run: it says so and exits 0, because the suite is not ours to ship.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-build}
# The workplace's shared tools sit beside the project (../shared); a clone elsewhere
# (a CI check in /tmp) finds them at the workplace's own place.
tool=${LIBZMQ_TESTS_TOOL:-$here/../../shared/tools/libzmq-tests.sh}
[ -x "$tool" ] || [ -n "${LIBZMQ_TESTS_TOOL:-}" ] || tool=/work/shared/tools/libzmq-tests.sh
if [ ! -x "$tool" ]; then
	echo "libzmq suite: $tool not found, not run"
	exit 0
fi
expected=$(grep -v '^#' "$here/libzmq_expected_failures.txt" | awk '{print $1}')
logs=${LIBZMQ_TESTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zinc-libzmq-tests}/logs
# Programs whose own timing is racy, so that they fail now and then on a loaded machine
# against libzmq itself, get one retry, alone (the tool's FLAKY_TESTS): the tool's two
# (upstream issue #2733), and test_filter_ipc, whose refused client sends right after
# connecting while the refusal may already have taken its pipe away (1 run in 10 on
# libzmq 4.3.4 as well as on zinc, with the machine loaded), and test_mock_pub_sub,
# whose SUB is never called again once its raw peer waits for the subscription, so a
# connection attached a moment late is never seen (libzmq 4.3.4 hangs there too under
# load: 3 hangs in 3 loops of it).
# (test_hwm_pubsub was retried too while zinc's sender ran its commands, the pipe's
# credits among them, on every send: its blocking case needs the publisher to meet its
# HWM before the I/O thread drains 6000 empty messages into the kernel, and lost that
# race about 1 run in 10. A send now runs them at most once a millisecond, as libzmq's
# (socket/socket_io.c): 20 of 20 runs pass.)
export FLAKY_TESTS=${FLAKY_TESTS-test_security_curve test_security_zap test_filter_ipc test_mock_pub_sub}
results=$(mktemp)
"$tool" "$dir/lib" "$results" | tail -n 1
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 2 ]; then
	echo "libzmq suite: setup failed (exit 2)"
	rm -f "$results"
	exit 1
fi
fail=0
while read -r verdict name _; do
	case $verdict in
	FAIL | TIMEOUT)
		if grep -qx "$name" <<<"$expected"; then
			echo "libzmq suite: $name fails (expected, listed)"
		else
			echo "libzmq suite: $name: $verdict, and it should pass"
			log=$(ls -td "$logs"/run-*/ 2>/dev/null | head -n 1)
			[ -n "$log" ] && tail -n 30 "$log/$name.log" 2>/dev/null
			fail=1
		fi
		;;
	PASS)
		if grep -qx "$name" <<<"$expected"; then
			echo "libzmq suite: $name passes now: take it off libzmq_expected_failures.txt"
		fi
		;;
	esac
done <"$results"
rm -f "$results"
exit $fail

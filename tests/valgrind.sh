#!/usr/bin/env bash
# valgrind.sh BUILD_DIR: runs every C test program under valgrind's memcheck; fails on
# any error or any byte lost. (Shell and Python tests are not memchecked.)
#
# Each program gets at most VG_TIMEOUT seconds (default 600): a hang must fail with a
# name, not run CI into its overall limit. --fair-sched=yes because valgrind runs one
# thread at a time, and without it a thread that waits actively can starve the one it
# waits for. ZINC_TEST_UNDER_VALGRIND=1 lets a test skip what only measures time
# (test_pubsub's timed subscription hand-over).
set -u
dir=${1:-build}
limit=${VG_TIMEOUT:-600}
fail=0
# Every program once, then the shm:// suites again with spinning on (as ctest's
# *_spin entries do).
runs=()
for t in "$dir"/bin/test_*; do
	[ -x "$t" ] && runs+=("$t:")
done
for t in test_shm test_shm_types; do
	runs+=("$dir/bin/$t:ZINC_TEST_SPIN_US=100")
done
for run in "${runs[@]}"; do
	t=${run%%:*}
	env=${run#*:}
	[ -x "$t" ] || continue
	log=$(mktemp)
	start=$SECONDS
	env $env ZINC_TEST_UNDER_VALGRIND=1 timeout -k 10 "$limit" valgrind --quiet --fair-sched=yes --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		"$t" >"$log" 2>&1
	rc=$?
	took=$((SECONDS - start))
	if [ $rc -eq 0 ]; then
		echo "valgrind ok   $(basename "$t") ${env:+($env) }(${took} s)"
	elif [ $rc -eq 77 ]; then
		echo "valgrind skip $(basename "$t") (its peer is not installed)"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "valgrind FAIL $(basename "$t") $env: still running after ${limit} s"
		tail -n 40 "$log"
		fail=1
	else
		echo "valgrind FAIL $(basename "$t") $env (exit $rc)"
		tail -n 40 "$log"
		fail=1
	fi
	rm -f "$log"
done
exit $fail

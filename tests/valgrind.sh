#!/usr/bin/env bash
# valgrind.sh BUILD_DIR: runs every C test program under valgrind's memcheck; fails on
# any error or any byte lost. (Shell and Python tests are not memchecked.)
set -u
dir=${1:-build}
fail=0
for t in "$dir"/bin/test_*; do
	[ -x "$t" ] || continue
	log=$(mktemp)
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		"$t" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "valgrind ok   $(basename "$t")"
	elif [ $rc -eq 77 ]; then
		echo "valgrind skip $(basename "$t") (its peer is not installed)"
	else
		echo "valgrind FAIL $(basename "$t")"
		tail -n 40 "$log"
		fail=1
	fi
	rm -f "$log"
done
exit $fail

#!/usr/bin/env bash
# run_all.sh: builds zinc and runs every test four ways: plain (ctest), under
# ASan+UBSan and under TSan (ctest on sanitizer builds), and under valgrind memcheck;
# then libzmq 4.3.4's own test suite against the plain build (tests/libzmq_suite.sh).
# Exit status is non-zero if anything failed. This is the README's test command and
# what CI runs.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DZINC_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== ctest"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (ASan+UBSan)"
cmake -S . -B build-asan -DZINC_SANITIZE=address,undefined -DZINC_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== ctest under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" \
	-E 'pyzmq|exports|abi_constants'

# TSan needs gcc (clang's TSan runtime does not link into the shared library) and
# its own build: it cannot be combined with ASan. No suppression file: a report is a
# bug, and ThreadSanitizer exits non-zero on any report, which fails the test.
# test_fork is left out: its child starts threads after forking a multi-threaded
# parent, which TSan does not support (it kills the child, or with die_after_fork=0
# reports a "dup thread" in its own bookkeeping).
echo "== build (TSan)"
cmake -S . -B build-tsan -DZINC_SANITIZE=thread -DCMAKE_C_COMPILER=gcc -DZINC_WERROR=ON \
	>/dev/null
cmake --build build-tsan -j"$jobs"
echo "== ctest under TSan"
ctest --test-dir build-tsan --output-on-failure -j"$jobs" \
	-E 'pyzmq|exports|abi_constants|test_fork'

echo "== valgrind"
tests/valgrind.sh build
echo "== libzmq 4.3.4 test suite"
tests/libzmq_suite.sh build
echo "all test runs passed"

#!/usr/bin/env bash
# run_all.sh: builds zinc and runs every test three ways: plain (ctest), under
# ASan+UBSan (ctest on a sanitizer build), and under valgrind memcheck. Exit status is
# non-zero if anything failed. This is the README's test command and what CI runs.
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

echo "== valgrind"
tests/valgrind.sh build
echo "all test runs passed"

#!/usr/bin/env bash
# oom_sweep.sh [BUILD_DIR] [oom_sweep arguments...]: the whole failure sweep (stride 1,
# both hooks, once and sticky, every scenario) of tests/oom_sweep.c. BUILD_DIR
# defaults to build-asan, configured and built here with -DZINC_SANITIZE=address,undefined
# when missing, so that LeakSanitizer checks every run. Prints one line per scenario
# (K allocations, K descriptor calls, runs) and the total; exit status non-zero on the
# first failing run, which is named with the arguments that repeat it.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build-asan}
[ $# -gt 0 ] && shift
if [ ! -x "$dir/bin/oom_sweep" ]; then
	if [ "$dir" = build-asan ]; then
		cmake -S . -B build-asan -DZINC_SANITIZE=address,undefined -DZINC_WERROR=ON \
			>/dev/null
	fi
	cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target oom_sweep
fi
start=$SECONDS
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$dir/bin/oom_sweep" --all "$@"
echo "oom_sweep.sh: $((SECONDS - start)) s"

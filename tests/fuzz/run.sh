#!/bin/sh
# run.sh: builds zinc's libFuzzer targets (clang, ASan+UBSan) and runs each for a given
# time on one core, one after the other, then prints per target the executions, the
# speed and the crashes (and where their inputs are).
#
# Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]   (from the source tree's top)
#   SECONDS  time per target (default 60; 0: no limit, with RUNS)
#   TARGET   fuzz_* names (default: every target); their seed corpus is
#            tests/fuzz/corpus/<TARGET without fuzz_>
# Environment: BUILD (default build-fuzz), FUZZ_ARGS (extra libFuzzer flags),
#   RUNS     stop each target after this many executions (libFuzzer's -runs), e.g. the
#            issue's campaign: RUNS=10000000 tests/fuzz/run.sh 0
# One line per target: executions, exec/s, wall seconds, crashes (crash, leak, timeout
# and oom inputs new in this run) and the inputs' names; then a total line. The exit
# status is 0 only if no target found anything.
#
# The seed corpus in the repository is read, never written: each target's growing
# corpus is $BUILD/fuzz-work/<target>/corpus, its crash, leak and timeout inputs land in
# $BUILD/fuzz-work/<target>/ and its log is $BUILD/fuzz-work/<target>/log. A crash
# input, once fixed, belongs in the seed corpus as a regression (ctest replays it).
set -u
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${BUILD:-build-fuzz}
all="fuzz_zmtp_decoder fuzz_mech_server fuzz_engine_server fuzz_engine_client \
fuzz_xpub fuzz_endpoint fuzz_sockopt fuzz_z85 fuzz_shm_ring fuzz_shm_setup"
targets=${*:-$all}

cmake -B "$build" -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON >/dev/null || exit 1
# shellcheck disable=SC2086 # one target name per word
cmake --build "$build" -j2 --target $targets >/dev/null || exit 1

limits="-max_total_time=$secs"
[ "$secs" = 0 ] && limits=
[ -n "${RUNS:-}" ] && limits="$limits -runs=$RUNS"

# found DIR: the names of the crash, leak, timeout and oom inputs in DIR.
found() {
	for f in "$1"/crash-* "$1"/leak-* "$1"/timeout-* "$1"/oom-*; do
		[ -e "$f" ] && printf '%s ' "${f##*/}"
	done
}

total_crashes=0
total_runs=0
printf '%-20s %12s %9s %7s %8s %s\n' target executions exec/s seconds crashes inputs
for t in $targets; do
	work=$build/fuzz-work/$t
	mkdir -p "$work/corpus"
	seeds=tests/fuzz/corpus/${t#fuzz_}
	before=$(found "$work" | wc -w)
	# One process, one core: -jobs=1 -workers=1 runs it as a child with its log in
	# fuzz-0.log; -fork is not used so the executions are counted in one place.
	start=$(date +%s)
	# shellcheck disable=SC2086 # limits and FUZZ_ARGS are lists of flags
	(cd "$work" && rm -f fuzz-0.log && "$OLDPWD/$build/bin/$t" -jobs=1 -workers=1 \
		$limits -timeout=10 -print_final_stats=1 -artifact_prefix=./ ${FUZZ_ARGS:-} \
		corpus "$OLDPWD/$seeds" >/dev/null 2>&1)
	elapsed=$(($(date +%s) - start))
	log=$work/fuzz-0.log
	[ -f "$log" ] && cp "$log" "$work/log"
	runs=$(grep -E '^stat::number_of_executed_units:' "$log" 2>/dev/null | tail -1 |
		awk '{print $2}')
	speed=$(grep -E '^stat::average_exec_per_sec:' "$log" 2>/dev/null | tail -1 |
		awk '{print $2}')
	after=$(found "$work" | wc -w)
	crashes=$((after - before))
	total_crashes=$((total_crashes + crashes))
	total_runs=$((total_runs + ${runs:-0}))
	printf '%-20s %12s %9s %7s %8s %s\n' "$t" "${runs:-?}" "${speed:-?}" "$elapsed" \
		"$crashes" "$(found "$work")"
done
printf '%-20s %12s %9s %7s %8s\n' total "$total_runs" - - "$total_crashes"
[ "$total_crashes" -eq 0 ]

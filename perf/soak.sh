#!/usr/bin/env bash
# soak.sh: builds perf/soak.c against zinc and runs it (see the comment at its top):
# sockets created, connected over tcp/ipc/shm, used and closed in a loop, peers killed,
# with RSS, the heap in use and the descriptor count printed every report interval;
# exits non-zero if one grew beyond its bound or a local client cycle failed.
#
# usage: perf/soak.sh [seconds (default 600)] [report-every-seconds (default 30)]
# Environment: ZINC_BUILD (default <repo>/build); SOAK_FD_SLACK, SOAK_HEAP_SLACK_KIB,
# SOAK_RSS_SLACK_KIB (the bounds, see soak.c).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZINC_BUILD:-$root/build}
secs=${1:-600}
every=${2:-30}
{ [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" >/dev/null; }
cmake --build "$build" --target soak >/dev/null
exec "$build/bin/soak" "$secs" "$every"

#!/usr/bin/env bash
# many_peers.sh: perf/many_peers.c against zinc and against the system libzmq: PEERS tcp
# DEALERs (one process) on one ROUTER (another), ROUNDS rounds of SIZE-byte messages,
# and the RSS each connection costs on both sides. Needs about 2-3 descriptors per peer
# in the client process (the soft limit is raised to the hard one).
#
# usage: perf/many_peers.sh [peers (default 9000)] [rounds (default 100)] [size (64)]
# Environment: ZINC_BUILD (default <repo>/build), CC (default cc).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZINC_BUILD:-$root/build}
cc=${CC:-cc}
peers=${1:-9000}
rounds=${2:-100}
size=${3:-64}
scratch=$(mktemp -d /tmp/zinc-many-peers.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
{ [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" >/dev/null; }
cmake --build "$build" --target zinc zmq_dropin >/dev/null || exit 1
cflags="-std=c11 -O2 -Wall -Wextra"
rc=0
# shellcheck disable=SC2086
if $cc $cflags -o "$scratch/many_peers_libzmq" "$root/perf/many_peers.c" -lzmq 2>/dev/null; then
	echo "== libzmq (system): $peers peers, $rounds rounds of $size B"
	"$scratch/many_peers_libzmq" "$peers" "$rounds" "$size" || rc=1
else
	echo "== libzmq: not built (is libzmq3-dev installed?)"
fi
# The drop-in libzmq.so.5 of the zinc build, found first through the rpath.
# shellcheck disable=SC2086
$cc $cflags -I"$root/include" -o "$scratch/many_peers_zinc" "$root/perf/many_peers.c" \
	-L"$build/lib" -lzmq -Wl,-rpath,"$build/lib" || exit 1
echo "== zinc ($build/lib): $peers peers, $rounds rounds of $size B"
"$scratch/many_peers_zinc" "$peers" "$rounds" "$size" || rc=1
exit $rc

#!/usr/bin/env bash
# ceiling.sh: how far a row of perf/compare.sh can go. For tcp and ipc, each size, runs
# the throughput (local_thr/remote_thr) and latency (local_lat/remote_lat) tools against
# libzmq and against zinc, and stream_ceiling
# (perf/stream_ceiling.c): the same bytes through the same kind of socket with no
# library at all, one buffer reused on each side, so only the kernel's two copies and
# its wake-ups; its sender's first 1000 messages (the default high-water mark) come
# from pages never used before, as a library's full queue holds that many bodies before
# the first is reused (-f); for latency, a ping-pong of blocking reads, one wake-up a
# message. Prints a markdown table: the three figures, zinc/libzmq and ceiling/libzmq
# (for latency, libzmq's time over the other's: > 1 is better), the ceiling's ratio
# being the most any library could reach over libzmq on that row and machine
# (docs/ARCHITECTURE.md, "Issue 12, seventeenth round").
#
# usage: perf/ceiling.sh [-t "tcp ipc"] [-s "64K 1M"] [-x "thr lat"] [-r n] [-c factor]
#                        [-p] [-w bytes] [-f n]
#   -t  transports (tcp, ipc), default both
#   -s  sizes (K and M suffixes are KiB and MiB), default "64K 1M"
#   -x  tests, default "thr lat"
#   -r  runs per cell, the three alternating, median reported; default 3
#   -c  multiply the message counts (those of compare.sh) by factor, default 1
#   -p  pin the receiver to CPU 1 and the sender to CPU 0 (as compare.sh -p)
#   -w  the ceiling's largest write, default 65483 (one loopback tcp segment; also
#       the fastest for a Unix socket of the sizes tried: 32768 and whole messages
#       were slower)
#   -f  the ceiling's messages from fresh pages, default 1000 (0: the steady state)
# Environment: ZINC_BUILD (default <repo>/build): zinc is the libzinc.so there, as it
# is (build it first); CC (default cc). The libzmq column needs libzmq3-dev.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZINC_BUILD:-$root/build}
cc=${CC:-cc}
transports="tcp ipc"
sizes="64K 1M"
tests="thr lat"
repeats=3
factor=1
pin=0
write_max=65483
fresh=1000
while getopts "t:s:x:r:c:pw:f:h" opt; do
	case $opt in
	t) transports=$OPTARG ;;
	s) sizes=$OPTARG ;;
	x) tests=$OPTARG ;;
	r) repeats=$OPTARG ;;
	c) factor=$OPTARG ;;
	p) pin=1 ;;
	w) write_max=$OPTARG ;;
	f) fresh=$OPTARG ;;
	*) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

scratch=$(mktemp -d /tmp/zinc-ceiling.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
log() { echo "ceiling: $*" >&2; }

cflags="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra"
mkdir -p "$scratch/raw" "$scratch/libzmq" "$scratch/zinc/lib"
$cc $cflags -o "$scratch/raw/stream_ceiling" "$root/perf/stream_ceiling.c" || exit 1
if [ ! -f "$build/lib/libzinc.so" ]; then
	log "no $build/lib/libzinc.so (build zinc first)"
	exit 1
fi
cp -P "$build"/lib/libzinc.so* "$scratch/zinc/lib/"
for t in local_thr remote_thr local_lat remote_lat; do
	$cc $cflags -o "$scratch/libzmq/$t" "$root/perf/$t.c" -lzmq || exit 1
	$cc $cflags -o "$scratch/zinc/$t" "$root/perf/$t.c" -I"$root/include" \
		-L"$scratch/zinc/lib" -lzinc -Wl,-rpath,"$scratch/zinc/lib" || exit 1
done

pin_local=()
pin_remote=()
if [ "$pin" = 1 ]; then
	pin_local=(taskset -c 1)
	pin_remote=(taskset -c 0)
fi

# shellcheck source=perf/bench_lib.sh
. "$root/perf/bench_lib.sh"

# run_one <raw|libzmq|zinc> <transport> <test> <size> <count>: the figure (msg/s, or
# the one-way latency in us), or n/a.
run_one() {
	local who=$1 tr=$2 test=$3 ep out=$scratch/out.$1
	ep=$(next_endpoint "$tr")
	local recv=("$scratch/$who/local_$test" "$ep" "$4" "$5")
	local send=("$scratch/$who/remote_$test" "$ep" "$4" "$5")
	if [ "$who" = raw ] && [ "$test" = thr ]; then
		recv=("$scratch/raw/stream_ceiling" recv "$ep" "$4" "$5")
		send=("$scratch/raw/stream_ceiling" send "$ep" "$4" "$5" "$write_max" "$fresh")
	elif [ "$who" = raw ]; then
		recv=("$scratch/raw/stream_ceiling" echo "$ep" "$4" "$5")
		send=("$scratch/raw/stream_ceiling" ping "$ep" "$4" "$5")
	fi
	"${pin_local[@]}" timeout 60 "${recv[@]}" </dev/null >"$out.local" 2>"$out.err" &
	local lpid=$! i=0
	while ! listening "$ep" && kill -0 "$lpid" 2>/dev/null && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	"${pin_remote[@]}" timeout 60 "${send[@]}" </dev/null >"$out.remote" 2>>"$out.err"
	local rc=$?
	wait "$lpid" || rc=$?
	local v measured=$out.local
	[ "$test" = lat ] && measured=$out.remote
	v=$(result "$measured" "$test")
	if [ $rc -ne 0 ] || [ -z "$v" ]; then
		log "$who $tr $test $4: failed (exit $rc) $(head -c 300 "$out.err" | tr '\n' ' ')"
		echo n/a
	else
		echo "$v"
	fi
}

div() {
	case "$1$2" in *n/a*) echo "n/a"; return ;; esac
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# better <test> <this> <libzmq>: this over libzmq for throughput, libzmq over this for
# latency (> 1: better than libzmq).
better() {
	if [ "$1" = thr ]; then div "$2" "$3"; else div "$3" "$2"; fi
}

echo "| transport | test | size | ceiling (no library) | libzmq | zinc | zinc vs libzmq | ceiling vs libzmq | zinc vs ceiling |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for tr in $transports; do
	for test in $tests; do
		label="throughput [msg/s]"
		[ "$test" = lat ] && label="latency [us]"
		for s in $sizes; do
			size=$(bytes "$s")
			n=$(count "$tr" "$test" "$size")
			raws="" lzs="" zns=""
			for _ in $(seq "$repeats"); do
				raws="$raws $(run_one raw "$tr" "$test" "$size" "$n")"
				lzs="$lzs $(run_one libzmq "$tr" "$test" "$size" "$n")"
				zns="$zns $(run_one zinc "$tr" "$test" "$size" "$n")"
			done
			log "$tr $test $s x $n: ceiling$raws, libzmq$lzs, zinc$zns"
			# shellcheck disable=SC2086
			raw=$(median $raws)
			# shellcheck disable=SC2086
			lz=$(median $lzs)
			# shellcheck disable=SC2086
			zn=$(median $zns)
			echo "| $tr | $label | $s | $raw | $lz | $zn | $(better "$test" "$zn" "$lz") |" \
				"$(better "$test" "$raw" "$lz") | $(better "$test" "$zn" "$raw") |"
		done
	done
done

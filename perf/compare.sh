#!/usr/bin/env bash
# compare.sh: builds the perf tools in perf/ twice, against zinc and against the system
# libzmq, runs latency and throughput over inproc, ipc and tcp for both, and prints a
# markdown table with the ratio (> 1 means zinc is better). The "pubsub" transport is
# PUB/SUB throughput over tcp (local_sub_thr and remote_pub_thr; no latency row);
# "pubsub-ipc" the same over ipc; "pubsub-inproc" the fan-out from one PUB to two SUBs
# over inproc (inproc_pub_thr). "spinlat" is one-way latency (half the round trip) of
# PAIR, PUSH/PULL, REQ/REP and PUB/SUB at 64 B with its p50, p99 and p99.9
# (pattern_lat): zinc over shm:// spinning SPIN_US on both sides, libzmq over ipc://.
# "scale" is three rows over tcp (perf/scale.c): PUB to 100 SUBs (messages delivered per
# second in total), ROUTER echoing 1000 DEALERs (round trips per second), and the CPU
# time per message of PUSH/PULL paced at 10000 msg/s (both ends and the I/O threads).
#
# usage: perf/compare.sh [-t transports] [-s sizes] [-x tests] [-c factor] [-r n] [-p] [-n] [-k]
#   -t  transports to run, default "inproc ipc tcp tcp-curve shm shm-spin pubsub
#       spinlat scale"
#       (tcp-curve: tcp with CURVE on both sides, the same keys for both libraries;
#       shm: zinc's shm:// against libzmq's ipc://, libzmq having no shm; shm-spin: the
#       same with ZINC_SHM_SPIN_US on zinc's side, and PAIR sockets for latency on both
#       sides; shm-zc, not run by default: shm with ZINC_SHM_ZEROCOPY 65536 on zinc's
#       side, whose remote_thr makes its messages with zinc_msg_init_shm; HWM 16 on
#       both sides, so that what is in flight fits the pool)
#   -s  message sizes, default "64 1K 64K 1M" (bytes; K and M suffixes are KiB, MiB)
#   -x  tests to run, default "lat thr"
#   -c  multiply every message count by factor (e.g. 0.1 for a quick look), default 1
#   -r  run each cell n times, alternating libraries, and report the median, default 1
#       (wake-up latency on a small VM is bimodal; -r 3 or 5 steadies the figures)
#   -p  pin the two processes of a row that has two (ipc, tcp, pubsub, shm, ...) each
#       to a CPU of its own with taskset: the local side (receiver, or the latency
#       tools' echo) to CPU 1, the remote side to CPU 0. Unpinned, a 2-CPU machine
#       places each process's application and I/O threads on the same CPU or on
#       two by chance, and the 64 B rows swing 2x with it, for both libraries
#       (docs/ARCHITECTURE.md, "sixteenth round"); pinned, every run gets the
#       same placement. In-process rows (inproc, scale, spinlat) are not pinned.
#   -n  do not build zinc; use the libzinc.so in $ZINC_BUILD/lib as it is
#   -k  keep the scratch directory
# Environment: ZINC_BUILD, zinc's cmake build directory (default <repo>/build), built
# here (target zinc) unless -n; CC (default cc); ZINC_PERF_OPTS is passed to every tool
# (see perf/perf_opts.h); SPIN_US, the spin budget of the shm-spin rows (default 1000). Each run is bounded by `timeout 60`; a run that fails, hangs
# or is unsupported shows "n/a" and the reason goes to stderr.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
transports="inproc ipc tcp tcp-curve shm shm-spin pubsub spinlat scale"
spin_us=${SPIN_US:-1000}
sizes="64 1K 64K 1M"
tests="lat thr"
factor=1
repeats=1
pin=0
nobuild=0
keep=0
while getopts "t:s:x:c:r:pnkh" opt; do
	case $opt in
	t) transports=$OPTARG ;;
	s) sizes=$OPTARG ;;
	x) tests=$OPTARG ;;
	c) factor=$OPTARG ;;
	r) repeats=$OPTARG ;;
	p) pin=1 ;;
	n) nobuild=1 ;;
	k) keep=1 ;;
	*) sed -n '2,40s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done

# The commands that start the two sides of a row with two processes.
pin_local=()
pin_remote=()
if [ "$pin" = 1 ]; then
	if ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; then
		echo "compare: -p needs taskset and at least 2 CPUs" >&2
		exit 2
	fi
	pin_local=(taskset -c 1)
	pin_remote=(taskset -c 0)
fi

build=${ZINC_BUILD:-$root/build}
cc=${CC:-cc}
scratch=$(mktemp -d /tmp/zinc-compare.XXXXXX)
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "scratch kept in $scratch" >&2
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "compare: $*" >&2; }

# --- build ---------------------------------------------------------------------------

tools="inproc_lat inproc_thr inproc_pub_thr local_lat remote_lat local_thr remote_thr
	local_sub_thr remote_pub_thr pattern_lat scale"
cflags="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra"

# build_tools <dir> <extra cc args...>: compiles every tool into dir; 0 if all built.
build_tools() {
	local dir=$1
	shift
	mkdir -p "$dir"
	local t
	for t in $tools; do
		# shellcheck disable=SC2086
		if ! $cc $cflags -o "$dir/$t" "$root/perf/$t.c" "$@" -lpthread \
			2>"$dir/$t.cc.log"; then
			log "building $t in $dir failed:"
			cat "$dir/$t.cc.log" >&2
			return 1
		fi
	done
}

have_libzmq=1
if ! build_tools "$scratch/libzmq" -lzmq; then
	have_libzmq=0
	log "no libzmq column (is libzmq3-dev installed?)"
fi

# zinc: a private copy of libzinc.so, so a concurrent rebuild cannot change a run. If
# the build fails (src/ mid-change), the libzinc.so already there is used, with a note.
have_zinc=1
build_zinc() {
	{ [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build"; } &&
		cmake --build "$build" --target zinc
}
if [ "$nobuild" = 0 ] && ! build_zinc >"$scratch/cmake.log" 2>&1; then
	log "building zinc in $build failed:"
	grep -m 5 -E 'error|Error' "$scratch/cmake.log" >&2
	[ -f "$build/lib/libzinc.so" ] && log "using the libzinc.so already in $build/lib"
fi
if [ ! -f "$build/lib/libzinc.so" ]; then
	have_zinc=0
	log "no $build/lib/libzinc.so: no zinc column"
else
	mkdir -p "$scratch/zinc/lib"
	cp -P "$build"/lib/libzinc.so* "$scratch/zinc/lib/" &&
		build_tools "$scratch/zinc" -I"$root/include" -L"$scratch/zinc/lib" -lzinc \
			-Wl,-rpath,"$scratch/zinc/lib" || have_zinc=0
fi

# --- runs ----------------------------------------------------------------------------

# shellcheck source=perf/bench_lib.sh
. "$root/perf/bench_lib.sh"

# run_one <lib> <transport> <test> <size> <count>: one run; prints the figure, or n/a
# (with the reason on stderr) if the run failed, hung or printed no figure.
run_one() {
	local lib=$1 tr=$2 test=$3 size=$4 n=$5
	local bin=$scratch/$lib out=$scratch/out.$lib.$tr.$test.$size
	local rc=0 measured
	local opts=${ZINC_PERF_OPTS:-}
	if [ "$tr" = shm-spin ]; then
		# Latency with PAIR on both sides; throughput keeps PUSH/PULL.
		[ "$test" = lat ] && opts="${opts:+$opts,}pair=1"
		[ "$lib" = zinc ] && opts="${opts:+$opts,}shm_spin_us=$spin_us"
	fi
	[ "$tr" = tcp-curve ] && opts="${opts:+$opts,}curve=1"
	# Zero-copy: at most a pool's worth (64 MiB) in flight, so both sides get HWM 16.
	[ "$tr" = shm-zc ] && opts="${opts:+$opts,}sndhwm=16,rcvhwm=16"
	[ "$tr" = shm-zc ] && [ "$lib" = zinc ] && opts="${opts:+$opts,}shm_zerocopy=65536"
	export ZINC_PERF_OPTS=$opts

	if [ "$tr" = inproc ] || [ "$tr" = pubsub-inproc ]; then
		local itool=inproc_$test
		[ "$tr" = pubsub-inproc ] && itool=inproc_pub_thr
		timeout 60 "$bin/$itool" "$size" "$n" </dev/null >"$out" 2>"$out.err"
		rc=$?
		measured=$out
	else
		local ep ltool=local_$test rtool=remote_$test
		if [ "${tr%-ipc}" = pubsub ]; then
			ltool=local_sub_thr
			rtool=remote_pub_thr
		fi
		# shm:// is zinc's own: libzmq's figure for that row is its ipc://.
		if [ "${tr%-spin}" = shm ] || [ "$tr" = shm-zc ] && [ "$lib" = libzmq ]; then
			ep=$(next_endpoint ipc)
		else
			ep=$(next_endpoint "$tr")
		fi
		"${pin_local[@]}" timeout 60 "$bin/$ltool" "$ep" "$size" "$n" </dev/null \
			>"$out.local" 2>"$out.err" &
		local lpid=$!
		# Start the remote once the local side listens, so a connect that would
		# retry after reconnect_ivl does not show in the figures.
		local i=0
		while ! listening "$ep" && kill -0 "$lpid" 2>/dev/null && [ $i -lt 500 ]; do
			sleep 0.01
			i=$((i + 1))
		done
		if ! kill -0 "$lpid" 2>/dev/null; then
			wait "$lpid"
			rc=$?
		else
			"${pin_remote[@]}" timeout 60 "$bin/$rtool" "$ep" "$size" "$n" </dev/null \
				>"$out.remote" 2>>"$out.err" &
			local rpid=$! first
			wait -n -p first "$lpid" "$rpid"
			rc=$?
			local other=$rpid
			[ "$first" = "$rpid" ] && other=$lpid
			# One side failed: the other would wait for it until the timeout.
			[ $rc -ne 0 ] && kill "$other" 2>/dev/null
			wait "$other"
			local rc2=$?
			[ $rc -eq 0 ] && rc=$rc2
		fi
		[ -S "${ep#ipc://}" ] && rm -f "${ep#ipc://}"
		measured=$out.local
		[ "$test" = lat ] && measured=$out.remote
	fi

	local v=""
	[ $rc -eq 0 ] && v=$(result "$measured" "$test")
	if [ -z "$v" ]; then
		local why
		why=$(head -c 300 "$out.err" | tr '\n' ' ')
		[ $rc -eq 124 ] && why="timed out after 60 s; $why"
		log "$lib $tr $test $size: failed (exit $rc) ${why}"
		echo "n/a"
	else
		echo "$v"
	fi
}

# ratio <test> <libzmq> <zinc>: zinc/libzmq for throughput, libzmq/zinc for latency.
ratio() {
	case "$2$3" in *n/a*) echo "n/a"; return ;; esac
	awk -v t="$1" -v l="$2" -v z="$3" 'BEGIN {
		r = (t == "lat") ? (z > 0 ? l / z : 0) : (l > 0 ? z / l : 0)
		printf "%.2f\n", r }'
}

# run_pattern <lib> <pattern> <count>: one pattern_lat run (spinlat); prints
# "avg p50 p99 p99.9" in us, or n/a.
run_pattern() {
	local lib=$1 pat=$2 n=$3 bin=$scratch/$1 out=$scratch/out.$1.pat.$2
	local ep opts=${ZINC_PERF_OPTS:-}
	if [ "$lib" = zinc ]; then
		ep=$(next_endpoint shm)
		opts="${opts:+$opts,}shm_spin_us=$spin_us"
	else
		ep=$(next_endpoint ipc)
	fi
	ZINC_PERF_OPTS=$opts timeout 60 "$bin/pattern_lat" local "$pat" "$ep" 64 "$n" \
		</dev/null >"$out.local" 2>"$out.err" &
	local lpid=$! i=0
	while ! listening "$ep" && kill -0 "$lpid" 2>/dev/null && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	ZINC_PERF_OPTS=$opts timeout 60 "$bin/pattern_lat" remote "$pat" "$ep" 64 "$n" \
		</dev/null >"$out" 2>>"$out.err"
	local rc=$?
	[ $rc -ne 0 ] && kill "$lpid" 2>/dev/null
	wait "$lpid"
	rm -f "${ep#ipc://}" "${ep#ipc://}-b"
	local v
	v=$(awk '/^(average|p50|p99|p99.9) latency:/ { printf "%s ", $3 }' "$out")
	if [ $rc -ne 0 ] || [ "$(echo "$v" | wc -w)" != 4 ]; then
		log "$lib spinlat $pat: failed (exit $rc) $(head -c 300 "$out.err" | tr '\n' ' ')"
		echo "n/a n/a n/a n/a"
	else
		echo "$v"
	fi
}

# spinlat_rows: the spinlat rows, repetitions alternating libraries, medians.
spinlat_rows() {
	local n pat k lib
	n=$(awk -v f="$factor" 'BEGIN { n = int(20000 * f); print (n < 100 ? 100 : n) }')
	for pat in pair pushpull reqrep pubsub; do
		local -A figs=()
		for _ in $(seq "$repeats"); do
			for lib in libzmq zinc; do
				local v="n/a n/a n/a n/a"
				[ "$lib" = libzmq ] && [ "$have_libzmq" = 1 ] && v=$(run_pattern libzmq "$pat" "$n")
				[ "$lib" = zinc ] && [ "$have_zinc" = 1 ] && v=$(run_pattern zinc "$pat" "$n")
				read -r a b c d <<<"$v"
				figs[$lib.avg]+=" $a"
				figs[$lib.p50]+=" $b"
				figs[$lib.p99]+=" $c"
				figs[$lib.p999]+=" $d"
			done
		done
		log "spinlat $pat x $n: libzmq p50${figs[libzmq.p50]}, zinc p50${figs[zinc.p50]}"
		for k in p50 p99 p999 avg; do
			local lz zn label=$k
			[ $k = p999 ] && label=p99.9
			[ $k = avg ] && label=average
			# shellcheck disable=SC2086
			lz=$(median ${figs[libzmq.$k]})
			# shellcheck disable=SC2086
			zn=$(median ${figs[zinc.$k]})
			echo "| $pat: shm spinning $spin_us us (libzmq: ipc) | one-way latency $label [us] | 64 B | $lz | $zn | $(ratio lat "$lz" "$zn") |"
		done
	done
}

# run_scale <lib> <mode> <n> <count>: one perf/scale.c run over tcp; prints its figure.
run_scale() {
	local lib=$1 mode=$2 out=$scratch/out.$1.scale.$2
	local ep
	ep=$(next_endpoint tcp)
	timeout 60 "$scratch/$lib/scale" "$mode" "$ep" "$3" "$4" 64 </dev/null >"$out" 2>"$out.err"
	local rc=$? v
	v=$(sed -n 's/^mean throughput: \([0-9]*\) \[msg\/s\]$/\1/p; s/^cpu per message: \([0-9.]*\) \[us\]$/\1/p' "$out")
	if [ $rc -ne 0 ] || [ -z "$v" ]; then
		log "$lib scale $mode: failed (exit $rc) $(head -c 300 "$out.err" | tr '\n' ' ')"
		echo "n/a"
	else
		echo "$v"
	fi
}

# scale_rows: the scale rows (counts chosen for a few seconds each on a small machine).
scale_rows() {
	local row mode n count label kind
	for row in "pubfan 100 20000 PUB to 100 SUBs, delivered [msg/s] thr" \
		"router 1000 10 ROUTER with 1000 DEALERs, round trips [msg/s] thr" \
		"cpu 10000 2000 PUSH/PULL at 10000 msg/s, CPU per message [us] lat"; do
		read -r mode n count label <<<"$row"
		kind=${label##* }
		label=${label% *}
		count=$(awk -v n="$count" -v f="$factor" 'BEGIN { n = int(n * f); print (n < 2 ? 2 : n) }')
		local lzs="" zns=""
		for _ in $(seq "$repeats"); do
			local v=n/a
			[ "$have_libzmq" = 1 ] && v=$(run_scale libzmq "$mode" "$n" "$count")
			lzs="$lzs $v"
			v=n/a
			[ "$have_zinc" = 1 ] && v=$(run_scale zinc "$mode" "$n" "$count")
			zns="$zns $v"
		done
		log "scale $mode: libzmq$lzs, zinc$zns"
		local lz zn
		# shellcheck disable=SC2086
		lz=$(median $lzs)
		# shellcheck disable=SC2086
		zn=$(median $zns)
		echo "| scale: tcp | $label | 64 B | $lz | $zn | $(ratio "$kind" "$lz" "$zn") |"
	done
}

echo "| transport | test | size | libzmq | zinc | ratio (> 1: zinc better; thr zinc/libzmq, lat libzmq/zinc) |"
echo "|---|---|---:|---:|---:|---:|"
for tr in $transports; do
	case $tr in
	spinlat) spinlat_rows; continue ;;
	scale) scale_rows; continue ;;
	esac
	for test in $tests; do
		case $tr:$test in pubsub*:lat) continue ;; esac # no PUB/SUB latency tool
		case $test in
		lat) label="latency [us]" ;;
		thr) label="throughput [msg/s]" ;;
		*) log "unknown test $test"; continue ;;
		esac
		for s in $sizes; do
			size=$(bytes "$s")
			n=$(count "$tr" "$test" "$size")
			lzs=""
			zns=""
			t0=$(date +%s.%N)
			for _ in $(seq "$repeats"); do
				v=n/a
				[ "$have_libzmq" = 1 ] && v=$(run_one libzmq "$tr" "$test" "$size" "$n")
				lzs="$lzs $v"
				v=n/a
				[ "$have_zinc" = 1 ] && v=$(run_one zinc "$tr" "$test" "$size" "$n")
				zns="$zns $v"
			done
			# shellcheck disable=SC2086
			lz=$(median $lzs)
			# shellcheck disable=SC2086
			zn=$(median $zns)
			secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
			log "$tr $test $size x $n: libzmq$lzs, zinc$zns (${secs} s)"
			trl=$tr
			[ "$tr" = shm ] && trl="shm (libzmq: ipc)"
			[ "$tr" = shm-spin ] && trl="shm spinning $spin_us us (libzmq: ipc)"
			[ "$tr" = shm-zc ] && trl="shm zero-copy (libzmq: ipc)"
			echo "| $trl | $label | $(human "$size") | $lz | $zn | $(ratio "$test" "$lz" "$zn") |"
		done
	done
done

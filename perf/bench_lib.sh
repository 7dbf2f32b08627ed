# perf/bench_lib.sh: what perf/compare.sh and perf/ceiling.sh share, sourced by both:
# endpoints that were never used, waiting for a listener, the message counts of a row,
# reading a tool's figure, sizes and medians. The caller sets scratch (a directory for
# ipc:// sockets) and factor (the count multiplier) before calling.

port=$((20000 + RANDOM % 20000))
runs=0

# next_endpoint <transport>: prints a fresh endpoint, never used before in this script.
next_endpoint() {
	runs=$((runs + 1))
	case $1 in
	ipc | pubsub-ipc) echo "ipc://$scratch/r$runs.ipc" ;;
	shm | shm-spin | shm-zc) echo "shm://zinc-perf-$$-r$runs" ;;
	tcp | tcp-curve | pubsub)
		port=$((port + 1))
		while [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; do
			port=$((port + 1))
		done
		echo "tcp://127.0.0.1:$port"
		;;
	esac
}

# shm_dir: where zinc puts shm:// rendezvous sockets.
shm_dir() {
	if [ -n "${XDG_RUNTIME_DIR:-}" ]; then echo "$XDG_RUNTIME_DIR/zinc"; else echo "/tmp/zinc-$(id -u)"; fi
}

# listening <endpoint>: true once something listens on endpoint.
listening() {
	case $1 in
	ipc://*) [ -S "${1#ipc://}" ] ;;
	tcp://*) [ -n "$(ss -Hltn "sport = :${1##*:}" 2>/dev/null)" ] ;;
	shm://*) [ -S "$(shm_dir)/${1#shm://}.sock" ] ;;
	esac
}

# count <transport> <test> <size>: the message or roundtrip count for one run, chosen so
# a libzmq run takes about 1-3 s on a small machine, times the -c factor.
count() {
	local n
	case $1:$2:$3 in
	inproc:lat:*) n=30000 ;; # inproc passes a pointer: the size hardly matters
	inproc:thr:64) n=10000000 ;;
	inproc:thr:1024) n=3000000 ;;
	inproc:thr:65536) n=1000000 ;;
	inproc:thr:*) n=500000 ;;
	pubsub-inproc:thr:64 | pubsub-inproc:thr:1024) n=2000000 ;;
	pubsub-inproc:thr:*) n=300000 ;;
	tcp-curve:thr:64) n=1000000 ;; # every message is a box
	tcp-curve:thr:1024) n=500000 ;;
	*:lat:64 | *:lat:1024) n=20000 ;;
	*:lat:65536) n=5000 ;;
	*:lat:*) n=3000 ;;
	*:thr:64) n=5000000 ;;
	*:thr:1024) n=1000000 ;;
	*:thr:65536) n=40000 ;;
	*:thr:*) n=3000 ;;
	esac
	n=$(awk -v n="$n" -v f="$factor" 'BEGIN { n = int(n * f); print (n < 2 ? 2 : n) }')
	echo "$n"
}

# result <file> <test>: prints the figure of a tool's output: the average latency in us
# or the throughput in msg/s.
result() {
	case $2 in
	lat) sed -n 's/^average latency: \([0-9.]*\) \[us\]$/\1/p' "$1" ;;
	thr) sed -n 's/^mean throughput: \([0-9]*\) \[msg\/s\]$/\1/p' "$1" ;;
	esac
}

# bytes <size>: 64, 1K, 1M -> bytes.
bytes() {
	case $1 in
	*[kK]) echo $((${1%?} * 1024)) ;;
	*[mM]) echo $((${1%?} * 1048576)) ;;
	*) echo $(($1)) ;;
	esac
}

# human <bytes>: 65536 -> 64 KiB.
human() {
	local b=$1
	if [ "$b" -ge 1048576 ] && [ $((b % 1048576)) -eq 0 ]; then
		echo "$((b / 1048576)) MiB"
	elif [ "$b" -ge 1024 ] && [ $((b % 1024)) -eq 0 ]; then
		echo "$((b / 1024)) KiB"
	else
		echo "$b B"
	fi
}

# median <values...>: the median of the figures, n/a if any of them is n/a.
median() {
	case " $* " in *" n/a "*) echo "n/a"; return ;; esac
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}


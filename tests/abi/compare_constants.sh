#!/bin/sh
# compare_constants.sh: the ABI test. Runs print_constants built against zinc's zmq.h
# and against the system libzmq's zmq.h and fails on any difference in constant values
# or struct layout. With a GCC given, it also compares every zmq_* prototype the two
# headers declare (gcc -aux-info prints them normalised, without parameter names).
#
# usage: compare_constants.sh OURS_PRINTER SYSTEM_PRINTER [GCC OUR_HEADER SYSTEM_HEADER]
set -u
ours_bin=$1
sys_bin=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

"$ours_bin" >"$tmp/ours.txt" || { echo "FAIL: $ours_bin did not run"; exit 1; }
"$sys_bin" >"$tmp/sys.txt" || { echo "FAIL: $sys_bin did not run"; exit 1; }
if diff -u "$tmp/sys.txt" "$tmp/ours.txt"; then
	echo "ok   $(wc -l <"$tmp/ours.txt") constants and layout facts equal libzmq's"
else
	echo "FAIL constants or layout differ (- libzmq, + zinc)"
	status=1
fi

if [ $# -ge 5 ]; then
	cc=$3
	for which in ours:$4 sys:$5; do
		name=${which%%:*}
		header=${which#*:}
		printf '#include "%s"\n' "$header" >"$tmp/$name.c"
		if ! "$cc" -std=c11 -fsyntax-only -aux-info "$tmp/$name.aux" "$tmp/$name.c"; then
			echo "FAIL: $header does not compile"
			exit 1
		fi
		# Keep "extern <type> zmq_x (<params>);", drop the location comment.
		grep -o 'extern [^(]*[ *]zmq_[a-z0-9_]* (.*);$' "$tmp/$name.aux" |
			sed 's/^extern //' | sort >"$tmp/$name.proto"
	done
	if diff -u "$tmp/sys.proto" "$tmp/ours.proto"; then
		echo "ok   $(wc -l <"$tmp/ours.proto") function prototypes equal libzmq's"
	else
		echo "FAIL prototypes differ (- libzmq, + zinc)"
		status=1
	fi
else
	echo "skip prototype comparison (needs GCC's -aux-info)"
fi
exit $status

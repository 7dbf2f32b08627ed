#!/bin/sh
# test_man.sh: every zmq_* function a built library exports has a page in man/man3;
# every socket option of include/zmq.h and include/zinc.h has a section in
# zmq_socket_options(7), every socket type one in zmq_socket_types(7), and every context
# option is named in zmq_ctx_set(3); the transport pages and zinc_shm(7) exist; every
# page says how zinc differs from libzmq and renders without a warning; the zinc command
# has zinc(1).
# usage: test_man.sh LIBRARY MAN_DIR [NM]   (the headers are read from MAN_DIR/../include)
set -u
lib=$1
dir=$2
nm=${3:-nm}
inc=$dir/../include
status=0

# defines FILE START END: the ZMQ_/ZINC_ names #defined in FILE between the line that
# contains START and the next line that contains END.
defines() {
	awk -v s="$2" -v e="$3" 'index($0, s) { on = 1; next } on && index($0, e) { exit }
		on && $1 == "#define" && $2 ~ /^(ZMQ|ZINC)_/ { print $2, $3 }' "$1"
}
sockopts=$(defines "$inc/zmq.h" "/* Socket options" "/* Message properties" | cut -d' ' -f1 | tr '\n' ' ')
# The deprecated block: the old spellings of options (an alias of a flag is not one).
deprecated=$(defines "$inc/zmq.h" "/* Deprecated option names" "/* Deprecated message" |
	while read -r name value; do
		case " $sockopts " in *" $value "*) echo "$name" ;; esac
		case $value in [0-9]*) echo "$name" ;; esac
	done)
zincopts=$(defines "$inc/zinc.h" "#define ZINC_ZINC_H" "#endif" | cut -d' ' -f1 | grep -v '^ZINC_ZINC_H$')
for opt in $sockopts $deprecated $zincopts; do
	if ! grep -q "^\.SS $opt\$\|^Also spelled .*\b$opt\b" "$dir/man7/zmq_socket_options.7"; then
		echo "FAIL zmq_socket_options(7) has no section for $opt"
		status=1
	fi
done
for type in $(defines "$inc/zmq.h" "/* Socket types." "/* Pre-3.0" | cut -d' ' -f1); do
	grep -q "^\.SS $type\$" "$dir/man7/zmq_socket_types.7" ||
		{ echo "FAIL zmq_socket_types(7) has no section for $type"; status=1; }
done
for opt in $(defines "$inc/zmq.h" "/* Options for zmq_ctx_set" "/* Defaults of" | cut -d' ' -f1); do
	grep -q "\b$opt\b" "$dir/man3/zmq_ctx_set.3" ||
		{ echo "FAIL zmq_ctx_set(3) does not name $opt"; status=1; }
done
for p in zmq_socket_options zmq_socket_types zmq_tcp zmq_ipc zmq_inproc zinc_shm; do
	if [ ! -f "$dir/man7/$p.7" ]; then
		echo "FAIL no page $p(7)"
		status=1
	elif ! grep -q '^\.SH ZINC AND LIBZMQ' "$dir/man7/$p.7"; then
		echo "FAIL $p.7 does not say how zinc differs from libzmq"
		status=1
	fi
done
for fn in $("$nm" -D --defined-only "$lib" | awk '$3 ~ /^zmq_/ { sub(/@.*/, "", $3); print $3 }' | sort -u); do
	if [ ! -f "$dir/man3/$fn.3" ]; then
		echo "FAIL no page for $fn"
		status=1
	elif ! grep -q '^\.SH ZINC AND LIBZMQ' "$dir/man3/$fn.3"; then
		echo "FAIL $fn.3 does not say how zinc differs from libzmq"
		status=1
	fi
done
[ -f "$dir/man1/zinc.1" ] || { echo "FAIL no zinc(1)"; status=1; }
if command -v groff >/dev/null; then
	for p in "$dir"/man3/*.3 "$dir"/man7/*.7 "$dir"/man1/zinc.1; do
		w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
		[ -z "$w" ] || { echo "FAIL $p: $w"; status=1; }
	done
fi
[ $status = 0 ] && echo "ok   $(ls "$dir"/man3 | wc -l) function pages, $(echo $sockopts $deprecated $zincopts | wc -w) options, $(ls "$dir"/man7 | wc -l) section-7 pages, zinc(1)"
exit $status

#!/bin/sh
# test_man.sh: every zmq_* function a built library exports has a page in man/man3,
# every page renders without a warning, and the zinc command has zinc(1).
# usage: test_man.sh LIBRARY MAN_DIR [NM]
set -u
lib=$1
dir=$2
nm=${3:-nm}
status=0
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
	for p in "$dir"/man3/*.3 "$dir"/man1/zinc.1; do
		w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
		[ -z "$w" ] || { echo "FAIL $p: $w"; status=1; }
	done
fi
[ $status = 0 ] && echo "ok   $(ls "$dir"/man3 | wc -l) function pages, zinc(1)"
exit $status

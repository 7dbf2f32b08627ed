#!/bin/sh
# test_exports.sh: checks the dynamic symbol table of a built zinc library. Every function
# libzmq 4.3.4 exports must be defined, nothing outside the zmq_* namespace (and zinc_*,
# zinc's own extensions declared in zinc.h) may be
# exported (the library builds with -fvisibility=hidden; a leak means a missing static or
# a stray ZMQ_EXPORT), and the SONAME must be the expected one.
#
# usage: test_exports.sh LIBRARY EXPECTED_SONAME EXPORT_LIST [NM [READELF]]
set -u
lib=$1
want_soname=$2
list=$3
nm=${4:-nm}
readelf=${5:-readelf}
status=0

if [ ! -f "$lib" ]; then
	echo "FAIL $lib does not exist (was the library built?)"
	exit 1
fi

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = "$want_soname" ]; then
	echo "ok   SONAME is $soname"
else
	echo "FAIL SONAME is '$soname', expected '$want_soname'"
	status=1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# "ADDRESS TYPE NAME", possibly NAME@VERSION; keep type and bare name.
"$nm" -D --defined-only "$lib" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $2, $3 }' |
	sort -u -k2 >"$tmp/defined"

missing=0
for fn in $(sed 's/#.*//' "$list"); do
	if ! grep -q "^[TtWi] $fn\$" "$tmp/defined"; then
		echo "FAIL $fn is not exported as a function"
		missing=$((missing + 1))
	fi
done
if [ $missing -eq 0 ]; then
	echo "ok   all $(grep -c . "$list") libzmq 4.3.4 functions are exported"
else
	status=1
fi

# The linker itself may define these in .dynsym (older binutils); they are not ours.
awk '$2 !~ /^(zmq|zinc)_/ && $2 !~ /^(_init|_fini|_edata|_end|__bss_start)$/ { print $2 }' \
	"$tmp/defined" >"$tmp/leaks"
if [ -s "$tmp/leaks" ]; then
	echo "FAIL $(wc -l <"$tmp/leaks") symbols outside zmq_* and zinc_* are exported:"
	sed 's/^/       /' "$tmp/leaks"
	status=1
else
	echo "ok   no symbol outside zmq_* and zinc_* is exported"
fi

# Extra zmq_* symbols are allowed (e.g. draft API); list them for the record.
awk '{ print $2 }' "$tmp/defined" | grep '^zmq_' | sort >"$tmp/ours"
sed 's/#.*//' "$list" | grep . | sort >"$tmp/theirs"
extra=$(comm -23 "$tmp/ours" "$tmp/theirs" | tr '\n' ' ')
[ -n "$extra" ] && echo "note also exported: $extra"
exit $status

#!/bin/sh
# test_package.sh: installs the build to a temporary prefix with `cmake --install`, then
# builds tests/package/hello.c out of tree against it three ways, and runs each:
# find_package(ZeroMQ) (targets libzmq, libzmq-static), find_package(zinc) (zinc::zinc,
# zinc::zinc-static), and pkg-config (libzmq.pc, zinc.pc, whose prefix must be the
# temporary one). Every program must say it ran on zinc.
#
# usage: test_package.sh BUILD_DIR [C_COMPILER]
set -u
build=$1
cc=${2:-cc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/zinc-package.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
status=0

fail() {
	echo "FAIL $*"
	status=1
}

# check_run <what> <program>: the program must print "hello from zinc".
check_run() {
	out=$("$2" 2>&1)
	case $out in
	"hello from zinc "*) echo "ok   $1: $out" ;;
	*) fail "$1: $out" ;;
	esac
}

if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "FAIL cmake --install"
	exit 1
fi
echo "ok   installed to $prefix"
libdir=$(dirname "$(find "$prefix" -name libzinc.so.0 | head -1)")

for way in ZeroMQ zinc; do
	b=$tmp/build-$way
	if cmake -S "$here/consumer" -B "$b" -DWAY=$way -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_PREFIX_PATH="$prefix" >"$b.log" 2>&1 &&
		cmake --build "$b" >>"$b.log" 2>&1; then
		check_run "cmake $way shared" "$b/hello_shared"
		check_run "cmake $way static" "$b/hello_static"
	else
		cat "$b.log"
		fail "cmake find_package($way)"
	fi
done

# pkg-config: only our files on the search path, so the system libzmq.pc cannot answer.
if command -v pkg-config >/dev/null; then
	for pc in libzmq zinc; do
		got=$(PKG_CONFIG_LIBDIR=$libdir/pkgconfig pkg-config --variable=prefix $pc)
		[ "$got" = "$prefix" ] || fail "$pc.pc prefix is '$got', not $prefix"
		flags=$(PKG_CONFIG_LIBDIR=$libdir/pkgconfig pkg-config --cflags --libs $pc)
		# shellcheck disable=SC2086
		if "$cc" -o "$tmp/hello-$pc" "$here/hello.c" $flags -Wl,-rpath,"$libdir" \
			2>"$tmp/cc.log"; then
			check_run "pkg-config $pc ($flags)" "$tmp/hello-$pc"
		else
			cat "$tmp/cc.log"
			fail "pkg-config $pc build"
		fi
	done
else
	echo "skip pkg-config: not installed"
fi
[ -f "$prefix/share/man/man3/zmq_bind.3" ] && echo "ok   man pages installed" || fail "man pages not installed"
[ -x "$prefix/bin/zinc" ] && "$prefix/bin/zinc" --version | grep -q "(zinc)" &&
	echo "ok   installed zinc command runs on the installed library" ||
	fail "installed zinc command"
exit $status

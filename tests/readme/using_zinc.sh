#!/usr/bin/env bash
# using_zinc.sh: the README's "Using zinc" routes, run by tests/readme/fresh_debian.sh
# as a user with sudo in ~/zinc (already built): one program and a pyzmq venv through
# LD_LIBRARY_PATH, pkg-config and CMake (both packages) against a private prefix, then
# the system-wide install. Each route must report zinc (zmq.has("shm") is zinc's).
set -eu
cd ~/zinc
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
$SUDO apt-get install -y -qq python3-zmq python3-venv pkg-config gcc cmake >/dev/null

check() { # what, output, expected
	[ "$2" = "$3" ] || { echo "using_zinc: $1 gave '$2', expected '$3'" >&2; exit 1; }
	echo "ok: $1"
}
check "one program" "$(LD_LIBRARY_PATH=$PWD/build/lib python3 -c \
	'import zmq; print(zmq.has("shm"))')" True
rm -rf ~/zinc-env
python3 -m venv --system-site-packages ~/zinc-env
echo "export LD_LIBRARY_PATH=$PWD/build/lib" >> ~/zinc-env/bin/activate
check "pyzmq venv" "$(. ~/zinc-env/bin/activate &&
	python -c 'import zmq; print(zmq.zmq_version(), zmq.has("shm"))')" "4.3.4 True"

prefix=~/zinc-prefix
cmake --install build --prefix "$prefix" >/dev/null
work=$(mktemp -d)
cat > "$work/app.c" <<'C'
#include <stdio.h>
#include <zmq.h>
int main(void)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PAIR);
	int rc = zmq_bind(s, "shm://readme"); /* only zinc has shm:// */
	printf("%d\n", rc);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc != 0;
}
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
for pc in libzmq zinc; do
	cc "$work/app.c" -o "$work/app-$pc" $(pkg-config --cflags --libs $pc)
	check "pkg-config $pc" "$(LD_LIBRARY_PATH=$prefix/lib "$work/app-$pc")" 0
done
cat > "$work/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(ZeroMQ REQUIRED)
add_executable(app-libzmq app.c)
target_link_libraries(app-libzmq PRIVATE libzmq)
find_package(zinc REQUIRED)
add_executable(app-zinc app.c)
target_link_libraries(app-zinc PRIVATE zinc::zinc)
C
cmake -S "$work" -B "$work/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/b" >/dev/null
check "cmake ZeroMQ" "$("$work/b/app-libzmq")" 0
check "cmake zinc" "$("$work/b/app-zinc")" 0

$SUDO cmake --install build >/dev/null && $SUDO ldconfig
check "system-wide" "$(python3 -c 'import zmq; print(zmq.has("shm"))')" True
rm -rf "$work"

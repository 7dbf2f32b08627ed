#!/usr/bin/env bash
# fresh_debian.sh: runs the README's commands, as written, on a fresh Debian 12 (a
# debootstrap chroot): the "Try it" block as root (no sudo on such a machine) and as a
# user with sudo, then the "Using zinc" routes (LD_LIBRARY_PATH, a pyzmq venv,
# pkg-config and CMake against an installed prefix, the system-wide install).
# Needs root, debootstrap and network access to a Debian mirror; not part of CI (it
# downloads ~150 MB and builds zinc twice). Exit status non-zero on the first failure.
#
# usage: tests/readme/fresh_debian.sh [CHROOT_DIR (default /srv/zinc-fresh)]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-/srv/zinc-fresh}
[ "$(id -u)" = 0 ] || { echo "fresh_debian.sh: needs root (debootstrap, chroot)" >&2; exit 2; }

if [ ! -x "$dir/bin/bash" ]; then
	debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$dir/etc/resolv.conf"
for d in proc sys dev dev/pts; do
	mountpoint -q "$dir/$d" || mount --bind "/$d" "$dir/$d"
done
trap 'for d in dev/pts dev sys proc; do umount "$dir/$d" 2>/dev/null || true; done' EXIT

# The indented command lines of one README section, in order.
section_cmds() {
	awk -v s="## $1" 'index($0, s) == 1 {f = 1; next} /^## /{f = 0} f && /^    /' \
		"$root/README.md" | sed 's/^    //'
}
# "Try it" up to the test command (.ci/run takes 15 minutes and is CI's job).
try=$(section_cmds "Try it" | sed '/\.ci\/run/,$d')

echo "== as root, without sudo"
chroot "$dir" sh -c 'command -v sudo' && { echo "chroot already has sudo" >&2; exit 1; }
rm -rf "$dir/root/zinc"
git clone -q "$root" "$dir/root/zinc"
printf '%s\n' "$try" > "$dir/root/zinc/try.sh"
chroot "$dir" /bin/bash -c 'cd /root/zinc && bash -e try.sh'

echo "== as a user with sudo"
chroot "$dir" /bin/bash -c 'apt-get install -y -qq sudo >/dev/null &&
	{ id dev >/dev/null 2>&1 || useradd -m -s /bin/bash dev; } &&
	echo "dev ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/dev && chmod 440 /etc/sudoers.d/dev'
rm -rf "$dir/home/dev/zinc"
git clone -q "$root" "$dir/home/dev/zinc"
printf '%s\n' "$try" > "$dir/home/dev/zinc/try.sh"
cp "$root/tests/readme/using_zinc.sh" "$dir/home/dev/using_zinc.sh"
chroot "$dir" chown -R dev:dev /home/dev
chroot "$dir" su - dev -c 'cd zinc && bash -e try.sh'

echo "== Using zinc, as the user"
chroot "$dir" su - dev -c 'bash -e using_zinc.sh'
echo "fresh_debian.sh: the README's commands worked as root and as a user with sudo"

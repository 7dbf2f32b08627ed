#!/usr/bin/python3
"""test_layers.py: checks the rules of docs/ARCHITECTURE.md that a reader of one file
cannot see, over every file of src/:

  1. the include rule: a file includes only from its own layer and the ones below it,
     in the order of the layers table of docs/ARCHITECTURE.md;
  2. OS calls only in src/platform/: above it, a file includes no system header but
     ISO C's (less <time.h>, whose POSIX half is the OS), <strings.h>, <sys/uio.h>
     (struct iovec, a type of the public API) and <sodium.h>, and calls none of the
     OS functions listed below;
  3. nothing below src/api/ calls the public API (zmq_*), which src/api/ implements;
  4. only src/api/ sets errno;
  5. no assert() and no abort() anywhere in src/ (a peer, a caller or an allocator
     must never be able to stop the host);
  6. below src/socket/ no socket-type number (ZMQ_PAIR ... ZMQ_STREAM): the layers
     below test the traits of a type's record (core/socket_type.h), so that what a
     socket type is stays in src/socket/;
  7. every file of src/ is named in docs/ARCHITECTURE.md's "Files, layer by layer"
     (by its name without the extension), so the map stays whole.

There is no list of exceptions: a rule that does not hold is a finding to fix.

Usage: test_layers.py [SOURCE_DIR]   (the repository root; default: this file's ../)
Exit status 0 when every rule holds, 1 otherwise (each violation on its own line).
"""
import os
import re
import sys

ISO_C_HEADERS = {
    "assert.h", "complex.h", "ctype.h", "errno.h", "fenv.h", "float.h", "inttypes.h",
    "iso646.h", "limits.h", "locale.h", "math.h", "setjmp.h", "signal.h",
    "stdalign.h", "stdarg.h", "stdatomic.h", "stdbool.h", "stddef.h", "stdint.h",
    "stdio.h", "stdlib.h", "stdnoreturn.h", "string.h", "tgmath.h", "threads.h",
    "uchar.h", "wchar.h", "wctype.h",
}
# Headers that declare no OS call used above the platform layer.
ABOVE_PLATFORM_HEADERS = (ISO_C_HEADERS - {"threads.h", "signal.h"}) | {
    "strings.h", "sys/uio.h", "sodium.h"}
# Headers of the project's public API (include/), usable from every layer.
PUBLIC_HEADERS = {"zmq.h", "zinc.h"}
# OS functions that belong behind src/platform/ (a call above it is a finding).
OS_CALLS = [
    "epoll_create1", "epoll_ctl", "epoll_wait", "poll", "select", "nanosleep",
    "clock_nanosleep", "usleep", "sleep", "sched_yield", "clock_gettime",
    "gettimeofday", "geteuid", "getuid", "getegid", "getpid", "getpeername",
    "getsockopt", "setsockopt", "socket", "accept", "accept4", "bind", "listen",
    "connect", "close", "read", "write", "readv", "writev", "send", "recv",
    "sendmsg", "recvmsg", "eventfd", "mmap", "munmap", "memfd_create", "ftruncate",
    "fcntl", "ioctl", "open", "unlink", "mkdir", "rmdir", "pipe", "fork",
    "pthread_create", "pthread_join", "pthread_mutex_lock", "pthread_mutex_unlock",
]


def layers_from_architecture(root):
    """The layers table of docs/ARCHITECTURE.md, bottom first: [folder, ...]."""
    path = os.path.join(root, "docs", "ARCHITECTURE.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("## Layers and the include rule")
    folders = []
    for line in text[start:].splitlines():
        m = re.match(r"^\|\s*[^|]+\|\s*`src/([a-z_]+)/`\s*\|", line)
        if m:
            folders.append(m.group(1))
        elif folders and not line.startswith("|"):
            break
    if len(folders) < 2:
        sys.exit("test_layers: no layers table found in " + path)
    return folders


def strip_comments_and_strings(src):
    """src with comments and string / character literals blanked (newlines kept), so
    that a rule is checked against code only."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def source_files(root):
    src = os.path.join(root, "src")
    for d, _, names in sorted(os.walk(src)):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                path = os.path.join(d, name)
                yield os.path.relpath(path, src), path


INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
ERRNO_SET = re.compile(r"\berrno\s*(=(?!=)|\+=|-=|\+\+)")
ASSERT = re.compile(r"\b(assert|abort)\s*\(")
PUBLIC_CALL = re.compile(r"\bzmq_[a-z0-9_]+\s*\(")
SOCKET_TYPE = re.compile(r"\bZMQ_(PAIR|PUB|SUB|REQ|REP|DEALER|ROUTER|PULL|PUSH|XPUB|XSUB|STREAM)\b")
OS_CALL = re.compile(r"(?<![\w.>])(" + "|".join(OS_CALLS) + r")\s*\(")


def check_file(rel, path, rank, order):
    """The violations of one file, as strings."""
    layer = rel.split(os.sep)[0]
    if layer not in rank:
        return [f"src/{rel}: not in a layer folder of ARCHITECTURE.md ({', '.join(order)})"]
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    code = strip_comments_and_strings(raw)
    found = []

    def where(pos):
        return f"src/{rel}:{raw.count(chr(10), 0, pos) + 1}"

    for m in INCLUDE.finditer(raw):
        kind, name = m.group(1), m.group(2)
        if kind == "<":
            if layer != "platform" and name not in ABOVE_PLATFORM_HEADERS | PUBLIC_HEADERS:
                found.append(f"{where(m.start())}: system header <{name}> above src/platform/")
            continue
        if name in PUBLIC_HEADERS:
            continue
        target = name.split("/")[0] if "/" in name else None
        if target is None:
            found.append(f'{where(m.start())}: "{name}" names no layer folder')
        elif target not in rank:
            found.append(f'{where(m.start())}: "{name}" is in no layer')
        elif rank[target] > rank[layer]:
            found.append(f'{where(m.start())}: {layer} includes "{name}" of the higher layer {target}')
    for m in ERRNO_SET.finditer(code):
        if layer != "api":
            found.append(f"{where(m.start())}: sets errno outside src/api/")
    for m in ASSERT.finditer(code):
        found.append(f"{where(m.start())}: {m.group(1)}()")
    for m in PUBLIC_CALL.finditer(code):
        if layer != "api":
            found.append(f"{where(m.start())}: calls the public API ({m.group(0).rstrip('( ')}) below src/api/")
    for m in SOCKET_TYPE.finditer(code):
        if rank[layer] < rank.get("socket", len(order)):
            found.append(f"{where(m.start())}: socket type {m.group(0)} below src/socket/")
    for m in OS_CALL.finditer(code):
        if layer != "platform":
            found.append(f"{where(m.start())}: OS call {m.group(1)}() above src/platform/")
    return found


def unnamed_files(root):
    """Files of src/ whose name (less .c / .h) the section "Files, layer by layer" of
    docs/ARCHITECTURE.md does not mention."""
    with open(os.path.join(root, "docs", "ARCHITECTURE.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("### Files, layer by layer")
    end = text.index("\n## ", start)
    section = text[start:end]
    out = []
    for rel, _ in source_files(root):
        stem = os.path.splitext(os.path.basename(rel))[0]
        if not re.search(r"\b" + re.escape(stem) + r"\b", section):
            out.append(f"src/{rel}: not named in ARCHITECTURE.md's \"Files, layer by layer\"")
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    order = layers_from_architecture(root)
    rank = {folder: i for i, folder in enumerate(order)}
    found = []
    for rel, path in source_files(root):
        found += check_file(rel, path, rank, order)
    found += unnamed_files(root)
    for line in found:
        print(line)
    print(f"test_layers: layers {' < '.join(order)}; {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

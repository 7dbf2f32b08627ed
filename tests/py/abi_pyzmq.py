#!/usr/bin/python3
"""abi_pyzmq.py: the ABI proof. The real pyzmq (Debian's python3-zmq, compiled against
libzmq 4.3.4) runs on zinc's drop-in libzmq.so.5 by LD_LIBRARY_PATH alone.

Usage: LD_LIBRARY_PATH=<build>/lib /usr/bin/python3 abi_pyzmq.py [<build>/lib]

It checks that the process mapped zinc's libzmq.so.5 from the build directory and not
the system's, that the version is the one zinc reports (4.3.4, the ABI it replaces; the
mapping, not the version, tells it from the system's), then does an
inproc PAIR round trip: single frames, multipart, zero-copy frames, and terminates the
context. Exit status: 0 passed, 1 failed (with the reason on stderr), 77 skipped
(python3 cannot import zmq even with the system library).
"""
import os
import subprocess
import sys

SKIP = 77
EXPECTED_VERSION = (4, 3, 4)
TIMEOUT_MS = 5000


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expected_lib_dir():
    if len(sys.argv) > 1:
        return os.path.realpath(sys.argv[1])
    path = os.environ.get("LD_LIBRARY_PATH", "")
    if not path:
        fail("no build lib directory: pass it as argv[1] or set LD_LIBRARY_PATH")
    return os.path.realpath(path.split(":")[0])


def import_zmq():
    """Imports zmq; when that fails, decides between skip and failure by trying the
    import once more without our library (the system's libzmq)."""
    try:
        import zmq  # noqa: F401 (imported for its side effect: loading libzmq.so.5)
        return zmq
    except Exception as e:  # ImportError, or an OSError from a missing symbol
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        probe = subprocess.run([sys.executable, "-c", "import zmq"], env=env,
                               capture_output=True)
        if probe.returncode != 0:
            print("SKIP: python3 cannot import zmq even with the system libzmq",
                  file=sys.stderr)
            sys.exit(SKIP)
        fail("import zmq works with the system libzmq but not with zinc's: %r" % e)


def mapped_libzmq():
    """The distinct files named libzmq.so* mapped into this process, resolved."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            if len(fields) == 6:
                path = fields[5].strip()
                if os.path.basename(path).startswith("libzmq.so"):
                    paths.add(os.path.realpath(path))
    return paths


def check_mapping(lib_dir):
    paths = mapped_libzmq()
    if not paths:
        fail("no libzmq.so.5 is mapped after import zmq")
    ours = [p for p in paths if os.path.dirname(p) == lib_dir]
    others = [p for p in paths if os.path.dirname(p) != lib_dir]
    if others:
        fail("a libzmq other than zinc's is mapped: %s (expected only %s/libzmq.so.5)"
             % (", ".join(sorted(others)), lib_dir))
    if not ours:
        fail("zinc's libzmq.so.5 from %s is not mapped" % lib_dir)
    print("mapped: %s" % ", ".join(sorted(ours)))


def round_trip(zmq):
    ctx = zmq.Context()
    a = ctx.socket(zmq.PAIR)
    b = ctx.socket(zmq.PAIR)
    try:
        for s in (a, b):
            s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
            s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        a.bind("inproc://abi-pyzmq")
        b.connect("inproc://abi-pyzmq")
        if a.getsockopt(zmq.TYPE) != zmq.PAIR:
            fail("getsockopt(ZMQ_TYPE) is not PAIR")
        if a.getsockopt_string(zmq.LAST_ENDPOINT) != "inproc://abi-pyzmq":
            fail("ZMQ_LAST_ENDPOINT is %r" % a.getsockopt_string(zmq.LAST_ENDPOINT))

        b.send(b"hello")
        got = a.recv()
        if got != b"hello":
            fail("recv got %r, expected b'hello'" % got)
        a.send(b"")
        got = b.recv()
        if got != b"":
            fail("empty frame came back as %r" % got)

        parts = [b"one", b"x" * 1000, b"three"]
        b.send_multipart(parts)
        got = a.recv_multipart()
        if got != parts:
            fail("recv_multipart got %d parts %r" % (len(got), [p[:8] for p in got]))
        if a.getsockopt(zmq.RCVMORE) != 0:
            fail("RCVMORE is set after the last part")

        # Zero-copy both ways: zmq_msg_init_data with pyzmq's free function, and
        # frames that keep zinc's message alive from Python.
        big = os.urandom(200 * 1000)
        a.send_multipart([b"head", big], copy=False)
        frames = b.recv_multipart(copy=False)
        if [f.bytes for f in frames] != [b"head", big]:
            fail("zero-copy multipart did not come back intact")
        if not frames[0].more or frames[1].more:
            fail("Frame.more flags are wrong: %r" % [f.more for f in frames])
    finally:
        a.close(linger=0)
        b.close(linger=0)
    ctx.term()


def main():
    lib_dir = expected_lib_dir()
    zmq = import_zmq()
    check_mapping(lib_dir)
    version = zmq.zmq_version_info()
    if version != EXPECTED_VERSION:
        fail("zmq_version_info() is %r, expected zinc's %r" % (version, EXPECTED_VERSION))
    round_trip(zmq)
    print("pyzmq %s on zinc %s: ok" % (zmq.pyzmq_version(), zmq.zmq_version()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException as e:  # zmq.ZMQError, zmq.Again on a lost message, ...
        fail("%s: %s" % (type(e).__name__, e))

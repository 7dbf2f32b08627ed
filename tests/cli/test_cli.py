#!/usr/bin/env python3
"""test_cli.py: the `zinc` command run as separate processes, against itself and
against pyzmq on Debian's libzmq (the cases named pyzmq_*).

usage: test_cli.py ZINC_BINARY CASE

Each case is a function below. Processes wait on each other through what they print
(a wildcard bind prints "bound <endpoint>" on stderr; monitor prints one line an
event), an XPUB's subscription, or a process's exit; never through a sleep. Exit 77
means skipped (pyzmq or CURVE missing)."""
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time

ZINC = None
DEADLINE = 30  # seconds any single wait may take before the case fails


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def skip(msg):
    print("SKIP", msg)
    sys.exit(77)


class Proc:
    """A zinc process whose stdout and stderr are read a line at a time."""

    def __init__(self, *args, stdin=None):
        self.args = args
        self.p = subprocess.Popen([ZINC, *args], stdin=subprocess.PIPE if stdin is not None
                                  else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        if stdin is not None:
            self.p.stdin.write(stdin)
            self.p.stdin.close()
        self.bufs = {"out": b"", "err": b""}
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ, "out")
        self.sel.register(self.p.stderr, selectors.EVENT_READ, "err")

    def _pump(self, timeout):
        for key, _ in self.sel.select(timeout):
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                self.sel.unregister(key.fileobj)
            self.bufs[key.data] += data
        return bool(self.sel.get_map())

    def line(self, stream, pattern):
        """Waits for a line of stream ("out" or "err") matching pattern; returns it."""
        end = time.monotonic() + DEADLINE
        seen = 0
        while True:
            lines = self.bufs[stream].split(b"\n")
            for ln in lines[seen:-1]:
                if re.search(pattern, ln.decode(errors="replace")):
                    return ln.decode(errors="replace")
            seen = max(0, len(lines) - 1)
            left = end - time.monotonic()
            if left <= 0 or not self._pump(left):
                fail(f"{self.args[0]}: no {stream} line matching {pattern!r}; "
                     f"out={self.bufs['out']!r} err={self.bufs['err']!r}")

    def bound(self):
        return self.line("err", r"^bound ").split(" ", 1)[1]

    def finish(self, expect_rc=0):
        """Waits for the exit (reading everything); checks the status; returns stdout."""
        end = time.monotonic() + DEADLINE
        while self.sel.get_map() and time.monotonic() < end:
            self._pump(end - time.monotonic())
        try:
            rc = self.p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail(f"{' '.join(self.args)}: did not exit; err={self.bufs['err']!r}")
        if expect_rc is not None and rc != expect_rc:
            fail(f"{' '.join(self.args)}: exit {rc}, expected {expect_rc}; "
                 f"err={self.bufs['err']!r}")
        self.rc = rc
        return self.bufs["out"]


def run(*args, stdin=None, rc=0):
    p = Proc(*args, stdin=stdin)
    out = p.finish(rc)
    return out, p.bufs["err"].decode(errors="replace")


def expect(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, want {want!r}")


def transfer(fmt, data_args, count, extra=(), stdin=None):
    """A pull bound to a wildcard port, a push sending data_args; the pull's output."""
    pull = Proc("pull", "--bind", "tcp://127.0.0.1:*", "--count", str(count), "--format",
                fmt, *extra)
    ep = pull.bound()
    args = ["push", "--connect", ep, "--format", fmt, *extra]
    for d in data_args:
        args += ["--data", d]
    run(*args, stdin=stdin)
    return pull.finish()


# --- zinc against zinc -------------------------------------------------------------

def case_formats():
    expect("text", transfer("text", ["hello", "two words", ""], 3),
           b"hello\ntwo words\n\n")
    quoted = ['"a\\x00b"', '"tab\\there \\"q\\""', '"\\xff"']
    out = transfer("quoted", quoted, 3)
    expect("quoted", out, ("\n".join(quoted) + "\n").encode())
    expect("quoted round trip", transfer("quoted", [], 3, stdin=out), out)
    out = transfer("hex", ['"\\x41\\x42"', "4344", "00 ff"], 3)
    expect("hex", out, b'"\\x41\\x42"\n"\\x43\\x44"\n"\\x00\\xff"\n')
    expect("hex round trip", transfer("hex", [], 3, stdin=out), out)
    expect("multipart quoted", transfer("quoted", ['"a"|"b|c"|""'], 1, ("--separator", "|")),
           b'"a"|"b|c"|""\n')
    expect("multipart text", transfer("text", ["x::y"], 1, ("--separator", "::")),
           b"x::y\n")
    expect("multipart text, default join", transfer(
        "text", ["x::y"], 1, ()) + transfer("text", ["x"], 1), b"x::y\nx\n")
    blob = bytes(range(256)) + b"\n\nend"
    with tempfile.NamedTemporaryFile() as f:
        f.write(blob)
        f.flush()
        pull = Proc("pull", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--format",
                    "raw")
        run("send", "--connect", pull.bound(), "--format", "raw", "--file", f.name)
        expect("raw file", pull.finish(), blob)
    expect("stdin lines", transfer("text", [], 2, stdin=b"one\ntwo\n"), b"one\ntwo\n")


def case_reqrep():
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*", "--count", "2")
    ep = rep.bound()
    out, _ = run("req", "--connect", ep, "--data", "ping", "--data", "again")
    expect("req output", out, b"ping\nagain\n")
    expect("rep output", rep.finish(), b"ping\nagain\n")
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--data", "pong")
    out, _ = run("req", "--connect", rep.bound(), "--data", "ping")
    expect("rep with --data", out, b"pong\n")
    rep.finish()


def case_pubsub():
    sub = Proc("sub", "--bind", "tcp://127.0.0.1:*", "--count", "2", "--subscribe", "a")
    # pub waits for its first subscription, so nothing goes before the sub listens.
    run("pub", "--connect", sub.bound(), "--data", "b-dropped", "--data", "a1",
        "--data", "a2")
    expect("sub output", sub.finish(), b"a1\na2\n")


def case_pair_dealer_router():
    router = Proc("router", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--format",
                  "quoted", "--data", "reply")
    out, _ = run("dealer", "--connect", router.bound(), "--identity", "me", "--data",
                 "hi", "--count", "1")
    expect("dealer got the router's answer", out, b"reply\n")
    expect("router output", router.finish(), b'"me"|"hi"\n')
    a = Proc("pair", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--data", "from-a")
    out, _ = run("pair", "--connect", a.bound(), "--count", "1", "--data", "from-b")
    expect("pair b", out, b"from-a\n")
    expect("pair a", a.finish(), b"from-b\n")
    # --count counts what arrives; the data still goes. Here the peer speaks first
    # (a waits a second before its send), so a has its one message before it sent.
    a = Proc("pair", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--delay", "1",
             "--data", "late")
    out, _ = run("pair", "--connect", a.bound(), "--count", "1", "--data", "early")
    expect("pair b, answered late", out, b"late\n")
    expect("pair a, spoken to first", a.finish(), b"early\n")


def case_errors():
    _, err = run("req", "--connect", "nonsense", "--data", "x", rc=1)
    if "invalid endpoint" not in err or err.count("\n") != 1:
        fail(f"bad endpoint: {err!r}")
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*")
    ep = rep.bound()
    _, err = run("rep", "--bind", ep, rc=1)
    if "Address already in use" not in err:
        fail(f"address in use: {err!r}")
    rep.p.terminate()
    rep.finish(None)
    _, err = run("req", "--connect", "tcp://127.0.0.1:1", "--data", "x", "--recv-timeout",
                 "0.2", rc=1)
    if "no reply within 0.2 s" not in err:
        fail(f"timeout: {err!r}")
    _, err = run("sub", "--connect", "tcp://127.0.0.1:1", "--bogus", rc=2)
    if "unknown option" not in err:
        fail(f"unknown option: {err!r}")
    run("sub", rc=2)
    run("frobnicate", rc=2)
    for cmd in ("send", "recv", "pub", "sub", "push", "pull", "req", "rep", "pair",
                "dealer", "router", "keygen", "proxy", "monitor", "bench"):
        out, _ = run(cmd, "--help")
        if not out.startswith(b"usage: zinc " + cmd.encode()):
            fail(f"{cmd} --help: {out[:80]!r}")


def case_plain():
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--plain-server",
               "--plain-user", "admin", "--plain-password", "secret")
    ep = rep.bound()
    _, err = run("req", "--connect", ep, "--plain-user", "admin", "--plain-password",
                 "wrong", "--data", "x", rc=1)
    if "handshake refused" not in err or "400" not in err:
        fail(f"refused PLAIN: {err!r}")
    out, _ = run("req", "--connect", ep, "--plain-user", "admin", "--plain-password",
                 "secret", "--data", "in")
    expect("PLAIN reply", out, b"in\n")
    rep.finish()


def case_curve():
    p = Proc("keygen")
    out = p.finish(None).decode()
    if p.rc != 0:
        skip("no CURVE in this build")
    keys = dict(line.split(" ", 1) for line in out.splitlines())
    if len(keys["public"]) != 40 or len(keys["secret"]) != 40:
        fail(f"keygen: {out!r}")
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*", "--count", "1", "--curve-server",
               "--curve-secret", keys["secret"])
    out, _ = run("req", "--connect", rep.bound(), "--curve-serverkey", keys["public"],
                 "--data", "secret message")
    expect("CURVE reply", out, b"secret message\n")
    rep.finish()


def case_proxy():
    with tempfile.TemporaryDirectory() as d:
        front, back = f"ipc://{d}/front", f"ipc://{d}/back"
        proxy = Proc("proxy", f"router@{front}", f"dealer@{back}")
        rep = Proc("rep", "--connect", back, "--count", "1")
        out, _ = run("req", "--connect", front, "--data", "through")
        expect("through the proxy", out, b"through\n")
        rep.finish()
        proxy.p.send_signal(signal.SIGTERM)
        proxy.finish(0)
        proxy = Proc("proxy", f"router@{front}", f"dealer@{back}")
        # A request through it shows it is up before the signal (no sleep needed).
        rep = Proc("rep", "--connect", back, "--count", "1")
        run("req", "--connect", front, "--data", "x")
        rep.finish()
        proxy.p.send_signal(signal.SIGINT)
        proxy.finish(0)


def case_monitor():
    rep = Proc("rep", "--bind", "tcp://127.0.0.1:*")
    ep = rep.bound()
    mon = Proc("monitor", ep)
    mon.line("out", r"HANDSHAKE_SUCCEEDED +" + re.escape(ep))
    rep.p.terminate()
    rep.finish(None)
    line = mon.line("out", r"DISCONNECTED +" + re.escape(ep))
    if not re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", line):
        fail(f"no time stamp: {line!r}")
    mon.p.send_signal(signal.SIGTERM)
    mon.finish(0)
    # Binding: sees a peer come and go, and --count ends it.
    mon = Proc("monitor", "--type", "router", "--bind", "tcp://127.0.0.1:*", "--count",
               "4")
    ep = mon.line("out", r"LISTENING").split()[3]
    run("dealer", "--connect", ep, "--data", "hi", "--recv-timeout", "0.3")
    out = mon.finish(0).decode()
    for ev in ("LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED"):
        if ev not in out:
            fail(f"monitor --bind: no {ev} in {out!r}")


def case_monitor_hint():
    # A monitor's default DEALER against a PULL: the handshake cannot succeed, and the
    # monitor says once which option fixes it; with --type push it succeeds.
    pull = Proc("pull", "--bind", "tcp://127.0.0.1:*")
    ep = pull.bound()
    mon = Proc("monitor", ep)
    mon.line("err", r"give --type")
    mon.p.send_signal(signal.SIGTERM)
    mon.finish(0)
    if mon.bufs["err"].count(b"give --type") != 1:
        fail(f"hint not once: {mon.bufs['err']!r}")
    mon = Proc("monitor", "--type", "push", ep)
    mon.line("out", r"HANDSHAKE_SUCCEEDED +" + re.escape(ep))
    mon.p.send_signal(signal.SIGTERM)
    mon.finish(0)
    if b"give --type" in mon.bufs["err"]:
        fail(f"hint with --type given: {mon.bufs['err']!r}")
    pull.p.terminate()
    pull.finish(None)


def case_bench():
    out, _ = run("bench", "lat", "--transport", "inproc,ipc,tcp,shm", "--size", "64",
                 "--count", "200")
    rows = [ln for ln in out.decode().splitlines() if re.search(r" lat .* us", ln)]
    if len(rows) != 4:
        fail(f"bench lat: {out!r}")
    out, _ = run("bench", "thr", "--transport", "tcp", "--size", "1K,64K", "--count",
                 "2000")
    if len(re.findall(r"msg/s", out.decode())) != 2:
        fail(f"bench thr: {out!r}")
    run("bench", "lat", "--transport", "carrier-pigeon", rc=2)


def case_bench_compare():
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libzmq.so.5") and \
            not os.environ.get("ZINC_SYSTEM_LIBZMQ"):
        skip("no system libzmq")
    out, err = run("bench", "thr", "--transport", "ipc,shm", "--size", "1K", "--count",
                   "2000", "--compare")
    text = out.decode()
    if "compared with:" not in text or "libzmq.so.5" not in text:
        fail(f"bench --compare header: {text!r}")
    rows = [ln for ln in text.splitlines() if re.search(r"msg/s.*msg/s.* \d+\.\d\d", ln)]
    if len(rows) != 2 or "has no shm" not in rows[1]:
        fail(f"bench --compare rows: {text!r} {err!r}")


# --- zinc against Debian's libzmq through pyzmq -------------------------------------

def pyzmq():
    try:
        import zmq
    except ImportError:
        skip("python3-zmq not installed")
    if "zinc" in zmq.zmq_version() or os.environ.get("LD_LIBRARY_PATH"):
        skip("pyzmq must run on the system libzmq (LD_LIBRARY_PATH set)")
    ctx = zmq.Context()
    return zmq, ctx


def py_bind(sock):
    sock.bind("tcp://127.0.0.1:*")
    return sock.last_endpoint.decode()


def case_pyzmq_sub():
    zmq, ctx = pyzmq()
    pub = ctx.socket(zmq.XPUB)  # libzmq's publisher; an XPUB sees the subscription
    ep = py_bind(pub)
    sub = Proc("sub", "--connect", ep, "--count", "3")
    if pub.poll(DEADLINE * 1000) == 0:
        fail("no subscription from zinc sub")
    expect("subscription", pub.recv(), b"\x01")  # subscribe to everything
    for m in (b"one", b"two", b"three"):
        pub.send(m)
    expect("zinc sub output", sub.finish(), b"one\ntwo\nthree\n")
    pub.close(0)
    ctx.term()


def case_pyzmq_pub():
    zmq, ctx = pyzmq()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    ep = py_bind(sub)
    # Started, not waited for: libzmq's SUB sends its subscription to a new peer only
    # when its own thread next enters the library (the poll below).
    pub = Proc("pub", "--connect", ep, "--data", "from zinc", "--count", "2")
    for _ in range(2):
        if sub.poll(DEADLINE * 1000) == 0:
            fail("libzmq SUB got nothing from zinc pub")
        expect("libzmq sub", sub.recv(), b"from zinc")
    pub.finish()
    sub.close(0)
    ctx.term()


def case_pyzmq_req():
    zmq, ctx = pyzmq()
    rep = ctx.socket(zmq.REP)
    ep = py_bind(rep)
    req = Proc("req", "--connect", ep, "--data", "ping")
    if rep.poll(DEADLINE * 1000) == 0:
        fail("no request from zinc req")
    msg = rep.recv()
    rep.send(b"pong:" + msg)
    expect("zinc req output", req.finish(), b"pong:ping\n")
    # And a libzmq REQ against a zinc rep (echo).
    zrep = Proc("rep", "--bind", "tcp://127.0.0.1:*", "--count", "1")
    req = ctx.socket(zmq.REQ)
    req.connect(zrep.bound())
    req.send_multipart([b"a", b"b"])
    if req.poll(DEADLINE * 1000) == 0:
        fail("no reply from zinc rep")
    expect("zinc rep echo", req.recv_multipart(), [b"a", b"b"])
    expect("zinc rep output", zrep.finish(), b"a|b\n")
    req.close(0)
    rep.close(0)
    ctx.term()


def case_pyzmq_monitor():
    zmq, ctx = pyzmq()
    router = ctx.socket(zmq.ROUTER)
    ep = py_bind(router)
    mon = Proc("monitor", ep)
    mon.line("out", r"CONNECTED +" + re.escape(ep))
    mon.line("out", r"HANDSHAKE_SUCCEEDED +" + re.escape(ep))
    router.close(0)  # the connection goes
    mon.line("out", r"DISCONNECTED +" + re.escape(ep))
    mon.p.send_signal(signal.SIGINT)
    mon.finish(0)
    ctx.term()


def main():
    global ZINC
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    ZINC = os.path.abspath(sys.argv[1])
    fn = globals().get("case_" + sys.argv[2])
    if not fn:
        fail(f"no case {sys.argv[2]}")
    fn()
    print("ok", sys.argv[2])


if __name__ == "__main__":
    main()

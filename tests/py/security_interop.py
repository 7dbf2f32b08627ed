#!/usr/bin/python3
"""security_interop.py: PLAIN, NULL+ZAP and mechanism mismatches between zinc and the
real libzmq (Debian's 4.3.4 through python3-zmq), both directions, tcp and ipc.

The driver runs each scenario as two processes: a server and a client, one of them on
zinc (LD_LIBRARY_PATH=<zinc lib dir>) and the other on the system libzmq. Each side
reports what it saw (messages, User-Id, handshake monitor events) as one JSON line; the
driver checks both against what libzmq gives against itself, which the same driver
also runs (libzmq on both sides) so that the expectations are proven on the reference.

usage: security_interop.py ZINC_LIBDIR      (driver; exit 0 = all passed, 77 = skip)
       security_interop.py server|client JSON   (a side, internal)
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

WAIT = 20.0  # seconds a side waits for its message or its handshake's failure: a bound


def read_event(mon):
    """One monitor event as (event, value)."""
    parts = mon.recv_multipart()
    return (int.from_bytes(parts[0][:2], "little"),
            int.from_bytes(parts[0][2:6], "little"))


def side_main(role, spec):
    import zmq

    ctx = zmq.Context()
    events = []
    out = {"events": events}
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    mon = sock.get_monitor_socket(
        zmq.EVENT_HANDSHAKE_SUCCEEDED
        | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    )
    handler = None
    if role == "server":
        if spec.get("zap"):
            handler = ctx.socket(zmq.REP)
            handler.linger = 0
            handler.bind("inproc://zeromq.zap.01")

            def serve():
                allow = spec["zap"]
                while True:
                    try:
                        req = handler.recv_multipart()
                    except zmq.ZMQError:
                        return
                    mech = req[5]
                    ok = allow == "all" or (
                        mech == b"PLAIN" and req[6:8] == [b"admin", b"secret"]
                    )
                    if ok:
                        handler.send_multipart(
                            [req[0], req[1], b"200", b"OK", b"admin",
                             b"\x05Hello\x00\x00\x00\x05World"])
                    else:
                        handler.send_multipart(
                            [req[0], req[1], b"400", b"No", b"", b""])

            threading.Thread(target=serve, daemon=True).start()
        if spec.get("domain"):
            sock.zap_domain = spec["domain"].encode()
        if spec["mech"] == "plain":
            sock.plain_server = True
        sock.bind(spec["endpoint"])
        print(json.dumps({"endpoint": sock.last_endpoint.decode()}), flush=True)
    else:
        if spec["mech"] == "plain":
            sock.plain_username = spec.get("user", "admin").encode()
            sock.plain_password = spec.get("password", "secret").encode()
        sock.connect(spec["endpoint"])
        sock.sndtimeo = int(WAIT * 1000)
        try:
            sock.send(b"hello")
        except zmq.Again:
            out["send"] = "timed out"
    # Wait on what happens, not on the clock: a side is done when it has its message
    # or its own monitor reports the handshake failed. WAIT only bounds a side that
    # sees neither (one side of a mismatch may report nothing), so a loaded machine
    # that starts the peer process late does not fail the case.
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(mon, zmq.POLLIN)
    end = time.time() + WAIT
    done = False
    while not done and time.time() < end:
        for s, _ in poller.poll(100):
            if s is mon:
                ev, val = read_event(mon)
                events.append([ev, val])
                done = done or ev in FAILED
                continue
            frame = sock.recv(copy=False)
            out["got"] = frame.bytes.decode()
            if role == "server":
                out["user_id"] = frame.get("User-Id")
                try:
                    out["hello"] = frame.get("Hello")
                except zmq.ZMQError:
                    out["hello"] = None
                sock.send(b"welcome")
            done = True
    time.sleep(0.3)  # the peer's last events are on their way: collect them
    while mon.poll(50):
        events.append(list(read_event(mon)))
    print(json.dumps(out), flush=True)
    os._exit(0)


def run_pair(server_lib, client_lib, spec, zinc_lib):
    def env_for(lib):
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        if lib == "zinc":
            env["LD_LIBRARY_PATH"] = zinc_lib
        return env

    srv = subprocess.Popen(
        [sys.executable, __file__, "server", json.dumps(spec)],
        stdout=subprocess.PIPE, env=env_for(server_lib), text=True)
    first = json.loads(srv.stdout.readline())
    cspec = dict(spec, endpoint=first["endpoint"], mech=spec.get("client_mech", spec["mech"]))
    cli = subprocess.run(
        [sys.executable, __file__, "client", json.dumps(cspec)],
        capture_output=True, env=env_for(client_lib), text=True, timeout=30)
    sout = json.loads(srv.stdout.readline())
    srv.wait(timeout=30)
    return sout, json.loads(cli.stdout.strip().splitlines()[-1])


SUCC, AUTH, PROTO, NODETAIL = 0x1000, 0x4000, 0x2000, 0x0800
FAILED = (AUTH, PROTO, NODETAIL)
MISMATCH = 0x11000002
EFAULT = 14

# name, spec, check(server, client) -> error string or None
SCENARIOS = [
    ("plain allowed", {"mech": "plain", "zap": "admin"},
     lambda s, c: None if s.get("got") == "hello" and c.get("got") == "welcome"
     and s.get("user_id") == "admin" and s.get("hello") == "World"
     and [SUCC, 0] in s["events"] and [SUCC, 0] in c["events"] else "not through"),
    ("plain wrong password", {"mech": "plain", "zap": "admin", "password": "wrong"},
     lambda s, c: None if "got" not in s and [AUTH, 400] in s["events"]
     and [AUTH, 400] in c["events"] else "expected AUTH 400 both sides"),
    ("plain no handler", {"mech": "plain"},
     lambda s, c: None if "got" not in s and [NODETAIL, EFAULT] in s["events"]
     else "expected NO_DETAIL EFAULT"),
    ("null client, plain server", {"mech": "plain", "zap": "all", "client_mech": "null"},
     # The side that reads the other's greeting first refuses and closes; the other
     # may see that close first (NO_DETAIL), libzmq against itself too.
     lambda s, c: None if "got" not in s and ([PROTO, MISMATCH] in s["events"]
                                              or [PROTO, MISMATCH] in c["events"])
     and [SUCC, 0] not in s["events"] else "expected MECHANISM_MISMATCH"),
    ("null with domain, denied", {"mech": "null", "zap": "admin", "domain": "global"},
     lambda s, c: None if "got" not in s and [AUTH, 400] in s["events"]
     and [AUTH, 400] in c["events"] else "expected AUTH 400 both sides"),
    ("null with domain, allowed", {"mech": "null", "zap": "all", "domain": "global"},
     lambda s, c: None if s.get("got") == "hello" and s.get("user_id") == "admin"
     else "not through"),
]


def main():
    zinc_lib = os.path.abspath(sys.argv[1])
    try:
        subprocess.run([sys.executable, "-c", "import zmq"], check=True,
                       env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"})
    except subprocess.CalledProcessError:
        print("SKIP: python3-zmq missing")
        return 77
    tmp = tempfile.mkdtemp(prefix="zinc-secinterop-")
    runs = []
    for pairing in [("libzmq", "libzmq"), ("zinc", "libzmq"), ("libzmq", "zinc"),
                    ("zinc", "zinc")]:
        for tr in ["tcp", "ipc"]:
            for name, spec, check in SCENARIOS:
                n = len(runs)
                ep = "tcp://127.0.0.1:*" if tr == "tcp" else "ipc://%s/s%d" % (tmp, n)
                label = "%s server / %s client, %s, %s" % (pairing[0], pairing[1], tr, name)
                runs.append((label, pairing, dict(spec, endpoint=ep), check))

    def one(run):
        label, pairing, spec, check = run
        try:
            s, c = run_pair(pairing[0], pairing[1], spec, zinc_lib)
        except subprocess.TimeoutExpired as e:
            return "FAIL %s: a side hung (%s)" % (label, e.cmd[2])
        err = check(s, c)
        return ("ok   " + label) if not err else (
            "FAIL %s: %s (server %s, client %s)" % (label, err, s, c))

    # Scenarios are independent processes: run a few at once (each mostly waits).
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=6) as pool:
        lines = list(pool.map(one, runs))
    failed = sum(1 for l in lines if l.startswith("FAIL"))
    for l in lines:
        print(l)
    print("%d passed, %d failed" % (len(runs) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("server", "client"):
        side_main(sys.argv[1], json.loads(sys.argv[2]))
    sys.exit(main())

#!/usr/bin/python3
"""pubsub_peer.py: a libzmq PUB/SUB/XPUB peer (python3-zmq) that zinc's
test_pubsub drives over tcp.

Usage: pubsub_peer.py [--bind | --connect] [--timeout MS] ROLE ENDPOINT

Roles (the topic is always b"A"):
  pub    PUB; publishes b"A#probe" every 10 ms until a line "GO" arrives on
         stdin (the test's SUB has seen a probe: its subscription is in
         effect), then SCRIPT, then waits for stdin EOF.
  sub    SUB subscribed to b"A"; prints "SYNC" at the first b"A#probe", then
         expects exactly EXPECTED (probes and "A#sync" skipped), prints "OK".
  xpub   XPUB; prints "SUB <hex>" or "UNSUB <hex>" for each (un)subscription
         it receives, until stdin EOF.

SCRIPT (what a publisher sends after the probes):
  b"A1", b"B1", b"AB", [b"A", b"p2", b"p3"], [b"B", b"A"], b"A-end"
EXPECTED (what a subscriber to b"A" must get of it):
  b"A1", b"AB", [b"A", b"p2", b"p3"], b"A-end"

Once bound or connected the peer prints "READY <endpoint>". On success it
exits 0; on failure it prints the reason on stderr and exits 1. Every blocking
call has a timeout. The test runs it with LD_LIBRARY_PATH cleared, so this is
the system libzmq.
"""

import argparse
import os
import select
import sys
import time

import zmq

SCRIPT = [[b"A1"], [b"B1"], [b"AB"], [b"A", b"p2", b"p3"], [b"B", b"A"], [b"A-end"]]
EXPECTED = [[b"A1"], [b"AB"], [b"A", b"p2", b"p3"], [b"A-end"]]


class PeerError(Exception):
    pass


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stdin_line(timeout_s):
    """The next line on stdin ("" at EOF), or None after timeout_s."""
    ready, _, _ = select.select([0], [], [], timeout_s)
    if not ready:
        return None
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            break
        data += chunk
    return data.decode().strip() if data else ""


def role_pub(sock, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000.0
    while True:
        sock.send(b"A#probe")
        line = stdin_line(0.01)
        if line == "GO":
            break
        if line == "" or time.monotonic() > deadline:
            raise PeerError("no GO from the test")
    for parts in SCRIPT:
        sock.send_multipart(parts)
    while stdin_line(timeout_ms / 1000.0) not in ("", None):
        pass
    return "OK published"


def role_sub(sock, timeout_ms):
    sock.setsockopt(zmq.SUBSCRIBE, b"A")
    synced = False
    got = []
    while len(got) < len(EXPECTED):
        try:
            parts = sock.recv_multipart()
        except zmq.Again:
            raise PeerError("timed out; got %r so far" % got)
        if parts in ([b"A#probe"], [b"A#sync"]):
            if not synced:
                say("SYNC")
                synced = True
            continue
        got.append(parts)
    if got != EXPECTED:
        raise PeerError("got %r, want %r" % (got, EXPECTED))
    try:
        extra = sock.recv_multipart(zmq.NOBLOCK)
        raise PeerError("unexpected %r" % extra)
    except zmq.Again:
        pass
    return "OK received"


def role_xpub(sock, timeout_ms):
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(0, zmq.POLLIN)
    deadline = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() < deadline:
        events = dict(poller.poll(100))
        if sock in events:
            msg = sock.recv()
            if msg[:1] == b"\x01":
                say("SUB " + msg[1:].hex())
            elif msg[:1] == b"\x00":
                say("UNSUB " + msg[1:].hex())
            else:
                say("DATA " + msg.hex())
        if 0 in events and not os.read(0, 4096):
            return "OK"
    raise PeerError("no stdin EOF from the test")


ROLES = {"pub": (zmq.PUB, role_pub), "sub": (zmq.SUB, role_sub),
         "xpub": (zmq.XPUB, role_xpub)}


def main():
    ap = argparse.ArgumentParser(description="libzmq pub/sub peer for zinc")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bind", action="store_true")
    mode.add_argument("--connect", action="store_true")
    ap.add_argument("--timeout", type=int, default=10000)
    ap.add_argument("role", choices=sorted(ROLES))
    ap.add_argument("endpoint")
    opts = ap.parse_args()
    stype, fn = ROLES[opts.role]
    ctx = zmq.Context()
    sock = ctx.socket(stype)
    rc = 1
    try:
        sock.setsockopt(zmq.RCVTIMEO, opts.timeout)
        sock.setsockopt(zmq.SNDTIMEO, opts.timeout)
        sock.setsockopt(zmq.LINGER, opts.timeout)
        if opts.bind:
            sock.bind(opts.endpoint)
            endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            sock.connect(opts.endpoint)
            endpoint = opts.endpoint
        say("READY " + endpoint)
        say(fn(sock, opts.timeout))
        rc = 0
    except (PeerError, zmq.ZMQError) as e:
        sys.stderr.write("pubsub_peer.py %s %s: %s\n" % (opts.role, opts.endpoint, e))
    sock.close(linger=0 if rc else None)
    ctx.term()
    return rc


if __name__ == "__main__":
    sys.exit(main())

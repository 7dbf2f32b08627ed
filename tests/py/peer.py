#!/usr/bin/python3
"""peer.py: a libzmq peer (python3-zmq) that zinc's interop test drives.

Usage: peer.py [--bind | --connect] [--timeout MS] ROLE ENDPOINT [ARGS...]

Roles:
  pull-count N        PULL; receive N messages, each starting with its 8-byte
                      little-endian sequence number 0..N-1, in order.
  push-seq N SIZE     PUSH; send N messages of SIZE (>= 8) bytes: the sequence
                      number, then bytes of (seq & 0xff). *
  pair-echo           PAIR; echo every (multipart) message back; stop after
                      echoing a single-part message b"END".
  pull-sizes S...     PULL; receive one message per size S, in order, with
                      content pattern(S).
  push-sizes S...     PUSH; send one message per size S with content pattern(S). *
  silent              PAIR with heartbeats off; send b"HELLO", then only watch
                      the socket monitor: print "DISCONNECTED" when the
                      connection drops. The test SIGSTOPs this process so it
                      answers no heartbeat.

pattern(S): byte i is (i + S) % 251.

* A sending role keeps its socket open until its stdin reaches EOF: the test
  closes it once it has received everything. (libzmq 4.3.4 as a receiver may
  drop data still in the kernel buffer when an ipc peer closes while the
  receiver is at its HWM, so the sender must not close first.) By hand, press
  Ctrl-D.

Once bound or connected the peer prints "READY <endpoint>" (the resolved
endpoint when bound, so a wildcard tcp port can be reported). On success it
prints "OK ..." and exits 0; on any failure it prints the reason on stderr and
exits non-zero. Every blocking call has a timeout, so the peer never hangs.
The test runs it with LD_LIBRARY_PATH cleared so this is the system libzmq.
"""

import argparse
import os
import select
import struct
import sys
import time

import zmq


class PeerError(Exception):
    pass


TIMEOUT_MS = 10000  # every blocking call; set from --timeout


def pattern(size):
    start = size % 251
    base = bytes(range(251)) * (size // 251 + 2)
    return base[start:start + size]


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv_multipart(sock, what):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise PeerError("timed out waiting for " + what)


def recv_one(sock, what):
    parts = recv_multipart(sock, what)
    if len(parts) != 1:
        raise PeerError("%s: expected 1 part, got %d" % (what, len(parts)))
    return parts[0]


def send(sock, data, flags=0):
    try:
        sock.send(data, flags)
    except zmq.Again:
        raise PeerError("timed out sending (no peer or peer not reading)")


def await_stdin_eof():
    """Wait until the test closes our stdin: it has received all we sent."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000.0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError("the test did not confirm receipt in time")
        ready, _, _ = select.select([0], [], [], left)
        if ready and not os.read(0, 4096):
            return


def role_pull_count(sock, args):
    n = int(args[0])
    for i in range(n):
        msg = recv_one(sock, "message %d of %d" % (i, n))
        if len(msg) < 8:
            raise PeerError("message %d: %d bytes, want >= 8" % (i, len(msg)))
        seq = struct.unpack_from("<Q", msg)[0]
        if seq != i:
            raise PeerError("message %d: sequence number %d" % (i, seq))
    return "OK received %d" % n


def role_push_seq(sock, args):
    n, size = int(args[0]), int(args[1])
    if size < 8:
        raise PeerError("push-seq SIZE must be >= 8")
    for i in range(n):
        send(sock, struct.pack("<Q", i) + bytes([i & 0xFF]) * (size - 8))
    await_stdin_eof()
    return "OK sent %d" % n


def role_pair_echo(sock, args):
    count = 0
    while True:
        parts = recv_multipart(sock, "message to echo")
        try:
            sock.send_multipart(parts)
        except zmq.Again:
            raise PeerError("timed out echoing message %d" % count)
        count += 1
        if len(parts) == 1 and parts[0] == b"END":
            return "OK echoed %d" % count


def role_pull_sizes(sock, args):
    for size in (int(a) for a in args):
        msg = recv_one(sock, "message of %d bytes" % size)
        if len(msg) != size:
            raise PeerError("want %d bytes, got %d" % (size, len(msg)))
        if msg != pattern(size):
            raise PeerError("message of %d bytes: content mismatch" % size)
    return "OK received %d sizes" % len(args)


def role_push_sizes(sock, args):
    for size in (int(a) for a in args):
        send(sock, pattern(size))
    await_stdin_eof()
    return "OK sent %d sizes" % len(args)


def role_silent(sock, mon, args):
    send(sock, b"HELLO")
    while True:
        try:
            event = mon.recv_multipart()
        except zmq.Again:
            raise PeerError("no DISCONNECTED event before the timeout")
        ev = struct.unpack_from("<H", event[0])[0]
        if ev == zmq.EVENT_DISCONNECTED:
            say("DISCONNECTED")
            return "OK disconnected"


ROLES = {
    "pull-count": (zmq.PULL, role_pull_count, 1),
    "push-seq": (zmq.PUSH, role_push_seq, 2),
    "pair-echo": (zmq.PAIR, role_pair_echo, 0),
    "pull-sizes": (zmq.PULL, role_pull_sizes, 1),
    "push-sizes": (zmq.PUSH, role_push_sizes, 1),
    "silent": (zmq.PAIR, None, 0),
}


def main():
    ap = argparse.ArgumentParser(description="libzmq interop peer for zinc")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bind", action="store_true")
    mode.add_argument("--connect", action="store_true")
    ap.add_argument("--timeout", type=int, default=10000,
                    help="timeout in ms for every blocking call")
    ap.add_argument("role", choices=sorted(ROLES))
    ap.add_argument("endpoint")
    ap.add_argument("args", nargs="*")
    opts = ap.parse_args()
    global TIMEOUT_MS
    TIMEOUT_MS = opts.timeout
    stype, fn, nargs = ROLES[opts.role]
    if len(opts.args) < nargs:
        ap.error("%s needs %d argument(s)" % (opts.role, nargs))

    ctx = zmq.Context()
    sock = ctx.socket(stype)
    mon = None
    try:
        sock.setsockopt(zmq.RCVTIMEO, opts.timeout)
        sock.setsockopt(zmq.SNDTIMEO, opts.timeout)
        sock.setsockopt(zmq.LINGER, opts.timeout)  # flush what was sent
        sock.setsockopt(zmq.MAXMSGSIZE, -1)
        if opts.role == "silent":
            sock.setsockopt(zmq.HEARTBEAT_IVL, 0)
            mon = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            mon.setsockopt(zmq.RCVTIMEO, opts.timeout)
        if opts.bind:
            sock.bind(opts.endpoint)
            endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            sock.connect(opts.endpoint)
            endpoint = opts.endpoint
        say("READY " + endpoint)
        if mon is not None:
            result = role_silent(sock, mon, opts.args)
        else:
            result = fn(sock, opts.args)
        say(result)
        rc = 0
    except (PeerError, zmq.ZMQError) as e:
        sys.stderr.write("peer.py %s %s: %s\n" % (opts.role, opts.endpoint, e))
        rc = 1
    if mon is not None:
        sock.disable_monitor()
        mon.close(linger=0)
    sock.close(linger=0 if rc else None)
    ctx.term()
    return rc


if __name__ == "__main__":
    sys.exit(main())

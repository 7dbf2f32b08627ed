#!/usr/bin/python3
"""reqrep_peer.py: a libzmq peer (python3-zmq) for zinc's REQ/REP/DEALER/ROUTER tests.

Usage: reqrep_peer.py [--bind | --connect] [--timeout MS] ROLE ENDPOINT [ARGS...]

Roles:
  rep-echo N          REP; answer N requests: the reply is the request with b"re:"
                      in front of its first frame.
  req-client N        REQ; send N requests b"req I" (every third one with a second
                      frame b"part2") and check each reply is the request with
                      b"re:" in front of its first frame.
  router-echo N       ROUTER; answer N messages [id, frames...] with
                      [id, b"re:" + first frame, other frames...]. Prints
                      "ID <hex>" for each routing id the first time it is seen.
  dealer-client N ID  DEALER with ZMQ_ROUTING_ID ID ("-": none); send N messages
                      b"msg I" (every third one with a second frame b"part2") and
                      check each reply is the message with b"re:" in front.
  rep-workers K       K REP sockets, each connected to ENDPOINT (--connect only);
                      answer every request with b"w<k>:" + request until stdin
                      reaches EOF, then print "OK handled T c0,c1,...".

Once bound or connected the peer prints "READY <endpoint>" (the resolved endpoint
when bound). On success it prints "OK ..." and exits 0; on failure it prints the
reason on stderr and exits 1. Every blocking call has a timeout. Exits 77 when zmq
cannot be imported. The test runs it with LD_LIBRARY_PATH cleared, so this is the
system libzmq.
"""

import argparse
import os
import select
import sys
import time

try:
    import zmq
except ImportError:
    sys.exit(77)


class PeerError(Exception):
    pass


TIMEOUT_MS = 10000


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv_multipart(sock, what):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise PeerError("timed out waiting for " + what)


def send_multipart(sock, parts, what):
    try:
        sock.send_multipart(parts)
    except zmq.Again:
        raise PeerError("timed out sending " + what)


def request(i, word):
    first = b"%s %d" % (word, i)
    return [first, b"part2"] if i % 3 == 0 else [first]


def answer(parts):
    return [b"re:" + parts[0]] + parts[1:]


def role_rep_echo(ctx, opts):
    sock = make_socket(ctx, zmq.REP, opts)
    n = int(opts.args[0])
    for i in range(n):
        parts = recv_multipart(sock, "request %d of %d" % (i, n))
        send_multipart(sock, answer(parts), "reply %d" % i)
    return "OK answered %d" % n


def role_req_client(ctx, opts):
    sock = make_socket(ctx, zmq.REQ, opts)
    n = int(opts.args[0])
    for i in range(n):
        req = request(i, b"req")
        send_multipart(sock, req, "request %d" % i)
        rep = recv_multipart(sock, "reply %d" % i)
        if rep != answer(req):
            raise PeerError("reply %d: got %r, want %r" % (i, rep, answer(req)))
    return "OK asked %d" % n


def role_router_echo(ctx, opts):
    sock = make_socket(ctx, zmq.ROUTER, opts)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    n = int(opts.args[0])
    seen = set()
    for i in range(n):
        parts = recv_multipart(sock, "message %d of %d" % (i, n))
        if len(parts) < 2:
            raise PeerError("message %d: %d frames" % (i, len(parts)))
        if parts[0] not in seen:
            seen.add(parts[0])
            say("ID " + parts[0].hex())
        send_multipart(sock, [parts[0]] + answer(parts[1:]), "reply %d" % i)
    return "OK echoed %d" % n


def role_dealer_client(ctx, opts):
    n, rid = int(opts.args[0]), opts.args[1]
    sock = ctx.socket(zmq.DEALER)
    if rid != "-":
        sock.setsockopt(zmq.ROUTING_ID, rid.encode())
    sock = make_socket(ctx, zmq.DEALER, opts, sock)
    for i in range(n):
        msg = request(i, b"msg")
        send_multipart(sock, msg, "message %d" % i)
        rep = recv_multipart(sock, "reply %d" % i)
        if rep != answer(msg):
            raise PeerError("reply %d: got %r, want %r" % (i, rep, answer(msg)))
    return "OK sent %d" % n


def role_rep_workers(ctx, opts):
    if opts.bind:
        raise PeerError("rep-workers connects")
    k = int(opts.args[0])
    socks = []
    for _ in range(k):
        s = ctx.socket(zmq.REP)
        s.setsockopt(zmq.LINGER, TIMEOUT_MS)
        s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        s.connect(opts.endpoint)
        socks.append(s)
    say("READY " + opts.endpoint)
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    poller.register(0, zmq.POLLIN)
    counts = [0] * k
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = dict(poller.poll(100))
        for w, s in enumerate(socks):
            if ready.get(s):
                req = s.recv_multipart()
                send_multipart(s, [b"w%d:" % w + req[0]] + req[1:], "an answer")
                counts[w] += 1
        if ready.get(0) and not os.read(0, 4096):
            return "OK handled %d %s" % (sum(counts), ",".join(map(str, counts)))
    raise PeerError("the test did not close stdin in time")


def make_socket(ctx, stype, opts, sock=None):
    if sock is None:
        sock = ctx.socket(stype)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.LINGER, TIMEOUT_MS)
    if opts.bind:
        sock.bind(opts.endpoint)
        say("READY " + sock.getsockopt_string(zmq.LAST_ENDPOINT))
    else:
        sock.connect(opts.endpoint)
        say("READY " + opts.endpoint)
    return sock


ROLES = {
    "rep-echo": (role_rep_echo, 1),
    "req-client": (role_req_client, 1),
    "router-echo": (role_router_echo, 1),
    "dealer-client": (role_dealer_client, 2),
    "rep-workers": (role_rep_workers, 1),
}


def main():
    ap = argparse.ArgumentParser(description="libzmq REQ/REP/DEALER/ROUTER peer")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bind", action="store_true")
    mode.add_argument("--connect", action="store_true")
    ap.add_argument("--timeout", type=int, default=10000)
    ap.add_argument("role", choices=sorted(ROLES))
    ap.add_argument("endpoint")
    ap.add_argument("args", nargs="*")
    opts = ap.parse_args()
    global TIMEOUT_MS
    TIMEOUT_MS = opts.timeout
    fn, nargs = ROLES[opts.role]
    if len(opts.args) < nargs:
        ap.error("%s needs %d argument(s)" % (opts.role, nargs))
    ctx = zmq.Context()
    try:
        say(fn(ctx, opts))
        code = 0
    except (PeerError, zmq.ZMQError) as e:
        sys.stderr.write("reqrep_peer %s: %s\n" % (opts.role, e))
        code = 1
    ctx.destroy(linger=0 if code else TIMEOUT_MS)
    sys.exit(code)


if __name__ == "__main__":
    main()

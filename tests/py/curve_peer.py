#!/usr/bin/python3
"""curve_peer.py: a libzmq (python3-zmq) CURVE peer for tests/test_curve.c.

Usage: curve_peer.py server|client --bind|--connect ENDPOINT KEYS...
  server: KEYS = server secret key (Z85)
  client: KEYS = server public, client public, client secret (Z85)

A PAIR socket. Once bound or connected it prints "READY <endpoint>". It sends the
multipart message [b"from-libzmq", b"part2"], then echoes every multipart message it
receives with b"echo" appended, until it receives the single part b"END" (echoed as
is). Then it prints "OK <n>" and exits 0; on any failure it prints the reason on stderr
and exits 1. Every blocking call has a timeout. The test runs it with LD_LIBRARY_PATH
cleared, so this is Debian's libzmq, not zinc.
"""

import sys

import zmq

TIMEOUT_MS = 10000


def main():
    role, mode, endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
    keys = [k.encode() for k in sys.argv[4:]]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PAIR)
    rc = 1
    try:
        sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        sock.setsockopt(zmq.LINGER, TIMEOUT_MS)
        if role == "server":
            sock.setsockopt(zmq.CURVE_SERVER, 1)
            sock.setsockopt(zmq.CURVE_SECRETKEY, keys[0])
        else:
            sock.setsockopt(zmq.CURVE_SERVERKEY, keys[0])
            sock.setsockopt(zmq.CURVE_PUBLICKEY, keys[1])
            sock.setsockopt(zmq.CURVE_SECRETKEY, keys[2])
        if mode == "--bind":
            sock.bind(endpoint)
            endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            sock.connect(endpoint)
        sys.stdout.write("READY %s\n" % endpoint)
        sys.stdout.flush()
        sock.send_multipart([b"from-libzmq", b"part2"])
        n = 0
        while True:
            parts = sock.recv_multipart()
            n += 1
            if parts == [b"END"]:
                sock.send(b"END")
                break
            sock.send_multipart(parts + [b"echo"])
        sys.stdout.write("OK %d\n" % n)
        sys.stdout.flush()
        rc = 0
    except zmq.ZMQError as e:
        sys.stderr.write("curve_peer.py %s: %s\n" % (role, e))
    sock.close()
    ctx.term()
    return rc


if __name__ == "__main__":
    sys.exit(main())

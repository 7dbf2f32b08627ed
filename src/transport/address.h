/*
 * address.h: endpoint strings of the tcp:// and ipc:// transports (the part after
 * "tcp://" or "ipc://") turned into socket addresses, the way libzmq 4.3 reads them
 * (zmq_tcp(7), zmq_ipc(7)).
 *
 * Threads: any. address_tcp may block in DNS when it resolves a connect address, so it
 * belongs in the I/O thread's connecter; zmq_connect checks the syntax only, with
 * address_tcp_check, and never blocks. The other functions do no name look-up.
 */
#ifndef ZINC_TRANSPORT_ADDRESS_H
#define ZINC_TRANSPORT_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/net.h"

/* address_tcp: parses and resolves a tcp endpoint.
 *
 * bind: "interface:port" where the interface is "*" (every interface: 0.0.0.0, or ::
 * when ipv6), a numeric IPv4 or IPv6 address (brackets optional: "[::1]:5555"), or an
 * interface name ("lo", "eth0": its first IPv4 address, or IPv6 when ipv6). Host names
 * are not looked up, as in libzmq. The port is a number, "0" or "*" (both: any port).
 *
 * connect: "[source;]host:port". host is a name (DNS) or a numeric address; port a
 * number (0 allowed, "*" not). The optional source is read with the bind rules ("eth0:0",
 * "192.168.1.17:5555", "*:*"); its port is required as in libzmq 4.3. Then *has_src is
 * true and *src is set; src and has_src may be NULL only when spec has no source.
 *
 * ipv6 (ZMQ_IPV6): when false only IPv4 addresses resolve; when true every result is
 * AF_INET6 (IPv4 ones mapped, ::ffff:a.b.c.d) for a dual-stack socket.
 *
 * Returns 0, or:
 *   -EINVAL       malformed: no ":port", a port that is not 0..65535 digits (or "*" on
 *                 a bind or a source), an empty or unbracketed host, characters libzmq
 *                 refuses in a connect host, "*" as a connect host, a source on a bind,
 *                 an empty or unknown IPv6 zone ("[fe80::1%eth9]");
 *   -ENODEV       bind or source: no such interface and not a numeric address of the
 *                 family asked for ("localhost", "[::1]" without ipv6), as libzmq;
 *   -EHOSTUNREACH connect: the host does not resolve (now) to an address of the family
 *                 asked for; libzmq keeps retrying in this case, never failing
 *                 zmq_connect, so a connecter should treat it like a refused connection;
 *   -ENOMEM.
 */
int address_tcp(const char *spec, bool bind, bool ipv6, struct zn_sockaddr *addr,
                struct zn_sockaddr *src, bool *has_src);

/* address_tcp_check: the syntax check zmq_connect makes before handing a tcp endpoint
 * to the I/O thread: 0 if address_tcp(spec, false, ...) could accept it, else -EINVAL
 * for the malformed cases listed above. No name look-up, never blocks. */
int address_tcp_check(const char *spec);

/* address_ipc: parses an ipc endpoint: a file-system path ("/tmp/x", "x"), or "@name"
 * for a Linux abstract name (sun_path starts with a NUL; the length covers exactly the
 * name, no trailing NUL, as libzmq does, so both sides name the same socket). A spec
 * starting with '*' sets *wildcard (wildcard may be NULL): a bind then makes its own
 * path with address_ipc_wildcard, while a connect uses the literal path in *addr as
 * libzmq does. Returns 0, -EINVAL for "" or a lone "@", -ENAMETOOLONG when spec has
 * 108 (sizeof sun_path) bytes or more. */
int address_ipc(const char *spec, struct zn_sockaddr *addr, bool *wildcard);

/* address_ipc_wildcard: the address for a bind to the ipc wildcard "*": "<dir>/socket" in
 * a fresh private (0700) directory made by zn_mkdtemp under $TMPDIR, $TEMPDIR, $TMP or
 * /tmp. The directory's path is written to dir; the listener unlinks the socket and calls
 * zn_rmdir(dir) when it closes. Returns 0, -ENAMETOOLONG (dir too small, or the path
 * does not fit sun_path: then nothing is left behind), or mkdtemp's -errno. */
int address_ipc_wildcard(struct zn_sockaddr *addr, char *dir, size_t dirlen);

/* address_shm: the rendezvous Unix socket of shm://name: <private dir>/<name>.sock.
 * A name is 1..64 characters of [A-Za-z0-9._-] (not starting with '.'); anything else
 * is -EINVAL. -EPERM when the private directory is not safely ours. */
int address_shm(const char *name, struct zn_sockaddr *addr);

#endif

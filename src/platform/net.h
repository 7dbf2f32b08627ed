/*
 * net.h: the socket calls the tcp:// and ipc:// transports need, and nothing above
 * them. Every function here is a thin wrapper over the OS: it retries EINTR, returns 0
 * (or a byte count) on success and a negative errno on failure, with EWOULDBLOCK
 * reported as -EAGAIN. Descriptors are always nonblocking and close-on-exec.
 *
 * Threads: any thread may call any function; none keeps state between calls. Only the
 * name look-ups (zn_resolve_host with DNS, zn_resolve_interface) may block, so they
 * belong in an I/O thread, never in an application thread's zmq_connect.
 */
#ifndef ZINC_PLATFORM_NET_H
#define ZINC_PLATFORM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

/* A socket address of any family zinc uses, with its length as the kernel sees it. */
struct zn_sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
};

/* TCP tuning, the ZMQ_TCP_KEEPALIVE*, ZMQ_TOS, ZMQ_SNDBUF/RCVBUF, ZMQ_TCP_MAXRT and
 * ZMQ_BINDTODEVICE options. */
struct zn_tcp_opts {
	int keepalive;       /* -1: OS default; 0 off; 1 on */
	int keepalive_cnt;   /* -1: OS default; used only when keepalive is 1 */
	int keepalive_idle;  /* -1: OS default, seconds; used only when keepalive is 1 */
	int keepalive_intvl; /* -1: OS default, seconds; used only when keepalive is 1 */
	int tos;             /* 0: OS default, else IP_TOS (and IPV6_TCLASS) */
	int sndbuf, rcvbuf;  /* -1: OS default, else SO_SNDBUF / SO_RCVBUF */
	int maxrt;           /* ms, 0: OS default, else TCP_USER_TIMEOUT */
	const char *bindtodevice; /* NULL or "": none, else SO_BINDTODEVICE */
};

/* Enough for any string zn_sockaddr_to_string makes (the longest is an ipc:// path of
 * 107 bytes, or a scoped IPv6 address with brackets and port). */
#define ZN_ADDRSTRLEN 128

/* zn_sockaddr_port: the port of an AF_INET or AF_INET6 address in host order, else 0. */
static inline uint16_t
zn_sockaddr_port(const struct zn_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in4.sin_port);
	return 0;
}

/* zn_sockaddr_set_port: sets the port of an AF_INET or AF_INET6 address. */
static inline void
zn_sockaddr_set_port(struct zn_sockaddr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET)
		a->u.in4.sin_port = htons(port);
}

/* zn_listen: a listening socket bound to a. For AF_INET/AF_INET6: SO_REUSEADDR,
 * IPV6_V6ONLY off (dual stack) and, when o is not NULL, the buffer sizes, TOS and
 * device from o, all before bind. o is NULL for ipc. On 0 *fd is the caller's. Fails
 * with the OS's error: -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EAFNOSUPPORT (no IPv6
 * on this host), -ENODEV/-EPERM (bindtodevice), -EMFILE...; then *fd is -1. */
int zn_listen(const struct zn_sockaddr *a, int backlog, const struct zn_tcp_opts *o,
              int *fd);

/* zn_adopt_listener: prepares a listening socket the application made (ZMQ_USE_FD):
 * checks that fd is a stream socket in the listening state, of an IP family (ip) or
 * a Unix-domain one (!ip), then makes it nonblocking and close-on-exec (it is the
 * caller's to close from then on). 0, -EINVAL (not a socket, not listening, not
 * SOCK_STREAM, another family; fd is left as it was) or -errno. */
int zn_adopt_listener(int fd, bool ip);

/* zn_local_address: getsockname, to learn the port chosen for a bind to port 0 or the
 * name of an autobound socket. 0 or -errno. */
int zn_local_address(int fd, struct zn_sockaddr *out);

/* zn_accept: takes one pending connection from the listening socket lfd. On 0 *fd is a
 * new nonblocking, close-on-exec descriptor owned by the caller and *peer (may be
 * NULL) its remote address; the caller applies zn_tune_tcp to TCP ones. Connections
 * that died in the queue (ECONNABORTED, EPROTO and the network errors accept(2) lists)
 * are skipped, so -EAGAIN means the queue is empty. Other failures: -EMFILE, -ENFILE,
 * -ENOBUFS, -ENOMEM (the connection stays queued). */
int zn_accept(int lfd, int *fd, struct zn_sockaddr *peer);

/* zn_connect: starts a nonblocking connection to dst, bound first to src when src is
 * not NULL (with SO_REUSEADDR, so one source port can reach several servers). TCP
 * sockets get zn_tune_tcp(o) before connecting (o may be NULL: TCP_NODELAY only);
 * AF_INET6 ones dual stack. Returns 0 if connected at once, -EINPROGRESS while
 * pending (then wait for POLLOUT and call zn_connect_result); in both cases *fd is
 * the caller's. Any other result is a failure: -ECONNREFUSED, -ENOENT (no such ipc
 * path), -EAGAIN (ipc listener's backlog full), -EADDRINUSE (src), ...; *fd is then
 * the number of the descriptor opened for it and closed again (libzmq's monitor
 * reports it as CLOSED), or -1 if none was opened. */
int zn_connect(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
               const struct zn_tcp_opts *o, int *fd);

/* zn_connect_result: after a pending connection's fd became writable: 0 if it is
 * established, else the connection's error (-ECONNREFUSED, -ETIMEDOUT, ...). The
 * caller still owns and must close the fd. */
int zn_connect_result(int fd);

/* zn_tune_tcp: TCP_NODELAY always; then, if o is not NULL, keepalive, TOS, buffer
 * sizes, TCP_USER_TIMEOUT (maxrt) and SO_BINDTODEVICE. Best effort, as libzmq: a
 * refused option is ignored, except SO_BINDTODEVICE (-ENODEV, -EPERM), which a socket
 * must not silently ignore. Idempotent. */
int zn_tune_tcp(int fd, const struct zn_tcp_opts *o);

/* zn_stream_write_limit: the most bytes one write to the stream socket fd should hand
 * the kernel (0: no limit); what a limit holds back is written at once, in further
 * writes of that size (engine_stream.c). Measured over loopback and Unix
 * sockets (engine_stream.c, stream_clip): tcp, ZN_TCP_WRITE_MAX, one loopback
 * segment's payload (MTU 65536 less 40 bytes of IP and TCP headers and 12 of
 * timestamps), where a write of more is much slower (on other links a 64 KiB write
 * costs nothing more than larger ones; the connection's own MSS is no guide, it starts
 * at half the peer's first window, 32768 on loopback, and grows); Unix sockets,
 * ZN_UNIX_WRITE_MAX. */
#define ZN_TCP_WRITE_MAX  65483
#define ZN_UNIX_WRITE_MAX 32768
size_t zn_stream_write_limit(int fd);

/* zn_stream_queue_room: for a Unix stream socket, the message size of which its send
 * queue now holds two: half of what SO_SNDBUF reports (208 KiB by default on Linux; a
 * value set is reported doubled, the kernel's bookkeeping counted in). 0 for any other
 * socket, whose queue is not ours to size (tcp's grows by itself as the connection
 * runs). */
size_t zn_stream_queue_room(int fd);
/* zn_stream_queue_grow: for a Unix stream socket (one zn_stream_queue_room gave room
 * for), asks for a send queue that holds two messages of size bytes (SO_SNDBUF; the
 * kernel caps it at net.core.wmem_max); best effort, never lowers it. The room it now
 * has, as zn_stream_queue_room. */
size_t zn_stream_queue_grow(int fd, size_t size);

/* zn_read: >0 bytes read, 0 at end of stream, -EAGAIN when nothing is there, or the
 * connection's error (-ECONNRESET, ...). */
ssize_t zn_read(int fd, void *buf, size_t len);
/* zn_recv_peek: as zn_read, without taking the bytes from the socket (MSG_PEEK). */
ssize_t zn_recv_peek(int fd, void *buf, size_t len);
/* zn_shutdown: ends both directions of a connected socket, whoever else holds it. */
void zn_shutdown(int fd);

/* zn_writev: bytes written (possibly fewer than asked, and at most IOV_MAX buffers'
 * worth), -EAGAIN when the socket buffer is full, or the connection's error (-EPIPE,
 * -ECONNRESET, ...). Never raises SIGPIPE. */
ssize_t zn_writev(int fd, const struct iovec *iov, int n);

/* zn_close_fd: closes fd; a negative fd is ignored. */
void zn_close_fd(int fd);

/* zn_peer_uid: the credentials of the process at the other end of a Unix-domain
 * socket, as of connect time (SO_PEERCRED). Any out pointer may be NULL. 0, or -errno
 * (-EOPNOTSUPP where the OS has no such call). */
int zn_peer_uid(int fd, uid_t *uid, gid_t *gid, pid_t *pid);
/* zn_peer_same_user: whether the process at the other end of a Unix-domain socket runs
 * as this process's effective user (SO_PEERCRED); false when that cannot be told. */
bool zn_peer_same_user(int fd);

/* zn_unlink: removes an ipc socket file. 0 or -errno (-ENOENT). */
/* zn_user_in_group: 1 when the group gid lists the user uid by name among its members
 * (a supplementary group), 0 when not or when either is unknown, -ENOMEM. Reads the
 * user and group databases, so it may block (NSS). */
int zn_user_in_group(uid_t uid, gid_t gid);

int zn_unlink(const char *path);

/* zn_peer_cred_string: the Peer-Address libzmq gives an ipc peer:
 * "localhost:<uid>:<gid>:<pid>" from SO_PEERCRED. 0 or -errno. */
int zn_peer_cred_string(int fd, char *buf, size_t len);
/* zn_private_dir: a directory only this user can use, for shm:// rendezvous sockets:
 * $XDG_RUNTIME_DIR/zinc when set, else /tmp/zinc-<uid>; made 0700 if missing, and
 * refused (-EPERM) unless it is a real directory owned by us with no group/other
 * access. The path is written to dir. 0 or -errno (-ENAMETOOLONG). */
int zn_private_dir(char *dir, size_t len);
/* zn_unix_alive: is a process listening on this Unix socket path (a connect
 * succeeds)? 1, 0 (refused or no such file: a stale socket file), or -errno. */
int zn_unix_alive(const struct zn_sockaddr *a);
/* zn_file_id: the device and inode of a file (to recognise our own ipc socket file
 * later). 0 or -errno. */
int zn_file_id(const char *path, uint64_t *dev, uint64_t *ino);
/* zn_rmdir: removes the private directory zn_mkdtemp made. 0 or -errno. */
int zn_rmdir(const char *path);

/* zn_mkdtemp: creates a fresh private (0700) directory named tmpXXXXXX in the first of
 * $TMPDIR, $TEMPDIR, $TMP that is a directory, else in /tmp, and writes its path to
 * dir. 0, -ENAMETOOLONG when dirlen is too small, or mkdtemp's -errno. */
int zn_mkdtemp(char *dir, size_t dirlen);

/* zn_sockaddr_to_string: a's ZMQ_LAST_ENDPOINT form, libzmq's exactly:
 * "tcp://127.0.0.1:5555", "tcp://[::1]:5555" (scoped: "tcp://[fe80::1%eth0]:5555",
 * v4-mapped: "tcp://[::ffff:127.0.0.1]:5555"), "ipc:///tmp/x" and "ipc://@name" for an
 * abstract name. Returns the string's length, -ENOSPC when buf is too small
 * (ZN_ADDRSTRLEN always suffices), -EAFNOSUPPORT for another family. */
int zn_sockaddr_to_string(const struct zn_sockaddr *a, char *buf, size_t len);

/* zn_ip_literal: the bytes (network order) of the numeric address in text: 4 for IPv4,
 * 16 for IPv6 (no zone), 0 when text is neither. */
int zn_ip_literal(const char *text, uint8_t out[16]);

/* zn_resolve_host: a host name or numeric address to an address of the family that
 * ipv6 asks for: AF_INET when false; AF_INET6 when true, IPv4 answers mapped
 * (::ffff:a.b.c.d). passive: for a local (bind or source) address, so numeric only,
 * never DNS; otherwise DNS may be asked and the call may block. An RFC 4007 zone
 * ("fe80::1%eth0", "fe80::1%2") sets the scope of an IPv6 result. The port is 0.
 * Returns 0, -EINVAL for an empty or unknown zone, -ENOMEM, -EAGAIN (DNS temporarily
 * failing) or -EHOSTUNREACH (no such host, or no address of that family). */
int zn_resolve_host(const char *host, bool ipv6, bool passive, struct zn_sockaddr *out);

/* zn_resolve_interface: the first address of the family ipv6 asks for (AF_INET6 when
 * true, AF_INET when false) of the network interface named ifname ("lo", "eth0").
 * The port is 0. 0, -ENODEV when there is no such interface or it has no such
 * address, or -ENOMEM. */
int zn_resolve_interface(const char *ifname, bool ipv6, struct zn_sockaddr *out);

#endif

/*
 * transport.h: what varies between the stream transports (tcp://, ipc://, shm://), in
 * one const table per transport, and the table that maps a scheme to it. Each
 * transport is one file (tcp.c, ipc.c, shm.c); the generic code that uses the tables
 * is the listener (bind), the connecter (connect) and socket_transport.c (the socket's
 * side of both). No other code tests a scheme or asks which transport it serves.
 *
 * Adding a transport: write src/transport/<name>.c defining
 * `const struct transport_ops <name>_transport`, and add it to the table in
 * transport.c (ARCHITECTURE.md, "Adding a transport").
 *
 * Threads: the tables are constant. Each member's comment says which thread calls it;
 * "socket" is the application thread inside zmq_bind / zmq_connect, "I/O" the thread of
 * the listener or connecter. No member blocks, except resolve (DNS).
 */
#ifndef ZINC_TRANSPORT_TRANSPORT_H
#define ZINC_TRANSPORT_TRANSPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/options.h"
#include "core/poller.h"
#include "platform/net.h"
#include "proto/engine.h"
#include "transport/accept_filter.h"

/* Where a bind listens, as the transport's bind_address worked it out. */
struct transport_bind {
	struct zn_sockaddr addr; /* unused when adopted */
	bool adopted; /* ZMQ_USE_FD: listen on the application's descriptor adopted_fd */
	int adopted_fd; /* (the address given to zmq_bind is then not read, as libzmq) */
	/* Names no single endpoint (tcp port "*" or 0, ipc "*"): as libzmq, zmq_unbind
	 * then takes only the resolved name (ZMQ_LAST_ENDPOINT), since the next such bind
	 * makes another endpoint. */
	bool wildcard;
	char dir[PATH_MAX]; /* a private directory made for the bind ("" if none) */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* socket file to
	                                                              remove, or "" */
	const char *uri; /* the endpoint as given to zmq_bind */
};

/* transport_done_fn: a prelude's outcome: rc 0, fd (the caller's) is ready for ZMTP;
 * rc < 0, it failed and fd is closed (-1). */
typedef void (*transport_done_fn)(void *arg, int fd, int rc);

struct transport_ops {
	/* The scheme before "://". */
	const char *scheme;

	/* check: zmq_connect's test of the address part (after "scheme://"): syntax
	 * only, never a name look-up. Socket thread. 0 or -EINVAL, -ENAMETOOLONG... */
	int (*check)(const char *spec);
	/* resolve: the address a connect attempt goes to, and its source (*has_src),
	 * before each attempt (a name may resolve differently, or only later), with the
	 * socket's options (ZMQ_IPV6). I/O thread; may block in DNS. 0 or -errno: the
	 * attempt is retried later. */
	int (*resolve)(const char *spec, const struct options *o,
	               struct zn_sockaddr *addr, struct zn_sockaddr *src, bool *has_src);
	/* bind_address: fills b (addr, wildcard, dir, path) for a bind to spec; may make
	 * a directory (b->dir, which the caller removes if the bind fails) or remove a
	 * stale socket file. Socket thread. 0, -EINVAL, -ENODEV, -EADDRINUSE... */
	int (*bind_address)(const char *spec, const struct options *o,
	                    struct transport_bind *b);

	/* listen: a new listening descriptor bound to a, tuned from o. Socket thread.
	 * On 0 *fd is the caller's. -EADDRINUSE, -EACCES... */
	int (*listen)(const struct zn_sockaddr *a, const struct options *o, int *fd);
	/* adopt: readies an application's listening descriptor (ZMQ_USE_FD): 0, or
	 * -EINVAL when it is not a listening socket of this transport's family. NULL:
	 * the transport ignores ZMQ_USE_FD. Socket thread. */
	int (*adopt)(int fd);
	/* endpoint: the name a bind shows (ZMQ_LAST_ENDPOINT, monitor events), once
	 * listening on fd. Socket thread. */
	void (*endpoint)(const struct transport_bind *b, int fd, char *out, size_t len);

	/* connect: starts a nonblocking connection to dst (from src, or NULL), tuned
	 * from o. I/O thread. 0 connected, -EINPROGRESS (wait for POLLOUT), else a
	 * failure; on 0 and -EINPROGRESS *fd is the caller's, on a failure it is the
	 * number of a descriptor opened and closed again, or -1 (zn_connect). */
	int (*connect)(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
	               const struct options *o, int *fd);
	/* prelude: starts what a connected fd needs before ZMTP (tcp: the SOCKS5
	 * handshake when ZMQ_SOCKS_PROXY is set), in poller p. 0: nothing to do, fd is
	 * still the caller's; 1: started, it holds fd in *h and calls done once, never
	 * before it returns (fd is then done's, or closed when rc < 0); < 0: failed, fd
	 * still the caller's. NULL: none. I/O thread. */
	int (*prelude)(void **h, int fd, const char *spec, const struct options *o,
	               struct poller *p, transport_done_fn done, void *arg);
	/* prelude_free: frees h (from done, or to abandon the prelude: then it closes
	 * the fd it holds and done is not called). */
	void (*prelude_free)(void *h);
	/* tune: options applied to every new connection, accepted or connected. NULL:
	 * none. I/O thread. */
	void (*tune)(int fd, const struct options *o);

	/* copy_filters: a listener's own copy of the transport's part of the socket's
	 * accept filters (accept_filter.h). NULL: the transport has none. Socket thread.
	 * 0 or -ENOMEM (dst stays empty). */
	int (*copy_filters)(struct accept_filters *dst, const struct accept_filters *src);
	/* admit: whether the peer on fd (at address peer) may have a connection: on
	 * accept f is the listener's filters, on connect NULL (the side that connects has
	 * none, but a transport can still refuse the peer it reached). I/O thread. */
	bool (*admit)(const struct accept_filters *f, int fd,
	              const struct zn_sockaddr *peer);
	/* peer_address: the Peer-Address a message reports ("" when none). I/O thread. */
	void (*peer_address)(int fd, const struct zn_sockaddr *peer, char *out,
	                     size_t len);

	/* engine: the engine for a new connection, with the carrier this transport hands
	 * it. Takes fd (closed on failure too). I/O thread. 0 or -ENOMEM. */
	int (*engine)(struct engine **out, int fd, const struct options *o,
	              const char *peer);
	/* direct_roads: its connections may give the socket's pipes a direct road
	 * (pipe/direct.h), which a blocking receive or a spin then watches. */
	bool direct_roads;
};

/* The inproc scheme. It has no stream, so none of its members is set: the socket
 * layer attaches pipes for it (socket_inproc.c). It is in the table so that one
 * look-up knows every scheme. */
extern const struct transport_ops transport_inproc;

/* transport_find: the transport of a scheme (len bytes, not NUL-terminated), or NULL
 * for one zinc does not have. */
const struct transport_ops *transport_find(const char *scheme, size_t len);
/* transport_of_uri: the transport of "scheme://...", or NULL when uri has no scheme or
 * one zinc does not have. */
const struct transport_ops *transport_of_uri(const char *uri);

/* Shared pieces of the tables (transport.c). */

/* transport_tcp_opts: a socket's TCP options in the platform's form. */
void transport_tcp_opts(const struct options *o, struct zn_tcp_opts *t);
/* transport_local_endpoint: the bound address of fd as a URI ("tcp://1.2.3.4:5"),
 * or b's address when the OS cannot say. */
void transport_local_endpoint(const struct transport_bind *b, int fd, char *out,
                              size_t len);
/* transport_peer_cred: the Peer-Address of a Unix-domain peer,
 * "localhost:<uid>:<gid>:<pid>" (SO_PEERCRED), or "". */
void transport_peer_cred(int fd, const struct zn_sockaddr *peer, char *out, size_t len);
/* transport_stream_engine: an engine that speaks ZMTP over the fd itself. */
int transport_stream_engine(struct engine **out, int fd, const struct options *o,
                            const char *peer);

#endif

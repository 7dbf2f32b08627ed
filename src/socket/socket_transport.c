/*
 * socket_transport.c: bind and connect for the stream transports, tcp:// and ipc://.
 * A bind makes a listener, a connect makes a session; both become the socket's children
 * in its object tree and live in an I/O thread. The socket keeps an endpoint record
 * for each, which zmq_unbind / zmq_disconnect look up.
 *
 * Threads: the socket's thread.
 */
#include "core/ctx.h"
#include "platform/alloc.h"
#include "proto/session.h"
#include "socket/socket.h"
#include "transport/address.h"
#include "transport/listener.h"
#include "zmq.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

void
socket_endpoint_free(struct endpoint_rec *r)
{
	zn_free(r->uri);
	zn_free(r->given);
	zn_free(r);
}

static void
socket_endpoint_link(struct socket *s, struct endpoint_rec *r)
{
	r->next = s->endpoints;
	s->endpoints = r;
}

/* st_resolve: turns the address part into a socket address. */
static int
st_resolve(struct socket *s, const char *scheme, const char *addr, bool bind,
           struct zn_sockaddr *sa, struct zn_sockaddr *src, bool *has_src, bool *is_tcp,
           char *wildcard_dir, size_t dirlen)
{
	*has_src = false;
	wildcard_dir[0] = '\0';
	if (strcmp(scheme, "tcp") == 0) {
		*is_tcp = true;
		return address_tcp(addr, bind, s->options.ipv6 != 0, sa, src, has_src);
	}
	*is_tcp = false;
	if (strcmp(scheme, "shm") == 0) {
		int rc = address_shm(addr, sa);
		if (rc < 0 || !bind)
			return rc;
		/* A live binder keeps its name (EADDRINUSE); a dead one's file is
		 * replaced. */
		rc = zn_unix_alive(sa);
		if (rc > 0)
			return -EADDRINUSE;
		zn_unlink(sa->u.un.sun_path);
		return 0;
	}
	bool wildcard = false;
	int rc = address_ipc(addr, sa, &wildcard);
	if (rc < 0)
		return rc;
	if (wildcard) {
		if (!bind)
			return -EINVAL;
		return address_ipc_wildcard(sa, wildcard_dir, dirlen);
	}
	/* As libzmq: a socket file left by an earlier run is replaced. */
	if (bind && sa->u.un.sun_path[0] != '\0')
		zn_unlink(sa->u.un.sun_path);
	return 0;
}

static int
st_resolve_tcp(const char *spec, bool ipv6, struct zn_sockaddr *addr,
               struct zn_sockaddr *src, bool *has_src)
{
	return address_tcp(spec, false, ipv6, addr, src, has_src);
}

static int
st_resolve_ipc(const char *spec, bool ipv6, struct zn_sockaddr *addr,
               struct zn_sockaddr *src, bool *has_src)
{
	(void)ipv6;
	(void)src;
	*has_src = false;
	return address_ipc(spec, addr, NULL);
}

static int
st_resolve_shm(const char *spec, bool ipv6, struct zn_sockaddr *addr,
               struct zn_sockaddr *src, bool *has_src)
{
	(void)ipv6;
	(void)src;
	*has_src = false;
	return address_shm(spec, addr);
}

/* st_is_wildcard: a bind whose address names no single endpoint: a tcp port "*" or
 * "0", or ipc "*". As in libzmq, zmq_unbind cannot end such a bind by the name it was
 * given, only by the resolved one (ZMQ_LAST_ENDPOINT), since the next wildcard bind
 * makes another endpoint (test_term_endpoint). Other binds also answer to the name
 * given, such as host "*" with a fixed port. */
static bool
st_is_wildcard(const struct zn_sockaddr *sa, bool is_tcp, bool ipc_wildcard)
{
	return ipc_wildcard || (is_tcp && zn_sockaddr_port(sa) == 0);
}

/* st_uses_fd: a tcp or ipc bind takes the ZMQ_USE_FD descriptor over (shm:// makes
 * its own rendezvous socket). */
static bool
st_uses_fd(const struct socket *s, const char *scheme)
{
	return s->options.use_fd >= 0 && strcmp(scheme, "shm") != 0;
}

/* st_fd_in_use: a bind of this socket already took that descriptor over: a second
 * listener on it would close it twice (libzmq aborts there). */
static bool
st_fd_in_use(const struct socket *s, int fd)
{
	for (const struct endpoint_rec *r = s->endpoints; r; r = r->next)
		if (r->bound && r->adopted && r->adopted_fd == fd)
			return true;
	return false;
}

/* st_bind_address: where a bind listens. With ZMQ_USE_FD the address is not read,
 * as in libzmq: the application's socket is already bound; the endpoint becomes its
 * local name. */
static int
st_bind_address(struct socket *s, const char *scheme, const char *addr,
                struct zn_sockaddr *sa, bool *is_tcp, char *dir, size_t dirlen)
{
	if (st_uses_fd(s, scheme)) {
		if (st_fd_in_use(s, s->options.use_fd))
			return -EADDRINUSE;
		memset(sa, 0, sizeof *sa);
		*is_tcp = strcmp(scheme, "tcp") == 0;
		dir[0] = '\0';
		return 0;
	}
	struct zn_sockaddr src;
	bool has_src;
	return st_resolve(s, scheme, addr, true, sa, &src, &has_src, is_tcp, dir, dirlen);
}

int
socket_transport_bind(struct socket *s, const char *uri, const char *scheme,
                      const char *addr)
{
	struct zn_sockaddr sa;
	bool is_tcp;
	char dir[PATH_MAX];
	int rc = st_bind_address(s, scheme, addr, &sa, &is_tcp, dir, sizeof dir);
	if (rc < 0)
		return rc;
	struct io_thread *io = ctx_choose_io_thread(s->own.obj.ctx, s->options.affinity);
	if (!io)
		return -EMTHREAD;
	/* The name given unbinds too, unless it is a wildcard, or unread (an adopted
	 * socket's name is its own). */
	bool adopted = st_uses_fd(s, scheme);
	bool alias = !adopted && !st_is_wildcard(&sa, is_tcp, dir[0] != '\0');
	struct endpoint_rec *r = zn_calloc(1, sizeof *r);
	char *given = alias ? zn_strdup(uri) : NULL;
	char *resolved = zn_malloc(256);
	if (!r || (alias && !given) || !resolved) {
		zn_free(r);
		zn_free(given);
		zn_free(resolved);
		return -ENOMEM;
	}
	struct listener *l;
	rc = listener_new(&l, io, &s->own, &s->options, &s->filters, &sa, is_tcp,
	                  strcmp(scheme, "shm") == 0, dir[0] ? dir : NULL, &s->monitor,
	                  resolved, 256);
	if (rc < 0) {
		socket_monitor_event(s, ZMQ_EVENT_BIND_FAILED, -rc, uri);
		if (dir[0])
			zn_rmdir(dir);
		zn_free(r);
		zn_free(given);
		zn_free(resolved);
		return rc;
	}
	if (strcmp(scheme, "shm") == 0) {
		listener_set_endpoint(l, uri);
		snprintf(resolved, 256, "%s", uri);
	}
	r->uri = resolved;
	r->given = given;
	r->child = listener_own(l);
	r->bound = true;
	r->adopted = adopted;
	r->adopted_fd = s->options.use_fd;
	socket_endpoint_link(s, r);
	own_launch_child(&s->own, listener_own(l));
	socket_set_last_endpoint(s, resolved);
	return 0;
}

/* st_pipe_at_connect: does zmq_connect make the pipe now, as libzmq does unless
 * ZMQ_IMMEDIATE? Yes for the sockets that keep one pipe across reconnects; and for a
 * ROUTER or STREAM whose ZMQ_CONNECT_ROUTING_ID names the peer, so that the application
 * can send to that id at once. That pipe still serves the first connection only: the
 * session ends it with the connection and makes the next one at the next handshake.
 * Without a name the peer is known only at the handshake, where the pipe is made. */
static bool
st_pipe_at_connect(const struct options *o)
{
	if (!options_pipe_per_connection(o))
		return true;
	return !o->immediate && o->connect_routing_id.len > 0;
}

int
socket_transport_connect(struct socket *s, const char *uri, const char *scheme,
                         const char *addr)
{
	bool is_tcp = strcmp(scheme, "tcp") == 0;
	bool shm = strcmp(scheme, "shm") == 0;
	struct zn_sockaddr sa;
	/* Syntax only: names are resolved by the session before each attempt. */
	int rc = is_tcp ? address_tcp_check(addr)
	         : shm  ? address_shm(addr, &sa)
	                : address_ipc(addr, &sa, NULL);
	if (rc < 0)
		return rc;
	struct io_thread *io = ctx_choose_io_thread(s->own.obj.ctx, s->options.affinity);
	if (!io)
		return -EMTHREAD;
	struct endpoint_rec *r = zn_calloc(1, sizeof *r);
	char *u = zn_strdup(uri);
	struct session *sess = NULL;
	struct pipe *pipe = NULL;
	if (!r || !u ||
	    session_new(&sess, io, &s->own, &s->options, uri, &s->monitor) < 0) {
		zn_free(r);
		zn_free(u);
		return -ENOMEM;
	}
	session_set_connect(sess, (size_t)(addr - uri), is_tcp, shm,
	                    is_tcp ? st_resolve_tcp
	                    : shm  ? st_resolve_shm
	                           : st_resolve_ipc);
	bool early = st_pipe_at_connect(&s->options);
	struct options_blob named = s->options.connect_routing_id;
	s->options.connect_routing_id.len = 0; /* it named this connection only */
	if (early) {
		/* The pipe exists before the connection: messages queue until it is up.
		 */
		struct object *parents[2] = {&s->own.obj, session_object(sess)};
		int64_t hwm[2] = {s->options.sndhwm, s->options.rcvhwm};
		struct pipe *pp[2];
		rc = pipe_pair(parents, pp, hwm);
		if (rc == 0) {
			pipe_set_peer_rid(pp[0], named.data, named.len);
			rc = socket_attach_pipe(s, pp[0]);
			if (rc < 0) {
				pipe_destroy_pair_unused(pp[0]);
			} else {
				session_attach_pipe(sess, pp[1]);
				pipe = pp[0];
			}
		}
		if (rc < 0) {
			session_discard(sess);
			zn_free(r);
			zn_free(u);
			return rc;
		}
	}
	r->uri = u;
	r->child = session_own(sess);
	r->pipe = pipe;
	socket_endpoint_link(s, r);
	own_launch_child(&s->own, session_own(sess));
	socket_set_last_endpoint(s, uri);
	return 0;
}

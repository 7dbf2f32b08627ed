/*
 * socket_transport.c: bind and connect for the stream transports (transport.h). A bind
 * makes a listener, a connect makes a session and its connecter; both become the
 * socket's children in its object tree and live in an I/O thread. The socket keeps an
 * endpoint record for each, which zmq_unbind / zmq_disconnect look up.
 *
 * Threads: the socket's thread.
 */
#include "core/ctx.h"
#include "platform/alloc.h"
#include "proto/session.h"
#include "socket/socket.h"
#include "transport/connecter.h"
#include "transport/listener.h"
#include "transport/transport.h"
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

/* st_uses_fd: the bind takes the ZMQ_USE_FD descriptor over, if its transport can. */
static bool
st_uses_fd(const struct socket *s, const struct transport_ops *t)
{
	return s->options.use_fd >= 0 && t->adopt;
}

/* st_bind_address: where a bind listens. With ZMQ_USE_FD the address is not read,
 * as in libzmq: the application's socket is already bound; the endpoint becomes its
 * local name. */
static int
st_bind_address(struct socket *s, const struct transport_ops *t, const char *addr,
                struct transport_bind *b)
{
	if (!st_uses_fd(s, t))
		return t->bind_address(addr, &s->options, b);
	if (st_fd_in_use(s, s->options.use_fd))
		return -EADDRINUSE;
	b->adopted = true;
	b->adopted_fd = s->options.use_fd;
	return 0;
}

/* st_listen: the bind's listener (its endpoint, resolved, written to endpoint), or
 * the bind's failure, after which nothing the bind made is left. */
static int
st_listen(struct socket *s, const struct transport_ops *t, struct transport_bind *b,
          struct listener **l, char *endpoint, size_t len)
{
	struct io_thread *io = ctx_choose_io_thread(s->own.obj.ctx, s->options.affinity);
	if (!io)
		return -EMTHREAD;
	struct listener_socket from = {
	        .own = &s->own,
	        .opts = &s->options,
	        .filters = &s->filters,
	        .monitor = &s->monitor,
	};
	int rc = listener_new(l, io, &from, t, b);
	if (rc < 0) {
		socket_monitor_event(s, ZMQ_EVENT_BIND_FAILED, -rc, b->uri);
		return rc;
	}
	snprintf(endpoint, len, "%s", listener_endpoint(*l));
	return 0;
}

int
socket_transport_bind(struct socket *s, const char *uri, const struct transport_ops *t,
                      const char *addr)
{
	struct transport_bind b = {.uri = uri};
	int rc = st_bind_address(s, t, addr, &b);
	if (rc < 0)
		return rc;
	s->may_have_roads |= t->direct_roads;
	/* The name given unbinds too, unless it is a wildcard, or unread (an adopted
	 * socket's name is its own). */
	bool alias = !b.adopted && !b.wildcard;
	struct endpoint_rec *r = zn_calloc(1, sizeof *r);
	char *given = alias ? zn_strdup(uri) : NULL;
	char *resolved = zn_malloc(256);
	struct listener *l;
	if (!r || (alias && !given) || !resolved)
		rc = -ENOMEM;
	else
		rc = st_listen(s, t, &b, &l, resolved, 256);
	if (rc < 0) {
		if (b.dir[0])
			zn_rmdir(b.dir);
		zn_free(r);
		zn_free(given);
		zn_free(resolved);
		return rc;
	}
	r->uri = resolved;
	r->given = given;
	r->child = listener_own(l);
	r->bound = true;
	r->adopted = b.adopted;
	r->adopted_fd = b.adopted_fd;
	socket_endpoint_link(s, r);
	own_launch_child(&s->own, listener_own(l));
	socket_set_last_endpoint(s, resolved);
	return 0;
}

/* st_pipe_at_connect: does zmq_connect make the pipe now, as libzmq does unless
 * ZMQ_IMMEDIATE? Yes for the sockets that keep one pipe across reconnects; for a
 * ROUTER or STREAM whose ZMQ_CONNECT_ROUTING_ID names the peer, so that the application
 * can send to that id at once; and for a raw socket (STREAM, ROUTER_RAW), whose peer
 * gets its generated id when the pipe is attached: zmq_socket(7) has a STREAM client
 * read ZMQ_ROUTING_ID right after zmq_connect and send to it (ipykernel's debugger
 * does). That pipe still serves the first connection only: the session ends it with
 * the connection and makes the next one at the next handshake. Otherwise the peer is
 * known only at the handshake, where the pipe is made. */
static bool
st_pipe_at_connect(const struct options *o)
{
	if (!options_pipe_per_connection(o))
		return true;
	return !o->immediate && (o->connect_routing_id.len > 0 || options_raw(o));
}

int
socket_transport_connect(struct socket *s, const char *uri, const struct transport_ops *t,
                         const char *addr)
{
	/* Syntax only: names are resolved by the connecter before each attempt. */
	int rc = t->check(addr);
	if (rc < 0)
		return rc;
	s->may_have_roads |= t->direct_roads;
	struct io_thread *io = ctx_choose_io_thread(s->own.obj.ctx, s->options.affinity);
	if (!io)
		return -EMTHREAD;
	struct endpoint_rec *r = zn_calloc(1, sizeof *r);
	char *u = zn_strdup(uri);
	struct session *sess = NULL;
	struct connecter *c = NULL;
	struct pipe *pipe = NULL;
	if (!r || !u || connecter_new(&c, io, t, addr, &s->options) < 0 ||
	    session_new(&sess, io, &s->own, &s->options, uri, &s->monitor) < 0) {
		if (c)
			connecter_session_ops.destroy(c);
		zn_free(r);
		zn_free(u);
		return -ENOMEM;
	}
	session_set_connect(sess, &connecter_session_ops, c);
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

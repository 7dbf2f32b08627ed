/*
 * socket_inproc.c: the inproc:// transport. There is no I/O thread and no session: a
 * connect creates a pipe pair, keeps one end and hands the other to the bound socket
 * (CMD_BIND), or parks it in the context until someone binds the name. Messages then
 * go straight from one socket's thread to the other's, never copied.
 *
 * It sits with the socket layer, not in src/transport/, because it attaches pipes to
 * sockets directly (docs/ARCHITECTURE.md).
 *
 * Threads: the socket's thread; the context's endpoint lock makes the look-up and the
 * hand-over of a pipe one step.
 */
#include "core/ctx.h"
#include "platform/alloc.h"
#include "socket/socket.h"

#include <errno.h>

/* inproc_hwm: an inproc pipe holds both sides' allowance; 0 on either is unlimited. */
static int64_t
inproc_hwm(int snd, int rcv)
{
	return pipe_hwm_with(snd, rcv);
}

/* inproc_take_pending: attaches, under the endpoint lock, every connect that waited
 * for this name. A pipe whose attach fails for lack of memory is ended cleanly. */
static void
inproc_take_pending(struct socket *s, const char *name)
{
	struct ctx *ctx = s->own.obj.ctx;
	struct ctx_pending *e;
	while ((e = ctx_pending_take(ctx, name))) {
		struct pipe *p = e->pipe;
		pipe_set_tid(p, s->own.obj.tid);
		int64_t to_peer = inproc_hwm(s->options.sndhwm, e->rcvhwm);
		int64_t from_peer = inproc_hwm(e->sndhwm, s->options.rcvhwm);
		pipe_set_hwms(p, to_peer, from_peer);
		pipe_set_boosts(p, e->rcvhwm, e->sndhwm);
		pipe_send_hwms(p, from_peer, to_peer, s->options.rcvhwm,
		               s->options.sndhwm);
		own_send_pipe(e->connecter, CMD_INPROC_CONNECTED, p->peer, NULL);
		if (socket_attach_pipe(s, p) < 0)
			socket_refuse_pipe(s, p);
		ctx_pending_free(e);
	}
}

int
socket_inproc_bind(struct socket *s, const char *uri, const char *name)
{
	struct ctx *ctx = s->own.obj.ctx;
	ctx_lock_endpoints(ctx);
	int rc =
	        ctx_endpoint_add(ctx, name, &s->own, s->options.sndhwm, s->options.rcvhwm,
	                         s->options.routing_id.data, s->options.routing_id.len);
	if (rc == 0)
		inproc_take_pending(s, name);
	ctx_unlock_endpoints(ctx);
	if (rc == 0)
		socket_set_last_endpoint(s, uri);
	return rc;
}

int
socket_inproc_unbind(struct socket *s, const char *name)
{
	struct ctx *ctx = s->own.obj.ctx;
	ctx_lock_endpoints(ctx);
	int n = ctx_endpoint_remove(ctx, name, &s->own);
	ctx_unlock_endpoints(ctx);
	return n ? 0 : -ENOENT;
}

/* inproc_set_rids: each end learns its peer's routing id: the binder's end gets ours,
 * ours gets ZMQ_CONNECT_ROUTING_ID when set, else the binder's. */
static void
inproc_set_rids(struct socket *s, struct pipe *pp[2], const void *bound_rid, size_t len)
{
	pipe_set_peer_rid(pp[1], s->options.routing_id.data, s->options.routing_id.len);
	if (s->options.connect_routing_id.len) {
		pipe_set_peer_rid(pp[0], s->options.connect_routing_id.data,
		                  s->options.connect_routing_id.len);
		s->options.connect_routing_id.len = 0; /* it names one connection */
	} else {
		pipe_set_peer_rid(pp[0], bound_rid, len);
	}
}

/* inproc_connect_bound: the name is bound: hand the peer its end now. Under the
 * endpoint lock. */
static int
inproc_connect_bound(struct socket *s, struct ctx_endpoint *ep, struct pipe *pp[2])
{
	struct object *parents[2] = {&s->own.obj, &ep->socket->obj};
	int64_t hwm[2] = {inproc_hwm(s->options.sndhwm, ep->rcvhwm),
	                  inproc_hwm(ep->sndhwm, s->options.rcvhwm)};
	int rc = pipe_pair(parents, pp, hwm);
	if (rc < 0)
		return rc;
	pipe_set_boosts(pp[0], ep->rcvhwm, ep->sndhwm);
	pipe_set_boosts(pp[1], s->options.rcvhwm, s->options.sndhwm);
	inproc_set_rids(s, pp, ep->rid, ep->rid_len);
	rc = socket_attach_pipe(s, pp[0]);
	if (rc < 0) {
		pipe_destroy_pair_unused(pp[0]);
		return rc;
	}
	own_send_pipe(ep->socket, CMD_BIND, pp[1], NULL);
	return 0;
}

/* inproc_connect_pending: nobody bound the name yet: keep one end, park the other. The
 * socket can send at once; messages wait in the pipe for the bind. */
static int
inproc_connect_pending(struct socket *s, const char *name, struct pipe *pp[2],
                       struct ctx_pending *e)
{
	struct object *parents[2] = {&s->own.obj, &s->own.obj};
	int64_t hwm[2] = {s->options.sndhwm, s->options.rcvhwm};
	int rc = pipe_pair(parents, pp, hwm);
	if (rc < 0)
		return rc;
	/* The binder's own routing id is not known until it binds. */
	inproc_set_rids(s, pp, NULL, 0);
	rc = socket_attach_pipe(s, pp[0]);
	if (rc < 0) {
		pipe_destroy_pair_unused(pp[0]);
		return rc;
	}
	e->connecter = &s->own;
	e->pipe = pp[1];
	e->sndhwm = s->options.sndhwm;
	e->rcvhwm = s->options.rcvhwm;
	ctx_pending_link(s->own.obj.ctx, e);
	(void)name;
	return 0;
}

int
socket_inproc_connect(struct socket *s, const char *uri, const char *name)
{
	struct ctx *ctx = s->own.obj.ctx;
	/* Allocate everything first: once a pipe is handed over nothing may fail. */
	struct endpoint_rec *rec = zn_calloc(1, sizeof *rec);
	char *u = zn_strdup(uri);
	struct ctx_pending *e = ctx_pending_new(name);
	if (!rec || !u || !e) {
		zn_free(rec);
		zn_free(u);
		if (e)
			ctx_pending_free(e);
		return -ENOMEM;
	}
	struct pipe *pp[2];
	ctx_lock_endpoints(ctx);
	struct ctx_endpoint *ep = ctx_endpoint_find(ctx, name);
	int rc;
	if (ep) {
		rc = inproc_connect_bound(s, ep, pp);
	} else {
		rc = inproc_connect_pending(s, name, pp, e);
		if (rc == 0)
			e = NULL; /* linked */
	}
	ctx_unlock_endpoints(ctx);
	if (e)
		ctx_pending_free(e);
	if (rc < 0) {
		zn_free(rec);
		zn_free(u);
		return rc;
	}
	rec->uri = u;
	rec->pipe = pp[0];
	rec->pending = !ep;
	rec->next = s->endpoints;
	s->endpoints = rec;
	pp[0]->user = rec;
	socket_set_last_endpoint(s, uri);
	return 0;
}

void
socket_inproc_connected(struct socket *s, struct pipe *p)
{
	struct endpoint_rec *r = p->user;
	if (r)
		r->pending = false;
	/* Closed or disconnected while it waited: now the normal handshake ends it. */
	if (!r || own_is_terminating(&s->own))
		pipe_terminate(p, false);
}

/* inproc_pending_pipes: collects this socket's pending ends (the array may shrink as
 * they are dropped, so work from a snapshot of endpoint records). */
static void
inproc_drop_all_pending(struct socket *s)
{
	bool again = true;
	while (again) {
		again = false;
		for (struct endpoint_rec *r = s->endpoints; r; r = r->next) {
			if (r->pending) {
				r->pending = false; /* at most one try per record */
				socket_drop_pending_pipe(s, r->pipe);
				again = true; /* the list changed under us */
				break;
			}
		}
	}
}

static bool
inproc_has_pending(struct socket *s)
{
	for (struct endpoint_rec *r = s->endpoints; r; r = r->next)
		if (r->pending)
			return true;
	return false;
}

void
socket_inproc_close_pending(struct socket *s, int linger)
{
	if (!inproc_has_pending(s))
		return;
	if (linger == 0 || s->ctx_terminated)
		inproc_drop_all_pending(s);
	else if (linger > 0)
		socket_start_linger_timer(s, linger);
	/* linger -1: wait for the bind however long it takes, as for any peer. */
}

void
socket_inproc_linger_expired(struct socket *s)
{
	inproc_drop_all_pending(s);
}

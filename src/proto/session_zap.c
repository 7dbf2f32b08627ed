/*
 * session_zap.c: see session_zap.h.
 */
#include "proto/session_zap.h"
#include "core/ctx.h"
#include "core/own.h"

#include <errno.h>

#define ZAP_ENDPOINT "zeromq.zap.01"

/* session_zap_connect: a pipe to the handler bound at inproc://zeromq.zap.01 in our
 * context, handed to it as an inproc peer would be. -ECONNREFUSED when none is bound. */
static int
session_zap_connect(struct session_zap *z, struct object *owner, void *sink,
                    const struct pipe_sink_ops *ops)
{
	struct ctx *ctx = owner->ctx;
	ctx_lock_endpoints(ctx);
	struct ctx_endpoint *ep = ctx_endpoint_find(ctx, ZAP_ENDPOINT);
	if (!ep) {
		ctx_unlock_endpoints(ctx);
		return -ECONNREFUSED;
	}
	struct object *parents[2] = {owner, &ep->socket->obj};
	int64_t hwm[2] = {0, 0}; /* requests and replies are never dropped */
	struct pipe *pp[2];
	int rc = pipe_pair(parents, pp, hwm);
	if (rc < 0) {
		ctx_unlock_endpoints(ctx);
		return rc;
	}
	pipe_set_sink(pp[0], sink, ops);
	/* Our end reads its (still empty) inq once, before the handler can write to
	 * it: that marks us asleep, so the handler's reply sends ACTIVATE_READ. */
	(void)pipe_check_read(pp[0]);
	own_send_pipe(ep->socket, CMD_BIND, pp[1], NULL);
	ctx_unlock_endpoints(ctx);
	z->pipe = pp[0];
	return 0;
}

int
session_zap_send(struct session_zap *z, struct object *owner, void *sink,
                 const struct pipe_sink_ops *ops, struct msg *frames, int n)
{
	if (!z->pipe) {
		int rc = session_zap_connect(z, owner, sink, ops);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < n; i++) {
		int rc = pipe_write(z->pipe, &frames[i]);
		if (rc < 0) {
			/* The handler is going away (or no memory): the parts written are
			 * taken back; the frames (those written are now empty) stay the
			 * caller's, who closes them. */
			pipe_rollback(z->pipe);
			return rc == -ENOMEM ? rc : -ECONNREFUSED;
		}
	}
	pipe_flush(z->pipe);
	return 0;
}

void
session_zap_clear(struct session_zap *z)
{
	int kept = z->parts < SESSION_ZAP_FRAMES ? z->parts : SESSION_ZAP_FRAMES;
	for (int i = 0; i < kept; i++)
		msg_close(&z->reply[i]);
	z->parts = 0;
}

int
session_zap_read_reply(struct session_zap *z)
{
	struct msg m;
	msg_init(&m);
	while (z->pipe && pipe_read(z->pipe, &m)) {
		bool more = (m.flags & MSGF_MORE) != 0;
		if (z->parts < SESSION_ZAP_FRAMES)
			msg_move(&z->reply[z->parts], &m);
		else
			msg_close(&m);
		z->parts++;
		msg_init(&m);
		if (!more)
			return z->parts < SESSION_ZAP_FRAMES ? z->parts
			                                     : SESSION_ZAP_FRAMES;
	}
	return 0;
}

bool
session_zap_end(struct session_zap *z)
{
	session_zap_clear(z);
	if (!z->pipe)
		return false;
	pipe_terminate(z->pipe, false);
	z->pipe = NULL;
	return true;
}

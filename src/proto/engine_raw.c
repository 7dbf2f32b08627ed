/*
 * engine_raw.c: the raw carrier (engine_impl.h) of ZMQ_STREAM sockets: no greeting, no
 * handshake, no framing. Whatever one read returns is one message; each message the
 * socket sends is written as its bytes, and an empty one closes the connection. With
 * ZMQ_STREAM_NOTIFY an empty message from the peer says it connected, another that it
 * is gone; every message carries the connection's Peer-Address, as libzmq's do.
 *
 * Threads: the engine's I/O thread.
 */
#include "proto/engine_impl.h"
#include "proto/session.h"
#include "platform/net.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

struct carrier_raw {
	struct carrier base;
	bool has;   /* out holds a message being written */
	size_t off; /* the bytes of it already written */
	struct msg out;
};

static struct carrier_raw *
raw_of(struct carrier *c)
{
	return container_of(c, struct carrier_raw, base);
}

static int
raw_init(struct carrier *c)
{
	msg_init(&raw_of(c)->out);
	return 0;
}

static void
raw_fini(struct carrier *c)
{
	msg_close(&raw_of(c)->out);
}

/* raw_notify: ZMQ_STREAM's connect / disconnect notification, an empty message from
 * the peer. Dropped if the pipe is full (as libzmq). */
static void
raw_notify(struct engine *e)
{
	struct msg m;
	msg_init(&m);
	msg_set_metadata(&m, e->meta);
	if (session_push_msg(e->session, &m) == 0)
		session_flush(e->session);
	else
		msg_close(&m);
}

/* raw_meta: the connection's metadata, its Peer-Address, which its messages
 * (notifications included) carry. 0 or -ENOMEM. */
static int
raw_meta(struct engine *e)
{
	e->meta = metadata_new(1);
	if (!e->meta)
		return -ENOMEM;
	e->meta_batch.md = e->meta; /* engine_deliver attaches it to each message */
	if (e->peer_address[0] && metadata_add(e->meta, "Peer-Address", e->peer_address,
	                                       strlen(e->peer_address)) < 0)
		return -ENOMEM; /* engine_destroy releases e->meta */
	return 0;
}

/* raw_plug: no greeting, no handshake: the connection is the peer. */
static void
raw_plug(struct carrier *c)
{
	struct engine *e = c->e;
	if (raw_meta(e) < 0) {
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	e->state = ES_ACTIVE;
	/* POLLOUT once: the first (empty) pull marks the pipe's reader asleep, so the
	 * socket's first message wakes us. */
	poller_set_pollout(e->poller, e->handle);
	if (session_engine_ready(e->session, NULL, 0) < 0) {
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	if (e->opts.stream_notify)
		raw_notify(e);
}

/* raw_ended: an empty message says "gone" (only to a socket that heard "connected"). */
static void
raw_ended(struct carrier *c)
{
	struct engine *e = c->e;
	if (e->state == ES_ACTIVE && e->opts.stream_notify)
		raw_notify(e);
}

/* raw_in_event: whatever arrived is one message. */
static void
raw_in_event(struct carrier *c)
{
	struct engine *e = c->e;
	if (engine_input_held(e))
		return;
	uint8_t *buf = engine_read_buffer(e);
	ssize_t n = buf ? zn_read(e->fd, buf, ENGINE_INBUF) : -ENOMEM;
	if (n == -EAGAIN)
		return;
	if (n == -ENOMEM) {
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	if (n <= 0) {
		engine_fail(e, ENGINE_END_CLOSED, 0);
		return;
	}
	struct msg m; /* a copy: the read buffer is the thread's */
	if (msg_init_buffer(&m, buf, (size_t)n) < 0) {
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	int rc = engine_deliver(e, &m);
	if (rc < 0 && rc != -EAGAIN) {
		engine_fail_rc(e, rc);
		return;
	}
	session_flush(e->session);
}

/* raw_next: the next message to write into r->out. 1, 0 when the pipe is empty (the
 * output is idle: -1 when the session then ended the engine), -1 when it was the empty
 * message that closes the connection. */
static int
raw_next(struct carrier_raw *r)
{
	struct engine *e = r->base.e;
	msg_init(&r->out);
	if (session_pull_msg(e->session, &r->out) < 0)
		return engine_output_idle(e);
	if (msg_size(&r->out) == 0) {
		engine_fail(e, ENGINE_END_CLOSED, 0);
		return -1;
	}
	r->has = true;
	r->off = 0;
	return 1;
}

/* raw_write: each message's bytes as they are. */
static int
raw_write(struct carrier *c)
{
	struct carrier_raw *r = raw_of(c);
	struct engine *e = c->e;
	for (int round = 0; round < 64; round++) {
		if (!r->has) {
			int rc = raw_next(r);
			if (rc <= 0)
				return rc;
		}
		struct iovec iov = {(uint8_t *)msg_data(&r->out) + r->off,
		                    msg_size(&r->out) - r->off};
		ssize_t w = zn_writev(e->fd, &iov, 1);
		if (w == -EAGAIN)
			return 0;
		if (w < 0) {
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		r->off += (size_t)w;
		if (r->off < msg_size(&r->out))
			return 0;
		msg_close(&r->out);
		msg_init(&r->out);
		r->has = false;
	}
	return 0;
}

static bool
raw_output_empty(const struct carrier *c)
{
	return !container_of(c, const struct carrier_raw, base)->has;
}

const struct carrier_ops carrier_raw = {
        .name = "raw",
        .size = sizeof(struct carrier_raw),
        .init = raw_init,
        .fini = raw_fini,
        .plug = raw_plug,
        .in_event = raw_in_event,
        .write = raw_write,
        .restart_output = engine_stream_restart_output,
        .stop_input = engine_stream_stop_input,
        .resume_input = engine_stream_resume,
        .output_empty = raw_output_empty,
        .ended = raw_ended,
};

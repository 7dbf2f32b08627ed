/*
 * stream.c: ZMQ_STREAM, raw TCP peers (no ZMTP). Each connection is a pipe with a
 * routing id (ZMQ_CONNECT_ROUTING_ID, or a generated 5-byte id as libzmq makes).
 * recv gives two frames, the id and the bytes that arrived; an empty second frame
 * is a connect or disconnect notification (ZMQ_STREAM_NOTIFY). send takes the id,
 * then the bytes; empty bytes close that connection.
 */
#include "platform/alloc.h"
#include "socket/fq.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

struct stream_peer {
	uint8_t id_len;
	uint8_t id[255];
};

struct stream {
	struct socket base;
	struct fq fq;
	struct pipe_array peers; /* every attached pipe, to find one by id */
	struct msg prefetched;   /* the data frame whose id frame was just returned */
	bool has_prefetched;
	struct pipe *current_out; /* the peer named by the id frame just sent */
	bool more_out;
	uint32_t next_id;
};

#define STREAM(s) ((struct stream *)(void *)(s))

static int
stream_init(struct socket *s)
{
	struct stream *st = STREAM(s);
	fq_init(&st->fq);
	pipe_array_init(&st->peers, PIPE_ARRAY_LB);
	msg_init(&st->prefetched);
	st->next_id = 1;
	return 0;
}

static void
stream_fini(struct socket *s)
{
	struct stream *st = STREAM(s);
	fq_fini(&st->fq);
	pipe_array_fini(&st->peers);
	msg_close(&st->prefetched);
}

static struct pipe *
stream_find(struct stream *st, const uint8_t *id, size_t len)
{
	for (uint32_t i = 0; i < st->peers.n; i++) {
		struct stream_peer *p = st->peers.items[i]->sock_data;
		if (p->id_len == len && memcmp(p->id, id, len) == 0)
			return st->peers.items[i];
	}
	return NULL;
}

static int
stream_attach_pipe(struct socket *s, struct pipe *p)
{
	struct stream *st = STREAM(s);
	struct stream_peer *peer = zn_malloc(sizeof *peer);
	if (!peer)
		return -ENOMEM;
	if (fq_reserve(&st->fq) < 0 || pipe_array_reserve(&st->peers) < 0) {
		zn_free(peer);
		return -ENOMEM;
	}
	if (p->peer_rid_len && !stream_find(st, p->peer_rid, p->peer_rid_len)) {
		peer->id_len = p->peer_rid_len;
		memcpy(peer->id, p->peer_rid, p->peer_rid_len);
	} else {
		uint32_t n = st->next_id++;
		peer->id_len = 5;
		peer->id[0] = 0;
		memcpy(peer->id + 1, &n, sizeof n);
		/* libzmq's STREAM reports the id it generated last as its own
		 * ZMQ_ROUTING_ID: a client with one connection reads its peer's id
		 * there (test_stream, test_stream_disconnect rely on it). */
		s->options.routing_id.len = peer->id_len;
		memcpy(s->options.routing_id.data, peer->id, peer->id_len);
	}
	p->sock_data = peer;
	fq_attach(&st->fq, p);
	pipe_array_push(&st->peers, p);
	return 0;
}

static void
stream_pipe_terminated(struct socket *s, struct pipe *p)
{
	struct stream *st = STREAM(s);
	fq_terminated(&st->fq, p);
	if (pipe_array_contains(&st->peers, p))
		pipe_array_erase(&st->peers, p);
	if (st->current_out == p)
		st->current_out = NULL;
	zn_free(p->sock_data);
	p->sock_data = NULL;
}

static void
stream_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&STREAM(s)->fq, p);
}

static int
stream_send(struct socket *s, struct msg *m)
{
	struct stream *st = STREAM(s);
	if (!st->more_out) {
		/* The id frame: it must say MORE and name a peer. */
		if (!(m->flags & MSGF_MORE))
			return -EINVAL;
		st->current_out = stream_find(st, msg_data(m), msg_size(m));
		if (!st->current_out)
			return -EHOSTUNREACH;
		st->more_out = true;
		msg_close(m);
		msg_init(m);
		return 0;
	}
	/* The data frame (MORE on it means nothing to a byte stream). */
	st->more_out = false;
	struct pipe *p = st->current_out;
	st->current_out = NULL;
	if (!p) { /* the peer went away in between */
		msg_close(m);
		msg_init(m);
		return 0;
	}
	msg_clear_flags(m, MSGF_MORE);
	if (msg_size(m) == 0) {
		pipe_terminate(p, false);
		msg_close(m);
		msg_init(m);
		return 0;
	}
	int rc = pipe_write(p, m);
	if (rc == -EAGAIN) { /* a full peer: dropped, as libzmq */
		msg_close(m);
		msg_init(m);
		return 0;
	}
	if (rc < 0)
		return rc;
	pipe_flush(p);
	return 0;
}

static int
stream_recv(struct socket *s, struct msg *m)
{
	struct stream *st = STREAM(s);
	if (st->has_prefetched) {
		msg_move(m, &st->prefetched);
		st->has_prefetched = false;
		return 0;
	}
	struct pipe *p;
	int rc = fq_recv(&st->fq, &st->prefetched, &p);
	if (rc < 0)
		return rc;
	msg_clear_flags(&st->prefetched, MSGF_MORE);
	struct stream_peer *peer = p->sock_data;
	rc = msg_init_buffer(m, peer->id, peer->id_len);
	if (rc < 0) {
		msg_close(&st->prefetched);
		msg_init(&st->prefetched);
		return rc;
	}
	msg_set_flags(m, MSGF_MORE);
	/* The id frame carries the connection's metadata too (Peer-Address). */
	msg_set_metadata(m, st->prefetched.meta);
	st->has_prefetched = true;
	return 0;
}

static bool
stream_has_in(struct socket *s)
{
	struct stream *st = STREAM(s);
	return st->has_prefetched || fq_has_in(&st->fq);
}

static bool
stream_has_out(struct socket *s)
{
	(void)s;
	return true;
}

static void
stream_rollback(struct socket *s)
{
	STREAM(s)->more_out = false;
	STREAM(s)->current_out = NULL;
}

/* stream_type: what the layers below know about a STREAM (core/socket_type.h). */
static const struct socket_type stream_type = {
        .number = ZMQ_STREAM,
        .name = "STREAM",
        .options = (const int[]){ZMQ_STREAM_NOTIFY, 0},
        .pipe_per_connection = true,
        .raw = true,
};

const struct socket_ops stream_socket_ops = {
        .type = &stream_type,
        .size = sizeof(struct stream),
        .init = stream_init,
        .fini = stream_fini,
        .attach_pipe = stream_attach_pipe,
        .send = stream_send,
        .recv = stream_recv,
        .has_in = stream_has_in,
        .has_out = stream_has_out,
        .read_activated = stream_read_activated,
        .pipe_terminated = stream_pipe_terminated,
        .rollback = stream_rollback,
};

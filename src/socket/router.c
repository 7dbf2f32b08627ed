/*
 * router.c: ZMQ_ROUTER. Every pipe is a peer with a routing id: the one the peer
 * announced (ZMTP Identity, inproc ZMQ_ROUTING_ID) or ZMQ_CONNECT_ROUTING_ID named,
 * else a generated 5-byte id (a zero byte, then a 32-bit counter, as libzmq). recv
 * fair-queues messages and puts the sender's id in front as an extra frame; send takes
 * the first frame as the destination's id and routes the rest there: to an unknown or
 * full peer the message is dropped, or with ZMQ_ROUTER_MANDATORY refused with
 * EHOSTUNREACH / EAGAIN.
 *
 * With ZMQ_ROUTER_RAW (deprecated: ZMQ_STREAM's ancestor) the connections made
 * afterwards speak no ZMTP, as a STREAM's: each read is a message [id][bytes], an empty
 * one when a peer connects or goes; a send is [id][bytes] (MORE on the bytes means
 * nothing), and empty bytes close that connection.
 *
 * A peer announcing an id already in use is ignored (as libzmq), unless
 * ZMQ_ROUTER_HANDOVER gives it the id and ends the old pipe. Unlike libzmq, an ignored
 * peer is not dropped for good: its pipe waits (unread) and takes the id when the
 * holder's pipe ends, so a peer that reconnects before its old connection is gone is
 * served once it is.
 *
 * Ids map to peers through an open-addressing hash table (linear probing, at most half
 * full, backward-shift deletion), grown before a peer is attached so that attaching
 * cannot fail half-way.
 *
 * Threads: the socket's thread.
 */
#include "platform/alloc.h"
#include "platform/platform.h"
#include "socket/fq.h"
#include "socket/fqlb.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#define ROUTER_MAP_MIN 16

/* A peer: one pipe and its routing id. */
struct router_peer {
	struct pipe *pipe;
	struct msg id;                   /* the routing id as a ready message part */
	uint32_t hash;                   /* of id */
	bool listed;                     /* in the map; false: an ignored duplicate */
	struct router_peer *prev, *next; /* the ignored list, when not listed */
};

struct router_map {
	struct router_peer **slots;
	uint32_t cap; /* a power of two, or 0 */
	uint32_t n;
};

struct router {
	struct socket base;
	struct fq fq;
	struct router_map map;
	struct router_peer *ignored; /* duplicates waiting for their id */
	uint32_t next_rid;           /* for generated ids */
	/* recv: the first part of a message waits here while its id is returned. */
	struct msg prefetched;
	bool has_prefetched;
	bool more_in;              /* in the middle of returning a message */
	bool terminate_current_in; /* end current_in once its message is read */
	struct pipe *current_in;
	/* send */
	bool more_out;            /* the id frame was taken; parts go to current_out */
	struct pipe *current_out; /* NULL: the message is being dropped */
};

#define ROUTER(s) ((struct router *)(void *)(s))

/* router_hash: FNV-1a. */
static uint32_t
router_hash(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static bool
router_peer_is(struct router_peer *peer, const void *data, size_t len, uint32_t hash)
{
	return peer->hash == hash && msg_size(&peer->id) == len &&
	       memcmp(msg_data(&peer->id), data, len) == 0;
}

/* router_map_find: the listed peer with this id, or NULL. */
static struct router_peer *
router_map_find(struct router_map *map, const void *data, size_t len)
{
	if (map->n == 0)
		return NULL;
	uint32_t hash = router_hash(data, len), mask = map->cap - 1;
	for (uint32_t i = hash & mask; map->slots[i]; i = (i + 1) & mask)
		if (router_peer_is(map->slots[i], data, len, hash))
			return map->slots[i];
	return NULL;
}

/* router_map_put: places peer in a slot; the caller made room. */
static void
router_map_put(struct router_map *map, struct router_peer *peer)
{
	uint32_t mask = map->cap - 1, i = peer->hash & mask;
	while (map->slots[i])
		i = (i + 1) & mask;
	map->slots[i] = peer;
	map->n++;
}

/* router_map_reserve: room for one more peer. 0 or -ENOMEM (the map unchanged). */
static int
router_map_reserve(struct router_map *map)
{
	if ((map->n + 1) * 2 <= map->cap)
		return 0;
	uint32_t cap = map->cap ? map->cap * 2 : ROUTER_MAP_MIN;
	struct router_peer **slots = zn_calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	struct router_map grown = {slots, cap, 0};
	for (uint32_t i = 0; i < map->cap; i++)
		if (map->slots[i])
			router_map_put(&grown, map->slots[i]);
	zn_free(map->slots);
	*map = grown;
	return 0;
}

/* router_map_remove: takes peer out, shifting back the entries that probed past it so
 * every lookup still finds its entry without tombstones. */
static void
router_map_remove(struct router_map *map, struct router_peer *peer)
{
	uint32_t mask = map->cap - 1, i = peer->hash & mask;
	while (map->slots[i] != peer)
		i = (i + 1) & mask;
	for (uint32_t j = (i + 1) & mask; map->slots[j]; j = (j + 1) & mask) {
		uint32_t home = map->slots[j]->hash & mask;
		/* The entry at j may move to the hole at i unless its home lies
		 * cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			map->slots[i] = map->slots[j];
			i = j;
		}
	}
	map->slots[i] = NULL;
	map->n--;
}

/* router_generate_id: the next free generated id (0x00 + 32-bit big-endian counter). */
static void
router_generate_id(struct router *r, uint8_t id[5])
{
	do {
		uint32_t n = r->next_rid++;
		id[0] = 0;
		id[1] = (uint8_t)(n >> 24);
		id[2] = (uint8_t)(n >> 16);
		id[3] = (uint8_t)(n >> 8);
		id[4] = (uint8_t)n;
	} while (router_map_find(&r->map, id, 5));
}

static void
router_peer_set_id(struct router_peer *peer, struct msg *id)
{
	msg_close(&peer->id);
	peer->id = *id;
	peer->hash = router_hash(msg_data(&peer->id), msg_size(&peer->id));
}

static void
router_ignored_link(struct router *r, struct router_peer *peer)
{
	peer->listed = false;
	peer->prev = NULL;
	peer->next = r->ignored;
	if (r->ignored)
		r->ignored->prev = peer;
	r->ignored = peer;
}

static void
router_ignored_unlink(struct router *r, struct router_peer *peer)
{
	if (peer->prev)
		peer->prev->next = peer->next;
	else
		r->ignored = peer->next;
	if (peer->next)
		peer->next->prev = peer->prev;
}

static int
router_init(struct socket *s)
{
	struct router *r = ROUTER(s);
	fq_init(&r->fq);
	r->map = (struct router_map){NULL, 0, 0};
	r->ignored = NULL;
	/* libzmq starts the counter at a random value; the clock mixed with the
	 * address is as good for telling sockets apart. */
	r->next_rid = (uint32_t)clock_now_us() * 2654435761u ^ (uint32_t)(uintptr_t)s;
	msg_init(&r->prefetched);
	r->has_prefetched = r->more_in = r->terminate_current_in = false;
	r->current_in = NULL;
	r->more_out = false;
	r->current_out = NULL;
	return 0;
}

/* router_peer_free: frees the record only (its pipe may be gone already). */
static void
router_peer_free(struct router_peer *peer)
{
	msg_close(&peer->id);
	zn_free(peer);
}

static void
router_fini(struct socket *s)
{
	struct router *r = ROUTER(s);
	/* Every pipe has ended by now, so both are normally empty. */
	for (uint32_t i = 0; i < r->map.cap; i++)
		if (r->map.slots[i])
			router_peer_free(r->map.slots[i]);
	while (r->ignored) {
		struct router_peer *peer = r->ignored;
		r->ignored = peer->next;
		router_peer_free(peer);
	}
	zn_free(r->map.slots);
	msg_close(&r->prefetched);
	fq_fini(&r->fq);
}

/* router_list: the peer takes its id in the map and joins the fair queue. The caller
 * made room in both. */
static void
router_list(struct router *r, struct router_peer *peer)
{
	peer->listed = true;
	router_map_put(&r->map, peer);
	fq_attach(&r->fq, peer->pipe);
}

/* router_hand_over: the listed peer old gives up its id for a generated one (in gen)
 * and its pipe ends; a new peer takes the id. */
static void
router_hand_over(struct router *r, struct router_peer *old, struct msg *gen)
{
	router_map_remove(&r->map, old);
	router_peer_set_id(old, gen);
	router_map_put(&r->map, old);
	if (old->pipe == r->current_in)
		r->terminate_current_in = true; /* after the message being read */
	else
		pipe_terminate(old->pipe, true);
}

static int
router_attach_pipe(struct socket *s, struct pipe *p)
{
	struct router *r = ROUTER(s);
	uint8_t gen[5];
	struct msg id, gen_old;
	int rc = fq_reserve(&r->fq);
	if (rc == 0)
		rc = router_map_reserve(&r->map);
	if (rc < 0)
		return rc;
	struct router_peer *peer = zn_calloc(1, sizeof *peer);
	if (!peer)
		return -ENOMEM;
	msg_init(&peer->id);
	struct router_peer *old = NULL;
	if (p->peer_rid_len) {
		old = router_map_find(&r->map, p->peer_rid, p->peer_rid_len);
		rc = msg_init_buffer(&id, p->peer_rid, p->peer_rid_len);
	} else {
		router_generate_id(r, gen);
		rc = msg_init_buffer(&id, gen, sizeof gen);
	}
	if (rc < 0)
		goto fail_id;
	bool handover = old && s->options.router_handover;
	if (handover) {
		router_generate_id(r, gen);
		if ((rc = msg_init_buffer(&gen_old, gen, sizeof gen)) < 0)
			goto fail_gen;
	}
	if (s->options.probe_router && !p->probe_sent && (rc = fqlb_probe(p)) < 0)
		goto fail_probe;
	/* Nothing can fail from here on. */
	peer->pipe = p;
	router_peer_set_id(peer, &id);
	p->sock_data = peer;
	if (old && !handover) {
		/* Ignore it while the id is taken; it must not hold its peer's
		 * termination up, since nobody reads it. */
		pipe_set_nodelay(p);
		router_ignored_link(r, peer);
		return 0;
	}
	if (handover)
		router_hand_over(r, old, &gen_old);
	router_list(r, peer);
	return 0;

fail_probe:
	if (handover)
		msg_close(&gen_old);
fail_gen:
	msg_close(&id);
fail_id:
	zn_free(peer);
	return rc;
}

/* router_promote: the id of a peer that ended is free: the first live ignored peer
 * announcing it takes it. Room in the map and the fair queue was just freed. */
static void
router_promote(struct router *r, const void *data, size_t len, uint32_t hash)
{
	for (struct router_peer *peer = r->ignored; peer; peer = peer->next) {
		if (peer->pipe->state != PIPE_ACTIVE ||
		    !router_peer_is(peer, data, len, hash))
			continue;
		router_ignored_unlink(r, peer);
		peer->pipe->delay = true; /* read to the end from now on */
		router_list(r, peer);
		return;
	}
}

static void
router_pipe_terminated(struct socket *s, struct pipe *p)
{
	struct router *r = ROUTER(s);
	struct router_peer *peer = p->sock_data;
	if (p == r->current_out)
		r->current_out = NULL; /* drop the rest of the message */
	if (p == r->current_in) {
		r->current_in = NULL;
		r->terminate_current_in = false;
	}
	if (!peer)
		return;
	if (peer->listed) {
		fq_terminated(&r->fq, p);
		router_map_remove(&r->map, peer);
		router_promote(r, msg_data(&peer->id), msg_size(&peer->id), peer->hash);
	} else {
		router_ignored_unlink(r, peer);
	}
	p->sock_data = NULL;
	router_peer_free(peer);
}

static void
router_read_activated(struct socket *s, struct pipe *p)
{
	struct router_peer *peer = p->sock_data;
	if (peer && peer->listed)
		fq_activated(&ROUTER(s)->fq, p);
}

/* router_end_in: a whole message was returned. */
static void
router_end_in(struct router *r)
{
	if (r->terminate_current_in && r->current_in)
		pipe_terminate(r->current_in, true);
	r->terminate_current_in = false;
	r->current_in = NULL;
}

static int
router_recv(struct socket *s, struct msg *m)
{
	struct router *r = ROUTER(s);
	if (r->has_prefetched) {
		msg_move(m, &r->prefetched);
		r->has_prefetched = false;
	} else {
		struct pipe *from;
		int rc = fq_recv(&r->fq, m, &from);
		if (rc < 0)
			return rc;
		if (!r->more_in) {
			/* A new message: the sender's id goes first, the part waits. */
			struct router_peer *peer = from->sock_data;
			msg_move(&r->prefetched, m);
			r->has_prefetched = true;
			msg_copy(m, &peer->id);
			msg_set_flags(m, MSGF_MORE);
			if (r->prefetched.meta)
				msg_set_metadata(m, r->prefetched.meta);
			r->current_in = from;
			r->more_in = true;
			return 0;
		}
	}
	r->more_in = (m->flags & MSGF_MORE) != 0;
	if (!r->more_in)
		router_end_in(r);
	return 0;
}

/* router_pipe_closed: after pipe_check_write failed: is p ending (rather than full)? */
static bool
router_pipe_closed(const struct pipe *p)
{
	return p->state != PIPE_ACTIVE || !p->out;
}

/* router_route: m is the id frame: choose where the message goes. 0, or with
 * ZMQ_ROUTER_MANDATORY -EHOSTUNREACH (no such peer, or it is ending) or -EAGAIN (full).
 */
static int
router_route(struct router *r, struct msg *m)
{
	struct router_peer *peer = router_map_find(&r->map, msg_data(m), msg_size(m));
	bool mandatory = r->base.options.router_mandatory != 0;
	r->current_out = NULL;
	if (!peer)
		return mandatory ? -EHOSTUNREACH : 0;
	if (!pipe_check_write(peer->pipe)) {
		if (mandatory)
			return router_pipe_closed(peer->pipe) ? -EHOSTUNREACH : -EAGAIN;
		return 0;
	}
	r->current_out = peer->pipe;
	return 0;
}

static int
router_send(struct socket *s, struct msg *m)
{
	struct router *r = ROUTER(s);
	if (!r->more_out) {
		/* The id frame. Alone (no part follows) it is ignored, as in libzmq. */
		if (m->flags & MSGF_MORE) {
			int rc = router_route(r, m);
			if (rc < 0)
				return rc;
			r->more_out = true;
		}
		msg_close(m);
		msg_init(m);
		return 0;
	}
	bool more = (m->flags & MSGF_MORE) != 0;
	struct pipe *p = r->current_out;
	if (r->base.options.router_raw) {
		/* Raw: the part after the id is the whole message (MORE means nothing
		 * to a byte stream), and an empty one closes the connection. */
		msg_clear_flags(m, MSGF_MORE);
		more = false;
		if (p && msg_size(m) == 0) {
			pipe_terminate(p, false);
			p = r->current_out = NULL;
		}
	}
	if (p) {
		int rc = r->base.options.router_mandatory ? pipe_write(p, m)
		                                          : pipe_write_or_drop(p, m);
		if (rc == -ENOMEM) {
			/* The whole message goes; the caller may send it again. */
			pipe_rollback(p);
			r->current_out = NULL;
			r->more_out = false;
			return rc;
		}
		if (rc < 0) { /* the pipe is ending: drop the rest */
			pipe_rollback(p);
			r->current_out = p = NULL;
		} else if (!more) {
			pipe_flush(p);
		}
	}
	msg_close(m); /* empty when it was written; dropped otherwise */
	msg_init(m);
	r->more_out = more;
	if (!more)
		r->current_out = NULL;
	return 0;
}

static void
router_rollback(struct socket *s)
{
	struct router *r = ROUTER(s);
	if (r->current_out)
		pipe_rollback(r->current_out);
	r->current_out = NULL;
	r->more_out = false;
}

static bool
router_has_in(struct socket *s)
{
	struct router *r = ROUTER(s);
	return r->has_prefetched || fq_has_in(&r->fq);
}

static bool
router_has_out(struct socket *s)
{
	struct router *r = ROUTER(s);
	/* A ROUTER can always send (a message nobody can take is dropped), unless
	 * ZMQ_ROUTER_MANDATORY makes it wait for a peer with room. */
	if (!s->options.router_mandatory)
		return true;
	for (uint32_t i = 0; i < r->fq.pipes.n; i++)
		if (pipe_check_write(r->fq.pipes.items[i]))
			return true;
	return false;
}

static int
router_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	(void)s;
	(void)val;
	(void)len;
	switch (option) {
	case ZMQ_REQ_CORRELATE:
	case ZMQ_REQ_RELAXED: return -EINVAL;
	default: return 1; /* ZMQ_ROUTER_RAW too: stored, read at each connection */
	}
}

/* router_type: what the layers below know about a ROUTER (core/socket_type.h). */
static const struct socket_type router_type = {
        .number = ZMQ_ROUTER,
        .name = "ROUTER",
        .peers = (const char *const[]){"REQ", "DEALER", "ROUTER", NULL},
        .options = (const int[]){ZMQ_ROUTER_MANDATORY, ZMQ_ROUTER_HANDOVER,
                                 ZMQ_ROUTER_RAW, ZMQ_PROBE_ROUTER, 0},
        .sends_routing_id = true,
        .pipe_per_connection = true,
        .direct_road = true,
};

const struct socket_ops router_socket_ops = {
        .type = &router_type,
        .size = sizeof(struct router),
        .init = router_init,
        .fini = router_fini,
        .attach_pipe = router_attach_pipe,
        .send = router_send,
        .recv = router_recv,
        .has_in = router_has_in,
        .has_out = router_has_out,
        .read_activated = router_read_activated,
        .pipe_terminated = router_pipe_terminated,
        .rollback = router_rollback,
        .setsockopt = router_setsockopt,
};

/*
 * xpub.c: ZMQ_XPUB, and the publisher side ZMQ_PUB shares (xpub.h).
 *
 * Sending: the first part of a message is matched against every pipe's
 * subscriptions (the per-owner trie); the message then goes whole to the matching
 * pipes through dist, or with ZMQ_INVERT_MATCHING to the others. A subscriber at its
 * high-water mark loses the message, unless ZMQ_XPUB_NODROP asks for -EAGAIN instead.
 *
 * Receiving: subscriptions arrive as messages from the pipes (first byte 1 or 0, then
 * the topic; the engine turns ZMTP 3.1 SUBSCRIBE / CANCEL into these). They are
 * applied to the trie as soon as a pipe has them (libzmq reads its pipes the same
 * way), and an XPUB queues, for its application, a subscription new to the socket and
 * an unsubscription that leaves a topic with no subscriber, or all of them with
 * ZMQ_XPUB_VERBOSE (subscriptions) and ZMQ_XPUB_VERBOSER (both). Other messages from
 * the pipes (an XSUB's upstream data) are queued as they are. With ZMQ_XPUB_MANUAL
 * the trie is the application's to fill: every (un)subscription is queued, and
 * ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE apply to the pipe of the last one received. When a
 * pipe ends, its subscriptions go, with the unsubscriptions that makes queued.
 *
 * Out of memory while applying a peer's subscription or unsubscription (the trie, or
 * the note for the application), it is not dropped silently: the pipe ends, so its
 * connection ends and is made again, and the peer resends its subscriptions then
 * (pipe_terminate_nomem). Nothing a peer sends can make a call fail.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#include "socket/xpub.h"
#include "platform/alloc.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#define XPUB(s) ((struct xpub *)(void *)(s))

int
xpub_init(struct socket *s)
{
	struct xpub *x = XPUB(s);
	dist_init(&x->dist);
	trie_init(&x->subs);
	trie_init(&x->manual_subs);
	x->notes = NULL;
	x->notes_head = x->notes_len = x->notes_cap = 0;
	x->last_pipe = NULL;
	x->is_pub = false;
	x->verbose_subs = x->verbose_unsubs = x->more_send = false;
	return 0;
}

void
xpub_fini(struct socket *s)
{
	struct xpub *x = XPUB(s);
	for (uint32_t i = 0; i < x->notes_len; i++)
		msg_close(&x->notes[(x->notes_head + i) % x->notes_cap].msg);
	zn_free(x->notes);
	trie_fini(&x->subs);
	trie_fini(&x->manual_subs);
	dist_fini(&x->dist);
}

static bool
xpub_manual(const struct xpub *x)
{
	return x->base.options.xpub_manual && !x->is_pub;
}

/* Notes for recv. */

/* xpub_note_reserve: room in the queue for one more note. 0 or -ENOMEM. */
static int
xpub_note_reserve(struct xpub *x)
{
	if (x->notes_len < x->notes_cap)
		return 0;
	uint32_t cap = x->notes_cap ? x->notes_cap * 2 : 16;
	struct xpub_note *notes =
	        cap > x->notes_cap ? zn_malloc(cap * sizeof *notes) : NULL;
	if (!notes)
		return -ENOMEM;
	for (uint32_t i = 0; i < x->notes_len; i++)
		notes[i] = x->notes[(x->notes_head + i) % x->notes_cap];
	zn_free(x->notes);
	x->notes = notes;
	x->notes_head = 0;
	x->notes_cap = cap;
	return 0;
}

/* xpub_note: queues m (from p, or NULL) for recv (XPUB) or drops it (PUB, or no
 * memory). Consumes m. */
static void
xpub_note(struct xpub *x, struct msg *m, struct pipe *p)
{
	if (x->is_pub || xpub_note_reserve(x) < 0) {
		msg_close(m);
		return;
	}
	struct xpub_note *n = &x->notes[(x->notes_head + x->notes_len) % x->notes_cap];
	memcpy(&n->msg, m, sizeof *m);
	n->pipe = p;
	x->notes_len++;
	msg_init(m);
}

/* xpub_note_unsub: a trie_fn queueing "unsubscribed from prefix" for the XPUB. */
static int
xpub_note_unsub(const uint8_t *prefix, size_t len, void *arg)
{
	struct xpub *x = arg;
	struct msg m;
	if (msg_init_size(&m, len + 1) < 0)
		return 0; /* no memory: the application misses this note */
	uint8_t *d = msg_data(&m);
	d[0] = 0;
	if (len)
		memcpy(d + 1, prefix, len);
	xpub_note(x, &m, NULL);
	return 0;
}

static int
xpub_recv(struct socket *s, struct msg *m)
{
	struct xpub *x = XPUB(s);
	if (x->notes_len == 0)
		return -EAGAIN;
	struct xpub_note *n = &x->notes[x->notes_head];
	memcpy(m, &n->msg, sizeof *m);
	if (xpub_manual(x))
		x->last_pipe = n->pipe;
	x->notes_head = (x->notes_head + 1) % x->notes_cap;
	x->notes_len--;
	return 0;
}

static bool
xpub_has_in(struct socket *s)
{
	return XPUB(s)->notes_len > 0;
}

/* Subscriptions from the pipes. */

/* xpub_process: one message read from p: applies a subscription, queues what the
 * application should see. Consumes m. 0, or -ENOMEM when a subscription or its note
 * could not be kept (nothing changed then): the caller ends the pipe. */
static int
xpub_process(struct xpub *x, struct pipe *p, struct msg *m)
{
	size_t size = msg_size(m);
	const uint8_t *d = msg_data(m);
	if (size == 0 || d[0] > 1) {
		xpub_note(x, m, p); /* upstream data from an XSUB: may be lost */
		return 0;
	}
	/* Room for the note first, so that a subscription is either applied and told
	 * or neither. */
	int rc = x->is_pub ? 0 : xpub_note_reserve(x);
	bool sub = d[0] == 1, notify;
	struct trie *t = xpub_manual(x) ? &x->manual_subs : &x->subs;
	if (rc == 0)
		rc = sub ? trie_add_owner(t, d + 1, size - 1, p)
		         : trie_rm_owner(t, d + 1, size - 1, p);
	if (rc == -ENOMEM) {
		msg_close(m);
		return rc;
	}
	if (xpub_manual(x)) /* remembered only to unsubscribe for the pipe at its end */
		notify = true;
	else if (sub)
		notify = rc == 1 || (rc == 0 && x->verbose_subs);
	else /* as libzmq: an unknown unsubscription is passed on too */
		notify = rc != 0 || x->verbose_unsubs;
	if (!notify) {
		msg_close(m);
		return 0;
	}
	msg_clear_flags(m, MSGF_MORE);
	xpub_note(x, m, p);
	return 0;
}

void
xpub_read_activated(struct socket *s, struct pipe *p)
{
	struct msg m;
	while (pipe_read(p, &m)) {
		if (xpub_process(XPUB(s), p, &m) < 0) {
			/* Not dropped silently: the connection is made again, and
			 * the peer sends its subscriptions anew. */
			pipe_terminate_nomem(p);
			return;
		}
	}
}

void
xpub_write_activated(struct socket *s, struct pipe *p)
{
	dist_activated(&XPUB(s)->dist, p);
}

int
xpub_attach_pipe(struct socket *s, struct pipe *p)
{
	struct xpub *x = XPUB(s);
	const struct options_blob *w = &s->options.xpub_welcome;
	struct msg welcome;
	int rc = dist_reserve(&x->dist);
	if (rc < 0)
		return rc;
	msg_init(&welcome);
	if (w->len && (rc = msg_init_buffer(&welcome, w->data, w->len)) < 0)
		return rc;
	dist_attach(&x->dist, p);
	if (w->len) {
		if (pipe_write(p, &welcome) == 0)
			pipe_flush(p);
		else
			msg_close(&welcome);
	}
	/* Subscriptions may be waiting already; reading also arms the pipe's wake-up. */
	xpub_read_activated(s, p);
	return 0;
}

void
xpub_pipe_terminated(struct socket *s, struct pipe *p)
{
	struct xpub *x = XPUB(s);
	if (xpub_manual(x)) {
		trie_rm_owner_all(&x->manual_subs, p, xpub_note_unsub, x, false);
		trie_rm_owner_all(&x->subs, p, NULL, NULL, false);
	} else {
		trie_rm_owner_all(&x->subs, p, x->is_pub ? NULL : xpub_note_unsub, x,
		                  !x->verbose_unsubs);
	}
	for (uint32_t i = 0; i < x->notes_len; i++) {
		struct xpub_note *n = &x->notes[(x->notes_head + i) % x->notes_cap];
		if (n->pipe == p)
			n->pipe = NULL;
	}
	if (x->last_pipe == p)
		x->last_pipe = NULL;
	dist_terminated(&x->dist, p);
}

/* Sending. */

static void
xpub_mark_matching(void *owner, void *arg)
{
	dist_match(arg, owner);
}

int
xpub_send(struct socket *s, struct msg *m)
{
	struct xpub *x = XPUB(s);
	bool more = (m->flags & MSGF_MORE) != 0;
	if (!x->more_send) {
		dist_unmatch(&x->dist);
		trie_match(&x->subs, msg_data(m), msg_size(m), xpub_mark_matching,
		           &x->dist);
		if (s->options.invert_matching)
			dist_reverse_match(&x->dist);
	}
	if (s->options.xpub_nodrop && !dist_check_hwm(&x->dist))
		return -EAGAIN;
	int rc = dist_send_to_matching(&x->dist, m);
	if (rc < 0)
		return rc;
	x->more_send = more;
	return 0;
}

void
xpub_rollback(struct socket *s)
{
	dist_rollback(&XPUB(s)->dist);
	XPUB(s)->more_send = false;
}

bool
xpub_has_out(struct socket *s)
{
	(void)s;
	return true; /* a publisher can always send: full subscribers lose messages */
}

/* Options. */

/* xpub_int_flag: an option value that libzmq reads as "int != 0"; -EINVAL unless an
 * int >= 0. */
static int
xpub_int_flag(const void *val, size_t len, bool *out)
{
	int v;
	if (!val || len != sizeof v)
		return -EINVAL;
	memcpy(&v, val, sizeof v);
	if (v < 0)
		return -EINVAL;
	*out = v != 0;
	return 0;
}

int
xpub_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	struct xpub *x = XPUB(s);
	bool on;
	int rc;
	switch (option) {
	case ZMQ_XPUB_VERBOSE:
	case ZMQ_XPUB_VERBOSER:
		if ((rc = xpub_int_flag(val, len, &on)) < 0)
			return rc;
		x->verbose_subs = on;
		x->verbose_unsubs = option == ZMQ_XPUB_VERBOSER && on;
		return 0;
	case ZMQ_XPUB_NODROP:
	case ZMQ_XPUB_MANUAL:
		if ((rc = xpub_int_flag(val, len, &on)) < 0)
			return rc;
		if (option == ZMQ_XPUB_NODROP)
			s->options.xpub_nodrop = on;
		else
			s->options.xpub_manual = on;
		return 0;
	case ZMQ_SUBSCRIBE:
	case ZMQ_UNSUBSCRIBE:
		if (!xpub_manual(x) || (!val && len))
			return -EINVAL;
		if (!x->last_pipe)
			return 0;
		if (option == ZMQ_SUBSCRIBE) {
			rc = trie_add_owner(&x->subs, val, len, x->last_pipe);
			return rc < 0 ? rc : 0;
		}
		(void)trie_rm_owner(&x->subs, val, len, x->last_pipe);
		return 0;
	default: return 1;
	}
}

const int xpub_options[] = {ZMQ_XPUB_VERBOSE, ZMQ_XPUB_VERBOSER,    ZMQ_XPUB_NODROP,
                            ZMQ_XPUB_MANUAL,  ZMQ_XPUB_WELCOME_MSG, 0};

/* xpub_type: what the layers below know about a XPUB (core/socket_type.h). */
static const struct socket_type xpub_type = {
        .number = ZMQ_XPUB,
        .name = "XPUB",
        .peers = (const char *const[]){"SUB", "XSUB", NULL},
        .options = xpub_options,
        .direct_road = true,
};

const struct socket_ops xpub_socket_ops = {
        .type = &xpub_type,
        .size = sizeof(struct xpub),
        .init = xpub_init,
        .fini = xpub_fini,
        .attach_pipe = xpub_attach_pipe,
        .send = xpub_send,
        .recv = xpub_recv,
        .has_in = xpub_has_in,
        .has_out = xpub_has_out,
        .read_activated = xpub_read_activated,
        .write_activated = xpub_write_activated,
        .pipe_terminated = xpub_pipe_terminated,
        .rollback = xpub_rollback,
        .setsockopt = xpub_setsockopt,
};

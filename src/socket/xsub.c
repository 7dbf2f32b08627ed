/*
 * xsub.c: ZMQ_XSUB, and the subscriber side ZMQ_SUB shares (xsub.h).
 *
 * Subscriptions are counted in a trie: the first subscription to a topic and the
 * last unsubscription from it go to every publisher (as messages whose first byte is
 * 1 or 0; the engine turns them into ZMTP 3.1 SUBSCRIBE / CANCEL), repeats only
 * count. Every new pipe gets one subscription message per subscribed topic first, so
 * a publisher that connects late, or again, knows what to send. Other messages an
 * XSUB sends go upstream to every publisher.
 *
 * Receiving: fair-queued from the publishers. A SUB also checks each message against
 * its own subscriptions (an inproc or misbehaving peer may send anything) and drops
 * what matches none, or with ZMQ_INVERT_MATCHING what matches one. With ZMQ_CONFLATE
 * a SUB hands out only the newest matching message of those queued (libzmq keeps one
 * message per pipe instead; here the pipes still queue up to their high-water mark,
 * and each recv reads them out and keeps the last).
 *
 * Threads: the socket's thread (the reaper after close).
 */
#include "socket/xsub.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#define XSUB(s) ((struct xsub *)(void *)(s))

/* With ZMQ_CONFLATE, read at most this many messages per recv: a publisher that never
 * stops cannot keep recv from returning. */
#define XSUB_CONFLATE_BATCH 4096

int
xsub_init(struct socket *s)
{
	struct xsub *x = XSUB(s);
	fq_init(&x->fq);
	dist_init(&x->dist);
	trie_init(&x->subs);
	msg_init(&x->next);
	x->has_next = x->more_recv = x->filter = false;
	return 0;
}

void
xsub_fini(struct socket *s)
{
	struct xsub *x = XSUB(s);
	msg_close(&x->next);
	trie_fini(&x->subs);
	dist_fini(&x->dist);
	fq_fini(&x->fq);
}

/* xsub_send_sub: a trie_fn writing one subscription message into the pipe arg. A
 * full pipe loses it, as in libzmq. 0 or -ENOMEM. */
static int
xsub_send_sub(const uint8_t *prefix, size_t len, void *arg)
{
	struct msg m;
	int rc = msg_init_size(&m, len + 1);
	if (rc < 0)
		return rc;
	uint8_t *d = msg_data(&m);
	d[0] = 1;
	if (len)
		memcpy(d + 1, prefix, len);
	rc = pipe_write(arg, &m);
	if (rc < 0)
		msg_close(&m);
	return rc == -ENOMEM ? rc : 0;
}

int
xsub_attach_pipe(struct socket *s, struct pipe *p)
{
	struct xsub *x = XSUB(s);
	int rc = fq_reserve(&x->fq);
	if (rc == 0)
		rc = dist_reserve(&x->dist);
	if (rc == 0)
		rc = trie_apply(&x->subs, xsub_send_sub, p);
	if (rc < 0)
		return rc; /* the socket ends the pipe; what was written is harmless */
	fq_attach(&x->fq, p);
	dist_attach(&x->dist, p);
	pipe_flush(p);
	return 0;
}

void
xsub_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&XSUB(s)->fq, p);
}

void
xsub_write_activated(struct socket *s, struct pipe *p)
{
	dist_activated(&XSUB(s)->dist, p);
}

void
xsub_pipe_terminated(struct socket *s, struct pipe *p)
{
	fq_terminated(&XSUB(s)->fq, p);
	dist_terminated(&XSUB(s)->dist, p);
}

void
xsub_hiccuped(struct socket *s, struct pipe *p)
{
	if (trie_apply(&XSUB(s)->subs, xsub_send_sub, p) == 0)
		pipe_flush(p);
	else /* no memory: the connection is made again, with every subscription */
		pipe_terminate_nomem(p);
}

/* Sending. */

int
xsub_send(struct socket *s, struct msg *m)
{
	struct xsub *x = XSUB(s);
	size_t size = msg_size(m);
	const uint8_t *d = msg_data(m);
	int rc;
	if (size == 0 || d[0] > 1)
		return dist_send_to_all(&x->dist, m); /* upstream data */
	if (d[0] == 1) {
		if ((rc = trie_add(&x->subs, d + 1, size - 1)) < 0)
			return rc;
		/* Repeats go upstream too: an XPUB may want to see them (verbose). */
		if ((rc = dist_send_to_all(&x->dist, m)) < 0)
			(void)trie_rm(&x->subs, d + 1, size - 1);
		return rc;
	}
	if (trie_rm(&x->subs, d + 1, size - 1) != 1) {
		/* Still subscribed (or never was): the publishers need not know. */
		msg_close(m);
		msg_init(m);
		return 0;
	}
	if ((rc = dist_send_to_all(&x->dist, m)) < 0)
		(void)trie_add(&x->subs, d + 1, size - 1);
	return rc;
}

void
xsub_rollback(struct socket *s)
{
	dist_rollback(&XSUB(s)->dist);
}

/* Receiving. */

static bool
xsub_match(struct xsub *x, struct msg *m)
{
	bool match = trie_check(&x->subs, msg_data(m), msg_size(m));
	return match != (x->base.options.invert_matching != 0);
}

/* xsub_drop: drops m, the first part of a message, and the parts that follow it. */
static void
xsub_drop(struct xsub *x, struct msg *m)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	msg_close(m);
	while (more) {
		struct msg part;
		msg_init(&part);
		if (fq_recv(&x->fq, &part, NULL) < 0)
			break;
		more = (part.flags & MSGF_MORE) != 0;
		msg_close(&part);
	}
}

/* xsub_keep: m becomes the message read ahead (replacing an older one). */
static void
xsub_keep(struct xsub *x, struct msg *m)
{
	msg_close(&x->next);
	memcpy(&x->next, m, sizeof *m);
	x->has_next = true;
}

/* xsub_fetch: reads ahead the next message that matches (with ZMQ_CONFLATE the newest
 * one queued) into x->next. true when there is one. */
static bool
xsub_fetch(struct xsub *x)
{
	bool conflate = x->base.options.conflate != 0;
	if (x->has_next && !conflate)
		return true;
	for (int n = 0; !conflate || n < XSUB_CONFLATE_BATCH; n++) {
		struct msg m;
		msg_init(&m);
		if (fq_recv(&x->fq, &m, NULL) < 0)
			break;
		if (conflate)
			msg_clear_flags(&m, MSGF_MORE); /* as libzmq: parts stand alone */
		if (xsub_match(x, &m)) {
			xsub_keep(x, &m);
			if (!conflate)
				return true;
		} else if (conflate) {
			msg_close(&m);
		} else {
			xsub_drop(x, &m);
		}
	}
	return x->has_next;
}

int
xsub_recv(struct socket *s, struct msg *m)
{
	struct xsub *x = XSUB(s);
	if (!x->filter)
		return fq_recv(&x->fq, m, NULL);
	if (x->more_recv) {
		/* The rest of a message whose first part matched. */
		int rc = fq_recv(&x->fq, m, NULL);
		x->more_recv = rc == 0 && (m->flags & MSGF_MORE);
		return rc;
	}
	if (!xsub_fetch(x))
		return -EAGAIN;
	memcpy(m, &x->next, sizeof *m);
	msg_init(&x->next);
	x->has_next = false;
	x->more_recv = (m->flags & MSGF_MORE) != 0;
	return 0;
}

bool
xsub_has_in(struct socket *s)
{
	struct xsub *x = XSUB(s);
	if (!x->filter)
		return fq_has_in(&x->fq);
	return x->more_recv || xsub_fetch(x);
}

static bool
xsub_has_out(struct socket *s)
{
	(void)s;
	return true; /* subscriptions can always be sent; full pipes lose them */
}

/* xsub_type: what the layers below know about a XSUB (core/socket_type.h). */
static const struct socket_type xsub_type = {
        .number = ZMQ_XSUB,
        .name = "XSUB",
        .peers = (const char *const[]){"PUB", "XPUB", NULL},
        .subscribes = true,
        .direct_road = true,
        .linger_zero = true,
};

const struct socket_ops xsub_socket_ops = {
        .type = &xsub_type,
        .size = sizeof(struct xsub),
        .init = xsub_init,
        .fini = xsub_fini,
        .attach_pipe = xsub_attach_pipe,
        .send = xsub_send,
        .recv = xsub_recv,
        .has_in = xsub_has_in,
        .has_out = xsub_has_out,
        .read_activated = xsub_read_activated,
        .write_activated = xsub_write_activated,
        .pipe_terminated = xsub_pipe_terminated,
        .hiccuped = xsub_hiccuped,
        .rollback = xsub_rollback,
};

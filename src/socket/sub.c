/*
 * sub.c: ZMQ_SUB, an XSUB (xsub.h) that subscribes through ZMQ_SUBSCRIBE and
 * ZMQ_UNSUBSCRIBE, delivers only messages matching its subscriptions, and never sends.
 *
 * A subscription change waits, briefly, until the I/O threads that carry it to tcp/ipc
 * publishers have taken it (sub_handoff): see there why.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#include "core/ctx.h"
#include "platform/platform.h"
#include "socket/xsub.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

/* The longest a subscription change waits for its I/O threads. 5 ms was not enough on
 * a 2-core machine running seven busy processes (pyzmq's test_log hung 1 run in 5);
 * the wait ends as soon as the engines have pulled, so only a starved I/O thread (or a
 * connection that stopped pulling, once) costs it. */
#define SUB_HANDOFF_MAX_US 20000
/* Connections followed per change; past this many the rest are not waited for. */
#define SUB_HANDOFF_PIPES 64

static int
sub_init(struct socket *s)
{
	int rc = xsub_init(s);
	if (rc == 0)
		((struct xsub *)(void *)s)->filter = true;
	return rc;
}

/* sub_live_pipes: the pipes to tcp/ipc connections (their reader is an I/O thread)
 * that have read everything so far: an engine is pulling from them. At most max. */
static uint32_t
sub_live_pipes(struct socket *s, struct pipe **out, uint32_t max)
{
	struct xsub *x = (struct xsub *)(void *)s;
	uint32_t n = 0;
	for (uint32_t i = 0; i < x->dist.pipes.n && n < max; i++) {
		struct pipe *p = x->dist.pipes.items[i];
		if (ctx_tid_is_io_thread(s->own.obj.ctx, p->peer->obj.tid) &&
		    pipe_peer_idle(p))
			out[n++] = p;
	}
	return n;
}

/* sub_handoff: waits until the engines of these pipes have taken what was just
 * written, or SUB_HANDOFF_MAX_US. Why: the subscription travels through the I/O
 * thread, which is woken but often gets no CPU while this thread keeps running (the
 * scheduler queues it behind us, for up to a slice: milliseconds). A publisher in
 * the same process that sends right after setsockopt returns, as pyzmq's test_log
 * does, then drops the message; libzmq has the same race. Yielding, rather than
 * sleeping, hands the I/O thread the rest of its round: it takes the subscription,
 * writes it and reads what its own publisher side received before we run again (a
 * sleeper that wakes takes the CPU back mid-round: seen, pulled but not yet
 * written). On another CPU it runs anyway, and we only poll. Best effort: a
 * connection that stops pulling (its peer gone, its output full) costs the bound
 * once, since it is not idle afterwards and is not waited for again. */
static void
sub_handoff(struct pipe **pipes, uint32_t n)
{
	int64_t deadline = clock_now_us() + SUB_HANDOFF_MAX_US;
	for (uint32_t i = 0; i < n; i++)
		while (!pipe_peer_idle(pipes[i]) && clock_now_us() < deadline)
			zn_yield();
}

/* sub_setsockopt: ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE become the subscription message
 * an XSUB would send, handed to the connections' I/O threads before it returns
 * (sub_handoff). 0 or -ENOMEM, -EINVAL; 1 for the other options. */
static int
sub_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	if (option != ZMQ_SUBSCRIBE && option != ZMQ_UNSUBSCRIBE)
		return 1;
	if (!val && len)
		return -EINVAL;
	struct msg m;
	int rc = msg_init_size(&m, len + 1);
	if (rc < 0)
		return rc;
	uint8_t *d = msg_data(&m);
	d[0] = option == ZMQ_SUBSCRIBE;
	if (len)
		memcpy(d + 1, val, len);
	struct pipe *live[SUB_HANDOFF_PIPES];
	uint32_t n = sub_live_pipes(s, live, SUB_HANDOFF_PIPES);
	rc = xsub_send(s, &m);
	if (rc < 0) {
		msg_close(&m);
		return rc;
	}
	sub_handoff(live, n);
	return 0;
}

static int
sub_send(struct socket *s, struct msg *m)
{
	(void)s;
	(void)m;
	return -ENOTSUP;
}

static bool
sub_has_out(struct socket *s)
{
	(void)s;
	return false;
}

/* sub_type: what the layers below know about a SUB (core/socket_type.h). */
static const struct socket_type sub_type = {
        .number = ZMQ_SUB,
        .name = "SUB",
        .peers = (const char *const[]){"PUB", "XPUB", NULL},
        .subscribes = true,
        .direct_road = true,
        .linger_zero = true,
};

const struct socket_ops sub_socket_ops = {
        .type = &sub_type,
        .size = sizeof(struct xsub),
        .init = sub_init,
        .fini = xsub_fini,
        .attach_pipe = xsub_attach_pipe,
        .send = sub_send,
        .recv = xsub_recv,
        .has_in = xsub_has_in,
        .has_out = sub_has_out,
        .read_activated = xsub_read_activated,
        .write_activated = xsub_write_activated,
        .pipe_terminated = xsub_pipe_terminated,
        .hiccuped = xsub_hiccuped,
        .setsockopt = sub_setsockopt,
};

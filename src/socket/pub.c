/*
 * pub.c: ZMQ_PUB, an XPUB (xpub.h) that never receives: it sends each message to the
 * subscribers whose subscriptions match it, drops it for those at their high-water
 * mark (never blocks, unless ZMQ_XPUB_NODROP), and keeps the subscriptions it reads
 * from its pipes to itself.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#include "socket/xpub.h"
#include "zmq.h"

#include <errno.h>

static int
pub_init(struct socket *s)
{
	int rc = xpub_init(s);
	if (rc == 0)
		((struct xpub *)(void *)s)->is_pub = true;
	return rc;
}

static int
pub_attach_pipe(struct socket *s, struct pipe *p)
{
	/* Nobody waits for what the peer sends last: ack its termination at once. */
	pipe_set_nodelay(p);
	return xpub_attach_pipe(s, p);
}

static int
pub_recv(struct socket *s, struct msg *m)
{
	(void)s;
	(void)m;
	return -ENOTSUP;
}

static bool
pub_has_in(struct socket *s)
{
	(void)s;
	return false;
}

/* pub_type: what the layers below know about a PUB (core/socket_type.h). */
static const struct socket_type pub_type = {
        .number = ZMQ_PUB,
        .name = "PUB",
        .peers = (const char *const[]){"SUB", "XSUB", NULL},
        .options = xpub_options, /* a PUB takes XPUB's, as libzmq's */
        .direct_road = true,
};

const struct socket_ops pub_socket_ops = {
        .type = &pub_type,
        .size = sizeof(struct xpub),
        .init = pub_init,
        .fini = xpub_fini,
        .attach_pipe = pub_attach_pipe,
        .send = xpub_send,
        .recv = pub_recv,
        .has_in = pub_has_in,
        .has_out = xpub_has_out,
        .read_activated = xpub_read_activated,
        .write_activated = xpub_write_activated,
        .pipe_terminated = xpub_pipe_terminated,
        .rollback = xpub_rollback,
        .setsockopt = xpub_setsockopt,
};

/*
 * sub.c: ZMQ_SUB, an XSUB (xsub.h) that subscribes through ZMQ_SUBSCRIBE and
 * ZMQ_UNSUBSCRIBE, delivers only messages matching its subscriptions, and never sends.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#include "socket/xsub.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

static int
sub_init(struct socket *s)
{
	int rc = xsub_init(s);
	if (rc == 0)
		((struct xsub *)(void *)s)->filter = true;
	return rc;
}

/* sub_setsockopt: ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE become the subscription message
 * an XSUB would send. 0 or -ENOMEM, -EINVAL; 1 for the other options. */
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
	rc = xsub_send(s, &m);
	if (rc < 0)
		msg_close(&m);
	return rc;
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

const struct socket_ops sub_socket_ops = {
        .type = ZMQ_SUB,
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

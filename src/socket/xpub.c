/*
 * xpub.c: ZMQ_XPUB. Not built yet: zmq_socket(ZMQ_XPUB) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
xpub_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops xpub_socket_ops = {
	.type = ZMQ_XPUB,
	.size = sizeof(struct socket),
	.init = xpub_init,
};

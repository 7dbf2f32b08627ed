/*
 * xsub.c: ZMQ_XSUB. Not built yet: zmq_socket(ZMQ_XSUB) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
xsub_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops xsub_socket_ops = {
	.type = ZMQ_XSUB,
	.size = sizeof(struct socket),
	.init = xsub_init,
};

/*
 * stream.c: ZMQ_STREAM. Not built yet: zmq_socket(ZMQ_STREAM) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
stream_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops stream_socket_ops = {
	.type = ZMQ_STREAM,
	.size = sizeof(struct socket),
	.init = stream_init,
};

/*
 * req.c: ZMQ_REQ. Not built yet: zmq_socket(ZMQ_REQ) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
req_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops req_socket_ops = {
	.type = ZMQ_REQ,
	.size = sizeof(struct socket),
	.init = req_init,
};

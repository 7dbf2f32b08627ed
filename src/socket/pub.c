/*
 * pub.c: ZMQ_PUB. Not built yet: zmq_socket(ZMQ_PUB) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
pub_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops pub_socket_ops = {
	.type = ZMQ_PUB,
	.size = sizeof(struct socket),
	.init = pub_init,
};

/*
 * sub.c: ZMQ_SUB. Not built yet: zmq_socket(ZMQ_SUB) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
sub_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops sub_socket_ops = {
	.type = ZMQ_SUB,
	.size = sizeof(struct socket),
	.init = sub_init,
};

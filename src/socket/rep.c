/*
 * rep.c: ZMQ_REP. Not built yet: zmq_socket(ZMQ_REP) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
rep_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops rep_socket_ops = {
	.type = ZMQ_REP,
	.size = sizeof(struct socket),
	.init = rep_init,
};

/*
 * dealer.c: ZMQ_DEALER. Not built yet: zmq_socket(ZMQ_DEALER) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
dealer_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops dealer_socket_ops = {
	.type = ZMQ_DEALER,
	.size = sizeof(struct socket),
	.init = dealer_init,
};

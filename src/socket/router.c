/*
 * router.c: ZMQ_ROUTER. Not built yet: zmq_socket(ZMQ_ROUTER) fails with ENOTSUP.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

static int
router_init(struct socket *s)
{
	(void)s;
	return -ENOTSUP;
}

const struct socket_ops router_socket_ops = {
	.type = ZMQ_ROUTER,
	.size = sizeof(struct socket),
	.init = router_init,
};

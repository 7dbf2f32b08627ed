/*
 * socket_types.c: the table of socket types by ZMQ_* number. A type whose file says
 * "not built yet" has an init that fails with -ENOTSUP, so zmq_socket reports it.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <stdbool.h>

extern const struct socket_ops pair_socket_ops, pub_socket_ops, sub_socket_ops,
        req_socket_ops, rep_socket_ops, dealer_socket_ops, router_socket_ops,
        pull_socket_ops, push_socket_ops, xpub_socket_ops, xsub_socket_ops,
        stream_socket_ops;

const struct socket_ops *const socket_types[] = {
        [ZMQ_PAIR] = &pair_socket_ops,     [ZMQ_PUB] = &pub_socket_ops,
        [ZMQ_SUB] = &sub_socket_ops,       [ZMQ_REQ] = &req_socket_ops,
        [ZMQ_REP] = &rep_socket_ops,       [ZMQ_DEALER] = &dealer_socket_ops,
        [ZMQ_ROUTER] = &router_socket_ops, [ZMQ_PULL] = &pull_socket_ops,
        [ZMQ_PUSH] = &push_socket_ops,     [ZMQ_XPUB] = &xpub_socket_ops,
        [ZMQ_XSUB] = &xsub_socket_ops,     [ZMQ_STREAM] = &stream_socket_ops,
};

const size_t socket_types_count = sizeof socket_types / sizeof socket_types[0];

/* Options that belong to some socket types only: libzmq 4.3 refuses them with EINVAL on
 * the others (a PUB takes XPUB's, a REP ROUTER's and a REQ DEALER's, as there one
 * derives from the other). Every option not listed is every type's. */
#define TYPE(t) (1u << (t))
static const struct {
	int option;
	unsigned types;
} typed_options[] = {
        {ZMQ_REQ_CORRELATE, TYPE(ZMQ_REQ)},
        {ZMQ_REQ_RELAXED, TYPE(ZMQ_REQ)},
        {ZMQ_ROUTER_MANDATORY, TYPE(ZMQ_ROUTER) | TYPE(ZMQ_REP)},
        {ZMQ_ROUTER_HANDOVER, TYPE(ZMQ_ROUTER) | TYPE(ZMQ_REP)},
        {ZMQ_ROUTER_RAW, TYPE(ZMQ_ROUTER) | TYPE(ZMQ_REP)},
        {ZMQ_PROBE_ROUTER,
         TYPE(ZMQ_ROUTER) | TYPE(ZMQ_REP) | TYPE(ZMQ_DEALER) | TYPE(ZMQ_REQ)},
        {ZMQ_STREAM_NOTIFY, TYPE(ZMQ_STREAM)},
        {ZMQ_XPUB_VERBOSE, TYPE(ZMQ_XPUB) | TYPE(ZMQ_PUB)},
        {ZMQ_XPUB_VERBOSER, TYPE(ZMQ_XPUB) | TYPE(ZMQ_PUB)},
        {ZMQ_XPUB_NODROP, TYPE(ZMQ_XPUB) | TYPE(ZMQ_PUB)},
        {ZMQ_XPUB_MANUAL, TYPE(ZMQ_XPUB) | TYPE(ZMQ_PUB)},
        {ZMQ_XPUB_WELCOME_MSG, TYPE(ZMQ_XPUB) | TYPE(ZMQ_PUB)},
};

bool
socket_type_takes_option(int type, int option)
{
	for (size_t i = 0; i < sizeof typed_options / sizeof typed_options[0]; i++)
		if (typed_options[i].option == option)
			return (typed_options[i].types & TYPE(type)) != 0;
	return true;
}

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

/* socket_type_claims: whether some type lists option among its own. */
static bool
socket_type_claims(const struct socket_type *t, int option)
{
	for (const int *o = t->options; o && *o; o++)
		if (*o == option)
			return true;
	return false;
}

/* socket_type_takes_option: an option that some types list as their own (ROUTER's
 * ZMQ_ROUTER_MANDATORY, ...) is taken only by the types that list it: libzmq 4.3
 * refuses it with EINVAL on the others (a PUB lists XPUB's, a REP ROUTER's and a REQ
 * DEALER's, as there one derives from the other). Every other option is every type's. */
bool
socket_type_takes_option(const struct socket_type *type, int option)
{
	if (socket_type_claims(type, option))
		return true;
	for (size_t i = 0; i < socket_types_count; i++)
		if (socket_types[i] && socket_type_claims(socket_types[i]->type, option))
			return false;
	return true;
}

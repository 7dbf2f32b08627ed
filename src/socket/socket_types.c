/*
 * socket_types.c: the table of socket types by ZMQ_* number. A type whose file says
 * "not built yet" has an init that fails with -ENOTSUP, so zmq_socket reports it.
 */
#include "socket/socket.h"
#include "zmq.h"

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

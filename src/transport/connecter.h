/*
 * connecter.h: the connecting side of a stream transport: one nonblocking connect
 * attempt at a time, on behalf of a session made by zmq_connect. The session starts
 * each attempt (at launch, and after ZMQ_RECONNECT_IVL) through connecter_session_ops,
 * which the socket hands down with the connecter; the connecter resolves the endpoint,
 * connects, applies ZMQ_CONNECT_TIMEOUT, lets the transport admit the peer, and hands
 * the session an engine (or reports the failure).
 *
 * Threads: connecter_new runs in the socket's thread; the rest in the session's I/O
 * thread.
 */
#ifndef ZINC_TRANSPORT_CONNECTER_H
#define ZINC_TRANSPORT_CONNECTER_H

#include "core/io_thread.h"
#include "core/options.h"
#include "proto/session.h"
#include "transport/transport.h"

struct connecter;

/* connecter_new: a connecter to spec (the endpoint after "scheme://", copied) over t,
 * with the socket's options as of now. 0 or -ENOMEM. */
int connecter_new(struct connecter **out, struct io_thread *io,
                  const struct transport_ops *t, const char *spec,
                  const struct options *opts);

/* What session_set_connect takes with a connecter. */
extern const struct session_connecter_ops connecter_session_ops;

#endif

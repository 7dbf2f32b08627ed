/*
 * listener.h: a bound endpoint of a stream transport (tcp://, ipc://, shm://). It
 * listens in an I/O thread, and for each connection its transport admits makes an
 * engine and a session (its child in the socket's object tree), so unbinding a
 * listener also closes the connections it accepted.
 *
 * Threads: listener_new runs in the socket's thread (so zmq_bind can report bind
 * errors); everything else in the listener's I/O thread.
 */
#ifndef ZINC_TRANSPORT_LISTENER_H
#define ZINC_TRANSPORT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/io_thread.h"
#include "core/monitor.h"
#include "core/options.h"
#include "core/own.h"
#include "transport/transport.h"

struct listener;

/* What a listener takes from its socket at bind time. The options and filters are
 * copied (the transport's part of the filters), so later changes apply to later binds
 * only, as libzmq's options. */
struct listener_socket {
	struct own *own;
	const struct options *opts;
	const struct accept_filters *filters;
	const struct monitor_sink *monitor;
};

/* listener_new: binds and listens now, on b (transport_bind, from t's bind_address or
 * adopted), and reports ZMQ_EVENT_LISTENING. The listener removes b's socket file and
 * directory when it closes (from the moment it returns 0; on failure they are the
 * caller's). -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -ENOMEM, ... */
int listener_new(struct listener **out, struct io_thread *io,
                 const struct listener_socket *s, const struct transport_ops *t,
                 const struct transport_bind *b);
struct own *listener_own(struct listener *l);
/* listener_endpoint: the name it is known by (what ZMQ_LAST_ENDPOINT shows: the real
 * port of a wildcard tcp port, the made-up path of an ipc wildcard, the URI of shm). */
const char *listener_endpoint(const struct listener *l);

#endif

/*
 * listener.h: a bound tcp:// or ipc:// endpoint. It listens in an I/O thread, and for
 * each accepted connection makes an engine and a session (its child in the socket's
 * object tree), so unbinding a listener also closes the connections it accepted.
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
#include "platform/net.h"
#include "transport/accept_filter.h"

struct listener;

/* listener_new: binds and listens now. On 0, endpoint holds the resolved address
 * (what ZMQ_LAST_ENDPOINT shows: the real port for a wildcard tcp port, the made-up path
 * for ipc wildcard). wildcard_dir: the private directory of a wildcard ipc path, removed
 * with the listener (or NULL). The listener keeps a copy of the transport's part of
 * filters (accept_filter.h). -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -ENOMEM, ... */
int listener_new(struct listener **out, struct io_thread *io, struct own *socket,
                 const struct options *opts, const struct accept_filters *filters,
                 const struct zn_sockaddr *addr, bool is_tcp, bool shm,
                 const char *wildcard_dir, const struct monitor_sink *monitor,
                 char *endpoint, size_t endpoint_len);
struct own *listener_own(struct listener *l);
/* listener_set_endpoint: the name its events and ZMQ_LAST_ENDPOINT show (shm:// shows
 * its own URI, not the rendezvous socket's path). Before launch only. */
void listener_set_endpoint(struct listener *l, const char *endpoint);

#endif

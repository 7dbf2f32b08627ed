/*
 * session.h: binds one connection's engine to the socket's pipe (DESIGN.md). A session
 * lives in an I/O thread and belongs to the socket's object tree: to the socket itself
 * when it was made by zmq_connect (it then connects, and reconnects after a failure with
 * ZMQ_RECONNECT_IVL backing off to ZMQ_RECONNECT_IVL_MAX), or to a listener when it
 * serves an accepted connection (it then ends with its connection).
 *
 * The pipe to the socket exists from zmq_connect on (so messages queue before the
 * connection is up), unless ZMQ_IMMEDIATE is set or the session was accepted: then it is
 * made when the handshake succeeds and handed to the socket with CMD_BIND.
 *
 * Threads: its I/O thread, except session_new / session_set_* / session_attach_pipe,
 * which the socket calls before launching it.
 */
#ifndef ZINC_PROTO_SESSION_H
#define ZINC_PROTO_SESSION_H

#include <stdbool.h>

#include "core/io_thread.h"
#include "core/monitor.h"
#include "core/options.h"
#include "core/own.h"
#include "pipe/msg.h"
#include "pipe/pipe.h"
#include "platform/net.h"
#include "proto/engine.h"

struct session;

/* session_new: an unlaunched session. endpoint is copied (for monitor events).
 * 0 or -ENOMEM. */
int session_new(struct session **out, struct io_thread *io, struct own *socket,
                const struct options *opts, const char *endpoint,
                const struct monitor_sink *monitor);
/* session_resolve_fn: turns the address part of the endpoint into socket addresses, in
 * the I/O thread before each connect attempt (a host name may resolve differently, or
 * only later). 0 or -errno (the attempt is retried after the reconnect interval). */
typedef int (*session_resolve_fn)(const char *spec, bool ipv6, struct zn_sockaddr *addr,
                                  struct zn_sockaddr *src, bool *has_src);
/* session_set_connect: makes it the active side: once launched it connects to spec
 * (the endpoint after "scheme://", which must outlive the session's endpoint copy: it
 * is taken from that copy). */
void session_set_connect(struct session *s, size_t spec_offset, bool is_tcp, bool shm,
                         session_resolve_fn resolve);
/* session_attach_pipe: its end of the pipe to the socket (before launch). */
void session_attach_pipe(struct session *s, struct pipe *p);
/* session_attach_engine: an accepted connection (sent as CMD_ATTACH by a listener). */
void session_send_attach(struct session *s, struct engine *e);
/* session_is_active: made by zmq_connect (it connects), not accepted. */
bool session_is_active(const struct session *s);
/* session_discard: frees a session that was never launched. */
void session_discard(struct session *s);
struct own *session_own(struct session *s);
struct object *session_object(struct session *s);

/* For its engine (same thread). */
int session_push_msg(struct session *s, struct msg *m);
int session_pull_msg(struct session *s, struct msg *m);
void session_flush(struct session *s);
/* session_offer_direct: hands the socket's end of the pipe a direct road (see
 * pipe/direct.h), behind what is queued; the road takes over one reference of d's
 * owner. 0, or -EPIPE / -ENOMEM: then not offered, the caller keeps it. */
int session_offer_direct(struct session *s, struct pipe_direct *d);
/* session_wake_direct: the socket end's road has data or room, or has ended. */
void session_wake_direct(struct session *s);
/* session_push_command: a SUBSCRIBE / CANCEL command for the socket. */
int session_push_command(struct session *s, struct msg *m, bool subscribe,
                         const void *topic, size_t len);
/* session_zap_request: sends a ZAP request (n frames, taken on success) to the handler
 * bound at inproc://zeromq.zap.01 in the session's context; the reply goes to the
 * engine (engine_zap_reply). 0, -ECONNREFUSED (no handler), -ENOMEM. */
int session_zap_request(struct session *s, struct msg *frames, int n);
/* session_engine_ready: the handshake succeeded; 0 or -ENOMEM. */
int session_engine_ready(struct session *s, const void *peer_rid, size_t rid_len);
/* session_engine_failed: the session destroys the engine before returning. */
void session_engine_failed(struct session *s, enum engine_end why, bool handshaking,
                           int protocol_error);
/* session_engine_drained: the engine wrote everything. true when the session then
 * destroyed the engine (it was waiting for exactly that to finish terminating). */
bool session_engine_drained(struct session *s);

#endif

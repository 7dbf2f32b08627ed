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
#include "proto/engine.h"

struct session;

/* session_new: an unlaunched session. endpoint is copied (for monitor events).
 * 0 or -ENOMEM. */
int session_new(struct session **out, struct io_thread *io, struct own *socket,
                const struct options *opts, const char *endpoint,
                const struct monitor_sink *monitor);
/* How a connecting session reaches its transport. The transports are a layer above
 * the session, so the socket hands these down at zmq_connect (session_set_connect);
 * the session calls them from its I/O thread. */
struct session_connecter_ops {
	/* start: one connection attempt. It ends in session_connected or
	 * session_connect_failed, called perhaps before start returns. Never blocks,
	 * except in a DNS look-up. */
	void (*start)(void *c, struct session *s);
	/* stop: abandons the attempt in progress, if any. Idempotent. */
	void (*stop)(void *c);
	/* destroy: frees it (stopped first). */
	void (*destroy)(void *c);
};
/* session_set_connect: makes it the active side: once launched it connects through c
 * (the session's from now on, destroyed with it), and reconnects. Before launch. */
void session_set_connect(struct session *s, const struct session_connecter_ops *ops,
                         void *c);
/* session_connected: the attempt succeeded; e (the session's now) serves it. */
void session_connected(struct session *s, struct engine *e);
/* session_connect_failed: the attempt failed: the next one follows after
 * ZMQ_RECONNECT_IVL. */
void session_connect_failed(struct session *s);
/* session_connect_closed: an attempt's descriptor, opened, was closed again (libzmq's
 * ZMQ_EVENT_CLOSED of a failed connect, before its CONNECT_RETRIED). */
void session_connect_closed(struct session *s, int fd);
/* session_connect_delayed: the attempt waits for the peer (ZMQ_EVENT_CONNECT_DELAYED). */
void session_connect_delayed(struct session *s);
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
/* session_pull_msg_again: session_pull_msg that looks at the pipe again although the
 * last pull found it empty (pipe_recheck_read). */
int session_pull_msg_again(struct session *s, struct msg *m);
void session_flush(struct session *s);
/* session_offer_direct: hands the socket's end of the pipe a direct road (see
 * pipe/direct.h), behind what is queued; the road takes over one reference of d's
 * owner. 0, or -EPIPE / -ENOMEM: then not offered, the caller keeps it. */
int session_offer_direct(struct session *s, struct pipe_direct *d);
/* session_offer_shortcut: lends the engine's writing to the socket's end of the pipe
 * (pipe/shortcut.h), handing over a reference. 0, or -EPIPE (no pipe, or it is ending):
 * the reference is still the caller's. */
struct pipe_shortcut;
/* session_in_whole: no multipart message from the engine is half written. */
bool session_in_whole(const struct session *s);
int session_offer_shortcut(struct session *s, struct pipe_shortcut *sc);
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

/*
 * engine.h: ZMTP 3.x for one connection (a tcp, ipc or shm:// fd). The engine runs the
 * greeting and the handshake of the configured mechanism (NULL, PLAIN, CURVE; ZAP when
 * it asks), then moves messages between its session's pipe and the peer: over the
 * stream itself (tcp, ipc), through shared-memory rings after the handshake (shm://),
 * or as raw bytes for ZMQ_STREAM sockets (engine_impl.h: the carriers). PING/PONG
 * heartbeats, ERROR, and every malformed input end the connection, never the process
 * (seed 003).
 *
 * Threads: the I/O thread of its session, only.
 */
#ifndef ZINC_PROTO_ENGINE_H
#define ZINC_PROTO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/options.h"
#include "core/poller.h"
#include "pipe/msg.h"

struct engine;
struct session;

/* Why an engine ended, for the session and the monitor. */
enum engine_end {
	ENGINE_END_CLOSED,    /* the peer closed or the connection broke */
	ENGINE_END_PROTOCOL,  /* the peer broke the protocol */
	ENGINE_END_TIMEOUT,   /* handshake or heartbeat timeout */
	ENGINE_END_NOMEM,     /* no memory for what the peer sent */
	ENGINE_END_REFUSED,   /* the peer's READY was unacceptable (type, properties) */
	ENGINE_END_AUTH,      /* ZAP (or the peer's ERROR) refused: value = status */
	ENGINE_END_NO_DETAIL, /* the handshake failed for a reason given as an errno */
	ENGINE_END_MECH, /* after the handshake the mechanism failed on a message (a CURVE
	                    box that does not open, a replayed nonce): value = the
	                    ZMQ_PROTOCOL_ERROR_*, reported as libzmq does */
};

/* engine_new: takes ownership of fd (closed on failure too). peer_address is what
 * Peer-Address reports (copied). shm: the fd is a shm:// rendezvous socket, and after
 * the handshake messages move through shared-memory rings. 0 or -ENOMEM. */
int engine_new(struct engine **out, int fd, const struct options *opts,
               const char *peer_address, bool shm);
/* engine_plug: starts the greeting; from now on the engine calls its session. */
void engine_plug(struct engine *e, struct session *s, struct poller *p);
/* engine_destroy: unplugs, closes the fd, frees. Idempotent only via the session. */
void engine_destroy(struct engine *e);
/* engine_restart_input: the session's pipe has room again. */
void engine_restart_input(struct engine *e);
/* engine_restart_output: the session's pipe has messages to send. */
void engine_restart_output(struct engine *e);
/* engine_watch_kept: the socket's thread kept the connection's reading between two
 * receives (pipe/shortcut.h): look now and then whether it still uses it. */
void engine_watch_kept(struct engine *e);
/* engine_fd: the connection fd (for monitor events). */
int engine_fd(const struct engine *e);
/* engine_shortcut_lend: a reference to the connection's shortcut (pipe/shortcut.h)
 * for the socket's end of a pipe made for it and not yet handed over, or NULL (the
 * carrier or the mechanism does not lend; no memory). */
struct pipe_shortcut;
struct pipe_shortcut *engine_shortcut_lend(struct engine *e);
/* engine_output_empty: nothing is queued for the wire (for linger). */
bool engine_output_empty(const struct engine *e);
/* engine_zap_reply: the ZAP handler's reply to this connection's request (n frames,
 * still the caller's). */
void engine_zap_reply(struct engine *e, struct msg *frames, int n);
/* engine_handshake_done: the connection is up and messages flow. */
bool engine_handshake_done(const struct engine *e);

#endif

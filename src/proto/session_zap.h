/*
 * session_zap.h: a session's link to its ZAP handler (RFC 27): the pipe to the socket
 * bound at inproc://zeromq.zap.01 in the session's context, made at the first request
 * and kept for the session's life, and the reply being read from it. The session
 * embeds one and forwards its pipe's events here; what a reply means is the
 * mechanism's business (mech/zap.c), not ours.
 *
 * Threads: the session's I/O thread.
 */
#ifndef ZINC_PROTO_SESSION_ZAP_H
#define ZINC_PROTO_SESSION_ZAP_H

#include <stdbool.h>

#include "core/object.h"
#include "pipe/msg.h"
#include "pipe/pipe.h"

/* A well-formed ZAP reply has 7 frames; one more is kept to tell "too many". */
#define SESSION_ZAP_FRAMES 8

struct session_zap {
	struct pipe *pipe;
	struct msg reply[SESSION_ZAP_FRAMES];
	int parts; /* parts of the reply read so far (the ones past the array are
	              counted and dropped) */
};

/* session_zap_send: sends a request (n frames, taken on success) to the handler,
 * connecting to it first if need be: our end of the pipe belongs to owner and reports
 * to sink / ops. 0, -ECONNREFUSED (no handler bound, or it is going away), -ENOMEM. */
int session_zap_send(struct session_zap *z, struct object *owner, void *sink,
                     const struct pipe_sink_ops *ops, struct msg *frames, int n);
/* session_zap_read_reply: reads what the handler wrote. Returns the frame count (at
 * most SESSION_ZAP_FRAMES) of a whole reply, then held in z->reply until
 * session_zap_clear; 0 when no whole reply is in yet. */
int session_zap_read_reply(struct session_zap *z);
/* session_zap_clear: closes the reply read so far. */
void session_zap_clear(struct session_zap *z);
/* session_zap_end: the session no longer needs the handler. true when a pipe was
 * ended: its terminated callback follows. */
bool session_zap_end(struct session_zap *z);

#endif

/*
 * mechanism.h: a ZMTP security mechanism (RFC 37 section "Security"; NULL, PLAIN of RFC
 * 24, CURVE of RFC 26) as the engine sees it. A mechanism is made per connection once
 * the greetings agree on its name; it produces the handshake commands we send, consumes
 * the ones the peer sends, asks the ZAP handler (RFC 27) through its host when it must,
 * and, for CURVE, wraps and unwraps every message after the handshake. The engine drives
 * it through mechanism_ops and never asks which mechanism it runs.
 *
 * Failure is a state, not only a return value: a failed mechanism says which monitor
 * event reports it (HANDSHAKE_FAILED_PROTOCOL with a ZMQ_PROTOCOL_ERROR_* code,
 * HANDSHAKE_FAILED_AUTH with a ZAP status, HANDSHAKE_FAILED_NO_DETAIL with an errno),
 * and may leave one last command (ERROR) for the engine to write before it closes.
 *
 * Threads: the engine's I/O thread only.
 */
#ifndef ZINC_PROTO_MECH_MECHANISM_H
#define ZINC_PROTO_MECH_MECHANISM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/options.h"
#include "pipe/msg.h"

/* The largest handshake command a mechanism takes (CURVE's INITIATE with 64 KiB of
 * metadata fits): the engine refuses bigger frames until the handshake is over, so an
 * unauthenticated peer holds at most this much of our memory. */
#define MECH_FRAME_MAX (128 * 1024)

enum mech_state {
	MECH_HANDSHAKING,
	MECH_READY,  /* the peer is in: messages flow */
	MECH_FAILED, /* see fail_event / fail_value */
};

/* What the mechanism needs from its engine: a way to ask ZAP. */
struct mech_host {
	/* zap_request: sends a ZAP request (n frames, taken on success) to the handler
	 * bound at inproc://zeromq.zap.01. 0, -ECONNREFUSED when none is bound, or
	 * -ENOMEM. The reply comes back through mechanism_ops.zap_reply. */
	int (*zap_request)(void *host, struct msg *frames, int n);
	void *host;
};

struct mechanism {
	const struct mechanism_ops *ops;
	const struct options *opts; /* the engine's copy, outlives us */
	const char *peer_ip;        /* the ZAP request's Address frame */
	struct mech_host host;
	uint8_t state; /* enum mech_state */
	/* When failed: the monitor event that reports it, and its value. Event 0 is a
	 * quiet end (only DISCONNECTED). */
	int fail_event, fail_value;
	/* The peer's properties (its READY or INITIATE), then ZAP's User-Id and metadata:
	 * attached to every message of the connection. NULL until the handshake is done.
	 */
	struct metadata *meta;
	uint8_t peer_rid_len; /* the peer's Identity property, as sent */
	uint8_t peer_rid[255];
	/* ZAP: a request is out and its reply not in yet. */
	bool zap_waiting;
	bool error_out; /* an ERROR command is queued to go before the close */
	char user_id[256];
	size_t user_id_len;
	struct metadata *zap_meta; /* the reply's metadata, merged into meta */
};

struct mechanism_ops {
	const char *name; /* as in the greeting: "NULL", "PLAIN", "CURVE" */
	/* next: the next handshake command we send, built into *cmd. 0 when cmd holds
	 * one, -EAGAIN when there is none to send now, -ENOMEM (the engine then ends the
	 * connection). A failed mechanism may still give its ERROR command here. */
	int (*next)(struct mechanism *m, struct msg *cmd);
	/* process: one command of the peer, its whole body (name included). 0, or -1
	 * when the mechanism failed on it (state MECH_FAILED), or -ENOMEM. */
	int (*process)(struct mechanism *m, const uint8_t *body, size_t len);
	/* zap_reply: the handler's reply (n frames, still owned by the caller). A
	 * handler that goes away without answering is not reported: the handshake
	 * waits, as libzmq's does. 0, -1 (failed), -ENOMEM. */
	int (*zap_reply)(struct mechanism *m, struct msg *frames, int n);
	/* encode / decode: after the handshake, a message to the wire or from it,
	 * transformed in place. NULL when messages go as they are. 0, -1 (a message
	 * that does not open: failed), or -ENOMEM. */
	int (*encode)(struct mechanism *m, struct msg *msg);
	int (*decode)(struct mechanism *m, struct msg *msg);
	/* error: the ERROR command for the status in fail_value, when the mechanism
	 * writes it its own way (NULL: the RFC's "\x05ERROR", mech_error_command). */
	int (*error)(struct mechanism *m, struct msg *cmd);
	void (*destroy)(struct mechanism *m);
};

/* mechanism_new: the mechanism the options ask for, for one connection. host.zap_request
 * is called later, never from here. 0, -ENOMEM, or -EPROTONOSUPPORT when zinc is built
 * without it (CURVE without libsodium). */
int mechanism_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
                  const struct mech_host *host);
/* mechanism_name: the greeting name of a ZMQ_NULL / ZMQ_PLAIN / ZMQ_CURVE value. */
const char *mechanism_name(int mechanism);
void mechanism_destroy(struct mechanism *m);

/* ---- shared by the mechanisms (mechanism.c, zap.c) ---------------------------- */

/* mech_init: fills the common part. */
void mech_init(struct mechanism *m, const struct mechanism_ops *ops,
               const struct options *opts, const char *peer_ip,
               const struct mech_host *host);
/* mech_fini: frees the common part. */
void mech_fini(struct mechanism *m);
/* mech_fail: the mechanism failed, reported by event with value. Returns -1. */
int mech_fail(struct mechanism *m, int event, int value);
/* mech_protocol_error: mech_fail with HANDSHAKE_FAILED_PROTOCOL. Returns -1. */
int mech_protocol_error(struct mechanism *m, int code);
/* mech_is_command: body is the command `name` (length byte and name). */
bool mech_is_command(const uint8_t *body, size_t len, const char *name);
/* mech_check_structure: libzmq's first check on a command a server handshake reads
 * (CURVE's HELLO and INITIATE, PLAIN's HELLO) and on every CURVE MESSAGE: more than
 * the length byte, and more than the name it announces. 0, or -1 (failed with
 * MALFORMED_COMMAND_UNSPECIFIED). */
int mech_check_structure(struct mechanism *m, const uint8_t *body, size_t len);
/* mech_write_props: our properties (Socket-Type, Identity where the type has one) into
 * buf; the bytes written (buf of at least 512 bytes always has room). */
size_t mech_write_props(const struct mechanism *m, uint8_t *buf, size_t cap);
/* mech_parse_props: the peer's property list: checks its Socket-Type against ours,
 * keeps its Identity, and makes m->meta. 0, -1 (failed: a malformed list or an
 * incompatible peer end quietly, as in libzmq), -ENOMEM. */
int mech_parse_props(struct mechanism *m, const uint8_t *data, size_t len);
/* mech_command: builds a command message: name and the len bytes of data. 0/-ENOMEM. */
int mech_command(struct msg *cmd, const char *name, const void *data, size_t len);
/* mech_error_command: an ERROR command whose reason is the 3-digit ZAP status. */
int mech_error_command(struct msg *cmd, int status);
/* mech_process_error: the peer's ERROR: a 3-digit reason 300..599 fails with
 * HANDSHAKE_FAILED_AUTH and that status, anything else ends quietly. -1 (failed), or
 * -1 with MALFORMED_COMMAND_ERROR when the command is malformed. */
int mech_process_error(struct mechanism *m, const uint8_t *body, size_t len);

/* ZAP (zap.c). */
/* mech_zap_send: sends the request for this connection with the credential frames
 * (ncred of them, copied). 0 when sent (zap_waiting is set), 1 when no handler is bound,
 * -ENOMEM. */
int mech_zap_send(struct mechanism *m, const char *mechanism, const void *const *cred,
                  const size_t *cred_len, int ncred);
/* mech_zap_verdict: what a mechanism does with the handler's answer (n frames): 0 when
 * the peer may go on (status 200); -1 when it failed: a malformed reply (the ZAP
 * protocol error), 300 (quiet) or 400/500 (AUTH, with an ERROR queued for the peer);
 * -ENOMEM. */
int mech_zap_verdict(struct mechanism *m, struct msg *frames, int n);
/* mech_finish_meta: adds ZAP's User-Id and metadata to the peer's properties. 0 or
 * -ENOMEM. */
int mech_finish_meta(struct mechanism *m);

/* The mechanisms. */
int mech_null_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
                  const struct mech_host *host);
int mech_plain_new(struct mechanism **out, const struct options *opts,
                   const char *peer_ip, const struct mech_host *host);
int mech_curve_new(struct mechanism **out, const struct options *opts,
                   const char *peer_ip, const struct mech_host *host);

/* CURVE keys for the API (curve.c). mech_curve_available: built with libsodium.
 * mech_curve_keypair: a fresh key pair; mech_curve_public: the public key of a secret
 * key. 0, -ENOTSUP without libsodium, -EINVAL. */
bool mech_curve_available(void);
int mech_curve_keypair(uint8_t pub[32], uint8_t sec[32]);
int mech_curve_public(uint8_t pub[32], const uint8_t sec[32]);

#endif

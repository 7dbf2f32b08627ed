/*
 * engine_impl.h: the engine's state and its carrier interface, shared by the engine's
 * own files and nobody else (the rest of zinc sees struct engine only through
 * engine.h):
 *
 *   engine.c         the ZMTP engine: the handshake through the mechanism, commands,
 *                    heartbeats, delivery into the session's pipe, the end of a
 *                    connection. It drives a carrier and never asks which one.
 *   engine_stream.c  the stream carrier: ZMTP frames over a byte stream (tcp, ipc), and
 *                    the greeting and frame I/O that the rings carrier reuses for its
 *                    handshake.
 *   engine_raw.c     the raw carrier: ZMQ_STREAM sockets, bytes in and out as they come.
 *   engine_rings.c   the rings carrier: shm://, the handshake over the rendezvous socket,
 *                    then messages (boxed, if the mechanism boxes) through shared rings.
 *
 * A carrier is a `const struct carrier_ops` and a state block that starts with a
 * struct carrier (container_of gets a carrier's own state back). The engine allocates
 * the block from ops->size when it is made, zeroed, and frees it when it is destroyed.
 * A carrier may replace its own ops pointer (the rings do once their memory is set up);
 * the engine always calls through e->carrier->ops.
 *
 * Threads: the engine's I/O thread, only, for everything here.
 */
#ifndef ZINC_PROTO_ENGINE_IMPL_H
#define ZINC_PROTO_ENGINE_IMPL_H

#include <stddef.h>

#include "core/poller.h"
#include "platform/container.h"
#include "platform/net.h" /* ssize_t */
#include "proto/engine.h"
#include "proto/zmtp_codec.h"

#define ENGINE_INBUF  POLLER_READ_BUF /* the most one read takes */
#define ENGINE_IOV    128
#define GREETING_SIZE 64
#define GREETING_SIG  10 /* the signature, sent ahead of the rest */
/* The largest message (frames and headers) the socket's thread writes or reads itself
 * (engine_shortcut.c); a larger one streams through the engine, where its body is
 * referenced, not copied, or read straight into place. */
#define ENGINE_SHORTCUT_BYTES 8192

enum engine_state { ES_GREETING, ES_HANDSHAKE, ES_ACTIVE, ES_DEAD };
enum { TIMER_HANDSHAKE = 1, TIMER_HB_IVL, TIMER_HB_TIMEOUT, TIMER_HB_TTL, TIMER_SC_KEPT };

/* How often the engine looks whether a reading kept by the socket's thread is still
 * used (engine_shortcut_check): a message that arrives while nobody reads (to a socket
 * its thread no longer receives on, or waits on through ZMQ_FD without asking
 * ZMQ_EVENTS) waits up to twice this long. An error or the end of the stream is
 * heard at once (poller_watched). */
#define ENGINE_SC_CHECK_MS 5

struct carrier;

struct engine {
	int fd;
	uint8_t state;
	uint8_t peer_minor; /* ZMTP 3.minor of the peer */
	bool input_stopped;
	bool output_stopped;
	bool has_stash; /* a decoded message waits for room in the pipe */
	bool in_large;  /* the last message read was over ENGINE_SHORTCUT_BYTES */
	bool out_more;  /* the last message pulled had MORE: the next is not a first part
	                 */
	struct poll_timer timer_handshake, timer_hb_ivl, timer_hb_timeout, timer_hb_ttl;
	struct poll_timer timer_sc; /* TIMER_SC_KEPT */
	struct carrier *carrier;    /* how bytes or messages reach the peer */
	size_t write_max;  /* the most bytes one write hands the kernel; 0: no cap */
	size_t queue_room; /* a Unix socket without ZMQ_SNDBUF: the message size the
	                      kernel's send queue holds two of; 0: not ours to grow */
	struct session *session;
	struct poller *poller;
	struct poll_handle *handle;
	struct options opts;
	char *peer_address;
	struct metadata *meta; /* the peer's properties, attached to each message */
	struct metadata_batch meta_batch; /* references to meta taken ahead */
	uint8_t peer_rid_len;             /* the peer's Identity, as sent */
	uint8_t peer_rid[255];
	struct msg stash;
	uint8_t greeting[GREETING_SIZE];
	size_t greeting_have;
	/* The input being decoded, in[in_pos..in_len): in the I/O thread's shared read
	 * buffer while a read is handled; when the handler has to leave some of it (the
	 * pipe filled up) the engine takes that buffer over (in_kept) until it is
	 * decoded. An idle connection holds no read buffer. */
	size_t in_pos, in_len;
	const uint8_t *in;
	uint8_t *in_kept; /* the read buffer taken over, or NULL */
	bool in_rbuf;     /* in is the start of a read buffer (platform/rbuf.h) */
	struct zmtp_decoder dec;
	struct zmtp_encoder enc;
	struct mechanism *mech; /* NULL until the greetings agree */
	/* The writing lent to the socket's thread (engine_shortcut.c), or NULL; sc_idle:
	 * we last lent it (told the shortcut we were idle). */
	struct engine_shortcut *sc;
	bool sc_idle;
	bool sc_lent; /* the socket's pipe end has it (or was offered it) */
};

/* The base of every carrier's state. */
struct carrier {
	const struct carrier_ops *ops;
	struct engine *e;
};

/*
 * A carrier: what varies with how a connection's messages travel. Every member runs in
 * the engine's I/O thread, never blocks, and may end the engine (engine_fail): after a
 * member that returns int gave -1, or after a void member, the caller must not touch
 * the engine unless its own contract says it still exists.
 */
struct carrier_ops {
	const char *name; /* "stream", "raw", "rings" */
	size_t size;      /* the state block, a struct carrier first */
	/* init: at engine_new, before the engine is plugged. 0 or -ENOMEM. Optional. */
	int (*init)(struct carrier *c);
	/* fini: frees what the carrier holds (not the block). Safe after a failed init.
	 * Optional. */
	void (*fini)(struct carrier *c);
	/* plug: the engine watches its fd for POLLIN: start the connection (send the
	 * greeting, or tell the session a raw peer is up). */
	void (*plug)(struct carrier *c);
	/* in_event: the fd is readable, or hung up (also while input is stopped: see
	 * engine_input_held). */
	void (*in_event)(struct carrier *c);
	/* write: moves what is queued (handshake commands, messages from the pipe)
	 * towards the peer as far as it can now. 0, or -1 when the engine is gone (it
	 * failed, or the session ended it once the output drained). */
	int (*write)(struct carrier *c);
	/* restart_output: the pipe has messages again. */
	void (*restart_output)(struct carrier *c);
	/* stop_input: the pipe is full (input_stopped is set): stop reading. */
	void (*stop_input)(struct carrier *c);
	/* resume_input: the pipe took the held-back message and input_stopped is clear:
	 * read on. */
	void (*resume_input)(struct carrier *c);
	/* ready: the mechanism let the peer in and the session knows. 0, or negative to
	 * end the connection. Unused by a carrier without a handshake. */
	int (*ready)(struct carrier *c);
	/* command: a command after the handshake that the engine does not know (name and
	 * data point into the command). 0, or negative (-EPROTO: unknown here too). */
	int (*command)(struct carrier *c, const char *name, size_t nlen,
	               const uint8_t *data, size_t len);
	/* output_empty: nothing is queued for the peer (for linger). */
	bool (*output_empty)(const struct carrier *c);
	/* ended: the connection is over; the session hears it next. Optional. */
	void (*ended)(struct carrier *c);
	/* heartbeats: ZMTP PING/PONG run over this carrier after the handshake. */
	bool heartbeats;
	/* lends: its fd carries ZMTP frames that the socket's thread may write and read
	 * between the engine's turns (engine_shortcut.c). */
	bool lends;
};

extern const struct carrier_ops carrier_stream; /* engine_stream.c */
extern const struct carrier_ops carrier_raw;    /* engine_raw.c */
extern const struct carrier_ops carrier_rings;  /* engine_rings.c */

/* ---- engine.c, for the carriers ------------------------------------------------- */

void engine_fail(struct engine *e, enum engine_end why, int protocol_error);
/* engine_fail_rc: engine_fail with the end and monitor value an error code maps to. */
void engine_fail_rc(struct engine *e, int rc);
/* engine_deliver: hands a decoded frame on (a command to the engine, a message to the
 * pipe, unboxed first when the mechanism boxes). 0; -EAGAIN when the pipe is full (the
 * message is held back and input stopped); another negative value to end the
 * connection. m is the engine's in every case. */
int engine_deliver(struct engine *e, struct msg *m);
/* engine_encode: a message (or command) for the peer, boxed when the mechanism boxes.
 * 0, -EBADMSG (the mechanism failed), -ENOMEM; m is unchanged on failure. */
int engine_encode(struct engine *e, struct msg *m);
/* engine_boxes: the mechanism transforms each message after the handshake. */
bool engine_boxes(const struct engine *e);
/* engine_write: the carrier's write: 0, or -1 when the engine is gone. */
int engine_write(struct engine *e);
/* engine_stop_input: the pipe is full: holds input until engine_restart_input. */
void engine_stop_input(struct engine *e);
/* engine_input_held: true (and the fd's hang-up no longer reported) when input is
 * stopped: a stream carrier's in_event then returns at once. */
bool engine_input_held(struct engine *e);
/* engine_start_output / engine_stop_output: POLLOUT on and off. */
void engine_start_output(struct engine *e);
void engine_stop_output(struct engine *e);
/* engine_output_idle: nothing more to write: stops POLLOUT and tells the session. 0,
 * or -1 when the session ended the engine (it waited for this). */
int engine_output_idle(struct engine *e);
/* engine_handshake_begin: arms ZMQ_HANDSHAKE_IVL (a carrier that handshakes). */
void engine_handshake_begin(struct engine *e);
/* engine_read_buffer: where a carrier reads next: the I/O thread's shared buffer of
 * ENGINE_INBUF bytes (poller_read_buffer), which keeps what was read only until the
 * handler returns. NULL when it cannot be allocated. */
uint8_t *engine_read_buffer(struct engine *e);
/* engine_keep_input: input left undecoded (the pipe filled up) stays the engine's: it
 * takes the thread's read buffer over, and the next handler's read gets another. 0, or
 * -ENOMEM when the input is not in the thread's buffer (not expected). */
int engine_keep_input(struct engine *e);
/* engine_input_done: all input is decoded: a buffer taken over goes back to the
 * thread. */
void engine_input_done(struct engine *e);
/* engine_start_mechanism: the greetings agree: the mechanism takes over. 0 or
 * negative to end the connection. */
int engine_start_mechanism(struct engine *e);

/* ---- engine_shortcut.c, for the stream carrier and the engine ------------------ */

/* engine_shortcut_offer: at the carrier's ready: lends the connection's writing and
 * reading to the socket's pipe end (pipe/shortcut.h) by CMD_PIPE_SHORTCUT, unless
 * the pipe made for this connection took it already (engine_shortcut_lend, engine.h).
 * Without memory, or for a mechanism that boxes, nothing is lent. */
void engine_shortcut_offer(struct engine *e);
/* engine_shortcut_reclaim: e->sc set, before the engine writes: takes the writing
 * back and writes what the socket's thread left. 1 done, 0 the rest waits for
 * POLLOUT, -1 the engine failed. */
int engine_shortcut_reclaim(struct engine *e);
/* engine_shortcut_idle: e->sc set, everything written: lends the writing again. */
void engine_shortcut_idle(struct engine *e);
/* engine_shortcut_empty: e->sc set: nothing the socket's thread left waits. */
bool engine_shortcut_empty(struct engine *e);
/* engine_shortcut_in_begin: e->sc set, at an input event: false when the socket's
 * thread has borrowed the reading (the event is stale: nothing to do). */
bool engine_shortcut_in_begin(struct engine *e);
/* engine_shortcut_in_end: e->sc set, after input was handled: whether the engine is
 * between messages, so that the reading may be borrowed. */
void engine_shortcut_in_end(struct engine *e, bool between_messages);
/* engine_shortcut_check: e->sc set, TIMER_SC_KEPT: takes back a reading kept by the
 * socket's thread if no receive began since the last check; true to look again. */
bool engine_shortcut_check(struct engine *e);
/* engine_shortcut_end: e->sc set, before the fd closes and its poll handle goes: no
 * more direct writes or reads. */
void engine_shortcut_end(struct engine *e);

/* ---- engine_stream.c, for the carriers that speak ZMTP over their fd ------------ */

/* engine_stream_plug: queues our greeting's signature, arms the handshake timer and
 * writes. */
void engine_stream_plug(struct carrier *c);
/* engine_stream_send: writes the encoder's frames to the fd; with pull, refills it
 * from the pipe once the handshake is done. 1 when everything went out and nothing
 * more is to be had, 0 when the rest waits for POLLOUT, -1 when the engine is gone. */
int engine_stream_send(struct engine *e, bool pull);
/* engine_stream_flush_once: one best-effort write of what the encoder holds, before a
 * refusal closes the connection. */
void engine_stream_flush_once(struct engine *e);
/* engine_stream_consume: decodes n bytes just read into buf, the read buffer (n 0:
 * end of stream; negative: the read's error). 0, -EAGAIN (the pipe filled up), or
 * negative to end. */
int engine_stream_consume(struct engine *e, const uint8_t *buf, ssize_t n);
/* engine_stream_input_end: after an input step that returned rc: ends the connection
 * on an error, else keeps the input left over (engine_keep_input), flushes the pipe
 * and writes what the input made us queue. */
void engine_stream_input_end(struct engine *e, int rc);
/* engine_stream_resume: resume_input of a stream carrier: decodes what the buffer
 * still holds and watches POLLIN again. */
void engine_stream_resume(struct carrier *c);
/* engine_stream_stop_input / engine_stream_restart_output / engine_stream_output_empty:
 * those members of a stream carrier. */
void engine_stream_stop_input(struct carrier *c);
void engine_stream_restart_output(struct carrier *c);
bool engine_stream_output_empty(const struct carrier *c);

#endif

/*
 * engine_stream.c: the stream carrier (engine_impl.h): ZMTP 3.x over a connected byte
 * stream (a tcp or ipc fd). It sends and reads the greeting, then moves frames: bytes
 * are read into the engine's buffer (or, for the rest of a large body, straight into
 * the message being built) and decoded, each frame going to engine_deliver, with the
 * pipe flushed once per read so the socket is woken once per batch; messages pulled
 * from the pipe are encoded into the encoder's batch (large bodies referenced, not
 * copied) and written with one writev. When nothing is left the carrier stops watching
 * POLLOUT until the pipe has messages again.
 *
 * The rings carrier runs its handshake over its rendezvous socket with these same
 * functions (the engine_stream_* ones).
 *
 * Threads: the engine's I/O thread.
 */
#include "proto/engine_impl.h"
#include "proto/mech/mechanism.h"
#include "proto/session.h"
#include "core/socket_type.h"
#include "proto/zmtp_codec.h"
#include "platform/net.h"
#include "platform/rbuf.h"
#include "zmq.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/* The stream's carrier state: after a large body read straight into its message, the
 * next read into the buffer is short (see stream_read_len). */
struct stream_carrier {
	struct carrier c;
	bool after_direct;
};

/* Greeting. */

/* stream_queue_greeting: our 64 bytes: signature, version 3.1, the configured
 * mechanism and the as-server flag. As libzmq, the 10-byte signature goes first
 * (`part` 0) and the rest (`part` 1) once the peer's signature shows it speaks ZMTP:
 * a raw peer (a ZMQ_STREAM) reads the signature on its own. */
static void
stream_queue_greeting(struct engine *e, int part)
{
	uint8_t g[GREETING_SIZE];
	memset(g, 0, sizeof g);
	g[0] = 0xff;
	g[8] = 1; /* padding: a length of 1, as libzmq sends for ZMTP 1.0 peers */
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 1;
	const char *mech = mechanism_name(e->opts.mechanism);
	memcpy(g + 12, mech, strlen(mech));
	g[32] = e->opts.as_server ? 1 : 0;
	/* Before the handshake the encoder holds at most the signature: room. */
	if (part == 0)
		(void)zmtp_encoder_raw(&e->enc, g, GREETING_SIG);
	else
		(void)zmtp_encoder_raw(&e->enc, g + GREETING_SIG,
		                       sizeof g - GREETING_SIG);
}

static int
stream_check_greeting(struct engine *e)
{
	const uint8_t *g = e->greeting;
	if (g[10] < 3)
		return -EPROTO; /* ZMTP 1.0 / 2.0 peers are not spoken */
	e->peer_minor = g[10] > 3 ? 1 : g[11];
	/* The peer must speak exactly the mechanism our options ask for: a server that
	 * asks for PLAIN or CURVE never falls back to NULL (fail closed). The peer's
	 * as-server flag is not checked, as in libzmq. */
	char want[20] = {0};
	const char *mech = mechanism_name(e->opts.mechanism);
	memcpy(want, mech, strlen(mech));
	if (memcmp(g + 12, want, sizeof want) != 0)
		return -EPROTONOSUPPORT;
	return 0;
}

void
engine_stream_flush_once(struct engine *e)
{
	struct iovec iov[ENGINE_IOV];
	int n = zmtp_encoder_iov(&e->enc, iov, ENGINE_IOV);
	ssize_t w = n > 0 ? zn_writev(e->fd, iov, n) : 0;
	if (w > 0)
		zmtp_encoder_written(&e->enc, (size_t)w);
}

/* stream_read_greeting: consumes greeting bytes. 0 (need more or done), or negative. */
static int
stream_read_greeting(struct engine *e)
{
	while (e->greeting_have < GREETING_SIZE && e->in_pos < e->in_len) {
		uint8_t b = e->in[e->in_pos++];
		size_t i = e->greeting_have++;
		e->greeting[i] = b;
		/* Reject a non-ZMTP peer as soon as its first or tenth byte shows it, and
		 * a ZMTP 1.0/2.0 peer at its version byte, rather than wait for 64 bytes
		 * it will never send. */
		if ((i == 0 && b != 0xff) || (i == 9 && !(b & 1)) || (i == 10 && b < 3))
			return -EPROTO;
		if (i == GREETING_SIG - 1) {
			stream_queue_greeting(e, 1);
			engine_start_output(e);
		}
	}
	if (e->greeting_have < GREETING_SIZE)
		return 0;
	int rc = stream_check_greeting(e);
	if (rc < 0) {
		/* Our greeting, queued in this same read, before we refuse the peer: it
		 * still learns what we speak (a mechanism mismatch is reported on both
		 * sides). */
		engine_stream_flush_once(e);
		return rc;
	}
	return engine_start_mechanism(e);
}

void
engine_stream_plug(struct carrier *c)
{
	struct engine *e = c->e;
	e->write_max = zn_stream_write_limit(e->fd);
	e->queue_room = e->opts.sndbuf < 0 ? zn_stream_queue_room(e->fd) : 0;
	stream_queue_greeting(e, 0);
	poller_set_pollout(e->poller, e->handle);
	engine_handshake_begin(e);
	/* Our greeting goes out now, before we read the peer's: a peer we refuse
	 * (a mechanism mismatch) still learns what we speak and can report it. */
	(void)engine_write(e);
}

/* Output. */

/* stream_subscription: a SUB/XSUB's subscription message (first byte 1 or 0) goes to a
 * ZMTP 3.1 peer as a SUBSCRIBE / CANCEL command; a 3.0 peer gets the message itself. */
static void
stream_subscription(struct engine *e, struct msg *m)
{
	size_t size = msg_size(m);
	const uint8_t *d = msg_data(m);
	if (e->peer_minor < 1 || size == 0 || d[0] > 1 || (m->flags & MSGF_MORE))
		return;
	struct msg cmd;
	if (zmtp_command_build(&cmd, d[0] ? "SUBSCRIBE" : "CANCEL", d + 1, size - 1) < 0)
		return; /* no memory: the message form still works with libzmq */
	msg_close(m);
	msg_move(m, &cmd);
}

/* What the encoder may hold before the engine stops pulling. A message taken from the
 * pipe no longer counts against ZMQ_SNDHWM, so the engine holds about what one writev
 * hands the kernel, as libzmq's one-message encoder does: large bodies are referenced,
 * not copied, and without this bound 16 of them (1 MiB each: 16 MiB) could sit here
 * past a high-water mark of 1 (libzmq's test_router_mandatory_hwm sent 80 messages of
 * 64 KiB before EAGAIN with ZMQ_SNDHWM 1; it allows 9). */
#define STREAM_FILL_MAX (64 * 1024)

/* The largest send queue a Unix socket asks the kernel for: two messages of this. */
#define STREAM_QUEUE_MAX (4 * 1024 * 1024)

/*
 * stream_grow_queue: a Unix socket's send queue (208 KiB by default on Linux) took a
 * 1 MiB message in five pieces, each a wait for POLLOUT here and a sleep and wake-up
 * of the reader: 1 MiB PUSH/PULL over ipc ran at 2.5-2.8 k msg/s (libzmq 2.2-2.5 k)
 * with a third of both cores idle; with a queue that holds two messages, 3.1-3.5 k
 * (this thread waits for POLLOUT 0.4 times a message against 2-3; perf/local_thr and
 * remote_thr, 3000 messages, 4 runs alternating). A bigger queue also holds more
 * beyond ZMQ_SNDHWM, so only a connection that meets a message its queue cannot hold
 * twice grows it, to hold two, up to STREAM_QUEUE_MAX. libzmq leaves Unix sockets at
 * the default and ignores ZMQ_SNDBUF on them; a socket with ZMQ_SNDBUF set is not
 * grown here either.
 */
static void
stream_grow_queue(struct engine *e, size_t size)
{
	size_t want = size < STREAM_QUEUE_MAX ? size : STREAM_QUEUE_MAX;
	size_t room = zn_stream_queue_grow(e->fd, want);
	/* At the cap, or capped by the system (net.core.wmem_max): ask no more. */
	e->queue_room = room >= want && want < STREAM_QUEUE_MAX ? room : 0;
}

/* stream_fill: pulls messages from the pipe while the encoder has room. 0, or what
 * engine_encode failed with. */
static int
stream_fill(struct engine *e)
{
	if (e->state != ES_ACTIVE)
		return 0;
	bool subs = e->opts.type->subscribes;
	struct msg m;
	while (zmtp_encoder_space(&e->enc) &&
	       zmtp_encoder_pending(&e->enc) < STREAM_FILL_MAX) {
		msg_init(&m);
		if (session_pull_msg(e->session, &m) < 0)
			break;
		if (e->queue_room && msg_size(&m) > e->queue_room)
			stream_grow_queue(e, msg_size(&m));
		if (subs && !e->out_more)
			stream_subscription(e, &m);
		e->out_more = (m.flags & MSGF_MORE) != 0;
		int rc = engine_encode(e, &m);
		if (rc < 0) {
			msg_close(&m);
			return rc;
		}
		zmtp_encoder_load(&e->enc, &m);
	}
	return 0;
}

/* stream_clip: trims iov[0..n) to at most max bytes (0: no limit); the iovecs kept,
 * and their bytes in *total.
 *
 * No write is larger than zn_stream_write_limit says. tcp: an experiment capping each
 * write at N bytes, 100 k x 64 KiB over loopback (local_thr / remote_thr, msg/s): no
 * cap (one 65545-byte write a message) 24-28 k; 32768 94 k; 49152 106 k; 65483 96-112
 * k; 65536 24 k; 130966 (two whole segments) 26 k; libzmq 38-47 k. A write that makes
 * more than one segment is slow, whether the second is whole or 53 bytes: the sending
 * I/O thread's time went in the kernel with interrupts off under the push of the
 * second one. With 65483, 1 MiB runs at 4.1-4.8 k msg/s (libzmq 4.3-4.7 k) and its
 * latency is libzmq's (175-207 us against 161-210; 396-592 before), provided the rest
 * of a clipped batch waits for POLLOUT: written at once it doubled that latency. ipc,
 * the same runs over a Unix socket with the rest written at once: no cap 64 KiB 13.8-
 * 14.4 k, 1 MiB 2.1-2.9 k; 16384 38-49 k, 2.6 k; 32768 45-56 k, 2.7-2.9 k (libzmq
 * 14.5-15.3 k, 1.3-3.3 k); with the rest after POLLOUT instead, 1 MiB fell to 0.8-1.5
 * k. tcp's rest waited for POLLOUT too until the seventeenth round, when writing it at
 * once measured better in every cell (ARCHITECTURE.md; the wait was kept for 1 MiB
 * latency, which it now made worse: 175 us against 163 pinned, libzmq 165). A batch
 * is at most 16 writes a turn (engine_stream_send), so one connection's large
 * message still lets the I/O thread's others in every 1 MiB. */
static int
stream_clip(struct iovec *iov, int n, size_t max, size_t *total)
{
	size_t sum = 0;
	for (int i = 0; i < n; i++) {
		if (max > 0 && sum + iov[i].iov_len >= max) {
			iov[i].iov_len = max - sum;
			*total = max;
			return i + 1;
		}
		sum += iov[i].iov_len;
	}
	*total = sum;
	return n;
}

int
engine_stream_send(struct engine *e, bool pull)
{
	struct iovec iov[ENGINE_IOV];
	if (e->sc) {
		int rc = engine_shortcut_reclaim(e);
		if (rc <= 0)
			return rc;
	}
	for (int round = 0; round < 16; round++) {
		int frc = pull ? stream_fill(e) : 0;
		if (frc < 0) {
			engine_fail_rc(e, frc);
			return -1;
		}
		int n = zmtp_encoder_iov(&e->enc, iov, ENGINE_IOV);
		if (n == 0)
			return 1;
		size_t total = 0;
		n = stream_clip(iov, n, e->write_max, &total);
		ssize_t w = zn_writev(e->fd, iov, n);
		if (w == -EAGAIN)
			return 0;
		if (w < 0) {
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		zmtp_encoder_written(&e->enc, (size_t)w);
		if ((size_t)w < total)
			return 0; /* the kernel is full: wait for POLLOUT */
		if (!zmtp_encoder_empty(&e->enc))
			continue; /* clipped: the rest now (stream_clip) */
		if (pull)
			return 0; /* see stream_write */
	}
	return 0;
}

/* stream_write: one batch per POLLOUT. After a batch went out whole the carrier keeps
 * POLLOUT and returns to the poller rather than refill at once; it stops watching
 * only when a refill finds the pipe empty. A sender that writes small messages as
 * fast as this thread sends them would otherwise be caught up with after a few dozen
 * messages: the pipe found empty, the reader marked asleep, and the sender's next
 * message paying an eventfd write and this thread a wake-up (one every ~27 messages
 * of 64 B over ipc, 2.3x libzmq's CPU per message). The turn through the poller, a
 * system call that returns at once, lets the sender queue the next batch. */
static int
stream_write(struct carrier *c)
{
	int rc = engine_stream_send(c->e, true);
	return rc == 1 ? engine_output_idle(c->e) : rc;
}

void
engine_stream_restart_output(struct carrier *c)
{
	engine_start_output(c->e);
	/* Write now rather than after the next poll: one wake-up less per message. */
	(void)engine_write(c->e);
}

bool
engine_stream_output_empty(const struct carrier *c)
{
	struct engine *e = c->e;
	return zmtp_encoder_empty(&e->enc) && (!e->sc || engine_shortcut_empty(e));
}

/* Input. */

/* A read at least this long lends its buffer to the messages decoded from it
 * (zmtp_decoder_slice_from): a stream of small messages, each of which would otherwise
 * be copied into a body of its own. A shorter one (a request, a message now and then)
 * is copied, so that one small message does not keep a whole read buffer alive. */
#define STREAM_SLICE_MIN (16 * 1024)
/* Read buffers alive in the process beyond which reads are copied out again: 16 MiB
 * at most kept alive by slices. A program that keeps a message here and there from
 * many long reads (the last value of each of many topics) would otherwise keep a
 * whole 64 KiB read buffer for each; a stream read as it comes needs a handful. */
#define STREAM_SLICE_BUFFERS 256

/* stream_slicing: whether the input's frames may point into its buffer: it is one,
 * long enough, no mechanism rewrites bodies in place (CURVE decrypts into them), and
 * slices do not keep too much alive already. */
static bool
stream_slicing(const struct engine *e)
{
	return e->in_rbuf && e->in_len >= STREAM_SLICE_MIN &&
	       !(e->mech && e->mech->ops->decode) && rbuf_live() < STREAM_SLICE_BUFFERS;
}

static int stream_decode(struct engine *e);

/* stream_process_input: decodes what the input holds. 0 when all is consumed (the
 * kept copy, if any, is freed then) or the pipe filled up; negative to end the
 * connection. */
static int
stream_process_input(struct engine *e)
{
	bool slicing = stream_slicing(e);
	if (slicing)
		zmtp_decoder_slice_from(&e->dec,
		                        rbuf_of((unsigned char *)(uintptr_t)e->in));
	int rc = stream_decode(e);
	if (slicing)
		zmtp_decoder_slice_end(&e->dec);
	if (rc == 0 && e->in_pos == e->in_len)
		engine_input_done(e);
	return rc;
}

/* stream_decode: stream_process_input's loop. */
static int
stream_decode(struct engine *e)
{
	while (e->in_pos < e->in_len && !e->input_stopped) {
		if (e->state == ES_GREETING) {
			int rc = stream_read_greeting(e);
			if (rc < 0)
				return rc;
			continue;
		}
		size_t used = 0;
		struct msg m;
		msg_init(&m);
		int rc = zmtp_decoder_feed(&e->dec, e->in + e->in_pos,
		                           e->in_len - e->in_pos, &used, &m);
		e->in_pos += used;
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (!(m.flags & MSGF_COMMAND))
				e->in_large = msg_size(&m) > ENGINE_SHORTCUT_BYTES;
			rc = engine_deliver(e, &m);
			if (rc < 0 && rc != -EAGAIN)
				return rc;
		}
	}
	return 0;
}

int
engine_stream_consume(struct engine *e, const uint8_t *buf, ssize_t n)
{
	if (n <= 0)
		return n == 0 ? -EPIPE : (int)n;
	e->in = buf;
	e->in_rbuf = poller_holds_read_buffer(e->poller, buf);
	e->in_pos = 0;
	e->in_len = (size_t)n;
	return stream_process_input(e);
}

/* stream_between_messages: the engine holds no part of a message read (nothing
 * undecoded or held back, no frame or message half done): the socket's thread may
 * borrow the reading (engine_shortcut.c). */
static bool
stream_between_messages(struct engine *e)
{
	/* Heartbeats: each message re-arms their timers (engine_deliver), which a
	 * message read by the socket's thread would not. After a large message the
	 * next is likely large too, which the socket's thread would only hand back:
	 * a wake-up for nothing (tcp 64 KiB latency 0.86 of libzmq's with it). */
	return e->state == ES_ACTIVE && !e->input_stopped && !e->has_stash &&
	       e->in_pos >= e->in_len && !e->in_kept && zmtp_decoder_between(&e->dec) &&
	       session_in_whole(e->session) && e->opts.heartbeat_ivl <= 0 &&
	       !e->timer_hb_ttl.armed && !e->in_large;
}

/* stream_input_done: the end of an input step that left the engine alive. */
static void
stream_input_done(struct engine *e)
{
	if (e->sc)
		engine_shortcut_in_end(e, stream_between_messages(e));
}

void
engine_stream_input_end(struct engine *e, int rc)
{
	if (rc == -EAGAIN)
		rc = 0; /* the pipe is full: what came before is delivered */
	if (rc == 0)
		rc = engine_keep_input(e);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return;
	}
	if (e->state == ES_ACTIVE)
		session_flush(e->session);
	/* After the flush: a receive that then finds the pipe empty may borrow. */
	stream_input_done(e);
	/* The rest of our greeting, a READY or a PONG we may have queued. Only then:
	 * with nothing queued, an idle engine would take its writing back from the
	 * socket's thread (engine_shortcut.c) for nothing, just as that thread answers
	 * the message this read delivered. */
	if (e->state != ES_DEAD && (!e->sc || !zmtp_encoder_empty(&e->enc)))
		(void)engine_write(e);
}

/* stream_read_len: how much to read into the buffer. After a large body came straight
 * into its message, the next frame is likely large too: a full buffer would bring its
 * header and up to 64 KiB of its body, all copied again into the message; a short read
 * brings the header and copies at most ZMTP_DIRECT_MIN bytes, the rest of the body
 * then comes straight in. Small frames that follow get full reads again at once. */
static size_t
stream_read_len(struct carrier *c)
{
	struct stream_carrier *sc = container_of(c, struct stream_carrier, c);
	if (!sc->after_direct)
		return ENGINE_INBUF;
	sc->after_direct = false;
	return ZMTP_DIRECT_MIN;
}

/* stream_read_direct: reads the rest of a large body straight into its message. 1 when
 * it did, 0 when there is no such body, negative on error or EOF (-EPIPE). */
static int
stream_read_direct(struct carrier *c)
{
	struct engine *e = c->e;
	uint8_t *buf;
	size_t len;
	if (e->state != ES_ACTIVE || e->in_pos < e->in_len ||
	    !zmtp_decoder_direct(&e->dec, &buf, &len))
		return 0;
	ssize_t n = zn_read(e->fd, buf, len);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return (int)n;
	struct msg m;
	msg_init(&m);
	int rc = zmtp_decoder_direct_done(&e->dec, (size_t)n, &m);
	if (rc == 1) {
		container_of(c, struct stream_carrier, c)->after_direct = true;
		e->in_large = true;
		rc = engine_deliver(e, &m);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	return 1;
}

static void
stream_in_event(struct carrier *c)
{
	struct engine *e = c->e;
	if (e->sc && !engine_shortcut_in_begin(e))
		return;
	if (engine_input_held(e))
		return;
	int rc = stream_read_direct(c);
	if (rc == 0) {
		uint8_t *buf = engine_read_buffer(e);
		ssize_t n = buf ? zn_read(e->fd, buf, stream_read_len(c)) : -ENOMEM;
		if (n == -EAGAIN) {
			stream_input_done(e);
			return;
		}
		rc = engine_stream_consume(e, buf, n);
	}
	engine_stream_input_end(e, rc);
}

void
engine_stream_stop_input(struct carrier *c)
{
	struct engine *e = c->e;
	if (e->handle)
		poller_reset_pollin(e->poller, e->handle);
}

void
engine_stream_resume(struct carrier *c)
{
	struct engine *e = c->e;
	int rc = stream_process_input(e);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return;
	}
	session_flush(e->session);
	stream_input_done(e);
	if (!e->input_stopped && e->handle) {
		poller_set_pollin(e->poller, e->handle);
		poller_resume(e->poller, e->handle);
	}
}

/* stream_ready: messages may already wait in the pipe (a connect before the
 * handshake). */
static int
stream_ready(struct carrier *c)
{
	engine_shortcut_offer(c->e);
	engine_start_output(c->e);
	return 0;
}

const struct carrier_ops carrier_stream = {
        .name = "stream",
        .size = sizeof(struct stream_carrier),
        .plug = engine_stream_plug,
        .in_event = stream_in_event,
        .write = stream_write,
        .restart_output = engine_stream_restart_output,
        .stop_input = engine_stream_stop_input,
        .resume_input = engine_stream_resume,
        .ready = stream_ready,
        .output_empty = engine_stream_output_empty,
        .heartbeats = true,
        .lends = true,
};

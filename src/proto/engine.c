/*
 * engine.c: see engine.h.
 *
 * Input: bytes are read into a buffer (or, for the rest of a large body, straight into
 * the message being built) and decoded; each data message is pushed into the session's
 * pipe, and the pipe is flushed once per read, so the socket is woken once per batch.
 * When the pipe is full the engine keeps the message, stops reading and resumes on
 * engine_restart_input.
 *
 * Output: messages are pulled from the pipe until the encoder's batch is full, then
 * written with one writev; when nothing is left the engine stops watching POLLOUT
 * until engine_restart_output.
 */
#include "proto/engine_impl.h"
#include "proto/mech/mechanism.h"
#include "proto/session.h"
#include "core/socket_type.h"
#include "proto/zmtp_codec.h"
#include "platform/alloc.h"
#include "platform/net.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

static const struct poll_handler_ops engine_handler;

static int engine_process_input(struct engine *e);
static int engine_write(struct engine *e);
static void engine_raw_notify(struct engine *e);

int
engine_new(struct engine **out, int fd, const struct options *opts,
           const char *peer_address, bool shm)
{
	struct engine *e = zn_calloc(1, sizeof *e);
	size_t plen = peer_address ? strlen(peer_address) + 1 : 1;
	char *peer = zn_malloc(plen);
	uint8_t *inbuf = zn_malloc(ENGINE_INBUF);
	if (!e || !peer || !inbuf) {
		zn_free(e);
		zn_free(peer);
		zn_free(inbuf);
		zn_close_fd(fd);
		return -ENOMEM;
	}
	memcpy(peer, peer_address ? peer_address : "", plen);
	e->fd = fd;
	e->opts = *opts;
	e->peer_address = peer;
	e->inbuf = inbuf;
	e->state = ES_GREETING;
	e->raw = opts->type->raw;
	e->shm = shm;
	msg_init(&e->stash);
	msg_init(&e->raw_out);
	/* Until the handshake ends a frame is at most a handshake command: a stranger
	 * cannot make us hold more (CVE-2020-15166); the handshake's end lifts it. */
	int64_t limit = opts->maxmsgsize;
	if (limit < 0 || limit > MECH_FRAME_MAX)
		limit = MECH_FRAME_MAX;
	zmtp_decoder_init(&e->dec, limit);
	zmtp_encoder_init(&e->enc);
	*out = e;
	return 0;
}

static void
engine_add_timer(struct engine *e, int id, int ms, struct poll_timer *t)
{
	poller_arm_timer(e->poller, t, ms, &engine_handler, e, id);
}

static void
engine_cancel_timer(struct engine *e, int id, struct poll_timer *t)
{
	(void)id; /* the timer says which it is */
	if (poll_timer_armed(t))
		poller_cancel_timer(e->poller, t);
}

/* engine_queue_greeting: our 64 bytes: signature, version 3.1, the configured
 * mechanism and the as-server flag. As libzmq, the 10-byte signature goes first
 * (`part` 0) and the rest (`part` 1) once the peer's signature shows it speaks ZMTP:
 * a raw peer (a ZMQ_STREAM) reads the signature on its own. */
static void
engine_queue_greeting(struct engine *e, int part)
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

/* engine_raw_meta: a ZMQ_STREAM connection's metadata, its Peer-Address, which its
 * messages (notifications included) carry as libzmq's do. 0 or -ENOMEM. */
static int
engine_raw_meta(struct engine *e)
{
	e->meta = metadata_new(1);
	if (!e->meta)
		return -ENOMEM;
	if (e->peer_address[0] && metadata_add(e->meta, "Peer-Address", e->peer_address,
	                                       strlen(e->peer_address)) < 0)
		return -ENOMEM; /* engine_destroy releases e->meta */
	return 0;
}

void
engine_plug(struct engine *e, struct session *s, struct poller *p)
{
	e->session = s;
	e->poller = p;
	if (poller_add_fd(p, e->fd, &engine_handler, e, &e->handle) < 0) {
		e->handle = NULL;
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	poller_set_pollin(p, e->handle);
	if (e->raw) {
		/* No greeting, no handshake: the connection is the peer. */
		if (engine_raw_meta(e) < 0) {
			engine_fail(e, ENGINE_END_NOMEM, 0);
			return;
		}
		e->state = ES_ACTIVE;
		/* POLLOUT once: the first (empty) pull marks the pipe's reader asleep,
		 * so the socket's first message wakes us. */
		poller_set_pollout(p, e->handle);
		if (session_engine_ready(s, NULL, 0) < 0) {
			engine_fail(e, ENGINE_END_NOMEM, 0);
			return;
		}
		if (e->opts.stream_notify)
			engine_raw_notify(e);
		return;
	}
	engine_queue_greeting(e, 0);
	poller_set_pollout(p, e->handle);
	if (e->opts.handshake_ivl > 0)
		engine_add_timer(e, TIMER_HANDSHAKE, e->opts.handshake_ivl,
		                 &e->timer_handshake);
	/* Our greeting goes out now, before we read the peer's: a peer we refuse
	 * (a mechanism mismatch) still learns what we speak and can report it. */
	(void)engine_write(e);
}

void
engine_destroy(struct engine *e)
{
	if (e->poller) {
		engine_cancel_timer(e, TIMER_HANDSHAKE, &e->timer_handshake);
		engine_cancel_timer(e, TIMER_HB_IVL, &e->timer_hb_ivl);
		engine_cancel_timer(e, TIMER_HB_TIMEOUT, &e->timer_hb_timeout);
		engine_cancel_timer(e, TIMER_HB_TTL, &e->timer_hb_ttl);
		if (e->handle)
			poller_rm_fd(e->poller, e->handle);
	}
	engine_shm_destroy(e);
	mechanism_destroy(e->mech);
	zn_close_fd(e->fd);
	msg_close(&e->stash);
	msg_close(&e->raw_out);
	zmtp_decoder_fini(&e->dec);
	zmtp_encoder_fini(&e->enc);
	if (e->meta)
		metadata_rele(e->meta);
	zn_free(e->inbuf);
	zn_free(e->peer_address);
	zn_free(e);
}

int
engine_fd(const struct engine *e)
{
	return e->fd;
}

bool
engine_output_empty(const struct engine *e)
{
	if (e->raw)
		return !e->raw_has;
	if (engine_shm_active(e))
		return zmtp_encoder_empty(&e->enc) && engine_shm_output_empty(e);
	return zmtp_encoder_empty(&e->enc);
}

bool
engine_handshake_done(const struct engine *e)
{
	return e->state == ES_ACTIVE;
}

/* engine_raw_notify: ZMQ_STREAM's connect / disconnect notification, an empty
 * message from the peer. Dropped if the pipe is full (as libzmq). */
static void
engine_raw_notify(struct engine *e)
{
	struct msg m;
	msg_init(&m);
	msg_set_metadata(&m, e->meta);
	if (session_push_msg(e->session, &m) == 0)
		session_flush(e->session);
	else
		msg_close(&m);
}

/* engine_fail: the connection is over. The session destroys the engine: nothing may
 * touch e after this returns. */
void
engine_fail(struct engine *e, enum engine_end why, int protocol_error)
{
	bool handshaking = e->state != ES_ACTIVE;
	if (e->raw && !handshaking && e->opts.stream_notify)
		engine_raw_notify(e); /* ZMQ_STREAM: an empty message says "gone" */
	e->state = ES_DEAD;
	session_engine_failed(e->session, why, handshaking, protocol_error);
}

/* Output. */

static void
engine_start_output(struct engine *e)
{
	if (e->output_stopped && e->handle) {
		e->output_stopped = false;
		poller_set_pollout(e->poller, e->handle);
	}
}

/* engine_encode: after the handshake, the mechanism wraps each message (CURVE boxes);
 * 0, or -EBADMSG when it failed (see engine_end_code), -ENOMEM. */
static int
engine_encode(struct engine *e, struct msg *m)
{
	if (e->state != ES_ACTIVE || !e->mech || !e->mech->ops->encode)
		return 0;
	int rc = e->mech->ops->encode(e->mech, m);
	return rc == -1 ? -EBADMSG : rc;
}

/* engine_queue_command: encodes a command. 0, or -ENOMEM / -EBADMSG when it could not
 * be encoded (a CURVE box: no memory, or the nonces ran out): the caller ends the
 * connection, since a peer that waits for a PONG must not be left hanging. */
static int
engine_queue_command(struct engine *e, const char *name, const void *data, size_t len)
{
	struct msg m;
	int rc = zmtp_command_build(&m, name, data, len);
	if (rc < 0)
		return rc;
	if (!zmtp_encoder_space(&e->enc)) {
		/* The batch is full of data; commands are tiny and rare: drop a PING
		 * rather than block, the next interval sends another. */
		msg_close(&m);
		return 0;
	}
	if ((rc = engine_encode(e, &m)) < 0) {
		msg_close(&m);
		return rc;
	}
	zmtp_encoder_load(&e->enc, &m);
	engine_start_output(e);
	return 0;
}

/* engine_subscription: a SUB/XSUB's subscription message (first byte 1 or 0) goes to a
 * ZMTP 3.1 peer as a SUBSCRIBE / CANCEL command; a 3.0 peer gets the message itself. */
static void
engine_subscription(struct engine *e, struct msg *m)
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

/* engine_fill: pulls messages from the pipe while the encoder has room. 0, or what
 * engine_encode failed with. */
static int
engine_fill(struct engine *e)
{
	if (e->state != ES_ACTIVE || e->shm)
		return 0; /* shm:// messages go through the rings, not the stream */
	bool subs = e->opts.type->subscribes;
	struct msg m;
	while (zmtp_encoder_space(&e->enc)) {
		msg_init(&m);
		if (session_pull_msg(e->session, &m) < 0)
			break;
		if (subs && !e->out_more)
			engine_subscription(e, &m);
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

/* engine_write: writes what is queued. 0, or -1 when the engine is gone (it failed,
 * or the session ended it once the output drained): the caller must not touch it. */
static int
engine_write(struct engine *e)
{
	struct iovec iov[ENGINE_IOV];
	for (int round = 0; round < 16; round++) {
		int frc = engine_fill(e);
		if (frc < 0) {
			engine_fail_rc(e, frc);
			return -1;
		}
		int n = zmtp_encoder_iov(&e->enc, iov, ENGINE_IOV);
		if (n == 0 && e->shm) {
			/* The creator's SHM command waits for the READY to be out. */
			int rc = engine_shm_flush_pending(e);
			if (rc < 0) {
				engine_fail_rc(e, rc);
				return -1;
			}
			if (engine_shm_active(e))
				return 0;
		}
		if (n == 0) {
			if (!e->output_stopped && e->handle) {
				e->output_stopped = true;
				poller_reset_pollout(e->poller, e->handle);
			}
			return session_engine_drained(e->session) ? -1 : 0;
		}
		size_t total = 0;
		for (int i = 0; i < n; i++)
			total += iov[i].iov_len;
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
	}
	return 0;
}

/* engine_write_raw: ZMQ_STREAM output: each message's bytes as they are; an empty
 * message closes the connection. Same contract as engine_write. */
static int
engine_write_raw(struct engine *e)
{
	for (int round = 0; round < 64; round++) {
		if (!e->raw_has) {
			msg_init(&e->raw_out);
			if (session_pull_msg(e->session, &e->raw_out) < 0) {
				if (!e->output_stopped && e->handle) {
					e->output_stopped = true;
					poller_reset_pollout(e->poller, e->handle);
				}
				return session_engine_drained(e->session) ? -1 : 0;
			}
			if (msg_size(&e->raw_out) == 0) {
				engine_fail(e, ENGINE_END_CLOSED, 0);
				return -1;
			}
			e->raw_has = true;
			e->raw_off = 0;
		}
		struct iovec iov = {(uint8_t *)msg_data(&e->raw_out) + e->raw_off,
		                    msg_size(&e->raw_out) - e->raw_off};
		ssize_t w = zn_writev(e->fd, &iov, 1);
		if (w == -EAGAIN)
			return 0;
		if (w < 0) {
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		e->raw_off += (size_t)w;
		if (e->raw_off < msg_size(&e->raw_out))
			return 0;
		msg_close(&e->raw_out);
		msg_init(&e->raw_out);
		e->raw_has = false;
	}
	return 0;
}

static void
engine_out_event(void *arg)
{
	struct engine *e = arg;
	if (e->raw)
		(void)engine_write_raw(e);
	else if (engine_shm_active(e) && zmtp_encoder_empty(&e->enc))
		(void)engine_shm_write(e);
	else
		(void)engine_write(e);
}

void
engine_restart_output(struct engine *e)
{
	if (e->state == ES_DEAD)
		return;
	if (engine_shm_active(e)) {
		/* The rings need no POLLOUT: a full ring wakes us through the eventfd. */
		(void)engine_shm_write(e);
		return;
	}
	engine_start_output(e);
	/* Write now rather than after the next poll: one wake-up less per message. */
	engine_out_event(e);
}

/* Handshake. */

static int
engine_check_greeting(struct engine *e)
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

static int
engine_zap_request(void *host, struct msg *frames, int n)
{
	struct engine *e = host;
	return session_zap_request(e->session, frames, n);
}

/* engine_handshake_complete: the mechanism let the peer in: messages flow. */
static int
engine_handshake_complete(struct engine *e)
{
	struct mechanism *m = e->mech;
	if (e->shm && m->ops->encode)
		return -EPROTONOSUPPORT; /* boxes through the rings are not built yet */
	if (e->peer_address[0] && metadata_add(m->meta, "Peer-Address", e->peer_address,
	                                       strlen(e->peer_address)) == -ENOMEM)
		return -ENOMEM;
	metadata_set_fd(m->meta, e->fd); /* ZMQ_SRCFD */
	metadata_hold(m->meta);
	e->meta = m->meta;
	memcpy(e->peer_rid, m->peer_rid, m->peer_rid_len);
	e->peer_rid_len = m->peer_rid_len;
	e->state = ES_ACTIVE;
	e->dec.maxmsgsize = e->opts.maxmsgsize;
	engine_cancel_timer(e, TIMER_HANDSHAKE, &e->timer_handshake);
	if (e->opts.heartbeat_ivl > 0 && !e->shm) /* 3.0 peers too, as libzmq */
		engine_add_timer(e, TIMER_HB_IVL, e->opts.heartbeat_ivl,
		                 &e->timer_hb_ivl);
	int rc = session_engine_ready(e->session, e->peer_rid, e->peer_rid_len);
	if (rc < 0)
		return rc;
	if (e->shm)
		return engine_shm_ready(e); /* the rings take over from here */
	/* Messages may already wait in the pipe (a connect before the handshake). */
	engine_start_output(e);
	return 0;
}

/* engine_mech_failed: queues the mechanism's ERROR, if it has one for the peer, and
 * tries to write it before the connection closes. Returns -EBADMSG. */
static int
engine_mech_failed(struct engine *e)
{
	struct mechanism *m = e->mech;
	if (!m->error_out || !zmtp_encoder_space(&e->enc))
		return -EBADMSG;
	m->error_out = false;
	struct msg cmd;
	msg_init(&cmd);
	int rc = m->ops->error ? m->ops->error(m, &cmd)
	                       : mech_error_command(&cmd, m->fail_value);
	if (rc < 0)
		return -EBADMSG;
	zmtp_encoder_load(&e->enc, &cmd);
	struct iovec iov[ENGINE_IOV];
	int n = zmtp_encoder_iov(&e->enc, iov, ENGINE_IOV);
	ssize_t w = zn_writev(e->fd, iov, n); /* best effort: we close next */
	(void)w;
	return -EBADMSG;
}

/* engine_mech_pump: sends what the mechanism has to send, then acts on its state.
 * 0, or negative to end the connection. */
static int
engine_mech_pump(struct engine *e)
{
	struct mechanism *m = e->mech;
	for (;;) {
		if (m->state == MECH_FAILED)
			return engine_mech_failed(e);
		struct msg cmd;
		msg_init(&cmd);
		int rc = m->ops->next(m, &cmd);
		if (rc == -EAGAIN)
			break;
		if (rc == -1)
			continue; /* failed: reported above */
		if (rc < 0)
			return rc;
		zmtp_encoder_load(&e->enc, &cmd);
		engine_start_output(e);
	}
	if (m->state == MECH_READY && e->state == ES_HANDSHAKE)
		return engine_handshake_complete(e);
	return 0;
}

/* engine_start_mechanism: the greetings agree: the mechanism takes over. */
static int
engine_start_mechanism(struct engine *e)
{
	struct mech_host host = {engine_zap_request, e};
	int rc = mechanism_new(&e->mech, &e->opts, e->peer_address, &host);
	if (rc < 0)
		return rc;
	e->state = ES_HANDSHAKE;
	return engine_mech_pump(e);
}

/* engine_flush_greeting: one non-blocking write of the rest of our greeting, queued
 * in this same read, before we refuse the peer: it still learns what we speak
 * (a mechanism mismatch is reported on both sides). Errors are the caller's to see. */
static void
engine_flush_greeting(struct engine *e)
{
	struct iovec iov[ENGINE_IOV];
	int n = zmtp_encoder_iov(&e->enc, iov, ENGINE_IOV);
	ssize_t w = n > 0 ? zn_writev(e->fd, iov, n) : 0;
	if (w > 0)
		zmtp_encoder_written(&e->enc, (size_t)w);
}

/* engine_read_greeting: consumes greeting bytes. 0 (need more or done), or negative. */
static int
engine_read_greeting(struct engine *e)
{
	while (e->greeting_have < GREETING_SIZE && e->in_pos < e->in_len) {
		uint8_t b = e->inbuf[e->in_pos++];
		size_t i = e->greeting_have++;
		e->greeting[i] = b;
		/* Reject a non-ZMTP peer as soon as its first or tenth byte shows it, and
		 * a ZMTP 1.0/2.0 peer at its version byte, rather than wait for 64 bytes
		 * it will never send. */
		if ((i == 0 && b != 0xff) || (i == 9 && !(b & 1)) || (i == 10 && b < 3))
			return -EPROTO;
		if (i == GREETING_SIG - 1) {
			engine_queue_greeting(e, 1);
			engine_start_output(e);
		}
	}
	if (e->greeting_have < GREETING_SIZE)
		return 0;
	int rc = engine_check_greeting(e);
	if (rc < 0) {
		engine_flush_greeting(e);
		return rc;
	}
	return engine_start_mechanism(e);
}

void
engine_zap_reply(struct engine *e, struct msg *frames, int n)
{
	if (e->state != ES_HANDSHAKE || !e->mech->zap_waiting)
		return; /* a late or unasked-for reply: nobody waits for it */
	int rc = e->mech->ops->zap_reply(e->mech, frames, n);
	if (rc == 0 || rc == -1)
		rc = engine_mech_pump(e);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return;
	}
	(void)engine_write(e);
}

/* Commands. */

/* engine_process_ping: arms the TTL the peer asks for (deciseconds) and answers
 * with a PONG carrying its context, cut to ZMTP 3.1's 16 bytes as libzmq does. */
static int
engine_process_ping(struct engine *e, const uint8_t *data, size_t len)
{
	if (len < 2)
		return -EPROTO;
	int ttl_ds = (data[0] << 8) | data[1];
	if (ttl_ds > 0)
		engine_add_timer(e, TIMER_HB_TTL, ttl_ds * 100, &e->timer_hb_ttl);
	return engine_queue_command(e, "PONG", data + 2, len - 2 > 16 ? 16 : len - 2);
}

static int
engine_process_command(struct engine *e, struct msg *m)
{
	if (e->state == ES_HANDSHAKE) {
		/* The mechanism reads its commands whole: libzmq's PLAIN ERROR does not
		 * parse as a ZMTP command name. */
		int rc = e->mech->ops->process(e->mech, msg_data(m), msg_size(m));
		return rc == 0 || rc == -1 ? engine_mech_pump(e) : rc;
	}
	const char *name;
	size_t nlen, dlen;
	const uint8_t *data;
	int rc = zmtp_command_parse(m, &name, &nlen, &data, &dlen);
	if (rc < 0)
		return rc;
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("ERROR"))
		return -ECONNRESET;
	if (IS("SHM") && e->shm)
		return engine_shm_command(e, data, dlen);
	if (IS("PING"))
		return engine_process_ping(e, data, dlen);
	if (IS("PONG"))
		return 0;
	if (IS("SUBSCRIBE") || IS("CANCEL")) {
		int rc2 =
		        session_push_command(e->session, m, IS("SUBSCRIBE"), data, dlen);
		return rc2 == -EAGAIN ? 0
		                      : rc2; /* a full pipe drops it, as a PUB would */
	}
	return -EPROTO;
#undef IS
}

/* engine_deliver: hands a decoded frame on. -EAGAIN when the pipe is full (the frame
 * is stashed), another negative value to end the connection. */
void
engine_stop_input(struct engine *e)
{
	e->input_stopped = true;
	/* With shm:// the fd only reports the peer's death; keep watching it. */
	if (e->handle && !engine_shm_active(e))
		poller_reset_pollin(e->poller, e->handle);
}

int
engine_deliver(struct engine *e, struct msg *m)
{
	if (e->state == ES_ACTIVE && e->mech && e->mech->ops->decode) {
		int rc = e->mech->ops->decode(e->mech, m);
		if (rc < 0) {
			msg_close(m);
			return rc == -1 ? -EBADMSG : rc;
		}
	}
	/* Each message proves the peer alive (a PING re-arms the TTL just below). */
	engine_cancel_timer(e, TIMER_HB_TIMEOUT, &e->timer_hb_timeout);
	engine_cancel_timer(e, TIMER_HB_TTL, &e->timer_hb_ttl);
	if (m->flags & MSGF_COMMAND) {
		int rc = engine_process_command(e, m);
		msg_close(m);
		return rc;
	}
	if (e->state != ES_ACTIVE) {
		msg_close(m);
		return -EPROTO; /* data before the handshake ended */
	}
	msg_set_metadata(m, e->meta);
	int rc = session_push_msg(e->session, m);
	if (rc == -EAGAIN) {
		msg_move(&e->stash, m);
		e->has_stash = true;
		engine_stop_input(e);
		return rc;
	}
	if (rc < 0)
		msg_close(m);
	return rc;
}

/* engine_process_input: decodes what the buffer holds. 0 when all is consumed or the
 * pipe filled up; negative to end the connection. */
static int
engine_process_input(struct engine *e)
{
	while (e->in_pos < e->in_len && !e->input_stopped) {
		if (e->state == ES_GREETING) {
			int rc = engine_read_greeting(e);
			if (rc < 0)
				return rc;
			continue;
		}
		size_t used = 0;
		struct msg m;
		msg_init(&m);
		int rc = zmtp_decoder_feed(&e->dec, e->inbuf + e->in_pos,
		                           e->in_len - e->in_pos, &used, &m);
		e->in_pos += used;
		if (rc < 0)
			return rc;
		if (rc == 1) {
			rc = engine_deliver(e, &m);
			if (rc < 0 && rc != -EAGAIN)
				return rc;
		}
	}
	return 0;
}

/* engine_mech_end: how the mechanism's failure is reported. */
static int
engine_mech_end(const struct engine *e, enum engine_end *why)
{
	switch (e->mech->fail_event) {
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
		*why = e->state == ES_ACTIVE ? ENGINE_END_MECH : ENGINE_END_PROTOCOL;
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: *why = ENGINE_END_AUTH; break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: *why = ENGINE_END_NO_DETAIL; break;
	default: *why = ENGINE_END_REFUSED; break;
	}
	return e->mech->fail_value;
}

static int
engine_end_code(const struct engine *e, int rc, enum engine_end *why)
{
	if (rc == -EBADMSG && e->mech)
		return engine_mech_end(e, why);
	switch (rc) {
	case -ENOMEM: *why = ENGINE_END_NOMEM; return 0;
	case -EMSGSIZE:
		*why = ENGINE_END_PROTOCOL;
		return ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED;
	case -EPROTONOSUPPORT:
		*why = ENGINE_END_PROTOCOL;
		return ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH;
	case -ENOTSUP: *why = ENGINE_END_REFUSED; return 0;
	case -ECONNRESET: *why = ENGINE_END_CLOSED; return ECONNRESET;
	case -EPIPE: *why = ENGINE_END_CLOSED; return EPIPE; /* EOF, as libzmq says */
	default:
		*why = ENGINE_END_PROTOCOL;
		return ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND;
	}
}

void
engine_fail_rc(struct engine *e, int rc)
{
	enum engine_end why;
	int code = engine_end_code(e, rc, &why);
	engine_fail(e, why, code);
}

/* engine_read_direct: reads the rest of a large body straight into its message. 1 when
 * it did, 0 when there is no such body, negative on error or EOF (-EPIPE). */
static int
engine_read_direct(struct engine *e)
{
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
		rc = engine_deliver(e, &m);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	return 1;
}

/* engine_read_raw: ZMQ_STREAM input: whatever arrived is one message. */
static void
engine_read_raw(struct engine *e)
{
	ssize_t n = zn_read(e->fd, e->inbuf, ENGINE_INBUF);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		engine_fail(e, ENGINE_END_CLOSED, 0);
		return;
	}
	struct msg m;
	if (msg_init_buffer(&m, e->inbuf, (size_t)n) < 0) {
		engine_fail(e, ENGINE_END_NOMEM, 0);
		return;
	}
	int rc = engine_deliver(e, &m);
	if (rc < 0 && rc != -EAGAIN) {
		engine_fail_rc(e, rc);
		return;
	}
	session_flush(e->session);
}

static void
engine_in_event(void *arg)
{
	struct engine *e = arg;
	if (engine_shm_active(e)) {
		/* After the switch the stream carries nothing: EOF is the peer's death
		 * (whether or not our input is stopped: an unread EOF spins epoll). */
		uint8_t b;
		ssize_t n = zn_read(e->fd, &b, 1);
		if (n == 0)
			engine_shm_peer_gone(e);
		else if (n != -EAGAIN)
			engine_fail_rc(e, n == 1 ? -EPROTO : -ECONNRESET);
		return;
	}
	if (e->input_stopped) {
		/* Only a hang-up gets here (POLLIN is off): epoll would report it again
		 * and again, so stop watching until the pipe has room; what the peer
		 * sent before it left is read then. */
		if (e->handle)
			poller_suspend(e->poller, e->handle);
		return;
	}
	if (e->raw) {
		engine_read_raw(e);
		return;
	}
	int rc = e->shm ? 0 : engine_read_direct(e);
	if (rc == 0) {
		ssize_t n = e->shm ? engine_shm_recv(e, e->inbuf, ENGINE_INBUF)
		                   : zn_read(e->fd, e->inbuf, ENGINE_INBUF);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			engine_fail_rc(e, n == 0 ? -EPIPE : (int)n);
			return;
		}
		e->in_pos = 0;
		e->in_len = (size_t)n;
		rc = engine_process_input(e);
	}
	if (rc == -EAGAIN)
		rc = 0;
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return;
	}
	if (e->state == ES_ACTIVE)
		session_flush(e->session);
	/* The rest of our greeting, a READY or a PONG we may have queued. */
	if (e->state != ES_DEAD)
		(void)engine_write(e);
}

void
engine_restart_input(struct engine *e)
{
	if (!e->input_stopped || e->state == ES_DEAD)
		return;
	if (engine_shm_active(e)) {
		engine_shm_restart_input(e);
		return;
	}
	if (e->has_stash) {
		int rc = session_push_msg(e->session, &e->stash);
		if (rc == -EAGAIN)
			return;
		e->has_stash = false;
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return;
		}
	}
	e->input_stopped = false;
	int rc = engine_process_input(e);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return;
	}
	session_flush(e->session);
	if (!e->input_stopped && e->handle) {
		poller_set_pollin(e->poller, e->handle);
		poller_resume(e->poller, e->handle);
	}
}

/* Timers. */

static void
engine_timer_event(void *arg, int id)
{
	struct engine *e = arg;
	switch (id) {
	case TIMER_HANDSHAKE: engine_fail(e, ENGINE_END_TIMEOUT, 0); return;
	case TIMER_HB_IVL: {
		uint8_t ping[2];
		int ttl = e->opts.heartbeat_ttl / 100;
		ping[0] = (uint8_t)(ttl >> 8);
		ping[1] = (uint8_t)ttl;
		int rc = engine_queue_command(e, "PING", ping, sizeof ping);
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return;
		}
		if (engine_write(e) < 0)
			return;
		int timeout = e->opts.heartbeat_timeout >= 0 ? e->opts.heartbeat_timeout
		                                             : e->opts.heartbeat_ivl;
		if (timeout > 0 && !poll_timer_armed(&e->timer_hb_timeout))
			engine_add_timer(e, TIMER_HB_TIMEOUT, timeout,
			                 &e->timer_hb_timeout);
		engine_add_timer(e, TIMER_HB_IVL, e->opts.heartbeat_ivl,
		                 &e->timer_hb_ivl);
		return;
	}
	case TIMER_HB_TIMEOUT: engine_fail(e, ENGINE_END_TIMEOUT, 0); return;
	case TIMER_HB_TTL: engine_fail(e, ENGINE_END_TIMEOUT, 0); return;
	}
}

static const struct poll_handler_ops engine_handler = {
        .in_event = engine_in_event,
        .out_event = engine_out_event,
        .timer_event = engine_timer_event,
};

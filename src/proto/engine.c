/*
 * engine.c: see engine.h. This is the ZMTP engine proper; how bytes or messages reach
 * the peer is its carrier's business (engine_impl.h: stream, raw, rings), and which
 * security mechanism runs is its mechanism's (mech/mechanism.h). It has no branch on
 * either.
 *
 * Input: the carrier hands each decoded frame to engine_deliver, which unboxes it (when
 * the mechanism boxes), runs commands, and pushes messages into the session's pipe.
 * When the pipe is full the engine holds the message back, stops input and resumes on
 * engine_restart_input.
 *
 * Output: the carrier pulls messages from the pipe when it has room, boxing them with
 * engine_encode; handshake commands and heartbeats are queued here into the ZMTP
 * encoder, which the carriers that speak ZMTP write.
 */
#include "proto/engine_impl.h"
#include "platform/rbuf.h"
#include "proto/mech/mechanism.h"
#include "proto/session.h"
#include "core/socket_type.h"
#include "proto/zmtp_codec.h"
#include "platform/alloc.h"
#include "platform/net.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

static const struct poll_handler_ops engine_handler;

/* engine_carrier_new: the carrier this connection needs, set up. 0 or -ENOMEM (the
 * carrier is e's then all the same: engine_destroy frees it). */
static int
engine_carrier_new(struct engine *e, bool shm)
{
	/* ZMQ_STREAM (and ROUTER_RAW) speaks no ZMTP, whatever the transport. */
	const struct carrier_ops *ops = options_raw(&e->opts) ? &carrier_raw
	                                : shm                 ? &carrier_rings
	                                                      : &carrier_stream;
	struct carrier *c = zn_calloc(1, ops->size);
	if (!c)
		return -ENOMEM;
	c->ops = ops;
	c->e = e;
	e->carrier = c;
	return ops->init ? ops->init(c) : 0;
}

int
engine_new(struct engine **out, int fd, const struct options *opts,
           const char *peer_address, bool shm)
{
	struct engine *e = zn_calloc(1, sizeof *e);
	size_t plen = peer_address ? strlen(peer_address) + 1 : 1;
	char *peer = zn_malloc(plen);
	if (!e || !peer) {
		zn_free(e);
		zn_free(peer);
		zn_close_fd(fd);
		return -ENOMEM;
	}
	memcpy(peer, peer_address ? peer_address : "", plen);
	e->fd = fd;
	e->opts = *opts;
	e->peer_address = peer;
	e->state = ES_GREETING;
	msg_init(&e->stash);
	/* Until the handshake ends a frame is at most a handshake command: a stranger
	 * cannot make us hold more (CVE-2020-15166); the handshake's end lifts it. */
	int64_t limit = opts->maxmsgsize;
	if (limit < 0 || limit > MECH_FRAME_MAX)
		limit = MECH_FRAME_MAX;
	zmtp_decoder_init(&e->dec, limit);
	zmtp_encoder_init(&e->enc);
	int rc = engine_carrier_new(e, shm);
	if (rc < 0) {
		engine_destroy(e); /* closes fd */
		return rc;
	}
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

void
engine_handshake_begin(struct engine *e)
{
	if (e->opts.handshake_ivl > 0)
		engine_add_timer(e, TIMER_HANDSHAKE, e->opts.handshake_ivl,
		                 &e->timer_handshake);
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
	e->carrier->ops->plug(e->carrier);
}

void
engine_destroy(struct engine *e)
{
	if (e->sc)
		engine_shortcut_end(e); /* before the fd's poll handle goes */
	if (e->poller) {
		engine_cancel_timer(e, TIMER_HANDSHAKE, &e->timer_handshake);
		engine_cancel_timer(e, TIMER_HB_IVL, &e->timer_hb_ivl);
		engine_cancel_timer(e, TIMER_HB_TIMEOUT, &e->timer_hb_timeout);
		engine_cancel_timer(e, TIMER_HB_TTL, &e->timer_hb_ttl);
		engine_cancel_timer(e, TIMER_SC_KEPT, &e->timer_sc);
		if (e->handle)
			poller_rm_fd(e->poller, e->handle);
	}
	if (e->carrier) {
		if (e->carrier->ops->fini)
			e->carrier->ops->fini(e->carrier);
		zn_free(e->carrier);
	}
	mechanism_destroy(e->mech);
	zn_close_fd(e->fd);
	msg_close(&e->stash);
	zmtp_decoder_fini(&e->dec);
	zmtp_encoder_fini(&e->enc);
	if (e->meta_batch.md)
		metadata_batch_end(&e->meta_batch);
	if (e->meta)
		metadata_rele(e->meta);
	if (e->in_kept)
		rbuf_rele(rbuf_of(e->in_kept), 1);
	zmtp_decoder_slice_end(&e->dec);
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
	return e->carrier->ops->output_empty(e->carrier);
}

bool
engine_handshake_done(const struct engine *e)
{
	return e->state == ES_ACTIVE;
}

/* Input. */

uint8_t *
engine_read_buffer(struct engine *e)
{
	return poller_read_buffer(e->poller);
}

int
engine_keep_input(struct engine *e)
{
	if (e->in_pos == e->in_len || e->in == e->in_kept)
		return 0; /* nothing left, or already ours */
	/* The bytes stay where they are: the engine takes the buffer itself, and the
	 * thread's next read gets another. A reader that stops and resumes over and
	 * over (a full pipe under a flood) hands the same buffer back and forth, with
	 * no copy and no allocation. */
	uint8_t *b = poller_take_read_buffer(e->poller);
	if (b != e->in) { /* not in the thread's buffer: not expected */
		if (b)
			poller_return_read_buffer(e->poller, b);
		return -ENOMEM;
	}
	e->in_kept = b;
	return 0;
}

void
engine_input_done(struct engine *e)
{
	if (e->in_kept)
		poller_return_read_buffer(e->poller, e->in_kept);
	e->in_kept = NULL;
	e->in = NULL;
	e->in_rbuf = false;
	e->in_pos = e->in_len = 0;
}

/* engine_fail: the connection is over. The session destroys the engine: nothing may
 * touch e after this returns. */
void
engine_fail(struct engine *e, enum engine_end why, int protocol_error)
{
	bool handshaking = e->state != ES_ACTIVE;
	if (e->carrier->ops->ended)
		e->carrier->ops->ended(e->carrier);
	e->state = ES_DEAD;
	session_engine_failed(e->session, why, handshaking, protocol_error);
}

/* Output. */

void
engine_start_output(struct engine *e)
{
	if (e->output_stopped && e->handle) {
		e->output_stopped = false;
		poller_set_pollout(e->poller, e->handle);
	}
}

void
engine_stop_output(struct engine *e)
{
	if (!e->output_stopped && e->handle) {
		e->output_stopped = true;
		poller_reset_pollout(e->poller, e->handle);
	}
}

int
engine_output_idle(struct engine *e)
{
	if (!e->output_stopped)
		poller_caught_up(e->poller);
	engine_stop_output(e);
	if (e->sc)
		engine_shortcut_idle(e);
	return session_engine_drained(e->session) ? -1 : 0;
}

int
engine_write(struct engine *e)
{
	return e->carrier->ops->write(e->carrier);
}

bool
engine_boxes(const struct engine *e)
{
	return e->state == ES_ACTIVE && e->mech && e->mech->ops->encode;
}

/* engine_encode: after the handshake, the mechanism wraps each message (CURVE boxes);
 * 0, or -EBADMSG when it failed (see engine_end_code), -ENOMEM. */
int
engine_encode(struct engine *e, struct msg *m)
{
	if (!engine_boxes(e))
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

/* Handshake. */

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
	if (e->peer_address[0] && metadata_add(m->meta, "Peer-Address", e->peer_address,
	                                       strlen(e->peer_address)) == -ENOMEM)
		return -ENOMEM;
	metadata_set_fd(m->meta, e->fd); /* ZMQ_SRCFD */
	metadata_hold(m->meta);
	e->meta = m->meta;
	e->meta_batch.md = e->meta;
	memcpy(e->peer_rid, m->peer_rid, m->peer_rid_len);
	e->peer_rid_len = m->peer_rid_len;
	e->state = ES_ACTIVE;
	e->dec.maxmsgsize = e->opts.maxmsgsize;
	engine_cancel_timer(e, TIMER_HANDSHAKE, &e->timer_handshake);
	if (e->opts.heartbeat_ivl > 0 && e->carrier->ops->heartbeats) /* 3.0 peers too */
		engine_add_timer(e, TIMER_HB_IVL, e->opts.heartbeat_ivl,
		                 &e->timer_hb_ivl);
	int rc = session_engine_ready(e->session, e->peer_rid, e->peer_rid_len);
	if (rc < 0)
		return rc;
	return e->carrier->ops->ready(e->carrier);
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
	engine_stream_flush_once(e); /* best effort: we close next */
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
		/* A handshake's few commands follow the greeting into an encoder that
		 * holds little else; were it ever full, the connection ends rather than
		 * the batch overflow. */
		if (!zmtp_encoder_space(&e->enc)) {
			msg_close(&cmd);
			return -ENOBUFS;
		}
		zmtp_encoder_load(&e->enc, &cmd);
		engine_start_output(e);
	}
	if (m->state == MECH_READY && e->state == ES_HANDSHAKE)
		return engine_handshake_complete(e);
	return 0;
}

int
engine_start_mechanism(struct engine *e)
{
	struct mech_host host = {engine_zap_request, e};
	int rc = mechanism_new(&e->mech, &e->opts, e->peer_address, &host);
	if (rc < 0)
		return rc;
	e->state = ES_HANDSHAKE;
	return engine_mech_pump(e);
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
	/* Anything else is the carrier's (the rings' SHM), or a protocol error. */
	const struct carrier_ops *ops = e->carrier->ops;
	return ops->command ? ops->command(e->carrier, name, nlen, data, dlen) : -EPROTO;
#undef IS
}

/* Input. */

void
engine_stop_input(struct engine *e)
{
	e->input_stopped = true;
	e->carrier->ops->stop_input(e->carrier);
}

bool
engine_input_held(struct engine *e)
{
	if (!e->input_stopped)
		return false;
	/* Only a hang-up gets here (POLLIN is off): epoll would report it again and
	 * again, so stop watching until the pipe has room; what the peer sent before it
	 * left is read then. */
	if (e->handle)
		poller_suspend(e->poller, e->handle);
	return true;
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
	metadata_batch_attach(&e->meta_batch, m);
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

/* engine_restart_input: the held-back message goes first, then the carrier reads on,
 * whichever carrier it is. */
void
engine_restart_input(struct engine *e)
{
	if (!e->input_stopped || e->state == ES_DEAD)
		return;
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
	e->carrier->ops->resume_input(e->carrier);
}

void
engine_restart_output(struct engine *e)
{
	if (e->state == ES_DEAD)
		return;
	e->carrier->ops->restart_output(e->carrier);
}

/* Ends. */

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
	case -ENOMEM:
	case -EMFILE: /* a descriptor or a mapping of our own (shm:// rings) */
	case -ENFILE:
	case -ENOBUFS:
		/* Our resources, not the peer's doing: the connection is retried. */
		*why = ENGINE_END_NOMEM;
		return 0;
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

/* Events. */

static void
engine_in_event(void *arg)
{
	struct engine *e = arg;
	e->carrier->ops->in_event(e->carrier);
}

static void
engine_out_event(void *arg)
{
	(void)engine_write(arg);
}

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
	case TIMER_SC_KEPT:
		if (e->sc && engine_shortcut_check(e))
			engine_add_timer(e, TIMER_SC_KEPT, ENGINE_SC_CHECK_MS,
			                 &e->timer_sc);
		return;
	}
}

void
engine_watch_kept(struct engine *e)
{
	if (e->sc && e->poller && !poll_timer_armed(&e->timer_sc))
		engine_add_timer(e, TIMER_SC_KEPT, ENGINE_SC_CHECK_MS, &e->timer_sc);
}

static const struct poll_handler_ops engine_handler = {
        .in_event = engine_in_event,
        .out_event = engine_out_event,
        .timer_event = engine_timer_event,
};

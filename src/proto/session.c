/*
 * session.c: see session.h.
 */
#include "proto/session.h"
#include "proto/session_zap.h"
#include "core/ctx.h"
#include "platform/alloc.h"
#include "zmq.h"
#include "platform/container.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

enum { TIMER_RECONNECT = 1, TIMER_LINGER };

struct session {
	struct own own;
	struct io_thread *io;
	struct poller *poller;
	struct options opts;
	struct own *socket;
	struct monitor_sink monitor;
	char *endpoint;
	struct pipe *pipe;
	int pipes_terminating; /* old pipes (ZMQ_IMMEDIATE) still ending */
	struct engine *engine;
	bool active;         /* made by zmq_connect: connects and reconnects */
	bool incomplete_in;  /* a multipart message from the engine is half written */
	bool incomplete_out; /* the engine pulled part of a multipart message */
	bool drop_out;       /* its engine ended: the rest of that message is discarded */
	bool term_pending;   /* terminating: waiting for the pipe and the output */
	bool gave_up;        /* its connection ended and reconnection is off */
	struct poll_timer timer_reconnect, timer_linger;
	/* The transport's connecter (active sessions), handed down by the socket. */
	const struct session_connecter_ops *connecter_ops;
	void *connecter;
	int reconnect_cur;
	uint32_t direct_tokens; /* names the direct roads offered so far */
	struct session_zap zap; /* the link to the ZAP handler */
};

static const struct own_ops session_own_ops;
static const struct pipe_sink_ops session_sink_ops;
static const struct poll_handler_ops session_handler;

static bool session_check_done(struct session *s);
static void session_drop(struct session *s);
static void session_start_connecting(struct session *s);

int
session_new(struct session **out, struct io_thread *io, struct own *socket,
            const struct options *opts, const char *endpoint,
            const struct monitor_sink *monitor)
{
	struct session *s = zn_calloc(1, sizeof *s);
	size_t n = strlen(endpoint) + 1;
	char *ep = zn_malloc(n);
	if (!s || !ep) {
		zn_free(s);
		zn_free(ep);
		return -ENOMEM;
	}
	memcpy(ep, endpoint, n);
	own_init(&s->own, socket->obj.ctx, io_thread_tid(io), &session_own_ops);
	s->io = io;
	s->poller = io_thread_poller(io);
	s->opts = *opts;
	s->socket = socket;
	if (monitor)
		s->monitor = *monitor;
	s->endpoint = ep;
	s->reconnect_cur = opts->reconnect_ivl;
	*out = s;
	return 0;
}

void
session_set_connect(struct session *s, const struct session_connecter_ops *ops, void *c)
{
	s->active = true;
	s->connecter_ops = ops;
	s->connecter = c;
}

void
session_attach_pipe(struct session *s, struct pipe *p)
{
	s->pipe = p;
	s->incomplete_out = s->drop_out = false;
	pipe_set_sink(p, s, &session_sink_ops);
}

bool
session_is_active(const struct session *s)
{
	return s->active;
}

void
session_discard(struct session *s)
{
	if (s->pipe)
		pipe_set_sink(s->pipe, NULL, NULL);
	if (s->connecter)
		s->connecter_ops->destroy(s->connecter);
	zn_free(s->endpoint);
	zn_free(s);
}

struct own *
session_own(struct session *s)
{
	return &s->own;
}

struct object *
session_object(struct session *s)
{
	return &s->own.obj;
}

void
session_send_attach(struct session *s, struct engine *e)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_ATTACH;
	cmd.args.attach.engine = e;
	own_send_counted(&s->own, &cmd);
}

static void
session_event(struct session *s, int event, int64_t value)
{
	monitor_event(&s->monitor, event, value, s->endpoint);
}

/* Messages, for the engine. */

int
session_push_msg(struct session *s, struct msg *m)
{
	if (!s->pipe) {
		msg_close(m); /* nobody to give it to: the socket refused the pipe */
		msg_init(m);
		return 0;
	}
	bool more = (m->flags & MSGF_MORE) != 0;
	int rc = pipe_write(s->pipe, m);
	if (rc == 0)
		s->incomplete_in = more;
	return rc;
}

int
session_pull_msg(struct session *s, struct msg *m)
{
	if (!s->pipe)
		return -EAGAIN;
	/* The parts of a message whose first parts went with an ended engine: the
	 * next engine must start at a message's first part (the peer would take the
	 * rest for a whole message). The writer flushes a message whole, so the rest
	 * is there. */
	while (s->drop_out) {
		if (!pipe_read(s->pipe, m))
			return -EAGAIN;
		s->drop_out = (m->flags & MSGF_MORE) != 0;
		msg_close(m);
		msg_init(m);
	}
	if (!pipe_read(s->pipe, m))
		return -EAGAIN;
	s->incomplete_out = (m->flags & MSGF_MORE) != 0;
	return 0;
}

int
session_pull_msg_again(struct session *s, struct msg *m)
{
	if (s->pipe)
		pipe_recheck_read(s->pipe);
	return session_pull_msg(s, m);
}

void
session_flush(struct session *s)
{
	if (s->pipe)
		pipe_flush(s->pipe);
}

int
session_offer_direct(struct session *s, struct pipe_direct *d)
{
	if (!s->pipe || s->incomplete_in)
		return -EPIPE;
	d->token = ++s->direct_tokens;
	return pipe_offer_direct(s->pipe, d);
}

bool
session_in_whole(const struct session *s)
{
	return !s->incomplete_in;
}

int
session_offer_shortcut(struct session *s, struct pipe_shortcut *sc)
{
	return s->pipe ? pipe_offer_shortcut(s->pipe, sc) : -EPIPE;
}

void
session_wake_direct(struct session *s)
{
	if (s->pipe)
		pipe_wake_direct(s->pipe);
}

int
session_push_command(struct session *s, struct msg *m, bool subscribe, const void *topic,
                     size_t len)
{
	/* ZMTP 3.1 SUBSCRIBE / CANCEL become the message form sockets use: a first byte
	 * of 1 or 0, then the topic. */
	(void)m;
	struct msg sub;
	int rc = msg_init_size(&sub, len + 1);
	if (rc < 0)
		return rc;
	uint8_t *d = msg_data(&sub);
	d[0] = subscribe ? 1 : 0;
	if (len)
		memcpy(d + 1, topic, len);
	rc = session_push_msg(s, &sub);
	if (rc < 0)
		msg_close(&sub);
	return rc;
}

/* Connecting. */

/* session_end_endpoint: a connection ended and will not be remade (reconnection
 * off): the socket is asked to forget this endpoint, as zmq_disconnect would, and
 * ends our pipe and us; a new zmq_connect then starts afresh (libzmq does the same). */
static void
session_end_endpoint(struct session *s)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_TERM_ENDPOINT;
	cmd.args.term_endpoint.endpoint = &s->own;
	own_send_counted(s->socket, &cmd);
}

static void
session_add_timer(struct session *s, int id, int ms, struct poll_timer *t)
{
	poller_arm_timer(s->poller, t, ms, &session_handler, s, id);
}

static void
session_cancel_timer(struct session *s, int id, struct poll_timer *t)
{
	(void)id; /* the timer says which it is */
	if (poll_timer_armed(t))
		poller_cancel_timer(s->poller, t);
}

static void
session_stop_connecting(struct session *s)
{
	session_cancel_timer(s, TIMER_RECONNECT, &s->timer_reconnect);
	if (s->connecter)
		s->connecter_ops->stop(s->connecter);
}

/* session_schedule_reconnect: the next attempt after the interval. As libzmq, an
 * interval of -1 or 0 means no reconnection. */
static void
session_schedule_reconnect(struct session *s)
{
	if (s->opts.reconnect_ivl <= 0 || (s->term_pending && s->own.linger == 0))
		return;
	/* As libzmq, each wait gets a random part of up to one configured interval, so
	 * that many peers cut off at once do not come back at once. */
	int ivl = s->reconnect_cur > 0 ? s->reconnect_cur : 0;
	int jitter = (int)(zn_random() % (uint32_t)s->opts.reconnect_ivl);
	ivl = ivl > INT_MAX - jitter ? INT_MAX : ivl + jitter;
	session_add_timer(s, TIMER_RECONNECT, ivl, &s->timer_reconnect);
	session_event(s, ZMQ_EVENT_CONNECT_RETRIED, ivl);
	if (s->opts.reconnect_ivl_max > s->opts.reconnect_ivl) {
		int next = s->reconnect_cur * 2;
		s->reconnect_cur = next > s->opts.reconnect_ivl_max || next <= 0
		                           ? s->opts.reconnect_ivl_max
		                           : next;
	}
}

void
session_connected(struct session *s, struct engine *e)
{
	session_event(s, ZMQ_EVENT_CONNECTED, engine_fd(e));
	s->engine = e;
	engine_plug(e, s, s->poller);
}

void
session_connect_failed(struct session *s)
{
	session_schedule_reconnect(s);
}

void
session_connect_closed(struct session *s, int fd)
{
	session_event(s, ZMQ_EVENT_CLOSED, fd);
}

void
session_connect_delayed(struct session *s)
{
	session_event(s, ZMQ_EVENT_CONNECT_DELAYED, EINPROGRESS);
}

static void
session_start_connecting(struct session *s)
{
	s->connecter_ops->start(s->connecter, s);
}

/* ZAP (session_zap.c). */

int
session_zap_request(struct session *s, struct msg *frames, int n)
{
	return session_zap_send(&s->zap, &s->own.obj, s, &session_sink_ops, frames, n);
}

/* session_zap_read: reads the handler's replies; each whole one goes to the engine. */
static void
session_zap_read(struct session *s)
{
	int n;
	while ((n = session_zap_read_reply(&s->zap)) > 0) {
		if (s->engine)
			engine_zap_reply(s->engine, s->zap.reply, n);
		session_zap_clear(&s->zap);
	}
}

/* The engine's life. */

/* session_probe_early: libzmq makes a connecting socket's pipe at zmq_connect (unless
 * ZMQ_IMMEDIATE) and a ROUTER writes its ZMQ_PROBE_ROUTER probe there, so the probe
 * leaves as soon as the connection is up, whether or not the application calls the
 * socket again. A ROUTER's pipe is made here at the handshake instead, so this session
 * writes the probe on the socket's end before handing it over (nobody else holds that
 * end yet; CMD_BIND publishes it) and marks it so the socket writes no second one.
 * Without memory for it, the socket writes it when it attaches the pipe, as it does
 * for a bound ROUTER. */
static void
session_probe_early(struct session *s, struct pipe *socket_end)
{
	if (!s->active || s->opts.immediate || !s->opts.probe_router ||
	    !s->opts.type->pipe_per_connection)
		return;
	struct msg m;
	msg_init(&m);
	if (pipe_write(socket_end, &m) < 0)
		return;
	pipe_flush(socket_end);
	socket_end->probe_sent = true;
}

int
session_engine_ready(struct session *s, const void *peer_rid, size_t rid_len)
{
	session_event(s, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	s->reconnect_cur = s->opts.reconnect_ivl;
	if (s->pipe || s->term_pending)
		return 0;
	struct object *parents[2] = {&s->own.obj, &s->socket->obj};
	int64_t hwm[2] = {s->opts.rcvhwm, s->opts.sndhwm};
	struct pipe *pp[2];
	int rc = pipe_pair(parents, pp, hwm);
	if (rc < 0)
		return rc;
	if (s->opts.connect_routing_id.len) /* ZMQ_CONNECT_ROUTING_ID names this peer */
		pipe_set_peer_rid(pp[1], s->opts.connect_routing_id.data,
		                  s->opts.connect_routing_id.len);
	else
		pipe_set_peer_rid(pp[1], peer_rid, rid_len);
	session_attach_pipe(s, pp[0]);
	session_probe_early(s, pp[1]);
	/* The shortcut rides with the pipe, not in a command after it: the socket's
	 * first writes on it (a SUB's subscriptions) then skip the I/O thread too. */
	struct pipe_shortcut *sc = s->engine ? engine_shortcut_lend(s->engine) : NULL;
	if (sc)
		pipe_set_shortcut(pp[1], sc);
	own_send_pipe(s->socket, CMD_BIND, pp[1], &s->own);
	return 0;
}

/* session_detach_pipe: a pipe made at the handshake ends with its connection. */
static void
session_detach_pipe(struct session *s)
{
	if (!s->pipe)
		return;
	pipe_terminate(s->pipe, false);
	s->pipe = NULL;
	s->incomplete_out = s->drop_out = false;
	s->pipes_terminating++;
}

/* session_end_is_fatal: ends after which a connecting session does not reconnect:
 * protocol errors and refusals (libzmq's protocol_error), not lost connections and
 * time-outs. */
static bool
session_end_is_fatal(enum engine_end why)
{
	return why == ENGINE_END_PROTOCOL || why == ENGINE_END_AUTH ||
	       why == ENGINE_END_NO_DETAIL || why == ENGINE_END_REFUSED ||
	       why == ENGINE_END_MECH;
}

/* session_give_up: the connection ended and reconnection is off: no engine will
 * come again to send what the socket queued. The socket is asked to forget the
 * endpoint, which ends us; and when we end, now or already asked to, the queue is
 * dropped whatever the linger (session_process_term): waiting for an engine to
 * deliver it would keep our pipe, and so the socket's end of it, for ever (a PAIR
 * refused its next zmq_connect's pipe, zmq_ctx_term never returned). */
static void
session_give_up(struct session *s)
{
	s->gave_up = true;
	if (s->term_pending) {
		session_drop(s);
		session_check_done(s);
		return;
	}
	session_end_endpoint(s);
}

void
session_engine_failed(struct session *s, enum engine_end why, bool handshaking,
                      int protocol_error)
{
	struct engine *e = s->engine;
	int fd = engine_fd(e);
	/* The events libzmq gives: a protocol error in the handshake is named; a peer
	 * that vanished or timed out mid-handshake is "no detail"; a refused READY
	 * (incompatible type, bad properties) is only a disconnect. */
	if (handshaking && why == ENGINE_END_PROTOCOL)
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, protocol_error);
	else if (handshaking && why == ENGINE_END_TIMEOUT)
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT);
	else if (handshaking && why == ENGINE_END_CLOSED)
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
		              protocol_error ? protocol_error : ECONNRESET);
	else if (handshaking && why == ENGINE_END_AUTH)
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, protocol_error);
	else if (handshaking && why == ENGINE_END_NO_DETAIL)
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, protocol_error);
	else if (why == ENGINE_END_MECH) /* a bad CURVE box: libzmq names it too */
		session_event(s, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, protocol_error);
	s->engine = NULL;
	engine_destroy(e);
	if (s->pipe) {
		if (s->incomplete_in)
			pipe_rollback(s->pipe); /* the socket never sees half a message */
		/* The engine flushes once per read: the whole messages it wrote before
		 * it ended are the socket's now, not whenever a next connection flushes
		 * (a pipe kept for the next one would hold them unseen until then). */
		pipe_flush(s->pipe);
	}
	s->incomplete_in = false;
	if (s->incomplete_out) {
		s->drop_out = true; /* nor does the peer */
		s->incomplete_out = false;
	}
	/* A pipe that ends with its connection ends before DISCONNECTED is told: its
	 * PIPE_TERM is in the socket's mailbox before the event is in the monitor's
	 * pipe, so an application that reads the event and then sends finds the socket
	 * no longer routing to this peer (a PUSH lost the message otherwise). An
	 * accepted connection ends its session; a peer that broke the protocol or was
	 * refused is not called again (as libzmq); a pipe per connection was this one's.
	 */
	bool fatal = session_end_is_fatal(why);
	if (!s->active || fatal || options_pipe_per_connection(&s->opts))
		session_detach_pipe(s);
	session_event(s, ZMQ_EVENT_DISCONNECTED, fd);
	if (!s->active) {
		/* Its owner terminates it. */
		if (!s->term_pending)
			own_terminate(&s->own);
		else
			session_check_done(s);
		return;
	}
	if (fatal) {
		/* The session stays (idle) until the socket disconnects or closes. */
		if (s->term_pending)
			session_check_done(s);
		return;
	}
	if (s->pipe && !handshaking && s->opts.type->subscribes)
		pipe_hiccup(s->pipe); /* the next peer needs the subscriptions again */
	if (s->term_pending) {
		/* A pipe holding only its delimiter has nothing left to deliver. */
		if (s->pipe)
			(void)pipe_check_read(s->pipe);
		if (s->own.linger == 0 || session_check_done(s))
			return;
	}
	if (s->opts.reconnect_ivl <= 0)
		session_give_up(s);
	else
		session_schedule_reconnect(s);
}

bool
session_engine_drained(struct session *s)
{
	/* The delimiter may be read before the socket's PIPE_TERM is processed (it is
	 * sent first, but the engine can be mid-pull when the delimiter is flushed):
	 * then the pipe is DELIMITER_RECEIVED here, and the PIPE_TERM that follows
	 * moves it to TERM_ACK_SENT without a word to us, so both states mean the
	 * socket has ended the pipe. */
	bool ended = s->pipe && (s->pipe->state == PIPE_TERM_ACK_SENT ||
	                         s->pipe->state == PIPE_DELIMITER_RECEIVED);
	/* A pipe the socket could not keep (no memory) ends the connection, to be
	 * retried, once it is gone: session_pipe_terminated. */
	bool retry = ended && s->active && s->pipe->ended_nomem;
	if (ended && !retry && s->engine &&
	    (!s->active || options_pipe_per_connection(&s->opts))) {
		/* The socket ended this connection's pipe (a STREAM peer closed by an
		 * empty frame, a refused peer) and all it sent is written: close now,
		 * without waiting for the socket's thread to finish the handshake. */
		struct engine *e = s->engine;
		s->engine = NULL;
		engine_destroy(e); /* our own doing: no DISCONNECTED, as libzmq */
		return true;
	}
	if (!s->term_pending || s->pipe)
		return false;
	return session_check_done(s);
}

/* Termination. */

/* session_check_done: finishes terminating once the pipe is gone and the engine has
 * written everything. true when the session may have been freed. */
static bool
session_check_done(struct session *s)
{
	if (!s->term_pending || s->pipe || s->pipes_terminating > 0)
		return false;
	if (s->engine && !engine_output_empty(s->engine))
		return false;
	s->term_pending = false;
	session_stop_connecting(s);
	session_cancel_timer(s, TIMER_LINGER, &s->timer_linger);
	if (s->engine) {
		struct engine *e = s->engine;
		s->engine = NULL;
		engine_destroy(e);
	}
	own_unregister_term_ack(&s->own);
	return true;
}

/* session_drop: give up on what is still queued (linger 0 or expired). */
static void
session_drop(struct session *s)
{
	session_stop_connecting(s);
	if (s->pipe) {
		pipe_terminate(s->pipe, false);
		/* Still s->pipe until its terminated callback: the ack is counted there.
		 */
	}
	if (s->engine) {
		struct engine *e = s->engine;
		s->engine = NULL;
		engine_destroy(e);
	}
}

static void
session_process_term(struct own *o, int linger)
{
	struct session *s = container_of(o, struct session, own);
	s->term_pending = true;
	s->own.linger = linger; /* the one linger value: own.h */
	if (session_zap_end(&s->zap))
		s->pipes_terminating++; /* counted down in session_pipe_terminated */
	own_register_term_acks(o, 1);   /* given back by session_check_done */
	bool connected = s->engine && engine_handshake_done(s->engine);
	if (linger == 0 || (!s->active && !connected) || s->gave_up) {
		session_drop(s);
	} else if (s->pipe && s->pipe->state == PIPE_ACTIVE) {
		/* Not the socket closing (it would have sent PIPE_TERM first) but an
		 * unbind or disconnect: what is queued is dropped. */
		session_drop(s);
	} else if (linger > 0) {
		session_add_timer(s, TIMER_LINGER, linger, &s->timer_linger);
	}
	/* With no connection, a pipe holding nothing but the delimiter can end now;
	 * waiting for a peer to deliver nothing to would block zmq_ctx_term. */
	if (s->pipe && !s->engine)
		(void)pipe_check_read(s->pipe);
	own_process_term(o, linger);
	session_check_done(s);
}

static void
session_process(struct own *o, const struct command *cmd)
{
	struct session *s = container_of(o, struct session, own);
	switch (cmd->type) {
	case CMD_PLUG:
		if (s->active)
			session_start_connecting(s);
		break;
	case CMD_ATTACH: {
		struct engine *e = cmd->args.attach.engine;
		if (s->term_pending) {
			engine_destroy(e);
			break;
		}
		s->engine = e;
		engine_plug(e, s, s->poller);
		break;
	}
	default: break;
	}
}

static void
session_destroy(struct own *o)
{
	struct session *s = container_of(o, struct session, own);
	session_stop_connecting(s);
	session_cancel_timer(s, TIMER_LINGER, &s->timer_linger);
	if (s->engine)
		engine_destroy(s->engine);
	if (s->connecter)
		s->connecter_ops->destroy(s->connecter);
	zn_free(s->endpoint);
	zn_free(s);
}

static const struct own_ops session_own_ops = {
        .process = session_process,
        .process_term = session_process_term,
        .destroy = session_destroy,
};

/* The pipe to the socket. */

static void
session_read_activated(void *sink, struct pipe *p)
{
	struct session *s = sink;
	if (p == s->zap.pipe) {
		session_zap_read(s);
		return;
	}
	if (p != s->pipe)
		return;
	if (s->engine)
		engine_restart_output(s->engine);
	else if (s->term_pending)
		(void)pipe_check_read(p); /* a lone delimiter ends the pipe */
}

/* session_reading_kept: CMD_PIPE_KEPT (pipe/shortcut.h). */
static void
session_reading_kept(void *sink, struct pipe *p)
{
	struct session *s = sink;
	if (p == s->pipe && s->engine)
		engine_watch_kept(s->engine);
}

static void
session_write_activated(void *sink, struct pipe *p)
{
	struct session *s = sink;
	if (p == s->pipe && s->engine)
		engine_restart_input(s->engine);
}

/* session_retry_connection: the socket could not keep this connection's pipe for
 * want of memory (an attach, a subscription it could not store). A connection with
 * no pipe would stay up doing nothing, and the socket would never hear from the peer
 * again: it ends as a failed one does, and is made again after the reconnect
 * interval; its handshake makes a new pipe (and the peer resends its subscriptions).
 */
static void
session_retry_connection(struct session *s)
{
	session_engine_failed(s, ENGINE_END_NOMEM, !engine_handshake_done(s->engine), 0);
}

static void
session_pipe_terminated(void *sink, struct pipe *p)
{
	struct session *s = sink;
	if (p == s->zap.pipe) {
		/* The handler closed. As libzmq, a request it took stays unanswered: the
		 * handshake waits until the peer leaves or ZMQ_HANDSHAKE_IVL ends it.
		 * Failing it now would let the peer reconnect and, with no handler
		 * left, pass NULL or CURVE unauthenticated. */
		s->zap.pipe = NULL;
		session_zap_clear(&s->zap);
		/* But a handler that could not take our pipe for want of memory is still
		 * there: the connection ends and is retried (through ZAP again). */
		if (p->ended_nomem && s->engine && !s->term_pending)
			session_retry_connection(s);
		return;
	}
	if (p == s->pipe) {
		s->pipe = NULL;
		s->incomplete_in = s->incomplete_out = s->drop_out = false;
		if (!s->term_pending && !s->active) {
			own_terminate(&s->own); /* the socket refused or closed it */
			return;
		}
		if (!s->term_pending && p->ended_nomem && s->engine) {
			session_retry_connection(s);
			return;
		}
	} else {
		s->pipes_terminating--;
	}
	if (s->term_pending)
		session_check_done(s);
}

static const struct pipe_sink_ops session_sink_ops = {
        .read_activated = session_read_activated,
        .write_activated = session_write_activated,
        .reading_kept = session_reading_kept,
        .terminated = session_pipe_terminated,
};

static void
session_timer_event(void *arg, int id)
{
	struct session *s = arg;
	switch (id) {
	case TIMER_RECONNECT: session_start_connecting(s); break;
	case TIMER_LINGER:
		session_drop(s);
		session_check_done(s);
		break;
	}
}

static const struct poll_handler_ops session_handler = {
        .timer_event = session_timer_event,
};

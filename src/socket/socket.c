/*
 * socket.c: see socket.h.
 */
#include "socket/socket.h"
#include "core/ctx.h"
#include "core/poller.h"
#include "core/reaper.h"
#include "platform/alloc.h"
#include "zmq.h"
#include "platform/container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SOCKET_TIMER_LINGER 1

/* The socket types, by ZMQ_* number (socket_types.c). */
extern const struct socket_ops *const socket_types[];
extern const size_t socket_types_count;

static const struct own_ops socket_own_ops;
static const struct pipe_sink_ops socket_sink_ops;
static const struct poll_handler_ops socket_reap_handler;

static struct socket *
socket_from_own(struct own *o)
{
	return container_of(o, struct socket, own);
}

int
socket_new(struct socket **out, struct ctx *ctx, int type)
{
	if (type < 0 || (size_t)type >= socket_types_count || !socket_types[type])
		return -EINVAL;
	const struct socket_ops *ops = socket_types[type];
	uint32_t tid;
	int rc = ctx_socket_open(ctx, &tid);
	if (rc < 0)
		return rc;
	struct socket *s = zn_calloc(1, ops->size);
	if (!s) {
		rc = -ENOMEM;
		goto fail_alloc;
	}
	own_init(&s->own, ctx, tid, &socket_own_ops);
	s->ops = ops;
	options_init(&s->options, ops->type);
	ctx_socket_defaults(ctx, &s->options.linger, &s->options.ipv6);
	pipe_array_init(&s->pipes, PIPE_ARRAY_SOCKET);
	s->reap_handle = poller_handle_new();
	if (!s->reap_handle) {
		rc = -ENOMEM;
		goto fail_handle;
	}
	rc = mailbox_new(&s->mailbox);
	if (rc < 0)
		goto fail_mailbox;
	rc = ops->init(s);
	if (rc < 0)
		goto fail_init;
	zn_mutex_init(&s->monitor_sync);
	s->monitor.event = socket_monitor_event;
	s->monitor.arg = s;
	s->tag = SOCKET_TAG_ALIVE;
	ctx_socket_register(ctx, tid, s->mailbox, &s->own.obj);
	*out = s;
	return 0;

fail_init:
	mailbox_release(s->mailbox);
fail_mailbox:
	zn_free(s->reap_handle);
fail_handle:
	zn_free(s);
fail_alloc:
	ctx_socket_release(ctx, tid);
	return rc;
}

/* socket_process_commands: runs commands, waiting up to timeout_ms for the first one
 * (0: don't wait, -1: forever). 0, -ETERM or -EINTR. */
static int
socket_process_commands(struct socket *s, int timeout_ms)
{
	struct command cmd;
	int rc = mailbox_recv(s->mailbox, &cmd, timeout_ms);
	while (rc == 0) {
		object_dispatch(&cmd);
		rc = mailbox_recv(s->mailbox, &cmd, 0);
	}
	if (rc == -EINTR)
		return -EINTR;
	return s->ctx_terminated ? -ETERM : 0;
}

void
socket_set_last_endpoint(struct socket *s, const char *uri)
{
	snprintf(s->options.last_endpoint, sizeof s->options.last_endpoint, "%s", uri);
}

/* socket_apply_hwms: ZMQ_SNDHWM or ZMQ_RCVHWM changed. As in libzmq 4.3, the pipes
 * that exist take the new values too, and their peer ends learn them. Pipes already
 * sent to us (an inproc connect to our bind) are attached first, so they count. */
static void
socket_apply_hwms(struct socket *s)
{
	(void)socket_process_commands(s, 0); /* ETERM: the next call reports it */
	int64_t snd = s->options.sndhwm, rcv = s->options.rcvhwm;
	for (uint32_t i = 0; i < s->pipes.n; i++) {
		struct pipe *p = s->pipes.items[i];
		int64_t out = pipe_hwm_with(snd, p->out_boost);
		int64_t in = pipe_hwm_with(rcv, p->in_boost);
		bool inproc = p->out_boost >= 0;
		pipe_update_hwms(p, out, in);
		pipe_send_hwms(p, in, out, inproc ? rcv : -1, inproc ? snd : -1);
	}
}

/* socket_set_filter: the accept filters; 1 for other options. */
static int
socket_set_filter(struct socket *s, int option, const void *val, size_t len)
{
	switch (option) {
	case ZMQ_TCP_ACCEPT_FILTER:
		return tcp_filters_set(&s->filters, val, len, s->options.ipv6 != 0);
	case ZMQ_IPC_FILTER_UID:
		return ipc_filters_set(&s->filters, IPC_FILTER_UID, val, len);
	case ZMQ_IPC_FILTER_GID:
		return ipc_filters_set(&s->filters, IPC_FILTER_GID, val, len);
	case ZMQ_IPC_FILTER_PID:
		return ipc_filters_set(&s->filters, IPC_FILTER_PID, val, len);
	default: return 1;
	}
}

int
socket_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	if (s->ctx_terminated)
		return -ETERM;
	if (!socket_type_takes_option(s->options.type, option))
		return -EINVAL;
	if (s->ops->setsockopt) {
		int rc = s->ops->setsockopt(s, option, val, len);
		if (rc <= 0)
			return rc;
	}
	int rc = socket_set_filter(s, option, val, len);
	if (rc <= 0)
		return rc;
	rc = options_set(&s->options, option, val, len);
	if (rc == 0 && (option == ZMQ_SNDHWM || option == ZMQ_RCVHWM))
		socket_apply_hwms(s);
	return rc;
}

/* socket_get_int: as options_get, the rest of a wider buffer is cleared (libzmq's
 * test_getsockopt_memset reads ZMQ_RCVMORE into an int64_t). */
static int
socket_get_int(void *val, size_t *len, int v)
{
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof v);
	memset((char *)val + sizeof v, 0, *len - sizeof v);
	*len = sizeof v;
	return 0;
}

int
socket_getsockopt(struct socket *s, int option, void *val, size_t *len)
{
	if (s->ctx_terminated)
		return -ETERM;
	switch (option) {
	case ZMQ_RCVMORE: return socket_get_int(val, len, s->rcvmore);
	case ZMQ_FD: return socket_get_int(val, len, mailbox_fd(s->mailbox));
	case ZMQ_THREAD_SAFE: return socket_get_int(val, len, 0);
	case ZMQ_EVENTS: {
		int ev, rc = socket_events(s, &ev);
		if (rc < 0)
			return rc;
		return socket_get_int(val, len, ev);
	}
	default: return options_get(&s->options, option, val, len);
	}
}

int
socket_fd(struct socket *s)
{
	return mailbox_fd(s->mailbox);
}

int
socket_events(struct socket *s, int *events)
{
	if (s->ctx_terminated)
		return -ETERM;
	/* Clear the fd first, then run every command: whatever arrives after this
	 * raises the fd again, which is the edge ZMQ_FD users wait for. */
	mailbox_drain_signal(s->mailbox);
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	int ev = 0;
	if (s->ops->has_in(s))
		ev |= ZMQ_POLLIN;
	if (s->ops->has_out(s))
		ev |= ZMQ_POLLOUT;
	*events = ev;
	return 0;
}

/* A scheme is shorter than this; a longer one is a malformed endpoint (-EINVAL). */
#define SOCKET_SCHEME_MAX 16

/* socket_parse: splits "scheme://address" into the scheme's transport (*t, NULL for a
 * scheme zinc does not have) and the address. -EINVAL when malformed. */
static int
socket_parse(const char *uri, const struct transport_ops **t, const char **addr)
{
	const char *sep = strstr(uri, "://");
	if (!sep || sep == uri || sep - uri >= SOCKET_SCHEME_MAX)
		return -EINVAL;
	*t = transport_find(uri, (size_t)(sep - uri));
	*addr = sep + 3;
	return 0;
}

/* socket_parse_endpoint: socket_parse for a bind or connect: -EPROTONOSUPPORT for
 * transports zinc does not have (yet), -EINVAL for an empty address. */
static int
socket_parse_endpoint(const char *uri, const struct transport_ops **t, const char **addr)
{
	int rc = socket_parse(uri, t, addr);
	if (rc < 0)
		return rc;
	if (!*t)
		return -EPROTONOSUPPORT;
	return (*addr)[0] ? 0 : -EINVAL;
}

int
socket_bind(struct socket *s, const char *uri)
{
	if (s->ctx_terminated)
		return -ETERM;
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	const struct transport_ops *t;
	const char *addr;
	if ((rc = socket_parse_endpoint(uri, &t, &addr)) < 0)
		return rc;
	if (t == &transport_inproc)
		return socket_inproc_bind(s, uri, addr);
	return socket_transport_bind(s, uri, t, addr);
}

int
socket_connect(struct socket *s, const char *uri)
{
	if (s->ctx_terminated)
		return -ETERM;
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	const struct transport_ops *t;
	const char *addr;
	if ((rc = socket_parse_endpoint(uri, &t, &addr)) < 0)
		return rc;
	if (t == &transport_inproc)
		return socket_inproc_connect(s, uri, addr);
	return socket_transport_connect(s, uri, t, addr);
}

/* socket_end_endpoint: ends what an endpoint record made (its pipe, its listener or
 * session) and frees the record, which the caller has unlinked. */
static void
socket_end_endpoint(struct socket *s, struct endpoint_rec *r)
{
	/* Forget the endpoint now; its pipe and session end in the background. */
	struct pipe *p = r->pipe;
	struct own *child = r->child;
	bool pending = r->pending;
	socket_endpoint_free(r);
	if (p && pending) {
		p->user = NULL;
		socket_drop_pending_pipe(s, p);
	} else if (p) {
		/* At once, so no further message is queued to this peer. */
		p->user = NULL;
		pipe_terminate(p, false);
	}
	if (child)
		own_term_child(&s->own, child);
}

/* socket_term_endpoint: what zmq_unbind and zmq_disconnect both do, as in libzmq:
 * end every binding or connection made with this endpoint. 0 or -ENOENT. */
static int
socket_term_endpoint(struct socket *s, const char *uri)
{
	if (s->ctx_terminated)
		return -ETERM;
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	const struct transport_ops *t;
	const char *addr;
	if (!uri || socket_parse(uri, &t, &addr) < 0)
		return -EINVAL;
	int found = 0;
	if (t == &transport_inproc && socket_inproc_unbind(s, addr) == 0)
		found++;
	for (struct endpoint_rec **pp = &s->endpoints; *pp;) {
		struct endpoint_rec *r = *pp;
		bool match = strcmp(r->uri, uri) == 0 ||
		             (r->given && strcmp(r->given, uri) == 0);
		if (!match) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		found++;
		socket_end_endpoint(s, r);
	}
	return found ? 0 : -ENOENT;
}

/* socket_session_ended: CMD_TERM_ENDPOINT from a connect session whose connection
 * ended with reconnection off: its endpoint is forgotten as by zmq_disconnect, so
 * the socket (a PAIR) is free for a new zmq_connect, as in libzmq. */
static void
socket_session_ended(struct socket *s, struct own *session)
{
	if (own_is_terminating(&s->own))
		return; /* the session is ending with the socket anyway */
	for (struct endpoint_rec **pp = &s->endpoints; *pp; pp = &(*pp)->next) {
		struct endpoint_rec *r = *pp;
		if (r->child == session) {
			*pp = r->next;
			socket_end_endpoint(s, r);
			return;
		}
	}
}

int
socket_unbind(struct socket *s, const char *uri)
{
	return socket_term_endpoint(s, uri);
}

int
socket_disconnect(struct socket *s, const char *uri)
{
	return socket_term_endpoint(s, uri);
}

/* socket_wait: after an -EAGAIN, waits for commands until the deadline. 0 to try
 * again, -EAGAIN when the time is up, -ETERM or -EINTR. */
static int
socket_wait(struct socket *s, int timeout_ms, int64_t deadline)
{
	int wait = timeout_ms;
	if (timeout_ms > 0) {
		int64_t left = deadline - clock_now_ms();
		if (left <= 0)
			return -EAGAIN;
		wait = (int)left;
	}
	return socket_process_commands(s, wait);
}

static inline void
socket_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* socket_spin: with ZINC_SHM_SPIN_US, before a blocking send or receive sleeps, watch
 * the direct roads of its pipes (pipe/direct.h) for up to that long. While we watch,
 * the roads' wake-up requests are taken back, so the peer's next message costs it no
 * system call and us no hop through the I/O thread. true when a road became ready
 * (its pipe is active again); false when the time ran out (the roads are armed again:
 * the wait that follows is woken as usual). */
static bool
socket_spin(struct socket *s, bool in)
{
	int budget = s->options.shm_spin_us;
	if (budget <= 0)
		return false;
	struct pipe **pipes = s->pipes.items;
	uint32_t n = s->pipes.n, direct = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (pipe_has_direct(pipes[i])) {
			pipe_spin_quiet(pipes[i], in);
			direct++;
		}
	}
	if (direct == 0)
		return false;
	int64_t deadline = clock_now_us() + budget;
	bool ready = false;
	for (uint32_t round = 1; !ready; round++) {
		for (uint32_t i = 0; i < n && !ready; i++)
			ready = pipe_spin_ready(pipes[i], in);
		if (!ready && round % 64 == 0 && clock_now_us() >= deadline)
			break;
		socket_cpu_relax();
	}
	for (uint32_t i = 0; i < n; i++)
		ready |= pipe_arm_deferred(pipes[i]); /* data came as the time ran out */
	return ready;
}

/* socket_wait_or_spin: socket_wait, after spinning if the socket does. */
static int
socket_wait_or_spin(struct socket *s, bool in, int timeout_ms, int64_t deadline)
{
	if (socket_spin(s, in)) {
		if (timeout_ms > 0 && clock_now_ms() >= deadline)
			return -EAGAIN;
		return socket_process_commands(s, 0);
	}
	return socket_wait(s, timeout_ms, deadline);
}

/* socket_defer_begin / socket_defer_end: around a send or receive that will spin
 * rather than sleep at once, the pipes leave their roads unarmed when they run dry
 * (socket_spin arms them if it gives up); at the end, whatever was left unarmed is
 * armed, so ZMQ_FD and zmq_poll are woken as usual. */
static bool
socket_defer_begin(struct socket *s, int flags, int timeout)
{
	if (s->options.shm_spin_us <= 0 || (flags & ZMQ_DONTWAIT) || timeout == 0)
		return false;
	s->defer_arm = true;
	return true;
}

static void
socket_defer_end(struct socket *s)
{
	s->defer_arm = false;
	struct pipe **pipes = s->pipes.items;
	for (uint32_t i = 0; i < s->pipes.n; i++)
		(void)pipe_arm_deferred(pipes[i]);
}

int
socket_send(struct socket *s, struct msg *m, int flags)
{
	if (s->ctx_terminated)
		return -ETERM;
	if (!msg_is_valid(m))
		return -EFAULT;
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	msg_clear_flags(m, MSGF_MORE | MSGF_COMMAND | MSGF_ROUTING);
	if (flags & ZMQ_SNDMORE)
		msg_set_flags(m, MSGF_MORE);
	msg_set_metadata(m, NULL);
	int timeout = s->options.sndtimeo;
	bool deferred = socket_defer_begin(s, flags, timeout);
	rc = s->ops->send(s, m);
	if (rc == -EAGAIN && !(flags & ZMQ_DONTWAIT) && timeout != 0) {
		int64_t deadline = timeout > 0 ? clock_now_ms() + timeout : 0;
		do {
			rc = socket_wait_or_spin(s, false, timeout, deadline);
			if (rc < 0)
				break;
			rc = s->ops->send(s, m);
		} while (rc == -EAGAIN);
	}
	if (deferred)
		socket_defer_end(s);
	return rc;
}

/* socket_conflate: ZMQ_CONFLATE on PULL, DEALER and PAIR (SUB does its own): only the
 * newest message counts, so everything queued behind m replaces it. As in libzmq,
 * conflation is for single-part messages. */
static void
socket_conflate(struct socket *s, struct msg *m)
{
	if (!s->options.type->conflate_on_recv)
		return;
	struct msg next;
	msg_init(&next);
	while (!(m->flags & MSGF_MORE) && s->ops->recv(s, &next) == 0) {
		msg_close(m);
		msg_move(m, &next);
		msg_init(&next);
	}
	msg_close(&next);
}

void
socket_rollback(struct socket *s)
{
	if (s->ops->rollback)
		s->ops->rollback(s);
}

int
socket_recv(struct socket *s, struct msg *m, int flags)
{
	if (s->ctx_terminated)
		return -ETERM;
	if (!msg_is_valid(m))
		return -EFAULT;
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	msg_close(m);
	msg_init(m);
	int timeout = s->options.rcvtimeo;
	bool deferred = socket_defer_begin(s, flags, timeout);
	rc = s->ops->recv(s, m);
	if (rc == -EAGAIN && !(flags & ZMQ_DONTWAIT) && timeout != 0) {
		int64_t deadline = timeout > 0 ? clock_now_ms() + timeout : 0;
		do {
			rc = socket_wait_or_spin(s, true, timeout, deadline);
			if (rc < 0)
				break;
			rc = s->ops->recv(s, m);
		} while (rc == -EAGAIN);
	}
	if (deferred)
		socket_defer_end(s);
	if (rc < 0)
		return rc;
	if (rc == 0 && s->options.conflate)
		socket_conflate(s, m);
	if (rc == 0)
		s->rcvmore = (m->flags & MSGF_MORE) != 0;
	return rc;
}

/* Pipes. */

int
socket_attach_pipe(struct socket *s, struct pipe *p)
{
	int rc = pipe_array_reserve(&s->pipes);
	if (rc < 0)
		return rc;
	rc = s->ops->attach_pipe(s, p);
	if (rc < 0)
		return rc;
	pipe_set_sink(p, s, &socket_sink_ops);
	pipe_set_defer_arm(p, &s->defer_arm);
	pipe_array_push(&s->pipes, p);
	if (own_is_terminating(&s->own)) {
		own_register_term_acks(&s->own, 1);
		pipe_terminate(p, false);
	}
	return 0;
}

static void
socket_read_activated(void *sink, struct pipe *p)
{
	struct socket *s = sink;
	if (s->ops->read_activated)
		s->ops->read_activated(s, p);
}

static void
socket_write_activated(void *sink, struct pipe *p)
{
	struct socket *s = sink;
	if (s->ops->write_activated)
		s->ops->write_activated(s, p);
}

static void
socket_hiccuped(void *sink, struct pipe *p)
{
	struct socket *s = sink;
	if (s->ops->hiccuped)
		s->ops->hiccuped(s, p);
}

static void
socket_pipe_terminated(void *sink, struct pipe *p)
{
	struct socket *s = sink;
	if (!pipe_array_contains(&s->pipes, p)) {
		/* Never attached: its attach failed for lack of memory. */
		s->pipes_refused--;
		if (own_is_terminating(&s->own))
			own_unregister_term_ack(&s->own);
		return;
	}
	s->ops->pipe_terminated(s, p);
	pipe_array_erase(&s->pipes, p);
	for (struct endpoint_rec **pp = &s->endpoints; *pp;) {
		struct endpoint_rec *r = *pp;
		if (r->pipe == p && r->child) {
			r->pipe = NULL; /* the session's record outlives its pipe */
			pp = &r->next;
		} else if (r->pipe == p) {
			*pp = r->next;
			socket_endpoint_free(r);
		} else {
			pp = &r->next;
		}
	}
	if (own_is_terminating(&s->own))
		own_unregister_term_ack(&s->own);
}

static const struct pipe_sink_ops socket_sink_ops = {
        .read_activated = socket_read_activated,
        .write_activated = socket_write_activated,
        .hiccuped = socket_hiccuped,
        .terminated = socket_pipe_terminated,
};

void
socket_refuse_pipe(struct socket *s, struct pipe *p)
{
	/* No memory to keep it: end it cleanly, and wait for it before freeing. */
	pipe_set_sink(p, s, &socket_sink_ops);
	s->pipes_refused++;
	if (own_is_terminating(&s->own))
		own_register_term_acks(&s->own, 1);
	pipe_terminate(p, false);
}

void
socket_drop_pending_pipe(struct socket *s, struct pipe *p)
{
	struct ctx *ctx = s->own.obj.ctx;
	ctx_lock_endpoints(ctx);
	struct ctx_pending *e = ctx_pending_take_pipe(ctx, p->peer);
	ctx_unlock_endpoints(ctx);
	if (!e)
		return; /* a binder took it: CMD_INPROC_CONNECTED is on its way */
	ctx_pending_free(e);
	socket_pipe_terminated(s, p);
	pipe_destroy_pair_unused(p);
}

/* Termination (runs in the reaper thread). */

static void
socket_process_term(struct own *o, int linger)
{
	struct socket *s = socket_from_own(o);
	struct ctx *ctx = o->obj.ctx;
	ctx_lock_endpoints(ctx);
	ctx_endpoint_remove(ctx, NULL, o);
	ctx_unlock_endpoints(ctx);
	/* Each pipe's terminated callback takes one ack back; count them before any
	 * callback can run. Pending inproc connects are resolved last, because a
	 * dropped one reports its termination at once. */
	own_register_term_acks(o, (int)s->pipes.n + s->pipes_refused);
	for (uint32_t i = 0; i < s->pipes.n; i++) {
		struct pipe *p = s->pipes.items[i];
		struct endpoint_rec *r = p->user;
		if (!r || !r->pending)
			pipe_terminate(p, false);
	}
	own_process_term(o, linger);
	socket_inproc_close_pending(s, linger);
}

static void
socket_process(struct own *o, const struct command *cmd)
{
	struct socket *s = socket_from_own(o);
	switch (cmd->type) {
	case CMD_STOP:
		s->ctx_terminated = true;
		/* As libzmq: a context that ends resolves inproc connects still waiting
		 * for a bind (their messages are dropped), or zmq_ctx_term would wait
		 * for a bind that can no longer come. */
		if (own_is_terminating(&s->own))
			socket_inproc_linger_expired(s);
		break;
	case CMD_BIND:
		if (socket_attach_pipe(s, cmd->args.bind.pipe) < 0)
			socket_refuse_pipe(s, cmd->args.bind.pipe);
		break;
	case CMD_INPROC_CONNECTED: socket_inproc_connected(s, cmd->args.bind.pipe); break;
	case CMD_TERM_ENDPOINT:
		socket_session_ended(s, cmd->args.term_endpoint.endpoint);
		break;
	default: break;
	}
}

static void
socket_destroy(struct own *o)
{
	socket_from_own(o)->destroyed = true;
}

static const struct own_ops socket_own_ops = {
        .process = socket_process,
        .process_term = socket_process_term,
        .destroy = socket_destroy,
};

/* socket_free: the socket has terminated; give everything back. Reaper thread. */
static void
socket_free(struct socket *s)
{
	struct ctx *ctx = s->own.obj.ctx;
	struct reaper *r = s->reaper;
	if (s->reap_handle)
		poller_rm_fd(s->poller, s->reap_handle);
	poller_cancel_timer(s->poller, &s->linger_timer);
	/* The monitor stops last, as libzmq's: the events of the socket's own
	 * ending (a listener's CLOSED, a connection's DISCONNECTED) come first. */
	socket_monitor_close(s);
	s->ops->fini(s);
	while (s->endpoints) {
		struct endpoint_rec *e = s->endpoints;
		s->endpoints = e->next;
		socket_endpoint_free(e);
	}
	zn_mutex_fini(&s->monitor_sync);
	pipe_array_fini(&s->pipes);
	tcp_filters_fini(&s->filters);
	ipc_filters_fini(&s->filters);
	ctx_socket_closed(ctx, s->own.obj.tid, &s->own.obj);
	/* The sender of the last term ack may still be inside mailbox_send: the
	 * mailbox outlives the socket until it leaves (mailbox.h, "Lifetime"). */
	mailbox_release(s->mailbox);
	zn_free(s);
	reaper_socket_gone(r);
}

static void
socket_reap_in_event(void *arg)
{
	struct socket *s = arg;
	mailbox_drain_signal(s->mailbox);
	(void)socket_process_commands(s, 0);
	if (s->destroyed)
		socket_free(s);
}

static void
socket_timer_event(void *arg, int id)
{
	struct socket *s = arg;
	if (id == SOCKET_TIMER_LINGER) {
		socket_inproc_linger_expired(s);
		if (s->destroyed)
			socket_free(s);
	}
}

static const struct poll_handler_ops socket_reap_handler = {
        .in_event = socket_reap_in_event,
        .timer_event = socket_timer_event,
};

void
socket_start_linger_timer(struct socket *s, int linger)
{
	poller_arm_timer(s->poller, &s->linger_timer, linger, &socket_reap_handler, s,
	                 SOCKET_TIMER_LINGER);
}

static void
socket_start_reaping(void *sock, void *reaper)
{
	struct socket *s = sock;
	s->reaper = reaper;
	s->poller = reaper_poller(reaper);
	struct poll_handle *h = s->reap_handle;
	if (poller_add_handle(s->poller, h, mailbox_fd(s->mailbox), &socket_reap_handler,
	                      s) < 0) {
		/* epoll refused the fd; we cannot be woken, so finish what we can now. */
		s->reap_handle = NULL;
	} else {
		poller_set_pollin(s->poller, h);
	}
	own_terminate(&s->own);
	socket_reap_in_event(s);
}

void
socket_close(struct socket *s)
{
	s->tag = SOCKET_TAG_DEAD;
	if (ctx_inherited(s->own.obj.ctx))
		return; /* a fork()ed child's copy: no reaper here, and see ctx_inherited
		         */
	s->own.linger = s->options.linger;
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = ctx_reaper_object(s->own.obj.ctx);
	cmd.type = CMD_REAP;
	cmd.args.reap.socket = s;
	cmd.args.reap.start = socket_start_reaping;
	object_send(&cmd);
}

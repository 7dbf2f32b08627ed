/*
 * socket.c: a socket's life: socket_new, the commands it runs, the pipes attached to
 * it, and its end (zmq_close, termination in the reaper, linger for pending inproc
 * connects, the free). Options are in socket_options.c, endpoints in
 * socket_endpoint.c, sending and receiving in socket_io.c; see socket.h.
 *
 * Threads: the application thread that owns the socket until zmq_close, the reaper
 * after it.
 */
#include "socket/socket.h"
#include "core/ctx.h"
#include "core/poller.h"
#include "core/reaper.h"
#include "platform/alloc.h"
#include "platform/container.h"

#include <errno.h>
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
	s->own.linger = s->options.linger; /* see socket_setsockopt */
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
	atomic_init(&s->use, 0);
	atomic_init(&s->tag, SOCKET_TAG_ALIVE);
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

int
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
	pipe_terminate_nomem(p); /* a session behind it retries its connection */
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
		else
			socket_endpoint_adopt_pipe(s, cmd->args.bind.pipe,
			                           cmd->args.bind.origin);
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

/* socket_reap: gives the closed socket to the reaper, which ends it within its linger
 * (socket_start_reaping, in the reaper's thread). Once, by socket_close or by the last
 * borrower to leave. */
static void
socket_reap(struct socket *s)
{
	s->own.linger = s->options.linger;
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = ctx_reaper_object(s->own.obj.ctx);
	cmd.type = CMD_REAP;
	cmd.args.reap.socket = s;
	cmd.args.reap.start = socket_start_reaping;
	object_send(&cmd);
}

/* socket_claim_reap: true for the one caller that finds the socket closed with no
 * borrower left and marks it reaped. */
static bool
socket_claim_reap(struct socket *s)
{
	unsigned expect = SOCKET_USE_CLOSED;
	return atomic_compare_exchange_strong(&s->use, &expect,
	                                      SOCKET_USE_CLOSED | SOCKET_USE_REAPED);
}

void
socket_close(struct socket *s)
{
	atomic_store_explicit(&s->tag, SOCKET_TAG_DEAD, memory_order_relaxed);
	if (ctx_inherited(s->own.obj.ctx))
		return; /* a fork()ed child's copy: no reaper here, and see ctx_inherited
		         */
	unsigned old = atomic_fetch_or(&s->use, SOCKET_USE_CLOSED);
	if ((old & SOCKET_USE_COUNT) != 0) {
		/* Another thread waits on it: wake that wait, which sees the socket
		 * closed, and the last to leave gives it to the reaper. The fd stays
		 * raised until then: no one else reads the mailbox. */
		mailbox_raise(s->mailbox);
		return;
	}
	if (socket_claim_reap(s))
		socket_reap(s);
}

bool
socket_borrow(struct socket *s)
{
	atomic_fetch_add(&s->use, 1);
	if (socket_check_tag(s))
		return true;
	socket_unborrow(s);
	return false;
}

void
socket_unborrow(struct socket *s)
{
	unsigned old = atomic_fetch_sub(&s->use, 1);
	if (old == (SOCKET_USE_CLOSED | 1) && socket_claim_reap(s))
		socket_reap(s);
}

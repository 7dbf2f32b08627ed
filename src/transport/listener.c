/*
 * listener.c: see listener.h.
 */
#include "transport/listener.h"
#include "core/ctx.h"
#include "platform/alloc.h"
#include "proto/engine.h"
#include "proto/session.h"
#include "zmq.h"
#include "platform/container.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct listener {
	struct own own;
	struct poller *poller;
	struct poll_handle *handle;
	struct poll_timer retry; /* armed while accepting waits for descriptors */
	struct own *socket;
	struct options opts;
	const struct transport_ops *t;
	struct accept_filters filters; /* the transport's part of the socket's */
	struct monitor_sink monitor;
	int fd;
	char endpoint[256];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* socket file */
	uint64_t path_dev, path_ino; /* the file we made, so we never unlink another's */
	char dir[PATH_MAX];          /* a private directory of the bind's */
};

static const struct own_ops listener_own_ops;

/* listener_open: the listening descriptor: with ZMQ_USE_FD the application's own,
 * which must be of the transport's family, else a new socket bound to b's address.
 * On 0 *fd is ours. */
static int
listener_open(const struct transport_ops *t, const struct options *opts,
              const struct transport_bind *b, int *fd)
{
	if (!b->adopted)
		return t->listen(&b->addr, opts, fd);
	int rc = t->adopt(b->adopted_fd);
	if (rc == 0)
		*fd = b->adopted_fd;
	return rc;
}

/* listener_copy_filters: the listener's own copy of what its transport checks.
 * 0 or -ENOMEM. */
static int
listener_copy_filters(struct listener *l, const struct accept_filters *f)
{
	if (!f || !l->t->copy_filters)
		return 0;
	return l->t->copy_filters(&l->filters, f);
}

/* listener_own_files: the socket file and directory the bind made, removed at close. */
static void
listener_own_files(struct listener *l, const struct transport_bind *b)
{
	snprintf(l->dir, sizeof l->dir, "%s", b->dir);
	if (b->adopted || !b->path[0])
		return;
	snprintf(l->path, sizeof l->path, "%s", b->path);
	if (zn_file_id(l->path, &l->path_dev, &l->path_ino) < 0)
		l->path[0] = '\0'; /* cannot recognise it later: leave it */
}

static void
listener_free(struct listener *l)
{
	tcp_filters_fini(&l->filters);
	ipc_filters_fini(&l->filters);
	zn_free(l);
}

int
listener_new(struct listener **out, struct io_thread *io, const struct listener_socket *s,
             const struct transport_ops *t, const struct transport_bind *b)
{
	struct listener *l = zn_calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->t = t;
	int rc = listener_copy_filters(l, s->filters);
	if (rc < 0) {
		listener_free(l);
		return rc;
	}
	int fd;
	rc = listener_open(t, s->opts, b, &fd);
	if (rc < 0) {
		listener_free(l);
		return rc;
	}
	t->endpoint(b, fd, l->endpoint, sizeof l->endpoint);
	own_init(&l->own, s->own->obj.ctx, io_thread_tid(io), &listener_own_ops);
	l->poller = io_thread_poller(io);
	l->socket = s->own;
	l->opts = *s->opts;
	if (s->monitor)
		l->monitor = *s->monitor;
	l->fd = fd;
	listener_own_files(l, b);
	monitor_event(&l->monitor, ZMQ_EVENT_LISTENING, fd, l->endpoint);
	*out = l;
	return 0;
}

const char *
listener_endpoint(const struct listener *l)
{
	return l->endpoint;
}

struct own *
listener_own(struct listener *l)
{
	return &l->own;
}

/* listener_serve: gives an accepted connection its engine and session, or closes it
 * at once (ACCEPT_FAILED, EACCES) when the peer may not connect. */
static void
listener_serve(struct listener *l, int fd, const struct zn_sockaddr *peer)
{
	if (!l->t->admit(&l->filters, fd, peer)) {
		zn_close_fd(fd);
		monitor_event(&l->monitor, ZMQ_EVENT_ACCEPT_FAILED, EACCES, l->endpoint);
		return;
	}
	struct ctx *ctx = l->own.obj.ctx;
	if (l->t->tune)
		l->t->tune(fd, &l->opts);
	char ip[128];
	l->t->peer_address(fd, peer, ip, sizeof ip);
	struct io_thread *io = ctx_choose_io_thread(ctx, l->opts.affinity);
	struct engine *e;
	struct session *s;
	if (l->t->engine(&e, fd, &l->opts, ip) < 0) { /* closes fd */
		monitor_event(&l->monitor, ZMQ_EVENT_ACCEPT_FAILED, ENOMEM, l->endpoint);
		return;
	}
	if (!io ||
	    session_new(&s, io, l->socket, &l->opts, l->endpoint, &l->monitor) < 0) {
		engine_destroy(e);
		monitor_event(&l->monitor, ZMQ_EVENT_ACCEPT_FAILED, ENOMEM, l->endpoint);
		return;
	}
	monitor_event(&l->monitor, ZMQ_EVENT_ACCEPTED, fd, l->endpoint);
	own_launch_child(&l->own, session_own(s));
	session_send_attach(s, e);
}

/* LISTENER_RETRY_MS: how long a listener that could not accept for want of a
 * descriptor or memory waits before it tries again. */
#define LISTENER_RETRY_MS 100

static const struct poll_handler_ops listener_handler;

/* listener_back_off: accept failed with the connection still queued (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM): the listening fd stays readable, so watching it would wake us at
 * once, again and again, at 100% CPU while the process is out of descriptors. Stop
 * watching it and try again in LISTENER_RETRY_MS; the peers wait in the backlog, and
 * are served once descriptors are freed. */
static void
listener_back_off(struct listener *l)
{
	poller_reset_pollin(l->poller, l->handle);
	poller_arm_timer(l->poller, &l->retry, LISTENER_RETRY_MS, &listener_handler, l,
	                 0);
}

static void
listener_in_event(void *arg)
{
	struct listener *l = arg;
	/* A bounded batch per wake-up, so one busy listener cannot starve the thread. */
	for (int i = 0; i < 64; i++) {
		int fd;
		struct zn_sockaddr peer;
		int rc = zn_accept(l->fd, &fd, &peer);
		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			monitor_event(&l->monitor, ZMQ_EVENT_ACCEPT_FAILED, -rc,
			              l->endpoint);
			listener_back_off(l);
			return;
		}
		listener_serve(l, fd, &peer);
	}
}

/* listener_watch: starts watching the listening fd. Without memory for that the
 * endpoint would stay bound but deaf (zmq_bind has returned 0), so it tries again in
 * LISTENER_RETRY_MS; the peers wait in the backlog meanwhile. false: not yet. */
static bool
listener_watch(struct listener *l)
{
	if (poller_add_fd(l->poller, l->fd, &listener_handler, l, &l->handle) < 0) {
		l->handle = NULL;
		poller_arm_timer(l->poller, &l->retry, LISTENER_RETRY_MS,
		                 &listener_handler, l, 0);
		return false;
	}
	poller_set_pollin(l->poller, l->handle);
	return true;
}

/* listener_retry: the back-off is over: watch the fd again and accept what waits. */
static void
listener_retry(void *arg, int id)
{
	(void)id;
	struct listener *l = arg;
	if (l->fd < 0)
		return;
	if (!l->handle) {
		if (listener_watch(l))
			listener_in_event(l);
		return;
	}
	poller_set_pollin(l->poller, l->handle);
	listener_in_event(l);
}

static const struct poll_handler_ops listener_handler = {
        .in_event = listener_in_event,
        .timer_event = listener_retry,
};

static void
listener_close_fd(struct listener *l)
{
	if (poll_timer_armed(&l->retry))
		poller_cancel_timer(l->poller, &l->retry);
	if (l->handle) {
		poller_rm_fd(l->poller, l->handle);
		l->handle = NULL;
	}
	/* The file goes first, so a new bind of the same path right after our CLOSED
	 * event finds it free; and only if it is still ours, not a later binder's. */
	uint64_t dev, ino;
	if (l->path[0] && zn_file_id(l->path, &dev, &ino) == 0 && dev == l->path_dev &&
	    ino == l->path_ino)
		zn_unlink(l->path);
	l->path[0] = '\0';
	if (l->dir[0])
		zn_rmdir(l->dir);
	l->dir[0] = '\0';
	if (l->fd >= 0) {
		zn_close_fd(l->fd);
		monitor_event(&l->monitor, ZMQ_EVENT_CLOSED, l->fd, l->endpoint);
		l->fd = -1;
	}
}

static void
listener_process(struct own *o, const struct command *cmd)
{
	struct listener *l = container_of(o, struct listener, own);
	if (cmd->type == CMD_PLUG)
		(void)listener_watch(l);
}

static void
listener_process_term(struct own *o, int linger)
{
	listener_close_fd(container_of(o, struct listener, own));
	own_process_term(o, linger);
}

static void
listener_destroy(struct own *o)
{
	struct listener *l = container_of(o, struct listener, own);
	listener_close_fd(l);
	listener_free(l);
}

static const struct own_ops listener_own_ops = {
        .process = listener_process,
        .process_term = listener_process_term,
        .destroy = listener_destroy,
};

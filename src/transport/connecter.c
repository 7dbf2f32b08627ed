/*
 * connecter.c: see connecter.h.
 */
#include "transport/connecter.h"
#include "platform/alloc.h"

#include <errno.h>
#include <string.h>

enum { TIMER_CONNECT = 1 };

struct connecter {
	const struct transport_ops *t;
	struct poller *poller;
	struct options opts;
	char *spec;
	struct session *session; /* of the attempt in progress */
	struct zn_sockaddr addr, src;
	bool has_src;
	int fd; /* connecting, or -1 */
	struct poll_handle *handle;
	struct poll_timer timer; /* ZMQ_CONNECT_TIMEOUT */
	void *prelude; /* the transport's prelude in progress (it holds the fd) */
};

static const struct poll_handler_ops connecter_fd_handler;
static const struct poll_handler_ops connecter_timer_handler;

int
connecter_new(struct connecter **out, struct io_thread *io, const struct transport_ops *t,
              const char *spec, const struct options *opts)
{
	struct connecter *c = zn_calloc(1, sizeof *c);
	size_t n = strlen(spec) + 1;
	char *copy = zn_malloc(n);
	if (!c || !copy) {
		zn_free(c);
		zn_free(copy);
		return -ENOMEM;
	}
	memcpy(copy, spec, n);
	c->t = t;
	c->poller = io_thread_poller(io);
	c->opts = *opts;
	c->spec = copy;
	c->fd = -1;
	*out = c;
	return 0;
}

static void
connecter_stop(void *arg)
{
	struct connecter *c = arg;
	poller_cancel_timer(c->poller, &c->timer);
	if (c->handle) {
		poller_rm_fd(c->poller, c->handle);
		c->handle = NULL;
	}
	zn_close_fd(c->fd);
	c->fd = -1;
	if (c->prelude)
		c->t->prelude_free(c->prelude);
	c->prelude = NULL;
}

static void
connecter_destroy(void *arg)
{
	struct connecter *c = arg;
	connecter_stop(c);
	zn_free(c->spec);
	zn_free(c);
}

/* connecter_attempt_failed: fd, this attempt's descriptor, is (or was just) closed:
 * as libzmq, the monitor hears CLOSED with its number, then the session schedules the
 * next attempt (CONNECT_RETRIED). */
static void
connecter_attempt_failed(struct connecter *c, int fd)
{
	session_connect_closed(c->session, fd);
	session_connect_failed(c->session);
}

/* connecter_failed: this attempt is over (ZMQ_CONNECT_TIMEOUT); the session schedules
 * the next. */
static void
connecter_failed(struct connecter *c)
{
	int fd = c->fd;
	connecter_stop(c);
	if (fd >= 0)
		connecter_attempt_failed(c, fd);
	else
		session_connect_failed(c->session);
}

/* connecter_established: fd (ours) is connected: the transport admits the peer it
 * reached (shm:// only one of our own user), tunes fd and gives it an engine. */
static void
connecter_established(struct connecter *c, int fd)
{
	if (!c->t->admit(NULL, fd, &c->addr)) {
		zn_close_fd(fd);
		connecter_attempt_failed(c, fd);
		return;
	}
	if (c->t->tune)
		c->t->tune(fd, &c->opts);
	char peer[128];
	c->t->peer_address(fd, &c->addr, peer, sizeof peer);
	struct engine *e;
	if (c->t->engine(&e, fd, &c->opts, peer) < 0) { /* closed fd */
		connecter_attempt_failed(c, fd);
		return;
	}
	session_connected(c->session, e);
}

/* connecter_prelude_done: the transport's prelude ended; a failed one (fd closed) is
 * a failed attempt. */
static void
connecter_prelude_done(void *arg, int fd, int rc)
{
	struct connecter *c = arg;
	c->t->prelude_free(c->prelude);
	c->prelude = NULL;
	if (rc < 0)
		connecter_attempt_failed(c, fd); /* the prelude closed it */
	else
		connecter_established(c, fd);
}

/* connecter_connected: fd (ours) is connected; the transport's prelude, if it has
 * one for it, runs before the connection is established. */
static void
connecter_connected(struct connecter *c, int fd)
{
	int rc = 0;
	if (c->t->prelude)
		rc = c->t->prelude(&c->prelude, fd, c->spec, &c->opts, c->poller,
		                   connecter_prelude_done, c);
	if (rc == 0) {
		connecter_established(c, fd);
	} else if (rc < 0) {
		zn_close_fd(fd);
		connecter_attempt_failed(c, fd);
	}
}

/* connecter_fd_event: the pending connection is decided. */
static void
connecter_fd_event(void *arg)
{
	struct connecter *c = arg;
	int fd = c->fd;
	int rc = zn_connect_result(fd);
	c->fd = -1; /* ours now, not the attempt's: connecter_stop leaves it */
	connecter_stop(c);
	if (rc < 0) {
		zn_close_fd(fd);
		connecter_attempt_failed(c, fd);
		return;
	}
	connecter_connected(c, fd);
}

static void
connecter_timer_event(void *arg, int id)
{
	struct connecter *c = arg;
	(void)id;
	connecter_failed(c); /* ZMQ_CONNECT_TIMEOUT */
}

/* connecter_wait: the connection is in progress: wait for the fd to become writable,
 * at most ZMQ_CONNECT_TIMEOUT. */
static void
connecter_wait(struct connecter *c, int fd)
{
	if (poller_add_fd(c->poller, fd, &connecter_fd_handler, c, &c->handle) < 0) {
		c->handle = NULL;
		zn_close_fd(fd);
		connecter_attempt_failed(c, fd);
		return;
	}
	c->fd = fd;
	poller_set_pollout(c->poller, c->handle);
	session_connect_delayed(c->session);
	if (c->opts.connect_timeout > 0)
		poller_arm_timer(c->poller, &c->timer, c->opts.connect_timeout,
		                 &connecter_timer_handler, c, TIMER_CONNECT);
}

static void
connecter_start(void *arg, struct session *s)
{
	struct connecter *c = arg;
	c->session = s;
	int rc = c->t->resolve(c->spec, &c->opts, &c->addr, &c->src, &c->has_src);
	if (rc < 0) {
		session_connect_failed(s);
		return;
	}
	int fd = -1;
	rc = c->t->connect(&c->addr, c->has_src ? &c->src : NULL, &c->opts, &fd);
	if (rc == 0)
		connecter_connected(c, fd);
	else if (rc == -EINPROGRESS)
		connecter_wait(c, fd);
	else if (fd >= 0)
		connecter_attempt_failed(c, fd); /* already closed: only reported */
	else
		session_connect_failed(s);
}

static const struct poll_handler_ops connecter_fd_handler = {
        .in_event = connecter_fd_event,
        .out_event = connecter_fd_event,
};

static const struct poll_handler_ops connecter_timer_handler = {
        .timer_event = connecter_timer_event,
};

const struct session_connecter_ops connecter_session_ops = {
        .start = connecter_start,
        .stop = connecter_stop,
        .destroy = connecter_destroy,
};

/*
 * socks_connecter.c: see socks_connecter.h. One loop (sc_progress) does whatever the
 * handshake allows on each event: write while there is something to send and the fd
 * takes it, read while an answer is expected and bytes are there; then it waits for
 * POLLOUT or POLLIN, whichever the handshake needs next. A hang-up or error the poller
 * reports shows up as a failed read or write there, so nothing can spin.
 */
#include "transport/socks_connecter.h"
#include "platform/alloc.h"
#include "platform/net.h"
#include "transport/socks.h"

#include <errno.h>
#include <stdbool.h>

enum { SC_TIMER = 1 };

struct socks_connecter {
	struct socks sm;
	struct poller *poller;
	struct poll_handle *handle;
	int fd;
	struct poll_timer timer; /* the handshake's time limit */
	socks_done_fn done;
	void *arg;
};

static const struct poll_handler_ops sc_handler;

static void
sc_unwatch(struct socks_connecter *c)
{
	if (c->handle) {
		poller_rm_fd(c->poller, c->handle);
		c->handle = NULL;
	}
	poller_cancel_timer(c->poller, &c->timer);
}

/* sc_finish: reports the outcome; the owner may destroy c inside the callback, so it is
 * the last thing done. */
static void
sc_finish(struct socks_connecter *c, int rc)
{
	sc_unwatch(c);
	int fd = c->fd;
	c->fd = -1;
	if (rc < 0) {
		zn_close_fd(fd);
		fd = -1;
	}
	c->done(c->arg, fd, rc);
}

/* sc_wait: asks the poller for what the handshake waits on: room to write or bytes. */
static void
sc_wait(struct socks_connecter *c)
{
	const uint8_t *unused;
	if (socks_output(&c->sm, &unused)) {
		poller_reset_pollin(c->poller, c->handle);
		poller_set_pollout(c->poller, c->handle);
	} else {
		poller_reset_pollout(c->poller, c->handle);
		poller_set_pollin(c->poller, c->handle);
	}
}

/* sc_transfer: one write or one read, as the handshake's step asks. > 0 progress, 0
 * when the fd is not ready (or nothing is left to do), < 0 the handshake failed. */
static ssize_t
sc_transfer(struct socks_connecter *c)
{
	const uint8_t *data;
	size_t n = socks_output(&c->sm, &data);
	if (n) {
		struct iovec iov = {(void *)data, n};
		ssize_t w = zn_writev(c->fd, &iov, 1);
		if (w > 0)
			socks_output_done(&c->sm, (size_t)w);
		return w == -EAGAIN ? 0 : w;
	}
	size_t want = socks_input_want(&c->sm);
	if (!want)
		return 0;
	uint8_t buf[sizeof c->sm.in];
	ssize_t r = zn_read(c->fd, buf, want < sizeof buf ? want : sizeof buf);
	if (r == 0)
		return -ECONNRESET; /* the proxy hung up mid-handshake */
	if (r < 0)
		return r == -EAGAIN ? 0 : r;
	int rc = socks_input(&c->sm, buf, (size_t)r);
	return rc < 0 ? rc : r;
}

static void
sc_progress(struct socks_connecter *c)
{
	ssize_t rc;
	while ((rc = sc_transfer(c)) > 0 && !socks_done(&c->sm))
		;
	if (rc < 0)
		sc_finish(c, (int)rc);
	else if (socks_done(&c->sm))
		sc_finish(c, 0);
	else
		sc_wait(c);
}

static void
sc_io_event(void *arg)
{
	sc_progress(arg);
}

static void
sc_timer_event(void *arg, int id)
{
	struct socks_connecter *c = arg;
	(void)id;
	sc_finish(c,
	          -ETIMEDOUT); /* a proxy that stalls must not hold the connect forever */
}

static const struct poll_handler_ops sc_handler = {
        .in_event = sc_io_event,
        .out_event = sc_io_event,
        .timer_event = sc_timer_event,
};

int
socks_connecter_new(struct socks_connecter **out, struct poller *p, int fd,
                    const struct socks_params *params, socks_done_fn done, void *arg)
{
	struct socks_connecter *c = zn_calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	int rc = socks_init(&c->sm, params->target, params->user, params->ulen,
	                    params->pass, params->plen);
	if (rc < 0)
		goto fail_init;
	c->poller = p;
	c->fd = fd;
	c->done = done;
	c->arg = arg;
	if ((rc = poller_add_fd(p, fd, &sc_handler, c, &c->handle)) < 0)
		goto fail_init;
	if (params->timeout_ms > 0)
		poller_arm_timer(p, &c->timer, params->timeout_ms, &sc_handler, c,
		                 SC_TIMER);
	/* The greeting goes out on the first POLLOUT, never from here: done is not called
	 * before the caller has its pointer. */
	poller_set_pollout(p, c->handle);
	*out = c;
	return 0;
fail_init:
	zn_free(c);
	return rc;
}

void
socks_connecter_destroy(struct socks_connecter *c)
{
	if (!c)
		return;
	sc_unwatch(c);
	zn_close_fd(c->fd);
	zn_free(c);
}

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
	struct own *socket;
	struct options opts;
	struct accept_filters filters; /* the transport's part of the socket's */
	struct monitor_sink monitor;
	int fd;
	bool is_tcp;
	bool shm;
	char endpoint[256];
	char ipc_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* to unlink */
	uint64_t ipc_dev, ipc_ino; /* the file we made, so we never unlink another's */
	char wildcard_dir[PATH_MAX];
};

static const struct own_ops listener_own_ops;

static void
listener_tcp_opts(const struct options *o, struct zn_tcp_opts *t)
{
	memset(t, 0, sizeof *t);
	t->keepalive = o->tcp_keepalive;
	t->keepalive_cnt = o->tcp_keepalive_cnt;
	t->keepalive_idle = o->tcp_keepalive_idle;
	t->keepalive_intvl = o->tcp_keepalive_intvl;
	t->tos = o->tos;
	t->sndbuf = o->sndbuf;
	t->rcvbuf = o->rcvbuf;
	t->maxrt = o->tcp_maxrt;
	t->bindtodevice = o->bindtodevice.len ? (const char *)o->bindtodevice.data : NULL;
}

/* listener_open: the listening descriptor: with ZMQ_USE_FD (tcp and ipc) the
 * application's own, which must be of the transport's family, and then the address
 * given to zmq_bind is not used, as in libzmq; else a new socket bound to addr. On 0
 * *fd is ours; *adopted says which it is (an adopted ipc socket's file is not ours to
 * remove). */
static int
listener_open(const struct options *opts, const struct zn_sockaddr *addr, bool is_tcp,
              bool shm, int *fd, bool *adopted)
{
	*adopted = opts->use_fd >= 0 && !shm;
	if (*adopted) {
		int rc = zn_adopt_listener(opts->use_fd, is_tcp);
		if (rc == 0)
			*fd = opts->use_fd;
		return rc;
	}
	struct zn_tcp_opts t;
	listener_tcp_opts(opts, &t);
	return zn_listen(addr, opts->backlog, is_tcp ? &t : NULL, fd);
}

/* listener_copy_filters: the listener's own copy of what its transport checks
 * (shm:// has its own rule, listener_peer_trusted). 0 or -ENOMEM. */
static int
listener_copy_filters(struct listener *l, const struct accept_filters *f, bool is_tcp,
                      bool shm)
{
	if (!f || shm)
		return 0;
	return is_tcp ? tcp_filters_copy(&l->filters, f)
	              : ipc_filters_copy(&l->filters, f);
}

static void
listener_free(struct listener *l)
{
	tcp_filters_fini(&l->filters);
	ipc_filters_fini(&l->filters);
	zn_free(l);
}

int
listener_new(struct listener **out, struct io_thread *io, struct own *socket,
             const struct options *opts, const struct accept_filters *filters,
             const struct zn_sockaddr *addr, bool is_tcp, bool shm,
             const char *wildcard_dir, const struct monitor_sink *monitor, char *endpoint,
             size_t endpoint_len)
{
	struct listener *l = zn_calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = listener_copy_filters(l, filters, is_tcp, shm);
	if (rc < 0) {
		listener_free(l);
		return rc;
	}
	int fd;
	bool adopted;
	rc = listener_open(opts, addr, is_tcp, shm, &fd, &adopted);
	if (rc < 0) {
		listener_free(l);
		return rc;
	}
	struct zn_sockaddr bound;
	if (zn_local_address(fd, &bound) < 0)
		bound = *addr;
	if (!is_tcp && !adopted)
		bound = *addr; /* getsockname loses abstract names' exact length */
	zn_sockaddr_to_string(&bound, l->endpoint, sizeof l->endpoint);
	own_init(&l->own, socket->obj.ctx, io_thread_tid(io), &listener_own_ops);
	l->poller = io_thread_poller(io);
	l->socket = socket;
	l->opts = *opts;
	if (monitor)
		l->monitor = *monitor;
	l->fd = fd;
	l->is_tcp = is_tcp;
	l->shm = shm;
	if (!is_tcp && !adopted && addr->u.un.sun_path[0] != '\0') {
		snprintf(l->ipc_path, sizeof l->ipc_path, "%s", addr->u.un.sun_path);
		if (zn_file_id(l->ipc_path, &l->ipc_dev, &l->ipc_ino) < 0)
			l->ipc_path[0] = '\0'; /* cannot recognise it later: leave it */
	}
	if (wildcard_dir)
		snprintf(l->wildcard_dir, sizeof l->wildcard_dir, "%s", wildcard_dir);
	snprintf(endpoint, endpoint_len, "%s", l->endpoint);
	monitor_event(&l->monitor, ZMQ_EVENT_LISTENING, fd, l->endpoint);
	*out = l;
	return 0;
}

void
listener_set_endpoint(struct listener *l, const char *endpoint)
{
	snprintf(l->endpoint, sizeof l->endpoint, "%s", endpoint);
}

struct own *
listener_own(struct listener *l)
{
	return &l->own;
}

/* listener_peer_ip: the Peer-Address libzmq reports for tcp: the address alone. */
static void
listener_peer_ip(const struct zn_sockaddr *peer, bool is_tcp, char *out, size_t len)
{
	char full[256];
	out[0] = '\0';
	if (!is_tcp || zn_sockaddr_to_string(peer, full, sizeof full) < 0)
		return;
	const char *h = strstr(full, "://");
	h = h ? h + 3 : full;
	const char *colon = strrchr(h, ':');
	size_t n = colon ? (size_t)(colon - h) : strlen(h);
	if (n > 1 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* listener_peer_trusted: shm:// shares memory with the peer, so only a process of the
 * same user may connect (seed 002; SO_PEERCRED). */
static bool
listener_peer_trusted(const struct listener *l, int fd)
{
	(void)l;
	return zn_peer_same_user(fd);
}

/* listener_admits: whether the transport's rule lets this peer in: shm:// only the
 * same user, tcp:// and ipc:// their accept filters. */
static bool
listener_admits(const struct listener *l, int fd, const struct zn_sockaddr *peer)
{
	if (l->shm)
		return listener_peer_trusted(l, fd);
	if (l->is_tcp)
		return tcp_filters_allow(&l->filters, peer);
	return ipc_filters_allow(&l->filters, fd);
}

/* listener_serve: gives an accepted connection its engine and session, or closes it
 * at once (ACCEPT_FAILED, EACCES) when the peer may not connect. */
static void
listener_serve(struct listener *l, int fd, const struct zn_sockaddr *peer)
{
	if (!listener_admits(l, fd, peer)) {
		zn_close_fd(fd);
		monitor_event(&l->monitor, ZMQ_EVENT_ACCEPT_FAILED, EACCES, l->endpoint);
		return;
	}
	struct ctx *ctx = l->own.obj.ctx;
	if (l->is_tcp) {
		struct zn_tcp_opts t;
		listener_tcp_opts(&l->opts, &t);
		zn_tune_tcp(fd, &t);
	}
	char ip[128];
	if (l->is_tcp)
		listener_peer_ip(peer, true, ip, sizeof ip);
	else if (zn_peer_cred_string(fd, ip, sizeof ip) < 0)
		ip[0] = '\0';
	struct io_thread *io = ctx_choose_io_thread(ctx, l->opts.affinity);
	struct engine *e;
	struct session *s;
	if (engine_new(&e, fd, &l->opts, ip, l->shm) < 0) { /* closes fd */
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
			return;
		}
		listener_serve(l, fd, &peer);
	}
}

static const struct poll_handler_ops listener_handler = {.in_event = listener_in_event};

static void
listener_close_fd(struct listener *l)
{
	if (l->handle) {
		poller_rm_fd(l->poller, l->handle);
		l->handle = NULL;
	}
	/* The file goes first, so a new bind of the same path right after our CLOSED
	 * event finds it free; and only if it is still ours, not a later binder's. */
	uint64_t dev, ino;
	if (l->ipc_path[0] && zn_file_id(l->ipc_path, &dev, &ino) == 0 &&
	    dev == l->ipc_dev && ino == l->ipc_ino)
		zn_unlink(l->ipc_path);
	l->ipc_path[0] = '\0';
	if (l->wildcard_dir[0])
		zn_rmdir(l->wildcard_dir);
	l->wildcard_dir[0] = '\0';
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
	if (cmd->type != CMD_PLUG)
		return;
	if (poller_add_fd(l->poller, l->fd, &listener_handler, l, &l->handle) < 0) {
		l->handle = NULL;
		return; /* cannot watch it: the endpoint stays bound but idle */
	}
	poller_set_pollin(l->poller, l->handle);
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

/*
 * zmq.c: the exported libzmq API for contexts, sockets and sending/receiving. Argument
 * checks and errno live here and only here; everything below returns -errno.
 * Threads: whatever the caller's; see each layer for what it may share.
 */
#include "core/ctx.h"
#include "pipe/msg.h"
#include "proto/mech/mechanism.h"
#include "proto/shm_link.h"
#include "proto/shm_pool.h"
#include "platform/alloc.h"
#include "platform/copy.h"
#include "socket/socket.h"
#include "transport/transport.h"
#include "zinc.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* api_fail: sets errno from an internal -errno and returns -1. */
static int
api_fail(int rc)
{
	errno = -rc;
	return -1;
}

static struct socket *
api_socket(void *s)
{
	struct socket *sock = s;
	if (!socket_check_tag(sock)) {
		errno = ENOTSOCK;
		return NULL;
	}
	return sock;
}

static struct ctx *
api_ctx(void *c)
{
	if (!ctx_check_tag(c)) {
		errno = EFAULT;
		return NULL;
	}
	return c;
}

ZMQ_EXPORT void
zmq_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = ZMQ_VERSION_MAJOR;
	if (minor)
		*minor = ZMQ_VERSION_MINOR;
	if (patch)
		*patch = ZMQ_VERSION_PATCH;
}

ZMQ_EXPORT int
zmq_errno(void)
{
	return errno;
}

ZMQ_EXPORT const char *
zmq_strerror(int errnum)
{
	switch (errnum) {
	case EFSM: return "Operation cannot be accomplished in current state";
	case ENOCOMPATPROTO: return "The protocol is not compatible with the socket type";
	case ETERM: return "Context was terminated";
	case EMTHREAD: return "No thread available";
	default: return strerror(errnum);
	}
}

ZMQ_EXPORT int
zmq_has(const char *capability)
{
	if (!capability)
		return 0;
	if (transport_find(capability, strlen(capability))) /* a transport's scheme */
		return 1;
	if (strcmp(capability, "curve") == 0)
		return mech_curve_available();
	return 0;
}

/* Contexts. */

ZMQ_EXPORT void *
zmq_ctx_new(void)
{
	int rc;
	struct ctx *c = ctx_new(&rc);
	if (!c)
		errno = -rc;
	return c;
}

ZMQ_EXPORT int
zmq_ctx_term(void *context)
{
	struct ctx *c = api_ctx(context);
	if (!c)
		return -1;
	int rc = ctx_term(c);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_ctx_shutdown(void *context)
{
	struct ctx *c = api_ctx(context);
	if (!c)
		return -1;
	ctx_shutdown(c);
	return 0;
}

ZMQ_EXPORT int
zmq_ctx_set(void *context, int option, int optval)
{
	struct ctx *c = api_ctx(context);
	if (!c)
		return -1;
	int rc = ctx_set(c, option, &optval, sizeof optval);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_ctx_get(void *context, int option)
{
	struct ctx *c = api_ctx(context);
	if (!c)
		return -1;
	int v;
	size_t len = sizeof v;
	int rc = ctx_get(c, option, &v, &len);
	return rc < 0 ? api_fail(rc) : v;
}

ZMQ_EXPORT void *
zmq_init(int io_threads)
{
	if (io_threads < 0) {
		errno = EINVAL;
		return NULL;
	}
	void *c = zmq_ctx_new();
	if (c && zmq_ctx_set(c, ZMQ_IO_THREADS, io_threads) < 0) {
		zmq_ctx_term(c);
		errno = EINVAL;
		return NULL;
	}
	return c;
}

ZMQ_EXPORT int
zmq_term(void *context)
{
	return zmq_ctx_term(context);
}

ZMQ_EXPORT int
zmq_ctx_destroy(void *context)
{
	return zmq_ctx_term(context);
}

/* Sockets. */

ZMQ_EXPORT void *
zmq_socket(void *context, int type)
{
	struct ctx *c = api_ctx(context);
	if (!c)
		return NULL;
	struct socket *s;
	int rc = socket_new(&s, c, type);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return s;
}

ZMQ_EXPORT int
zmq_close(void *socket)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	socket_close(s);
	return 0;
}

ZMQ_EXPORT int
zmq_setsockopt(void *socket, int option, const void *optval, size_t optvallen)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	int rc = socket_setsockopt(s, option, optval, optvallen);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_getsockopt(void *socket, int option, void *optval, size_t *optvallen)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!optval || !optvallen)
		return api_fail(-EFAULT);
	int rc = socket_getsockopt(s, option, optval, optvallen);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_bind(void *socket, const char *endpoint)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!endpoint)
		return api_fail(-EINVAL);
	int rc = socket_bind(s, endpoint);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_connect(void *socket, const char *endpoint)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!endpoint)
		return api_fail(-EINVAL);
	int rc = socket_connect(s, endpoint);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_unbind(void *socket, const char *endpoint)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	int rc = socket_unbind(s, endpoint);
	return rc < 0 ? api_fail(rc) : 0;
}

ZMQ_EXPORT int
zmq_disconnect(void *socket, const char *endpoint)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	int rc = socket_disconnect(s, endpoint);
	return rc < 0 ? api_fail(rc) : 0;
}

/* api_send_msg: sends m; on failure m is still the caller's. Returns the size. */
static int
api_send_msg(struct socket *s, struct msg *m, int flags)
{
	size_t size = msg_size(m);
	int rc = socket_send(s, m, flags);
	if (rc < 0) {
		if (rc == -ENOMEM)
			socket_rollback(s);
		return api_fail(rc);
	}
	return size > INT32_MAX ? INT32_MAX : (int)size;
}

/* api_send_nomem: a part could not even be built: the message is dropped whole. */
static int
api_send_nomem(struct socket *s)
{
	socket_rollback(s);
	return api_fail(-ENOMEM);
}

ZMQ_EXPORT int
zmq_send(void *socket, const void *buf, size_t len, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!buf && len)
		return api_fail(-EFAULT);
	struct msg m;
	if (msg_init_buffer(&m, buf, len) < 0)
		return api_send_nomem(s);
	int rc = api_send_msg(s, &m, flags);
	if (rc < 0) {
		int e = errno;
		msg_close(&m);
		errno = e;
	}
	return rc;
}

ZMQ_EXPORT int
zmq_send_const(void *socket, const void *buf, size_t len, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!buf && len)
		return api_fail(-EFAULT);
	struct msg m;
	if (msg_init_data(&m, (void *)buf, len, NULL, NULL) < 0)
		return api_send_nomem(s);
	int rc = api_send_msg(s, &m, flags);
	if (rc < 0) {
		int e = errno;
		msg_close(&m);
		errno = e;
	}
	return rc;
}

ZMQ_EXPORT int
zmq_recv(void *socket, void *buf, size_t len, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!buf && len)
		return api_fail(-EFAULT);
	struct msg m;
	msg_init(&m);
	int rc = socket_recv(s, &m, flags);
	if (rc < 0) {
		msg_close(&m);
		return api_fail(rc);
	}
	size_t size = msg_size(&m);
	if (len)
		zn_copy(buf, msg_data(&m), size < len ? size : len);
	msg_close(&m);
	return size > INT32_MAX ? INT32_MAX : (int)size;
}

ZMQ_EXPORT int
zmq_msg_send(zmq_msg_t *msg, void *socket, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!msg)
		return api_fail(-EFAULT);
	return api_send_msg(s, msg_from_zmq(msg), flags);
}

ZMQ_EXPORT int
zmq_msg_recv(zmq_msg_t *msg, void *socket, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!msg)
		return api_fail(-EFAULT);
	struct msg *m = msg_from_zmq(msg);
	int rc = socket_recv(s, m, flags);
	if (rc < 0)
		return api_fail(rc);
	size_t size = msg_size(m);
	return size > INT32_MAX ? INT32_MAX : (int)size;
}

ZMQ_EXPORT int
zmq_sendmsg(void *socket, zmq_msg_t *msg, int flags)
{
	return zmq_msg_send(msg, socket, flags);
}

ZMQ_EXPORT int
zmq_recvmsg(void *socket, zmq_msg_t *msg, int flags)
{
	return zmq_msg_recv(msg, socket, flags);
}

ZMQ_EXPORT int
zmq_sendiov(void *socket, struct iovec *iov, size_t count, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (count == 0 || !iov)
		return api_fail(-EINVAL);
	int rc = 0;
	for (size_t i = 0; i < count; i++) {
		struct msg m;
		if (msg_init_buffer(&m, iov[i].iov_base, iov[i].iov_len) < 0)
			return api_send_nomem(s);
		/* The vector is one whole message: ZMQ_SNDMORE in the caller's flags
		 * never reaches the last part (libzmq 4.3 clears it there too). */
		int f = (i + 1 < count) ? (flags | ZMQ_SNDMORE) : (flags & ~ZMQ_SNDMORE);
		rc = api_send_msg(s, &m, f);
		if (rc < 0) {
			int e = errno;
			msg_close(&m);
			errno = e;
			return -1;
		}
	}
	return rc;
}

ZMQ_EXPORT int
zmq_recviov(void *socket, struct iovec *iov, size_t *count, int flags)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	if (!count || *count == 0 || !iov)
		return api_fail(-EINVAL);
	size_t max = *count, n = 0;
	bool more = true;
	while (more && n < max) {
		struct msg m;
		msg_init(&m);
		int rc = socket_recv(s, &m, flags);
		if (rc < 0) {
			msg_close(&m);
			*count = n;
			return api_fail(rc);
		}
		size_t size = msg_size(&m);
		void *copy = zn_malloc(size);
		if (!copy) {
			msg_close(&m);
			*count = n;
			return api_fail(-ENOMEM);
		}
		memcpy(copy, msg_data(&m), size);
		iov[n].iov_base = copy;
		iov[n].iov_len = size;
		n++;
		more = (m.flags & MSGF_MORE) != 0;
		msg_close(&m);
	}
	*count = n;
	return (int)n; /* the number of parts read, as zmq_recviov(3) says */
}

ZMQ_EXPORT int
zmq_socket_monitor(void *socket, const char *endpoint, int events)
{
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	int rc = socket_monitor(s, endpoint, events);
	return rc < 0 ? api_fail(rc) : 0;
}

/* zinc_msg_init_shm: see zinc.h. The pool is the socket's context's
 * (proto/shm_pool.h); the socket says whether to use it and how large to make it. */
ZMQ_EXPORT int
zinc_msg_init_shm(zmq_msg_t *msg, void *socket, size_t size)
{
	if (msg == NULL) {
		errno = EFAULT;
		return -1;
	}
	struct socket *s = api_socket(socket);
	if (!s)
		return -1;
	int zc = 0, pool_size = 0;
	size_t len = sizeof zc;
	struct msg *m = msg_from_zmq(msg);
	if (socket_getsockopt(s, ZINC_SHM_ZEROCOPY, &zc, &len) == 0 && zc > 0 &&
	    size > 0) {
		len = sizeof pool_size;
		(void)socket_getsockopt(s, ZINC_SHM_POOL_SIZE, &pool_size, &len);
		struct shm_pool *p = shm_pool_get(s->own.obj.ctx, (size_t)pool_size);
		if (p) {
			int rc = shm_pool_msg(p, m, size);
			if (rc < 0) { /* take back what peers handed back, and retry */
				shm_zc_reap(p, true);
				rc = shm_pool_msg(p, m, size);
			}
			shm_pool_rele(p); /* the message holds its own reference */
			if (rc == 0)
				return 0;
		}
	}
	int rc = msg_init_size(m, size); /* the pool is full: an ordinary message */
	return rc < 0 ? api_fail(rc) : 0;
}

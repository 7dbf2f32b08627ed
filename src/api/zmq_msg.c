/*
 * zmq_msg.c: the public zmq_msg_* functions (except send and receive, which belong to
 * the socket API). Each checks its arguments, calls the msg layer (pipe/msg.h) and turns
 * a negative errno into -1 and errno. A message is used by one application thread at a
 * time; copies of it may be closed from any thread.
 *
 * Argument checks follow libzmq where it has them (close, move and copy answer EFAULT
 * for a message that is not initialised or already closed) and add NULL checks where
 * libzmq would crash or assert.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "pipe/msg.h"
#include "zmq.h"

/* valid_msg: m is non-NULL and initialised (not closed). */
static bool
valid_msg(const zmq_msg_t *m)
{
	return m != NULL && msg_is_valid((const struct msg *)(const void *)m);
}

static const struct msg *
msg_from_zmq_const(const zmq_msg_t *m)
{
	return (const struct msg *)(const void *)m;
}

ZMQ_EXPORT int
zmq_msg_init(zmq_msg_t *msg)
{
	if (msg == NULL) {
		errno = EFAULT;
		return -1;
	}
	msg_init(msg_from_zmq(msg));
	return 0;
}

ZMQ_EXPORT int
zmq_msg_init_size(zmq_msg_t *msg, size_t size)
{
	if (msg == NULL) {
		errno = EFAULT;
		return -1;
	}
	int rc = msg_init_size(msg_from_zmq(msg), size);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

ZMQ_EXPORT int
zmq_msg_init_data(zmq_msg_t *msg, void *data, size_t size, zmq_free_fn *ffn, void *hint)
{
	if (msg == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (data == NULL && size != 0) { /* libzmq asserts here */
		msg_init(msg_from_zmq(msg));
		errno = EINVAL;
		return -1;
	}
	int rc = msg_init_data(msg_from_zmq(msg), data, size, ffn, hint);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

ZMQ_EXPORT int
zmq_msg_close(zmq_msg_t *msg)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return -1;
	}
	msg_close(msg_from_zmq(msg));
	return 0;
}

ZMQ_EXPORT int
zmq_msg_move(zmq_msg_t *dest, zmq_msg_t *src)
{
	if (!valid_msg(dest) || !valid_msg(src)) {
		errno = EFAULT;
		return -1;
	}
	msg_move(msg_from_zmq(dest), msg_from_zmq(src));
	return 0;
}

ZMQ_EXPORT int
zmq_msg_copy(zmq_msg_t *dest, zmq_msg_t *src)
{
	if (!valid_msg(dest) || !valid_msg(src)) {
		errno = EFAULT;
		return -1;
	}
	msg_copy(msg_from_zmq(dest), msg_from_zmq(src));
	return 0;
}

ZMQ_EXPORT void *
zmq_msg_data(zmq_msg_t *msg)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return NULL;
	}
	return msg_data(msg_from_zmq(msg));
}

ZMQ_EXPORT size_t
zmq_msg_size(const zmq_msg_t *msg)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return 0;
	}
	return msg_size(msg_from_zmq_const(msg));
}

/* zmq_msg_more: 1 if another part follows, else 0 (also 0, with EFAULT, for a bad
 * message, so a receive loop on it ends). */
ZMQ_EXPORT int
zmq_msg_more(const zmq_msg_t *msg)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return 0;
	}
	return (msg_flags(msg_from_zmq_const(msg)) & MSGF_MORE) ? 1 : 0;
}

/* msg_srcfd: the ZMQ_SRCFD answer, the descriptor of the connection the message came
 * on (the engine recorded it with the connection's properties), or -1/EINVAL when it
 * came on none (inproc). */
static int
msg_srcfd(const struct msg *m)
{
	int fd = metadata_fd(m->meta);
	if (fd < 0)
		errno = EINVAL;
	return fd;
}

ZMQ_EXPORT int
zmq_msg_get(const zmq_msg_t *msg, int property)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return -1;
	}
	const struct msg *m = msg_from_zmq_const(msg);
	switch (property) {
	case ZMQ_MORE: return (msg_flags(m) & MSGF_MORE) ? 1 : 0;
	case ZMQ_SHARED: return msg_is_shared(m) ? 1 : 0;
	case ZMQ_SRCFD: return msg_srcfd(m);
	default: errno = EINVAL; return -1;
	}
}

/* zmq_msg_set: no property is settable (as libzmq); always -1/EINVAL. */
ZMQ_EXPORT int
zmq_msg_set(zmq_msg_t *msg, int property, int optval)
{
	(void)msg;
	(void)property;
	(void)optval;
	errno = EINVAL;
	return -1;
}

/* zmq_msg_gets: the metadata property (names compare case-insensitively), with the
 * deprecated "Identity" answering for "Routing-Id". NULL/EINVAL when absent. The string
 * lives as long as the message. */
ZMQ_EXPORT const char *
zmq_msg_gets(const zmq_msg_t *msg, const char *property)
{
	if (!valid_msg(msg)) {
		errno = EFAULT;
		return NULL;
	}
	const struct metadata *md = msg_from_zmq_const(msg)->meta;
	const char *value = NULL;
	if (property != NULL) {
		value = metadata_get(md, property);
		if (value == NULL && strcasecmp(property, "Identity") == 0)
			value = metadata_get(md, "Routing-Id");
	}
	if (value == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return value;
}

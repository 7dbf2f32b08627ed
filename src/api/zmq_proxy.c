/*
 * zmq_proxy.c: the built-in proxy, zmq_proxy(3), zmq_proxy_steerable(3) and the
 * deprecated zmq_device(3), written on the public API alone (zmq_poll, zmq_msg_recv,
 * zmq_msg_send, ZMQ_RCVMORE, ZMQ_EVENTS).
 *
 * The proxy moves whole messages between a frontend and a backend socket, in both
 * directions, copying every part to the capture socket first when there is one. Once
 * the first part of a message has been forwarded the rest of that message follows
 * before anything else is done (ØMQ delivers a message's parts together, so they are
 * all there), so the two directions never interleave.
 *
 * Backpressure, as libzmq 4.3: a message is read from one side only when the other
 * side can take it (ZMQ_POLLOUT). When neither direction can move, the proxy sleeps in
 * zmq_poll, waiting for input on a side whose opposite side was writable and for
 * ZMQ_POLLOUT on a side that was not, so a full queue never makes it spin. Sends then
 * block as libzmq's do; they only would if a peer left between the poll and the send.
 *
 * The control socket of zmq_proxy_steerable takes one single-part command at a time,
 * as libzmq 4.3.5: PAUSE, RESUME, TERMINATE (the proxy returns 0) and STATISTICS (an
 * eight-part reply of host-order uint64 counters: frontend parts in, bytes in, parts
 * out, bytes out, then the same for the backend; each part of a multipart message
 * counts). Anything else is ignored. A REP control socket gets an empty reply to every
 * command but STATISTICS, so that its REQ peer can go on.
 *
 * Threads: the caller's, which must own every socket passed in, as for any socket call.
 * The proxy returns -1 with ETERM once the context is terminated (the caller then
 * closes the sockets), or with the errno of a failing call (EINTR from a signal).
 */
#include <zmq.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* At most this many messages move in one direction before the proxy looks at the
 * other direction and the control socket again (libzmq's proxy_burst_size). */
#define PROXY_BURST 1000

/* Counters for one side, in the order STATISTICS reports them. */
struct proxy_stats {
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t msgs_out;
	uint64_t bytes_out;
};

enum proxy_state { PROXY_ACTIVE, PROXY_PAUSED, PROXY_TERMINATED };

struct proxy {
	void *frontend;
	void *backend; /* may be the frontend itself */
	void *capture; /* NULL: none */
	void *control; /* NULL: none */
	bool control_is_rep;
	enum proxy_state state;
	struct proxy_stats front;
	struct proxy_stats back;
	zmq_msg_t msg; /* the part in transit, reused */
};

/* What the last look at the sockets found. */
struct proxy_ready {
	bool front_in, front_out;
	bool back_in, back_out;
	bool control_in;
};

/* proxy_check_socket: 0 when s is a live socket (its type in *type when type is not
 * NULL), or -1 with errno ENOTSOCK. */
static int
proxy_check_socket(void *s, int *type)
{
	int t;
	size_t len = sizeof t;
	if (zmq_getsockopt(s, ZMQ_TYPE, &t, &len) < 0)
		return -1;
	if (type)
		*type = t;
	return 0;
}

/* proxy_poll: polls the frontend, the backend (unless it is the frontend) and the
 * control socket with the given events and timeout, and records what is ready in *r.
 * Returns 0, or -1 with zmq_poll's errno (ETERM, EINTR). Blocks up to timeout ms. */
static int
proxy_poll(const struct proxy *p, short front_ev, short back_ev, long timeout,
           struct proxy_ready *r)
{
	zmq_pollitem_t items[3];
	bool same = p->frontend == p->backend;
	int n = 0, back = -1, control = -1;

	items[n++] = (zmq_pollitem_t){p->frontend, 0, same ? front_ev | back_ev : front_ev, 0};
	if (!same) {
		back = n;
		items[n++] = (zmq_pollitem_t){p->backend, 0, back_ev, 0};
	}
	if (p->control) {
		control = n;
		items[n++] = (zmq_pollitem_t){p->control, 0, ZMQ_POLLIN, 0};
	}
	if (zmq_poll(items, n, timeout) < 0)
		return -1;

	short fr = items[0].revents, br = back >= 0 ? items[back].revents : fr;
	r->front_in = (fr & ZMQ_POLLIN) != 0;
	r->front_out = (fr & ZMQ_POLLOUT) != 0;
	r->back_in = (br & ZMQ_POLLIN) != 0;
	r->back_out = (br & ZMQ_POLLOUT) != 0;
	r->control_in = control >= 0 && (items[control].revents & ZMQ_POLLIN) != 0;
	return 0;
}

/* proxy_capture: sends a copy of the part in p->msg to the capture socket, if any,
 * with ZMQ_SNDMORE when more parts follow. Blocks as a send does. Returns 0, or -1
 * with errno; p->msg is unchanged either way. */
static int
proxy_capture(struct proxy *p, bool more)
{
	if (!p->capture)
		return 0;
	zmq_msg_t copy;
	zmq_msg_init(&copy);
	if (zmq_msg_copy(&copy, &p->msg) < 0 ||
	    zmq_msg_send(&copy, p->capture, more ? ZMQ_SNDMORE : 0) < 0) {
		int err = errno;
		zmq_msg_close(&copy);
		errno = err;
		return -1;
	}
	return 0;
}

/* proxy_can_send: whether `to` takes a message now (ZMQ_EVENTS has ZMQ_POLLOUT).
 * Returns 1, 0, or -1 with errno (ETERM). */
static int
proxy_can_send(void *to)
{
	int events;
	size_t len = sizeof events;
	if (zmq_getsockopt(to, ZMQ_EVENTS, &events, &len) < 0)
		return -1;
	return (events & ZMQ_POLLOUT) != 0;
}

/* proxy_forward_one: moves one whole message from `from` to `to`, each part to the
 * capture socket first, counting parts and bytes. Returns 1 when a message moved, 0
 * when `from` had none, or -1 with errno. The first part is read without waiting; the
 * others are already there (a message arrives whole). */
static int
proxy_forward_one(struct proxy *p, void *from, struct proxy_stats *in, void *to,
                  struct proxy_stats *out)
{
	for (bool first = true;; first = false) {
		int n = zmq_msg_recv(&p->msg, from, first ? ZMQ_DONTWAIT : 0);
		if (n < 0)
			return first && errno == EAGAIN ? 0 : -1;
		size_t size = zmq_msg_size(&p->msg);
		in->msgs_in++;
		in->bytes_in += size;

		int more;
		size_t len = sizeof more;
		if (zmq_getsockopt(from, ZMQ_RCVMORE, &more, &len) < 0)
			return -1;
		if (proxy_capture(p, more) < 0)
			return -1;
		if (zmq_msg_send(&p->msg, to, more ? ZMQ_SNDMORE : 0) < 0)
			return -1;
		out->msgs_out++;
		out->bytes_out += size;
		if (!more)
			return 1;
	}
}

/* proxy_forward: moves up to PROXY_BURST whole messages from `from` to `to` while
 * `from` has one and `to` can take it (the caller saw that it could take the first).
 * Returns 0, or -1 with errno. */
static int
proxy_forward(struct proxy *p, void *from, struct proxy_stats *in, void *to,
              struct proxy_stats *out)
{
	for (int i = 0; i < PROXY_BURST; i++) {
		if (i > 0) {
			int rc = proxy_can_send(to);
			if (rc <= 0)
				return rc;
		}
		int rc = proxy_forward_one(p, from, in, to, out);
		if (rc <= 0)
			return rc;
	}
	return 0;
}

/* proxy_reply_stats: sends the eight counters to the control socket. Returns 0, or
 * -1 with errno. */
static int
proxy_reply_stats(struct proxy *p)
{
	const uint64_t v[8] = {
	        p->front.msgs_in, p->front.bytes_in, p->front.msgs_out, p->front.bytes_out,
	        p->back.msgs_in,  p->back.bytes_in,  p->back.msgs_out,  p->back.bytes_out,
	};
	for (int i = 0; i < 8; i++) {
		if (zmq_send(p->control, &v[i], sizeof v[i], i < 7 ? ZMQ_SNDMORE : 0) < 0)
			return -1;
	}
	return 0;
}

/* proxy_command_is: whether the part in p->msg is exactly the command `name`. */
static bool
proxy_command_is(struct proxy *p, const char *name)
{
	size_t len = strlen(name);
	return zmq_msg_size(&p->msg) == len && memcmp(zmq_msg_data(&p->msg), name, len) == 0;
}

/* proxy_control: reads one command from the control socket and acts on it; see the
 * file comment. Returns 0, or -1 with errno. */
static int
proxy_control(struct proxy *p)
{
	if (zmq_msg_recv(&p->msg, p->control, ZMQ_DONTWAIT) < 0)
		return errno == EAGAIN ? 0 : -1;
	if (proxy_command_is(p, "STATISTICS"))
		return proxy_reply_stats(p);
	if (proxy_command_is(p, "PAUSE"))
		p->state = PROXY_PAUSED;
	else if (proxy_command_is(p, "RESUME"))
		p->state = PROXY_ACTIVE;
	else if (proxy_command_is(p, "TERMINATE"))
		p->state = PROXY_TERMINATED;
	if (p->control_is_rep && zmq_send(p->control, NULL, 0, 0) < 0)
		return -1;
	return 0;
}

/* proxy_step: one round: a control command if there is one, else a burst in each
 * direction that can move, else a wait in zmq_poll until something may have changed.
 * Returns 0, or -1 with errno. */
static int
proxy_step(struct proxy *p)
{
	struct proxy_ready r;
	bool same = p->frontend == p->backend;

	if (proxy_poll(p, ZMQ_POLLIN | ZMQ_POLLOUT, ZMQ_POLLIN | ZMQ_POLLOUT, 0, &r) < 0)
		return -1;
	if (r.control_in)
		return proxy_control(p);

	short front_ev = 0, back_ev = 0;
	if (p->state == PROXY_ACTIVE) {
		bool moved = false;
		if (r.front_in && r.back_out) {
			if (proxy_forward(p, p->frontend, &p->front, p->backend, &p->back) < 0)
				return -1;
			moved = true;
		}
		if (!same && r.back_in && r.front_out) {
			if (proxy_forward(p, p->backend, &p->back, p->frontend, &p->front) < 0)
				return -1;
			moved = true;
		}
		if (moved)
			return 0;
		/* Nothing can move: wait for input where the other side could take it,
		 * and for room where it could not. */
		if (r.back_out)
			front_ev |= ZMQ_POLLIN;
		else
			back_ev |= ZMQ_POLLOUT;
		if (!same) {
			if (r.front_out)
				back_ev |= ZMQ_POLLIN;
			else
				front_ev |= ZMQ_POLLOUT;
		}
	}
	return proxy_poll(p, front_ev, back_ev, -1, &r);
}

/* proxy_run: validates the sockets and runs the proxy until TERMINATE (returns 0) or
 * an error (returns -1 with errno: EFAULT for a NULL frontend or backend, ENOTSOCK for
 * something that is not a socket, ETERM, EINTR, or a send's or receive's errno).
 * Blocks. */
static int
proxy_run(void *frontend, void *backend, void *capture, void *control)
{
	struct proxy p = {
	        .frontend = frontend,
	        .backend = backend,
	        .capture = capture,
	        .control = control,
	        .state = PROXY_ACTIVE,
	};
	int control_type = 0;

	if (!frontend || !backend) {
		errno = EFAULT;
		return -1;
	}
	if (proxy_check_socket(frontend, NULL) < 0 || proxy_check_socket(backend, NULL) < 0 ||
	    (capture && proxy_check_socket(capture, NULL) < 0) ||
	    (control && proxy_check_socket(control, &control_type) < 0))
		return -1;
	p.control_is_rep = control && control_type == ZMQ_REP;

	zmq_msg_init(&p.msg);
	int rc = 0;
	while (rc == 0 && p.state != PROXY_TERMINATED)
		rc = proxy_step(&p);
	int err = errno;
	zmq_msg_close(&p.msg);
	errno = err;
	return rc;
}

/* zmq_proxy: see zmq_proxy(3). Returns only on error: -1 with errno ETERM when the
 * context is terminated, EINTR, EFAULT (frontend or backend NULL), ENOTSOCK, or the
 * errno of a failed send or receive. Blocks. */
ZMQ_EXPORT int
zmq_proxy(void *frontend, void *backend, void *capture)
{
	return proxy_run(frontend, backend, capture, NULL);
}

/* zmq_proxy_steerable: see zmq_proxy_steerable(3). Returns 0 after TERMINATE on the
 * control socket, otherwise as zmq_proxy. With a NULL control it is zmq_proxy. */
ZMQ_EXPORT int
zmq_proxy_steerable(void *frontend, void *backend, void *capture, void *control)
{
	return proxy_run(frontend, backend, capture, control);
}

/* zmq_device: the deprecated zmq_device(3); the type is ignored, as in libzmq. */
ZMQ_EXPORT int
zmq_device(int type, void *frontend, void *backend)
{
	(void)type;
	return zmq_proxy(frontend, backend, NULL);
}

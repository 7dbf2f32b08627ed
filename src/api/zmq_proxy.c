/*
 * zmq_proxy.c: the built-in proxy, zmq_proxy(3), zmq_proxy_steerable(3) and the
 * deprecated zmq_device(3), written on the public API alone (zmq_poll, zmq_msg_recv,
 * zmq_msg_send, ZMQ_RCVMORE).
 *
 * The proxy moves whole messages between a frontend and a backend socket, in both
 * directions, copying every part to the capture socket first when there is one. Once
 * the first part of a message has gone, the rest of that message follows before
 * anything else is done (ØMQ delivers a message's parts together and never refuses the
 * rest of a message it took the start of), so the two directions never interleave.
 *
 * Backpressure, as libzmq 4.3: a side is read only while the other side takes output
 * (ZMQ_POLLOUT). Within a burst a first part goes with ZMQ_DONTWAIT; when it is
 * refused the proxy holds it (one message per direction at most) and reads no more in
 * that direction until the other side shows ZMQ_POLLOUT again. When nothing can move,
 * the proxy sleeps in zmq_poll, waiting for input on a side whose opposite side takes
 * output and for ZMQ_POLLOUT on a side that does not, so a full queue never makes it
 * spin, and it never blocks in a send on a full queue: PAUSE, TERMINATE and ETERM get
 * through. (libzmq 4.3.4 spins, and blocks in sends, in the same situations.) A socket
 * proxied to itself is read without asking for ZMQ_POLLOUT first (see proxy_out_ready).
 *
 * The control socket of zmq_proxy_steerable takes one single-part command at a time,
 * as libzmq 4.3.5: PAUSE, RESUME, TERMINATE (the proxy returns 0) and STATISTICS (an
 * eight-part reply of host-order uint64 counters: frontend messages in, bytes in,
 * messages out, bytes out, then the same for the backend). A multipart message counts
 * once, as zmq_proxy_steerable(3) says "number of messages" and libzmq 4.3.4 counts
 * (its test_proxy checks the counts against messages sent); its bytes are those of
 * all its parts. Anything else is ignored. A REP control socket gets an empty reply to
 * every command but STATISTICS, so that its REQ peer can go on.
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

/* One direction: from one side's socket to the other's. msg is the part in transit;
 * when `holding`, it is a first part that `to` did not take yet (ZMQ_DONTWAIT gave
 * EAGAIN), already captured and counted in, and sent as soon as `to` shows
 * ZMQ_POLLOUT, before anything else is read from `from`. */
struct proxy_dir {
	void *from, *to;
	struct proxy_stats *in, *out;
	zmq_msg_t msg;
	bool more; /* msg has ZMQ_RCVMORE: more parts follow */
	bool holding;
};

enum proxy_state { PROXY_ACTIVE, PROXY_PAUSED, PROXY_TERMINATED };

struct proxy {
	void *frontend;
	void *backend; /* may be the frontend itself: then only dir[0] is used */
	void *capture; /* NULL: none */
	void *control; /* NULL: none */
	bool control_is_rep;
	enum proxy_state state;
	struct proxy_stats front;
	struct proxy_stats back;
	struct proxy_dir dir[2]; /* [0] frontend to backend, [1] backend to frontend */
	int ndirs;
};

/* What the last look at the sockets found; index 0 is the frontend, 1 the backend. */
struct proxy_ready {
	bool in[2], out[2];
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
 * control socket with the given events (ev[0] frontend, ev[1] backend) and timeout,
 * and records what is ready in *r. Returns 0, or -1 with zmq_poll's errno (ETERM,
 * EINTR). Blocks up to timeout ms. */
static int
proxy_poll(const struct proxy *p, const short ev[2], long timeout, struct proxy_ready *r)
{
	zmq_pollitem_t items[3];
	bool same = p->frontend == p->backend;
	int n = 0, back = 0, control = -1;

	items[n++] = (zmq_pollitem_t){p->frontend, 0, same ? ev[0] | ev[1] : ev[0], 0};
	if (!same) {
		back = n;
		items[n++] = (zmq_pollitem_t){p->backend, 0, ev[1], 0};
	}
	if (p->control) {
		control = n;
		items[n++] = (zmq_pollitem_t){p->control, 0, ZMQ_POLLIN, 0};
	}
	if (zmq_poll(items, n, timeout) < 0)
		return -1;

	for (int side = 0; side < 2; side++) {
		short re = items[side == 0 ? 0 : back].revents;
		r->in[side] = (re & ZMQ_POLLIN) != 0;
		r->out[side] = (re & ZMQ_POLLOUT) != 0;
	}
	r->control_in = control >= 0 && (items[control].revents & ZMQ_POLLIN) != 0;
	return 0;
}

/* proxy_capture: sends a copy of the part in d->msg to the capture socket, if any,
 * with ZMQ_SNDMORE when more parts follow. Blocks as a send does. Returns 0, or -1
 * with errno; d->msg is unchanged either way. */
static int
proxy_capture(struct proxy *p, struct proxy_dir *d)
{
	if (!p->capture)
		return 0;
	zmq_msg_t copy;
	zmq_msg_init(&copy);
	if (zmq_msg_copy(&copy, &d->msg) < 0 ||
	    zmq_msg_send(&copy, p->capture, d->more ? ZMQ_SNDMORE : 0) < 0) {
		int err = errno;
		zmq_msg_close(&copy);
		errno = err;
		return -1;
	}
	return 0;
}

/* proxy_recv_part: receives a part from d->from into d->msg, counts its bytes (and
 * the message when it is the last part), notes whether more follow and copies it to the
 * capture socket. Returns 0, or -1 with errno (EAGAIN with ZMQ_DONTWAIT in flags when
 * there is none). */
static int
proxy_recv_part(struct proxy *p, struct proxy_dir *d, int flags)
{
	if (zmq_msg_recv(&d->msg, d->from, flags) < 0)
		return -1;
	d->in->bytes_in += zmq_msg_size(&d->msg);
	int more;
	size_t len = sizeof more;
	if (zmq_getsockopt(d->from, ZMQ_RCVMORE, &more, &len) < 0)
		return -1;
	d->more = more != 0;
	if (!d->more)
		d->in->msgs_in++; /* a whole message is in */
	return proxy_capture(p, d);
}

/* proxy_send_part: sends d->msg to d->to with flags (plus ZMQ_SNDMORE as it came) and
 * counts its bytes (and the message when it is the last part). Returns 0, or -1 with
 * errno; on error d->msg is still the proxy's. */
static int
proxy_send_part(struct proxy_dir *d, int flags)
{
	size_t size = zmq_msg_size(&d->msg);
	if (zmq_msg_send(&d->msg, d->to, flags | (d->more ? ZMQ_SNDMORE : 0)) < 0)
		return -1;
	if (!d->more)
		d->out->msgs_out++; /* a whole message is out */
	d->out->bytes_out += size;
	return 0;
}

/* proxy_forward: moves up to PROXY_BURST whole messages along d, starting with the
 * held first part if there is one (the caller saw d->to take output). A first part
 * that d->to refuses is held; the rest of a message whose first part went follows at
 * once (its parts are all there, and a socket never refuses the rest of a message).
 * Returns 0 when the burst ends (d->from empty, d->to full, or PROXY_BURST messages
 * moved), or -1 with errno. */
static int
proxy_forward(struct proxy *p, struct proxy_dir *d)
{
	for (int i = 0; i < PROXY_BURST; i++) {
		if (d->holding) {
			/* d->to showed ZMQ_POLLOUT, so this send does not wait, except
			 * where that says "some peer has room" and this message's peer
			 * has none (ZMQ_ROUTER_MANDATORY): then it waits for that peer,
			 * as libzmq's proxy does, instead of spinning on ZMQ_POLLOUT. */
			if (proxy_send_part(d, 0) < 0)
				return -1;
			d->holding = false;
		} else {
			if (proxy_recv_part(p, d, ZMQ_DONTWAIT) < 0)
				return errno == EAGAIN ? 0 : -1;
			if (proxy_send_part(d, ZMQ_DONTWAIT) < 0) {
				if (errno != EAGAIN)
					return -1;
				d->holding = true;
				return 0;
			}
		}
		while (d->more) {
			if (proxy_recv_part(p, d, 0) < 0 || proxy_send_part(d, 0) < 0)
				return -1;
		}
	}
	return 0;
}

/* proxy_reply_stats: sends the eight counters to the control socket. Returns 0, or
 * -1 with errno. */
static int
proxy_reply_stats(struct proxy *p)
{
	const uint64_t v[8] = {
	        p->front.msgs_in,   p->front.bytes_in, p->front.msgs_out,
	        p->front.bytes_out, p->back.msgs_in,   p->back.bytes_in,
	        p->back.msgs_out,   p->back.bytes_out,
	};
	for (int i = 0; i < 8; i++) {
		if (zmq_send(p->control, &v[i], sizeof v[i], i < 7 ? ZMQ_SNDMORE : 0) < 0)
			return -1;
	}
	return 0;
}

/* proxy_command_is: whether the command in m is exactly `name`. */
static bool
proxy_command_is(zmq_msg_t *m, const char *name)
{
	size_t len = strlen(name);
	return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), name, len) == 0;
}

/* proxy_control: reads one command from the control socket and acts on it; see the
 * file comment. Returns 0, or -1 with errno. */
static int
proxy_control(struct proxy *p)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, p->control, ZMQ_DONTWAIT) < 0) {
		int err = errno;
		zmq_msg_close(&m);
		errno = err;
		return err == EAGAIN ? 0 : -1;
	}
	bool stats = proxy_command_is(&m, "STATISTICS");
	if (proxy_command_is(&m, "PAUSE"))
		p->state = PROXY_PAUSED;
	else if (proxy_command_is(&m, "RESUME"))
		p->state = PROXY_ACTIVE;
	else if (proxy_command_is(&m, "TERMINATE"))
		p->state = PROXY_TERMINATED;
	zmq_msg_close(&m);
	if (stats)
		return proxy_reply_stats(p);
	if (p->control_is_rep && zmq_send(p->control, NULL, 0, 0) < 0)
		return -1;
	return 0;
}

/* proxy_out_ready: whether direction d (number k) may send now, as far as the last
 * look at the sockets tells. A socket proxied to itself is not asked for ZMQ_POLLOUT
 * before it is read, as libzmq's proxy does not ask: its own state decides what it can
 * send, and a REP shows ZMQ_POLLOUT only once it has the request it echoes (a
 * single-socket REP device would otherwise never read). Only a part it refused waits
 * for ZMQ_POLLOUT. */
static bool
proxy_out_ready(const struct proxy *p, const struct proxy_dir *d,
                const struct proxy_ready *r, int k)
{
	if (p->ndirs == 1 && !d->holding)
		return true;
	return r->out[1 - k];
}

/* proxy_step: one round: a control command if there is one, else a burst in each
 * direction that can move, else a wait in zmq_poll until something may have changed:
 * input on a side whose opposite side takes output, room on a side that does not (or
 * that a held message waits for). Returns 0, or -1 with errno. */
static int
proxy_step(struct proxy *p)
{
	static const short all[2] = {ZMQ_POLLIN | ZMQ_POLLOUT, ZMQ_POLLIN | ZMQ_POLLOUT};
	struct proxy_ready r;
	short ev[2] = {0, 0};

	if (proxy_poll(p, all, 0, &r) < 0)
		return -1;
	if (r.control_in)
		return proxy_control(p);
	if (p->state == PROXY_ACTIVE) {
		bool moved = false;
		for (int k = 0; k < p->ndirs; k++) {
			struct proxy_dir *d = &p->dir[k];
			if (proxy_out_ready(p, d, &r, k) && (d->holding || r.in[k])) {
				if (proxy_forward(p, d) < 0)
					return -1;
				moved = true;
			}
		}
		if (moved)
			return 0;
		for (int k = 0; k < p->ndirs; k++) {
			if (proxy_out_ready(p, &p->dir[k], &r, k))
				ev[k] |= ZMQ_POLLIN;
			else
				ev[1 - k] |= ZMQ_POLLOUT;
		}
	}
	return proxy_poll(p, ev, -1, &r);
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
	if (proxy_check_socket(frontend, NULL) < 0 ||
	    proxy_check_socket(backend, NULL) < 0 ||
	    (capture && proxy_check_socket(capture, NULL) < 0) ||
	    (control && proxy_check_socket(control, &control_type) < 0))
		return -1;
	p.control_is_rep = control && control_type == ZMQ_REP;

	p.dir[0] = (struct proxy_dir){
	        .from = frontend, .to = backend, .in = &p.front, .out = &p.back};
	p.dir[1] = (struct proxy_dir){
	        .from = backend, .to = frontend, .in = &p.back, .out = &p.front};
	p.ndirs = frontend == backend ? 1 : 2;
	zmq_msg_init(&p.dir[0].msg);
	zmq_msg_init(&p.dir[1].msg);

	int rc = 0;
	while (rc == 0 && p.state != PROXY_TERMINATED)
		rc = proxy_step(&p);
	int err = errno;
	zmq_msg_close(&p.dir[0].msg); /* a held part is dropped, as libzmq drops it */
	zmq_msg_close(&p.dir[1].msg);
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

/*
 * req.c: ZMQ_REQ, a DEALER that keeps the request/reply rhythm. A request goes out
 * behind an empty delimiter frame (and, with ZMQ_REQ_CORRELATE, a request-id frame
 * before it) to the next peer with room; only that peer's reply is taken, delimiter
 * (and id) stripped, and anything else that arrives is dropped. Sending twice, or
 * receiving before sending, is EFSM, unless ZMQ_REQ_RELAXED lets a new request abandon
 * the one still waiting.
 *
 * One departure from libzmq: when the pipe a request went out on ends, libzmq takes
 * a reply from any peer; zinc keeps waiting for the one that cannot come (the
 * application's timeout or ZMQ_REQ_RELAXED move on), so a stale reply from another
 * peer is never mistaken for the answer.
 */
#include "platform/platform.h"
#include "socket/fqlb.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

struct req {
	struct socket base;
	struct fqlb x;
	struct pipe *reply_pipe; /* where the request went; NULL once it ended */
	uint32_t request_id;     /* the last request's, for ZMQ_REQ_CORRELATE */
	bool receiving_reply;    /* a whole request is out, its reply not yet all in */
	bool message_begins;     /* the next part sent / received starts a message */
};

#define REQ(s) ((struct req *)(void *)(s))

static int
req_init(struct socket *s)
{
	struct req *r = REQ(s);
	fqlb_init(&r->x);
	r->reply_pipe = NULL;
	/* libzmq starts from a random value; any value that differs between sockets
	 * will do, so the clock mixed with the address is enough. */
	r->request_id = (uint32_t)clock_now_us() * 2654435761u ^ (uint32_t)(uintptr_t)s;
	r->receiving_reply = false;
	r->message_begins = true;
	return 0;
}

static void
req_fini(struct socket *s)
{
	fqlb_fini(&REQ(s)->x);
}

static int
req_attach_pipe(struct socket *s, struct pipe *p)
{
	return fqlb_attach(&REQ(s)->x, p, s->options.probe_router != 0);
}

static void
req_pipe_terminated(struct socket *s, struct pipe *p)
{
	struct req *r = REQ(s);
	if (r->reply_pipe == p)
		r->reply_pipe = NULL;
	fqlb_terminated(&r->x, p);
}

static void
req_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&REQ(s)->x.fq, p);
}

static void
req_write_activated(struct socket *s, struct pipe *p)
{
	lb_activated(&REQ(s)->x.lb, p);
}

/* req_drop_input: drops every message already queued. A new request must not be
 * answered by a late reply to an older one that is waiting in a pipe. Probed first:
 * a receive that finds a pipe empty deactivates it and arms its road, and the reply's
 * receive then starts by waking it up again (a REQ/REP round trip over shm:// in one
 * thread: 445 instructions of 5100, and a peer's eventfd write each request). */
static void
req_drop_input(struct req *r)
{
	struct msg m;
	msg_init(&m);
	while (fq_probe(&r->x.fq) && fq_recv(&r->x.fq, &m, NULL) == 0) {
		msg_close(&m);
		msg_init(&m);
	}
}

/* req_send_envelope: the request id (with ZMQ_REQ_CORRELATE) and the delimiter, to the
 * next peer with room, which becomes reply_pipe. 0, -EAGAIN (no peer has room; nothing
 * sent) or -ENOMEM (nothing sent). */
static int
req_send_envelope(struct req *r)
{
	struct msg m;
	int rc;
	r->reply_pipe = NULL;
	if (r->base.options.req_correlate) {
		uint32_t id = r->request_id + 1;
		if ((rc = msg_init_buffer(&m, &id, sizeof id)) < 0)
			return rc;
		msg_set_flags(&m, MSGF_MORE);
		rc = lb_send(&r->x.lb, &m, &r->reply_pipe);
		if (rc < 0) {
			msg_close(&m);
			return rc;
		}
		r->request_id = id;
	}
	msg_init(&m);
	msg_set_flags(&m, MSGF_MORE);
	rc = lb_send(&r->x.lb, &m, &r->reply_pipe);
	if (rc < 0) /* the id frame, if any, was rolled back with it */
		msg_close(&m);
	return rc;
}

static int
req_send(struct socket *s, struct msg *m)
{
	struct req *r = REQ(s);
	if (r->receiving_reply) {
		if (!s->options.req_relaxed)
			return -EFSM;
		/* ZMQ_REQ_RELAXED: abandon the request still waiting for its reply. */
		r->receiving_reply = false;
		r->message_begins = true;
	}
	bool first = r->message_begins;
	if (first) {
		int rc = req_send_envelope(r);
		if (rc < 0)
			return rc;
		r->message_begins = false;
		req_drop_input(r);
	}
	bool more = (m->flags & MSGF_MORE) != 0;
	int rc = lb_send(&r->x.lb, m, NULL);
	if (rc < 0 && (rc == -ENOMEM || first)) {
		/* The whole request goes (lb already dropped it on -ENOMEM); the
		 * caller starts it again. */
		lb_rollback(&r->x.lb);
		r->message_begins = true;
	}
	if (rc < 0)
		return rc;
	if (!more) {
		r->receiving_reply = true;
		r->message_begins = true;
	}
	return 0;
}

static void
req_rollback(struct socket *s)
{
	struct req *r = REQ(s);
	lb_rollback(&r->x.lb);
	if (!r->receiving_reply)
		r->message_begins = true;
}

/* req_recv_reply_pipe: the next part from the pipe the request went to; parts from
 * other peers are dropped. 0 or -EAGAIN. */
static int
req_recv_reply_pipe(struct req *r, struct msg *m)
{
	for (;;) {
		struct pipe *from;
		int rc = fq_recv(&r->x.fq, m, &from);
		if (rc < 0)
			return rc;
		if (from == r->reply_pipe)
			return 0;
		msg_close(m);
		msg_init(m);
	}
}

/* req_skip_rest: drops the rest of the message whose part is in m. */
static void
req_skip_rest(struct req *r, struct msg *m)
{
	while (m->flags & MSGF_MORE) {
		msg_close(m);
		msg_init(m);
		if (req_recv_reply_pipe(r, m) < 0)
			break; /* cannot happen: messages arrive whole */
	}
	msg_close(m);
	msg_init(m);
}

/* req_check_id: does m carry this request's id (ZMQ_REQ_CORRELATE)? */
static bool
req_check_id(struct req *r, struct msg *m)
{
	uint32_t id;
	if (!(m->flags & MSGF_MORE) || msg_size(m) != sizeof id)
		return false;
	memcpy(&id, msg_data(m), sizeof id);
	return id == r->request_id;
}

static int
req_recv(struct socket *s, struct msg *m)
{
	struct req *r = REQ(s);
	if (!r->receiving_reply)
		return -EFSM;
	while (r->message_begins) {
		int rc;
		if (s->options.req_correlate) {
			if ((rc = req_recv_reply_pipe(r, m)) < 0)
				return rc;
			if (!req_check_id(r, m)) {
				req_skip_rest(r, m);
				continue;
			}
			msg_close(m);
			msg_init(m);
		}
		if ((rc = req_recv_reply_pipe(r, m)) < 0)
			return rc;
		if (!(m->flags & MSGF_MORE) || msg_size(m) != 0) {
			req_skip_rest(r, m);
			continue;
		}
		msg_close(m);
		msg_init(m);
		r->message_begins = false;
	}
	int rc = req_recv_reply_pipe(r, m);
	if (rc < 0)
		return rc;
	if (!(m->flags & MSGF_MORE)) {
		r->receiving_reply = false;
		r->message_begins = true;
	}
	return 0;
}

static bool
req_has_in(struct socket *s)
{
	struct req *r = REQ(s);
	return r->receiving_reply && fq_has_in(&r->x.fq);
}

static bool
req_has_out(struct socket *s)
{
	struct req *r = REQ(s);
	if (r->receiving_reply && !s->options.req_relaxed)
		return false;
	return lb_has_out(&r->x.lb);
}

static int
req_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	(void)s;
	(void)val;
	(void)len;
	return fqlb_setsockopt(option, true);
}

/* req_type: what the layers below know about a REQ (core/socket_type.h). */
static const struct socket_type req_type = {
        .number = ZMQ_REQ,
        .name = "REQ",
        .peers = (const char *const[]){"REP", "ROUTER", NULL},
        .options = (const int[]){ZMQ_REQ_CORRELATE, ZMQ_REQ_RELAXED, ZMQ_PROBE_ROUTER, 0},
        .sends_routing_id = true,
        .direct_road = true,
};

const struct socket_ops req_socket_ops = {
        .type = &req_type,
        .size = sizeof(struct req),
        .init = req_init,
        .fini = req_fini,
        .attach_pipe = req_attach_pipe,
        .send = req_send,
        .recv = req_recv,
        .has_in = req_has_in,
        .has_out = req_has_out,
        .read_activated = req_read_activated,
        .write_activated = req_write_activated,
        .pipe_terminated = req_pipe_terminated,
        .rollback = req_rollback,
        .setsockopt = req_setsockopt,
};

/*
 * rep.c: ZMQ_REP. Requests are fair-queued from the peers; the envelope of each (every
 * frame up to and including the empty delimiter) is kept with the pipe it came from,
 * and only the body reaches the application. The reply goes back to that pipe behind
 * the same envelope. recv and send must alternate (EFSM otherwise); a request without
 * a delimiter is dropped. As in libzmq, a reply whose peer is gone or full is dropped,
 * so send never blocks.
 */
#include "platform/alloc.h"
#include "socket/fq.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

#define REP_ENV_MIN 4

struct rep {
	struct socket base;
	struct fq fq;
	struct msg *env; /* the current request's envelope, delimiter last */
	uint32_t env_n, env_cap;
	struct pipe *reply_pipe; /* where the request came from; NULL once it ended */
	struct pipe *out;        /* the reply being written goes here; NULL: dropped */
	bool sending_reply;      /* a whole request was read, its reply not yet sent */
	bool request_begins;     /* the next part read starts a request (its envelope) */
	bool reply_started;      /* the envelope went out (or the reply is dropped) */
};

#define REP(s) ((struct rep *)(void *)(s))

static int
rep_init(struct socket *s)
{
	struct rep *r = REP(s);
	r->env = zn_malloc(REP_ENV_MIN * sizeof *r->env);
	if (!r->env)
		return -ENOMEM;
	r->env_n = 0;
	r->env_cap = REP_ENV_MIN;
	fq_init(&r->fq);
	r->reply_pipe = r->out = NULL;
	r->sending_reply = false;
	r->request_begins = true;
	r->reply_started = false;
	return 0;
}

static void
rep_env_clear(struct rep *r)
{
	for (uint32_t i = 0; i < r->env_n; i++)
		msg_close(&r->env[i]);
	r->env_n = 0;
}

static void
rep_fini(struct socket *s)
{
	struct rep *r = REP(s);
	rep_env_clear(r);
	zn_free(r->env);
	fq_fini(&r->fq);
}

/* rep_env_push: moves m (an envelope frame) to the end of the envelope. 0 or -ENOMEM
 * (m unchanged). */
static int
rep_env_push(struct rep *r, struct msg *m)
{
	if (r->env_n == r->env_cap) {
		uint32_t cap = r->env_cap * 2;
		struct msg *env = zn_realloc(r->env, cap * sizeof *env);
		if (!env)
			return -ENOMEM;
		r->env = env;
		r->env_cap = cap;
	}
	struct msg *e = &r->env[r->env_n++];
	msg_init(e);
	msg_move(e, m);
	msg_set_metadata(e, NULL); /* it goes back out: no connection properties */
	e->flags = MSGF_MORE;
	return 0;
}

static int
rep_attach_pipe(struct socket *s, struct pipe *p)
{
	int rc = fq_reserve(&REP(s)->fq);
	if (rc < 0)
		return rc;
	fq_attach(&REP(s)->fq, p);
	return 0;
}

static void
rep_pipe_terminated(struct socket *s, struct pipe *p)
{
	struct rep *r = REP(s);
	if (r->reply_pipe == p)
		r->reply_pipe = NULL;
	if (r->out == p)
		r->out = NULL;
	fq_terminated(&r->fq, p);
}

static void
rep_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&REP(s)->fq, p);
}

/* rep_skip_rest: drops m and the rest of its message. */
static void
rep_skip_rest(struct rep *r, struct msg *m)
{
	while (m->flags & MSGF_MORE) {
		msg_close(m);
		msg_init(m);
		if (fq_recv(&r->fq, m, NULL) < 0)
			break; /* cannot happen: messages arrive whole */
	}
	msg_close(m);
	msg_init(m);
}

/* rep_recv_envelope: reads parts into the envelope up to the delimiter, dropping
 * malformed requests on the way. 0, or -EAGAIN (no request yet). */
static int
rep_recv_envelope(struct rep *r, struct msg *m)
{
	for (;;) {
		struct pipe *from;
		int rc = fq_recv(&r->fq, m, &from);
		if (rc < 0)
			return rc;
		if (r->env_n > 0 && from != r->reply_pipe)
			rep_env_clear(r); /* a part of a request whose pipe vanished */
		r->reply_pipe = from;
		if (!(m->flags & MSGF_MORE)) {
			/* The last part, and no delimiter yet: not a request. */
			rep_env_clear(r);
			msg_close(m);
			msg_init(m);
			continue;
		}
		bool bottom = msg_size(m) == 0;
		if (rep_env_push(r, m) < 0) {
			/* No memory to keep the envelope: the request is lost, as if
			 * the network had dropped it. */
			rep_env_clear(r);
			rep_skip_rest(r, m);
			continue;
		}
		if (bottom)
			return 0;
	}
}

static int
rep_recv(struct socket *s, struct msg *m)
{
	struct rep *r = REP(s);
	if (r->sending_reply)
		return -EFSM;
	if (r->request_begins) {
		int rc = rep_recv_envelope(r, m);
		if (rc < 0)
			return rc;
		r->request_begins = false;
	}
	int rc = fq_recv(&r->fq, m, NULL);
	if (rc < 0)
		return rc;
	if (!(m->flags & MSGF_MORE)) {
		r->sending_reply = true;
		r->request_begins = true;
	}
	return 0;
}

/* rep_send_envelope: writes copies of the envelope to the reply pipe, or decides to
 * drop the reply (r->out NULL) when that peer is gone or full. 0 or -ENOMEM (nothing
 * written, the envelope kept for another try). */
static int
rep_send_envelope(struct rep *r)
{
	struct pipe *p = r->reply_pipe;
	r->out = NULL;
	if (!p)
		return 0;
	/* No pipe_check_write first: a pipe that cannot take the first frame says so
	 * (-EAGAIN) as the write is tried, and the reply is dropped the same way. */
	for (uint32_t i = 0; i < r->env_n; i++) {
		struct msg c;
		msg_init(&c);
		msg_copy(&c, &r->env[i]);
		int rc = pipe_write_or_drop(p, &c);
		if (rc < 0) {
			msg_close(&c);
			pipe_rollback(p);
			return rc == -ENOMEM ? rc : 0; /* -EAGAIN: it is ending */
		}
	}
	r->out = p;
	return 0;
}

static int
rep_send(struct socket *s, struct msg *m)
{
	struct rep *r = REP(s);
	if (!r->sending_reply)
		return -EFSM;
	if (!r->reply_started) {
		int rc = rep_send_envelope(r);
		if (rc < 0)
			return rc;
		r->reply_started = true;
	}
	bool more = (m->flags & MSGF_MORE) != 0;
	if (r->out) {
		int rc = pipe_write_or_drop(r->out, m);
		if (rc == -ENOMEM) {
			/* The whole reply goes; the caller may send it again. */
			pipe_rollback(r->out);
			r->out = NULL;
			r->reply_started = false;
			return rc;
		}
		if (rc < 0) { /* the pipe is ending: drop the rest */
			pipe_rollback(r->out);
			r->out = NULL;
		}
	}
	msg_close(m); /* empty when it was written; dropped otherwise */
	msg_init(m);
	if (!more) {
		if (r->out)
			pipe_flush(r->out);
		r->out = NULL;
		rep_env_clear(r);
		r->reply_started = false;
		r->sending_reply = false;
	}
	return 0;
}

static void
rep_rollback(struct socket *s)
{
	struct rep *r = REP(s);
	if (r->out)
		pipe_rollback(r->out);
	r->out = NULL;
	r->reply_started = false;
}

static bool
rep_has_in(struct socket *s)
{
	struct rep *r = REP(s);
	return !r->sending_reply && fq_has_in(&r->fq);
}

static bool
rep_has_out(struct socket *s)
{
	return REP(s)->sending_reply;
}

static int
rep_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	(void)s;
	(void)val;
	(void)len;
	/* libzmq's REP is a ROUTER underneath and takes ROUTER's options (without
	 * effect on a REP); the REQ ones are another type's. */
	if (option == ZMQ_REQ_CORRELATE || option == ZMQ_REQ_RELAXED)
		return -EINVAL;
	return 1;
}

/* rep_type: what the layers below know about a REP (core/socket_type.h). */
static const struct socket_type rep_type = {
        .number = ZMQ_REP,
        .name = "REP",
        .peers = (const char *const[]){"REQ", "DEALER", NULL},
        .options = (const int[]){ZMQ_ROUTER_MANDATORY, ZMQ_ROUTER_HANDOVER,
                                 ZMQ_ROUTER_RAW, ZMQ_PROBE_ROUTER, 0},
        .direct_road = true,
};

const struct socket_ops rep_socket_ops = {
        .type = &rep_type,
        .size = sizeof(struct rep),
        .init = rep_init,
        .fini = rep_fini,
        .attach_pipe = rep_attach_pipe,
        .send = rep_send,
        .recv = rep_recv,
        .has_in = rep_has_in,
        .has_out = rep_has_out,
        .read_activated = rep_read_activated,
        .pipe_terminated = rep_pipe_terminated,
        .rollback = rep_rollback,
        .setsockopt = rep_setsockopt,
};

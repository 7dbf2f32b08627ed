/*
 * pair.c: ZMQ_PAIR, one exclusive peer. A second pipe is refused (terminated) while
 * the first lives.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

struct pair {
	struct socket base;
	struct pipe *pipe;
};

#define PAIR(s) ((struct pair *)(void *)(s))

static int
pair_init(struct socket *s)
{
	PAIR(s)->pipe = NULL;
	return 0;
}

static void
pair_fini(struct socket *s)
{
	(void)s;
}

static int
pair_attach_pipe(struct socket *s, struct pipe *p)
{
	if (PAIR(s)->pipe) {
		pipe_terminate(p, false);
		return 0;
	}
	PAIR(s)->pipe = p;
	return 0;
}

static void
pair_pipe_terminated(struct socket *s, struct pipe *p)
{
	if (PAIR(s)->pipe == p)
		PAIR(s)->pipe = NULL;
}

static int
pair_send(struct socket *s, struct msg *m)
{
	struct pipe *p = PAIR(s)->pipe;
	if (!p)
		return -EAGAIN;
	bool more = (m->flags & MSGF_MORE) != 0;
	int rc = pipe_write(p, m);
	if (rc == -ENOMEM)
		pipe_rollback(p);
	if (rc < 0)
		return rc;
	if (!more)
		pipe_flush(p);
	return 0;
}

static void
pair_rollback(struct socket *s)
{
	if (PAIR(s)->pipe)
		pipe_rollback(PAIR(s)->pipe);
}

static int
pair_recv(struct socket *s, struct msg *m)
{
	struct pipe *p = PAIR(s)->pipe;
	if (!p || !pipe_read(p, m))
		return -EAGAIN;
	return 0;
}

static bool
pair_has_in(struct socket *s)
{
	return PAIR(s)->pipe && pipe_check_read(PAIR(s)->pipe);
}

static bool
pair_has_out(struct socket *s)
{
	return PAIR(s)->pipe && pipe_check_write(PAIR(s)->pipe);
}

static void
pair_activated(struct socket *s, struct pipe *p)
{
	(void)s;
	(void)p; /* one pipe: nothing to reschedule */
}

/* pair_type: what the layers below know about a PAIR (core/socket_type.h). */
static const struct socket_type pair_type = {
        .number = ZMQ_PAIR,
        .name = "PAIR",
        .peers = (const char *const[]){"PAIR", NULL},
        .direct_road = true,
        .conflate_on_recv = true,
};

const struct socket_ops pair_socket_ops = {
        .type = &pair_type,
        .size = sizeof(struct pair),
        .init = pair_init,
        .fini = pair_fini,
        .attach_pipe = pair_attach_pipe,
        .send = pair_send,
        .recv = pair_recv,
        .has_in = pair_has_in,
        .has_out = pair_has_out,
        .read_activated = pair_activated,
        .write_activated = pair_activated,
        .pipe_terminated = pair_pipe_terminated,
        .rollback = pair_rollback,
};

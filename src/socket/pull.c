/*
 * pull.c: ZMQ_PULL, fair-queues whole messages from its peers; never sends.
 */
#include "socket/fq.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

struct pull {
	struct socket base;
	struct fq fq;
};

#define PULL(s) ((struct pull *)(void *)(s))

static int
pull_init(struct socket *s)
{
	fq_init(&PULL(s)->fq);
	return 0;
}

static void
pull_fini(struct socket *s)
{
	fq_fini(&PULL(s)->fq);
}

static int
pull_attach_pipe(struct socket *s, struct pipe *p)
{
	int rc = fq_reserve(&PULL(s)->fq);
	if (rc < 0)
		return rc;
	fq_attach(&PULL(s)->fq, p);
	return 0;
}

static void
pull_pipe_terminated(struct socket *s, struct pipe *p)
{
	fq_terminated(&PULL(s)->fq, p);
}

static void
pull_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&PULL(s)->fq, p);
}

static int
pull_send(struct socket *s, struct msg *m)
{
	(void)s;
	(void)m;
	return -ENOTSUP;
}

static int
pull_recv(struct socket *s, struct msg *m)
{
	return fq_recv(&PULL(s)->fq, m, NULL);
}

static bool
pull_has_in(struct socket *s)
{
	return fq_has_in(&PULL(s)->fq);
}

static bool
pull_has_out(struct socket *s)
{
	(void)s;
	return false;
}

/* pull_type: what the layers below know about a PULL (core/socket_type.h). */
static const struct socket_type pull_type = {
        .number = ZMQ_PULL,
        .name = "PULL",
        .peers = (const char *const[]){"PUSH", NULL},
        .direct_road = true,
        .conflate_on_recv = true,
};

const struct socket_ops pull_socket_ops = {
        .type = &pull_type,
        .size = sizeof(struct pull),
        .init = pull_init,
        .fini = pull_fini,
        .attach_pipe = pull_attach_pipe,
        .send = pull_send,
        .recv = pull_recv,
        .has_in = pull_has_in,
        .has_out = pull_has_out,
        .read_activated = pull_read_activated,
        .pipe_terminated = pull_pipe_terminated,
};

/*
 * push.c: ZMQ_PUSH, load-balances whole messages over its peers; never receives.
 */
#include "socket/lb.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

struct push {
	struct socket base;
	struct lb lb;
};

#define PUSH(s) ((struct push *)(void *)(s))

static int
push_init(struct socket *s)
{
	lb_init(&PUSH(s)->lb);
	return 0;
}

static void
push_fini(struct socket *s)
{
	lb_fini(&PUSH(s)->lb);
}

static int
push_attach_pipe(struct socket *s, struct pipe *p)
{
	int rc = lb_reserve(&PUSH(s)->lb);
	if (rc < 0)
		return rc;
	/* Nobody reads this end, so a peer's termination is acknowledged at once. */
	pipe_set_nodelay(p);
	lb_attach(&PUSH(s)->lb, p);
	return 0;
}

static void
push_pipe_terminated(struct socket *s, struct pipe *p)
{
	lb_terminated(&PUSH(s)->lb, p);
}

static void
push_write_activated(struct socket *s, struct pipe *p)
{
	lb_activated(&PUSH(s)->lb, p);
}

static int
push_send(struct socket *s, struct msg *m)
{
	return lb_send(&PUSH(s)->lb, m, NULL);
}

static void
push_rollback(struct socket *s)
{
	lb_rollback(&PUSH(s)->lb);
}

static int
push_recv(struct socket *s, struct msg *m)
{
	(void)s;
	(void)m;
	return -ENOTSUP;
}

static bool
push_has_in(struct socket *s)
{
	(void)s;
	return false;
}

static bool
push_has_out(struct socket *s)
{
	return lb_has_out(&PUSH(s)->lb);
}

/* push_type: what the layers below know about a PUSH (core/socket_type.h). */
static const struct socket_type push_type = {
        .number = ZMQ_PUSH,
        .name = "PUSH",
        .peers = (const char *const[]){"PULL", NULL},
        .direct_road = true,
};

const struct socket_ops push_socket_ops = {
        .type = &push_type,
        .size = sizeof(struct push),
        .init = push_init,
        .fini = push_fini,
        .attach_pipe = push_attach_pipe,
        .send = push_send,
        .recv = push_recv,
        .has_in = push_has_in,
        .has_out = push_has_out,
        .write_activated = push_write_activated,
        .rollback = push_rollback,
        .pipe_terminated = push_pipe_terminated,
};

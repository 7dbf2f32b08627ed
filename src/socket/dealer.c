/*
 * dealer.c: ZMQ_DEALER, load-balances outgoing messages over its peers and
 * fair-queues incoming ones, whole messages at a time, with no envelope handling.
 */
#include "socket/fqlb.h"
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>

struct dealer {
	struct socket base;
	struct fqlb x;
};

#define DEALER(s) ((struct dealer *)(void *)(s))

static int
dealer_init(struct socket *s)
{
	fqlb_init(&DEALER(s)->x);
	return 0;
}

static void
dealer_fini(struct socket *s)
{
	fqlb_fini(&DEALER(s)->x);
}

static int
dealer_attach_pipe(struct socket *s, struct pipe *p)
{
	return fqlb_attach(&DEALER(s)->x, p, s->options.probe_router != 0);
}

static void
dealer_pipe_terminated(struct socket *s, struct pipe *p)
{
	fqlb_terminated(&DEALER(s)->x, p);
}

static void
dealer_read_activated(struct socket *s, struct pipe *p)
{
	fq_activated(&DEALER(s)->x.fq, p);
}

static void
dealer_write_activated(struct socket *s, struct pipe *p)
{
	lb_activated(&DEALER(s)->x.lb, p);
}

static int
dealer_send(struct socket *s, struct msg *m)
{
	return lb_send(&DEALER(s)->x.lb, m, NULL);
}

static void
dealer_rollback(struct socket *s)
{
	lb_rollback(&DEALER(s)->x.lb);
}

static int
dealer_recv(struct socket *s, struct msg *m)
{
	return fq_recv(&DEALER(s)->x.fq, m, NULL);
}

static bool
dealer_has_in(struct socket *s)
{
	return fq_has_in(&DEALER(s)->x.fq);
}

static bool
dealer_has_out(struct socket *s)
{
	return lb_has_out(&DEALER(s)->x.lb);
}

static int
dealer_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	(void)s;
	(void)val;
	(void)len;
	return fqlb_setsockopt(option, false);
}

/* dealer_type: what the layers below know about a DEALER (core/socket_type.h). */
static const struct socket_type dealer_type = {
        .number = ZMQ_DEALER,
        .name = "DEALER",
        .peers = (const char *const[]){"REP", "DEALER", "ROUTER", NULL},
        .options = (const int[]){ZMQ_PROBE_ROUTER, 0},
        .sends_routing_id = true,
        .conflate_on_recv = true,
        .direct_road = true,
};

const struct socket_ops dealer_socket_ops = {
        .type = &dealer_type,
        .size = sizeof(struct dealer),
        .init = dealer_init,
        .fini = dealer_fini,
        .attach_pipe = dealer_attach_pipe,
        .send = dealer_send,
        .recv = dealer_recv,
        .has_in = dealer_has_in,
        .has_out = dealer_has_out,
        .read_activated = dealer_read_activated,
        .write_activated = dealer_write_activated,
        .pipe_terminated = dealer_pipe_terminated,
        .rollback = dealer_rollback,
        .setsockopt = dealer_setsockopt,
};

/*
 * fqlb.c: see fqlb.h.
 */
#include "socket/fqlb.h"
#include "zmq.h"

#include <errno.h>

void
fqlb_init(struct fqlb *x)
{
	fq_init(&x->fq);
	lb_init(&x->lb);
}

void
fqlb_fini(struct fqlb *x)
{
	fq_fini(&x->fq);
	lb_fini(&x->lb);
}

int
fqlb_probe(struct pipe *p)
{
	struct msg m;
	msg_init(&m);
	int rc = pipe_write(p, &m);
	if (rc == -ENOMEM)
		return rc;
	if (rc == 0)
		pipe_flush(p);
	return 0;
}

int
fqlb_attach(struct fqlb *x, struct pipe *p, bool probe)
{
	int rc = fq_reserve(&x->fq);
	if (rc == 0)
		rc = lb_reserve(&x->lb);
	if (rc == 0 && probe)
		rc = fqlb_probe(p);
	if (rc < 0)
		return rc;
	fq_attach(&x->fq, p);
	lb_attach(&x->lb, p);
	return 0;
}

void
fqlb_terminated(struct fqlb *x, struct pipe *p)
{
	fq_terminated(&x->fq, p);
	lb_terminated(&x->lb, p);
}

int
fqlb_setsockopt(int option, bool req)
{
	switch (option) {
	case ZMQ_REQ_CORRELATE:
	case ZMQ_REQ_RELAXED: return req ? 1 : -EINVAL;
	case ZMQ_ROUTER_MANDATORY:
	case ZMQ_ROUTER_HANDOVER:
	case ZMQ_ROUTER_RAW: return -EINVAL;
	default: return 1;
	}
}

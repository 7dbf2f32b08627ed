/*
 * fqlb.h: the plumbing DEALER and REQ share (libzmq's REQ is a DEALER underneath):
 * every pipe is both fair-queued for reading and load-balanced for writing, and
 * ZMQ_PROBE_ROUTER greets each new peer with an empty message.
 * Threads: the socket's thread.
 */
#ifndef ZINC_SOCKET_FQLB_H
#define ZINC_SOCKET_FQLB_H

#include <stdbool.h>

#include "socket/fq.h"
#include "socket/lb.h"

struct fqlb {
	struct fq fq;
	struct lb lb;
};

void fqlb_init(struct fqlb *x);
void fqlb_fini(struct fqlb *x);
/* fqlb_attach: adds p to both schedulers, first writing an empty probe message to it
 * when probe is set. 0 or -ENOMEM with nothing attached and nothing written. */
int fqlb_attach(struct fqlb *x, struct pipe *p, bool probe);
void fqlb_terminated(struct fqlb *x, struct pipe *p);
/* fqlb_probe: writes and flushes an empty message to p (ZMQ_PROBE_ROUTER). 0, or
 * -ENOMEM with nothing written. A pipe without room is not probed. */
int fqlb_probe(struct pipe *p);
/* fqlb_setsockopt: a socket_ops.setsockopt for the options of ZMQ_REQ (req) or
 * ZMQ_DEALER: 1 for options the generic table keeps (the type's own and every
 * generic one), -EINVAL for the options of other types, as libzmq. */
int fqlb_setsockopt(int option, bool req);

#endif

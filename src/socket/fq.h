/*
 * fq.h: fair queueing over inbound pipes (seed 001): active pipes first, read round
 * robin, one whole multipart message per turn. O(1) whatever the number of pipes.
 *
 * One exception to the turns: a pipe whose writer has ended (its connection was lost,
 * its peer socket closed) is read to its end before any other. Its messages are a
 * bounded tail, and a peer that reconnects comes back on a new pipe: read in turns,
 * the new connection's messages would overtake the old one's, so one peer's messages
 * would arrive out of order across a reconnect on the side that accepted it.
 *
 * The array: [0, draining) active and ended, read first in index order;
 * [draining, active) active; [active, n) waiting for ACTIVATE_READ.
 * Threads: the socket's thread.
 */
#ifndef ZINC_SOCKET_FQ_H
#define ZINC_SOCKET_FQ_H

#include "pipe/pipe_array.h"

struct fq {
	struct pipe_array pipes;
	uint32_t active;
	uint32_t draining;
	uint32_t current;
	bool more; /* in the middle of a multipart message from pipes[current] */
};

void fq_init(struct fq *fq);
void fq_fini(struct fq *fq);
/* fq_reserve: call before fq_attach. 0 or -ENOMEM. */
int fq_reserve(struct fq *fq);
void fq_attach(struct fq *fq, struct pipe *p);
/* fq_activated: p has messages again, or its writer has ended (pipe_draining). */
void fq_activated(struct fq *fq, struct pipe *p);
void fq_terminated(struct fq *fq, struct pipe *p);
/* fq_recv: the next message part into m (empty). 0 or -EAGAIN. *from, if not NULL,
 * is the pipe it came from. */
int fq_recv(struct fq *fq, struct msg *m, struct pipe **from);
bool fq_has_in(struct fq *fq);
/* fq_probe: whether an fq_recv may find something (pipe_probe_read): changes nothing,
 * so an empty fq costs no pipe a deactivation. true in the middle of a message. */
bool fq_probe(struct fq *fq);

#endif

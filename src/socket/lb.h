/*
 * lb.h: load balancing over outbound pipes (seed 001): active pipes first, each whole
 * message to the next pipe with room. O(1) whatever the number of pipes.
 * Threads: the socket's thread.
 */
#ifndef ZINC_SOCKET_LB_H
#define ZINC_SOCKET_LB_H

#include "pipe/pipe_array.h"

struct lb {
	struct pipe_array pipes;
	uint32_t active;
	uint32_t current;
	bool more;     /* in the middle of a multipart message to pipes[current] */
	bool dropping; /* its pipe died mid-message: drop the rest of it */
};

void lb_init(struct lb *lb);
void lb_fini(struct lb *lb);
int lb_reserve(struct lb *lb);
void lb_attach(struct lb *lb, struct pipe *p);
void lb_activated(struct lb *lb, struct pipe *p);
void lb_terminated(struct lb *lb, struct pipe *p);
/* lb_send: on 0 the message is queued (or dropped as the rest of a dead message) and
 * m is empty. -EAGAIN: no pipe has room; -ENOMEM: out of memory, the unfinished
 * multipart message is rolled back. m stays the caller's on error. */
int lb_send(struct lb *lb, struct msg *m, struct pipe **to);
bool lb_has_out(struct lb *lb);
/* lb_rollback: drops the unfinished message being sent. */
void lb_rollback(struct lb *lb);

#endif

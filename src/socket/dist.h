/*
 * dist.h: fan-out of messages to many outbound pipes (seed 001, "Message scheduling"),
 * for PUB/XPUB (data to subscribers) and SUB/XSUB (subscriptions to publishers).
 *
 * One array, split into nested regions by three counts:
 *
 *   [0, matching)         pipes the message being sent goes to;
 *   [matching, active)    pipes that may take messages but this one is not theirs;
 *   [active, eligible)    pipes that got room back in the middle of a multipart
 *                         message: they join at the next message;
 *   [eligible, n)         pipes at their high-water mark (or ending): skipped.
 *
 * Every change of region is one swap, so the cost of a message is the number of pipes
 * it goes to, whatever the number of peers. One payload is shared by every pipe
 * (msg_copy), and a multipart message goes whole to the set of pipes chosen at its
 * first part. A pipe that is full when a message starts is skipped for that message
 * (a PUB never blocks); the caller wanting otherwise checks dist_check_hwm first.
 *
 * Threads: the owning socket's thread.
 */
#ifndef ZINC_SOCKET_DIST_H
#define ZINC_SOCKET_DIST_H

#include <stdbool.h>

#include "pipe/pipe_array.h"

struct dist {
	struct pipe_array pipes;
	uint32_t matching;
	uint32_t active;
	uint32_t eligible;
	bool more; /* in the middle of a multipart message */
};

void dist_init(struct dist *d);
void dist_fini(struct dist *d);
/* dist_reserve: call before dist_attach. 0 or -ENOMEM. */
int dist_reserve(struct dist *d);
/* dist_attach: a new pipe, eligible at once, active from the next message. */
void dist_attach(struct dist *d, struct pipe *p);
/* dist_activated: p has room again (its write_activated callback). */
void dist_activated(struct dist *d, struct pipe *p);
/* dist_terminated: forget p. */
void dist_terminated(struct dist *d, struct pipe *p);

/* dist_match: the message being started goes to p too (if p can take it). */
void dist_match(struct dist *d, struct pipe *p);
/* dist_reverse_match: the message goes to exactly the pipes it did not match. */
void dist_reverse_match(struct dist *d);
/* dist_unmatch: the message goes nowhere (yet). */
void dist_unmatch(struct dist *d);
/* dist_check_hwm: true when every matching pipe has room for a message. */
bool dist_check_hwm(struct dist *d);

/* dist_send_to_matching: queues m on every matching pipe; a pipe that cannot take it
 * (full, ending, no memory) drops this message and the rest of it. After the last part
 * the matching set is empty again. On 0 m is consumed (sent or dropped) and empty.
 * -ENOMEM: no pipe could take it for want of memory; m is still the caller's. */
int dist_send_to_matching(struct dist *d, struct msg *m);
/* dist_send_to_all: dist_send_to_matching to every active pipe. */
int dist_send_to_all(struct dist *d, struct msg *m);
/* dist_rollback: drops the unfinished multipart message being sent. */
void dist_rollback(struct dist *d);

#endif

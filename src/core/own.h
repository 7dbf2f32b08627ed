/*
 * own.h: object trees and their shutdown handshake (seed 001, "Object trees").
 *
 * A parent asks a child to stop with TERM and waits for TERM_ACK; a child that wants to
 * stop asks its parent with TERM_REQ and waits for TERM. A TERM_REQ that crosses a TERM
 * is ignored: the child is no longer in the parent's list. Commands that may reach an
 * object from outside its tree (PLUG, OWN, BIND) are sent with own_inc_seqnum on the
 * target: it cannot finish terminating until it has processed each of them.
 *
 * Threads: every function here runs in the object's own thread, except
 * own_inc_seqnum (any thread).
 */
#ifndef ZINC_CORE_OWN_H
#define ZINC_CORE_OWN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"

struct own;

struct own_ops {
	/* process: commands that are not part of the tree protocol. */
	void (*process)(struct own *o, const struct command *cmd);
	/* process_term: start terminating; must end by calling own_process_term. NULL
	 * means own_process_term itself. */
	void (*process_term)(struct own *o, int linger);
	/* destroy: the object has fully terminated (every child and registered ack is
	 * done); free it, or mark it for its thread to free. */
	void (*destroy)(struct own *o);
};

struct own {
	struct object obj;
	const struct own_ops *ops;
	struct own *owner;
	struct own *children;            /* owned objects, intrusive list */
	struct own *sib_next, *sib_prev; /* links in the owner's list */
	bool in_owner_list;
	bool terminating;
	/* The one linger value of a termination: a root's is ZMQ_LINGER as the socket
	 * closes; a child takes the one its CMD_TERM carries (own_process_term). */
	int linger;
	int term_acks;
	atomic_uint_fast64_t sent_seqnum;
	uint64_t processed_seqnum;
};

void own_init(struct own *o, struct ctx *ctx, uint32_t tid, const struct own_ops *ops);

/* own_inc_seqnum: announces a command about to be sent to o across the tree. */
static inline void
own_inc_seqnum(struct own *o)
{
	atomic_fetch_add_explicit(&o->sent_seqnum, 1, memory_order_relaxed);
}

/* own_send_counted: sends cmd (type and arguments filled in by the caller) to dest as a
 * command from outside its tree: dest's sent_seqnum is bumped first, so dest cannot
 * finish terminating before it has run it. Any thread; never fails. */
void own_send_counted(struct own *dest, struct command *cmd);
/* own_send_pipe: own_send_counted of a command that hands dest a pipe end: CMD_BIND (a
 * new pipe for a socket) or CMD_INPROC_CONNECTED (a pending inproc pipe is live);
 * origin: the session that made it (so that zmq_unbind and zmq_disconnect find the
 * pipes of an endpoint), or NULL. */
void own_send_pipe(struct own *dest, enum command_type type, struct pipe *p,
                   struct own *origin);

/* own_launch_child: child becomes parent's and is plugged in its own thread. */
void own_launch_child(struct own *parent, struct own *child);
/* own_term_child: parent terminates one of its children. */
void own_term_child(struct own *parent, struct own *child);
/* own_terminate: o asks to be terminated (by its owner, or itself if it is a root). */
void own_terminate(struct own *o);
/* own_process_term: the default termination: term every child, wait for the acks. */
void own_process_term(struct own *o, int linger);
/* own_register_term_acks / own_unregister_term_ack: extra acks o must wait for
 * (a socket waits for its pipes this way). */
void own_register_term_acks(struct own *o, int n);
void own_unregister_term_ack(struct own *o);
static inline bool
own_is_terminating(const struct own *o)
{
	return o->terminating;
}

/* The object_ops every own-derived object uses; it routes to own_ops. */
extern const struct object_ops own_object_ops;

#endif

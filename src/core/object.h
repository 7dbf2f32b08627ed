/*
 * object.h: anything that receives commands (seed 001, "Concurrency model"). An object
 * lives in the zinc thread whose mailbox slot is `tid`; commands sent to it are queued
 * there and processed by that thread through ops->process. The object never moves
 * between threads, except a socket whose tid (its own mailbox) moves with it.
 */
#ifndef ZINC_CORE_OBJECT_H
#define ZINC_CORE_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/command.h"

struct ctx;

struct object_ops {
	/* process: handles one command, in the object's thread. */
	void (*process)(struct object *o, const struct command *cmd);
};

struct object {
	struct ctx *ctx;
	uint32_t tid;
	const struct object_ops *ops;
};

static inline void
object_init(struct object *o, struct ctx *ctx, uint32_t tid, const struct object_ops *ops)
{
	o->ctx = ctx;
	o->tid = tid;
	o->ops = ops;
}

/* object_send: queues cmd for cmd->dest in dest's thread. Any thread; never fails. */
void object_send(struct command *cmd);
/* object_dispatch: runs a received command on its destination. */
static inline void
object_dispatch(const struct command *cmd)
{
	cmd->dest->ops->process(cmd->dest, cmd);
}

/* Short forms for the commands every layer sends. */
void send_simple(struct object *dest, enum command_type type);
void send_activate_write(struct object *dest, uint64_t msgs_read);

#endif

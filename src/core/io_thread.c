/*
 * io_thread.c: see io_thread.h. Everything but CMD_STOP is poll_thread.c's.
 */
#include "core/io_thread.h"
#include "platform/alloc.h"
#include "platform/container.h"

#include <errno.h>
#include <stddef.h>

static void
io_thread_process(struct object *o, const struct command *cmd)
{
	struct io_thread *t = container_of(o, struct io_thread, pt.obj);
	if (cmd->type == CMD_STOP)
		poll_thread_halt(&t->pt);
}

static const struct object_ops io_thread_ops = {.process = io_thread_process};

int
io_thread_new(struct io_thread **out, struct ctx *ctx, uint32_t tid)
{
	struct io_thread *t = zn_calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	int rc = poll_thread_init(&t->pt, ctx, tid, &io_thread_ops);
	if (rc < 0) {
		zn_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int
io_thread_start(struct io_thread *t, const struct zn_thread_opts *opts)
{
	return poll_thread_start(&t->pt, opts);
}

void
io_thread_stop(struct io_thread *t)
{
	poll_thread_stop(&t->pt);
}

void
io_thread_join(struct io_thread *t)
{
	poll_thread_join(&t->pt);
}

void
io_thread_destroy(struct io_thread *t)
{
	poll_thread_fini(&t->pt);
	zn_free(t);
}

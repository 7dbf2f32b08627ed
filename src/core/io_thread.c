/*
 * io_thread.c: see io_thread.h. Commands for any object living in this thread arrive
 * in one mailbox and are dispatched to their destination here.
 */
#include "core/io_thread.h"
#include "platform/alloc.h"
#include "platform/container.h"

#include <errno.h>
#include <stddef.h>

static void
io_thread_in_event(void *arg)
{
	struct io_thread *t = arg;
	struct command cmd;
	mailbox_drain_signal(t->mailbox);
	while (mailbox_recv(t->mailbox, &cmd, 0) == 0)
		object_dispatch(&cmd);
}

static const struct poll_handler_ops io_thread_handler = {.in_event = io_thread_in_event};

static void
io_thread_process(struct object *o, const struct command *cmd)
{
	struct io_thread *t = container_of(o, struct io_thread, obj);
	if (cmd->type == CMD_STOP) {
		poller_rm_fd(&t->poller, t->mailbox_handle);
		t->mailbox_handle = NULL;
		poller_stop(&t->poller);
	}
}

static const struct object_ops io_thread_ops = {.process = io_thread_process};

int
io_thread_new(struct io_thread **out, struct ctx *ctx, uint32_t tid)
{
	struct io_thread *t = zn_calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	int rc = mailbox_new(&t->mailbox);
	if (rc < 0)
		goto fail_mailbox;
	rc = poller_init(&t->poller);
	if (rc < 0)
		goto fail_poller;
	rc = poller_add_fd(&t->poller, mailbox_fd(t->mailbox), &io_thread_handler, t,
	                   &t->mailbox_handle);
	if (rc < 0)
		goto fail_add;
	poller_set_pollin(&t->poller, t->mailbox_handle);
	/* The mailbox fd is not a connection: do not count it as load. */
	atomic_fetch_sub(&t->poller.load, 1);
	object_init(&t->obj, ctx, tid, &io_thread_ops);
	*out = t;
	return 0;

fail_add:
	poller_fini(&t->poller);
fail_poller:
	mailbox_release(t->mailbox);
fail_mailbox:
	zn_free(t);
	return rc;
}

int
io_thread_start(struct io_thread *t, const struct zn_thread_opts *opts)
{
	return poller_start(&t->poller, opts);
}

void
io_thread_stop(struct io_thread *t)
{
	send_simple(&t->obj, CMD_STOP);
}

void
io_thread_join(struct io_thread *t)
{
	poller_join(&t->poller);
}

void
io_thread_destroy(struct io_thread *t)
{
	if (t->mailbox_handle) /* never started, so never stopped */
		poller_rm_fd(&t->poller, t->mailbox_handle);
	poller_fini(&t->poller);
	mailbox_release(t->mailbox);
	zn_free(t);
}

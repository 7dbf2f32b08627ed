/*
 * poll_thread.c: see poll_thread.h. Commands for any object living in the thread
 * arrive in one mailbox and are dispatched to their destination here.
 */
#include "core/poll_thread.h"

#include <stdatomic.h>

static void
poll_thread_in_event(void *arg)
{
	struct poll_thread *t = arg;
	struct command cmd;
	mailbox_drain_signal(t->mailbox);
	while (!t->halted && mailbox_recv(t->mailbox, &cmd, 0) == 0)
		object_dispatch(&cmd);
}

static const struct poll_handler_ops poll_thread_handler = {
        .in_event = poll_thread_in_event,
};

int
poll_thread_init(struct poll_thread *t, struct ctx *ctx, uint32_t tid,
                 const struct object_ops *ops)
{
	int rc = mailbox_new(&t->mailbox);
	if (rc < 0)
		return rc;
	rc = poller_init(&t->poller);
	if (rc < 0)
		goto fail_poller;
	rc = poller_add_fd(&t->poller, mailbox_fd(t->mailbox), &poll_thread_handler, t,
	                   &t->mailbox_handle);
	if (rc < 0)
		goto fail_add;
	poller_set_pollin(&t->poller, t->mailbox_handle);
	/* The mailbox fd is not a connection: do not count it as load. */
	atomic_fetch_sub(&t->poller.load, 1);
	t->halted = false;
	object_init(&t->obj, ctx, tid, ops);
	return 0;

fail_add:
	poller_fini(&t->poller);
fail_poller:
	mailbox_release(t->mailbox);
	return rc;
}

int
poll_thread_start(struct poll_thread *t, const struct zn_thread_opts *opts)
{
	return poller_start(&t->poller, opts);
}

void
poll_thread_stop(struct poll_thread *t)
{
	send_simple(&t->obj, CMD_STOP);
}

void
poll_thread_halt(struct poll_thread *t)
{
	t->halted = true;
	poller_rm_fd(&t->poller, t->mailbox_handle);
	t->mailbox_handle = NULL;
	poller_stop(&t->poller);
}

void
poll_thread_join(struct poll_thread *t)
{
	poller_join(&t->poller);
}

void
poll_thread_fini(struct poll_thread *t)
{
	if (t->mailbox_handle) /* never started, so never stopped */
		poller_rm_fd(&t->poller, t->mailbox_handle);
	poller_fini(&t->poller);
	mailbox_release(t->mailbox);
}

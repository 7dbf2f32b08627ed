/*
 * reaper.c: see reaper.h.
 */
#include "core/reaper.h"
#include "core/ctx.h"
#include "platform/alloc.h"
#include "platform/container.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct reaper {
	struct object obj;
	struct mailbox *mailbox;
	struct poller poller;
	struct poll_handle *mailbox_handle;
	int sockets;
	bool terminating;
	bool done;
};

static void
reaper_check_done(struct reaper *r)
{
	if (!r->terminating || r->sockets > 0 || r->done)
		return;
	r->done = true;
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_DONE;
	ctx_send_command(r->obj.ctx, 0, &cmd);
	poller_rm_fd(&r->poller, r->mailbox_handle);
	r->mailbox_handle = NULL;
	poller_stop(&r->poller);
}

static void
reaper_in_event(void *arg)
{
	struct reaper *r = arg;
	struct command cmd;
	mailbox_drain_signal(r->mailbox);
	while (!r->done && mailbox_recv(r->mailbox, &cmd, 0) == 0)
		object_dispatch(&cmd);
}

static const struct poll_handler_ops reaper_handler = {.in_event = reaper_in_event};

static void
reaper_process(struct object *o, const struct command *cmd)
{
	struct reaper *r = container_of(o, struct reaper, obj);
	switch (cmd->type) {
	case CMD_REAP:
		r->sockets++;
		cmd->args.reap.start(cmd->args.reap.socket, r);
		break;
	case CMD_STOP:
		r->terminating = true;
		reaper_check_done(r);
		break;
	default: break;
	}
}

static const struct object_ops reaper_ops = {.process = reaper_process};

int
reaper_new(struct reaper **out, struct ctx *ctx, uint32_t tid)
{
	struct reaper *r = zn_calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	int rc = mailbox_new(&r->mailbox);
	if (rc < 0)
		goto fail_mailbox;
	rc = poller_init(&r->poller);
	if (rc < 0)
		goto fail_poller;
	rc = poller_add_fd(&r->poller, mailbox_fd(r->mailbox), &reaper_handler, r,
	                   &r->mailbox_handle);
	if (rc < 0)
		goto fail_add;
	poller_set_pollin(&r->poller, r->mailbox_handle);
	object_init(&r->obj, ctx, tid, &reaper_ops);
	*out = r;
	return 0;

fail_add:
	poller_fini(&r->poller);
fail_poller:
	mailbox_release(r->mailbox);
fail_mailbox:
	zn_free(r);
	return rc;
}

int
reaper_start(struct reaper *r, const struct zn_thread_opts *opts)
{
	return poller_start(&r->poller, opts);
}

void
reaper_stop(struct reaper *r)
{
	send_simple(&r->obj, CMD_STOP);
}

void
reaper_join(struct reaper *r)
{
	poller_join(&r->poller);
}

void
reaper_destroy(struct reaper *r)
{
	if (r->mailbox_handle) /* never started, so never stopped */
		poller_rm_fd(&r->poller, r->mailbox_handle);
	poller_fini(&r->poller);
	mailbox_release(r->mailbox);
	zn_free(r);
}

struct mailbox *
reaper_mailbox(struct reaper *r)
{
	return r->mailbox;
}

struct object *
reaper_object(struct reaper *r)
{
	return &r->obj;
}

struct poller *
reaper_poller(struct reaper *r)
{
	return &r->poller;
}

void
reaper_socket_gone(struct reaper *r)
{
	r->sockets--;
	reaper_check_done(r);
}

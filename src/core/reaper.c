/*
 * reaper.c: see reaper.h. The thread's lifecycle is poll_thread.c's; the reaper adds
 * counting the sockets it reaps and CMD_DONE.
 */
#include "core/reaper.h"
#include "core/ctx.h"
#include "platform/alloc.h"
#include "platform/container.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct reaper {
	struct poll_thread pt; /* the thread, its mailbox and poller */
	int sockets;
	bool terminating;
};

static void
reaper_check_done(struct reaper *r)
{
	if (!r->terminating || r->sockets > 0 || r->pt.halted)
		return;
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_DONE;
	ctx_send_command(r->pt.obj.ctx, 0, &cmd);
	poll_thread_halt(&r->pt);
}

static void
reaper_process(struct object *o, const struct command *cmd)
{
	struct reaper *r = container_of(o, struct reaper, pt.obj);
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
	int rc = poll_thread_init(&r->pt, ctx, tid, &reaper_ops);
	if (rc < 0) {
		zn_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
reaper_start(struct reaper *r, const struct zn_thread_opts *opts)
{
	return poll_thread_start(&r->pt, opts);
}

void
reaper_stop(struct reaper *r)
{
	poll_thread_stop(&r->pt);
}

void
reaper_join(struct reaper *r)
{
	poll_thread_join(&r->pt);
}

void
reaper_destroy(struct reaper *r)
{
	poll_thread_fini(&r->pt);
	zn_free(r);
}

struct mailbox *
reaper_mailbox(struct reaper *r)
{
	return r->pt.mailbox;
}

struct object *
reaper_object(struct reaper *r)
{
	return &r->pt.obj;
}

struct poller *
reaper_poller(struct reaper *r)
{
	return &r->pt.poller;
}

void
reaper_socket_gone(struct reaper *r)
{
	r->sockets--;
	reaper_check_done(r);
}

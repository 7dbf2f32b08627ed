/*
 * object.c: command sending. The destination's mailbox is found through the context's
 * slot table, so a command can be sent to any object from any thread.
 */
#include "core/object.h"
#include "core/ctx.h"

#include <string.h>

void
object_send(struct command *cmd)
{
	struct object *dest = cmd->dest;
	ctx_send_command(dest->ctx, dest->tid, cmd);
}

void
send_simple(struct object *dest, enum command_type type)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = dest;
	cmd.type = type;
	object_send(&cmd);
}

void
send_activate_write(struct object *dest, uint64_t msgs_read)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = dest;
	cmd.type = CMD_ACTIVATE_WRITE;
	cmd.args.activate_write.msgs_read = msgs_read;
	object_send(&cmd);
}

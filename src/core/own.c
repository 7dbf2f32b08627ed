/*
 * own.c: see own.h.
 */
#include "core/own.h"
#include "platform/container.h"

#include <stddef.h>
#include <string.h>

void
own_init(struct own *o, struct ctx *ctx, uint32_t tid, const struct own_ops *ops)
{
	memset(o, 0, sizeof *o);
	object_init(&o->obj, ctx, tid, &own_object_ops);
	o->ops = ops;
	o->linger = -1;
	atomic_init(&o->sent_seqnum, 0);
}

static void
own_list_add(struct own *parent, struct own *child)
{
	child->sib_prev = NULL;
	child->sib_next = parent->children;
	if (parent->children)
		parent->children->sib_prev = child;
	parent->children = child;
	child->in_owner_list = true;
}

static void
own_list_remove(struct own *parent, struct own *child)
{
	if (child->sib_prev)
		child->sib_prev->sib_next = child->sib_next;
	else
		parent->children = child->sib_next;
	if (child->sib_next)
		child->sib_next->sib_prev = child->sib_prev;
	child->sib_next = child->sib_prev = NULL;
	child->in_owner_list = false;
}

void
own_send_counted(struct own *dest, struct command *cmd)
{
	cmd->dest = &dest->obj;
	cmd->seqnum = 1;
	own_inc_seqnum(dest);
	object_send(cmd);
}

void
own_send_pipe(struct own *dest, enum command_type type, struct pipe *p,
              struct own *origin)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = type;
	cmd.args.bind.pipe = p;
	cmd.args.bind.origin = origin;
	own_send_counted(dest, &cmd);
}

static void
own_send(struct own *dest, enum command_type type, bool seqnum, int linger,
         struct own *arg)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = &dest->obj;
	cmd.type = type;
	if (type == CMD_TERM)
		cmd.args.term.linger = linger;
	else if (type == CMD_TERM_REQ)
		cmd.args.term_req.object = arg;
	else if (type == CMD_OWN)
		cmd.args.own.object = arg;
	if (seqnum)
		own_send_counted(dest, &cmd);
	else
		object_send(&cmd);
}

static void
own_check_term_acks(struct own *o)
{
	uint64_t sent = atomic_load_explicit(&o->sent_seqnum, memory_order_acquire);
	if (!o->terminating || o->processed_seqnum != sent || o->term_acks != 0)
		return;
	if (o->owner)
		own_send(o->owner, CMD_TERM_ACK, false, 0, NULL);
	o->ops->destroy(o);
}

void
own_launch_child(struct own *parent, struct own *child)
{
	child->owner = parent;
	own_send(child, CMD_PLUG, true, 0, NULL);
	own_send(parent, CMD_OWN, true, 0, child);
}

static void
own_process_term_req(struct own *o, struct own *child)
{
	/* Already terminating: the TERM we sent crosses this request. */
	if (o->terminating || !child->in_owner_list || child->owner != o)
		return;
	own_list_remove(o, child);
	o->term_acks++;
	own_send(child, CMD_TERM, false, o->linger, NULL);
}

void
own_term_child(struct own *parent, struct own *child)
{
	own_process_term_req(parent, child);
}

static void
own_process_own(struct own *o, struct own *child)
{
	/* A child launched while we terminate is terminated at once. */
	if (o->terminating) {
		o->term_acks++;
		own_send(child, CMD_TERM, false, 0, NULL);
		return;
	}
	own_list_add(o, child);
}

void
own_terminate(struct own *o)
{
	if (o->terminating)
		return;
	if (!o->owner) {
		if (o->ops->process_term)
			o->ops->process_term(o, o->linger);
		else
			own_process_term(o, o->linger);
		return;
	}
	own_send(o->owner, CMD_TERM_REQ, false, 0, o);
}

void
own_process_term(struct own *o, int linger)
{
	o->linger = linger;
	while (o->children) {
		struct own *child = o->children;
		own_list_remove(o, child);
		own_send(child, CMD_TERM, false, linger, NULL);
		o->term_acks++;
	}
	o->terminating = true;
	own_check_term_acks(o);
}

void
own_register_term_acks(struct own *o, int n)
{
	o->term_acks += n;
}

void
own_unregister_term_ack(struct own *o)
{
	o->term_acks--;
	own_check_term_acks(o);
}

static void
own_dispatch(struct object *obj, const struct command *cmd)
{
	struct own *o = container_of(obj, struct own, obj);
	switch (cmd->type) {
	case CMD_OWN: own_process_own(o, cmd->args.own.object); break;
	case CMD_TERM_REQ: own_process_term_req(o, cmd->args.term_req.object); break;
	case CMD_TERM:
		if (o->terminating)
			break;
		if (o->ops->process_term)
			o->ops->process_term(o, cmd->args.term.linger);
		else
			own_process_term(o, cmd->args.term.linger);
		break;
	case CMD_TERM_ACK: own_unregister_term_ack(o); return;
	case CMD_SEQNUM: break;
	default:
		if (o->ops->process)
			o->ops->process(o, cmd);
		break;
	}
	/* After the command ran: it may have been the last one in flight. An object that
	 * already destroyed itself never gets a seqnum'd command (that is the point). */
	if (cmd->seqnum) {
		o->processed_seqnum++;
		own_check_term_acks(o);
	}
}

const struct object_ops own_object_ops = {.process = own_dispatch};

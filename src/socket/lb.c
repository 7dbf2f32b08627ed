/*
 * lb.c: see lb.h.
 */
#include "socket/lb.h"

void
lb_init(struct lb *lb)
{
	pipe_array_init(&lb->pipes, PIPE_ARRAY_LB);
	lb->active = lb->current = 0;
	lb->more = lb->dropping = false;
}

void
lb_fini(struct lb *lb)
{
	pipe_array_fini(&lb->pipes);
}

int
lb_reserve(struct lb *lb)
{
	return pipe_array_reserve(&lb->pipes);
}

void
lb_attach(struct lb *lb, struct pipe *p)
{
	pipe_array_push(&lb->pipes, p);
	lb_activated(lb, p);
}

void
lb_activated(struct lb *lb, struct pipe *p)
{
	uint32_t i = pipe_array_index(&lb->pipes, p);
	if (i < lb->active)
		return;
	pipe_array_swap(&lb->pipes, i, lb->active);
	lb->active++;
}

static void
lb_deactivate(struct lb *lb, uint32_t i)
{
	lb->active--;
	pipe_array_swap(&lb->pipes, i, lb->active);
	/* The swap moved the last active pipe to i: if that was the current one,
	 * follow it there (or wrap when i itself was the last). */
	if (lb->current == lb->active)
		lb->current = i < lb->active ? i : 0;
}

void
lb_terminated(struct lb *lb, struct pipe *p)
{
	if (!pipe_array_contains(&lb->pipes, p))
		return;
	uint32_t i = pipe_array_index(&lb->pipes, p);
	if (i == lb->current && lb->more)
		lb->dropping = true;
	if (i < lb->active)
		lb_deactivate(lb, i);
	pipe_array_erase(&lb->pipes, p);
}

int
lb_send(struct lb *lb, struct msg *m, struct pipe **to)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	if (lb->dropping) {
		lb->more = more;
		lb->dropping = lb->more;
		msg_close(m);
		msg_init(m);
		return 0;
	}
	while (lb->active > 0) {
		struct pipe *p = lb->pipes.items[lb->current];
		int rc = pipe_write(p, m);
		if (rc == 0) {
			if (to)
				*to = p;
			break;
		}
		if (rc == -ENOMEM) {
			pipe_rollback(p);
			lb->more = false;
			return rc;
		}
		if (lb->more) {
			/* The pipe is ending mid-message (HWM counts whole messages, so
			 * it is not full): drop what it had and the rest of the message.
			 */
			pipe_rollback(p);
			lb_deactivate(lb, lb->current);
			lb->more = lb->dropping = more;
			msg_close(m);
			msg_init(m);
			return 0;
		}
		lb_deactivate(lb, lb->current);
	}
	if (lb->active == 0)
		return -EAGAIN;
	lb->more = more;
	if (!more) {
		pipe_flush(lb->pipes.items[lb->current]);
		if (++lb->current >= lb->active) /* not %: a division a message */
			lb->current = 0;
	}
	return 0;
}

void
lb_rollback(struct lb *lb)
{
	if (lb->more && lb->current < lb->active)
		pipe_rollback(lb->pipes.items[lb->current]);
	lb->more = false;
	lb->dropping = false;
}

bool
lb_has_out(struct lb *lb)
{
	if (lb->more)
		return true;
	while (lb->active > 0) {
		if (pipe_check_write(lb->pipes.items[lb->current]))
			return true;
		lb_deactivate(lb, lb->current);
	}
	return false;
}

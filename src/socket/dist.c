/*
 * dist.c: see dist.h.
 */
#include "socket/dist.h"

void
dist_init(struct dist *d)
{
	pipe_array_init(&d->pipes, PIPE_ARRAY_DIST);
	d->matching = d->active = d->eligible = 0;
	d->more = false;
}

void
dist_fini(struct dist *d)
{
	pipe_array_fini(&d->pipes);
}

int
dist_reserve(struct dist *d)
{
	return pipe_array_reserve(&d->pipes);
}

static uint32_t
dist_index(const struct dist *d, const struct pipe *p)
{
	return pipe_array_index(&d->pipes, p);
}

/* dist_promote: moves p, just past the eligible region, into it; and into the active
 * region too unless a multipart message is under way. */
static void
dist_promote(struct dist *d, struct pipe *p)
{
	pipe_array_swap(&d->pipes, dist_index(d, p), d->eligible++);
	if (!d->more)
		pipe_array_swap(&d->pipes, dist_index(d, p), d->active++);
}

void
dist_attach(struct dist *d, struct pipe *p)
{
	pipe_array_push(&d->pipes, p);
	dist_promote(d, p);
}

void
dist_activated(struct dist *d, struct pipe *p)
{
	if (!pipe_array_contains(&d->pipes, p) || dist_index(d, p) < d->eligible)
		return; /* still eligible: it was found full but never written to */
	dist_promote(d, p);
}

/* dist_demote: takes p out of the matching region, and out of the active and eligible
 * ones too with `out`. */
static void
dist_demote(struct dist *d, struct pipe *p, bool out)
{
	if (dist_index(d, p) < d->matching)
		pipe_array_swap(&d->pipes, dist_index(d, p), --d->matching);
	if (!out)
		return;
	if (dist_index(d, p) < d->active)
		pipe_array_swap(&d->pipes, dist_index(d, p), --d->active);
	if (dist_index(d, p) < d->eligible)
		pipe_array_swap(&d->pipes, dist_index(d, p), --d->eligible);
}

void
dist_terminated(struct dist *d, struct pipe *p)
{
	if (!pipe_array_contains(&d->pipes, p))
		return;
	dist_demote(d, p, true);
	pipe_array_erase(&d->pipes, p);
}

void
dist_match(struct dist *d, struct pipe *p)
{
	uint32_t i = dist_index(d, p);
	if (i < d->matching || i >= d->active || !pipe_array_contains(&d->pipes, p))
		return;
	pipe_array_swap(&d->pipes, i, d->matching++);
}

void
dist_reverse_match(struct dist *d)
{
	/* Move the active pipes that did not match to the front. */
	uint32_t was = d->matching;
	d->matching = 0;
	for (uint32_t i = was; i < d->active; i++)
		pipe_array_swap(&d->pipes, i, d->matching++);
}

void
dist_unmatch(struct dist *d)
{
	d->matching = 0;
}

bool
dist_check_hwm(struct dist *d)
{
	for (uint32_t i = 0; i < d->matching; i++)
		if (!pipe_check_write(d->pipes.items[i]))
			return false;
	return true;
}

/* dist_end_message: the last part went out: pipes that got room meanwhile join. */
static void
dist_end_message(struct dist *d)
{
	d->matching = 0;
	d->active = d->eligible;
	d->more = false;
}

int
dist_send_to_matching(struct dist *d, struct msg *m)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	bool nomem = false;
	uint32_t sent = 0;
	/* Every pipe but the last gets a copy sharing the payload, the last m itself: the
	 * copies' references are taken at once. Each turn of the loop either sends to
	 * pipe i or demotes it, so there are exactly matching turns, and a copy that is
	 * not sent gives its reference back. */
	if (d->matching > 1)
		msg_hold(m, d->matching - 1);
	for (uint32_t i = 0; i < d->matching;) {
		struct pipe *p = d->pipes.items[i];
		bool last = i == d->matching - 1;
		struct msg c;
		msg_init(&c);
		if (!last)
			msg_share(&c, m);
		int rc = pipe_write_or_drop(p, last ? m : &c);
		if (rc == 0) {
			sent++;
			i++;
			continue;
		}
		/* This pipe loses the whole message: its earlier parts go too. A pipe
		 * without memory stays eligible for the next message; a full or ending
		 * one waits for its write_activated (or terminated) callback. */
		msg_close(&c);
		pipe_rollback(p);
		nomem = nomem || rc == -ENOMEM;
		dist_demote(d, p, rc != -ENOMEM); /* another pipe moved to index i */
	}
	if (sent == 0 && nomem)
		return -ENOMEM;
	if (!more) {
		/* A message for many peers is never written by this thread to each
		 * connection in turn (pipe/shortcut.h): a PUB to 100 SUBs made 100
		 * system calls a message that way, 0.4 M deliveries/s against 5 M. Their
		 * I/O threads write it. */
		bool fanout = d->matching > 1;
		for (uint32_t i = 0; i < d->matching; i++)
			pipe_flush_queued(d->pipes.items[i], fanout);
		dist_end_message(d);
	} else {
		d->more = true;
	}
	msg_close(m); /* dropped by every pipe, or (empty) moved into the last */
	msg_init(m);
	return 0;
}

int
dist_send_to_all(struct dist *d, struct msg *m)
{
	if (!d->more)
		d->matching = d->active;
	return dist_send_to_matching(d, m);
}

void
dist_rollback(struct dist *d)
{
	for (uint32_t i = 0; i < d->matching; i++)
		pipe_rollback(d->pipes.items[i]);
	dist_end_message(d);
}

/*
 * fq.c: see fq.h.
 */
#include "socket/fq.h"

void
fq_init(struct fq *fq)
{
	pipe_array_init(&fq->pipes, PIPE_ARRAY_FQ);
	fq->active = fq->draining = fq->current = 0;
	fq->more = false;
}

void
fq_fini(struct fq *fq)
{
	pipe_array_fini(&fq->pipes);
}

int
fq_reserve(struct fq *fq)
{
	return pipe_array_reserve(&fq->pipes);
}

/* fq_swap: swaps two pipes; in the middle of a message, current follows its pipe. */
static void
fq_swap(struct fq *fq, uint32_t i, uint32_t j)
{
	pipe_array_swap(&fq->pipes, i, j);
	if (!fq->more)
		return;
	if (fq->current == i)
		fq->current = j;
	else if (fq->current == j)
		fq->current = i;
}

void
fq_attach(struct fq *fq, struct pipe *p)
{
	pipe_array_push(&fq->pipes, p);
	fq_activated(fq, p);
}

void
fq_activated(struct fq *fq, struct pipe *p)
{
	uint32_t i = pipe_array_index(&fq->pipes, p);
	if (i >= fq->active) {
		fq_swap(fq, i, fq->active);
		i = fq->active++;
	}
	if (i >= fq->draining && pipe_draining(p)) {
		fq_swap(fq, i, fq->draining);
		fq->draining++;
	}
}

/* fq_deactivate: moves the pipe at index i out of the active region. */
static void
fq_deactivate(struct fq *fq, uint32_t i)
{
	if (i < fq->draining) {
		fq->draining--;
		fq_swap(fq, i, fq->draining);
		i = fq->draining;
	}
	fq->active--;
	fq_swap(fq, i, fq->active);
}

void
fq_terminated(struct fq *fq, struct pipe *p)
{
	if (!pipe_array_contains(&fq->pipes, p))
		return;
	uint32_t i = pipe_array_index(&fq->pipes, p);
	if (i < fq->active) {
		if (i == fq->current)
			fq->more = false;
		fq_deactivate(fq, i);
	}
	pipe_array_erase(&fq->pipes, p);
}

/* fq_pick: the pipe whose turn it is, at a message's start: an ended one while any
 * has messages, else the next in turn. */
static struct pipe *
fq_pick(struct fq *fq)
{
	if (!fq->more) {
		if (fq->draining > 0)
			fq->current = 0;
		else if (fq->current >= fq->active)
			fq->current = 0;
	}
	return fq->pipes.items[fq->current];
}

int
fq_recv(struct fq *fq, struct msg *m, struct pipe **from)
{
	while (fq->active > 0) {
		struct pipe *p = fq_pick(fq);
		if (pipe_read(p, m)) {
			if (from)
				*from = p;
			fq->more = (m->flags & MSGF_MORE) != 0;
			if (!fq->more)
				fq->current++;
			return 0;
		}
		/* A pipe never runs dry inside a message (parts are published together),
		 * unless it was terminated mid-message; either way move on. The pipe
		 * swapped into its place is the next in turn. */
		fq->more = false;
		fq_deactivate(fq, fq->current);
	}
	return -EAGAIN;
}

bool
fq_probe(struct fq *fq)
{
	if (fq->more)
		return true;
	for (uint32_t i = 0; i < fq->active; i++)
		if (pipe_probe_read(fq->pipes.items[i]))
			return true;
	return false;
}

bool
fq_has_in(struct fq *fq)
{
	if (fq->more)
		return true;
	while (fq->active > 0) {
		if (pipe_check_read(fq_pick(fq)))
			return true;
		fq_deactivate(fq, fq->current);
	}
	return false;
}

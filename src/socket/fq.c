/*
 * fq.c: see fq.h.
 */
#include "socket/fq.h"

void
fq_init(struct fq *fq)
{
	pipe_array_init(&fq->pipes, PIPE_ARRAY_FQ);
	fq->active = fq->current = 0;
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

void
fq_attach(struct fq *fq, struct pipe *p)
{
	pipe_array_push(&fq->pipes, p);
	pipe_array_swap(&fq->pipes, fq->active, fq->pipes.n - 1);
	fq->active++;
}

void
fq_activated(struct fq *fq, struct pipe *p)
{
	uint32_t i = pipe_array_index(&fq->pipes, p);
	if (i < fq->active)
		return;
	pipe_array_swap(&fq->pipes, i, fq->active);
	fq->active++;
}

/* fq_deactivate: moves the pipe at index i out of the active region. */
static void
fq_deactivate(struct fq *fq, uint32_t i)
{
	fq->active--;
	pipe_array_swap(&fq->pipes, i, fq->active);
	/* The swap moved the last active pipe to i: if that was the current one,
	 * follow it there (or wrap when i itself was the last). */
	if (fq->current == fq->active)
		fq->current = i < fq->active ? i : 0;
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

int
fq_recv(struct fq *fq, struct msg *m, struct pipe **from)
{
	while (fq->active > 0) {
		struct pipe *p = fq->pipes.items[fq->current];
		if (pipe_read(p, m)) {
			if (from)
				*from = p;
			fq->more = (m->flags & MSGF_MORE) != 0;
			if (!fq->more)
				fq->current = (fq->current + 1) % fq->active;
			return 0;
		}
		/* A pipe never runs dry inside a message (parts are published together),
		 * unless it was terminated mid-message; either way move on. */
		fq->more = false;
		fq_deactivate(fq, fq->current);
	}
	return -EAGAIN;
}

bool
fq_has_in(struct fq *fq)
{
	if (fq->more)
		return true;
	while (fq->active > 0) {
		if (pipe_check_read(fq->pipes.items[fq->current]))
			return true;
		fq_deactivate(fq, fq->current);
	}
	return false;
}

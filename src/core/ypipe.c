/*
 * ypipe.c: see ypipe.h. Positions are cell pointers; a position is never the one past
 * the end of a chunk because the writer links the next chunk before it fills the last
 * cell, so every position names exactly one cell.
 */
#include "core/ypipe.h"
#include "platform/alloc.h"
#include "platform/body_cache.h"

#include <errno.h>
#include <string.h>

/* Chunks come from the body cache (platform/body_cache.h), not straight from the C
 * library: the writer makes them and the reader frees them, and once a queue is longer
 * than the spare can cover (a PUB ahead of its subscribers) that is a malloc in one
 * thread and a free in the other every YPIPE_CHUNK messages, both through the same
 * arena lock. Measured with perf/scale.c pubfan (one PUB, 100 SUBs): the receiving
 * thread slept on that lock 8000 times in a run. The cache sends a chunk back to its
 * maker's list without a lock. */
static struct ychunk *
ypipe_chunk_get(struct ypipe *p)
{
	struct ychunk *c =
	        atomic_exchange_explicit(&p->spare, NULL, memory_order_acquire);
	if (!c)
		c = zn_body_alloc(sizeof *c);
	return c;
}

static void
ypipe_chunk_put(struct ypipe *p, struct ychunk *c)
{
	struct ychunk *old = atomic_exchange_explicit(&p->spare, c, memory_order_acq_rel);
	zn_body_free(old);
}

int
ypipe_init(struct ypipe *p)
{
	memset(p, 0, sizeof *p);
	struct ychunk *c = zn_body_alloc(sizeof *c);
	if (!c)
		return -ENOMEM;
	c->next = c->prev = NULL;
	p->rchunk = p->wchunk = c;
	p->rpos = p->wpos = 0;
	p->fend = p->pend = p->rend = &c->cells[0];
	atomic_init(&p->c, &c->cells[0]);
	atomic_init(&p->spare, NULL);
	return 0;
}

void
ypipe_fini(struct ypipe *p)
{
	struct ychunk *c = p->rchunk;
	while (c) {
		struct ychunk *next = c->next;
		zn_body_free(c);
		c = next;
	}
	zn_body_free(atomic_load(&p->spare));
	p->rchunk = p->wchunk = NULL;
}

int
ypipe_write(struct ypipe *p, const void *cell, bool incomplete)
{
	struct ychunk *c = p->wchunk;
	if (p->wpos == YPIPE_CHUNK - 1 && !c->next) {
		struct ychunk *n = ypipe_chunk_get(p);
		if (!n)
			return -ENOMEM;
		n->next = NULL;
		n->prev = c;
		c->next = n;
	}
	memcpy(&c->cells[p->wpos], cell, YPIPE_CELL);
	if (++p->wpos == YPIPE_CHUNK) {
		p->wchunk = c->next;
		p->wpos = 0;
	}
	if (!incomplete)
		p->fend = &p->wchunk->cells[p->wpos];
	return 0;
}

bool
ypipe_unwrite(struct ypipe *p, void *cell)
{
	if (&p->wchunk->cells[p->wpos] == p->fend)
		return false;
	if (p->wpos == 0) {
		p->wchunk = p->wchunk->prev;
		p->wpos = YPIPE_CHUNK;
	}
	p->wpos--;
	memcpy(cell, &p->wchunk->cells[p->wpos], YPIPE_CELL);
	return true;
}

int
ypipe_take_unflushed(struct ypipe *p, void *cells, int max)
{
	if (&p->wchunk->cells[p->wpos] != p->fend)
		return -1;
	/* Walk back to the published end. It lies in a chunk the reader has not freed
	 * (the reader is at or before it), so every prev link followed is live. */
	struct ychunk *c = p->wchunk;
	int pos = p->wpos, n = 0;
	while (&c->cells[pos] != p->pend) {
		if (n == max)
			return -1;
		if (pos == 0) {
			c = c->prev;
			pos = YPIPE_CHUNK;
		}
		pos--;
		n++;
	}
	p->wchunk = c;
	p->wpos = pos;
	p->fend = p->pend;
	unsigned char *out = cells;
	for (int i = 0; i < n; i++) {
		memcpy(out + (size_t)i * YPIPE_CELL, &c->cells[pos], YPIPE_CELL);
		if (++pos == YPIPE_CHUNK) {
			c = c->next;
			pos = 0;
		}
	}
	return n;
}

bool
ypipe_flush(struct ypipe *p)
{
	if (p->pend == p->fend)
		return true;
	struct ycell *expected = p->pend;
	if (atomic_compare_exchange_strong_explicit(&p->c, &expected, p->fend,
	                                            memory_order_acq_rel,
	                                            memory_order_acquire)) {
		p->pend = p->fend;
		return true;
	}
	/* The reader is asleep (c is NULL): publish and tell the caller to wake it. */
	atomic_store_explicit(&p->c, p->fend, memory_order_release);
	p->pend = p->fend;
	return false;
}

bool
ypipe_check_read(struct ypipe *p)
{
	struct ycell *here = &p->rchunk->cells[p->rpos];
	if (p->rend && here != p->rend)
		return true;
	/* Nothing known: fetch the published end, or go to sleep if it is still here. */
	struct ycell *expected = here;
	if (atomic_compare_exchange_strong_explicit(
	            &p->c, &expected, NULL, memory_order_acq_rel, memory_order_acquire)) {
		p->rend = NULL;
		return false;
	}
	p->rend = expected;
	return expected != NULL && expected != here;
}

void
ypipe_reader_wake(struct ypipe *p)
{
	/* Asleep means c is NULL; awake with nothing to read means c is where the reader
	 * stands. If a flush came first, c is past it and stays there: data to read. */
	struct ycell *expected = NULL;
	(void)atomic_compare_exchange_strong_explicit(
	        &p->c, &expected, &p->rchunk->cells[p->rpos], memory_order_acq_rel,
	        memory_order_acquire);
}

const void *
ypipe_peek(struct ypipe *p)
{
	if (!ypipe_check_read(p))
		return NULL;
	return &p->rchunk->cells[p->rpos];
}

bool
ypipe_read(struct ypipe *p, void *cell)
{
	if (!ypipe_check_read(p))
		return false;
	struct ychunk *c = p->rchunk;
	memcpy(cell, &c->cells[p->rpos], YPIPE_CELL);
	if (++p->rpos == YPIPE_CHUNK) {
		p->rchunk = c->next;
		p->rpos = 0;
		ypipe_chunk_put(p, c);
	}
	return true;
}

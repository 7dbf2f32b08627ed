/*
 * pipe_array.h: the flat array of pipes of seed 001 ("Message scheduling"). Each pipe
 * remembers its index in up to PIPE_ARRAYS arrays (one slot per array kind), so
 * finding, erasing and swapping are O(1). Schedulers keep active pipes first and
 * count them; activating or deactivating a pipe is one swap.
 *
 * Threads: the owning socket's thread only.
 */
#ifndef ZINC_PIPE_PIPE_ARRAY_H
#define ZINC_PIPE_PIPE_ARRAY_H

#include <errno.h>
#include <stdint.h>

#include "pipe/pipe.h"
#include "platform/alloc.h"

struct pipe_array {
	struct pipe **items;
	uint32_t n;
	uint32_t cap;
	int slot; /* which pipe->index[] entry is ours */
};

static inline void
pipe_array_init(struct pipe_array *a, int slot)
{
	a->items = NULL;
	a->n = a->cap = 0;
	a->slot = slot;
}

static inline void
pipe_array_fini(struct pipe_array *a)
{
	zn_free(a->items);
	a->items = NULL;
	a->n = a->cap = 0;
}

/* pipe_array_reserve: room for one more pipe, so that the push that follows cannot
 * fail. 0 or -ENOMEM. */
static inline int
pipe_array_reserve(struct pipe_array *a)
{
	if (a->n < a->cap)
		return 0;
	uint32_t cap = a->cap ? a->cap * 2 : 4;
	struct pipe **items = zn_realloc(a->items, cap * sizeof *items);
	if (!items)
		return -ENOMEM;
	a->items = items;
	a->cap = cap;
	return 0;
}

/* pipe_array_push: appends p; the caller reserved room. */
static inline void
pipe_array_push(struct pipe_array *a, struct pipe *p)
{
	p->index[a->slot] = a->n;
	a->items[a->n++] = p;
}

static inline uint32_t
pipe_array_index(const struct pipe_array *a, const struct pipe *p)
{
	return p->index[a->slot];
}

static inline void
pipe_array_swap(struct pipe_array *a, uint32_t i, uint32_t j)
{
	if (i == j)
		return;
	struct pipe *pi = a->items[i], *pj = a->items[j];
	a->items[i] = pj;
	a->items[j] = pi;
	pj->index[a->slot] = i;
	pi->index[a->slot] = j;
}

/* pipe_array_erase: removes p by moving the last pipe into its place. */
static inline void
pipe_array_erase(struct pipe_array *a, struct pipe *p)
{
	uint32_t i = p->index[a->slot];
	pipe_array_swap(a, i, a->n - 1);
	a->n--;
}

static inline bool
pipe_array_contains(const struct pipe_array *a, const struct pipe *p)
{
	uint32_t i = p->index[a->slot];
	return i < a->n && a->items[i] == p;
}

#endif

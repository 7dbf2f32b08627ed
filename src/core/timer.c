/*
 * timer.c: see timer.h. A pairing heap: each node keeps its children in a list, the
 * smallest node is the root, and removing a node melds its children back pairwise
 * (left to right in pairs, then the pairs right to left), which keeps the amortised
 * cost of a removal logarithmic.
 */
#include "core/timer.h"

#include <stddef.h>

/* timer_before: a fires before b: earlier deadline, or armed first. */
static bool
timer_before(const struct poll_timer *a, const struct poll_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

/* timer_meld: joins two heaps (roots with no siblings); the later root becomes the
 * first child of the earlier. Returns the new root. */
static struct poll_timer *
timer_meld(struct poll_timer *a, struct poll_timer *b)
{
	if (timer_before(b, a)) {
		struct poll_timer *t = a;
		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	return a;
}

/* timer_merge_pairs: makes one heap of a list of sibling heaps (linked by next).
 * Returns its root, or NULL for an empty list. */
static struct poll_timer *
timer_merge_pairs(struct poll_timer *first)
{
	/* Left to right: meld each pair, stacking the results (so the stack holds
	 * them right to left). */
	struct poll_timer *stack = NULL;
	while (first) {
		struct poll_timer *a = first, *b = a->next;
		first = b ? b->next : NULL;
		a->prev = a->next = NULL;
		if (b) {
			b->prev = b->next = NULL;
			a = timer_meld(a, b);
		}
		a->next = stack;
		stack = a;
	}
	if (!stack)
		return NULL;
	/* Right to left: fold the stack into one heap. */
	struct poll_timer *root = stack;
	stack = stack->next;
	root->next = NULL;
	while (stack) {
		struct poll_timer *n = stack;
		stack = n->next;
		n->next = NULL;
		root = timer_meld(root, n);
	}
	return root;
}

void
timer_heap_insert(struct timer_heap *h, struct poll_timer *t, int64_t deadline)
{
	t->deadline = deadline;
	t->seq = h->seq++;
	t->child = t->next = t->prev = NULL;
	t->armed = true;
	h->root = h->root ? timer_meld(h->root, t) : t;
}

void
timer_heap_remove(struct timer_heap *h, struct poll_timer *t)
{
	if (t == h->root) {
		h->root = timer_merge_pairs(t->child);
	} else {
		/* Unlink t (and its subtree) from its siblings, then meld its children
		 * back in. */
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		struct poll_timer *sub = timer_merge_pairs(t->child);
		if (sub)
			h->root = timer_meld(h->root, sub);
	}
	t->child = t->next = t->prev = NULL;
	t->armed = false;
}

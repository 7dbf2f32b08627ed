/*
 * timer.h: intrusive timers for the poller (poller.h). A timer is a struct the object
 * that owns it embeds, so arming it never allocates and cannot fail: an owner that
 * must give up waiting after a while (a linger, a handshake, a reconnect interval) can
 * always say so. The poller keeps its armed timers in a pairing heap threaded through
 * the timers themselves: arming is O(1), cancelling and firing O(log n) amortised.
 * Timers with the same deadline fire in the order they were armed.
 *
 * A zeroed timer is a disarmed one. The owner must cancel an armed timer before it
 * frees the memory it lives in.
 *
 * Threads: a heap and its timers belong to one thread (the poller's).
 */
#ifndef ZINC_CORE_TIMER_H
#define ZINC_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct poll_handler_ops;

struct poll_timer {
	int64_t deadline; /* clock_now_ms() at which it fires */
	uint64_t seq;     /* arming order, for ties */
	/* The heap: first child, next sibling, and the previous sibling (the parent
	 * for a first child). All NULL while disarmed, and for the root. */
	struct poll_timer *child, *next, *prev;
	const struct poll_handler_ops *ops; /* ops->timer_event(arg, id) when it fires */
	void *arg;
	int id;
	bool armed;
};

struct timer_heap {
	struct poll_timer *root; /* the earliest; NULL when none is armed */
	uint64_t seq;
};

static inline bool
poll_timer_armed(const struct poll_timer *t)
{
	return t->armed;
}

/* timer_heap_insert: adds a disarmed t, due at deadline, and marks it armed. O(1). */
void timer_heap_insert(struct timer_heap *h, struct poll_timer *t, int64_t deadline);
/* timer_heap_remove: takes an armed t out and marks it disarmed. O(log n) amortised. */
void timer_heap_remove(struct timer_heap *h, struct poll_timer *t);
/* timer_heap_first: the armed timer due first (earliest armed among equals), or NULL. */
static inline struct poll_timer *
timer_heap_first(const struct timer_heap *h)
{
	return h->root;
}

#endif

/*
 * test_poller_timer.c: the intrusive timers of src/core/timer.h and the poller that
 * runs them, white-box. Timers fire in deadline order (arming order among equals),
 * cancelled ones never fire, a re-armed one fires once at its new deadline, and arming
 * never allocates: with every allocation failing, a timer still arms and fires (before
 * this, a linger timer that could not be allocated left its wait unbounded).
 */
#include <stdint.h>
#include <stdlib.h>

#include "testutil.h"
#include "core/poller.h"
#include "core/timer.h"
#include "platform/alloc.h"

enum { N = 2000 };

static struct poll_timer timers[N];

/* lcg: a small deterministic generator, so a failure reproduces. */
static uint32_t lcg_state = 12345;
static uint32_t
lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return lcg_state >> 8;
}

static bool
fires_before(const struct poll_timer *a, const struct poll_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

/* drain_in_order: pops every timer; checks the order and that exactly `expect` were
 * armed. */
static void
drain_in_order(struct timer_heap *h, int expect)
{
	const struct poll_timer *last = NULL;
	int n = 0;
	struct poll_timer *t;
	while ((t = timer_heap_first(h))) {
		CHECK(t->armed);
		if (last)
			CHECK(fires_before(last, t));
		timer_heap_remove(h, t);
		CHECK(!t->armed);
		last = t;
		n++;
	}
	CHECK_EQ(n, expect);
}

static void
test_heap_orders_many(void)
{
	struct timer_heap h = {0};
	memset(timers, 0, sizeof timers);
	for (int i = 0; i < N; i++)
		timer_heap_insert(&h, &timers[i], lcg() % 97); /* many equal deadlines */
	drain_in_order(&h, N);
}

static void
test_heap_cancel_anywhere(void)
{
	struct timer_heap h = {0};
	memset(timers, 0, sizeof timers);
	for (int i = 0; i < N; i++)
		timer_heap_insert(&h, &timers[i], lcg() % 1000);
	/* Pop a few so the heap has depth, then remove a third, root included. */
	for (int i = 0; i < 10; i++)
		timer_heap_remove(&h, timer_heap_first(&h));
	int left = N - 10;
	timer_heap_remove(&h, timer_heap_first(&h));
	left--;
	for (int i = 0; i < N; i += 3) {
		if (timers[i].armed) {
			timer_heap_remove(&h, &timers[i]);
			left--;
		}
	}
	drain_in_order(&h, left);
	for (int i = 0; i < N; i++)
		CHECK(!timers[i].armed && !timers[i].child && !timers[i].next &&
		      !timers[i].prev);
}

static void
test_heap_rearm_interleaved(void)
{
	struct timer_heap h = {0};
	memset(timers, 0, sizeof timers);
	int armed = 0;
	for (int round = 0; round < 20000; round++) {
		struct poll_timer *t = &timers[lcg() % N];
		if (t->armed) {
			timer_heap_remove(&h, t);
			armed--;
		}
		if (lcg() % 4 != 0) {
			timer_heap_insert(&h, t, lcg() % 500);
			armed++;
		}
		if (round % 7 == 0 && timer_heap_first(&h)) {
			timer_heap_remove(&h, timer_heap_first(&h));
			armed--;
		}
	}
	drain_in_order(&h, armed);
}

/* The poller runs the timers. */

enum { PN = 300, STOP_ID = -1, SELF_ID = -2 };

static struct poller poller;
static struct poll_timer ptimers[PN], stop_timer, self_timer;
static struct poll_timer *fired[PN + 16];
static int nfired, self_rounds;
static int64_t fired_at[PN + 16];

static void
record_timer_event(void *arg, int id)
{
	struct poll_timer *t = arg;
	(void)id;
	fired_at[nfired] = clock_now_ms();
	fired[nfired++] = t;
}

static void
stop_timer_event(void *arg, int id)
{
	(void)arg;
	(void)id;
	poller_stop(&poller);
}

static const struct poll_handler_ops record_ops = {.timer_event = record_timer_event};
static const struct poll_handler_ops stop_ops = {.timer_event = stop_timer_event};

static bool self_armed_in_event; /* checked by the main thread afterwards */
static const struct poll_handler_ops self_ops;

static void
self_timer_event(void *arg, int id)
{
	(void)arg;
	(void)id;
	self_armed_in_event |= poll_timer_armed(&self_timer); /* must be disarmed */
	if (++self_rounds < 5)
		poller_arm_timer(&poller, &self_timer, 1, &self_ops, NULL, SELF_ID);
	else
		poller_stop(&poller);
}

static const struct poll_handler_ops self_ops = {.timer_event = self_timer_event};

static void
run_poller(void)
{
	struct zn_thread_opts opts = {-1, -1, 0, "timer-test"};
	CHECK_OK(poller_start(&poller, &opts));
	poller_join(&poller);
}

static void
test_poller_fires_in_order_without_allocating(void)
{
	CHECK_OK(poller_init(&poller));
	memset(ptimers, 0, sizeof ptimers);
	nfired = 0;
	/* Every allocation fails while the timers are armed, cancelled and re-armed. */
	zn_alloc_fail_after(1, 1);
	for (int i = 0; i < PN; i++)
		poller_arm_timer(&poller, &ptimers[i], (int)(lcg() % 30), &record_ops,
		                 &ptimers[i], i);
	for (int i = 0; i < PN; i += 5)
		poller_cancel_timer(&poller, &ptimers[i]);
	for (int i = 1; i < PN; i += 7)
		poller_arm_timer(&poller, &ptimers[i], 35, &record_ops, &ptimers[i], i);
	poller_arm_timer(&poller, &stop_timer, 60, &stop_ops, NULL, STOP_ID);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(failures, 0); /* nothing even tried to allocate */
	run_poller();
	int expect = 0;
	for (int i = 0; i < PN; i++) {
		bool cancelled = i % 5 == 0 && (i - 1) % 7 != 0;
		CHECK_EQ(poll_timer_armed(&ptimers[i]), false);
		if (!cancelled)
			expect++;
	}
	CHECK_EQ(nfired, expect);
	for (int k = 0; k < nfired; k++) {
		CHECK(fired_at[k] >= fired[k]->deadline);
		if (k > 0)
			CHECK(fires_before(fired[k - 1], fired[k]));
		for (int j = 0; j < k; j++)
			CHECK(fired[j] != fired[k]); /* each at most once */
	}
	poller_fini(&poller);
}

static void
test_poller_event_rearms_its_own_timer(void)
{
	CHECK_OK(poller_init(&poller));
	memset(&self_timer, 0, sizeof self_timer);
	self_rounds = 0;
	self_armed_in_event = false;
	poller_arm_timer(&poller, &self_timer, 1, &self_ops, NULL, SELF_ID);
	run_poller();
	CHECK_EQ(self_rounds, 5);
	CHECK(!self_armed_in_event);
	CHECK(!poll_timer_armed(&self_timer));
	poller_fini(&poller);
}

static const struct test tests[] = {
        {"many timers come out in deadline order, arming order among equals",
         test_heap_orders_many},
        {"a timer cancelled anywhere in the heap is gone, the rest keep order",
         test_heap_cancel_anywhere},
        {"cancel and re-arm interleaved with firing keep the order",
         test_heap_rearm_interleaved},
        {"the poller fires armed timers in order, never early, cancelled never; "
         "arming never allocates",
         test_poller_fires_in_order_without_allocating},
        {"a timer's event may arm the same timer again",
         test_poller_event_rearms_its_own_timer},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}

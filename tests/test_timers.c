/*
 * test_timers.c: the zmq_timers timer set (zmq_timers(3)): ids, errors, due times,
 * repetition, and handlers that change the set while zmq_timers_execute runs them.
 * Timing checks only say "not due yet" about a long interval and "due" after waiting
 * longer than the interval.
 */
#include <zmq.h>

#include "platform/alloc.h"
#include "testutil.h"

/* A record of handler calls, shared by the handlers below through their arg. */
struct log {
	int calls;
	int ids[512];
	void *timers; /* the set, for handlers that change it */
	int other_id; /* a timer a handler acts on */
	int result;   /* what that action returned */
	int result_errno;
};

static void
log_add(struct log *l, int id)
{
	if (l->calls < (int)(sizeof(l->ids) / sizeof(l->ids[0])))
		l->ids[l->calls] = id;
	l->calls++;
}

static void
on_timer(int id, void *arg)
{
	log_add(arg, id);
}

static void
cancel_self(int id, void *arg)
{
	struct log *l = arg;
	log_add(l, id);
	errno = 0;
	l->result = zmq_timers_cancel(l->timers, id);
	l->result_errno = errno;
}

static void
cancel_other(int id, void *arg)
{
	struct log *l = arg;
	log_add(l, id);
	errno = 0;
	l->result = zmq_timers_cancel(l->timers, l->other_id);
	l->result_errno = errno;
}

static void
add_another(int id, void *arg)
{
	struct log *l = arg;
	log_add(l, id);
	if (l->other_id == 0)
		l->other_id = zmq_timers_add(l->timers, 0, on_timer, l);
}

static void
destroy_set(int id, void *arg)
{
	struct log *l = arg;
	log_add(l, id);
	l->result = zmq_timers_destroy(&l->timers);
}

static void
slow_down_self(int id, void *arg)
{
	struct log *l = arg;
	log_add(l, id);
	l->result = zmq_timers_set_interval(l->timers, id, 1000000);
}

static void
wait_ms(int ms)
{
	poll(NULL, 0, ms);
}

static void
test_new_and_destroy(void)
{
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	CHECK_OK(zmq_timers_destroy(&timers));
	CHECK(timers == NULL);
	CHECK_ERR(zmq_timers_destroy(&timers), EFAULT);
	CHECK_ERR(zmq_timers_destroy(NULL), EFAULT);
}

static void
test_bad_set_is_efault(void)
{
	int not_a_set = 42;
	CHECK_ERR(zmq_timers_add(NULL, 10, on_timer, NULL), EFAULT);
	CHECK_ERR(zmq_timers_cancel(NULL, 1), EFAULT);
	CHECK_ERR(zmq_timers_set_interval(NULL, 1, 10), EFAULT);
	CHECK_ERR(zmq_timers_reset(NULL, 1), EFAULT);
	CHECK_ERR(zmq_timers_timeout(NULL), EFAULT);
	CHECK_ERR(zmq_timers_execute(NULL), EFAULT);
	CHECK_ERR(zmq_timers_execute(&not_a_set), EFAULT);
}

static void
test_null_handler_is_efault(void)
{
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	CHECK_ERR(zmq_timers_add(timers, 10, NULL, NULL), EFAULT);
	CHECK_EQ(zmq_timers_timeout(timers), -1);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_ids_positive_and_unique(void)
{
	void *timers = zmq_timers_new();
	int ids[100];
	CHECK(timers != NULL);
	for (int i = 0; i < 100; i++) {
		ids[i] = zmq_timers_add(timers, 100000, on_timer, NULL);
		CHECK(ids[i] > 0);
		for (int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
		if (i % 3 == 0) /* a cancelled id is not handed out again */
			CHECK_OK(zmq_timers_cancel(timers, ids[i]));
	}
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_bad_ids_are_einval(void)
{
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 100000, on_timer, NULL);
	CHECK(id > 0);
	int bad[] = {0, -1, id + 1, 12345};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(zmq_timers_cancel(timers, bad[i]), EINVAL);
		CHECK_ERR(zmq_timers_set_interval(timers, bad[i], 10), EINVAL);
		CHECK_ERR(zmq_timers_reset(timers, bad[i]), EINVAL);
	}
	CHECK_OK(zmq_timers_cancel(timers, id));
	CHECK_ERR(zmq_timers_cancel(timers, id), EINVAL);
	CHECK_ERR(zmq_timers_set_interval(timers, id, 10), EINVAL);
	CHECK_ERR(zmq_timers_reset(timers, id), EINVAL);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_timeout_without_timers(void)
{
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	CHECK_EQ(zmq_timers_timeout(timers), -1);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_timer_due_after_waiting(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 50, on_timer, &l);
	CHECK(id > 0);
	long t = zmq_timers_timeout(timers);
	CHECK(t >= 0 && t <= 50);
	wait_ms(100);
	CHECK_EQ(zmq_timers_timeout(timers), 0);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.ids[0], id);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_long_timer_not_due(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	CHECK(zmq_timers_add(timers, 100000, on_timer, &l) > 0);
	long t = zmq_timers_timeout(timers);
	CHECK(t > 50000 && t <= 100000);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 0);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_timer_repeats(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 100, on_timer, &l);
	CHECK(id > 0);
	for (int round = 1; round <= 3; round++) {
		wait_ms(150);
		long long ran = test_now_ms();
		CHECK_OK(zmq_timers_execute(timers));
		CHECK_EQ(l.calls, round); /* once per execute, however late */
		/* Due again a whole interval after it ran, not at once: 0 only if this
		 * thread was held off its CPU that long in between (valgrind, load). */
		long t = zmq_timers_timeout(timers);
		CHECK(t > 0 || (t == 0 && test_now_ms() - ran >= 99));
	}
	CHECK_OK(zmq_timers_destroy(&timers));
}

/* An interval of 0 is due at every execute, once per call: no endless loop. */
static void
test_zero_interval_fires_once_per_execute(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	CHECK(zmq_timers_add(timers, 0, on_timer, &l) > 0);
	CHECK_EQ(zmq_timers_timeout(timers), 0);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 1);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 2);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_cancel_before_due(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 0, on_timer, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_cancel(timers, id));
	CHECK_EQ(zmq_timers_timeout(timers), -1);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 0);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_set_interval_reschedules(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 100000, on_timer, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_set_interval(timers, id, 0));
	CHECK_EQ(zmq_timers_timeout(timers), 0);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 1);
	CHECK_OK(zmq_timers_set_interval(timers, id, 100000));
	CHECK(zmq_timers_timeout(timers) > 50000);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_reset_restarts(void)
{
	struct log l = {0};
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	int id = zmq_timers_add(timers, 1000, on_timer, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_set_interval(timers, id, 0));
	CHECK_EQ(zmq_timers_timeout(timers), 0);
	/* reset starts a full interval (now 0) again: still due */
	CHECK_OK(zmq_timers_reset(timers, id));
	CHECK_EQ(zmq_timers_timeout(timers), 0);

	int late = zmq_timers_add(timers, 50, on_timer, &l);
	CHECK(late > 0);
	CHECK_OK(zmq_timers_cancel(timers, id));
	wait_ms(100);
	CHECK_EQ(zmq_timers_timeout(timers), 0);
	CHECK_OK(zmq_timers_set_interval(timers, late, 100000));
	CHECK_OK(zmq_timers_reset(timers, late)); /* keeps the new interval */
	CHECK(zmq_timers_timeout(timers) > 50000);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 0);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_handler_cancels_itself(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	int id = zmq_timers_add(l.timers, 0, cancel_self, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.result, 0);
	CHECK_EQ(zmq_timers_timeout(l.timers), -1);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 1);
	CHECK_ERR(zmq_timers_cancel(l.timers, id), EINVAL);
	CHECK_OK(zmq_timers_destroy(&l.timers));
}

/* Timers due at once fire in the order they were added, so the first one can cancel
 * the second before it runs. */
static void
test_handler_cancels_another(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	int first = zmq_timers_add(l.timers, 0, cancel_other, &l);
	l.other_id = zmq_timers_add(l.timers, 0, on_timer, &l);
	int third = zmq_timers_add(l.timers, 0, on_timer, &l);
	CHECK(first > 0 && l.other_id > 0 && third > 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.result, 0);
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(l.ids[0], first);
	CHECK_EQ(l.ids[1], third);
	CHECK_ERR(zmq_timers_cancel(l.timers, l.other_id), EINVAL);

	/* Next round the first handler cancels an id that is gone: EINVAL, no harm. */
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.result, -1);
	CHECK_EQ(l.result_errno, EINVAL);
	CHECK_EQ(l.calls, 4);
	CHECK_OK(zmq_timers_destroy(&l.timers));
}

static void
test_handler_cancels_one_already_run(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	l.other_id = zmq_timers_add(l.timers, 0, on_timer, &l);
	int second = zmq_timers_add(l.timers, 0, cancel_other, &l);
	CHECK(l.other_id > 0 && second > 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(l.result, 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 3);
	CHECK_EQ(l.ids[2], second);
	CHECK_OK(zmq_timers_destroy(&l.timers));
}

static void
test_handler_adds_a_timer(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	int id = zmq_timers_add(l.timers, 0, add_another, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 1); /* the new timer waits for the next execute */
	CHECK(l.other_id > 0 && l.other_id != id);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 3);
	CHECK_OK(zmq_timers_destroy(&l.timers));
}

static void
test_handler_reschedules_itself(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	CHECK(zmq_timers_add(l.timers, 0, slow_down_self, &l) > 0);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.result, 0);
	CHECK(zmq_timers_timeout(l.timers) > 500000);
	CHECK_OK(zmq_timers_execute(l.timers));
	CHECK_EQ(l.calls, 1);
	CHECK_OK(zmq_timers_destroy(&l.timers));
}

/* Destroying the set from a handler is safe: the rest of the round is skipped and
 * the set is freed when execute returns (LeakSanitizer checks the freeing). */
static void
test_handler_destroys_the_set(void)
{
	struct log l = {0};
	l.timers = zmq_timers_new();
	CHECK(l.timers != NULL);
	CHECK(zmq_timers_add(l.timers, 0, destroy_set, &l) > 0);
	CHECK(zmq_timers_add(l.timers, 0, on_timer, &l) > 0);
	void *timers = l.timers;
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.result, 0);
	CHECK(l.timers == NULL);
	CHECK_EQ(l.calls, 1);
}

/* Many timers due together fire in the order added, minus the cancelled ones: this
 * exercises the heap with many entries and removals from its middle. */
static void
test_many_timers_fire_in_order(void)
{
	struct log l = {0};
	int ids[400];
	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	for (int i = 0; i < 400; i++) {
		ids[i] = zmq_timers_add(timers, 0, on_timer, &l);
		CHECK(ids[i] > 0);
	}
	for (int i = 0; i < 400; i += 3)
		CHECK_OK(zmq_timers_cancel(timers, ids[(i * 7) % 400]));
	CHECK_OK(zmq_timers_execute(timers));
	int expect = 0;
	for (int i = 0; i < 400; i++) {
		int cancelled = 0;
		for (int j = 0; j < 400; j += 3)
			cancelled |= (j * 7) % 400 == i;
		if (cancelled)
			continue;
		CHECK(expect < l.calls);
		CHECK_EQ(l.ids[expect], ids[i]);
		expect++;
	}
	CHECK_EQ(l.calls, expect);
	CHECK_OK(zmq_timers_destroy(&timers));
}

static void
test_out_of_memory(void)
{
	zn_alloc_fail_after(1, 0);
	errno = 0;
	CHECK(zmq_timers_new() == NULL);
	CHECK_EQ(errno, ENOMEM);

	void *timers = zmq_timers_new();
	CHECK(timers != NULL);
	zn_alloc_fail_after(1, 0);
	CHECK_ERR(zmq_timers_add(timers, 0, on_timer, NULL), ENOMEM);
	CHECK_EQ(zmq_timers_timeout(timers), -1);
	struct log l = {0};
	int id = zmq_timers_add(timers, 0, on_timer, &l);
	CHECK(id > 0);
	CHECK_OK(zmq_timers_execute(timers));
	CHECK_EQ(l.calls, 1);
	CHECK_OK(zmq_timers_destroy(&timers));
	zn_alloc_fail_after(0, 0);
}

static const struct test tests[] = {
        {"new and destroy; destroy clears the pointer", test_new_and_destroy},
        {"a bad timer set is EFAULT", test_bad_set_is_efault},
        {"a NULL handler is EFAULT", test_null_handler_is_efault},
        {"timer ids are positive and unique", test_ids_positive_and_unique},
        {"unknown or cancelled ids are EINVAL", test_bad_ids_are_einval},
        {"timeout is -1 without timers", test_timeout_without_timers},
        {"a 50 ms timer is due after waiting 100 ms", test_timer_due_after_waiting},
        {"a long timer is not due at once", test_long_timer_not_due},
        {"a timer repeats until cancelled", test_timer_repeats},
        {"a 0 ms timer fires once per execute",
         test_zero_interval_fires_once_per_execute},
        {"a cancelled timer never fires", test_cancel_before_due},
        {"set_interval reschedules from now", test_set_interval_reschedules},
        {"reset restarts a full interval", test_reset_restarts},
        {"a handler can cancel itself", test_handler_cancels_itself},
        {"a handler can cancel a timer due in the same round",
         test_handler_cancels_another},
        {"a handler can cancel a timer already run",
         test_handler_cancels_one_already_run},
        {"a handler can add a timer", test_handler_adds_a_timer},
        {"a handler can reschedule itself", test_handler_reschedules_itself},
        {"a handler can destroy the set", test_handler_destroys_the_set},
        {"many due timers fire in the order added", test_many_timers_fire_in_order},
        {"out of memory is ENOMEM and leaves the set usable", test_out_of_memory},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}

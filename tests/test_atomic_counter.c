/*
 * test_atomic_counter.c: zmq_atomic_counter_* (the man page's sequence, wrap-free
 * concurrency from several threads) and zmq_threadstart/zmq_threadclose.
 */
#include <zmq.h>

#include "platform/alloc.h"
#include "testutil.h"

#define WORKERS 4
#define ROUNDS  100000

static void
test_man_page_sequence(void)
{
	void *counter = zmq_atomic_counter_new();
	CHECK(counter != NULL);
	CHECK_EQ(zmq_atomic_counter_value(counter), 0);
	CHECK_EQ(zmq_atomic_counter_inc(counter), 0);
	CHECK_EQ(zmq_atomic_counter_inc(counter), 1);
	CHECK_EQ(zmq_atomic_counter_inc(counter), 2);
	CHECK_EQ(zmq_atomic_counter_value(counter), 3);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 1);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 1);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 0);
	zmq_atomic_counter_set(counter, 2);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 1);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 0);
	zmq_atomic_counter_destroy(&counter);
	CHECK(counter == NULL);
}

static void
test_set_and_value(void)
{
	void *counter = zmq_atomic_counter_new();
	CHECK(counter != NULL);
	zmq_atomic_counter_set(counter, 2147483647);
	CHECK_EQ(zmq_atomic_counter_value(counter), 2147483647);
	CHECK_EQ(zmq_atomic_counter_dec(counter), 1);
	zmq_atomic_counter_set(counter, -5);
	CHECK_EQ(zmq_atomic_counter_value(counter), -5);
	CHECK_EQ(zmq_atomic_counter_inc(counter), -5);
	zmq_atomic_counter_destroy(&counter);
	CHECK(counter == NULL);
	zmq_atomic_counter_destroy(&counter); /* NULL: nothing to do */
}

static void
bump(void *counter)
{
	for (int i = 0; i < ROUNDS; i++)
		zmq_atomic_counter_inc(counter);
}

static void
drop(void *counter)
{
	for (int i = 0; i < ROUNDS; i++)
		zmq_atomic_counter_dec(counter);
}

static void
test_concurrent_increments(void)
{
	void *counter = zmq_atomic_counter_new();
	void *threads[WORKERS];
	CHECK(counter != NULL);
	for (int i = 0; i < WORKERS; i++) {
		threads[i] = zmq_threadstart(bump, counter);
		CHECK(threads[i] != NULL);
	}
	for (int i = 0; i < WORKERS; i++)
		zmq_threadclose(threads[i]);
	CHECK_EQ(zmq_atomic_counter_value(counter), WORKERS * ROUNDS);

	for (int i = 0; i < WORKERS; i++) {
		threads[i] = zmq_threadstart(drop, counter);
		CHECK(threads[i] != NULL);
	}
	for (int i = 0; i < WORKERS; i++)
		zmq_threadclose(threads[i]);
	CHECK_EQ(zmq_atomic_counter_value(counter), 0);
	zmq_atomic_counter_destroy(&counter);
}

/* Exactly one of many concurrent decrements sees the count reach zero. */
struct race {
	void *counter;
	void *zero_seen;
};

static void
release(void *arg)
{
	struct race *r = arg;
	for (int i = 0; i < ROUNDS; i++)
		if (zmq_atomic_counter_dec(r->counter) == 0)
			zmq_atomic_counter_inc(r->zero_seen);
}

static void
test_one_decrement_reaches_zero(void)
{
	struct race r = {zmq_atomic_counter_new(), zmq_atomic_counter_new()};
	void *threads[WORKERS];
	CHECK(r.counter != NULL && r.zero_seen != NULL);
	zmq_atomic_counter_set(r.counter, WORKERS * ROUNDS);
	for (int i = 0; i < WORKERS; i++) {
		threads[i] = zmq_threadstart(release, &r);
		CHECK(threads[i] != NULL);
	}
	for (int i = 0; i < WORKERS; i++)
		zmq_threadclose(threads[i]);
	CHECK_EQ(zmq_atomic_counter_value(r.counter), 0);
	CHECK_EQ(zmq_atomic_counter_value(r.zero_seen), 1);
	zmq_atomic_counter_destroy(&r.counter);
	zmq_atomic_counter_destroy(&r.zero_seen);
}

static void
set_flag(void *arg)
{
	*(int *)arg = 1;
}

static void
test_thread_runs_and_joins(void)
{
	int flag = 0;
	void *thread = zmq_threadstart(set_flag, &flag);
	CHECK(thread != NULL);
	zmq_threadclose(thread); /* joins: the write is visible afterwards */
	CHECK_EQ(flag, 1);
	zmq_threadclose(NULL);
}

static void
test_out_of_memory(void)
{
	int flag = 0;
	zn_alloc_fail_after(1, 0);
	errno = 0;
	CHECK(zmq_atomic_counter_new() == NULL);
	CHECK_EQ(errno, ENOMEM);
	zn_alloc_fail_after(1, 0);
	errno = 0;
	CHECK(zmq_threadstart(set_flag, &flag) == NULL);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(flag, 0);
	zn_alloc_fail_after(0, 0);
}

static const struct test tests[] = {
        {"the man page's sequence holds", test_man_page_sequence},
        {"set and value agree; destroy clears the pointer", test_set_and_value},
        {"concurrent increments and decrements add up", test_concurrent_increments},
        {"exactly one concurrent decrement reaches zero",
         test_one_decrement_reaches_zero},
        {"a started thread runs and is joined", test_thread_runs_and_joins},
        {"out of memory is NULL with ENOMEM", test_out_of_memory},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}

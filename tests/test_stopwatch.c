/*
 * test_stopwatch.c: zmq_stopwatch_* and zmq_sleep. Durations are checked only from
 * below (a wait of N ms reads as at least N ms), never from above.
 */
#include <zmq.h>

#include "platform/alloc.h"
#include "testutil.h"

static void
test_intermediate_never_decreases(void)
{
	void *watch = zmq_stopwatch_start();
	CHECK(watch != NULL);
	unsigned long last = zmq_stopwatch_intermediate(watch);
	for (int i = 0; i < 1000; i++) {
		unsigned long now = zmq_stopwatch_intermediate(watch);
		CHECK(now >= last);
		last = now;
	}
	CHECK(zmq_stopwatch_stop(watch) >= last);
}

static void
test_counts_microseconds(void)
{
	void *watch = zmq_stopwatch_start();
	CHECK(watch != NULL);
	poll(NULL, 0, 20);
	CHECK(zmq_stopwatch_intermediate(watch) >= 19000);
	CHECK(zmq_stopwatch_stop(watch) >= 19000);
}

static void
test_sleep_waits_seconds(void)
{
	void *watch = zmq_stopwatch_start();
	CHECK(watch != NULL);
	zmq_sleep(0);
	zmq_sleep(-1);
	zmq_sleep(1);
	CHECK(zmq_stopwatch_stop(watch) >= 1000000);
}

static void
test_out_of_memory(void)
{
	zn_alloc_fail_after(1, 0);
	errno = 0;
	void *watch = zmq_stopwatch_start();
	zn_alloc_fail_after(0, 0);
	CHECK(watch == NULL);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(zmq_stopwatch_intermediate(NULL), 0);
	CHECK_EQ(zmq_stopwatch_stop(NULL), 0);
}

static const struct test tests[] = {
        {"intermediate readings never decrease", test_intermediate_never_decreases},
        {"a 20 ms wait reads as at least 19 ms", test_counts_microseconds},
        {"zmq_sleep(1) waits at least a second", test_sleep_waits_seconds},
        {"out of memory is NULL with ENOMEM", test_out_of_memory},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}

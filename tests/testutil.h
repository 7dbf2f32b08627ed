/*
 * testutil.h: the tiny harness every zinc test uses. A test file defines a table of
 * named cases and calls test_main(); each case is a function that asserts with the
 * CHECK macros below. A failed check prints file, line and the expression and ends the
 * case with a failure; the process exit status counts failed cases.
 */
#ifndef ZINC_TESTUTIL_H
#define ZINC_TESTUTIL_H

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ZINC_TEST_SLOWDOWN: sanitizer builds run several times slower (the build sets it:
 * 2 under ASan, 4 under TSan), and the plain build under valgrind (tests/valgrind.sh
 * sets ZINC_TEST_UNDER_VALGRIND; memcheck runs one thread at a time, 20-50 times
 * slower) gets 10. Bounds on waits scale with it; they are bounds, never pauses, so a
 * passing test takes no longer for it. */
#ifndef ZINC_TEST_SLOWDOWN
#define ZINC_TEST_SLOWDOWN (getenv("ZINC_TEST_UNDER_VALGRIND") ? 10 : 1)
#endif

struct test {
	const char *name;
	void (*fn)(void);
};

static jmp_buf test_jmp;
static const char *test_current;

#define TEST_FAIL(...)                                                                   \
	do {                                                                             \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                        \
		fprintf(stderr, __VA_ARGS__);                                            \
		fprintf(stderr, "\n");                                                   \
		longjmp(test_jmp, 1);                                                    \
	} while (0)

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			TEST_FAIL("check failed: %s", #cond);                            \
	} while (0)

#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);                      \
		if (a_ != b_)                                                            \
			TEST_FAIL("%s == %s failed: %lld != %lld", #a, #b, a_, b_);      \
	} while (0)

/* CHECK_OK: a zmq_* call that returns -1 on error must not fail. */
#define CHECK_OK(call)                                                                   \
	do {                                                                             \
		if ((call) == -1)                                                        \
			TEST_FAIL("%s failed: %s", #call, strerror(errno));              \
	} while (0)

/* CHECK_ERR: a zmq_* call must fail with exactly this errno. */
#define CHECK_ERR(call, err)                                                             \
	do {                                                                             \
		errno = 0;                                                               \
		long long r_ = (long long)(call);                                        \
		int e_ = errno;                                                          \
		if (r_ != -1 || e_ != (err))                                             \
			TEST_FAIL("%s: expected -1/%s, got %lld/%s", #call, #err, r_,    \
			          strerror(e_));                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                  \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                   \
			TEST_FAIL("%s == %s failed: \"%s\" != \"%s\"", #a, #b,           \
			          a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
	} while (0)

static inline long long
test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int
test_main(const struct test *tests)
{
	volatile int failed = 0, passed = 0;
	for (const struct test *volatile t = tests; t->name; t++) {
		test_current = t->name;
		if (setjmp(test_jmp) == 0) {
			t->fn();
			printf("ok   %s\n", t->name);
			passed++;
		} else {
			printf("FAIL %s\n", t->name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif

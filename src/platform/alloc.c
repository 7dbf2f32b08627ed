/*
 * alloc.c: allocation wrapper with a failure-injection hook for tests. The hook costs
 * one relaxed atomic load per allocation when disarmed.
 */
#include "platform/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown; /* 0: disarmed; n: the nth call fails */
static atomic_int fail_sticky;
static atomic_long fail_count;

static int
alloc_should_fail(void)
{
	long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	if (n == 0)
		return 0;
	if (atomic_load_explicit(&fail_sticky, memory_order_relaxed) && n == 1) {
		atomic_fetch_add(&fail_count, 1);
		return 1;
	}
	n = atomic_fetch_sub(&fail_countdown, 1);
	if (n == 1) {
		if (atomic_load(&fail_sticky))
			atomic_store(&fail_countdown, 1);
		atomic_fetch_add(&fail_count, 1);
		return 1;
	}
	if (n <= 0) /* raced past zero with another thread: disarm */
		atomic_store(&fail_countdown, 0);
	return 0;
}

void *
zn_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *
zn_calloc(size_t n, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *
zn_realloc(void *p, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, size ? size : 1);
}

void
zn_free(void *p)
{
	free(p);
}

void
zn_alloc_fail_after(long n, int sticky)
{
	atomic_store(&fail_sticky, sticky);
	atomic_store(&fail_count, 0);
	atomic_store(&fail_countdown, n);
}

long
zn_alloc_failures(void)
{
	return atomic_load(&fail_count);
}

char *
zn_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = zn_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

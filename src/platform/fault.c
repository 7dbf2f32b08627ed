/*
 * fault.c: the failure-injection hooks of fault.h. A hook is a countdown: 0 is
 * disarmed (one relaxed load, nothing else), n > 0 makes the nth call from now fail.
 * The counts of calls and failures are kept only while armed, so a sweep can count a
 * scenario's calls (armed at LONG_MAX) and then fail each of them in turn.
 */
#include "platform/fault.h"
#include "platform/alloc.h"

struct zn_fault zn_fault_alloc;
struct zn_fault zn_fault_fd;

/* fault_fired: counts a failed call; its own function so that a debugger can stop
 * on it (break fault_fired) and show who failed. */
__attribute__((noinline)) static int
fault_fired(struct zn_fault *f)
{
	atomic_fetch_add(&f->failures, 1);
	return 1;
}

int
zn_fault_hit_armed(struct zn_fault *f)
{
	long n = atomic_load_explicit(&f->countdown, memory_order_relaxed);
	if (n == 0)
		return 0;
	atomic_fetch_add(&f->calls, 1);
	if (atomic_load_explicit(&f->sticky, memory_order_relaxed) && n == 1)
		return fault_fired(f);
	n = atomic_fetch_sub(&f->countdown, 1);
	if (n == 1) {
		if (atomic_load(&f->sticky))
			atomic_store(&f->countdown, 1);
		return fault_fired(f);
	}
	if (n <= 0) /* raced past zero with another thread: disarm */
		atomic_store(&f->countdown, 0);
	return 0;
}

/* fault_arm: counts reset first, so a call racing with the arming is not lost. */
static void
fault_arm(struct zn_fault *f, long n, int sticky)
{
	atomic_store(&f->sticky, sticky);
	atomic_store(&f->failures, 0);
	atomic_store(&f->calls, 0);
	atomic_store(&f->countdown, n);
}

void
zn_alloc_fail_after(long n, int sticky)
{
	fault_arm(&zn_fault_alloc, n, sticky);
}

long
zn_alloc_failures(void)
{
	return atomic_load(&zn_fault_alloc.failures);
}

long
zn_alloc_calls(void)
{
	return atomic_load(&zn_fault_alloc.calls);
}

void
zn_fd_fail_after(long n, int sticky)
{
	fault_arm(&zn_fault_fd, n, sticky);
}

long
zn_fd_failures(void)
{
	return atomic_load(&zn_fault_fd.failures);
}

long
zn_fd_calls(void)
{
	return atomic_load(&zn_fault_fd.calls);
}

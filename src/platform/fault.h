/*
 * fault.h: failure injection for tests (seed 003). Two process-wide hooks, one for
 * allocations (zn_malloc and friends, declared in alloc.h) and one for the calls that
 * create descriptors or mappings (socket, accept, eventfd, memfd_create, mmap,
 * epoll_create): a test arms a hook so that the nth such call from now fails (and, in
 * sticky mode, every one after it), to prove that every path turns the failure into an
 * error or a closed connection, never a crash, a hang or a leak. Disarmed, a hook costs
 * one relaxed atomic load per call. Any thread may call these.
 */
#ifndef ZINC_PLATFORM_FAULT_H
#define ZINC_PLATFORM_FAULT_H

#include <stdatomic.h>

/* One hook: a countdown to the failing call, and what it has seen since armed. */
struct zn_fault {
	atomic_long countdown; /* 0: disarmed; n: the nth call from now fails */
	atomic_int sticky;     /* once failing, every later call fails too */
	atomic_long failures;  /* calls failed since armed */
	atomic_long calls;     /* calls seen since armed */
};

/* zn_fault_hit_armed: the slow path of zn_fault_hit, with the hook armed. */
int zn_fault_hit_armed(struct zn_fault *f);

/* zn_fault_hit: whether this call of the hooked kind must fail. Platform-internal. */
static inline int
zn_fault_hit(struct zn_fault *f)
{
	if (atomic_load_explicit(&f->countdown, memory_order_relaxed) == 0)
		return 0;
	return zn_fault_hit_armed(f);
}

extern struct zn_fault zn_fault_alloc; /* zn_malloc, zn_calloc, zn_realloc */
extern struct zn_fault zn_fault_fd;    /* descriptor- and mapping-creating calls */

/* zn_fd_fail_after: make the descriptor-creating call n calls from now fail (n = 1:
 * the next one), and every one after it while `sticky` is nonzero; n = 0 disarms.
 * A failing call reports what the OS reports when descriptors run out: EMFILE
 * (ENOMEM for mmap), without calling the OS. */
void zn_fd_fail_after(long n, int sticky);

/* zn_fd_failures: how many calls the hook has failed since it was armed. */
long zn_fd_failures(void);

/* zn_fd_calls: how many descriptor-creating calls were made since the hook was armed
 * (arm it with a countdown no run reaches, LONG_MAX, to count a run's calls). */
long zn_fd_calls(void);

#endif

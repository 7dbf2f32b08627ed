/*
 * platform.h: the contract an OS port implements. Everything OS-specific that the core
 * needs (time, threads, locks, wake-up fds) is declared here or in the facility headers
 * beside it; nothing above src/platform/ calls the OS directly for these.
 */
#ifndef ZINC_PLATFORM_H
#define ZINC_PLATFORM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* clock_now_ms / clock_now_us: monotonic time, for timeouts and timers. */
int64_t clock_now_ms(void);
int64_t clock_now_us(void);

/* zn_process_id: this process's id; a context compares it with its creator's to see
 * that it was inherited through fork(). */
long zn_process_id(void);

/* zn_random: a pseudo-random number, not for secrets (reconnection jitter). */
uint32_t zn_random(void);

/* A plain mutex. Initialisation of a default pthread mutex cannot fail on Linux. */
struct zn_mutex {
	pthread_mutex_t m;
};
void zn_mutex_init(struct zn_mutex *m);
void zn_mutex_fini(struct zn_mutex *m);
void zn_mutex_lock(struct zn_mutex *m);
void zn_mutex_unlock(struct zn_mutex *m);

/* Threads. */
struct zn_thread_opts {
	int priority;      /* -1: leave the OS default */
	int sched_policy;  /* -1: leave the OS default */
	uint64_t cpu_mask; /* 0: no affinity */
	const char *name;  /* may be NULL */
};
struct zn_thread {
	pthread_t tid;
	void (*fn)(void *);
	void *arg;
	bool started;
	struct zn_thread_opts opts; /* applied by the new thread itself */
	char name[16];
};
/* zn_thread_start: runs fn(arg) in a new thread with all signals blocked. 0 or -errno. */
int zn_thread_start(struct zn_thread *t, void (*fn)(void *), void *arg,
                    const struct zn_thread_opts *opts);
void zn_thread_join(struct zn_thread *t);

/* zn_yield: lets another runnable thread of this CPU run first (sched_yield). */
void zn_yield(void);

/* zn_sleep_us: blocks the calling thread for at least us microseconds, resuming after
 * signals. For the few waits that have nothing to wait on (memory to come back, a
 * peer's reader to make room) and for zmq_sleep. */
void zn_sleep_us(int64_t us);

/* zn_errno: the OS errno as a negative value for the internal convention. */
int zn_errno(void);

#endif

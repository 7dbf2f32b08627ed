/*
 * posix.c: clock, mutex and thread primitives for POSIX systems.
 */
#include "platform/platform.h"
#include "platform/body_cache.h"

#include "platform/poll.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t
zn_random(void)
{
	/* xorshift32 per thread, seeded from the clock and the thread's own address. */
	static _Thread_local uint32_t state;
	if (state == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&state ^ 0x9e3779b9u;
		if (state == 0)
			state = 1;
	}
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

long
zn_process_id(void)
{
	return (long)getpid();
}

int64_t
clock_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
zn_yield(void)
{
	(void)sched_yield();
}

void
zn_sleep_us(int64_t us)
{
	struct timespec deadline;
	if (us <= 0 || clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
		return;
	int64_t ns = deadline.tv_nsec + (us % 1000000) * 1000;
	deadline.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
	deadline.tv_nsec = (long)(ns % 1000000000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
		;
}

int
zn_poll(struct pollfd *fds, int n, int timeout_ms)
{
	if (timeout_ms != 0)
		zn_body_flush_frees(); /* about to block: hold nothing back */
	int rc = poll(fds, (nfds_t)n, timeout_ms);
	return rc < 0 ? zn_errno() : rc;
}

void
zn_mutex_init(struct zn_mutex *m)
{
	pthread_mutex_init(&m->m, NULL);
}

void
zn_mutex_fini(struct zn_mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void
zn_mutex_lock(struct zn_mutex *m)
{
	pthread_mutex_lock(&m->m);
}

void
zn_mutex_unlock(struct zn_mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

int
zn_errno(void)
{
	int e = errno;
	if (e == EWOULDBLOCK)
		e = EAGAIN;
	return -e;
}

/* thread_apply_opts: the new thread names and places itself, as libzmq's threads do.
 * Done by the parent instead, these are system calls (the name is a write to /proc)
 * in the application's thread right after the new thread became runnable, which gave
 * the new thread a chance to preempt it and run before the application's next call:
 * then every later command woke a sleeping thread that preempted the caller, and the
 * I/O thread could act on a connect (and see it refused) before the caller's next
 * send. Best effort, as libzmq: a refused priority or affinity does not stop the
 * thread. */
static void
thread_apply_opts(struct zn_thread *t)
{
	const struct zn_thread_opts *o = &t->opts;
	pthread_t self = pthread_self();
	if (t->name[0])
		pthread_setname_np(self, t->name);
	if (o->sched_policy >= 0 || o->priority >= 0) {
		struct sched_param sp;
		int policy;
		if (pthread_getschedparam(self, &policy, &sp) == 0) {
			if (o->sched_policy >= 0)
				policy = o->sched_policy;
			if (o->priority >= 0)
				sp.sched_priority = o->priority;
			pthread_setschedparam(self, policy, &sp);
		}
	}
	if (o->cpu_mask) {
		cpu_set_t set;
		CPU_ZERO(&set);
		for (int i = 0; i < 64; i++)
			if (o->cpu_mask & ((uint64_t)1 << i))
				CPU_SET(i, &set);
		pthread_setaffinity_np(self, sizeof set, &set);
	}
}

static void *
thread_trampoline(void *arg)
{
	struct zn_thread *t = arg;
	thread_apply_opts(t);
	t->fn(t->arg);
	return NULL;
}

int
zn_thread_start(struct zn_thread *t, void (*fn)(void *), void *arg,
                const struct zn_thread_opts *opts)
{
	sigset_t all, old;
	t->fn = fn;
	t->arg = arg;
	/* No options: the OS defaults, which thread_apply_opts leaves alone. */
	static const struct zn_thread_opts none = {-1, -1, 0, NULL};
	t->opts = opts ? *opts : none;
	t->opts.name = NULL; /* the caller's string may not outlive this call */
	t->name[0] = '\0';
	if (opts && opts->name) {
		strncpy(t->name, opts->name, sizeof t->name - 1);
		t->name[sizeof t->name - 1] = '\0';
	}
	/* The application's signal handlers must not run on our threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&t->tid, NULL, thread_trampoline, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	t->started = true;
	return 0;
}

void
zn_thread_join(struct zn_thread *t)
{
	if (t->started)
		pthread_join(t->tid, NULL);
	t->started = false;
}

/*
 * zmq_utils.c: the utility part of the public API that needs no context: Z85 encoding
 * (ZeroMQ RFC 32), stopwatches, zmq_sleep, atomic counters, zmq_threadstart and the
 * zmq_timers timer set. CURVE key helpers (ENOTSUP without libsodium).
 *
 * The Z85 codec itself is core/z85.c (options.c decodes CURVE keys with it too).
 *
 * Threads: Z85, stopwatches and sleeping are reentrant and touch only their arguments.
 * An atomic counter may be used from any number of threads at once. A timer set belongs
 * to one thread at a time, like a socket (zmq_timers(3)).
 *
 * Time, sleeping and threads come from src/platform/.
 */
#include <zmq.h>

#include "core/z85.h"
#include "platform/alloc.h"
#include "platform/platform.h"
#include "proto/mech/mechanism.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Z85 (RFC 32)                                                              */
/* ------------------------------------------------------------------------ */

/* zmq_z85_encode: writes size * 5 / 4 characters and a terminator to dest and returns
 * dest, or returns NULL with EINVAL if size is not a multiple of 4. */
ZMQ_EXPORT char *
zmq_z85_encode(char *dest, const uint8_t *data, size_t size)
{
	int rc = -EINVAL;
	if (dest && (data || size == 0))
		rc = z85_encode(dest, data, size);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return dest;
}

/* zmq_z85_decode: writes strlen(string) * 4 / 5 bytes to dest and returns dest, or
 * returns NULL with EINVAL if the length is 0 or not a multiple of 5, a character is not in
 * the alphabet or a group overflows 32 bits. On failure dest is left untouched. */
ZMQ_EXPORT uint8_t *
zmq_z85_decode(uint8_t *dest, const char *string)
{
	int rc = -EINVAL;
	if (dest && string)
		rc = z85_decode(dest, string);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return dest;
}

/* ------------------------------------------------------------------------ */
/* CURVE key helpers (the crypto lives in proto/mech/curve.c)              */
/* ------------------------------------------------------------------------ */

/* curve_z85_out: a key as 40 Z85 characters and a NUL. */
static void
curve_z85_out(char *dest, const uint8_t key[32])
{
	zmq_z85_encode(dest, key, 32); /* 32 is a multiple of 4: cannot fail */
}

ZMQ_EXPORT int
zmq_curve_keypair(char *z85_public_key, char *z85_secret_key)
{
	uint8_t pub[32], sec[32];
	int rc = mech_curve_keypair(pub, sec);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	curve_z85_out(z85_public_key, pub);
	curve_z85_out(z85_secret_key, sec);
	memset(sec, 0, sizeof sec);
	return 0;
}

ZMQ_EXPORT int
zmq_curve_public(char *z85_public_key, const char *z85_secret_key)
{
	if (!mech_curve_available()) {
		errno = ENOTSUP;
		return -1;
	}
	uint8_t pub[32], sec[32];
	if (!z85_public_key || !z85_secret_key || strlen(z85_secret_key) != 40 ||
	    !zmq_z85_decode(sec, z85_secret_key)) {
		errno = EINVAL;
		return -1;
	}
	int rc = mech_curve_public(pub, sec);
	memset(sec, 0, sizeof sec);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	curve_z85_out(z85_public_key, pub);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Stopwatch and sleep                                                       */
/* ------------------------------------------------------------------------ */

struct stopwatch {
	uint64_t start_us;
};

/* zmq_stopwatch_start: allocates a stopwatch started now; NULL with ENOMEM if there is
 * no memory. The caller frees it with zmq_stopwatch_stop. */
ZMQ_EXPORT void *
zmq_stopwatch_start(void)
{
	struct stopwatch *w = zn_malloc(sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->start_us = (uint64_t)clock_now_us();
	return w;
}

/* zmq_stopwatch_intermediate: microseconds since the watch started (0 for NULL). */
ZMQ_EXPORT unsigned long
zmq_stopwatch_intermediate(void *watch)
{
	struct stopwatch *w = watch;
	if (!w)
		return 0;
	return (unsigned long)((uint64_t)clock_now_us() - w->start_us);
}

/* zmq_stopwatch_stop: microseconds since the watch started; frees the watch. */
ZMQ_EXPORT unsigned long
zmq_stopwatch_stop(void *watch)
{
	unsigned long us = zmq_stopwatch_intermediate(watch);
	zn_free(watch);
	return us;
}

/* zmq_sleep: blocks the calling thread for `seconds` seconds, resuming after signals. */
ZMQ_EXPORT void
zmq_sleep(int seconds)
{
	if (seconds > 0)
		zn_sleep_us((int64_t)seconds * 1000000);
}

/* ------------------------------------------------------------------------ */
/* Atomic counters                                                           */
/* ------------------------------------------------------------------------ */

/* Every operation is sequentially consistent, so a counter can serve as a reference
 * count guarding other memory. Arithmetic wraps (C11 7.17.7.5). */
struct atomic_counter {
	atomic_int value;
};

/* zmq_atomic_counter_new: a counter at 0, or NULL with ENOMEM. */
ZMQ_EXPORT void *
zmq_atomic_counter_new(void)
{
	struct atomic_counter *c = zn_malloc(sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&c->value, 0);
	return c;
}

ZMQ_EXPORT void
zmq_atomic_counter_set(void *counter, int value)
{
	struct atomic_counter *c = counter;
	atomic_store(&c->value, value);
}

/* zmq_atomic_counter_inc: adds one and returns the value before. */
ZMQ_EXPORT int
zmq_atomic_counter_inc(void *counter)
{
	struct atomic_counter *c = counter;
	return atomic_fetch_add(&c->value, 1);
}

/* zmq_atomic_counter_dec: subtracts one; returns 1 if the counter is still greater than
 * zero afterwards, 0 if it reached zero (or went below, which only a caller's
 * unbalanced decrement can cause). */
ZMQ_EXPORT int
zmq_atomic_counter_dec(void *counter)
{
	struct atomic_counter *c = counter;
	int old = atomic_fetch_sub(&c->value, 1);
	return old > 1 ? 1 : 0;
}

ZMQ_EXPORT int
zmq_atomic_counter_value(void *counter)
{
	struct atomic_counter *c = counter;
	return atomic_load(&c->value);
}

/* zmq_atomic_counter_destroy: frees *counter_p and sets it to NULL; NULL is a no-op. */
ZMQ_EXPORT void
zmq_atomic_counter_destroy(void **counter_p)
{
	if (!counter_p)
		return;
	zn_free(*counter_p);
	*counter_p = NULL;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

/* zmq_threadstart: runs func(arg) on a new thread, with all signals blocked as on
 * libzmq's threads, and returns its handle, which zmq_threadclose joins and frees.
 * NULL with EINVAL (no func), ENOMEM or EAGAIN. */
ZMQ_EXPORT void *
zmq_threadstart(zmq_thread_fn *func, void *arg)
{
	if (!func) {
		errno = EINVAL;
		return NULL;
	}
	struct zn_thread *t = zn_calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	int rc = zn_thread_start(t, func, arg, NULL);
	if (rc < 0) {
		zn_free(t);
		errno = -rc;
		return NULL;
	}
	return t;
}

/* zmq_threadclose: blocks until the thread's function has returned, then frees the
 * handle. NULL is a no-op. */
ZMQ_EXPORT void
zmq_threadclose(void *thread)
{
	struct zn_thread *t = thread;
	if (!t)
		return;
	zn_thread_join(t);
	zn_free(t);
}

/* ------------------------------------------------------------------------ */
/* Timers                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * A timer set is a binary min-heap of timers in one array, ordered by due time and,
 * for equal due times, by a sequence number taken each time a timer is scheduled, so
 * timers due together fire in the order they were scheduled. Lookup by id is a scan,
 * as in libzmq; cancel, add and reschedule are O(log n) after it.
 *
 * zmq_timers_execute never holds a pointer into the heap across a handler call, so a
 * handler may add, cancel or reschedule any timer, itself included; it may even
 * destroy the set, which is then freed when execute returns.
 */

#define TIMERS_TAG 0x7a6e746dU /* "zntm": a live timer set */

struct timer {
	uint64_t due; /* ms on the monotonic clock */
	uint64_t seq; /* breaks ties between equal due times */
	size_t interval;
	zmq_timer_fn *handler;
	void *arg;
	int id;
};

struct timers {
	uint32_t tag; /* TIMERS_TAG while the set lives */
	struct timer *heap;
	size_t count;
	size_t cap;
	uint64_t next_seq;
	int next_id;      /* the next id to hand out, > 0 */
	bool ids_wrapped; /* next_id has wrapped: check new ids against live ones */
	unsigned running; /* depth of zmq_timers_execute calls under way */
	bool destroyed;   /* destroyed by a handler: execute frees the set */
};

static uint64_t
timers_due(uint64_t now, size_t interval)
{
	return interval > UINT64_MAX - now ? UINT64_MAX : now + interval;
}

static bool
timer_before(const struct timer *a, const struct timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
timers_swap(struct timers *t, size_t i, size_t j)
{
	struct timer tmp = t->heap[i];
	t->heap[i] = t->heap[j];
	t->heap[j] = tmp;
}

static void
timers_sift_up(struct timers *t, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(&t->heap[i], &t->heap[parent]))
			return;
		timers_swap(t, i, parent);
		i = parent;
	}
}

static void
timers_sift_down(struct timers *t, size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1, right = left + 1, least = i;
		if (left < t->count && timer_before(&t->heap[left], &t->heap[least]))
			least = left;
		if (right < t->count && timer_before(&t->heap[right], &t->heap[least]))
			least = right;
		if (least == i)
			return;
		timers_swap(t, i, least);
		i = least;
	}
}

/* timers_fix: restores the heap order after the key of entry i changed. */
static void
timers_fix(struct timers *t, size_t i)
{
	if (i > 0 && timer_before(&t->heap[i], &t->heap[(i - 1) / 2]))
		timers_sift_up(t, i);
	else
		timers_sift_down(t, i);
}

/* timers_find: the heap index of the timer with this id, or -1. */
static long
timers_find(const struct timers *t, int id)
{
	if (id <= 0)
		return -1;
	for (size_t i = 0; i < t->count; i++)
		if (t->heap[i].id == id)
			return (long)i;
	return -1;
}

static void
timers_remove_at(struct timers *t, size_t i)
{
	t->count--;
	if (i == t->count)
		return;
	t->heap[i] = t->heap[t->count];
	timers_fix(t, i);
}

/* timers_reschedule: makes entry i due `interval` ms after `now`. */
static void
timers_reschedule(struct timers *t, size_t i, uint64_t now, size_t interval)
{
	t->heap[i].interval = interval;
	t->heap[i].due = timers_due(now, interval);
	t->heap[i].seq = t->next_seq++;
	timers_fix(t, i);
}

/* timers_grow: makes room for one more timer; 0 or -ENOMEM (the set is unchanged). */
static int
timers_grow(struct timers *t)
{
	if (t->count < t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 8;
	if (cap > SIZE_MAX / sizeof(struct timer))
		return -ENOMEM;
	struct timer *heap = zn_realloc(t->heap, cap * sizeof(struct timer));
	if (!heap)
		return -ENOMEM;
	t->heap = heap;
	t->cap = cap;
	return 0;
}

/* timers_new_id: an id > 0 that no live timer has. */
static int
timers_new_id(struct timers *t)
{
	for (;;) {
		int id = t->next_id;
		if (id == INT_MAX) {
			t->next_id = 1;
			t->ids_wrapped = true;
		} else {
			t->next_id = id + 1;
		}
		if (!t->ids_wrapped || timers_find(t, id) < 0)
			return id;
	}
}

/* timers_insert: adds a timer and returns its id, or -ENOMEM (the set is unchanged). */
static int
timers_insert(struct timers *t, size_t interval, zmq_timer_fn *handler, void *arg)
{
	int rc = timers_grow(t);
	if (rc < 0)
		return rc;
	int id = timers_new_id(t);
	t->heap[t->count] = (struct timer){
	        .due = timers_due((uint64_t)clock_now_ms(), interval),
	        .seq = t->next_seq++,
	        .interval = interval,
	        .handler = handler,
	        .arg = arg,
	        .id = id,
	};
	t->count++;
	timers_sift_up(t, t->count - 1);
	return id;
}

static void
timers_free(struct timers *t)
{
	t->tag = 0;
	zn_free(t->heap);
	zn_free(t);
}

/* timers_get: the live timer set behind a handle, or NULL (the caller fails EFAULT). */
static struct timers *
timers_get(void *timers)
{
	struct timers *t = timers;
	if (!t || t->tag != TIMERS_TAG)
		return NULL;
	return t;
}

/* zmq_timers_new: an empty timer set, or NULL with ENOMEM. */
ZMQ_EXPORT void *
zmq_timers_new(void)
{
	struct timers *t = zn_calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->tag = TIMERS_TAG;
	t->next_id = 1;
	return t;
}

/* zmq_timers_destroy: frees the set and sets *timers_p to NULL; EFAULT if there is no
 * live set there. Called from a handler, it defers the freeing to zmq_timers_execute. */
ZMQ_EXPORT int
zmq_timers_destroy(void **timers_p)
{
	struct timers *t = timers_p ? timers_get(*timers_p) : NULL;
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	*timers_p = NULL;
	if (t->running > 0) {
		t->tag = 0;
		t->destroyed = true;
		return 0;
	}
	timers_free(t);
	return 0;
}

/* zmq_timers_add: registers a timer that fires every `interval` ms, first `interval`
 * ms from now, and returns its id (> 0). EFAULT for a bad set or a NULL handler,
 * ENOMEM if there is no memory. */
ZMQ_EXPORT int
zmq_timers_add(void *timers, size_t interval, zmq_timer_fn handler, void *arg)
{
	struct timers *t = timers_get(timers);
	if (!t || !handler) {
		errno = EFAULT;
		return -1;
	}
	int rc = timers_insert(t, interval, handler, arg);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* zmq_timers_cancel: removes a timer; EFAULT for a bad set, EINVAL for an id that is
 * not (or no longer) registered. */
ZMQ_EXPORT int
zmq_timers_cancel(void *timers, int timer_id)
{
	struct timers *t = timers_get(timers);
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	long i = timers_find(t, timer_id);
	if (i < 0) {
		errno = EINVAL;
		return -1;
	}
	timers_remove_at(t, (size_t)i);
	return 0;
}

/* zmq_timers_set_interval: changes a timer's interval and makes it due `interval` ms
 * from now. EFAULT for a bad set, EINVAL for an unknown id. */
ZMQ_EXPORT int
zmq_timers_set_interval(void *timers, int timer_id, size_t interval)
{
	struct timers *t = timers_get(timers);
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	long i = timers_find(t, timer_id);
	if (i < 0) {
		errno = EINVAL;
		return -1;
	}
	timers_reschedule(t, (size_t)i, (uint64_t)clock_now_ms(), interval);
	return 0;
}

/* zmq_timers_reset: makes a timer due one full interval from now. EFAULT for a bad
 * set, EINVAL for an unknown id. */
ZMQ_EXPORT int
zmq_timers_reset(void *timers, int timer_id)
{
	struct timers *t = timers_get(timers);
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	long i = timers_find(t, timer_id);
	if (i < 0) {
		errno = EINVAL;
		return -1;
	}
	timers_reschedule(t, (size_t)i, (uint64_t)clock_now_ms(), t->heap[i].interval);
	return 0;
}

/* zmq_timers_timeout: ms until the next timer is due (0 if one is due already), -1 if
 * the set is empty; -1 with EFAULT for a bad set. */
ZMQ_EXPORT long
zmq_timers_timeout(void *timers)
{
	struct timers *t = timers_get(timers);
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	if (t->count == 0)
		return -1;
	uint64_t now = (uint64_t)clock_now_ms(), due = t->heap[0].due;
	if (due <= now)
		return 0;
	return due - now > (uint64_t)LONG_MAX ? LONG_MAX : (long)(due - now);
}

/* zmq_timers_execute: runs the handler of every timer due now, once each, and
 * schedules each again one interval later; timers added or rescheduled by a handler
 * wait for a later call. Returns 0, or -1 with EFAULT for a bad set. */
ZMQ_EXPORT int
zmq_timers_execute(void *timers)
{
	struct timers *t = timers_get(timers);
	if (!t) {
		errno = EFAULT;
		return -1;
	}
	uint64_t now = (uint64_t)clock_now_ms();
	uint64_t first_new_seq = t->next_seq;
	t->running++;
	/* Every timer due before this call sorts ahead of every timer (re)scheduled
	 * during it: those are due at `now` or later and have a higher seq. So the
	 * first one of those at the top means the due ones are done. */
	while (!t->destroyed && t->count > 0) {
		struct timer *top = &t->heap[0];
		if (top->due > now || top->seq >= first_new_seq)
			break;
		int id = top->id;
		zmq_timer_fn *handler = top->handler;
		void *arg = top->arg;
		timers_reschedule(t, 0, now, top->interval);
		handler(id, arg); /* may change the heap: no pointer into it survives */
	}
	t->running--;
	if (t->destroyed && t->running == 0)
		timers_free(t);
	return 0;
}

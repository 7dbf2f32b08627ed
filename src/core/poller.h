/*
 * poller.h: the event loop of an I/O thread and of the reaper (seed 001, "I/O
 * threads"): a platform pollset (platform/poll.h) for file descriptors plus a list of
 * timers. Objects living in the thread register a fd or a timer with a handler table;
 * the loop calls the handlers.
 *
 * Threads: everything runs in the poller's thread, except poller_load (any thread).
 */
#ifndef ZINC_CORE_POLLER_H
#define ZINC_CORE_POLLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/timer.h"
#include "core/yield_gate.h"
#include "platform/platform.h"
#include "platform/poll.h"

struct poll_handler_ops {
	void (*in_event)(void *arg);
	void (*out_event)(void *arg);
	void (*timer_event)(void *arg, int id);
};

struct poll_handle {
	int fd;
	uint32_t events;
	const struct poll_handler_ops *ops;
	void *arg;
	bool retired;
	bool suspended;
	struct poll_handle *retired_next;
	/* Another thread may take POLLIN off this fd for a while (poller_lend_in):
	 * then every change of events and of what the set watches is made under this
	 * lock. NULL: the poller's thread alone. */
	struct zn_mutex *share;
	bool in_lent; /* POLLIN lent away: not watched, whatever events says */
};

struct poller {
	struct zn_pollset set;    /* the fds' readiness (platform/poll.h) */
	struct timer_heap timers; /* the armed timers (timer.h) */
	struct poll_handle *retired;
	atomic_int load;         /* registered fds, to pick the least busy thread */
	unsigned char *read_buf; /* poller_read_buffer's, or NULL */
	bool stopping;
	bool yield_before_wait; /* poller_caught_up's */
	struct yield_gate gate; /* whether that yield pays (yield_gate.h) */
	struct zn_thread thread;
};

/* poller_init: 0 or -errno. */
int poller_init(struct poller *p);
void poller_fini(struct poller *p);

/* poller_add_fd: watch fd (no events enabled yet). 0 or -ENOMEM/-errno. */
int poller_add_fd(struct poller *p, int fd, const struct poll_handler_ops *ops, void *arg,
                  struct poll_handle **out);
/* poller_handle_new: a handle allocated ahead of time, for a registration that must
 * not fail later for lack of memory. NULL on allocation failure. */
struct poll_handle *poller_handle_new(void);
/* poller_add_handle: like poller_add_fd with a handle from poller_handle_new, which the
 * poller owns from now on (even on failure). 0 or -errno from the pollset. */
int poller_add_handle(struct poller *p, struct poll_handle *h, int fd,
                      const struct poll_handler_ops *ops, void *arg);
/* poller_rm_fd: stop watching; the handle is freed after the current dispatch round. */
void poller_rm_fd(struct poller *p, struct poll_handle *h);
/* poller_suspend / poller_resume: stop and restart watching h altogether (the pollset
 * reports a hang-up whatever events are asked for, so an owner that cannot act on it now
 * must take the fd out). */
void poller_suspend(struct poller *p, struct poll_handle *h);
void poller_resume(struct poller *p, struct poll_handle *h);
/* poller_lend_in: from any thread, holding h->share: stop (lent) or resume watching
 * the fd for POLLIN, whatever the poller's own events say, so that the lender's
 * thread can wait on the fd itself without waking the poller's. */
void poller_lend_in(struct poller *p, struct poll_handle *h, bool lent);
void poller_set_pollin(struct poller *p, struct poll_handle *h);
void poller_reset_pollin(struct poller *p, struct poll_handle *h);
void poller_set_pollout(struct poller *p, struct poll_handle *h);
/* poller_caught_up: a handler of this thread found its writer's queue empty while the
 * writer was still writing: before the thread next waits it lets another thread of
 * its CPU run once (see poller_wait). Only from the poller's own thread. */
void poller_caught_up(struct poller *p);
void poller_reset_pollout(struct poller *p, struct poll_handle *h);

/* poller_arm_timer: t (the caller's, see timer.h) calls ops->timer_event(arg, id) in
 * timeout_ms, once; an armed t is moved to the new deadline. Never allocates, never
 * fails. The timer is disarmed when its event runs, which may arm it again. */
void poller_arm_timer(struct poller *p, struct poll_timer *t, int timeout_ms,
                      const struct poll_handler_ops *ops, void *arg, int id);
/* poller_cancel_timer: disarms t if it is armed. */
void poller_cancel_timer(struct poller *p, struct poll_timer *t);

/* POLLER_READ_BUF: the size of the read buffer the poller lends its handlers. It is
 * an rbuf (platform/rbuf.h): a handler may let messages point into it (each holding a
 * reference), and the next read then gets another buffer. */
#define POLLER_READ_BUF (64 * 1024)

/* poller_read_buffer: a buffer of POLLER_READ_BUF bytes that every handler of this
 * poller shares, to read into: one per thread instead of one per connection, so an idle
 * connection holds no read buffer. Its contents last only until the handler returns (the
 * next handler reads into it too): a handler that must keep bytes copies them. Allocated
 * on first use and freed by poller_fini; NULL when it cannot be allocated. */
unsigned char *poller_read_buffer(struct poller *p);
/* poller_take_read_buffer: the read buffer becomes the caller's (a handler that must
 * keep what it read, without copying it); the next poller_read_buffer allocates
 * another. NULL when the poller has none. */
unsigned char *poller_take_read_buffer(struct poller *p);
/* poller_holds_read_buffer: buf is the poller's current read buffer. */
static inline bool
poller_holds_read_buffer(const struct poller *p, const unsigned char *buf)
{
	return buf != NULL && buf == p->read_buf;
}
/* poller_return_read_buffer: gives back a buffer taken with poller_take_read_buffer:
 * the poller keeps it if it has none, else frees it. */
void poller_return_read_buffer(struct poller *p, unsigned char *buf);

/* poller_start: runs the loop in a new thread until poller_stop is called from inside
 * it. 0 or -errno. */
int poller_start(struct poller *p, const struct zn_thread_opts *opts);
/* poller_stop: ends the loop after the current round. Poller thread only. */
void poller_stop(struct poller *p);
/* poller_join: waits for the loop thread to end. */
void poller_join(struct poller *p);
static inline int
poller_load(struct poller *p)
{
	return atomic_load_explicit(&p->load, memory_order_relaxed);
}

#endif

/*
 * poller.c: a loop over a platform pollset (platform/poll.h; epoll on Linux) with a
 * heap of intrusive timers (timer.h).
 */
#include "core/poller.h"
#include "platform/rbuf.h"
#include "platform/alloc.h"

#include "platform/poll.h"

#include <errno.h>

int
poller_init(struct poller *p)
{
	int rc = zn_pollset_init(&p->set);
	if (rc < 0)
		return rc;
	p->timers.root = NULL;
	p->timers.seq = 0;
	p->retired = NULL;
	p->read_buf = NULL;
	atomic_init(&p->load, 0);
	p->stopping = false;
	p->yield_before_wait = false;
	p->gate = (struct yield_gate){0, 0};
	p->thread.started = false;
	return 0;
}

static void
poller_free_retired(struct poller *p)
{
	while (p->retired) {
		struct poll_handle *h = p->retired;
		p->retired = h->retired_next;
		zn_free(h);
	}
}

void
poller_fini(struct poller *p)
{
	/* Timers still armed belong to their owners: nothing to free. */
	p->timers.root = NULL;
	poller_free_retired(p);
	if (p->read_buf)
		rbuf_rele(rbuf_of(p->read_buf), 1);
	p->read_buf = NULL;
	zn_pollset_fini(&p->set);
}

unsigned char *
poller_read_buffer(struct poller *p)
{
	/* Messages decoded from the last read may still point into it (MSG_SLICE):
	 * then it is theirs, and this read gets a fresh one. */
	if (p->read_buf && rbuf_shared(rbuf_of(p->read_buf))) {
		rbuf_rele(rbuf_of(p->read_buf), 1);
		p->read_buf = NULL;
	}
	if (!p->read_buf)
		p->read_buf = rbuf_new(POLLER_READ_BUF);
	return p->read_buf;
}

unsigned char *
poller_take_read_buffer(struct poller *p)
{
	unsigned char *b = p->read_buf;
	p->read_buf = NULL;
	return b;
}

void
poller_return_read_buffer(struct poller *p, unsigned char *buf)
{
	if (!p->read_buf && !rbuf_shared(rbuf_of(buf)))
		p->read_buf = buf;
	else
		rbuf_rele(rbuf_of(buf), 1);
}

/* poller_watched: what the set watches for h: its events; while POLLIN is lent, less
 * POLLIN but with the peer's end of the stream, which the borrower may not be waiting
 * for (an orderly tcp close raises no hang-up, only POLLIN and RDHUP). */
static uint32_t
poller_watched(const struct poll_handle *h)
{
	if (!h->in_lent || !(h->events & ZN_POLL_IN))
		return h->events;
	return (h->events & ~(uint32_t)ZN_POLL_IN) | ZN_POLL_CLOSE;
}

static void
poller_lock(struct poll_handle *h)
{
	if (h->share)
		zn_mutex_lock(h->share);
}

static void
poller_unlock(struct poll_handle *h)
{
	if (h->share)
		zn_mutex_unlock(h->share);
}

void
poller_suspend(struct poller *p, struct poll_handle *h)
{
	poller_lock(h);
	if (!h->suspended) {
		zn_pollset_remove(&p->set, h->fd);
		h->suspended = true;
	}
	poller_unlock(h);
}

void
poller_resume(struct poller *p, struct poll_handle *h)
{
	poller_lock(h);
	if (h->suspended) {
		(void)zn_pollset_add(&p->set, h->fd, poller_watched(h), h);
		h->suspended = false;
	}
	poller_unlock(h);
}

/* poller_change: events |= set, &= ~clear, applied to the set unless suspended (then
 * poller_resume applies it). */
static void
poller_change(struct poller *p, struct poll_handle *h, uint32_t set, uint32_t clear)
{
	poller_lock(h);
	h->events = (h->events | set) & ~clear;
	if (!h->suspended)
		zn_pollset_modify(&p->set, h->fd, poller_watched(h), h);
	poller_unlock(h);
}

void
poller_lend_in(struct poller *p, struct poll_handle *h, bool lent)
{
	h->in_lent = lent;
	if (!h->suspended && !h->retired && (h->events & ZN_POLL_IN))
		zn_pollset_modify(&p->set, h->fd, poller_watched(h), h);
}

struct poll_handle *
poller_handle_new(void)
{
	return zn_calloc(1, sizeof(struct poll_handle));
}

int
poller_add_handle(struct poller *p, struct poll_handle *h, int fd,
                  const struct poll_handler_ops *ops, void *arg)
{
	h->fd = fd;
	h->ops = ops;
	h->arg = arg;
	h->events = 0;
	int rc = zn_pollset_add(&p->set, fd, 0, h);
	if (rc < 0) {
		zn_free(h);
		return rc;
	}
	atomic_fetch_add_explicit(&p->load, 1, memory_order_relaxed);
	return 0;
}

int
poller_add_fd(struct poller *p, int fd, const struct poll_handler_ops *ops, void *arg,
              struct poll_handle **out)
{
	struct poll_handle *h = poller_handle_new();
	if (!h)
		return -ENOMEM;
	int rc = poller_add_handle(p, h, fd, ops, arg);
	if (rc == 0)
		*out = h;
	return rc;
}

void
poller_rm_fd(struct poller *p, struct poll_handle *h)
{
	if (!h->suspended)
		zn_pollset_remove(&p->set, h->fd);
	h->retired = true;
	h->retired_next = p->retired;
	p->retired = h;
	atomic_fetch_sub_explicit(&p->load, 1, memory_order_relaxed);
}

void
poller_set_pollin(struct poller *p, struct poll_handle *h)
{
	poller_change(p, h, ZN_POLL_IN, 0);
}

void
poller_reset_pollin(struct poller *p, struct poll_handle *h)
{
	poller_change(p, h, 0, ZN_POLL_IN);
}

void
poller_set_pollout(struct poller *p, struct poll_handle *h)
{
	poller_change(p, h, ZN_POLL_OUT, 0);
}

void
poller_reset_pollout(struct poller *p, struct poll_handle *h)
{
	poller_change(p, h, 0, ZN_POLL_OUT);
}

void
poller_arm_timer(struct poller *p, struct poll_timer *t, int timeout_ms,
                 const struct poll_handler_ops *ops, void *arg, int id)
{
	if (t->armed)
		timer_heap_remove(&p->timers, t);
	t->ops = ops;
	t->arg = arg;
	t->id = id;
	timer_heap_insert(&p->timers, t, clock_now_ms() + timeout_ms);
}

void
poller_cancel_timer(struct poller *p, struct poll_timer *t)
{
	if (t->armed)
		timer_heap_remove(&p->timers, t);
}

/* poller_execute_timers: fires due timers; returns ms until the next one, or -1. */
static int
poller_execute_timers(struct poller *p)
{
	int64_t now = clock_now_ms();
	struct poll_timer *t;
	while ((t = timer_heap_first(&p->timers)) && t->deadline <= now) {
		timer_heap_remove(&p->timers, t);
		/* The event may arm or cancel timers, this one too, or free its owner. */
		t->ops->timer_event(t->arg, t->id);
	}
	if (!t)
		return -1;
	int64_t d = t->deadline - now;
	return d > 1000000 ? 1000000 : (int)d;
}

void
poller_caught_up(struct poller *p)
{
	p->yield_before_wait = true;
}

/* poller_wait: one wait for events. After an engine caught up with its writer
 * (poller_caught_up) it first yields the CPU once, if the gate lets it: the writer (an
 * application thread sending small messages) is often the thread this one's wake-up
 * took the CPU from, and it would otherwise find the queue's reader asleep after its
 * next message and pay an eventfd write, and this thread a wake-up, every few dozen
 * messages. Yielding lets it run first, so it fills the queue and this thread finds a
 * whole batch when it comes back. Whether the yield paid is what a wait that does not
 * block says right after it (yield_gate.h: a yield that brings nothing costs a loaded
 * machine's latency). */
static int
poller_wait(struct poller *p, struct zn_poll_event *evs, int max, int timeout)
{
	if (p->yield_before_wait) {
		p->yield_before_wait = false;
		if (yield_gate_open(&p->gate)) {
			zn_yield();
			int n = zn_pollset_wait(&p->set, evs, max, 0);
			yield_gate_judge(&p->gate, n > 0);
			if (n != 0 || timeout == 0)
				return n;
		}
	}
	return zn_pollset_wait(&p->set, evs, max, timeout);
}

/* poller_loop: timers, then one wait and its events, until stopped. */
static void
poller_loop(void *arg)
{
	struct poller *p = arg;
	struct zn_poll_event evs[256];
	while (!p->stopping) {
		int timeout = poller_execute_timers(p);
		if (p->stopping)
			break;
		int n = poller_wait(p, evs, 256, timeout);
		for (int i = 0; i < n; i++) {
			struct poll_handle *h = evs[i].ptr;
			if (h->retired)
				continue;
			if (evs[i].events & ZN_POLL_IN) /* also an error or hang-up */
				if (h->ops->in_event)
					h->ops->in_event(h->arg);
			if (h->retired)
				continue;
			if (evs[i].events & ZN_POLL_OUT)
				if (h->ops->out_event)
					h->ops->out_event(h->arg);
		}
		poller_free_retired(p);
	}
}

int
poller_start(struct poller *p, const struct zn_thread_opts *opts)
{
	return zn_thread_start(&p->thread, poller_loop, p, opts);
}

void
poller_stop(struct poller *p)
{
	p->stopping = true;
}

void
poller_join(struct poller *p)
{
	zn_thread_join(&p->thread);
}

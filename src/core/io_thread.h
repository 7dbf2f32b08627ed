/*
 * io_thread.h: a background thread running a poller (seed 001, "I/O threads"). Objects
 * that live in it (sessions, engines, listeners, connecters) get their commands through
 * its mailbox, whose fd the poller watches. The thread's lifecycle is poll_thread.h's;
 * an I/O thread adds only its answer to CMD_STOP.
 */
#ifndef ZINC_CORE_IO_THREAD_H
#define ZINC_CORE_IO_THREAD_H

#include "core/poll_thread.h"

struct io_thread {
	struct poll_thread pt;
};

/* io_thread_new: 0 or -ENOMEM/-EMFILE. The thread is not running yet. */
int io_thread_new(struct io_thread **out, struct ctx *ctx, uint32_t tid);
int io_thread_start(struct io_thread *t, const struct zn_thread_opts *opts);
/* io_thread_stop: asks the thread to end (any thread). */
void io_thread_stop(struct io_thread *t);
void io_thread_join(struct io_thread *t);
/* io_thread_destroy: frees a stopped (or never started) thread. */
void io_thread_destroy(struct io_thread *t);
static inline struct mailbox *
io_thread_mailbox(struct io_thread *t)
{
	return t->pt.mailbox;
}
static inline uint32_t
io_thread_tid(const struct io_thread *t)
{
	return t->pt.obj.tid;
}
static inline struct poller *
io_thread_poller(struct io_thread *t)
{
	return &t->pt.poller;
}
static inline int
io_thread_load(struct io_thread *t)
{
	return poller_load(&t->pt.poller);
}

#endif

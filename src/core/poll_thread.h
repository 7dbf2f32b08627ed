/*
 * poll_thread.h: what an I/O thread and the reaper share: a thread running a poller,
 * with an object whose mailbox the poller watches; each command read there is
 * dispatched to the object it names (seed 001, "I/O threads"). The owner embeds it,
 * gives the object ops that handle its own commands (CMD_STOP at least), and calls
 * poll_thread_halt from there when its loop should end.
 *
 * Threads: init, start, join and fini run in the thread that owns the context;
 * poll_thread_stop in any thread; halt in the poll thread.
 */
#ifndef ZINC_CORE_POLL_THREAD_H
#define ZINC_CORE_POLL_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mailbox.h"
#include "core/object.h"
#include "core/poller.h"

struct poll_thread {
	struct object obj;
	struct mailbox *mailbox;
	struct poller poller;
	struct poll_handle *mailbox_handle; /* NULL once halted */
	bool halted;                        /* no more commands are read */
};

/* poll_thread_init: the mailbox and the poller watching it; the thread does not run
 * yet. ops handle the commands sent to t->obj. 0 or -ENOMEM/-errno (nothing is left
 * allocated). */
int poll_thread_init(struct poll_thread *t, struct ctx *ctx, uint32_t tid,
                     const struct object_ops *ops);
/* poll_thread_start: runs the loop in a new thread. 0 or -errno. */
int poll_thread_start(struct poll_thread *t, const struct zn_thread_opts *opts);
/* poll_thread_stop: sends CMD_STOP to the thread's object (any thread). */
void poll_thread_stop(struct poll_thread *t);
/* poll_thread_halt: from the thread's own command handler: read no more commands and
 * end the loop after this round. */
void poll_thread_halt(struct poll_thread *t);
/* poll_thread_join: waits for the loop thread to end. */
void poll_thread_join(struct poll_thread *t);
/* poll_thread_fini: frees what init made, for a halted (or never started) thread. */
void poll_thread_fini(struct poll_thread *t);

#endif

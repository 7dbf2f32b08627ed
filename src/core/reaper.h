/*
 * reaper.h: the thread that finishes closed sockets' shutdown handshakes so zmq_close
 * never blocks (seed 000, seed 001 "The reaper thread"). A closed socket sends CMD_REAP;
 * the reaper then watches the socket's mailbox and runs its commands until the socket
 * has terminated. When the context terminates and no socket is left, the reaper tells
 * the context with CMD_DONE.
 */
#ifndef ZINC_CORE_REAPER_H
#define ZINC_CORE_REAPER_H

#include "core/poll_thread.h"

struct reaper;

int reaper_new(struct reaper **out, struct ctx *ctx, uint32_t tid);
int reaper_start(struct reaper *r, const struct zn_thread_opts *opts);
void reaper_stop(struct reaper *r);
void reaper_join(struct reaper *r);
void reaper_destroy(struct reaper *r);
struct mailbox *reaper_mailbox(struct reaper *r);
struct object *reaper_object(struct reaper *r);
/* reaper_poller: the poller a reaped socket registers its mailbox with. Reaper thread. */
struct poller *reaper_poller(struct reaper *r);
/* reaper_socket_gone: a reaped socket has been freed. Reaper thread. */
void reaper_socket_gone(struct reaper *r);

#endif

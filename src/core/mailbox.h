/*
 * mailbox.h: the command queue of one zinc "thread" (an I/O thread, the reaper, a
 * socket or the context's termination waiter). Many threads send; exactly one reads
 * at a time. Senders serialise on a mutex (never on the message path: commands are
 * rare); the reader never locks. The signaler fd is raised only when the reader was
 * found asleep, so a busy mailbox costs no system call.
 */
#ifndef ZINC_CORE_MAILBOX_H
#define ZINC_CORE_MAILBOX_H

#include "core/command.h"
#include "core/ypipe.h"
#include "platform/platform.h"
#include "platform/signaler.h"

struct mailbox {
	struct ypipe cpipe;
	struct signaler signaler;
	struct zn_mutex sync; /* serialises senders */
};

/* mailbox_init: 0, -ENOMEM or -EMFILE. */
int mailbox_init(struct mailbox *mb);
void mailbox_fini(struct mailbox *mb);
/* mailbox_fd: the fd that becomes readable when commands may be waiting. */
int mailbox_fd(const struct mailbox *mb);
/* mailbox_send: queues a command. Any thread. Never fails: a failed chunk allocation
 * is retried, because commands carry shutdown handshakes that must not be lost. */
void mailbox_send(struct mailbox *mb, const struct command *cmd);
/* mailbox_recv: the next command, waiting up to timeout_ms (0: don't wait, -1: forever).
 * 0, -EAGAIN (nothing yet; may be spurious), or -EINTR. Reader thread only. */
int mailbox_recv(struct mailbox *mb, struct command *cmd, int timeout_ms);
/* mailbox_drain_signal: clears a pending wake-up; the caller must then read until
 * -EAGAIN so that the next command raises the fd again (ZMQ_EVENTS uses this). */
void mailbox_drain_signal(struct mailbox *mb);

#endif

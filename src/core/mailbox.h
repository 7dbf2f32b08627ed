/*
 * mailbox.h: the command queue of one zinc "thread" (an I/O thread, the reaper, a
 * socket or the context's termination waiter). Many threads send; exactly one reads
 * at a time. Senders serialise on a mutex (never on the message path: commands are
 * rare); the reader never locks. The signaler fd is raised only when the reader was
 * found asleep, so a busy mailbox costs no system call.
 *
 * Lifetime: a mailbox is refcounted, and whoever leaves it last frees it. The reader
 * holds one reference from mailbox_new to mailbox_release; every sender holds one for
 * the whole of mailbox_send, from before its command is queued until after it has
 * raised the fd. So the reader may release the mailbox as soon as it has read the
 * last command the object protocol lets anyone send it (a socket's last term ack)
 * even though that command's sender is still unlocking the mutex and writing the
 * eventfd: the sender then frees it. Nobody waits, and no sender ever touches freed
 * memory or a closed (possibly already reused) descriptor.
 *
 * What mailbox_send may not do is *start* after the reader released: a sender must
 * know the reader is still there, which the object protocol guarantees (seqnums,
 * term acks, and the slot lock for CMD_STOP). See docs/ARCHITECTURE.md.
 */
#ifndef ZINC_CORE_MAILBOX_H
#define ZINC_CORE_MAILBOX_H

#include <stdatomic.h>

#include "core/command.h"
#include "core/yield_gate.h"
#include "core/ypipe.h"
#include "platform/platform.h"
#include "platform/signaler.h"

struct mailbox {
	struct ypipe cpipe;
	struct signaler signaler;
	struct zn_mutex sync;   /* serialises senders */
	atomic_int refs;        /* the reader's (until released) + senders inside */
	struct yield_gate gate; /* the reader's: whether its yield pays (mailbox_yield) */
};

/* mailbox_new: a mailbox holding the reader's reference. 0, -ENOMEM or -EMFILE. */
int mailbox_new(struct mailbox **out);
/* mailbox_release: the reader drops its reference: it will neither read the mailbox
 * nor poll its fd again. The mailbox is freed now, or by the last sender still inside
 * mailbox_send. Commands still queued are dropped. Reader thread only. */
void mailbox_release(struct mailbox *mb);
/* mailbox_fd: the fd that becomes readable when commands may be waiting. */
int mailbox_fd(const struct mailbox *mb);
/* mailbox_send: queues a command. Any thread, while the reader holds its reference
 * (see above). Never fails: a failed chunk allocation is retried, because commands
 * carry shutdown handshakes that must not be lost. */
void mailbox_send(struct mailbox *mb, const struct command *cmd);
/* mailbox_recv: the next command, waiting up to timeout_ms (0: don't wait, -1: forever).
 * 0, -EAGAIN (nothing yet; may be spurious), or -EINTR. Reader thread only. */
int mailbox_recv(struct mailbox *mb, struct command *cmd, int timeout_ms);
/* mailbox_recv_any: mailbox_recv whose wait also ends when one of fds is readable
 * (see signaler_wait_any): then 1, with no command. *fired (unless NULL; the caller
 * starts it at 0): the bits of the fds that were readable, set only when it waited. */
int mailbox_recv_any(struct mailbox *mb, struct command *cmd, int timeout_ms,
                     const int *fds, int nfds, uint32_t *fired);
/* mailbox_idle: true when nothing came since the reader last found the mailbox empty
 * (one load; false may be spurious). Reader thread only. */
static inline bool
mailbox_idle(struct mailbox *mb)
{
	return ypipe_reader_idle(&mb->cpipe);
}
/* mailbox_drain_signal: clears a pending wake-up; the caller must then read until
 * -EAGAIN so that the next command raises the fd again (ZMQ_EVENTS uses this). */
void mailbox_drain_signal(struct mailbox *mb);
/* mailbox_raise: makes the fd readable with no command, so that whoever polls it
 * looks again. Any thread, while the reader holds its reference (as mailbox_send). */
void mailbox_raise(struct mailbox *mb);

#endif

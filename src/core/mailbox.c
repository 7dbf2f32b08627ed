/*
 * mailbox.c: see mailbox.h.
 *
 * Why the references are ordered as they are: a sender takes its reference before it
 * queues its command, and the reader can only release after reading that command
 * (the ypipe's publication is a release, the reader's read an acquire), so the
 * reader's decrement always sees the sender's increment and cannot be the last. The
 * decrements are acq_rel, so whoever frees has seen everything the others did to the
 * mailbox: the reader's reads, a sender's unlock and eventfd write.
 */
#include "core/mailbox.h"
#include "platform/alloc.h"
#include "platform/platform.h"

#include <errno.h>
#include <string.h>

int
mailbox_new(struct mailbox **out)
{
	struct mailbox *mb = zn_calloc(1, sizeof *mb);
	if (!mb)
		return -ENOMEM;
	int rc = ypipe_init(&mb->cpipe);
	if (rc < 0)
		goto fail_ypipe;
	rc = signaler_init(&mb->signaler);
	if (rc < 0)
		goto fail_signaler;
	zn_mutex_init(&mb->sync);
	atomic_init(&mb->refs, 1); /* the reader's */
	/* The reader starts asleep, so the first command raises the fd. */
	(void)ypipe_check_read(&mb->cpipe);
	*out = mb;
	return 0;

fail_signaler:
	ypipe_fini(&mb->cpipe);
fail_ypipe:
	zn_free(mb);
	return rc;
}

static void
mailbox_free(struct mailbox *mb)
{
	signaler_fini(&mb->signaler);
	ypipe_fini(&mb->cpipe);
	zn_mutex_fini(&mb->sync);
	zn_free(mb);
}

/* mailbox_unref: drops one reference; the last one frees. */
static void
mailbox_unref(struct mailbox *mb)
{
	if (atomic_fetch_sub_explicit(&mb->refs, 1, memory_order_acq_rel) == 1)
		mailbox_free(mb);
}

void
mailbox_release(struct mailbox *mb)
{
	if (mb)
		mailbox_unref(mb);
}

int
mailbox_fd(const struct mailbox *mb)
{
	return mb->signaler.fd;
}

void
mailbox_send(struct mailbox *mb, const struct command *cmd)
{
	struct ycell cell;
	memcpy(&cell, cmd, sizeof *cmd);
	/* Relaxed is enough: the reader holds its reference until it has read this
	 * command, and reading it orders this increment before its release. */
	atomic_fetch_add_explicit(&mb->refs, 1, memory_order_relaxed);
	zn_mutex_lock(&mb->sync);
	while (ypipe_write(&mb->cpipe, &cell, false) < 0) {
		/* Out of memory for a new chunk. Dropping a command would break a
		 * shutdown handshake, so wait for memory instead. */
		zn_mutex_unlock(&mb->sync);
		zn_sleep_us(1000);
		zn_mutex_lock(&mb->sync);
	}
	bool awake = ypipe_flush(&mb->cpipe);
	zn_mutex_unlock(&mb->sync);
	/* From the flush on, the reader may have read the command and released the
	 * mailbox; our reference keeps the fd open (not closed, not reused) until the
	 * raise is done. */
	if (!awake)
		signaler_raise(&mb->signaler);
	mailbox_unref(mb);
}

/* mailbox_yield: before the reader sleeps, it stays awake and lets another thread of
 * its CPU run once. A sleep costs a command's sender an eventfd write and the reader a
 * poll, a read and two context switches; on a busy machine the thread that will send
 * the next command (the writer of a pipe, the reader of a full one) is often waiting
 * for this very CPU, and a yield lets it run first, so its command finds the reader
 * awake: no system call on either side. When nothing else waits to run here the yield
 * returns at once and the reader sleeps as before, one cheap system call later.
 * Spinning instead (tried, with fixed and adaptive budgets) only paid when the sender
 * had a CPU of its own, and made latency worse on a loaded machine. Afterwards the
 * reader is awake and must read (which marks it asleep again if nothing came) before
 * it sleeps. The yield_gate stops the yields while they bring nothing. */
static void
mailbox_yield(struct mailbox *mb)
{
	ypipe_reader_wake(&mb->cpipe);
	if (ypipe_probe(&mb->cpipe) || !yield_gate_open(&mb->gate))
		return;
	zn_yield();
	/* Paid if a command came meanwhile (yield_gate.h: one that brings nothing
	 * costs latency on a loaded machine). */
	yield_gate_judge(&mb->gate, ypipe_probe(&mb->cpipe));
}

int
mailbox_recv(struct mailbox *mb, struct command *cmd, int timeout_ms)
{
	return mailbox_recv_any(mb, cmd, timeout_ms, NULL, 0, NULL);
}

int
mailbox_recv_any(struct mailbox *mb, struct command *cmd, int timeout_ms, const int *fds,
                 int nfds, uint32_t *fired)
{
	struct ycell cell;
	/* The common case, asked on every send and receive: asleep, nothing came. */
	if (timeout_ms == 0 && ypipe_reader_idle(&mb->cpipe))
		return -EAGAIN;
	if (!ypipe_read(&mb->cpipe, &cell)) {
		if (timeout_ms == 0)
			return -EAGAIN;
		/* This read marks the reader asleep again if nothing came. */
		mailbox_yield(mb);
		if (ypipe_read(&mb->cpipe, &cell)) {
			memcpy(cmd, &cell, sizeof *cmd);
			return 0;
		}
		int rc = signaler_wait_any(&mb->signaler, fds, nfds, timeout_ms, fired);
		if (rc != 0)
			return rc; /* 1: one of fds, and the reader is still marked asleep
			            */
		/* Drain before reading: a command sent after this read raises again. */
		signaler_drain(&mb->signaler);
		if (!ypipe_read(&mb->cpipe, &cell))
			return -EAGAIN;
	}
	memcpy(cmd, &cell, sizeof *cmd);
	return 0;
}

void
mailbox_drain_signal(struct mailbox *mb)
{
	signaler_drain(&mb->signaler);
}

void
mailbox_raise(struct mailbox *mb)
{
	signaler_raise(&mb->signaler);
}

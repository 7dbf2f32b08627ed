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

int
mailbox_recv(struct mailbox *mb, struct command *cmd, int timeout_ms)
{
	struct ycell cell;
	if (!ypipe_read(&mb->cpipe, &cell)) {
		if (timeout_ms == 0)
			return -EAGAIN;
		int rc = signaler_wait(&mb->signaler, timeout_ms);
		if (rc < 0)
			return rc;
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

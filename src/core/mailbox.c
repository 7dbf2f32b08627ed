/*
 * mailbox.c: see mailbox.h.
 */
#include "core/mailbox.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

int
mailbox_init(struct mailbox *mb)
{
	int rc = ypipe_init(&mb->cpipe);
	if (rc < 0)
		return rc;
	rc = signaler_init(&mb->signaler);
	if (rc < 0) {
		ypipe_fini(&mb->cpipe);
		return rc;
	}
	zn_mutex_init(&mb->sync);
	/* The reader starts asleep, so the first command raises the fd. */
	(void)ypipe_check_read(&mb->cpipe);
	return 0;
}

void
mailbox_fini(struct mailbox *mb)
{
	signaler_fini(&mb->signaler);
	ypipe_fini(&mb->cpipe);
	zn_mutex_fini(&mb->sync);
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
	zn_mutex_lock(&mb->sync);
	while (ypipe_write(&mb->cpipe, &cell, false) < 0) {
		/* Out of memory for a new chunk. Dropping a command would break a
		 * shutdown handshake, so wait for memory instead. */
		zn_mutex_unlock(&mb->sync);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
		zn_mutex_lock(&mb->sync);
	}
	bool awake = ypipe_flush(&mb->cpipe);
	zn_mutex_unlock(&mb->sync);
	if (!awake)
		signaler_raise(&mb->signaler);
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

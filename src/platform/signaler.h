/*
 * signaler.h: a wake-up file descriptor (eventfd on Linux). One thread waits on it or
 * polls its fd; any thread may raise it. Raising is idempotent until the waiter drains.
 * This fd is what ZMQ_FD returns for a socket.
 */
#ifndef ZINC_PLATFORM_SIGNALER_H
#define ZINC_PLATFORM_SIGNALER_H

#include <stdint.h>

struct signaler {
	int fd;
};

/* signaler_init: 0 or -errno (-EMFILE when out of descriptors). */
int signaler_init(struct signaler *s);
void signaler_fini(struct signaler *s);
/* signaler_raise: makes the fd readable. Never blocks. */
void signaler_raise(struct signaler *s);
/* signaler_drain: makes the fd unreadable again. Never blocks. */
void signaler_drain(struct signaler *s);
/* signaler_wait: waits until the fd is readable or timeout_ms passes (-1: forever).
 * 0 when readable, -EAGAIN on timeout, -EINTR when a signal interrupted the wait. */
int signaler_wait(struct signaler *s, int timeout_ms);
/* signaler_wait_any: the same, also woken when one of fds (at most
 * SIGNALER_WAIT_FDS_MAX; more are not watched) is readable or fails: 0 when s is
 * readable, 1 when only one of fds is, -EAGAIN or -EINTR. *fired (unless NULL): bit
 * i set when fds[i] was readable or failed, whatever the result; left as it was when
 * nothing was (the caller starts it at 0). */
#define SIGNALER_WAIT_FDS_MAX 8 /* fired is a uint32_t */
int signaler_wait_any(struct signaler *s, const int *fds, int nfds, int timeout_ms,
                      uint32_t *fired);

#endif

/*
 * linux_signaler.c: signaler on eventfd. The counter is only ever read to zero, so a
 * raise that races with a drain is never lost: either the drain saw it or the fd
 * stays readable.
 */
#include "platform/signaler.h"
#include "platform/body_cache.h"
#include "platform/fault.h"
#include "platform/platform.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int
signaler_init(struct signaler *s)
{
	if (zn_fault_hit(&zn_fault_fd)) {
		s->fd = -1;
		return -EMFILE;
	}
	s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->fd < 0)
		return zn_errno();
	return 0;
}

void
signaler_fini(struct signaler *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void
signaler_raise(struct signaler *s)
{
	uint64_t one = 1;
	ssize_t n;
	do
		n = write(s->fd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
	/* EAGAIN means the counter is saturated: the fd is readable anyway. */
}

void
signaler_drain(struct signaler *s)
{
	uint64_t v;
	ssize_t n;
	do
		n = read(s->fd, &v, sizeof v);
	while (n < 0 && errno == EINTR);
}

int
signaler_wait_any(struct signaler *s, const int *fds, int nfds, int timeout_ms,
                  uint32_t *fired)
{
	struct pollfd pfd[1 + SIGNALER_WAIT_FDS_MAX];
	if (nfds > SIGNALER_WAIT_FDS_MAX)
		nfds = SIGNALER_WAIT_FDS_MAX;
	if (timeout_ms != 0)
		zn_body_flush_frees(); /* about to block: hold nothing back */
	pfd[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	for (int i = 0; i < nfds; i++)
		pfd[1 + i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	int rc = poll(pfd, (nfds_t)(1 + nfds), timeout_ms);
	if (rc < 0)
		return errno == EINTR ? -EINTR : zn_errno();
	if (rc == 0)
		return -EAGAIN;
	for (int i = 0; fired && i < nfds; i++)
		if (pfd[1 + i].revents)
			*fired |= UINT32_C(1) << i;
	return (pfd[0].revents & POLLIN) ? 0 : 1;
}

int
signaler_wait(struct signaler *s, int timeout_ms)
{
	return signaler_wait_any(s, NULL, 0, timeout_ms, NULL);
}

/*
 * linux_epoll.c: the pollset of poll.h over epoll. Registration is level-triggered, as
 * the poller expects: an fd that stays ready is reported again on every wait.
 */
#include "platform/platform.h"
#include "platform/body_cache.h"
#include "platform/fault.h"
#include "platform/poll.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The largest batch one wait takes from the kernel; more ready fds wait for the next. */
#define EPOLL_BATCH 256

static uint32_t
epoll_events_of(uint32_t events)
{
	return ((events & ZN_POLL_IN) ? EPOLLIN : 0) |
	       ((events & ZN_POLL_OUT) ? EPOLLOUT : 0) |
	       ((events & ZN_POLL_CLOSE) ? EPOLLRDHUP : 0);
}

static uint32_t
zn_events_of(uint32_t events)
{
	uint32_t ev = 0;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		ev |= ZN_POLL_IN;
	if (events & EPOLLOUT)
		ev |= ZN_POLL_OUT;
	return ev;
}

int
zn_pollset_init(struct zn_pollset *ps)
{
	if (zn_fault_hit(&zn_fault_fd)) {
		ps->fd = -1;
		return -EMFILE;
	}
	ps->fd = epoll_create1(EPOLL_CLOEXEC);
	return ps->fd < 0 ? zn_errno() : 0;
}

void
zn_pollset_fini(struct zn_pollset *ps)
{
	if (ps->fd >= 0)
		close(ps->fd);
	ps->fd = -1;
}

int
zn_pollset_add(struct zn_pollset *ps, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = {.events = epoll_events_of(events), .data.ptr = ptr};
	return epoll_ctl(ps->fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? zn_errno() : 0;
}

void
zn_pollset_modify(struct zn_pollset *ps, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = {.events = epoll_events_of(events), .data.ptr = ptr};
	(void)epoll_ctl(ps->fd, EPOLL_CTL_MOD, fd, &ev);
}

void
zn_pollset_remove(struct zn_pollset *ps, int fd)
{
	(void)epoll_ctl(ps->fd, EPOLL_CTL_DEL, fd, NULL);
}

int
zn_pollset_wait(struct zn_pollset *ps, struct zn_poll_event *evs, int max, int timeout_ms)
{
	struct epoll_event got[EPOLL_BATCH];
	if (timeout_ms != 0)
		zn_body_flush_frees(); /* about to block: hold nothing back */
	int n = epoll_wait(ps->fd, got, max < EPOLL_BATCH ? max : EPOLL_BATCH,
	                   timeout_ms);
	if (n < 0)
		return 0; /* EINTR: the caller looks at its timers and waits again */
	for (int i = 0; i < n; i++) {
		evs[i].ptr = got[i].data.ptr;
		evs[i].events = zn_events_of(got[i].events);
	}
	return n;
}

/*
 * zmq_poll.c: the exported zmq_poll, level-triggered multiplexing over zinc sockets and
 * plain file descriptors (zmq_poll(3)).
 *
 * A zinc socket's readiness comes from socket_events(), never from its fd: the fd
 * (ZMQ_FD, the socket's mailbox signaler) is edge-triggered and only serves to wake the
 * poll(2) call, after which every socket is asked again. A wake-up with nothing to
 * report is normal (a command that changed no state), so the call loops until an item
 * is ready or the timeout has expired. A plain fd's readiness is poll(2)'s, mapped the
 * way libzmq maps it: POLLIN, POLLOUT and POLLPRI to their ZMQ_ twins, anything else
 * the kernel reports (POLLERR, POLLHUP, POLLNVAL) to ZMQ_POLLERR.
 *
 * Threads: the caller's. Every socket in the set must belong to the calling thread, as
 * for any other call on a zinc socket, with one exception libzmq also makes: another
 * thread may zmq_close a socket we wait on (a binding's finalizer does), and the call
 * then returns ENOTSOCK (socket_borrow).
 */
#include <zmq.h>

#include "platform/alloc.h"
#include "platform/platform.h"
#include "platform/poll.h"
#include "socket/socket.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* poll_fd_events: the poll(2) events to ask for a plain fd item. ZMQ_POLLERR needs no
 * bit: poll(2) always reports errors and hang-ups. */
static short
poll_fd_events(short events)
{
	short ev = 0;
	if (events & ZMQ_POLLIN)
		ev |= POLLIN;
	if (events & ZMQ_POLLOUT)
		ev |= POLLOUT;
	if (events & ZMQ_POLLPRI)
		ev |= POLLPRI;
	return ev;
}

/* poll_fd_revents: the ZMQ_ bits for what poll(2) reported on a plain fd. */
static short
poll_fd_revents(short revents)
{
	short ev = 0;
	if (revents & POLLIN)
		ev |= ZMQ_POLLIN;
	if (revents & POLLOUT)
		ev |= ZMQ_POLLOUT;
	if (revents & POLLPRI)
		ev |= ZMQ_POLLPRI;
	if (revents & ~(POLLIN | POLLOUT | POLLPRI))
		ev |= ZMQ_POLLERR;
	return ev;
}

/* poll_unborrow: gives back the sockets of items[0..n). */
static void
poll_unborrow(const zmq_pollitem_t *items, int n)
{
	for (int i = 0; i < n; i++)
		if (items[i].socket)
			socket_unborrow(items[i].socket);
}

/* poll_prepare: borrows each item's socket (socket_borrow: another thread may close it
 * while we wait) and fills pfd[i] for each item: a socket's mailbox fd (watched for
 * input when the item asks for anything) or the item's own fd. Returns how many items
 * are plain fds, or -ENOTSOCK when an item's socket is not a live zinc socket (then
 * nothing is borrowed). */
static int
poll_prepare(const zmq_pollitem_t *items, int n, struct pollfd *pfd)
{
	int fds = 0;
	for (int i = 0; i < n; i++) {
		if (items[i].socket) {
			struct socket *s = items[i].socket;
			/* Looked at first: borrowing writes, and a pointer that is no
			 * socket may point at memory that must not be written. */
			if (!socket_check_tag(s) || !socket_borrow(s)) {
				poll_unborrow(items, i);
				return -ENOTSOCK;
			}
			pfd[i].fd = socket_fd(s);
			pfd[i].events = items[i].events ? POLLIN : 0;
		} else {
			pfd[i].fd = items[i].fd;
			pfd[i].events = poll_fd_events(items[i].events);
			fds++;
		}
		pfd[i].revents = 0;
	}
	return fds;
}

/* poll_collect: sets every item's revents, asking each socket afresh (which also clears
 * its fd and runs its pending commands). Returns how many items have an event, -ETERM
 * when a socket's context was terminated, or -ENOTSOCK when another thread closed a
 * socket (looked at after its fd was cleared: a close raises the fd after it marks the
 * socket, so a close this misses wakes the next wait). */
static int
poll_collect(zmq_pollitem_t *items, int n, const struct pollfd *pfd)
{
	int ready = 0;
	for (int i = 0; i < n; i++) {
		items[i].revents = 0;
		if (items[i].socket) {
			int ev, rc = socket_events(items[i].socket, &ev);
			if (rc < 0)
				return rc;
			if (!socket_check_tag(items[i].socket))
				return -ENOTSOCK;
			items[i].revents = (short)(ev & items[i].events &
			                           (ZMQ_POLLIN | ZMQ_POLLOUT));
		} else {
			items[i].revents = poll_fd_revents(pfd[i].revents);
		}
		if (items[i].revents)
			ready++;
	}
	return ready;
}

/* poll_remaining: the poll(2) timeout until deadline, clamped to an int; never below 0.
 */
static int
poll_remaining(int64_t deadline)
{
	int64_t left = deadline - clock_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* poll_run: the wait loop. The first pass looks without waiting (and without poll(2)
 * when there are no plain fds: sockets answer through socket_events); later ones wait
 * in poll(2) for at most what is left of timeout (forever when it is negative). Returns
 * the number of ready items (0 once the timeout has expired), -ETERM, or poll(2)'s
 * -errno (-EINTR on a signal). Blocks up to timeout ms. */
static int
poll_run(zmq_pollitem_t *items, int n, struct pollfd *pfd, int fds, long timeout)
{
	int64_t deadline = INT64_MAX;
	if (timeout > 0) {
		int64_t now = clock_now_ms();
		if ((int64_t)timeout < INT64_MAX - now)
			deadline = now + (int64_t)timeout;
	}
	for (bool first = true;; first = false) {
		if (!first || fds > 0) {
			int wait = 0;
			if (!first)
				wait = timeout < 0 ? -1 : poll_remaining(deadline);
			int rc = zn_poll(pfd, n, wait);
			if (rc < 0)
				return rc;
		}
		int ready = poll_collect(items, n, pfd);
		if (ready != 0)
			return ready;
		if (timeout == 0 || (timeout > 0 && clock_now_ms() >= deadline))
			return 0;
	}
}

/* zmq_poll: see zmq_poll(3). Returns the number of items with events in revents, 0 when
 * the timeout expired first, or -1 with errno EINVAL (nitems < 0), EFAULT (items NULL),
 * ENOTSOCK (an item's socket is not a socket), ENOMEM, ETERM or EINTR. With no items it
 * sleeps for the timeout, as libzmq does. */
ZMQ_EXPORT int
zmq_poll(zmq_pollitem_t *items, int nitems, long timeout)
{
	struct pollfd local[ZMQ_POLLITEMS_DFLT];
	struct pollfd *pfd = local;

	if (nitems < 0) {
		errno = EINVAL;
		return -1;
	}
	if (nitems > 0 && !items) {
		errno = EFAULT;
		return -1;
	}
	if (nitems > ZMQ_POLLITEMS_DFLT) {
		pfd = zn_malloc((size_t)nitems * sizeof *pfd);
		if (!pfd) {
			errno = ENOMEM;
			return -1;
		}
	}
	int rc = poll_prepare(items, nitems, pfd);
	if (rc >= 0) {
		rc = poll_run(items, nitems, pfd, rc, timeout);
		poll_unborrow(items, nitems);
	}
	if (pfd != local)
		zn_free(pfd);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

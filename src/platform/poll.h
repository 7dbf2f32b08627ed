/*
 * poll.h: readiness of file descriptors, the two ways zinc asks for it.
 *
 * - A pollset (linux_epoll.c: epoll) is the backend of a poller (core/poller.c): a
 *   kernel-side set of fds, each registered with the events wanted and a pointer that
 *   comes back with its readiness. Threads: the poller's thread; the set itself may be
 *   changed from it only.
 * - zn_poll (posix.c: poll(2)) is zmq_poll's one-shot wait over an array of fds; the
 *   array's type and bits are poll(2)'s own (struct pollfd, POLLIN, ...).
 */
#ifndef ZINC_PLATFORM_POLL_H
#define ZINC_PLATFORM_POLL_H

#include <poll.h>
#include <stdint.h>

/* Events of a pollset. An error or a hang-up is reported as ZN_POLL_IN, whatever was
 * asked for, so that the owner's read finds it; ZN_POLL_CLOSE asks for the peer's end
 * of a stream too (with ZN_POLL_IN, data or the end: no need), reported as ZN_POLL_IN. */
enum {
	ZN_POLL_IN = 1u,
	ZN_POLL_OUT = 2u,
	ZN_POLL_CLOSE = 4u,
};

struct zn_pollset {
	int fd; /* the epoll instance */
};

struct zn_poll_event {
	void *ptr;       /* as registered */
	uint32_t events; /* ZN_POLL_IN and/or ZN_POLL_OUT */
};

/* zn_pollset_init: an empty set. 0 or -errno (-EMFILE, -ENOMEM). */
int zn_pollset_init(struct zn_pollset *ps);
/* zn_pollset_fini: closes the set; its fds are not closed. Safe on a failed init. */
void zn_pollset_fini(struct zn_pollset *ps);
/* zn_pollset_add: watches fd for events (ZN_POLL_*; 0 watches only for hang-ups and
 * errors), reporting ptr. 0 or -errno (-EEXIST, -ENOMEM, -EPERM for a regular file). */
int zn_pollset_add(struct zn_pollset *ps, int fd, uint32_t events, void *ptr);
/* zn_pollset_modify: changes the events watched on a registered fd. */
void zn_pollset_modify(struct zn_pollset *ps, int fd, uint32_t events, void *ptr);
/* zn_pollset_remove: stops watching fd (before it is closed). */
void zn_pollset_remove(struct zn_pollset *ps, int fd);
/* zn_pollset_wait: waits up to timeout_ms (forever when negative) for readiness and
 * fills up to max entries of evs. The number filled: 0 after the timeout or a signal.
 * Blocks. */
int zn_pollset_wait(struct zn_pollset *ps, struct zn_poll_event *evs, int max,
                    int timeout_ms);

/* zn_poll: poll(2) over n entries, waiting up to timeout_ms (forever when negative).
 * The number of entries with revents set, 0 after the timeout, or -errno (-EINTR on a
 * signal, -ENOMEM). Blocks. */
int zn_poll(struct pollfd *fds, int n, int timeout_ms);

#endif

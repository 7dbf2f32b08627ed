/*
 * socket_io.c: sending and receiving on the socket base: the type's send / recv, and
 * when they would block, the wait for commands up to ZMQ_SNDTIMEO / ZMQ_RCVTIMEO (or the
 * spin on shm:// direct roads first, with ZINC_SHM_SPIN_US); ZMQ_FD and ZMQ_EVENTS.
 *
 * Threads: the application thread that owns the socket.
 */
#include "socket/socket.h"
#include "platform/platform.h"
#include "zmq.h"

#include <errno.h>

/*
 * When a socket runs its commands (pipes attached, pipes readable or writable again,
 * write credits, subscriptions for an XPUB, terminations): the rule libzmq 4.3 follows,
 * which programs written against it can see (how soon a sender meets its HWM, which
 * connection a receiver reads first):
 *   - whenever it is asked for its state or its endpoints change: ZMQ_EVENTS (so
 *     zmq_poll), bind, connect, unbind, disconnect, a new HWM;
 *   - before a call blocks, and while it waits;
 *   - a receive that finds nothing, before it says EAGAIN;
 *   - otherwise, a send at most once a millisecond (SOCKET_CMD_PERIOD), and a receive
 *     every SOCKET_RECV_CMD_EVERY-th call, so that a socket that never runs dry still
 *     notices new pipes and the end of the context.
 * A send that fails with EAGAIN does not look at commands (libzmq's does not either):
 * a DONTWAIT sender meets its HWM where the credits it has taken put it, and learns
 * of new room on its next send a millisecond later, or from zmq_poll.
 */

/* libzmq's max_command_delay: 3 M cycles, a millisecond at 3 GHz. */
#define SOCKET_CMD_PERIOD 3000000u
/* Sends between two stamps of the time while no command comes (a power of 2). */
#define SOCKET_SEND_STAMP_EVERY 16u
/* libzmq's inbound_poll_rate. */
#define SOCKET_RECV_CMD_EVERY 100u

/* socket_cycles: the time for the send throttle, at the price of one instruction on
 * x86 (the TSC: an application's send cannot afford a system call); elsewhere the
 * monotonic clock, scaled to a nominal 3 GHz. */
static inline uint64_t
socket_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return (uint64_t)clock_now_us() * 3000u;
#endif
}

/* socket_send_commands: a send's commands, at most once per SOCKET_CMD_PERIOD. A
 * clock that went backwards (a thread moved to a CPU whose TSC is behind) counts as
 * the period having passed. Reading the TSC costs a send 10-15 ns on this VM (a sixth
 * of a 64-byte message's CPU time), so while nothing has come (one load) only every
 * SOCKET_SEND_STAMP_EVERY-th send reads it, to stamp the time as libzmq's check of an
 * empty mailbox would: a command that comes within a period of a burst's start waits
 * for the period, one that comes to a sender quiet for longer is run at once. */
static int
socket_send_commands(struct socket *s)
{
	bool idle = mailbox_idle(s->mailbox);
	if (idle && (++s->send_calls & (SOCKET_SEND_STAMP_EVERY - 1)) != 0)
		return 0;
	uint64_t now = socket_cycles();
	if (now >= s->cmd_cycles && now - s->cmd_cycles <= SOCKET_CMD_PERIOD)
		return 0;
	s->cmd_cycles = now;
	return idle ? 0 : socket_process_commands(s, 0);
}

/* socket_recv_commands: a receive's commands, every SOCKET_RECV_CMD_EVERY-th call
 * (the calls that find nothing run them anyway, and restart the count). */
static int
socket_recv_commands(struct socket *s)
{
	if (++s->recv_calls < SOCKET_RECV_CMD_EVERY)
		return 0;
	s->recv_calls = 0;
	return socket_process_commands(s, 0);
}

/* socket_give_back: a connection's reading kept by the last receive's wait goes back
 * to its engine (pipe/shortcut.h), before this thread waits or looks in any other
 * way: whatever arrives then reaches the pipes, the mailbox and ZMQ_FD as usual. */
static void
socket_give_back(struct socket *s)
{
	if (!s->reading_kept)
		return;
	s->reading_kept = false;
	struct pipe **pipes = s->pipes.items;
	for (uint32_t i = 0; i < s->pipes.n; i++)
		pipe_give_back(pipes[i]);
}

int
socket_fd(struct socket *s)
{
	socket_give_back(s);
	return mailbox_fd(s->mailbox);
}

int
socket_events(struct socket *s, int *events)
{
	if (s->ctx_terminated)
		return -ETERM;
	socket_give_back(s);
	/* Clear the fd first, then run every command: whatever arrives after this
	 * raises the fd again, which is the edge ZMQ_FD users wait for. */
	mailbox_drain_signal(s->mailbox);
	int rc = socket_process_commands(s, 0);
	if (rc < 0)
		return rc;
	int ev = 0;
	if (s->ops->has_in(s))
		ev |= ZMQ_POLLIN;
	if (s->ops->has_out(s))
		ev |= ZMQ_POLLOUT;
	*events = ev;
	return 0;
}

/* socket_wait_left: the wait until the deadline (timeout_ms as it is when it is 0 or
 * -1); -EAGAIN when it has passed. */
static int
socket_wait_left(int timeout_ms, int64_t deadline)
{
	if (timeout_ms <= 0)
		return timeout_ms;
	int64_t left = deadline - clock_now_ms();
	return left <= 0 ? -EAGAIN : (int)left;
}

/* The direct roads a receive waits on itself (pipe_wait_begin). */
struct socket_road_wait {
	struct pipe *pipes[SIGNALER_WAIT_FDS_MAX];
	int fds[SIGNALER_WAIT_FDS_MAX];
	int n;
	bool ready; /* a road had data as the wait began */
};

/* socket_road_wait_begin: for a receive, the roads' fds to poll beside the mailbox,
 * at most SIGNALER_WAIT_FDS_MAX (a socket with more roads is woken through its I/O
 * threads for the rest, as it would be without). */
static void
socket_road_wait_begin(struct socket *s, bool in, struct socket_road_wait *w)
{
	w->n = 0;
	w->ready = false;
	/* Besides roads: a socket's only pipe may lend it its connection's reading
	 * (pipe/shortcut.h). */
	if (!in || (!s->may_have_roads && s->pipes.n != 1))
		return;
	struct pipe **pipes = s->pipes.items;
	for (uint32_t i = 0; i < s->pipes.n && w->n < SIGNALER_WAIT_FDS_MAX; i++) {
		int fd = pipe_wait_begin(pipes[i]);
		if (fd == -2) {
			w->ready = true;
			return;
		}
		if (fd >= 0) {
			w->pipes[w->n] = pipes[i];
			w->fds[w->n++] = fd;
		}
	}
}

/* socket_road_wait_end: before any command runs (one may end a pipe): the roads'
 * requests taken back, their ends activated if data came. fired: bit i set when
 * w->fds[i] woke the wait (each end is told of its own fd only: a shortcut told of
 * another's would take its empty fd for the engine's turn). */
static bool
socket_road_wait_end(struct socket *s, struct socket_road_wait *w, uint32_t fired)
{
	bool came = w->ready;
	for (int i = 0; i < w->n; i++) {
		came |= pipe_wait_end(w->pipes[i], (fired >> i) & 1);
		s->reading_kept |= pipe_reading_kept(w->pipes[i]);
	}
	return came;
}

/* socket_wait: after an -EAGAIN, waits for commands until the deadline. 0 to try
 * again, -EAGAIN when the time is up, -ETERM or -EINTR. A receive that sleeps on
 * direct roads also watches their own fds, so that the peer's next message wakes this
 * thread itself: one wake-up where the I/O thread's CMD_PIPE_WAKE makes two. */
static int
socket_wait(struct socket *s, bool in, int timeout_ms, int64_t deadline)
{
	int wait = socket_wait_left(timeout_ms, deadline);
	if (wait == -EAGAIN)
		return -EAGAIN;
	struct socket_road_wait w;
	socket_road_wait_begin(s, in, &w);
	if (w.n == 0 && !w.ready) {
		socket_give_back(s);
		return socket_process_commands(s, wait);
	}
	struct command cmd;
	uint32_t fired = 0;
	int rc = w.ready ? -EAGAIN
	                 : mailbox_recv_any(s->mailbox, &cmd, wait, w.fds, w.n, &fired);
	bool came = socket_road_wait_end(s, &w, fired);
	if (rc == 0)
		object_dispatch(&cmd);
	else if (rc == -EINTR)
		return rc;
	else if (rc == -EAGAIN && !came)
		return socket_wait_left(timeout_ms, deadline) == -EAGAIN ? -EAGAIN : 0;
	return socket_process_commands(s, 0);
}

static inline void
socket_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* socket_spin: with ZINC_SHM_SPIN_US, before a blocking send or receive sleeps, watch
 * the direct roads of its pipes (pipe/direct.h) for up to that long. While we watch,
 * the roads' wake-up requests are taken back, so the peer's next message costs it no
 * system call and us no hop through the I/O thread. true when a road became ready
 * (its pipe is active again); false when the time ran out (the roads are armed again:
 * the wait that follows is woken as usual). */
static bool
socket_spin(struct socket *s, bool in)
{
	int budget = s->options.shm_spin_us;
	if (budget <= 0 || !s->may_have_roads)
		return false;
	struct pipe **pipes = s->pipes.items;
	uint32_t n = s->pipes.n, direct = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (pipe_has_direct(pipes[i])) {
			pipe_spin_quiet(pipes[i], in);
			direct++;
		}
	}
	if (direct == 0)
		return false;
	int64_t deadline = clock_now_us() + budget;
	bool ready = false;
	for (uint32_t round = 1; !ready; round++) {
		for (uint32_t i = 0; i < n && !ready; i++)
			ready = pipe_spin_ready(pipes[i], in);
		if (!ready && round % 64 == 0 && clock_now_us() >= deadline)
			break;
		socket_cpu_relax();
	}
	for (uint32_t i = 0; i < n; i++)
		ready |= pipe_arm_deferred(pipes[i]); /* data came as the time ran out */
	return ready;
}

/* socket_wait_or_spin_once: socket_wait, after spinning if the socket does. */
static int
socket_wait_or_spin_once(struct socket *s, bool in, int timeout_ms, int64_t deadline)
{
	if (socket_spin(s, in)) {
		if (timeout_ms > 0 && clock_now_ms() >= deadline)
			return -EAGAIN;
		/* Straight to the road that woke us: the commands were looked at when
		 * this call found nothing (socket_transfer_retry), and are again when the
		 * next one does, or every SOCKET_RECV_CMD_EVERY receives. */
		return 0;
	}
	return socket_wait(s, in, timeout_ms, deadline);
}

/* Closed by another thread: while we waited (the socket is still held, socket_borrow,
 * until socket_io_end), or before (not held: it is the reaper's already). */
#define SOCKET_CLOSED_HELD   (-ENOTSOCK)
#define SOCKET_CLOSED_BEFORE (-EBADFD)

/* socket_wait_or_spin: socket_wait_or_spin_once, holding the socket while it waits
 * (socket_borrow), so that a zmq_close from another thread wakes the wait (libzmq
 * aborts there; zmq_poll's answer, ENOTSOCK, is better). Not for the calls that do not
 * wait: a send or receive that returns at once pays nothing for this. */
static int
socket_wait_or_spin(struct socket *s, bool in, int timeout_ms, int64_t deadline)
{
	if (!socket_borrow(s))
		return SOCKET_CLOSED_BEFORE;
	int rc = socket_wait_or_spin_once(s, in, timeout_ms, deadline);
	if (!socket_check_tag(s))
		return SOCKET_CLOSED_HELD;
	socket_unborrow(s);
	return rc;
}

/* socket_io_end: a failed send's or receive's last step: what it returns, the socket
 * given back if a wait held it when another thread closed it (the last touch of s). */
static int
socket_io_end(struct socket *s, int rc)
{
	if (rc == SOCKET_CLOSED_HELD)
		socket_unborrow(s);
	else if (rc == SOCKET_CLOSED_BEFORE)
		rc = -ENOTSOCK;
	return rc;
}

/* socket_defer_begin / socket_defer_end: around a send or receive that will spin
 * rather than sleep at once, the pipes leave their roads unarmed when they run dry
 * (socket_spin arms them if it gives up); at the end, whatever was left unarmed is
 * armed, so ZMQ_FD and zmq_poll are woken as usual. */
static bool
socket_defer_begin(struct socket *s, int flags, int timeout)
{
	if (s->options.shm_spin_us <= 0 || !s->may_have_roads || (flags & ZMQ_DONTWAIT) ||
	    timeout == 0)
		return false;
	s->defer_arm = true;
	return true;
}

static void
socket_defer_end(struct socket *s)
{
	s->defer_arm = false;
	struct pipe **pipes = s->pipes.items;
	for (uint32_t i = 0; i < s->pipes.n; i++)
		(void)pipe_arm_deferred(pipes[i]);
}

/* socket_transfer_retry: after the type's call said -EAGAIN: a receive looks at the
 * commands once (a pipe may have become readable), and while the call may block, the
 * wait for commands (or the spin) up to ZMQ_RCVTIMEO or ZMQ_SNDTIMEO. Out of line, so
 * that the common case, a call that succeeds at once, stays short. */
static __attribute__((noinline)) int
socket_transfer_retry(struct socket *s, struct msg *m, int flags, bool in)
{
	int (*op)(struct socket *, struct msg *) = in ? s->ops->recv : s->ops->send;
	int timeout = in ? s->options.rcvtimeo : s->options.sndtimeo;
	int rc = -EAGAIN;
	if (in) {
		/* Nothing to read: see whether a pipe became readable meanwhile. */
		s->recv_calls = 0;
		rc = socket_process_commands(s, 0);
		if (rc == 0)
			rc = op(s, m);
	}
	if (rc == -EAGAIN && !(flags & ZMQ_DONTWAIT) && timeout != 0) {
		int64_t deadline = timeout > 0 ? clock_now_ms() + timeout : 0;
		do {
			rc = socket_wait_or_spin(s, in, timeout, deadline);
			if (rc < 0)
				break;
			rc = op(s, m);
		} while (rc == -EAGAIN);
	}
	return rc;
}

/* socket_transfer: the type's recv (in) or send, then socket_transfer_retry if it
 * said -EAGAIN. What the type's call returns, or -EAGAIN when the time is up, -ETERM,
 * -EINTR. */
static int
socket_transfer(struct socket *s, struct msg *m, int flags, bool in)
{
	bool deferred = s->options.shm_spin_us > 0 &&
	                socket_defer_begin(
	                        s, flags, in ? s->options.rcvtimeo : s->options.sndtimeo);
	int rc = in ? s->ops->recv(s, m) : s->ops->send(s, m);
	if (rc == -EAGAIN)
		rc = socket_transfer_retry(s, m, flags, in);
	if (deferred)
		socket_defer_end(s);
	if (rc < 0) {
		socket_give_back(s); /* the caller does something else now */
		rc = socket_io_end(s, rc);
	}
	return rc;
}

/* socket_io_begin: what a send and a receive check first: -ETERM once the context
 * ends, -EFAULT for a message that is not one. */
static int
socket_io_begin(struct socket *s, const struct msg *m)
{
	if (s->ctx_terminated)
		return -ETERM;
	if (!msg_is_valid(m))
		return -EFAULT;
	return 0;
}

int
socket_send(struct socket *s, struct msg *m, int flags)
{
	int rc = socket_io_begin(s, m);
	if (rc == 0)
		rc = socket_send_commands(s);
	if (rc < 0)
		return rc;
	msg_clear_flags(m, MSGF_MORE | MSGF_COMMAND | MSGF_ROUTING);
	if (flags & ZMQ_SNDMORE)
		msg_set_flags(m, MSGF_MORE);
	if (m->meta)
		msg_set_metadata(m, NULL);
	return socket_transfer(s, m, flags, false);
}

/* socket_conflate: ZMQ_CONFLATE on PULL, DEALER and PAIR (SUB does its own): only the
 * newest message counts, so everything queued behind m replaces it. As in libzmq,
 * conflation is for single-part messages. */
static void
socket_conflate(struct socket *s, struct msg *m)
{
	if (!s->options.type->conflate_on_recv)
		return;
	struct msg next;
	msg_init(&next);
	while (!(m->flags & MSGF_MORE) && s->ops->recv(s, &next) == 0) {
		msg_close(m);
		msg_move(m, &next);
		msg_init(&next);
	}
	msg_close(&next);
}

void
socket_rollback(struct socket *s)
{
	if (s->ops->rollback)
		s->ops->rollback(s);
}

int
socket_recv(struct socket *s, struct msg *m, int flags)
{
	int rc = socket_io_begin(s, m);
	if (rc == 0)
		rc = socket_recv_commands(s);
	if (rc < 0)
		return rc;
	msg_close(m);
	msg_init(m);
	rc = socket_transfer(s, m, flags, true);
	if (rc < 0)
		return rc;
	if (s->options.conflate)
		socket_conflate(s, m);
	s->rcvmore = (m->flags & MSGF_MORE) != 0;
	return 0;
}

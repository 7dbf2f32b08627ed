/*
 * direct.h: a second road for one pipe end's messages, beside its ypipes: a transport
 * queue that the socket's own thread reads and writes, without the hop through an I/O
 * thread (shm:// rings; proto/shm_link.c implements it).
 *
 * Hand-over keeps order. The I/O thread offers the road with a marker message in the
 * pipe (MSG_DIRECT, see msg.h), so everything it queued before stays ahead; the socket
 * end reads the road from then on. For writing, the socket end answers with a marker of
 * its own in the other direction and goes on writing its ypipe; once the I/O thread has
 * reached that marker, the socket end stops (ypipe_done) and waits, only until the I/O
 * thread has written what the ypipe still held (hand_state 2 and a CMD_PIPE_WAKE); from
 * then on it writes the road itself. So a new connection is never unwritable for longer
 * than the I/O thread takes to drain it. That is the road of a spinning socket. Without
 * spinning, the writing is shared instead (`shared`): the socket end sends its marker
 * the same way and then writes the road itself only while the I/O thread has none of
 * its messages left to write (try_write), and puts everything else on its ypipe for
 * the I/O thread (a message that does not fit the road now, or must stream; and all
 * that follows one, until the I/O thread has written it): so its sends never wait for
 * the reader. When the road ends (closed: the connection is gone), the end reads what
 * is left on it and goes back to its ypipes.
 *
 * Sleeping: when the road is empty (or full) the socket end arms it; the I/O thread that
 * watches the connection then sends CMD_PIPE_WAKE when data (or room) arrives.
 *
 * This header is what a transport implements; the pipe end's side of the road (the
 * hand-over state, what was read ahead, deferred wake-up requests) is pipe/road.h.
 *
 * Threads: every op runs in the socket's thread, except release, which either side may
 * call (the road is refcounted).
 */
#ifndef ZINC_PIPE_DIRECT_H
#define ZINC_PIPE_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

struct msg;
struct pipe_direct;

struct pipe_direct_ops {
	/* read: 1 a message part moved into m (which was empty); 0 none now; -1 the road
	 * has ended (closed, and everything on it read; or broken): detach it. */
	int (*read)(struct pipe_direct *d, struct msg *m);
	/* readable: a message (or part of one) is there to read. Loads only: safe to
	 * spin on. */
	bool (*readable)(struct pipe_direct *d);
	/* check_read: whether read would move a part now (it may read ahead what has
	 * come, so that a yes is kept): 1, 0, -1 the road has ended or broken.
	 * Optional (readable stands in for it). */
	int (*check_read)(struct pipe_direct *d);
	/* arm_in: asks for a CMD_PIPE_WAKE when data arrives. 0 armed; 1 data came
	 * meanwhile (not armed: read again). */
	int (*arm_in)(struct pipe_direct *d);
	/* disarm_in: takes an armed request back (while spinning, a wake costs the peer a
	 * system call). */
	void (*disarm_in)(struct pipe_direct *d);
	/* closed: the road has ended (the connection is gone or broken); what was on it
	 * before is still readable. */
	bool (*closed)(struct pipe_direct *d);
	/* hand_state: where the hand-over of the writing side stands: 0 the I/O thread
	 * has not reached the socket end's marker yet; 1 it has (the socket end should
	 * stop writing its ypipe and say so with ypipe_done); 2 it has written
	 * everything the ypipe carried: the socket end writes the road itself. */
	int (*hand_state)(struct pipe_direct *d);
	/* ypipe_done: the socket end writes nothing more to its ypipe. */
	void (*ypipe_done)(struct pipe_direct *d);
	/* write: 0 m's content is on the road and m is empty; -EAGAIN no room for a new
	 * message (m unchanged). With wait, a later part of a message, or a message too
	 * large for the road, never gets -EAGAIN: write waits for room itself, as the
	 * pipe promised room for the whole message when it took the first part. Without
	 * wait (an owner that drops what it cannot deliver: PUB, XPUB, REP, a ROUTER
	 * without ZMQ_ROUTER_MANDATORY), a later part gets -EAGAIN too while none of
	 * its message is visible yet (the owner then rolls it back and drops it); it
	 * waits only once the message is visible in part (one larger than the road,
	 * published as it goes). -EPIPE the road has ended (m unchanged). */
	int (*write)(struct pipe_direct *d, struct msg *m, bool wait);
	/* writable: there is room for a small message. Loads only; the writer's thread
	 * only (it reads the writer's own state). */
	bool (*writable)(struct pipe_direct *d);
	/* room_seen: what writable says, from the indexes both sides publish only, so any
	 * thread may ask while another still writes (a hint: it may be stale). */
	bool (*room_seen)(struct pipe_direct *d);
	/* arm_out / disarm_out: as arm_in / disarm_in, for room. */
	int (*arm_out)(struct pipe_direct *d);
	void (*disarm_out)(struct pipe_direct *d);
	/* flush: makes complete messages visible to the peer (and wakes it). */
	void (*flush)(struct pipe_direct *d);
	/* rollback: drops the parts of an unfinished message not yet visible. */
	void (*rollback)(struct pipe_direct *d);
	/* wait_begin / wait_end: around a blocking wait of the socket's thread on a road
	 * armed for reading, so that the peer's next message wakes that thread itself,
	 * not its I/O thread (which would then send CMD_PIPE_WAKE: one more wake-up).
	 * begin: the fd to poll beside the mailbox; -1 none (the wait goes on as usual);
	 * -2 data came meanwhile (do not wait). end, after every begin that gave an fd
	 * (fired: the poll saw it readable): true when data came. Optional. */
	int (*wait_begin)(struct pipe_direct *d);
	bool (*wait_end)(struct pipe_direct *d, bool fired);
	/* Shared writing (set `shared`): the socket end writes the road itself only while
	 * the I/O thread has nothing of its to write, and otherwise queues on its ypipe,
	 * which the I/O thread empties onto the road in order. So a send never waits
	 * for the reader (a message that does not fit now, or must stream, is queued),
	 * and the pipe's HWM bounds what is queued, as without a road. try_write: 0 m is
	 * on the road (m empty); -EAGAIN not now (the marker not reached yet, queued
	 * messages ahead, no room, or m would stream): queue it, m unchanged. ready: a
	 * small message would go now (loads only). queued: a message is about to start
	 * on the ypipe; unqueued: one that did is taken back before the I/O thread could
	 * see it. */
	int (*try_write)(struct pipe_direct *d, struct msg *m);
	bool (*shared_ready)(struct pipe_direct *d);
	void (*queued)(struct pipe_direct *d);
	void (*unqueued)(struct pipe_direct *d);
	/* release: drops one reference. */
	void (*release)(struct pipe_direct *d);
};

struct pipe_direct {
	const struct pipe_direct_ops *ops;
	uint32_t token; /* names this road in the socket end's marker */
	bool shared;    /* writes are shared (try_write), not handed over; set before
	                 * the road is offered */
};

#endif

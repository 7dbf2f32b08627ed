/*
 * road.h: the socket end's side of a direct road (direct.h): which road the end reads,
 * where the hand-over of its writing side stands, a part read ahead off an ended road,
 * and the wake-up requests left unarmed while its owner spins. The pipe holds one
 * `struct road` from the first road it is offered until it is freed (a message cut off
 * when a road ends is dropped on the next, so the state outlives each road), and calls
 * it whenever one is there; the transport's queue behind it is a `struct pipe_direct`.
 *
 * The road never touches the pipe: it is handed the ypipes it needs (the inq, to see
 * that the session has moved on; the outbound one, for its hand-over marker), the peer
 * end's object for the ACTIVATE_READ it owes, and the owner's switch as `defer`; it
 * answers with codes, and the pipe changes its own state (in_active, out_active) and
 * calls its sink.
 *
 * Threads: everything runs in the pipe end's thread, except road_new (the I/O thread
 * that offers the road) and road_destroy of a marker nobody took (whichever thread
 * closes it).
 */
#ifndef ZINC_PIPE_ROAD_H
#define ZINC_PIPE_ROAD_H

#include <stdbool.h>

#include "core/object.h"
#include "core/ypipe.h"
#include "pipe/direct.h"
#include "pipe/msg.h"

struct road;

/* What road_check_read, road_read and road_check_write answer. */
enum road_answer {
	ROAD_GONE = -1, /* no road (now): the ypipe decides */
	ROAD_NONE = 0,  /* nothing to read (no room) now: the end sleeps until woken */
	ROAD_READY = 1, /* a part can be read (a message written) on the road */
};

/* road_new: state for d, whose reference it takes over on success (the I/O side,
 * before it queues the marker). 0 or -ENOMEM (d is still the caller's). */
int road_new(struct road **out, struct pipe_direct *d);
/* road_abandon: frees a road whose marker could not be queued, giving d back to the
 * caller (its reference is not dropped). */
void road_abandon(struct road *r);
/* road_destroy: drops the road's reference and a part read ahead, and frees r. */
void road_destroy(struct road *r);
/* road_adopt: the pipe end takes the road a marker brought. *slot is the end's state
 * (NULL before its first road): the first becomes it; a later one hands its road over
 * to it (the older road is over by then) and is freed. */
void road_adopt(struct road **slot, struct road *fresh);

/* road_attached: the end has a road now (it may have ended but not been read out). */
bool road_attached(const struct road *r);
/* road_readable: a road is attached and has a part to read. Loads only. */
bool road_readable(const struct road *r);
/* road_probe: road_readable, or a part already read ahead off an ended road. */
bool road_probe(const struct road *r);
/* road_owns_writes: the end's writes are not (only) the ypipe's business: a hand-over
 * is under way or done, or the rest of a cut-off message is being dropped. */
bool road_owns_writes(const struct road *r);
/* road_writes_direct: the end writes the road itself. */
bool road_writes_direct(const struct road *r);
/* road_shares_writes: the end shares the road's writing with the I/O thread (direct.h,
 * try_write): each part goes on the road if it can (road_write_shared), else on the
 * ypipe, announced by road_queue before it is written there and followed by
 * road_queued. */
bool road_shares_writes(const struct road *r);
/* road_write_shared: 0 m went on the road; 1 the ypipe takes it (m unchanged). */
int road_write_shared(struct road *r, struct msg *m);
/* road_queue: true when m is its message's first part on the ypipe (road_unqueue
 * takes that back if the ypipe cannot take it). */
bool road_queue(struct road *r);
void road_unqueue(struct road *r);
void road_queued(struct road *r, bool more);

/* road_check_read: whether a part can be read. READY; NONE (the road is armed, or left
 * unarmed when defer, see road_arm_deferred); GONE: the road ended with nothing left
 * or the session moved on (something is in inq): it is detached, read the inq. */
int road_check_read(struct road *r, struct ypipe *inq, bool defer);
/* road_read: moves the next part into m (empty). READY, NONE or GONE as above. */
int road_read(struct road *r, struct msg *m, struct ypipe *inq, bool defer);

/* road_check_write: whether a message may be written, moving the hand-over along:
 * out is the ypipe this end writes (the marker goes there), out_more whether a
 * message is half-way in it, peer the peer end (told to read with ACTIVATE_READ).
 * READY: write on the road; NONE: the end sleeps (armed, or left unarmed when defer);
 * GONE: the ypipe carries what is written, under its HWM. */
int road_check_write(struct road *r, struct ypipe *out, bool out_more,
                     struct object *peer, bool defer);
/* road_write: after road_check_write said READY. 0: m's content is the road's and m
 * is empty (also when the rest of a cut-off message is dropped). -EAGAIN: no room, the
 * end sleeps; -EBUSY: no room, but room came as it was armed: stay active (m is
 * unchanged either way). -EPIPE: the road ended between messages and is detached:
 * write m to the ypipe. A later part waits for room, unless drops (the owner drops
 * what it cannot deliver, pipe_write_or_drop): then it too may get -EAGAIN, and what
 * was written of its message is taken back. */
int road_write(struct road *r, struct msg *m, bool drops, bool defer);
/* road_rollback: drops the unfinished message on the road; false when the end's
 * writes are the ypipe's (nothing done). */
bool road_rollback(struct road *r);
/* road_flush: publishes what was written on the road. */
void road_flush(struct road *r);

/* road_settle_ended: on a wake-up: if the road ended, reads its next part ahead, or
 * detaches it when nothing is left (true: detached). */
bool road_settle_ended(struct road *r);

/* road_spin_quiet / road_spin_ready / road_arm_deferred: see pipe_spin_quiet,
 * pipe_spin_ready, pipe_arm_deferred; active is the end's in_active (in) or out_active.
 * ready: whether the end should be activated. arm_deferred: a bit per direction that
 * turned ready (ROAD_READY_IN, ROAD_READY_OUT). */
void road_spin_quiet(struct road *r, bool in, bool active);
bool road_spin_ready(struct road *r, bool in, bool active);
enum { ROAD_READY_IN = 1, ROAD_READY_OUT = 2 };
/* road_wait_begin / road_wait_end: pipe_direct_ops.wait_begin / wait_end for an end
 * that waits to read (not active, the road armed); -1 from begin otherwise. */
int road_wait_begin(struct road *r, bool active);
bool road_wait_end(struct road *r, bool fired);
int road_arm_deferred(struct road *r, bool in_active, bool out_active);

#endif

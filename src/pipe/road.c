/*
 * road.c: see road.h and direct.h. Runs in the pipe end's thread (road_new in the I/O
 * thread that offers the road).
 */
#include "pipe/road.h"
#include "platform/alloc.h"
#include "platform/platform.h"

#include <errno.h>
#include <string.h>

/* The longest a writer waits for the I/O thread to finish handing the road over
 * (road_wait_handed): while the ring has room, and once it has none. */
#define ROAD_HAND_WAIT_US 1000000
#define ROAD_HAND_FULL_US 20000

/* Where the end's outbound messages go. */
enum road_out {
	ROAD_OUT_YPIPE,   /* the peer's inq */
	ROAD_OUT_HANDING, /* marker sent; the ypipe still carries what we write */
	ROAD_OUT_WAITING, /* the I/O thread reached the marker: we stopped writing and
	                   * wait for it to write what followed, then the road is ours */
	ROAD_OUT_DIRECT,  /* the road */
	ROAD_OUT_SHARED,  /* shared writing (direct.h): the road when the I/O thread has
	                   * nothing queued, else the ypipe */
};

struct road {
	/* The road this end reads after its inq's marker (and writes once out is
	 * ROAD_OUT_DIRECT); NULL once it ended. A reference is held. */
	struct pipe_direct *d;
	uint8_t out;     /* enum road_out */
	bool mark_sent;  /* this end asked for the road's writing side */
	bool more;       /* the last part written on the road had MORE */
	bool drop;       /* the road ended mid-message: drop the rest of it */
	bool has_ahead;  /* ahead holds the next part, read off an ended road */
	bool unarmed_in; /* left unarmed while the owner spins (road_arm_deferred) */
	bool unarmed_out;
	bool queued; /* shared: the message under way went on the ypipe */
	struct msg ahead;
};

int
road_new(struct road **out, struct pipe_direct *d)
{
	struct road *r = zn_calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->out = ROAD_OUT_YPIPE;
	msg_init(&r->ahead);
	*out = r;
	return 0;
}

void
road_abandon(struct road *r)
{
	zn_free(r);
}

void
road_destroy(struct road *r)
{
	if (r->has_ahead)
		msg_close(&r->ahead);
	if (r->d)
		r->d->ops->release(r->d);
	zn_free(r);
}

/* road_detach: the road has ended: back to the ypipes. A message half-written on it is
 * lost with it: its remaining parts are dropped. */
static void
road_detach(struct road *r)
{
	r->d->ops->release(r->d);
	r->d = NULL;
	if (r->out == ROAD_OUT_SHARED && r->more && !r->queued)
		r->out = ROAD_OUT_DIRECT; /* its first parts went down with the road */
	if (r->out == ROAD_OUT_DIRECT && r->more)
		r->drop = true;
	else
		r->out = ROAD_OUT_YPIPE;
	r->queued = false;
}

void
road_adopt(struct road **slot, struct road *fresh)
{
	struct road *r = *slot;
	if (!r) {
		*slot = fresh;
		return;
	}
	struct pipe_direct *d = fresh->d;
	fresh->d = NULL;
	road_destroy(fresh);
	if (r->d)
		road_detach(r);
	r->d = d;
	r->mark_sent = false;
}

bool
road_attached(const struct road *r)
{
	return r->d != NULL;
}

bool
road_readable(const struct road *r)
{
	return r->d && r->d->ops->readable(r->d);
}

bool
road_probe(const struct road *r)
{
	return r->has_ahead || road_readable(r);
}

bool
road_owns_writes(const struct road *r)
{
	return r->out != ROAD_OUT_YPIPE && r->out != ROAD_OUT_SHARED;
}

bool
road_shares_writes(const struct road *r)
{
	return r->out == ROAD_OUT_SHARED && r->d;
}

bool
road_writes_direct(const struct road *r)
{
	return r->out == ROAD_OUT_DIRECT;
}

/* road_arm_in / road_arm_out: the road is empty (full): ask for a CMD_PIPE_WAKE when
 * that changes, unless the owner is about to spin on it (defer: it then arms when it
 * stops, road_arm_deferred). A request made and taken back at once would cost the peer
 * a system call and our I/O thread a wake-up, each time the road runs dry. true when
 * the road turned ready meanwhile (nothing armed). */
static bool
road_arm_in(struct road *r, bool defer)
{
	if (defer) {
		r->unarmed_in = true;
		return false;
	}
	r->unarmed_in = false;
	return r->d->ops->arm_in(r->d) == 1;
}

static bool
road_arm_out(struct road *r, bool defer)
{
	if (defer) {
		r->unarmed_out = true;
		return false;
	}
	r->unarmed_out = false;
	return r->d->ops->arm_out(r->d) == 1;
}

/* road_settle: for a road that has ended: reads its next part ahead (so that a check
 * for reading is exact, and an incomplete message left on it is dropped now), or
 * detaches it when nothing is left. true when a part is ahead. */
static bool
road_settle(struct road *r)
{
	if (r->has_ahead)
		return true;
	if (r->d->ops->read(r->d, &r->ahead) == 1) {
		r->has_ahead = true;
		return true;
	}
	road_detach(r);
	return false;
}

bool
road_settle_ended(struct road *r)
{
	return r->d->ops->closed(r->d) && !r->more && !road_settle(r);
}

int
road_read(struct road *r, struct msg *m, struct ypipe *inq, bool defer)
{
	struct pipe_direct *d = r->d;
	if (!d)
		return ROAD_GONE;
	if (r->has_ahead) {
		memcpy(m, &r->ahead, sizeof *m);
		msg_init(&r->ahead);
		r->has_ahead = false;
		return ROAD_READY;
	}
	for (;;) {
		int rc = d->ops->read(d, m);
		if (rc == 1)
			return ROAD_READY;
		/* Anything in the inq now (a delimiter, the next road) means the session
		 * has moved on from this connection. */
		if (rc < 0 || ypipe_peek(inq)) {
			road_detach(r);
			return ROAD_GONE;
		}
		if (!road_arm_in(r, defer))
			return ROAD_NONE;
	}
}

int
road_check_read(struct road *r, struct ypipe *inq, bool defer)
{
	struct pipe_direct *d = r->d;
	if (!d)
		return ROAD_GONE;
	if (r->has_ahead)
		return ROAD_READY;
	/* Data that came while arming may be part of a message only: look again, so
	 * that READY always means a read that gets a part. Arming also reports a road
	 * that ended meanwhile (the I/O thread marks it): settled at the top, or the
	 * loop would go round for good. */
	for (;;) {
		if (d->ops->closed(d))
			return road_settle(r) ? ROAD_READY : ROAD_GONE;
		int ready =
		        d->ops->check_read ? d->ops->check_read(d) : d->ops->readable(d);
		if (ready > 0)
			return ROAD_READY;
		if (ready < 0) {
			road_detach(r);
			return ROAD_GONE;
		}
		if (ypipe_peek(inq)) {
			/* The session moved on from this connection: back to the inq. */
			road_detach(r);
			return ROAD_GONE;
		}
		if (!road_arm_in(r, defer))
			return ROAD_NONE;
	}
}

/* road_hand_over: the first time this end may start a message after taking a road, it
 * asks for the road's writing side with a marker behind what it queued (outside the
 * HWM, as the delimiter). Without memory for it, the I/O thread keeps writing. */
static void
road_hand_over(struct road *r, struct ypipe *out, struct object *peer)
{
	r->mark_sent = true;
	struct msg mark;
	msg_init_direct(&mark, NULL);
	mark.routing_id = r->d->token;
	if (ypipe_write(out, &mark, false) < 0)
		return;
	r->out = r->d->shared ? ROAD_OUT_SHARED : ROAD_OUT_HANDING;
	if (!ypipe_flush(out))
		send_simple(peer, CMD_ACTIVATE_READ);
}

/* road_hand_check: between messages while handing over: once the I/O thread has
 * reached our marker, stop writing the ypipe and have it drained. */
static void
road_hand_check(struct road *r, struct object *peer)
{
	struct pipe_direct *d = r->d;
	if (d->ops->hand_state(d) == 0)
		return;
	d->ops->ypipe_done(d);
	r->out = ROAD_OUT_WAITING;
	/* The I/O thread may be idle on an empty ypipe: make it look again. */
	send_simple(peer, CMD_ACTIVATE_READ);
}

/* road_wait_handed: the I/O thread was asked to write what our ypipe still holds and
 * then give us the road (road_hand_check), which takes it one wake-up. Reporting the
 * pipe full meanwhile would make the sockets that drop on a full pipe (PUB, XPUB, REP,
 * a ROUTER) lose what they send to each new connection in that window, so we wait for
 * it here, once per road, yielding the CPU the I/O thread may need. Bounded: up to
 * ROAD_HAND_WAIT_US while the ring has room (the I/O thread has yet to run), and
 * ROAD_HAND_FULL_US once it has none (the I/O thread waits for the peer to read: the
 * pipe is full then, as it would be without the road; CMD_PIPE_WAKE ends that wait).
 * The I/O thread still writes the ring meanwhile, so the room is read from the shared
 * indexes (room_seen), never the writer's own state. true: the road is ours. */
static bool
road_wait_handed(struct pipe_direct *d)
{
	int64_t start = 0;
	while (d->ops->hand_state(d) != 2) {
		if (d->ops->closed(d))
			return false;
		int64_t now = clock_now_us();
		if (start == 0)
			start = now;
		else if (now - start >=
		         (d->ops->room_seen(d) ? ROAD_HAND_WAIT_US : ROAD_HAND_FULL_US))
			return false;
		zn_yield();
	}
	return true;
}

/* road_check_write_direct: road_check_write once the ypipe is done with. */
static int
road_check_write_direct(struct road *r, bool defer)
{
	struct pipe_direct *d = r->d;
	if (r->more || r->drop)
		return ROAD_READY; /* a message under way: write waits for room, or drops
		                    */
	if (d->ops->closed(d)) {
		road_detach(r); /* not under way: back to the ypipe */
		return ROAD_GONE;
	}
	if (r->out == ROAD_OUT_WAITING) {
		if (!road_wait_handed(d))
			return ROAD_NONE; /* CMD_PIPE_WAKE comes when it is */
		r->out = ROAD_OUT_DIRECT;
	}
	if (d->ops->writable(d) || road_arm_out(r, defer))
		return ROAD_READY;
	return ROAD_NONE;
}

/* road_check_write_shared: READY when a message would go on the road now; GONE: the
 * ypipe decides (its HWM), also once the road has ended (between messages). */
static int
road_check_write_shared(struct road *r, bool out_more)
{
	struct pipe_direct *d = r->d;
	if (!d)
		return ROAD_GONE;
	if (!out_more && d->ops->closed(d)) {
		road_detach(r);
		return ROAD_GONE;
	}
	return !r->queued && d->ops->shared_ready(d) ? ROAD_READY : ROAD_GONE;
}

int
road_check_write(struct road *r, struct ypipe *out, bool out_more, struct object *peer,
                 bool defer)
{
	if (r->out == ROAD_OUT_HANDING && !out_more) {
		if (r->d->ops->closed(r->d))
			road_detach(r);
		else
			road_hand_check(r, peer);
	}
	if (r->out == ROAD_OUT_WAITING || r->out == ROAD_OUT_DIRECT)
		return road_check_write_direct(r, defer);
	if (r->out == ROAD_OUT_SHARED)
		return road_check_write_shared(r, out_more);
	if (r->d && !r->mark_sent && !out_more)
		road_hand_over(r, out, peer); /* the ypipe goes on until the I/O thread
		                               * gets there */
	return ROAD_GONE;
}

/* road_write_dropped: a later part found no room and its owner drops what it cannot
 * deliver: the message goes (its parts on the road were never visible), as a pipe
 * full at its first part would have lost it. Room that came as the road was armed is
 * tried again (bounded: each try makes progress, a PAD or the part). 1 to try again;
 * else -EAGAIN or -EBUSY, as for a first part. */
static int
road_write_dropped(struct road *r, bool defer, unsigned *tries)
{
	bool ready = road_arm_out(r, defer);
	if (ready && ++*tries < 4)
		return 1;
	r->d->ops->rollback(r->d);
	r->more = false;
	return ready ? -EBUSY : -EAGAIN;
}

int
road_write(struct road *r, struct msg *m, bool drops, bool defer)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	for (unsigned tries = 0; !r->drop;) {
		struct pipe_direct *d = r->d;
		int rc = d->ops->write(d, m, !drops);
		if (rc == 0) {
			r->more = more;
			return 0;
		}
		if (rc == -EAGAIN && !r->more) /* a first part: nothing was written */
			return road_arm_out(r, defer) ? -EBUSY : -EAGAIN;
		if (rc == -EAGAIN) {
			if ((rc = road_write_dropped(r, defer, &tries)) == 1)
				continue;
			return rc;
		}
		/* The road has ended. */
		if (!r->more) {
			road_detach(r);
			return -EPIPE; /* the ypipe, for the next connection */
		}
		r->drop = true;
		break;
	}
	/* The rest of a message whose first parts went down with the road. */
	msg_close(m);
	msg_init(m);
	r->more = more;
	if (!more) {
		r->drop = false;
		if (!r->d)
			r->out = ROAD_OUT_YPIPE;
	}
	return 0;
}

int
road_write_shared(struct road *r, struct msg *m)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	if (!r->queued && r->d->ops->try_write(r->d, m) == 0) {
		r->more = more;
		return 0;
	}
	return 1;
}

bool
road_queue(struct road *r)
{
	if (r->queued)
		return false;
	r->d->ops->queued(r->d);
	r->queued = true;
	return true;
}

void
road_unqueue(struct road *r)
{
	r->d->ops->unqueued(r->d);
	r->queued = false;
}

void
road_queued(struct road *r, bool more)
{
	r->more = more;
	if (!more)
		r->queued = false;
}

/* road_rollback_shared: the message under way is dropped: the parts it put on the
 * ypipe (which the pipe takes back) no longer hold the road's writing, and those it
 * put on the road before are dropped from it. */
static void
road_rollback_shared(struct road *r)
{
	if (r->queued)
		road_unqueue(r);
	if (r->more)
		r->d->ops->rollback(r->d); /* a no-op while the I/O thread writes */
	r->more = false;
}

bool
road_rollback(struct road *r)
{
	if (r->out == ROAD_OUT_SHARED && r->d) {
		road_rollback_shared(r);
		return false; /* and the ypipe's parts */
	}
	if (r->out != ROAD_OUT_DIRECT)
		return false;
	if (r->d)
		r->d->ops->rollback(r->d);
	r->more = r->drop = false;
	if (!r->d)
		r->out = ROAD_OUT_YPIPE;
	return true;
}

void
road_flush(struct road *r)
{
	if ((r->out == ROAD_OUT_DIRECT || r->out == ROAD_OUT_SHARED) && r->d)
		r->d->ops->flush(r->d);
}

void
road_spin_quiet(struct road *r, bool in, bool active)
{
	struct pipe_direct *d = r->d;
	if (!d || active)
		return;
	/* Taken back now, armed again by road_arm_deferred when the spin ends. */
	if (in) {
		d->ops->disarm_in(d);
		r->unarmed_in = true;
	} else if (r->out == ROAD_OUT_DIRECT) {
		d->ops->disarm_out(d);
		r->unarmed_out = true;
	}
}

bool
road_spin_ready(struct road *r, bool in, bool active)
{
	struct pipe_direct *d = r->d;
	if (!d || active)
		return false;
	if (in)
		return d->ops->readable(d) || d->ops->closed(d);
	if (r->out == ROAD_OUT_DIRECT)
		return d->ops->writable(d) || d->ops->closed(d);
	return r->out == ROAD_OUT_WAITING && d->ops->hand_state(d) == 2;
}

int
road_arm_deferred(struct road *r, bool in_active, bool out_active)
{
	struct pipe_direct *d = r->d;
	int ready = 0;
	if (r->unarmed_in) {
		r->unarmed_in = false;
		if (d && !in_active && d->ops->arm_in(d) == 1)
			ready |= ROAD_READY_IN;
	}
	if (r->unarmed_out) {
		r->unarmed_out = false;
		if (d && !out_active && r->out == ROAD_OUT_DIRECT &&
		    d->ops->arm_out(d) == 1)
			ready |= ROAD_READY_OUT;
	}
	return ready;
}

int
road_wait_begin(struct road *r, bool active)
{
	struct pipe_direct *d = r->d;
	if (!d || active || r->unarmed_in || !d->ops->wait_begin)
		return -1;
	return d->ops->wait_begin(d);
}

bool
road_wait_end(struct road *r, bool fired)
{
	return r->d->ops->wait_end(r->d, fired);
}

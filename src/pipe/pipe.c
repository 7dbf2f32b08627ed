/*
 * pipe.c: see pipe.h.
 */
#include "pipe/pipe.h"
#include "platform/alloc.h"
#include "platform/platform.h"
#include "platform/container.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const struct object_ops pipe_object_ops;

/* pipe_lwm: after how many reads the reader reports progress to the writer: half the
 * HWM, as libzmq 4.3 (whose test_hwm_pubsub counts on it). A batch of HWM - 1024, as
 * once here, left a writer that had sent 9999 of 11024 with room for 1025 more after
 * the reader had read them all: no report had been due yet. */
static int64_t
pipe_lwm(int64_t hwm)
{
	if (hwm <= 0)
		return 0; /* unlimited: the writer never waits, reports are pointless */
	return (hwm + 1) / 2;
}

static int
pipe_new(struct pipe **out, struct object *parent)
{
	struct pipe *p = zn_calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int rc = ypipe_init(&p->inq);
	if (rc < 0) {
		zn_free(p);
		return rc;
	}
	object_init(&p->obj, parent->ctx, parent->tid, &pipe_object_ops);
	p->in_active = true;
	p->out_active = true;
	p->delay = true;
	p->state = PIPE_ACTIVE;
	p->out_boost = -1;
	p->in_boost = -1;
	*out = p;
	return 0;
}

static void
pipe_free(struct pipe *p)
{
	struct ycell cell;
	while (ypipe_read(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	/* Incomplete parts the peer never finished are past the published end. */
	while (ypipe_unwrite(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	ypipe_fini(&p->inq);
	if (p->has_ahead)
		msg_close(&p->ahead);
	if (p->direct)
		p->direct->ops->release(p->direct);
	zn_free(p);
}

int
pipe_pair(struct object *parents[2], struct pipe *p[2], const int64_t hwm[2])
{
	int rc = pipe_new(&p[0], parents[0]);
	if (rc < 0)
		return rc;
	rc = pipe_new(&p[1], parents[1]);
	if (rc < 0) {
		pipe_free(p[0]);
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		p[i]->peer = p[1 - i];
		p[i]->out = &p[1 - i]->inq;
		p[i]->hwm = hwm[i];
		p[i]->lwm = pipe_lwm(hwm[1 - i]); /* batch for what the peer writes */
	}
	return 0;
}

void
pipe_set_sink(struct pipe *p, void *sink, const struct pipe_sink_ops *ops)
{
	p->sink = sink;
	p->sink_ops = ops;
}

void
pipe_set_tid(struct pipe *p, uint32_t tid)
{
	p->obj.tid = tid;
}

void
pipe_set_hwms(struct pipe *p, int64_t out_hwm, int64_t in_hwm)
{
	p->hwm = out_hwm;
	p->lwm = pipe_lwm(in_hwm);
}

void
pipe_set_boosts(struct pipe *p, int64_t out_boost, int64_t in_boost)
{
	p->out_boost = out_boost;
	p->in_boost = in_boost;
}

/* pipe_report_reads: tells the writer how much we read, once a batch (lwm) is
 * complete. Counted from the last report rather than by multiples of lwm, so a batch
 * that changes size (pipe_update_hwms) is still reported. */
static void
pipe_report_reads(struct pipe *p)
{
	if (p->lwm > 0 && p->peer &&
	    p->msgs_read - p->msgs_reported >= (uint64_t)p->lwm) {
		p->msgs_reported = p->msgs_read;
		send_activate_write(&p->peer->obj, p->msgs_read);
	}
}

static void pipe_activate_write(struct pipe *p);

void
pipe_update_hwms(struct pipe *p, int64_t out_hwm, int64_t in_hwm)
{
	pipe_set_hwms(p, out_hwm, in_hwm);
	if (p->state != PIPE_ACTIVE)
		return;
	pipe_report_reads(p);
	bool room =
	        p->hwm <= 0 || (int64_t)(p->msgs_written - p->peers_msgs_read) < p->hwm;
	if (room && p->out && p->out_road == PIPE_OUT_YPIPE)
		pipe_activate_write(p);
}

void
pipe_send_hwms(struct pipe *p, int64_t peer_out_hwm, int64_t peer_in_hwm,
               int64_t peer_out_boost, int64_t peer_in_boost)
{
	if (p->state != PIPE_ACTIVE || !p->peer)
		return; /* the peer may be gone once the termination handshake started */
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = &p->peer->obj;
	cmd.type = CMD_PIPE_HWM;
	cmd.args.pipe_hwm.outhwm = peer_out_hwm;
	cmd.args.pipe_hwm.inhwm = peer_in_hwm;
	cmd.args.pipe_hwm.out_boost = peer_out_boost;
	cmd.args.pipe_hwm.in_boost = peer_in_boost;
	object_send(&cmd);
}

void
pipe_set_peer_rid(struct pipe *p, const void *rid, size_t len)
{
	if (len > sizeof p->peer_rid)
		len = sizeof p->peer_rid;
	if (len)
		memcpy(p->peer_rid, rid, len);
	p->peer_rid_len = (uint8_t)len;
}

static bool
pipe_readable_state(const struct pipe *p)
{
	return p->state == PIPE_ACTIVE || p->state == PIPE_WAITING_FOR_DELIMITER;
}

static void
pipe_send(struct pipe *dest, enum command_type type)
{
	send_simple(&dest->obj, type);
}

/* pipe_stop_writing: no more writes from this end; drop an unfinished message. */
static void
pipe_stop_writing(struct pipe *p)
{
	pipe_rollback(p);
	p->out = NULL;
}

static void
pipe_process_delimiter(struct pipe *p)
{
	if (p->state == PIPE_ACTIVE) {
		p->state = PIPE_DELIMITER_RECEIVED;
	} else if (p->state == PIPE_WAITING_FOR_DELIMITER) {
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
		p->state = PIPE_TERM_ACK_SENT;
	}
}

/* Direct roads (direct.h). */

/* pipe_detach_direct: the road has ended: back to the ypipes. A message half-written on
 * it is lost with it: its remaining parts are dropped. */
static void
pipe_detach_direct(struct pipe *p)
{
	p->direct->ops->release(p->direct);
	p->direct = NULL;
	if (p->out_road == PIPE_OUT_DIRECT && p->direct_more)
		p->direct_drop = true;
	else
		p->out_road = PIPE_OUT_YPIPE;
}

/* pipe_attach_direct: takes the road the marker carries (and its reference). An older
 * road is over by then: its connection ended before this one began. */
static void
pipe_attach_direct(struct pipe *p, struct msg *marker)
{
	struct pipe_direct *d = marker->u.direct;
	marker->u.direct = NULL;
	if (p->direct)
		pipe_detach_direct(p);
	p->direct = d;
	p->direct_mark_sent = false;
}

/* pipe_take_markers: attaches the roads whose markers head the inq (for ends that
 * never read, like PUSH, and for readers woken by CMD_PIPE_WAKE). A road that still
 * has messages to read keeps the next marker waiting behind it. */
static void
pipe_take_markers(struct pipe *p)
{
	const struct msg *next;
	while ((next = ypipe_peek(&p->inq)) && msg_is_direct(next) && next->u.direct) {
		if (p->direct && p->direct->ops->readable(p->direct))
			return;
		struct ycell cell;
		ypipe_read(&p->inq, &cell);
		pipe_attach_direct(p, (struct msg *)(void *)&cell);
	}
}

/* pipe_arm_in / pipe_arm_out: the road is empty (full): ask for a CMD_PIPE_WAKE when
 * that changes, unless the owner is about to spin on it (it then arms when it stops:
 * pipe_arm_deferred). A request made and taken back at once would cost the peer a
 * system call and our I/O thread a wake-up, each time the road runs dry. true when the
 * road turned ready meanwhile (nothing armed). */
static bool
pipe_arm_in(struct pipe *p)
{
	if (p->defer_arm && *p->defer_arm) {
		p->unarmed_in = true;
		return false;
	}
	p->unarmed_in = false;
	return p->direct->ops->arm_in(p->direct) == 1;
}

static bool
pipe_arm_out(struct pipe *p)
{
	if (p->defer_arm && *p->defer_arm) {
		p->unarmed_out = true;
		return false;
	}
	p->unarmed_out = false;
	return p->direct->ops->arm_out(p->direct) == 1;
}

/* pipe_settle_ended: for a road that has ended: reads its next part ahead (so that
 * pipe_check_read is exact, and an incomplete message left on it is dropped now), or
 * detaches it when nothing is left. true when a part is ahead. */
static bool
pipe_settle_ended(struct pipe *p)
{
	if (p->has_ahead)
		return true;
	if (p->direct->ops->read(p->direct, &p->ahead) == 1) {
		p->has_ahead = true;
		return true;
	}
	pipe_detach_direct(p);
	return false;
}

/* pipe_read_direct: 1 a part was read, 0 none now (the end sleeps until
 * CMD_PIPE_WAKE), -1 the road has ended and is detached: read the inq. */
static int
pipe_read_direct(struct pipe *p, struct msg *m)
{
	struct pipe_direct *d = p->direct;
	if (p->has_ahead) {
		memcpy(m, &p->ahead, sizeof *m);
		msg_init(&p->ahead);
		p->has_ahead = false;
		return 1;
	}
	for (;;) {
		int rc = d->ops->read(d, m);
		if (rc == 1)
			return 1;
		/* Anything in the inq now (a delimiter, the next road) means the session
		 * has moved on from this connection. */
		if (rc < 0 || ypipe_peek(&p->inq)) {
			pipe_detach_direct(p);
			return -1;
		}
		if (!pipe_arm_in(p)) {
			p->in_active = false;
			return 0;
		}
	}
}

static bool
pipe_check_read_direct(struct pipe *p)
{
	struct pipe_direct *d = p->direct;
	if (p->has_ahead)
		return true;
	if (d->ops->closed(d)) {
		if (pipe_settle_ended(p))
			return true;
		return pipe_check_read(p); /* detached: the inq again */
	}
	if (d->ops->readable(d))
		return true;
	if (ypipe_peek(&p->inq)) {
		/* The session moved on from this connection: back to the inq. */
		pipe_detach_direct(p);
		return pipe_check_read(p);
	}
	if (pipe_arm_in(p))
		return true; /* data came meanwhile */
	p->in_active = false;
	return false;
}

bool
pipe_check_read(struct pipe *p)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	if (p->direct)
		return pipe_check_read_direct(p);
	const struct msg *next = ypipe_peek(&p->inq);
	if (!next) {
		p->in_active = false;
		return false;
	}
	if (msg_is_delimiter(next)) {
		struct ycell cell;
		ypipe_read(&p->inq, &cell);
		pipe_process_delimiter(p);
		return false;
	}
	if (msg_is_direct(next) && next->u.direct) {
		pipe_take_markers(p);
		return pipe_check_read(p);
	}
	return true;
}

bool
pipe_read(struct pipe *p, struct msg *m)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	if (p->direct) {
		int rc = pipe_read_direct(p, m);
		if (rc >= 0)
			return rc == 1;
	}
	struct ycell cell;
	if (!ypipe_read(&p->inq, &cell)) {
		p->in_active = false;
		return false;
	}
	struct msg *got = (struct msg *)(void *)&cell;
	if (msg_is_delimiter(got)) {
		pipe_process_delimiter(p);
		return false;
	}
	if (msg_is_direct(got) && got->u.direct) {
		pipe_attach_direct(p, got);
		return pipe_read(p, m);
	}
	/* (A marker without a road is a socket end's request for the writing side:
	 * its engine takes it. Markers are outside the HWM count.) */
	if (!(got->flags & MSGF_MORE) && !msg_is_direct(got)) {
		p->msgs_read++;
		pipe_report_reads(p);
	}
	memcpy(m, got, sizeof *m);
	return true;
}

/* pipe_hand_over: the first time this end may start a message after taking a road,
 * it asks for the road's writing side with a marker behind what it queued (outside the
 * HWM, as the delimiter). Without memory for it, the I/O thread keeps writing. */
static void
pipe_hand_over(struct pipe *p)
{
	p->direct_mark_sent = true;
	struct msg mark;
	msg_init_direct(&mark, NULL);
	mark.routing_id = p->direct->token;
	if (ypipe_write(p->out, &mark, false) < 0)
		return;
	p->out_road = PIPE_OUT_HANDING;
	if (!ypipe_flush(p->out))
		pipe_send(p->peer, CMD_ACTIVATE_READ);
}

/* pipe_hand_check: between messages while handing over: once the I/O thread has
 * reached our marker, stop writing the ypipe and have it drained. */
static void
pipe_hand_check(struct pipe *p)
{
	struct pipe_direct *d = p->direct;
	if (d->ops->hand_state(d) == 0)
		return;
	d->ops->ypipe_done(d);
	p->out_road = PIPE_OUT_WAITING;
	/* The I/O thread may be idle on an empty ypipe: make it look again. */
	pipe_send(p->peer, CMD_ACTIVATE_READ);
}

static bool
pipe_check_write_direct(struct pipe *p)
{
	struct pipe_direct *d = p->direct;
	if (p->direct_more || p->direct_drop)
		return true; /* a message under way: write waits for room, or drops */
	if (d->ops->closed(d)) {
		pipe_detach_direct(p); /* not under way: back to the ypipe */
		return pipe_check_write(p);
	}
	if (p->out_road == PIPE_OUT_WAITING) {
		if (d->ops->hand_state(d) != 2) {
			p->out_active = false; /* CMD_PIPE_WAKE comes when it is */
			return false;
		}
		p->out_road = PIPE_OUT_DIRECT;
	}
	if (d->ops->writable(d) || pipe_arm_out(p))
		return true;
	p->out_active = false;
	return false;
}

bool
pipe_check_write(struct pipe *p)
{
	if (!p->out_active || p->state != PIPE_ACTIVE || !p->out)
		return false;
	if (p->out_road == PIPE_OUT_HANDING && !p->out_more) {
		if (p->direct->ops->closed(p->direct))
			pipe_detach_direct(p);
		else
			pipe_hand_check(p);
	}
	if (p->out_road == PIPE_OUT_WAITING || p->out_road == PIPE_OUT_DIRECT)
		return pipe_check_write_direct(p);
	if (p->direct && !p->direct_mark_sent && !p->out_more)
		pipe_hand_over(p); /* the ypipe goes on until the I/O thread gets there */
	if (p->hwm > 0 && (int64_t)(p->msgs_written - p->peers_msgs_read) >= p->hwm) {
		p->out_active = false;
		return false;
	}
	return true;
}

/* pipe_write_direct: see pipe_write. */
static int
pipe_write_direct(struct pipe *p, struct msg *m)
{
	bool more = (m->flags & MSGF_MORE) != 0;
	if (!p->direct_drop) {
		struct pipe_direct *d = p->direct;
		int rc = d->ops->write(d, m);
		if (rc == 0) {
			p->direct_more = more;
			return 0;
		}
		if (rc == -EAGAIN) {
			if (!pipe_arm_out(p))
				p->out_active = false;
			return -EAGAIN; /* a first part: nothing was written */
		}
		/* The road has ended. */
		if (!p->direct_more) {
			pipe_detach_direct(p);
			return pipe_write(p, m); /* the ypipe, for the next connection */
		}
		p->direct_drop = true;
	}
	/* The rest of a message whose first parts went down with the road. */
	msg_close(m);
	msg_init(m);
	p->direct_more = more;
	if (!more) {
		p->direct_drop = false;
		if (!p->direct)
			p->out_road = PIPE_OUT_YPIPE;
	}
	return 0;
}

int
pipe_write(struct pipe *p, struct msg *m)
{
	if (!pipe_check_write(p))
		return -EAGAIN;
	if (p->out_road == PIPE_OUT_DIRECT)
		return pipe_write_direct(p, m);
	bool more = (m->flags & MSGF_MORE) != 0;
	int rc = ypipe_write(p->out, m, more);
	if (rc < 0)
		return rc;
	p->out_more = more;
	if (!more)
		p->msgs_written++;
	msg_init(m);
	return 0;
}

void
pipe_hiccup(struct pipe *p)
{
	if (p->state == PIPE_ACTIVE && p->peer)
		pipe_send(p->peer, CMD_HICCUP);
}

void
pipe_rollback(struct pipe *p)
{
	if (!p->out)
		return;
	if (p->out_road == PIPE_OUT_DIRECT) {
		if (p->direct)
			p->direct->ops->rollback(p->direct);
		p->direct_more = p->direct_drop = false;
		if (!p->direct)
			p->out_road = PIPE_OUT_YPIPE;
		return;
	}
	p->out_more = false;
	struct ycell cell;
	while (ypipe_unwrite(p->out, &cell))
		msg_close((struct msg *)(void *)&cell);
}

void
pipe_flush(struct pipe *p)
{
	if (p->state == PIPE_TERM_ACK_SENT || !p->out)
		return;
	if (p->out_road == PIPE_OUT_DIRECT && p->direct)
		p->direct->ops->flush(p->direct);
	if (!ypipe_flush(p->out))
		pipe_send(p->peer, CMD_ACTIVATE_READ);
}

void
pipe_terminate(struct pipe *p, bool delay)
{
	p->delay = delay;
	switch (p->state) {
	case PIPE_TERM_REQ_SENT1:
	case PIPE_TERM_REQ_SENT2:
	case PIPE_TERM_ACK_SENT: return;
	case PIPE_ACTIVE:
	case PIPE_DELIMITER_RECEIVED:
		pipe_send(p->peer, CMD_PIPE_TERM);
		p->state = PIPE_TERM_REQ_SENT1;
		break;
	case PIPE_WAITING_FOR_DELIMITER:
		if (delay)
			return; /* the owner reads on; the delimiter finishes it */
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
		p->state = PIPE_TERM_ACK_SENT;
		return;
	}
	/* Stop the outbound flow: the delimiter goes behind what is already queued. */
	p->out_active = false;
	if (p->out) {
		pipe_rollback(p);
		struct msg d;
		msg_init_delimiter(&d);
		while (ypipe_write(p->out, &d, false) < 0) {
			/* The delimiter must get through or the peer waits forever; a
			 * chunk is freed as soon as the reader advances. */
			zn_sleep_us(1000);
		}
		pipe_flush(p);
	}
}

int
pipe_offer_direct(struct pipe *p, struct pipe_direct *d)
{
	if (p->state != PIPE_ACTIVE || !p->out)
		return -EPIPE;
	struct msg mark;
	msg_init_direct(&mark, d);
	if (ypipe_write(p->out, &mark, false) < 0)
		return -ENOMEM;
	(void)ypipe_flush(p->out);
	/* Always wake: an end that never reads (PUSH) takes the marker on the wake. */
	pipe_send(p->peer, CMD_PIPE_WAKE);
	return 0;
}

void
pipe_wake_direct(struct pipe *p)
{
	/* Once this end has acknowledged the peer's termination, the peer may be gone. */
	if (p->peer && p->state != PIPE_TERM_ACK_SENT && p->state != PIPE_TERM_REQ_SENT2)
		pipe_send(p->peer, CMD_PIPE_WAKE);
}

static void
pipe_activate_read(struct pipe *p)
{
	if (!p->in_active && pipe_readable_state(p)) {
		p->in_active = true;
		if (p->sink_ops)
			p->sink_ops->read_activated(p->sink, p);
	}
}

static void
pipe_activate_write(struct pipe *p)
{
	if (!p->out_active && p->state == PIPE_ACTIVE) {
		p->out_active = true;
		if (p->sink_ops)
			p->sink_ops->write_activated(p->sink, p);
	}
}

/* pipe_process_wake: the road has data or room, has ended, or a marker came. Both
 * directions are activated: the checks that follow arm the road again if it was a
 * false alarm. */
static void
pipe_process_wake(struct pipe *p)
{
	pipe_take_markers(p);
	struct pipe_direct *d = p->direct;
	if (!d)
		return;
	bool writing = p->out_road != PIPE_OUT_YPIPE;
	if (d->ops->closed(d) && !p->direct_more && !pipe_settle_ended(p)) {
		/* Ended with nothing left to read: its memory went with it. */
		pipe_take_markers(p);
	}
	pipe_activate_read(p);
	if (writing || p->out_road != PIPE_OUT_YPIPE)
		pipe_activate_write(p);
}

void
pipe_spin_quiet(struct pipe *p, bool in)
{
	struct pipe_direct *d = p->direct;
	if (!d)
		return;
	/* Taken back now, armed again by pipe_arm_deferred when the spin ends. */
	if (in && !p->in_active) {
		d->ops->disarm_in(d);
		p->unarmed_in = true;
	} else if (!in && !p->out_active && p->out_road == PIPE_OUT_DIRECT) {
		d->ops->disarm_out(d);
		p->unarmed_out = true;
	}
}

bool
pipe_spin_ready(struct pipe *p, bool in)
{
	struct pipe_direct *d = p->direct;
	if (!d)
		return false;
	if (in) {
		if (p->in_active || !(d->ops->readable(d) || d->ops->closed(d)))
			return false;
		pipe_activate_read(p);
		return p->in_active;
	}
	if (p->out_active)
		return false;
	if (p->out_road == PIPE_OUT_DIRECT
	            ? !(d->ops->writable(d) || d->ops->closed(d))
	            : p->out_road != PIPE_OUT_WAITING || d->ops->hand_state(d) != 2)
		return false;
	pipe_activate_write(p);
	return p->out_active;
}

bool
pipe_arm_deferred(struct pipe *p)
{
	struct pipe_direct *d = p->direct;
	bool ready = false;
	if (p->unarmed_in) {
		p->unarmed_in = false;
		if (d && !p->in_active && d->ops->arm_in(d) == 1) {
			pipe_activate_read(p);
			ready = true;
		}
	}
	if (p->unarmed_out) {
		p->unarmed_out = false;
		if (d && !p->out_active && p->out_road == PIPE_OUT_DIRECT &&
		    d->ops->arm_out(d) == 1) {
			pipe_activate_write(p);
			ready = true;
		}
	}
	return ready;
}

void
pipe_destroy_pair_unused(struct pipe *p)
{
	struct pipe *peer = p->peer;
	pipe_free(p);
	if (peer)
		pipe_free(peer);
}

static void
pipe_process_pipe_term(struct pipe *p)
{
	switch (p->state) {
	case PIPE_ACTIVE:
		if (p->delay) {
			p->state = PIPE_WAITING_FOR_DELIMITER;
			/* The owner may not be reading: tell it, so it reads to the end.
			 */
			if (!p->in_active && p->sink_ops) {
				p->in_active = true;
				p->sink_ops->read_activated(p->sink, p);
			}
			return;
		}
		p->state = PIPE_TERM_ACK_SENT;
		break;
	case PIPE_DELIMITER_RECEIVED: p->state = PIPE_TERM_ACK_SENT; break;
	case PIPE_TERM_REQ_SENT1: p->state = PIPE_TERM_REQ_SENT2; break;
	default: return;
	}
	pipe_stop_writing(p);
	pipe_send(p->peer, CMD_PIPE_TERM_ACK);
}

static void
pipe_process_pipe_term_ack(struct pipe *p)
{
	if (p->sink_ops)
		p->sink_ops->terminated(p->sink, p);
	if (p->state == PIPE_TERM_REQ_SENT1) {
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
	}
	pipe_free(p);
}

static void
pipe_process(struct object *o, const struct command *cmd)
{
	struct pipe *p = container_of(o, struct pipe, obj);
	switch (cmd->type) {
	case CMD_ACTIVATE_READ: pipe_activate_read(p); break;
	case CMD_PIPE_WAKE: pipe_process_wake(p); break;
	case CMD_ACTIVATE_WRITE:
		p->peers_msgs_read = cmd->args.activate_write.msgs_read;
		pipe_activate_write(p);
		break;
	case CMD_HICCUP:
		if (p->state == PIPE_ACTIVE && p->sink_ops && p->sink_ops->hiccuped)
			p->sink_ops->hiccuped(p->sink, p);
		break;
	case CMD_PIPE_TERM: pipe_process_pipe_term(p); break;
	case CMD_PIPE_TERM_ACK: pipe_process_pipe_term_ack(p); break;
	case CMD_PIPE_HWM:
		pipe_set_boosts(p, cmd->args.pipe_hwm.out_boost,
		                cmd->args.pipe_hwm.in_boost);
		pipe_update_hwms(p, cmd->args.pipe_hwm.outhwm, cmd->args.pipe_hwm.inhwm);
		break;
	default: break;
	}
}

static const struct object_ops pipe_object_ops = {.process = pipe_process};

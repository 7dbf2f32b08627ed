/*
 * pipe.c: see pipe.h.
 */
#include "pipe/pipe_impl.h"
#include "pipe/road.h"
#include "pipe/shortcut.h"
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
	/* Every message written to us is ours, published or not: a writer that ended
	 * (an engine that failed mid-batch, then acknowledged our termination) may have
	 * left complete messages it never flushed. The writer has stopped (its
	 * PIPE_TERM_ACK came, or it never existed), so publishing them here is safe. */
	(void)ypipe_flush(&p->inq);
	while (ypipe_read(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	/* Incomplete parts the peer never finished are past the published end. */
	while (ypipe_unwrite(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	ypipe_fini(&p->inq);
	if (p->road)
		road_destroy(p->road);
	pipe_give_back(p);
	if (p->shortcut)
		p->shortcut->ops->release(p->shortcut);
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

/* Large messages are reported once this many bytes of them are read, however few
 * they are, while the writer is ahead (more is queued): a writer that waits for half
 * the HWM (500 MiB of 1 MiB messages) makes its next bodies afresh, the ones the
 * reader freed having gone back to the C library past the body cache's cap,
 * and fresh pages fault on first touch (tcp 1 MiB sender: 170 page faults a message,
 * a third of its CPU). Reported sooner, it makes them from the blocks just freed.
 * Below about 8 KiB a message, lwm comes first. A reader that has caught up says
 * nothing: its writer is not waiting for room, and in a ping-pong of large messages
 * the report was a command, and often a wake-up, for nothing (tcp 1 MiB latency). */
#define PIPE_REPORT_BYTES ((size_t)4 << 20)

/* pipe_report_reads: tells the writer how much we read, once a batch (lwm, or
 * PIPE_REPORT_BYTES) is complete. Counted from the last report rather than by
 * multiples of lwm, so a batch that changes size (pipe_update_hwms) is still
 * reported. */
static void
pipe_report_reads(struct pipe *p)
{
	if (p->lwm > 0 && p->peer &&
	    (p->msgs_read - p->msgs_reported >= (uint64_t)p->lwm ||
	     (p->bytes_unreported >= PIPE_REPORT_BYTES && ypipe_probe(&p->inq)))) {
		p->msgs_reported = p->msgs_read;
		p->bytes_unreported = 0;
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
	if (room && p->out && !(p->road && road_owns_writes(p->road)))
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

/* Direct roads (road.h). */

/* pipe_defers: the owner is about to spin: leave an empty or full road unarmed. */
static inline bool
pipe_defers(const struct pipe *p)
{
	return p->defer_arm && *p->defer_arm;
}

/* pipe_take_markers: adopts the roads whose markers head the inq (for ends that never
 * read, like PUSH, and for readers woken by CMD_PIPE_WAKE). A road that still has
 * messages to read keeps the next marker waiting behind it. */
static void
pipe_take_markers(struct pipe *p)
{
	const struct msg *next;
	while ((next = ypipe_peek(&p->inq)) && msg_is_direct(next) && next->u.road) {
		if (p->road && road_readable(p->road))
			return;
		struct ycell cell;
		ypipe_read(&p->inq, &cell);
		struct msg *marker = (struct msg *)(void *)&cell;
		road_adopt(&p->road, marker->u.road);
	}
}

bool
pipe_check_read(struct pipe *p)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	if (p->shortcut && p->shortcut->ops->readable(p->shortcut))
		return true;
	if (p->road) {
		int rc = road_check_read(p->road, &p->inq, pipe_defers(p));
		if (rc == ROAD_NONE)
			p->in_active = false;
		if (rc != ROAD_GONE)
			return rc == ROAD_READY;
	}
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
	if (msg_is_direct(next) && next->u.road) {
		pipe_take_markers(p);
		return pipe_check_read(p);
	}
	return true;
}

bool
pipe_probe_read(struct pipe *p)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	if (p->shortcut && p->shortcut->ops->readable(p->shortcut))
		return true;
	return (p->road && road_probe(p->road)) || ypipe_probe(&p->inq);
}

bool
pipe_read(struct pipe *p, struct msg *m)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	/* Parts read directly (shortcut.h) are older than anything in the ypipe, and
	 * never counted against the HWM. */
	if (p->shortcut && p->shortcut->ops->read(p->shortcut, m)) {
		p->sc_got = true;
		return true;
	}
	if (p->road) {
		int rc = road_read(p->road, m, &p->inq, pipe_defers(p));
		if (rc == ROAD_NONE)
			p->in_active = false;
		if (rc != ROAD_GONE)
			return rc == ROAD_READY;
	}
	/* Straight into m (empty, so nothing is lost if the cell is not a message). */
	if (!ypipe_read(&p->inq, m)) {
		p->in_active = false;
		return false;
	}
	if (msg_is_delimiter(m)) {
		msg_init(m);
		pipe_process_delimiter(p);
		return false;
	}
	if (msg_is_direct(m) && m->u.road) {
		struct road *r = m->u.road;
		msg_init(m);
		road_adopt(&p->road, r);
		return pipe_read(p, m);
	}
	/* (A marker without a road is a socket end's request for the writing side:
	 * its engine takes it. Markers are outside the HWM count.) */
	p->bytes_unreported += msg_size(m);
	if (!(m->flags & MSGF_MORE) && !msg_is_direct(m)) {
		p->msgs_read++;
		pipe_report_reads(p);
	}
	return true;
}

void
pipe_recheck_read(struct pipe *p)
{
	if (pipe_readable_state(p))
		p->in_active = true; /* the ACTIVATE_READ on its way then finds it so */
}

/* pipe_hwm_full: the ypipe's HWM is reached (what the peer has read, as last told). */
static bool
pipe_hwm_full(const struct pipe *p)
{
	return p->hwm > 0 && (int64_t)(p->msgs_written - p->peers_msgs_read) >= p->hwm;
}

bool
pipe_check_write(struct pipe *p)
{
	if (!p->out_active || p->state != PIPE_ACTIVE || !p->out)
		return false;
	if (p->road) {
		int rc = road_check_write(p->road, p->out, p->out_more, &p->peer->obj,
		                          pipe_defers(p));
		if (rc == ROAD_NONE)
			p->out_active = false;
		if (rc != ROAD_GONE)
			return rc == ROAD_READY;
	}
	if (pipe_hwm_full(p)) {
		p->out_active = false;
		return false;
	}
	return true;
}

/* pipe_write_shared: a road whose writing is shared (direct.h): m on the road if it
 * can go now (unless the road already refused it: tried); else on the ypipe (a first
 * part under its HWM), after telling the road. 1: the ypipe's write follows; 2: the
 * same, and it is the message's first part there (taken back from the road if the
 * write fails). */
static int
pipe_write_shared(struct pipe *p, struct msg *m, bool tried)
{
	if (!tried && road_write_shared(p->road, m) == 0)
		return 0;
	if (!p->out_more && pipe_hwm_full(p)) {
		p->out_active = false;
		return -EAGAIN;
	}
	return road_queue(p->road) ? 2 : 1;
}

static int pipe_write_to(struct pipe *p, struct msg *m, bool drops);

/* pipe_write_direct: m on a road this end writes alone. */
static int
pipe_write_direct(struct pipe *p, struct msg *m, bool drops)
{
	int rc = road_write(p->road, m, drops, pipe_defers(p));
	if (rc == -EAGAIN)
		p->out_active = false;
	if (rc == -EPIPE) /* the road ended: the ypipe, for the next connection */
		return pipe_write_to(p, m, drops);
	return rc == -EBUSY ? -EAGAIN : rc;
}

/* pipe_write_road_first: a road's own write checks everything that matters (whose
 * turn it is, an end, the room, and it arms the road when full), so a part goes to it
 * without pipe_check_write first, which asks the road the same through more indirect
 * calls (shm:// REQ/REP: 170 instructions a part). 1: not taken, the long way decides
 * (it also notices an ended road), and *tried says a shared road refused m already;
 * else what the write returned. */
static int
pipe_write_road_first(struct pipe *p, struct msg *m, bool drops, bool *tried)
{
	if (!p->road || !p->out_active || p->state != PIPE_ACTIVE || !p->out)
		return 1;
	if (road_writes_direct(p->road))
		return pipe_write_direct(p, m, drops);
	if (!road_shares_writes(p->road))
		return 1;
	*tried = true;
	return road_write_shared(p->road, m) == 0 ? 0 : 1;
}

static int
pipe_write_to(struct pipe *p, struct msg *m, bool drops)
{
	bool tried = false;
	int rc = pipe_write_road_first(p, m, drops, &tried);
	if (rc <= 0)
		return rc;
	if (!pipe_check_write(p))
		return -EAGAIN;
	bool shared = p->road && road_shares_writes(p->road), first_queued = false;
	if (shared) {
		rc = pipe_write_shared(p, m, tried);
		if (rc <= 0)
			return rc;
		first_queued = rc == 2;
	}
	if (p->road && road_writes_direct(p->road))
		return pipe_write_direct(p, m, drops);
	bool more = (m->flags & MSGF_MORE) != 0;
	rc = ypipe_write(p->out, m, more);
	if (rc < 0) {
		if (first_queued)
			road_unqueue(p->road);
		return rc;
	}
	if (shared)
		road_queued(p->road, more);
	p->out_more = more;
	if (!more)
		p->msgs_written++;
	msg_init(m);
	return 0;
}

int
pipe_write(struct pipe *p, struct msg *m)
{
	return pipe_write_to(p, m, false);
}

int
pipe_write_or_drop(struct pipe *p, struct msg *m)
{
	return pipe_write_to(p, m, true);
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
	if (p->road && road_rollback(p->road))
		return;
	p->out_more = false;
	struct ycell cell;
	while (ypipe_unwrite(p->out, &cell))
		msg_close((struct msg *)(void *)&cell);
}

void
pipe_flush(struct pipe *p)
{
	pipe_flush_queued(p, false);
}

void
pipe_flush_queued(struct pipe *p, bool queued)
{
	if (p->state == PIPE_TERM_ACK_SENT || !p->out)
		return;
	if (p->road) {
		road_flush(p->road);
	} else if (p->shortcut) {
		bool replying = p->sc_got;
		p->sc_sent = true;
		p->sc_got = false; /* answered, directly or by the I/O thread */
		if (!queued && pipe_flush_shortcut(p, replying))
			return;
	}
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

void
pipe_terminate_nomem(struct pipe *p)
{
	/* The peer lives until it has our PIPE_TERM and answered it: while we are
	 * active it has not, and it reads the mark only after that command. */
	if (p->state == PIPE_ACTIVE && p->peer)
		p->peer->ended_nomem = true;
	pipe_terminate(p, false);
}

int
pipe_offer_direct(struct pipe *p, struct pipe_direct *d)
{
	if (p->state != PIPE_ACTIVE || !p->out)
		return -EPIPE;
	struct road *r;
	if (road_new(&r, d) < 0)
		return -ENOMEM;
	struct msg mark;
	msg_init_direct(&mark, r);
	if (ypipe_write(p->out, &mark, false) < 0) {
		road_abandon(r);
		return -ENOMEM;
	}
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

void
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
	if (!pipe_has_direct(p))
		return;
	bool writing = road_owns_writes(p->road);
	if (road_settle_ended(p->road)) {
		/* Ended with nothing left to read: its memory went with it. */
		pipe_take_markers(p);
	}
	pipe_activate_read(p);
	if (writing || road_owns_writes(p->road))
		pipe_activate_write(p);
}

bool
pipe_has_direct(const struct pipe *p)
{
	return p->road && road_attached(p->road);
}

bool
pipe_writes_direct(const struct pipe *p)
{
	return p->road && road_writes_direct(p->road);
}

void
pipe_spin_quiet(struct pipe *p, bool in)
{
	if (p->road)
		road_spin_quiet(p->road, in, in ? p->in_active : p->out_active);
}

bool
pipe_spin_ready(struct pipe *p, bool in)
{
	if (!p->road || !road_spin_ready(p->road, in, in ? p->in_active : p->out_active))
		return false;
	/* true once the sink has heard: one that reads the pipe at once (an XPUB takes
	 * subscriptions as they come) may have left it inactive, with news for its own
	 * queue. */
	if (in) {
		pipe_activate_read(p);
		return p->in_active || pipe_readable_state(p);
	}
	pipe_activate_write(p);
	return p->out_active || p->state == PIPE_ACTIVE;
}

int
pipe_wait_begin(struct pipe *p)
{
	if (!p->road)
		return p->shortcut ? pipe_shortcut_wait_begin(p) : -1;
	int fd = road_wait_begin(p->road, p->in_active);
	if (fd == -2 && !pipe_spin_ready(p, true))
		return -1; /* nothing to read after all: wait for the I/O thread's word */
	return fd;
}

bool
pipe_wait_end(struct pipe *p, bool fired)
{
	if (p->sc_waiting)
		return pipe_shortcut_wait_end(p, fired);
	if (!road_wait_end(p->road, fired))
		return false;
	return pipe_spin_ready(p, true);
}

bool
pipe_arm_deferred(struct pipe *p)
{
	if (!p->road)
		return false;
	int ready = road_arm_deferred(p->road, p->in_active, p->out_active);
	if (ready & ROAD_READY_IN)
		pipe_activate_read(p);
	if (ready & ROAD_READY_OUT)
		pipe_activate_write(p);
	return ready != 0;
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
			/* Tell the owner even when it reads this pipe already: it may not
			 * be reading (then it reads to the end), and a scheduler reads an
			 * ended pipe before the others (fq.h). */
			p->in_active = true;
			if (p->sink_ops)
				p->sink_ops->read_activated(p->sink, p);
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
	case CMD_PIPE_SHORTCUT: pipe_adopt_shortcut(p, cmd->args.shortcut.sc); break;
	case CMD_PIPE_KEPT:
		if (p->sink_ops && p->sink_ops->reading_kept)
			p->sink_ops->reading_kept(p->sink, p);
		break;
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

/*
 * shm_link.c: see shm_link.h. The pipe_direct ops run in the socket's thread.
 * Zero-copy (the loans, and the link's writes and reads that make them) is in
 * shm_loan.c.
 */
#include "proto/shm_link.h"

#include <errno.h>

#include "platform/alloc.h"
#include "platform/container.h"
#include "platform/net.h"
#include "platform/platform.h"
#include "platform/shm.h"
#include "proto/shm_loan.h"

/* Room worth waking up for: a small message's record. */
#define LINK_ROOM_MIN (SHM_REC_HDR + 64)

static const struct pipe_direct_ops link_ops;
static void link_drop_parts(struct shm_link *l);

int
shm_link_new(struct shm_link **out)
{
	struct shm_link *l = zn_calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->direct.ops = &link_ops;
	atomic_init(&l->refs, 1);
	atomic_init(&l->pending, 0);
	l->region.fd = -1;
	l->mine.fd = l->peer.fd = -1;
	l->mine_app.fd = l->peer_app.fd = -1;
	l->peer_pidfd = -1;
	atomic_init(&l->peer_pool, NULL);
	zn_mutex_init(&l->loan_lock);
	zn_mutex_init(&l->rel_lock);
	*out = l;
	return 0;
}

void
shm_link_wake_peer(struct shm_link *l, int wake)
{
	if (wake & SHM_WAKE_APP) {
		if (l->peer_app.fd >= 0)
			signaler_raise(&l->peer_app);
		else
			wake |= SHM_WAKE_ENGINE; /* a flag we never asked for: the usual
			                            fd */
	}
	if (wake & SHM_WAKE_ENGINE)
		signaler_raise(&l->peer);
}

void
shm_link_waker(void *arg, int wake)
{
	shm_link_wake_peer(arg, wake);
}

void
shm_link_hold(struct shm_link *l)
{
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

/* shm_link_free: the last reference and no body lent any more (or none that can come
 * back). */
void
shm_link_free(struct shm_link *l)
{
	shm_loan_borrows_unread(l);
	link_drop_parts(l);
	zn_free(l->parts);
	shm_loan_fini(l);
	if (l->pool)
		shm_pool_rele(l->pool);
	const uint8_t *pp = atomic_load_explicit(&l->peer_pool, memory_order_relaxed);
	if (pp)
		zn_shm_unmap((void *)(uintptr_t)pp, l->peer_pool_size);
	if (l->peer_pidfd >= 0)
		zn_close_fd(l->peer_pidfd);
	if (l->region.base)
		shm_ring_reader_fini(&l->r);
	shm_ring_region_fini(&l->region);
	signaler_fini(&l->mine);
	signaler_fini(&l->peer);
	signaler_fini(&l->mine_app);
	signaler_fini(&l->peer_app);
	if (l->meta) {
		metadata_batch_end(&l->meta_batch); /* before our own reference goes */
		metadata_rele(l->meta);
	}
	zn_mutex_fini(&l->loan_lock);
	zn_mutex_fini(&l->rel_lock);
	zn_free(l);
}

void
shm_link_rele(struct shm_link *l)
{
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (shm_loan_become_zombie(l))
		return; /* bodies are still lent: kept until they come back */
	shm_link_free(l);
}

void
shm_link_close(struct shm_link *l)
{
	atomic_store_explicit(&l->closed, true, memory_order_release);
}

static struct shm_link *
link_of(struct pipe_direct *d)
{
	return container_of(d, struct shm_link, direct);
}

/* link_break: the peer broke the protocol (or a message could not be allocated): the
 * road ends here, and the engine, woken through our own eventfd, closes the
 * connection with the monitor event. */
static int
link_break(struct shm_link *l)
{
	atomic_store_explicit(&l->broken, true, memory_order_release);
	signaler_raise(&l->mine);
	return -1;
}

static bool
link_over(struct shm_link *l)
{
	return atomic_load_explicit(&l->closed, memory_order_acquire) ||
	       atomic_load_explicit(&l->broken, memory_order_relaxed);
}

static void
link_release_space(struct shm_link *l)
{
	if (shm_ring_release(&l->r) == 1)
		signaler_raise(&l->peer);
}

/* link_read_once: 1 a data message, 0 none, -1 broken. A ZMTP command has no business
 * on a road: no heartbeats run over the rings, and subscriptions cross them in their
 * message form (first byte 1 or 0), which the rings carrier never turns into
 * SUBSCRIBE / CANCEL, so a SUB's road and the engine write the same records. */
static int
link_read_once(struct shm_link *l, struct msg *m)
{
	int rc = shm_link_read(l, m);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return link_break(l);
	if (msg_flags(m) & MSGF_COMMAND) {
		msg_close(m);
		msg_init(m);
		return link_break(l);
	}
	/* One atomic add per batch of messages, not per message, as in engine_deliver.
	 * meta is set before the road is offered and stays (NULL: nothing attached). */
	l->meta_batch.md = l->meta;
	metadata_batch_attach(&l->meta_batch, m);
	return 1;
}

/* link_take: the next part of the message read whole. 1. */
static int
link_take(struct shm_link *l, struct msg *m)
{
	memcpy(m, &l->parts[l->parts_given++], sizeof *m);
	if (l->parts_given == l->nparts) {
		l->nparts = l->parts_given = 0;
		l->parts_whole = false;
	}
	return 1;
}

/* link_keep: holds a part of the message being read. 0 or -ENOMEM. */
static int
link_keep(struct shm_link *l, struct msg *part)
{
	if (l->nparts == l->parts_cap) {
		uint32_t cap = l->parts_cap ? l->parts_cap * 2 : 4;
		struct msg *p =
		        cap < l->parts_cap ? NULL : zn_realloc(l->parts, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		l->parts = p;
		l->parts_cap = cap;
	}
	memcpy(&l->parts[l->nparts++], part, sizeof *part);
	return 0;
}

static void
link_drop_parts(struct shm_link *l)
{
	for (uint32_t i = l->parts_given; i < l->nparts; i++)
		msg_close(&l->parts[i]);
	l->nparts = l->parts_given = 0;
	l->parts_whole = false;
}

/* link_assemble: reads parts into l->parts until their message is whole: 1 it is, 0
 * not yet (what came of it is kept), -1 broken. For m NULL; else a single part, the
 * usual case, goes straight into m and is never kept. */
static int
link_assemble(struct shm_link *l, struct msg *m)
{
	while (!l->parts_whole) {
		/* A message's first part is read straight into m: copied there from a
		 * part just built on the stack, its 16-byte loads waited for the
		 * narrower stores that built it (a store-forwarding stall: three
		 * quarters of this function's samples at 64 B over shm://). */
		struct msg part;
		struct msg *into = m && l->nparts == 0 ? m : &part;
		msg_init(into);
		int rc = link_read_once(l, into);
		if (rc <= 0) {
			if (rc < 0 && into == m)
				msg_init(m); /* a failed read may have left flags */
			return rc;
		}
		bool more = (msg_flags(into) & MSGF_MORE) != 0;
		if (into == m && !more)
			return 1;
		if (link_keep(l, into) < 0) {
			msg_close(into);
			msg_init(into);
			return link_break(l);
		}
		if (into == m)
			msg_init(m); /* moved into parts */
		l->parts_whole = !more;
	}
	if (m)
		link_take(l, m);
	return 1;
}

/* link_read_msg: the next part, once its whole message is in: 1, 0 not yet, -1
 * broken. */
static int
link_read_msg(struct shm_link *l, struct msg *m)
{
	if (l->parts_whole)
		return link_take(l, m);
	return link_assemble(l, m);
}

/* ---- The direct road --------------------------------------------------------------- */

/* link_unarm_in: takes back our request to be woken for data, if one is out. */
static void
link_unarm_in(struct shm_link *l)
{
	if (l->in_armed) {
		shm_ring_end_sleep(&l->r);
		l->in_armed = false;
	}
}

static int
link_read(struct pipe_direct *d, struct msg *m)
{
	struct shm_link *l = link_of(d);
	if (atomic_load_explicit(&l->broken, memory_order_relaxed)) {
		link_drop_parts(l);
		return -1;
	}
	link_unarm_in(l);
	/* Space goes back to the writer when we run dry (and every ring/8 bytes within a
	 * long run, in the ring code): not per message, so a writer that outruns us
	 * resumes by large steps instead of record by record. A reader that stops
	 * calling leaves at most ring/8 unreturned, and a writer never needs more than
	 * half the ring free (larger messages stream, as do all over SHM_STREAM_MIN). */
	int rc = link_read_msg(l, m);
	if (rc == 1)
		return 1;
	if (rc < 0) {
		link_drop_parts(l);
		return -1;
	}
	link_release_space(l);
	if (!atomic_load_explicit(&l->closed, memory_order_acquire))
		return 0;
	/* Closed: what the peer published before it went is visible now; a message it
	 * left unfinished is dropped. */
	rc = link_read_msg(l, m);
	link_release_space(l);
	if (rc == 1)
		return 1;
	link_drop_parts(l);
	return -1;
}

/* link_check_read: whether link_read would give a part now. A part in the ring is not
 * enough (a multipart message is given whole, and a part larger than half the ring or
 * than SHM_STREAM_MIN streams in as it is written), so what is there is read ahead:
 * ZMQ_POLLIN must promise a message that a ZMQ_DONTWAIT receive then gets. */
static int
link_check_read(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (atomic_load_explicit(&l->broken, memory_order_relaxed))
		return -1;
	if (l->parts_whole)
		return 1;
	if (!shm_ring_readable(&l->r))
		return 0;
	link_unarm_in(l);
	int rc = link_assemble(l, NULL);
	if (rc == 0)
		link_release_space(l);
	return rc;
}

static bool
link_readable(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	return !atomic_load_explicit(&l->broken, memory_order_relaxed) &&
	       (l->parts_whole || shm_ring_readable(&l->r));
}

static bool
link_closed(struct pipe_direct *d)
{
	return link_over(link_of(d));
}

static int
link_arm_in(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (link_over(l) || l->parts_whole)
		return 1;
	int rc = shm_ring_prepare_sleep(&l->r);
	if (rc < 0) {
		link_break(l);
		return 1;
	}
	if (rc == 1)
		return 1;
	l->in_armed = true;
	return 0;
}

static void
link_disarm_in(struct pipe_direct *d)
{
	link_unarm_in(link_of(d));
}

/* link_wait_begin / link_wait_end: the socket's thread blocks on our second eventfd
 * while the road is armed for reading, so the peer's next message wakes it directly
 * (pipe_direct_ops). Only this thread drains that fd. */
static int
link_wait_begin(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (l->mine_app.fd < 0 || !l->in_armed || link_over(l))
		return -1;
	if (shm_ring_sleep_app(&l->r) != 0) {
		/* The writer took the sleep (data came), and raises the I/O thread's fd:
		 * that sleep is over; the next read arms afresh. */
		l->in_armed = false;
		return -2;
	}
	return l->mine_app.fd;
}

static bool
link_wait_end(struct pipe_direct *d, bool fired)
{
	struct shm_link *l = link_of(d);
	bool came = shm_ring_sleep_app_end(&l->r) != 0;
	/* A signal that comes after this drain wakes the next wait once, for nothing. */
	if (came || fired)
		signaler_drain(&l->mine_app);
	if (!came)
		return false;
	/* The writer took our sleep: for data, or for data we had read before we slept
	 * (its index and its look at the flag are two steps, and we may read between
	 * them). Then nothing else will wake us: sleep again. */
	if (link_readable(d))
		return true;
	l->in_armed = false;
	return link_arm_in(d) == 1;
}

static int
link_hand_state(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (atomic_load_explicit(&l->handed, memory_order_acquire))
		return 2;
	return atomic_load_explicit(&l->at_marker, memory_order_acquire) ? 1 : 0;
}

static void
link_ypipe_done(struct pipe_direct *d)
{
	atomic_store_explicit(&link_of(d)->ypipe_done, true, memory_order_release);
}

/* link_wait_room: a message is half-way in and must be finished: the reader frees
 * room as it goes (or the link ends). Yield first; then short sleeps, as nothing here
 * can wait on the eventfd (the engine owns it). */
static void
link_wait_room(unsigned *round)
{
	if (++*round < 64) {
		zn_yield();
		return;
	}
	zn_sleep_us(20);
}

/* link_room_for: whether a new message of len bytes, too large to go in whole, fits
 * the ring now, so that streaming it does not wait for the reader (the slack covers a PAD
 * at the wrap and the fragment headers of a streaming message); one larger than the ring
 * needs it empty, and then waits as it streams: nothing else can be done with it. */
static bool
link_room_for(struct shm_link *l, size_t len)
{
	uint64_t body = ((uint64_t)len + 7) & ~(uint64_t)7;
	uint64_t need = SHM_REC_HDR + body + body / 16 + 4096;
	if (need > l->w.size)
		need = l->w.size;
	if (shm_ring_writable(&l->w, need))
		return true;
	shm_ring_writer_want(&l->w, need); /* what an armed writer waits for */
	return false;
}

/* link_room_later: link_room_for for a later part of a message whose owner drops
 * rather than waits: it goes beside the parts held back, so no slack beyond its
 * fragment headers and a PAD at the wrap (at most a sixteenth of the ring). One too
 * large for that needs the ring empty, and may wait as it streams. */
static bool
link_room_later(struct shm_link *l, size_t len)
{
	uint64_t body = ((uint64_t)len + 7) & ~(uint64_t)7;
	uint64_t need = SHM_REC_HDR + 8 + body + body / 16 + l->w.size / 16 + 64;
	if (need > l->w.size)
		return link_room_for(l, len);
	if (shm_ring_writable(&l->w, need))
		return true;
	shm_ring_writer_want(&l->w, need);
	return false;
}

/* link_note_part: after a part went in (or part of it): whether the reader may see
 * some of the message already. A first part's message is held back from where its
 * record starts (after its PAD), unless it streamed (then the boundary is past it); a
 * later part that streams is visible as it goes, and the ring makes the parts held back
 * visible when it runs out of room for them all (a message larger than the ring): the
 * boundary moves. Only a message the reader has seen none of can be taken back. */
static void
link_note_part(struct shm_link *l, bool later)
{
	if (!later) {
		l->msg_held = l->w.boundary;
		l->msg_shown = l->w.boundary == l->w.wr;
		return;
	}
	l->msg_shown = l->msg_shown || l->w.boundary != l->msg_held ||
	               shm_ring_writer_streaming(&l->w);
}

static int
link_write(struct pipe_direct *d, struct msg *m, bool wait)
{
	struct shm_link *l = link_of(d);
	if (l->out_armed) {
		shm_ring_writer_end_sleep(&l->w);
		l->out_armed = false;
	}
	bool under_way = l->w.in_multi || shm_ring_writer_streaming(&l->w);
	bool streams =
	        msg_size(m) + SHM_REC_HDR > l->w.plain_max && !shm_loan_eligible(l, m);
	if (streams && !under_way && !link_room_for(l, msg_size(m)))
		return -EAGAIN; /* it would stream: start it only where it fits */
	if (streams && under_way && !wait && !link_room_later(l, msg_size(m)))
		return -EAGAIN; /* nothing of this part went in */
	for (unsigned round = 0;;) {
		if (link_over(l))
			return -EPIPE;
		int rc = shm_link_write(l, m);
		if (rc == 0) {
			link_note_part(l, under_way);
			return 0;
		}
		if (rc != -EAGAIN) {
			link_break(l);
			return -EPIPE;
		}
		link_note_part(l, true);
		bool hidden = !l->msg_shown;
		shm_link_wake_peer(l, shm_ring_publish(&l->w));
		if (!under_way && !shm_ring_writer_streaming(&l->w))
			return -EAGAIN; /* nothing of m went in */
		if (!wait && hidden)
			return -EAGAIN; /* the reader has seen none of it: it can go */
		link_wait_room(&round);
	}
}

static bool
link_writable(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	return shm_ring_writable(&l->w, LINK_ROOM_MIN);
}

static bool
link_room_seen(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	return shm_ring_room_seen(&l->w, LINK_ROOM_MIN);
}

static int
link_arm_out(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (link_over(l))
		return 1;
	shm_link_wake_peer(l, shm_ring_publish(&l->w));
	int rc = shm_ring_writer_prepare_sleep(&l->w);
	if (rc < 0) {
		link_break(l);
		return 1;
	}
	if (rc == 1)
		return 1;
	l->out_armed = true;
	return 0;
}

static void
link_disarm_out(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (l->out_armed) {
		shm_ring_writer_end_sleep(&l->w);
		l->out_armed = false;
	}
}

/* link_app_writes: (shared writing) the socket's thread may use the ring's writer: the
 * engine has reached its marker and has none of its messages left to write. */
static bool
link_app_writes(struct shm_link *l)
{
	return atomic_load_explicit(&l->pending, memory_order_acquire) == 0 &&
	       atomic_load_explicit(&l->at_marker, memory_order_acquire);
}

static void
link_flush(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (d->shared) {
		/* Only what we wrote; once a message went on the ypipe, the engine
		 * publishes (it writes that message's end). */
		if (!l->app_dirty)
			return;
		l->app_dirty = false;
		if (!link_app_writes(l))
			return;
	}
	shm_link_wake_peer(l, shm_ring_publish(&l->w));
}

static void
link_rollback(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	if (d->shared && !link_app_writes(l))
		return; /* nothing of ours is unfinished in the ring: the engine writes */
	shm_link_rollback(l);
}

/* link_try_write: shared writing's write (pipe/direct.h). A part that would stream,
 * or that finds no room, goes on the ypipe, and the engine waits for the reader. */
static int
link_try_write(struct pipe_direct *d, struct msg *m)
{
	struct shm_link *l = link_of(d);
	if (!link_app_writes(l) || link_over(l))
		return -EAGAIN;
	if (msg_size(m) + SHM_REC_HDR > l->w.plain_max && !shm_loan_eligible(l, m))
		return -EAGAIN;
	int rc = shm_link_write(l, m);
	if (rc == 0) {
		l->app_dirty = true;
		return 0;
	}
	if (rc != -EAGAIN)
		link_break(l); /* the engine closes the connection; m goes on the ypipe */
	return -EAGAIN;
}

static bool
link_shared_ready(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	return link_app_writes(l) && !link_over(l) &&
	       shm_ring_writable(&l->w, LINK_ROOM_MIN);
}

static void
link_queued(struct pipe_direct *d)
{
	/* Release: what we wrote into the ring before is the engine's to go on with. */
	atomic_fetch_add_explicit(&link_of(d)->pending, 1, memory_order_release);
}

static void
link_unqueued(struct pipe_direct *d)
{
	struct shm_link *l = link_of(d);
	/* Back to 0: the writer is ours again, and what the engine wrote last may be
	 * unpublished (it publishes when it takes pending to 0, not when we do). */
	if (atomic_fetch_sub_explicit(&l->pending, 1, memory_order_acq_rel) == 1 &&
	    atomic_load_explicit(&l->at_marker, memory_order_acquire))
		shm_link_wake_peer(l, shm_ring_publish(&l->w));
}

static void
link_release(struct pipe_direct *d)
{
	shm_link_rele(link_of(d));
}

static const struct pipe_direct_ops link_ops = {
        .read = link_read,
        .readable = link_readable,
        .check_read = link_check_read,
        .closed = link_closed,
        .arm_in = link_arm_in,
        .wait_begin = link_wait_begin,
        .wait_end = link_wait_end,
        .disarm_in = link_disarm_in,
        .hand_state = link_hand_state,
        .ypipe_done = link_ypipe_done,
        .write = link_write,
        .writable = link_writable,
        .room_seen = link_room_seen,
        .arm_out = link_arm_out,
        .disarm_out = link_disarm_out,
        .flush = link_flush,
        .rollback = link_rollback,
        .try_write = link_try_write,
        .shared_ready = link_shared_ready,
        .queued = link_queued,
        .unqueued = link_unqueued,
        .release = link_release,
};

/*
 * engine_shortcut.c: a stream engine's writing lent to the socket's thread (see
 * pipe/shortcut.h for why and for the order it keeps). The engine makes one when its
 * handshake is over, if its messages go out as they are (no CURVE box; a SUB's
 * subscriptions are turned into commands here as the engine would), and offers it to
 * the socket's pipe end. Even the order in which peers learn things depends on it: a
 * SUB's subscription that went through two I/O threads while a message that races it
 * took the shortcut lost that race half the time (pyzmq's test_monqueue test_prefix).
 *
 * Who writes the fd: the engine, except while `idle` is set, which the engine sets when
 * it has written everything and its reader sleeps on the pipe, and clears (under the
 * lock) before it writes again. The socket's thread writes only under the lock with
 * `idle` set; when the kernel takes only part, it keeps the rest here, clears `idle`
 * and wakes the engine, which writes the rest before anything else. `dead` is set
 * under the lock before the engine closes the fd, so a late write never reaches a
 * descriptor that has been reused.
 *
 * Threads: the engine's I/O thread and the socket's thread, as marked.
 */
#include "proto/engine_impl.h"
#include "proto/session.h"
#include "core/socket_type.h"
#include "pipe/pipe.h"
#include "pipe/shortcut.h"
#include "platform/alloc.h"
#include "platform/platform.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>

#define SHORTCUT_BYTES ENGINE_SHORTCUT_BYTES
/* A direct write is a system call in the sender's thread. Back to back, the first
 * message of a burst goes directly and the rest wake the engine, which writes them in
 * batches: a sender that finds the engine idle again within this many microseconds is
 * streaming, and its messages go by the ypipe (see ARCHITECTURE.md, "Issue 12, ninth
 * round"), unless it answers a message it read directly: a ping-pong with round trips
 * shorter than this (1 in 4 on this VM over ipc) is not a burst. */
#define SHORTCUT_GAP_US 20
/* Borrowing the reading pays only for a message that comes alone: one read of the fd
 * per message, where the engine reads a batch. A receive borrows when no input has
 * come for this long, so a stream of messages stays with the engine (ipc 64 B,
 * PUSH/PULL: 1.0 M msg/s when every receive that ran dry borrowed, 3.4 M without),
 * or when the socket's end has sent something since its last receive tried: a
 * request or a reply went out, and what comes next answers it, a round trip away
 * (without this, a ping-pong faster than the quiet period borrowed 4 receives in 10,
 * and 3 in 4 when only a direct write counted). */
#define SHORTCUT_QUIET_US 20
/* A borrowed wait woken by more than it may take (a batch: the peer streams with
 * pauses longer than the quiet period) doubles the quiet period, up to this; one that
 * took a message that came alone sets it back. Without it, a PULL fed in 30 KiB
 * writes every 40-50 us borrowed a third of its waits only to hand each batch back
 * (ipc 2 KiB PUSH/PULL: 0.33 M msg/s against 1.1 M; more in ARCHITECTURE.md,
 * "Issue 12, thirteenth round"). */
#define SHORTCUT_QUIET_MAX_US 2000
/* A raised quiet period goes back to SHORTCUT_QUIET_US once this long has passed
 * without a wait woken by a batch: a raised period keeps a one-way receiver from
 * borrowing, so without this it would rarely see the message alone that lowers it. A
 * stream still pausing raises it again within a few waits. */
#define SHORTCUT_QUIET_RESET_US 50000

/* Who reads the fd (in_state). */
enum {
	SC_IN_ENGINE = 0, /* the engine, which is between messages: may be borrowed */
	SC_IN_BUSY = 1,   /* the engine, in the middle of something */
	SC_IN_APP = 2,    /* the socket's thread, for the length of a blocking wait */
	SC_IN_KEPT = 3,   /* the socket's thread, between two receives (changed only
	                     under the lock) */
};

/* A frame's header, and for a subscription sent as a command its name too. */
#define SC_HEAD_MAX (ZMTP_HDR_MAX + 10)

struct engine_shortcut {
	struct pipe_shortcut base;
	atomic_uint refs;
	atomic_int in_state;
	_Atomic int64_t last_in_us; /* when input last came, to whichever thread */
	int64_t quiet_us;           /* the socket's thread's: see SHORTCUT_QUIET_MAX_US */
	int64_t quiet_raised_us;    /* when a wait last raised it */
	atomic_bool usable;         /* idle && !dead, for ready's lock-free look */
	struct zn_mutex lock; /* idle, dead, the spill's hand-over, the fd's writes */
	bool idle;
	bool dead;
	int fd;
	int64_t last_us; /* socket's thread: when it last wrote directly */
	/* What a direct write left: its parts (now the engine's), their headers, and
	 * how far into those bytes the kernel got. spill_off == spill_total: nothing. */
	int spill_n;
	size_t spill_off, spill_total;
	struct msg spill_msg[SHORTCUT_PARTS];
	uint8_t spill_hdr[SHORTCUT_PARTS][SC_HEAD_MAX];
	uint8_t spill_hlen[SHORTCUT_PARTS];
	uint8_t spill_skip[SHORTCUT_PARTS];
	/* A SUB's or XSUB's subscriptions go to a ZMTP 3.1 peer as commands (as
	 * stream_subscription does for the engine). */
	bool subscribes;
	uint8_t peer_minor;
	/* Reading, borrowed (sc_wait_begin): the engine's poller and its handle for
	 * the fd (used under the lock, while not dead), the connection's properties,
	 * ZMQ_MAXMSGSIZE; and, the socket's thread's, the message read directly,
	 * handed out part by part. */
	struct poller *poller;
	struct poll_handle *handle;
	/* Kept reading (shortcut.h), under the lock: the engine's timer watches it
	 * (watched), and takes it back when no wait began (waits) since it last
	 * looked (seen). */
	bool watched;
	uint32_t waits, seen;
	struct metadata *meta;
	int64_t maxmsgsize;
	int ahead_n, ahead_pos;
	struct msg ahead[SHORTCUT_PARTS];
};

static void sc_spill_close(struct engine_shortcut *sc);

static void
sc_release(struct pipe_shortcut *ps)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	if (atomic_fetch_sub_explicit(&sc->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (int i = sc->ahead_pos; i < sc->ahead_n; i++)
		msg_close(&sc->ahead[i]);
	if (sc->meta)
		metadata_rele(sc->meta);
	sc_spill_close(sc);
	zn_mutex_fini(&sc->lock);
	zn_free(sc);
}

/* sc_ready: the socket's thread. */
static bool
sc_ready(struct pipe_shortcut *ps, bool replying)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	return atomic_load_explicit(&sc->usable, memory_order_relaxed) &&
	       (replying || clock_now_us() - sc->last_us >= SHORTCUT_GAP_US);
}

/* sc_spill_close: drops what a direct write left (written, or nobody to write it). */
static void
sc_spill_close(struct engine_shortcut *sc)
{
	for (int i = 0; i < sc->spill_n; i++)
		msg_close(&sc->spill_msg[i]);
	sc->spill_n = 0;
	sc->spill_off = sc->spill_total = 0;
}

/* sc_spill_iov: the spill's bytes from spill_off on, as iovecs (at most
 * 2 * SHORTCUT_PARTS). */
static int
sc_spill_iov(struct engine_shortcut *sc, struct iovec *iov)
{
	size_t skip = sc->spill_off;
	int k = 0;
	for (int i = 0; i < sc->spill_n; i++) {
		const uint8_t *body = msg_data(&sc->spill_msg[i]);
		const uint8_t *piece[2] = {sc->spill_hdr[i], body + sc->spill_skip[i]};
		size_t len[2] = {sc->spill_hlen[i],
		                 msg_size(&sc->spill_msg[i]) - sc->spill_skip[i]};
		for (int j = 0; j < 2; j++) {
			size_t drop = skip < len[j] ? skip : len[j];
			skip -= drop;
			if (len[j] > drop)
				iov[k++] = (struct iovec){(void *)(piece[j] + drop),
				                          len[j] - drop};
		}
	}
	return k;
}

/* sc_spill: the kernel took `written` of the message's `total` bytes: the parts and
 * their headers stay here for the engine (no copy, no allocation). */
static void
sc_spill(struct engine_shortcut *sc, struct msg *m, int n, uint8_t hdr[][SC_HEAD_MAX],
         const size_t *hlen, const size_t *skip, size_t written, size_t total)
{
	for (int i = 0; i < n; i++) {
		sc->spill_msg[i] = m[i];
		msg_init(&m[i]);
		memcpy(sc->spill_hdr[i], hdr[i], hlen[i]);
		sc->spill_hlen[i] = (uint8_t)hlen[i];
		sc->spill_skip[i] = (uint8_t)skip[i];
	}
	sc->spill_n = n;
	sc->spill_off = written;
	sc->spill_total = total;
}

/* sc_frame_head: the bytes ahead of m's body on the wire (its frame header; for a
 * subscription that goes as a command, the header and the command's name), and in
 * *skip the body's bytes the command leaves out (the subscription's first byte). */
static size_t
sc_frame_head(const struct engine_shortcut *sc, struct msg *m, bool first, uint8_t *head,
              size_t *skip)
{
	size_t size = msg_size(m);
	const uint8_t *d = msg_data(m);
	*skip = 0;
	if (sc->subscribes && first && sc->peer_minor >= 1 && size > 0 && d[0] <= 1 &&
	    !(m->flags & MSGF_MORE)) {
		const char *name = d[0] ? "SUBSCRIBE" : "CANCEL";
		size_t nlen = strlen(name);
		size_t hl = zmtp_put_header(head, MSGF_COMMAND, 1 + nlen + size - 1);
		head[hl] = (uint8_t)nlen;
		memcpy(head + hl + 1, name, nlen);
		*skip = 1;
		return hl + 1 + nlen;
	}
	return zmtp_put_header(head, m->flags & MSGF_MORE, size);
}

/* sc_send: the socket's thread (pipe/shortcut.h). */
static int
sc_send(struct pipe_shortcut *ps, struct msg *m, int n)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	uint8_t hdr[SHORTCUT_PARTS][SC_HEAD_MAX];
	size_t hlen[SHORTCUT_PARTS], skip[SHORTCUT_PARTS];
	struct iovec iov[2 * SHORTCUT_PARTS];
	size_t total = 0;
	int k = 0;
	if (n > SHORTCUT_PARTS)
		return -EAGAIN;
	bool first = true;
	for (int i = 0; i < n; i++) {
		size_t size = msg_size(&m[i]);
		if (total + SC_HEAD_MAX + size > SHORTCUT_BYTES)
			return -EAGAIN;
		hlen[i] = sc_frame_head(sc, &m[i], first, hdr[i], &skip[i]);
		first = !(m[i].flags & MSGF_MORE);
		iov[k++] = (struct iovec){hdr[i], hlen[i]};
		if (size > skip[i])
			iov[k++] = (struct iovec){(uint8_t *)msg_data(&m[i]) + skip[i],
			                          size - skip[i]};
		total += hlen[i] + size - skip[i];
	}
	int rc = 0;
	zn_mutex_lock(&sc->lock);
	if (!sc->idle || sc->dead) {
		zn_mutex_unlock(&sc->lock);
		return -EAGAIN;
	}
	ssize_t w = zn_writev(sc->fd, iov, k);
	if (w == -EAGAIN || (w >= 0 && (size_t)w < total)) {
		sc_spill(sc, m, n, hdr, hlen, skip, w > 0 ? (size_t)w : 0, total);
		sc->idle = false;
		atomic_store_explicit(&sc->usable, false, memory_order_relaxed);
		rc = 1;
	}
	/* Another error: the connection is broken and the engine hears it from the fd;
	 * these messages are lost with it, as the ones it had taken would be. */
	zn_mutex_unlock(&sc->lock);
	sc->last_us = clock_now_us();
	for (int i = 0; i < n; i++)
		msg_close(&m[i]);
	return rc;
}

/* Reading, in the socket's thread. */

/* sc_frames: the frames of one whole message at the head of buf[0..n): their offsets
 * and sizes; the bytes they take, or 0 when there is none the socket's thread may
 * take (a command, a malformed or oversized frame: the engine's to handle; a message
 * not all there, or of more parts than we keep). */
static size_t
sc_frames(const struct engine_shortcut *sc, const uint8_t *buf, size_t n,
          size_t off[SHORTCUT_PARTS], size_t len[SHORTCUT_PARTS], int *parts)
{
	size_t at = 0;
	for (int i = 0; i < SHORTCUT_PARTS; i++) {
		uint8_t f;
		size_t hl;
		uint64_t size;
		if (!zmtp_frame_whole(buf + at, n - at, sc->maxmsgsize, &f, &hl, &size) ||
		    (f & ZMTP_FLAG_COMMAND))
			return 0;
		off[i] = at + hl;
		len[i] = (size_t)size;
		at += hl + (size_t)size;
		if (!(f & ZMTP_FLAG_MORE)) {
			*parts = i + 1;
			return at;
		}
	}
	return 0;
}

/* sc_read_direct: one whole message, if the fd holds one, into ahead (true). It is
 * looked at first (MSG_PEEK) and taken only whole, so the engine's decoder, which gets
 * the fd back between messages, never sees half of one. *more: bytes came after it. */
static bool
sc_read_direct(struct engine_shortcut *sc, bool *more)
{
	uint8_t rbuf[SHORTCUT_BYTES];
	ssize_t n = zn_recv_peek(sc->fd, rbuf, sizeof rbuf);
	if (n <= 0)
		return false; /* nothing, the end of the stream or an error: the engine's
		               */
	size_t off[SHORTCUT_PARTS], len[SHORTCUT_PARTS];
	int parts = 0;
	size_t whole = sc_frames(sc, rbuf, (size_t)n, off, len, &parts);
	if (whole == 0)
		return false;
	for (int i = 0; i < parts; i++) {
		struct msg *m = &sc->ahead[i];
		if (msg_init_size(m, len[i]) < 0) {
			while (i-- > 0)
				msg_close(&sc->ahead[i]);
			return false; /* no memory: the engine reads it, and copes */
		}
		if (len[i])
			memcpy(msg_data(m), rbuf + off[i], len[i]);
		if (i + 1 < parts)
			m->flags |= MSGF_MORE;
		msg_set_metadata(m, sc->meta);
	}
	ssize_t r = zn_read(sc->fd, rbuf, whole);
	if (r != (ssize_t)whole) {
		/* Not reached: we are the fd's only reader and saw the bytes there. Were
		 * part of them taken, the stream would be out of step: end it. */
		for (int i = 0; i < parts; i++)
			msg_close(&sc->ahead[i]);
		if (r > 0)
			zn_shutdown(sc->fd);
		return false;
	}
	sc->ahead_n = parts;
	sc->ahead_pos = 0;
	*more = (size_t)n > whole;
	atomic_store_explicit(&sc->last_in_us, clock_now_us(), memory_order_relaxed);
	return true;
}

/* sc_worth: whether borrowing pays for this receive (SHORTCUT_QUIET_US). */
static bool
sc_worth(struct engine_shortcut *sc, bool answered)
{
	if (answered)
		return true;
	int64_t now = clock_now_us();
	if (sc->quiet_us > SHORTCUT_QUIET_US &&
	    now - sc->quiet_raised_us >= SHORTCUT_QUIET_RESET_US)
		sc->quiet_us = SHORTCUT_QUIET_US;
	return now - atomic_load_explicit(&sc->last_in_us, memory_order_relaxed) >=
	       sc->quiet_us;
}

/* sc_learn: what a borrowed wait that fired found: a message alone (borrowing paid)
 * or a batch, or something else for the engine (it did not). */
static void
sc_learn(struct engine_shortcut *sc, bool alone)
{
	if (alone) {
		sc->quiet_us = SHORTCUT_QUIET_US;
		return;
	}
	sc->quiet_us = sc->quiet_us * 2 < SHORTCUT_QUIET_MAX_US ? sc->quiet_us * 2
	                                                        : SHORTCUT_QUIET_MAX_US;
	sc->quiet_raised_us = clock_now_us();
}

/* sc_return: under the lock, not dead: the reading goes back to the engine (a wait's
 * end, a kept reading given back). turn: it has something to handle at once. */
static void
sc_return(struct engine_shortcut *sc, bool turn)
{
	atomic_store_explicit(&sc->in_state, turn ? SC_IN_BUSY : SC_IN_ENGINE,
	                      memory_order_release);
	poller_lend_in(sc->poller, sc->handle, false);
}

/* sc_wait_kept: a receive's wait with the reading kept since the last one: no change
 * to the engine's poller, unless borrowing does not pay now (sc_worth), and then the
 * reading goes back, and the receive waits for the engine. */
static int
sc_wait_kept(struct engine_shortcut *sc, bool answered)
{
	int fd = -1;
	bool worth = sc->ahead_pos == sc->ahead_n && sc_worth(sc, answered);
	zn_mutex_lock(&sc->lock);
	if (!sc->dead &&
	    atomic_load_explicit(&sc->in_state, memory_order_relaxed) == SC_IN_KEPT) {
		if (worth) {
			atomic_store_explicit(&sc->in_state, SC_IN_APP,
			                      memory_order_relaxed);
			sc->waits++;
			fd = sc->fd;
		} else {
			sc_return(sc, false);
		}
	}
	zn_mutex_unlock(&sc->lock);
	return fd;
}

/* sc_wait_begin: borrows the reading while the engine is between messages: the
 * engine's poller stops watching the fd for input, and the caller polls it. */
static int
sc_wait_begin(struct pipe_shortcut *ps, bool answered)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	int state = atomic_load_explicit(&sc->in_state, memory_order_acquire);
	if (state == SC_IN_KEPT)
		return sc_wait_kept(sc, answered);
	if (state != SC_IN_ENGINE || sc->ahead_pos < sc->ahead_n ||
	    !sc_worth(sc, answered))
		return -1;
	int fd = -1, expected = SC_IN_ENGINE;
	zn_mutex_lock(&sc->lock);
	if (!sc->dead && atomic_compare_exchange_strong_explicit(
	                         &sc->in_state, &expected, SC_IN_APP,
	                         memory_order_acq_rel, memory_order_acquire)) {
		poller_lend_in(sc->poller, sc->handle, true);
		sc->waits++;
		fd = sc->fd;
	}
	zn_mutex_unlock(&sc->lock);
	return fd;
}

/* sc_wait_end: reads a message if the fd fired, and gives the reading back (the
 * engine's poller watches the fd again and sees whatever was left there), unless keep
 * and the message came alone: then the next receive's wait finds it kept. */
static int
sc_wait_end(struct pipe_shortcut *ps, bool fired, bool keep)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	int rc = 0;
	/* Under the lock: the engine closes the fd only once it has set dead. */
	zn_mutex_lock(&sc->lock);
	if (!sc->dead) {
		/* Woken by what we may not take (a command, a message too large or not
		 * all there, the end of the stream): the engine's turn. Borrowing again
		 * at once would take its POLLIN away before it could act, and wake us
		 * again. */
		bool more = false;
		bool got = fired && sc_read_direct(sc, &more);
		/* More behind the message: the peer streams, and the engine reads the
		 * rest in batches (kept, each receive would read one message with a
		 * poll, a peek and a read: a PAIR sending and receiving 64 B both ways
		 * fell from 1.9 M to 0.3 M msg/s). */
		if (fired)
			sc_learn(sc, got && !more);
		if (got && keep && !more) {
			atomic_store_explicit(&sc->in_state, SC_IN_KEPT,
			                      memory_order_relaxed);
			rc = SHORTCUT_KEPT | (sc->watched ? 0 : SHORTCUT_TELL);
			sc->watched = true;
		} else {
			sc_return(sc, fired && (!got || more));
		}
	}
	zn_mutex_unlock(&sc->lock);
	return rc | (sc->ahead_pos < sc->ahead_n ? SHORTCUT_CAME : 0);
}

/* sc_give_back: a kept reading goes back to the engine (the socket's thread, or the
 * reaper's for a closed socket's pipe). */
static void
sc_give_back(struct pipe_shortcut *ps)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	if (atomic_load_explicit(&sc->in_state, memory_order_relaxed) != SC_IN_KEPT)
		return; /* only this thread makes it KEPT */
	zn_mutex_lock(&sc->lock);
	if (!sc->dead &&
	    atomic_load_explicit(&sc->in_state, memory_order_relaxed) == SC_IN_KEPT)
		sc_return(sc, false);
	zn_mutex_unlock(&sc->lock);
}

static bool
sc_readable(struct pipe_shortcut *ps)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	return sc->ahead_pos < sc->ahead_n;
}

static bool
sc_read(struct pipe_shortcut *ps, struct msg *m)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	if (sc->ahead_pos == sc->ahead_n)
		return false;
	*m = sc->ahead[sc->ahead_pos];
	msg_init(&sc->ahead[sc->ahead_pos]);
	if (++sc->ahead_pos == sc->ahead_n)
		sc->ahead_pos = sc->ahead_n = 0;
	return true;
}

static const struct pipe_shortcut_ops shortcut_ops = {
        .ready = sc_ready,
        .send = sc_send,
        .wait_begin = sc_wait_begin,
        .wait_end = sc_wait_end,
        .give_back = sc_give_back,
        .readable = sc_readable,
        .read = sc_read,
        .release = sc_release,
};

/* The engine's side, its I/O thread. */

/* sc_make: e->sc, made if it is not yet (the engine's reference). NULL when this
 * connection's writing cannot be lent (its carrier is not a plain stream, its
 * mechanism boxes) or there is no memory (the ypipe's road still works). */
static struct engine_shortcut *
sc_make(struct engine *e)
{
	if (e->sc)
		return e->sc;
	if (!e->carrier->ops->lends || engine_boxes(e) || !e->handle)
		return NULL;
	struct engine_shortcut *sc = zn_malloc(sizeof *sc);
	if (!sc)
		return NULL;
	memset(sc, 0, sizeof *sc);
	sc->base.ops = &shortcut_ops;
	atomic_init(&sc->refs, 1);
	atomic_init(&sc->usable, false);
	zn_mutex_init(&sc->lock);
	sc->fd = e->fd;
	sc->last_us = INT64_MIN / 2;
	sc->quiet_us = SHORTCUT_QUIET_US;
	sc->subscribes = e->opts.type->subscribes;
	sc->peer_minor = e->peer_minor;
	atomic_init(&sc->in_state, SC_IN_BUSY);
	atomic_init(&sc->last_in_us, INT64_MIN / 2);
	sc->poller = e->poller;
	sc->handle = e->handle;
	sc->maxmsgsize = e->opts.maxmsgsize;
	sc->meta = e->meta;
	if (sc->meta)
		metadata_hold(sc->meta);
	e->handle->share = &sc->lock;
	e->sc = sc;
	e->sc_idle = false;
	return sc;
}

struct pipe_shortcut *
engine_shortcut_lend(struct engine *e)
{
	struct engine_shortcut *sc = sc_make(e);
	if (!sc)
		return NULL;
	atomic_fetch_add_explicit(&sc->refs, 1, memory_order_relaxed);
	e->sc_lent = true;
	return &sc->base;
}

void
engine_shortcut_offer(struct engine *e)
{
	if (e->sc_lent)
		return; /* with the pipe made for this connection */
	struct engine_shortcut *sc = sc_make(e);
	if (!sc)
		return;
	atomic_fetch_add_explicit(&sc->refs, 1, memory_order_relaxed);
	if (session_offer_shortcut(e->session, &sc->base) < 0)
		sc_release(&sc->base);
	e->sc_lent = true;
}

int
engine_shortcut_reclaim(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	if (e->sc_idle) {
		zn_mutex_lock(&sc->lock);
		sc->idle = false;
		atomic_store_explicit(&sc->usable, false, memory_order_relaxed);
		zn_mutex_unlock(&sc->lock);
		e->sc_idle = false;
	}
	while (sc->spill_off < sc->spill_total) {
		struct iovec iov[2 * SHORTCUT_PARTS];
		ssize_t w = zn_writev(e->fd, iov, sc_spill_iov(sc, iov));
		if (w == -EAGAIN)
			return 0;
		if (w < 0) {
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		sc->spill_off += (size_t)w;
	}
	if (sc->spill_n)
		sc_spill_close(sc);
	return 1;
}

void
engine_shortcut_idle(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	if (e->sc_idle || sc->spill_off < sc->spill_total)
		return;
	zn_mutex_lock(&sc->lock);
	sc->idle = !sc->dead;
	atomic_store_explicit(&sc->usable, sc->idle, memory_order_relaxed);
	zn_mutex_unlock(&sc->lock);
	e->sc_idle = true;
}

bool
engine_shortcut_empty(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	zn_mutex_lock(&sc->lock);
	bool empty = sc->spill_off == sc->spill_total;
	zn_mutex_unlock(&sc->lock);
	return empty;
}

/* sc_take_back: an event on an fd whose reading is kept, so without POLLIN: an error
 * or a hang-up, reported whatever is watched. The socket's thread is not waiting on
 * it (it would have it as APP): the engine takes the reading back and handles it
 * (without, a level-triggered error would wake this thread until the next check). */
static bool
sc_take_back(struct engine_shortcut *sc)
{
	zn_mutex_lock(&sc->lock);
	bool took =
	        atomic_load_explicit(&sc->in_state, memory_order_relaxed) == SC_IN_KEPT;
	if (took)
		sc_return(sc, true);
	zn_mutex_unlock(&sc->lock);
	return took;
}

bool
engine_shortcut_in_begin(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	int expected = SC_IN_ENGINE;
	if (!atomic_compare_exchange_strong_explicit(&sc->in_state, &expected, SC_IN_BUSY,
	                                             memory_order_acq_rel,
	                                             memory_order_acquire) &&
	    expected != SC_IN_BUSY && !(expected == SC_IN_KEPT && sc_take_back(sc)))
		return false; /* lent: the socket's thread reads */
	atomic_store_explicit(&sc->last_in_us, clock_now_us(), memory_order_relaxed);
	return true;
}

void
engine_shortcut_in_end(struct engine *e, bool between_messages)
{
	/* Only when the engine has the reading: after an input resumed (the pipe had
	 * room again) it may be lent, and stays so. */
	int state = atomic_load_explicit(&e->sc->in_state, memory_order_relaxed);
	int to = between_messages ? SC_IN_ENGINE : SC_IN_BUSY;
	while ((state == SC_IN_ENGINE || state == SC_IN_BUSY) &&
	       !atomic_compare_exchange_weak_explicit(&e->sc->in_state, &state, to,
	                                              memory_order_release,
	                                              memory_order_relaxed))
		;
}

bool
engine_shortcut_check(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	bool again = false;
	zn_mutex_lock(&sc->lock);
	int state = atomic_load_explicit(&sc->in_state, memory_order_relaxed);
	if (!sc->dead && state == SC_IN_KEPT && sc->waits == sc->seen)
		sc_return(sc, false); /* no receive since we last looked */
	else if (!sc->dead && state == SC_IN_KEPT)
		again = true;
	/* Else given back, or borrowed by a wait that polls the fd itself (a wait can
	 * last for ever: looking every few ms would wake this thread for nothing); a
	 * wait that keeps it tells us again. */
	sc->seen = sc->waits;
	sc->watched = again;
	zn_mutex_unlock(&sc->lock);
	return again;
}

void
engine_shortcut_end(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	zn_mutex_lock(&sc->lock);
	sc->dead = true;
	sc->idle = false;
	atomic_store_explicit(&sc->usable, false, memory_order_relaxed);
	zn_mutex_unlock(&sc->lock);
	if (e->handle)
		e->handle->share = NULL;
	e->sc = NULL;
	sc_release(&sc->base);
}

/*
 * engine_shortcut.c: a stream engine's writing lent to the socket's thread (see
 * pipe/shortcut.h for why and for the order it keeps). The engine makes one when its
 * handshake is over, if its messages go out as they are (no CURVE box, no subscription
 * turned into a command), and offers it to the socket's pipe end.
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

/* The largest message (frames and headers) written directly; a larger one streams
 * from the engine, where its body is referenced, not copied. */
#define SHORTCUT_BYTES 8192
/* A direct write is a system call in the sender's thread. Back to back, the first
 * message of a burst goes directly and the rest wake the engine, which writes them in
 * batches: a sender that finds the engine idle again within this many microseconds is
 * streaming, and its messages go by the ypipe (see ARCHITECTURE.md, "Issue 12, ninth
 * round"). */
#define SHORTCUT_GAP_US 20

struct engine_shortcut {
	struct pipe_shortcut base;
	atomic_uint refs;
	atomic_bool usable;   /* idle && !dead, for ready's lock-free look */
	struct zn_mutex lock; /* idle, dead, the spill's hand-over, the fd's writes */
	bool idle;
	bool dead;
	int fd;
	int64_t last_us; /* socket's thread: when it last wrote directly */
	size_t spill_pos, spill_len;
	uint8_t spill[SHORTCUT_BYTES];
};

static void
sc_release(struct pipe_shortcut *ps)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	if (atomic_fetch_sub_explicit(&sc->refs, 1, memory_order_acq_rel) != 1)
		return;
	zn_mutex_fini(&sc->lock);
	zn_free(sc);
}

/* sc_ready: the socket's thread. */
static bool
sc_ready(struct pipe_shortcut *ps)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	return atomic_load_explicit(&sc->usable, memory_order_relaxed) &&
	       clock_now_us() - sc->last_us >= SHORTCUT_GAP_US;
}

/* sc_spill: the kernel took `written` of the iovecs' total bytes: the rest, for the
 * engine. */
static void
sc_spill(struct engine_shortcut *sc, const struct iovec *iov, int n, size_t written)
{
	sc->spill_pos = sc->spill_len = 0;
	for (int i = 0; i < n; i++) {
		size_t len = iov[i].iov_len, skip = written < len ? written : len;
		written -= skip;
		memcpy(sc->spill + sc->spill_len, (const uint8_t *)iov[i].iov_base + skip,
		       len - skip);
		sc->spill_len += len - skip;
	}
}

/* sc_send: the socket's thread (pipe/shortcut.h). */
static int
sc_send(struct pipe_shortcut *ps, struct msg *m, int n)
{
	struct engine_shortcut *sc = container_of(ps, struct engine_shortcut, base);
	uint8_t hdr[SHORTCUT_PARTS][ZMTP_HDR_MAX];
	struct iovec iov[2 * SHORTCUT_PARTS];
	size_t total = 0;
	int k = 0;
	for (int i = 0; i < n && i < SHORTCUT_PARTS; i++) {
		size_t size = msg_size(&m[i]);
		if (total + ZMTP_HDR_MAX + size > SHORTCUT_BYTES)
			return -EAGAIN;
		size_t hl = zmtp_put_header(hdr[i], m[i].flags & MSGF_MORE, size);
		iov[k++] = (struct iovec){hdr[i], hl};
		if (size > 0)
			iov[k++] = (struct iovec){msg_data(&m[i]), size};
		total += hl + size;
	}
	int rc = 0;
	zn_mutex_lock(&sc->lock);
	if (!sc->idle || sc->dead) {
		zn_mutex_unlock(&sc->lock);
		return -EAGAIN;
	}
	ssize_t w = zn_writev(sc->fd, iov, k);
	if (w == -EAGAIN || (w >= 0 && (size_t)w < total)) {
		sc_spill(sc, iov, k, w > 0 ? (size_t)w : 0);
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

static const struct pipe_shortcut_ops shortcut_ops = {
        .ready = sc_ready,
        .send = sc_send,
        .release = sc_release,
};

/* The engine's side, its I/O thread. */

void
engine_shortcut_offer(struct engine *e)
{
	if (engine_boxes(e) || e->opts.type->subscribes)
		return;
	struct engine_shortcut *sc = zn_malloc(sizeof *sc);
	if (!sc)
		return; /* the ypipe's road still works */
	memset(sc, 0, sizeof *sc);
	sc->base.ops = &shortcut_ops;
	atomic_init(&sc->refs, 2);
	atomic_init(&sc->usable, false);
	zn_mutex_init(&sc->lock);
	sc->fd = e->fd;
	sc->last_us = INT64_MIN / 2;
	if (session_offer_shortcut(e->session, &sc->base) < 0)
		sc_release(&sc->base);
	e->sc = sc;
	e->sc_idle = false;
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
	while (sc->spill_pos < sc->spill_len) {
		struct iovec iov = {sc->spill + sc->spill_pos,
		                    sc->spill_len - sc->spill_pos};
		ssize_t w = zn_writev(e->fd, &iov, 1);
		if (w == -EAGAIN)
			return 0;
		if (w < 0) {
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		sc->spill_pos += (size_t)w;
	}
	return 1;
}

void
engine_shortcut_idle(struct engine *e)
{
	struct engine_shortcut *sc = e->sc;
	if (e->sc_idle || sc->spill_pos < sc->spill_len)
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
	bool empty = sc->spill_pos == sc->spill_len;
	zn_mutex_unlock(&sc->lock);
	return empty;
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
	e->sc = NULL;
	sc_release(&sc->base);
}

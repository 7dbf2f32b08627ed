/*
 * shm_ring_writer.c: the writing side of a ring (see shm_ring.h, and shm_ring.c for
 * what the peer may do to the shared mapping): records copied in, fragments of large
 * messages, publishing by the held header and the reader's wake-up.
 */
#include "proto/shm_ring_impl.h"
#include "platform/shm.h"

#include <errno.h>
#include <string.h>

void
shm_ring_writer_init(struct shm_ring_writer *w, const struct shm_ring_region *g)
{
	memset(w, 0, sizeof *w);
	region_ring(g, g->creator ? 0 : 1, &w->ctl, &w->data);
	w->size = g->ring_size;
	w->mask = g->ring_size - 1;
	w->batch = g->ring_size / 8;
	/* A message streams past 256 KiB even when the ring could hold it whole: its
	 * reader, woken at the first fragment (shm_ring_writer_set_waker), copies it
	 * out while the rest is copied in. 1 MiB over shm:// one way, each process on
	 * a CPU of its own: 192-197 us against 263-267 written whole. */
	w->plain_max = min64(g->ring_size / 2, SHM_STREAM_MIN);
	w->frag_max = min64(g->ring_size / 4, (uint64_t)128 << 10);
	w->frag_min = w->frag_max / 4;
}

void
shm_ring_writer_set_waker(struct shm_ring_writer *w, shm_ring_waker_fn *fn, void *arg)
{
	w->waker = fn;
	w->waker_arg = arg;
}

/* writer_wake_now: raises what a publication found (SHM_WAKE_*) through the waker, or
 * keeps it for the caller's shm_ring_publish when there is none. */
static void
writer_wake_now(struct shm_ring_writer *w, unsigned wake)
{
	if (wake != 0 && w->waker)
		w->waker(w->waker_arg, (int)wake);
	else
		w->wake |= wake;
}

static inline uint64_t
writer_free(const struct shm_ring_writer *w)
{
	return w->size - (w->wr - w->rd_cache);
}

/* writer_fits: whether n bytes are free by the cached read index, with the 8 beyond
 * them where the zero that ends the published records goes; a caller asking for a
 * ring's worth or more waits for an empty ring. */
static inline bool
writer_fits(const struct shm_ring_writer *w, uint64_t n)
{
	return writer_free(w) >= min64(n + SHM_REC_HDR, w->size);
}

/* writer_refresh: loads the peer's read index and checks it: it can be neither ahead of
 * what we wrote nor more than a ring behind. 0 or -EPROTO (sticky). The load is
 * seq_cst: in shm_ring_writer_prepare_sleep it follows the store of writer_sleeping. */
static int
writer_refresh(struct shm_ring_writer *w)
{
	uint64_t r = atomic_load_explicit(&w->ctl->read, memory_order_seq_cst);
	if (w->wr - r > w->size || (r & 7) != 0)
		return w->error = -EPROTO;
	w->rd_cache = r;
	return 0;
}

/* put_word: a plain store of one of our words into the ring, at a position the reader
 * cannot reach yet (a zero or header held behind one of ours). */
static inline void
put_word(struct shm_ring_writer *w, uint64_t pos, uint64_t v)
{
	atomic_store_explicit(ring_word(w->data, w->mask, pos), v, memory_order_relaxed);
}

/* writer_release_run: lets the held first part of an unfinished multipart message
 * go out with the next publication (its other parts follow it). */
static void
writer_release_run(struct shm_ring_writer *w)
{
	if (w->run_held) {
		put_word(w, w->boundary, w->held_run);
		w->run_held = false;
	}
	w->boundary = w->wr;
}

/* writer_space: whether n bytes are free after wr, looking at the read index again
 * only when the cached one shows too little. 1 yes, 0 no (need remembered), -EPROTO.
 *
 * When the bytes held back (written but not yet publishable: the first parts of a
 * multipart message) plus n exceed the ring, the reader could consume all it can see
 * and we would still wait forever; so they become publishable. A multipart message
 * then appears in pieces, which only happens when it is too large for the ring. */
static int
writer_space(struct shm_ring_writer *w, uint64_t n)
{
	if (writer_fits(w, n))
		return 1;
	int rc = writer_refresh(w);
	if (rc < 0)
		return rc;
	if (writer_fits(w, n))
		return 1;
	w->need = n;
	if (w->wr - w->boundary + n + SHM_REC_HDR > w->size)
		writer_release_run(w);
	return 0;
}

/* writer_may_skip_fence: whether the reader fences before it sleeps and our process
 * is registered for that fence (asked once per writer). */
static inline bool
writer_may_skip_fence(struct shm_ring_writer *w)
{
	if (atomic_load_explicit(&w->ctl->reader_fenced, memory_order_relaxed) == 0)
		return false;
	if (w->fence == 0)
		w->fence = zn_shm_fence_ready() ? 1 : -1;
	return w->fence > 0;
}

/* writer_store: stores the held header, which makes everything up to the boundary
 * visible, then takes the reader's sleeping flag if it is set. Returns the reader's fd
 * to raise (SHM_WAKE_*), or 0. The store and the flag's load are both seq_cst, which
 * orders them against the reader's own pair (no fence needed: a seq_cst store is one
 * locked instruction on x86, like the fence it replaces, and ThreadSanitizer
 * understands it), unless the reader fences for both of us (writer_may_skip_fence). */
static unsigned
writer_store(struct shm_ring_writer *w)
{
	struct shm_ring_dir *d = w->ctl;
	if (w->boundary == w->pub)
		return 0;
	_Atomic uint64_t *head = ring_word(w->data, w->mask, w->pub);
	/* The word after what becomes visible is made zero here, once a publication
	 * rather than after every record: a store into the line a spinning reader polls
	 * costs the line (0.1 us a message for REQ/REP's two records). */
	put_word(w, w->boundary, 0);
	if (writer_may_skip_fence(w)) {
		atomic_store_explicit(head, w->held_pub, memory_order_release);
		/* The flag's load stays after the store in the code; the reader's fence
		 * orders them on the CPU (shm_ring.h, "Fenced sleeping"). */
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_store_explicit(head, w->held_pub, memory_order_seq_cst);
	}
	w->pub = w->boundary;
	if (w->run_held) {
		/* The unfinished message's first part now heads what is held back. */
		w->held_pub = w->held_run;
		w->run_held = false;
	}
	atomic_store_explicit(&d->write, w->pub, memory_order_release);
	return wake_for(take_flag(&d->reader_sleeping));
}

/* writer_put: a record of rec bytes at wr (its payload goes in before or after): its
 * header, held back when nothing before it is waiting to be published (it heads the
 * next publication) or when it starts a message that cannot be published yet, stored
 * now when a held header before it guards it. publishable says whether the ring may be
 * made visible up to the record's end. */
static void
writer_put(struct shm_ring_writer *w, uint64_t rec, uint64_t hdr, bool publishable)
{
	if (w->wr == w->pub) {
		w->held_pub = hdr;
	} else if (w->wr == w->boundary && !publishable) {
		w->held_run = hdr;
		w->run_held = true;
	} else {
		put_word(w, w->wr, hdr);
	}
	w->wr += rec;
	if (publishable)
		writer_release_run(w);
}

/* writer_pad: fills the tail of the ring with a PAD record when a record of rec bytes
 * does not fit before the end. 1 done (or not needed), 0 no room yet, -EPROTO. */
static int
writer_pad(struct shm_ring_writer *w, uint64_t rec, bool publishable)
{
	uint64_t off = w->wr & w->mask, tail = w->size - off;
	if (rec <= tail)
		return 1;
	int rc = writer_space(w, tail);
	if (rc <= 0)
		return rc;
	writer_put(w, tail, hdr_word(tail - SHM_REC_HDR, SHM_REC_PAD), publishable);
	return 1;
}

/* copy_payload: len bytes from src to dst (the record's payload, not yet visible), a
 * large one that ends its message with the reader woken early on the way
 * (shm_ring_writer_set_waker). A part with MORE wakes nobody: the reader could see
 * none of its message before the last part is written. */
static void
copy_payload(struct shm_ring_writer *w, uint8_t *dst, const void *src, size_t len,
             bool ends_message)
{
	if (len < SHM_WAKE_EARLY_MIN || !w->waker || !ends_message) {
		memcpy(dst, src, len);
		return;
	}
	size_t head = len > SHM_WAKE_AHEAD ? len - SHM_WAKE_AHEAD : 0;
	memcpy(dst, src, head);
	writer_wake_now(w, wake_for(take_flag(&w->ctl->reader_sleeping)));
	memcpy(dst + head, (const uint8_t *)src + head, len - head);
}

/* write_record: len bytes from data as one record with flags. 0, -EAGAIN or -EPROTO. */
static int
write_record(struct shm_ring_writer *w, const void *data, size_t len, uint32_t flags)
{
	uint64_t rec = SHM_REC_HDR + round8(len);
	int rc = writer_pad(w, rec, !w->in_multi);
	if (rc > 0)
		rc = writer_space(w, rec);
	if (rc <= 0)
		return rc < 0 ? rc : -EAGAIN;

	uint8_t *p = w->data + (w->wr & w->mask);
	/* The header first: when it is stored now, its line is taken once, with the
	 * payload's first bytes, rather than again after the payload's next line. */
	writer_put(w, rec, hdr_word(len, flags), !(flags & SHM_REC_MORE));
	if (len > 0)
		copy_payload(w, p + SHM_REC_HDR, data, len, !(flags & SHM_REC_MORE));
	w->in_multi = (flags & SHM_REC_MORE) != 0;
	if (w->boundary - w->pub >= w->batch)
		w->wake |= writer_store(w);
	return 0;
}

/* write_whole: m as one record. 0, -EAGAIN or -EPROTO. */
static int
write_whole(struct shm_ring_writer *w, struct msg *m, uint32_t flags)
{
	return write_record(w, msg_data(m), msg_size(m), flags);
}

int
shm_ring_write_ref(struct shm_ring_writer *w, const struct shm_ref *ref, bool more)
{
	if (w->error)
		return w->error;
	if (w->frag_data != NULL)
		return -EINVAL;
	return write_record(w, ref, sizeof *ref,
	                    SHM_REC_REF | (more ? SHM_REC_MORE : 0u));
}

/* write_fragment: the next fragment of the streaming message, as large as the room
 * allows up to frag_max; a PAD first when the tail is too short for a worthwhile one.
 * 1 a fragment went in, 0 no room, -EPROTO. Each fragment is published at once, so the
 * reader copies out while we copy in. */
static int
write_fragment(struct shm_ring_writer *w)
{
	bool first = w->frag_off == 0;
	uint64_t hdr = first ? FIRST_HDR : SHM_REC_HDR;
	uint64_t remaining = w->frag_total - w->frag_off;
	uint64_t least = hdr + round8(min64(remaining, w->frag_min));
	/* Before the first fragment, earlier parts of a multipart message stay held back;
	 * after it, everything is visible as it goes. */
	bool publishable = !first || !w->in_multi;

	int rc = writer_pad(w, least, publishable);
	if (rc > 0)
		rc = writer_space(w, least);
	if (rc <= 0)
		return rc;

	uint64_t off = w->wr & w->mask;
	uint64_t room = min64(w->size - off, writer_free(w) - SHM_REC_HDR) - hdr;
	uint64_t chunk = min64(min64(remaining, w->frag_max), room);
	/* A first fragment is never the whole message: what streams is longer than
	 * plain_max (ring/2, at most 256 KiB), a fragment at most frag_max (ring/4, at
	 * most 128 KiB: never above half of plain_max). */
	uint32_t flags = chunk == remaining ? SHM_REC_FRAG_LAST : SHM_REC_FRAG_MID;
	if (first)
		flags = SHM_REC_FRAG_FIRST | w->frag_flags;
	uint8_t *p = w->data + off;
	if (first)
		memcpy(p + SHM_REC_HDR, &w->frag_total, sizeof w->frag_total);
	memcpy(p + hdr, (const uint8_t *)w->frag_data + w->frag_off, chunk);
	w->frag_off += chunk;
	writer_put(w, hdr + round8(chunk), hdr_word(chunk, flags), publishable);
	writer_wake_now(w, writer_store(w));
	return 1;
}

/* write_stream: fragments of m until it is all in (0) or the ring is full (-EAGAIN). */
static int
write_stream(struct shm_ring_writer *w)
{
	while (w->frag_off < w->frag_total) {
		int rc = write_fragment(w);
		if (rc <= 0)
			return rc < 0 ? rc : -EAGAIN;
	}
	w->in_multi = (w->frag_flags & SHM_REC_MORE) != 0;
	w->frag_data = NULL;
	w->frag_total = w->frag_off = 0;
	return 0;
}

int
shm_ring_write_msg(struct shm_ring_writer *w, struct msg *m)
{
	int rc;

	if (w->error)
		return w->error;
	unsigned mf = msg_flags(m);
	uint32_t flags = ((mf & MSGF_MORE) ? SHM_REC_MORE : 0) |
	                 ((mf & MSGF_COMMAND) ? SHM_REC_COMMAND : 0);
	if (flags == REC_MSG_FLAGS)
		return -EINVAL;
	size_t len = msg_size(m);

	if (w->frag_data != NULL) {
		if (msg_data(m) != w->frag_data || len != w->frag_total ||
		    flags != w->frag_flags)
			return -EINVAL;
		rc = write_stream(w);
	} else if (SHM_REC_HDR + round8(len) <= w->plain_max) {
		rc = write_whole(w, m, flags);
	} else {
		w->frag_data = msg_data(m);
		w->frag_total = len;
		w->frag_off = 0;
		w->frag_flags = flags;
		rc = write_stream(w);
	}
	if (rc == 0) {
		msg_close(m);
		msg_init(m);
	}
	return rc;
}

int
shm_ring_publish(struct shm_ring_writer *w)
{
	unsigned wake = w->wake;
	w->wake = 0;
	return (int)(wake | writer_store(w));
}

bool
shm_ring_room_seen(const struct shm_ring_writer *w, uint64_t n)
{
	uint64_t wr = atomic_load_explicit(&w->ctl->write, memory_order_acquire);
	uint64_t rd = atomic_load_explicit(&w->ctl->read, memory_order_acquire);
	return wr - rd <= w->size &&
	       w->size - (wr - rd) >= min64(n + SHM_REC_HDR, w->size);
}

bool
shm_ring_writable(struct shm_ring_writer *w, uint64_t n)
{
	if (w->error || writer_fits(w, n))
		return true;
	if (writer_refresh(w) < 0)
		return true; /* the next write reports it */
	return writer_fits(w, n);
}

void
shm_ring_writer_want(struct shm_ring_writer *w, uint64_t n)
{
	w->need = n;
}

void
shm_ring_writer_rollback(struct shm_ring_writer *w)
{
	if (w->frag_data)
		return;      /* a streaming message is visible as it goes */
	w->wr = w->boundary; /* its first header was held: the ring has 0 there */
	w->run_held = false;
	w->in_multi = false;
}

bool
shm_ring_writer_streaming(const struct shm_ring_writer *w)
{
	return w->frag_data != NULL;
}

int
shm_ring_writer_prepare_sleep(struct shm_ring_writer *w)
{
	struct shm_ring_dir *d = w->ctl;

	if (w->error)
		return w->error;
	if (w->boundary != w->pub || w->wake)
		return 1; /* publish (and wake) first */
	atomic_store_explicit(&d->writer_sleeping, 1, memory_order_seq_cst);
	int rc = writer_refresh(w); /* seq_cst load: ordered after the store above */
	if (rc < 0 || writer_fits(w, w->need)) {
		/* Take the flag back, unless the reader took it first: then its signal is
		 * on the way, and sleeping on it keeps one signal per sleep. */
		if (take_flag(&d->writer_sleeping) != 0 || rc < 0)
			return rc < 0 ? rc : 1;
	}
	return 0;
}

void
shm_ring_writer_end_sleep(struct shm_ring_writer *w)
{
	atomic_store_explicit(&w->ctl->writer_sleeping, 0, memory_order_relaxed);
}

/*
 * shm_ring_reader.c: the reading side of a ring (see shm_ring.h, and shm_ring.c for
 * what the peer may do to the shared mapping): each header loaded once and checked
 * before anything is copied out, fragments gathered, the read index released.
 */
#include "proto/shm_ring_impl.h"
#include "platform/shm.h"

#include <errno.h>
#include <string.h>

void
shm_ring_reader_init(struct shm_ring_reader *r, const struct shm_ring_region *g,
                     int64_t maxmsgsize)
{
	struct shm_ring_dir *ctl;
	uint8_t *data;

	memset(r, 0, sizeof *r);
	region_ring(g, g->creator ? 1 : 0, &ctl, &data);
	r->ctl = ctl;
	r->data = data;
	r->size = g->ring_size;
	r->mask = g->ring_size - 1;
	r->batch = g->ring_size / 8;
	r->maxmsgsize = maxmsgsize < 0 ? UINT64_MAX : (uint64_t)maxmsgsize;
	msg_init(&r->frag);
}

bool
shm_ring_reader_fence(struct shm_ring_reader *r)
{
	if (!r->fenced && zn_shm_fence_available()) {
		r->fenced = true;
		atomic_store_explicit(&r->ctl->reader_fenced, 1, memory_order_seq_cst);
	}
	return r->fenced;
}

/* reader_fence: the fence between the sleeping flag's store and the look after it.
 * Should it fail (Linux has no failure for it once the query said it works), the
 * writer is told to fence its stores again, and this one sleep keeps the race that the
 * fence exists to close. */
static void
reader_fence(struct shm_ring_reader *r)
{
	if (zn_shm_fence() == 0)
		return;
	r->fenced = false;
	atomic_store_explicit(&r->ctl->reader_fenced, 0, memory_order_seq_cst);
}

void
shm_ring_reader_fini(struct shm_ring_reader *r)
{
	msg_close(&r->frag);
	msg_init(&r->frag);
	r->in_frag = false;
}

/* reader_fail: makes a protocol error sticky. */
static int
reader_fail(struct shm_ring_reader *r, int rc)
{
	r->error = rc;
	return rc;
}

/* reader_store: stores rd as the read index, then takes the writer's sleeping flag if
 * it is set. Returns whether the writer must be woken. Both seq_cst, as writer_store. */
static bool
reader_store(struct shm_ring_reader *r)
{
	struct shm_ring_dir *d = r->ctl;
	atomic_store_explicit(&d->read, r->rd, memory_order_seq_cst);
	r->released = r->rd;
	return take_flag(&d->writer_sleeping) != 0;
}

static void
reader_consume(struct shm_ring_reader *r, uint64_t n)
{
	r->rd += n;
	if (r->rd - r->released >= r->batch)
		r->wake |= reader_store(r);
}

static unsigned
msg_flags_of(uint32_t flags)
{
	return ((flags & SHM_REC_MORE) ? MSGF_MORE : 0u) |
	       ((flags & SHM_REC_COMMAND) ? MSGF_COMMAND : 0u);
}

/* The record under the read position, as loaded once and the room it may occupy. */
struct rec {
	const uint8_t *p; /* its first byte in the ring */
	uint64_t room;    /* bytes it may span: the tail of the ring */
	uint32_t len, flags;
};

/* rec_size: the bytes a record with hdr header bytes spans, or -EPROTO when it does not
 * fit its room. The lines wholly its own past the header's are asked for at once, so
 * their misses overlap with the checks and the allocation before the copy; not a line
 * it shares with the next record, which the writer may be filling (taking that line
 * from it cost 8 % of 64 B throughput). */
static int
rec_size(const struct shm_ring_reader *r, const struct rec *c, uint64_t hdr,
         uint64_t *size)
{
	*size = hdr + round8(c->len);
	if (*size > c->room)
		return -EPROTO;
	uint64_t from = (r->rd | 63) + 1, to = (r->rd + *size) & ~(uint64_t)63;
	if (to > from)
		ring_prefetch(r->data, r->mask, from, to - from, 0);
	return 0;
}

/* read_whole: a message in one record. 1 (in *m), or a negative error. */
static int
read_whole(struct shm_ring_reader *r, const struct rec *c, struct msg *m)
{
	uint64_t size;

	if (r->in_frag || c->flags == REC_MSG_FLAGS)
		return reader_fail(r, -EPROTO);
	if (rec_size(r, c, SHM_REC_HDR, &size) < 0)
		return reader_fail(r, -EPROTO);
	if (c->len > r->maxmsgsize)
		return reader_fail(r, -EMSGSIZE);
	int rc = msg_init_size(m, c->len);
	if (rc < 0)
		return rc; /* m is empty; nothing consumed */
	if (c->len > 0)
		memcpy(msg_data(m), c->p + SHM_REC_HDR, c->len);
	msg_set_flags(m, msg_flags_of(c->flags));
	reader_consume(r, size);
	return 1;
}

/* A streamed message up to this size is allocated whole at its first fragment; a
 * larger one starts at this size and grows as its fragments arrive, so a total the
 * peer announces costs nothing until it sends it. */
#define FRAG_EAGER_MAX ((uint64_t)8 << 20)

/* frag_reserve: room in the message being reassembled for n more bytes: a buffer twice
 * as large (or as large as needed, at most the total) takes over what arrived. 0, or
 * -ENOMEM with the old one kept. */
static int
frag_reserve(struct shm_ring_reader *r, uint64_t n)
{
	uint64_t cap = msg_size(&r->frag), need = r->frag_got + n;
	if (need <= cap)
		return 0;
	uint64_t want = cap * 2 > need ? cap * 2 : need;
	if (want > r->frag_total)
		want = r->frag_total;
	struct msg bigger;
	int rc = msg_init_size(&bigger, (size_t)want);
	if (rc < 0)
		return rc;
	memcpy(msg_data(&bigger), msg_data(&r->frag), (size_t)r->frag_got);
	msg_close(&r->frag);
	r->frag = bigger;
	return 0;
}

/* read_first: the first fragment; allocates the message (see FRAG_EAGER_MAX). 0 or a
 * negative error. */
static int
read_first(struct shm_ring_reader *r, const struct rec *c)
{
	uint64_t size;

	if (r->in_frag || (c->flags & REC_MSG_FLAGS) == REC_MSG_FLAGS)
		return reader_fail(r, -EPROTO);
	if (rec_size(r, c, FIRST_HDR, &size) < 0)
		return reader_fail(r, -EPROTO);
	uint64_t total = load_once(c->p + SHM_REC_HDR);
	if (c->len == 0 || total <= c->len)
		return reader_fail(r, -EPROTO);
	if (total > r->maxmsgsize || total > SIZE_MAX)
		return reader_fail(r, -EMSGSIZE);
	uint64_t first = total > FRAG_EAGER_MAX ? FRAG_EAGER_MAX : total;
	int rc = msg_init_size(&r->frag, (size_t)(first < c->len ? c->len : first));
	if (rc < 0)
		return rc; /* frag is empty; nothing consumed */
	memcpy(msg_data(&r->frag), c->p + FIRST_HDR, c->len);
	r->frag_total = total;
	r->frag_got = c->len;
	r->frag_flags = c->flags & REC_MSG_FLAGS;
	r->in_frag = true;
	reader_consume(r, size);
	return 0;
}

/* read_next: a middle or last fragment. 1 (the message complete in *m), 0, or a
 * negative error. */
static int
read_next(struct shm_ring_reader *r, const struct rec *c, struct msg *m)
{
	uint64_t size;

	if (!r->in_frag)
		return reader_fail(r, -EPROTO);
	if (rec_size(r, c, SHM_REC_HDR, &size) < 0)
		return reader_fail(r, -EPROTO);
	uint64_t left = r->frag_total - r->frag_got;
	bool last = c->flags == SHM_REC_FRAG_LAST;
	if (c->len == 0 || (last ? c->len != left : c->len >= left))
		return reader_fail(r, -EPROTO);
	int rc = frag_reserve(r, c->len);
	if (rc < 0)
		return rc; /* nothing consumed: the next call retries */
	memcpy((uint8_t *)msg_data(&r->frag) + r->frag_got, c->p + SHM_REC_HDR, c->len);
	r->frag_got += c->len;
	reader_consume(r, size);
	if (!last)
		return 0;
	*m = r->frag; /* a move; *m is not closed, as documented */
	msg_init(&r->frag);
	msg_set_flags(m, msg_flags_of(r->frag_flags));
	r->in_frag = false;
	return 1;
}

/* read_ref: a REF record, alone or with MORE, of exactly a struct shm_ref. 2 (its
 * payload in *ref), or -EPROTO. */
static int
read_ref(struct shm_ring_reader *r, const struct rec *c, struct msg *m,
         struct shm_ref *ref)
{
	uint64_t size;

	if (ref == NULL || r->in_frag || (c->flags & ~SHM_REC_MORE) != SHM_REC_REF ||
	    c->len != sizeof *ref)
		return reader_fail(r, -EPROTO);
	if (rec_size(r, c, SHM_REC_HDR, &size) < 0)
		return reader_fail(r, -EPROTO);
	memcpy(ref, c->p + SHM_REC_HDR, sizeof *ref); /* a copy: checked by the caller */
	msg_init(m);
	msg_set_flags(m, msg_flags_of(c->flags));
	reader_consume(r, size);
	return 2;
}

struct shm_ring_zc *
shm_ring_region_zc(const struct shm_ring_region *g, int k)
{
	struct shm_ring_ctl *c = g->base;
	return &c->zc[k];
}

/* header_at: the word under the read position, loaded once: 0 while nothing is
 * published there. */
static inline uint64_t
header_at(const struct shm_ring_reader *r, memory_order mo)
{
	return atomic_load_explicit(ring_word(r->data, r->mask, r->rd), mo);
}

bool
shm_ring_readable(const struct shm_ring_reader *r)
{
	if (r->error)
		return true;
	return header_at(r, memory_order_relaxed) != 0;
}

int
shm_ring_read_msg(struct shm_ring_reader *r, struct msg *m)
{
	return shm_ring_read(r, m, NULL);
}

int
shm_ring_read(struct shm_ring_reader *r, struct msg *m, struct shm_ref *ref)
{
	uint64_t start = r->rd;
	int rc;

	if (r->error)
		return r->error;
	for (;;) {
		/* A ring's worth of padding and fragments is enough for one call. */
		if (r->rd - start >= r->size)
			return 0;
		uint64_t h = header_at(r, memory_order_acquire);
		if (h == 0)
			return 0;
		uint64_t off = r->rd & r->mask, tail = r->size - off;
		struct rec c;
		c.p = r->data + off;
		c.room = tail;
		c.len = (uint32_t)h;
		c.flags = (uint32_t)(h >> 32);
		if ((c.flags & SHM_REC_VALID) == 0)
			return reader_fail(r, -EPROTO);
		c.flags &= ~SHM_REC_VALID;
		uint32_t kind = c.flags & REC_KIND_MASK;
		if ((c.flags & ~(REC_KIND_MASK | REC_MSG_FLAGS)) != 0)
			return reader_fail(r, -EPROTO);
		if (kind == SHM_REC_PAD) {
			/* Alone, ending exactly at the end of the ring. */
			if (c.flags != SHM_REC_PAD || c.len != tail - SHM_REC_HDR)
				return reader_fail(r, -EPROTO);
			reader_consume(r, tail);
			continue;
		}
		if (kind == 0)
			rc = read_whole(r, &c, m);
		else if (kind == SHM_REC_FRAG_FIRST)
			rc = read_first(r, &c);
		else if (kind == SHM_REC_REF)
			rc = read_ref(r, &c, m, ref);
		else if (c.flags == SHM_REC_FRAG_MID || c.flags == SHM_REC_FRAG_LAST)
			rc = read_next(r, &c, m);
		else /* two kinds at once, or flags on MID / LAST */
			rc = reader_fail(r, -EPROTO);
		if (rc != 0)
			return rc;
	}
}

int
shm_ring_release(struct shm_ring_reader *r)
{
	bool wake = r->wake;
	r->wake = false;
	if (r->rd != r->released)
		wake |= reader_store(r);
	return wake ? 1 : 0;
}

int
shm_ring_prepare_sleep(struct shm_ring_reader *r)
{
	struct shm_ring_dir *d = r->ctl;

	if (r->error)
		return r->error;
	if (r->rd != r->released || r->wake)
		return 1; /* release (and wake) first */
	atomic_store_explicit(&d->reader_sleeping, SLEEP_ENGINE, memory_order_seq_cst);
	if (r->fenced)
		reader_fence(r);
	if (header_at(r, memory_order_seq_cst) != 0 &&
	    take_flag(&d->reader_sleeping) != 0)
		return 1;
	/* Asleep, or the writer took the flag first and its signal is on the way. */
	return 0;
}

void
shm_ring_end_sleep(struct shm_ring_reader *r)
{
	atomic_store_explicit(&r->ctl->reader_sleeping, 0, memory_order_relaxed);
}

/* shm_ring_turn_sleep: the reader's flag from one sleep to the other. A failed
 * exchange means the writer took the flag (only it clears it): data came. A flag the
 * peer scribbled over is its own loss (it raises the wrong fd, and the I/O thread's
 * wake-up still comes for the engine's). */
static int
shm_ring_turn_sleep(struct shm_ring_reader *r, uint32_t from, uint32_t to)
{
	uint32_t expect = from;
	if (atomic_compare_exchange_strong_explicit(&r->ctl->reader_sleeping, &expect, to,
	                                            memory_order_seq_cst,
	                                            memory_order_seq_cst))
		return 0;
	return 1;
}

int
shm_ring_sleep_app(struct shm_ring_reader *r)
{
	return shm_ring_turn_sleep(r, SLEEP_ENGINE, SLEEP_APP);
}

int
shm_ring_sleep_app_end(struct shm_ring_reader *r)
{
	return shm_ring_turn_sleep(r, SLEEP_APP, SLEEP_ENGINE);
}

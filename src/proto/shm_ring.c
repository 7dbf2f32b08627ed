/*
 * shm_ring.c: the shm:// memory layout and ring protocol (see shm_ring.h). A writer is
 * driven by one thread, a reader by one thread; they meet only through the atomics of
 * struct shm_ring_dir and the ring bytes those atomics publish.
 *
 * Everything in the shared mapping may be rewritten by the peer at any moment. So the
 * shared copy of our own index is never read back, the peer's index is loaded once per
 * refresh and checked (`write - read <= size`, 8-byte aligned), and every record header
 * is loaded once (a volatile 8-byte load) and checked against the ring's tail and the
 * published bytes before anything is copied. Payload bytes may change under the copy;
 * that only garbles the peer's own message.
 */
#include "proto/shm_ring.h"
#include "platform/net.h"
#include "platform/shm.h"

#include <errno.h>
#include <string.h>

#define REC_KIND_MASK                                                                    \
	(SHM_REC_PAD | SHM_REC_FRAG_FIRST | SHM_REC_FRAG_MID | SHM_REC_FRAG_LAST |       \
	 SHM_REC_REF)
#define REC_MSG_FLAGS (SHM_REC_MORE | SHM_REC_COMMAND)
#define FIRST_HDR     (SHM_REC_HDR + 8u) /* header plus the total size */

static inline uint64_t
round8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static inline uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* load_once: one 8-byte load from shared memory that the compiler may neither repeat
 * nor split. p is 8-byte aligned. */
static inline uint64_t
load_once(const uint8_t *p)
{
	return *(const volatile uint64_t *)(const void *)p;
}

static inline void
put_hdr(uint8_t *p, uint64_t len, uint32_t flags)
{
	uint64_t h = (uint64_t)(uint32_t)len | (uint64_t)flags << 32;
	memcpy(p, &h, sizeof h);
}

/* take_flag: clears a sleeping flag; true when this call turned it from set to clear,
 * so exactly one side acts on each sleep. The load first keeps the usual case (nobody
 * asleep) free of a locked instruction; it is seq_cst because it is the second half of
 * the store-then-load pairs that decide sleeping (see shm_ring.h). */
static bool
take_flag(_Atomic uint32_t *flag)
{
	if (atomic_load_explicit(flag, memory_order_seq_cst) == 0)
		return false;
	return atomic_exchange_explicit(flag, 0, memory_order_relaxed) != 0;
}

/* ---- region ---- */

bool
shm_ring_size_valid(uint64_t ring_size)
{
	return ring_size >= SHM_RING_SIZE_MIN && ring_size <= SHM_RING_SIZE_MAX &&
	       (ring_size & (ring_size - 1)) == 0;
}

size_t
shm_ring_map_size(uint64_t ring_size)
{
	return (size_t)(SHM_RING_CTL_SIZE + 2 * ring_size);
}

static void
region_clear(struct shm_ring_region *g)
{
	memset(g, 0, sizeof *g);
	g->fd = -1;
}

int
shm_ring_region_create(struct shm_ring_region *g, uint64_t ring_size)
{
	int fd, rc;
	void *base;

	region_clear(g);
	if (!shm_ring_size_valid(ring_size))
		return -EINVAL;
	size_t size = shm_ring_map_size(ring_size);
	if ((rc = zn_shm_memfd_create("zinc-shm", size, &fd)) < 0)
		return rc;
	if ((rc = zn_shm_map(fd, size, &base)) < 0)
		goto fail_map;

	/* The file is fresh, so every index and flag is already zero. */
	struct shm_ring_ctl *ctl = base;
	ctl->magic = SHM_RING_MAGIC;
	ctl->version = SHM_RING_VERSION;
	ctl->ctl_size = SHM_RING_CTL_SIZE;
	ctl->ring_size = ring_size;

	g->fd = fd;
	g->base = base;
	g->map_size = size;
	g->ring_size = ring_size;
	g->creator = true;
	return 0;
fail_map:
	zn_close_fd(fd);
	return rc;
}

int
shm_ring_region_attach(struct shm_ring_region *g, int fd, uint64_t ring_size)
{
	int rc;
	void *base;

	region_clear(g);
	if (!shm_ring_size_valid(ring_size))
		return -EPROTO;
	size_t size = shm_ring_map_size(ring_size);
	if ((rc = zn_shm_memfd_verify(fd, size)) < 0)
		return rc;
	if ((rc = zn_shm_map(fd, size, &base)) < 0)
		return rc;

	/* Each header field read once; the peer may change them later, we never look
	 * again. */
	const volatile struct shm_ring_ctl *ctl = base;
	uint64_t magic = ctl->magic, rsize = ctl->ring_size;
	uint32_t version = ctl->version, csize = ctl->ctl_size;
	if (magic != SHM_RING_MAGIC || version != SHM_RING_VERSION ||
	    csize != SHM_RING_CTL_SIZE || rsize != ring_size) {
		zn_shm_unmap(base, size);
		return -EPROTO;
	}
	g->fd = fd;
	g->base = base;
	g->map_size = size;
	g->ring_size = ring_size;
	g->creator = false;
	return 0;
}

void
shm_ring_region_fini(struct shm_ring_region *g)
{
	zn_shm_unmap(g->base, g->map_size);
	zn_close_fd(g->fd);
	region_clear(g);
}

/* region_ring: ring k's bytes and indices. */
static void
region_ring(const struct shm_ring_region *g, int k, struct shm_ring_dir **ctl,
            uint8_t **data)
{
	struct shm_ring_ctl *c = g->base;
	*ctl = &c->dir[k];
	*data = (uint8_t *)g->base + SHM_RING_CTL_SIZE + (size_t)k * g->ring_size;
}

/* ---- writer ---- */

void
shm_ring_writer_init(struct shm_ring_writer *w, const struct shm_ring_region *g)
{
	memset(w, 0, sizeof *w);
	region_ring(g, g->creator ? 0 : 1, &w->ctl, &w->data);
	w->size = g->ring_size;
	w->mask = g->ring_size - 1;
	w->batch = g->ring_size / 8;
	w->plain_max = g->ring_size / 2;
	w->frag_max = min64(g->ring_size / 4, (uint64_t)128 << 10);
	w->frag_min = w->frag_max / 4;
}

static inline uint64_t
writer_free(const struct shm_ring_writer *w)
{
	return w->size - (w->wr - w->rd_cache);
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
	if (writer_free(w) >= n)
		return 1;
	int rc = writer_refresh(w);
	if (rc < 0)
		return rc;
	if (writer_free(w) >= n)
		return 1;
	w->need = n;
	if (w->wr - w->boundary + n > w->size)
		w->boundary = w->wr;
	return 0;
}

/* The reader's sleeping flag: which of its eventfds the writer raises. Any other value
 * the peer may store counts as SLEEP_ENGINE. */
#define SLEEP_ENGINE 1u
#define SLEEP_APP    2u

/* take_flag_wake: take_flag for the reader's flag, telling which fd to raise. */
static unsigned
take_flag_wake(_Atomic uint32_t *flag)
{
	if (atomic_load_explicit(flag, memory_order_seq_cst) == 0)
		return 0;
	uint32_t was = atomic_exchange_explicit(flag, 0, memory_order_relaxed);
	if (was == 0)
		return 0;
	return was == SLEEP_APP ? SHM_WAKE_APP : SHM_WAKE_ENGINE;
}

/* writer_store: stores the boundary as the write index, then takes the reader's
 * sleeping flag if it is set. Returns the reader's fd to raise (SHM_WAKE_*), or 0. The
 * store and the flag's load are both seq_cst, which orders them against the reader's
 * own pair (no fence needed: a seq_cst store is one locked instruction on x86, like
 * the fence it replaces, and ThreadSanitizer understands it). */
static unsigned
writer_store(struct shm_ring_writer *w)
{
	struct shm_ring_dir *d = w->ctl;
	atomic_store_explicit(&d->write, w->boundary, memory_order_seq_cst);
	w->pub = w->boundary;
	return take_flag_wake(&d->reader_sleeping);
}

/* writer_advance: accounts n bytes written; publishable says whether the ring may be
 * made visible up to the new wr. */
static void
writer_advance(struct shm_ring_writer *w, uint64_t n, bool publishable)
{
	w->wr += n;
	if (publishable)
		w->boundary = w->wr;
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
	put_hdr(w->data + off, tail - SHM_REC_HDR, SHM_REC_PAD);
	writer_advance(w, tail, publishable);
	return 1;
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
	put_hdr(p, len, flags);
	if (len > 0)
		memcpy(p + SHM_REC_HDR, data, len);
	writer_advance(w, rec, !(flags & SHM_REC_MORE));
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
	uint64_t room = min64(w->size - off, writer_free(w)) - hdr; /* a multiple of 8 */
	uint64_t chunk = min64(min64(remaining, w->frag_max), room);
	/* A first fragment is never the whole message: what streams is longer than
	 * plain_max (ring/2), a fragment at most frag_max (<= ring/4). */
	uint32_t flags = chunk == remaining ? SHM_REC_FRAG_LAST : SHM_REC_FRAG_MID;
	if (first)
		flags = SHM_REC_FRAG_FIRST | w->frag_flags;
	uint8_t *p = w->data + off;
	put_hdr(p, chunk, flags);
	if (first)
		memcpy(p + SHM_REC_HDR, &w->frag_total, sizeof w->frag_total);
	memcpy(p + hdr, (const uint8_t *)w->frag_data + w->frag_off, chunk);
	w->frag_off += chunk;
	writer_advance(w, hdr + round8(chunk), true);
	w->wake |= writer_store(w);
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
	if (w->boundary != w->pub)
		wake |= writer_store(w);
	return (int)wake;
}

bool
shm_ring_room_seen(const struct shm_ring_writer *w, uint64_t n)
{
	uint64_t wr = atomic_load_explicit(&w->ctl->write, memory_order_acquire);
	uint64_t rd = atomic_load_explicit(&w->ctl->read, memory_order_acquire);
	return wr - rd <= w->size && w->size - (wr - rd) >= n;
}

bool
shm_ring_writable(struct shm_ring_writer *w, uint64_t n)
{
	if (w->error || writer_free(w) >= n)
		return true;
	if (writer_refresh(w) < 0)
		return true; /* the next write reports it */
	return writer_free(w) >= n;
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
		return; /* a streaming message is visible as it goes */
	w->wr = w->boundary;
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
	if (rc < 0 || writer_free(w) >= w->need) {
		/* Take the flag back, unless the reader took it first: then its signal is
		 * on the way, and sleeping on it keeps one signal per sleep. */
		if (take_flag(&d->writer_sleeping) || rc < 0)
			return rc < 0 ? rc : 1;
	}
	return 0;
}

void
shm_ring_writer_end_sleep(struct shm_ring_writer *w)
{
	atomic_store_explicit(&w->ctl->writer_sleeping, 0, memory_order_relaxed);
}

/* ---- reader ---- */

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

/* reader_refresh: loads the peer's write index and checks that it is at most a ring
 * ahead of what we consumed, and 8-byte aligned. 0 or -EPROTO. */
static int
reader_refresh(struct shm_ring_reader *r)
{
	uint64_t wi = atomic_load_explicit(&r->ctl->write, memory_order_acquire);
	if (wi - r->rd > r->size || (wi & 7) != 0)
		return reader_fail(r, -EPROTO);
	r->w_cache = wi;
	return 0;
}

/* reader_store: stores rd as the read index, then takes the writer's sleeping flag if
 * it is set. Returns whether the writer must be woken. Both seq_cst, as writer_store. */
static bool
reader_store(struct shm_ring_reader *r)
{
	struct shm_ring_dir *d = r->ctl;
	atomic_store_explicit(&d->read, r->rd, memory_order_seq_cst);
	r->released = r->rd;
	return take_flag(&d->writer_sleeping);
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
	uint64_t room;    /* bytes it may span: the tail of the ring, and published */
	uint32_t len, flags;
};

/* rec_size: the bytes a record with hdr header bytes spans, or -EPROTO when it does not
 * fit its room. */
static int
rec_size(const struct rec *c, uint64_t hdr, uint64_t *size)
{
	*size = hdr + round8(c->len);
	return *size <= c->room ? 0 : -EPROTO;
}

/* read_whole: a message in one record. 1 (in *m), or a negative error. */
static int
read_whole(struct shm_ring_reader *r, const struct rec *c, struct msg *m)
{
	uint64_t size;

	if (r->in_frag || c->flags == REC_MSG_FLAGS)
		return reader_fail(r, -EPROTO);
	if (rec_size(c, SHM_REC_HDR, &size) < 0)
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
	if (rec_size(c, FIRST_HDR, &size) < 0)
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
	if (rec_size(c, SHM_REC_HDR, &size) < 0)
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
	if (rec_size(c, SHM_REC_HDR, &size) < 0)
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

bool
shm_ring_readable(const struct shm_ring_reader *r)
{
	if (r->error)
		return true;
	return atomic_load_explicit(&r->ctl->write, memory_order_relaxed) != r->rd;
}

int
shm_ring_read_msg(struct shm_ring_reader *r, struct msg *m)
{
	return shm_ring_read(r, m, NULL);
}

int
shm_ring_read(struct shm_ring_reader *r, struct msg *m, struct shm_ref *ref)
{
	bool refreshed = false;
	int rc;

	if (r->error)
		return r->error;
	for (;;) {
		uint64_t avail = r->w_cache - r->rd;
		if (avail == 0) {
			if (refreshed)
				return 0;
			if ((rc = reader_refresh(r)) < 0)
				return rc;
			refreshed = true;
			avail = r->w_cache - r->rd;
			if (avail == 0)
				return 0;
		}
		uint64_t off = r->rd & r->mask, tail = r->size - off;
		uint64_t h = load_once(r->data + off);
		struct rec c;
		c.p = r->data + off;
		c.room = min64(tail, avail);
		c.len = (uint32_t)h;
		c.flags = (uint32_t)(h >> 32);
		uint32_t kind = c.flags & REC_KIND_MASK;
		if ((c.flags & ~(REC_KIND_MASK | REC_MSG_FLAGS)) != 0)
			return reader_fail(r, -EPROTO);
		if (kind == SHM_REC_PAD) {
			/* Alone, ending exactly at the end of the ring, all published. */
			if (c.flags != SHM_REC_PAD || c.len != tail - SHM_REC_HDR ||
			    tail > avail)
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
	if (atomic_load_explicit(&d->write, memory_order_seq_cst) != r->rd &&
	    take_flag(&d->reader_sleeping))
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

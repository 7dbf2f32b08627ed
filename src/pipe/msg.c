/*
 * msg.c: messages (inline, heap-shared, constant) and their metadata lists; the layout
 * and the contract are in msg.h. A struct msg is touched by one thread at a time; the
 * refcounts on msg_content and on metadata are atomic because copies of one message
 * (PUB fan-out, inproc) are closed from different threads.
 *
 * Refcount orderings: taking a reference is relaxed (the taker already holds one, so
 * the object cannot go away under it); dropping one is a release, and the thread that
 * drops the last one does an acquire before freeing, so every other thread's use of
 * the object happens before the free (see refcnt_drop).
 */
#include "pipe/msg.h"
#include "pipe/road.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "platform/alloc.h"
#include "platform/body_cache.h"
#include "platform/rbuf.h"

/* Data placed right after the header must be aligned for any scalar up to 8 bytes. */
_Static_assert(sizeof(struct msg_content) % 8 == 0, "msg_content must keep data aligned");

struct metadata_pair {
	char *name;  /* NUL-terminated; the value follows in the same allocation */
	char *value; /* NUL-terminated after vlen bytes */
};

struct metadata {
	atomic_uint refcnt; /* starts at 1: the maker; each message holding it adds one */
	int fd;             /* the connection's descriptor (ZMQ_SRCFD), or -1 */
	size_t cap;
	size_t n;
	struct metadata_pair pairs[];
};

/* refcnt_drop: drops one reference; true when it was the last, and then every other
 * holder's accesses happen before the caller's free. The acquire is a load of the
 * counter rather than a fence: the same guarantee (each release decrement heads a
 * release sequence the final load reads from), costs one load on the last drop only,
 * and ThreadSanitizer understands it, which it does not for standalone fences. */
static bool
refcnt_drop(atomic_uint *cnt)
{
	/* The only holder (the common case) needs no read-modify-write: nobody else can
	 * add a reference, since that takes holding one. */
	if (atomic_load_explicit(cnt, memory_order_acquire) == 1)
		return true;
	if (atomic_fetch_sub_explicit(cnt, 1, memory_order_release) != 1)
		return false;
	(void)atomic_load_explicit(cnt, memory_order_acquire);
	return true;
}

/* content_rele: drops one reference to c; the last one frees the data (through the
 * user's free function when there is one) and the header. */
static void
content_rele(struct msg_content *c)
{
	if (!refcnt_drop(&c->refcnt))
		return;
	if (c->cached) {
		zn_body_free(c);
		return;
	}
	if (c->ffn != NULL)
		c->ffn(c->data, c->hint);
	zn_free(c);
}

void
msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
}

/* msg_adopt_content: m (empty) becomes the only holder of the fresh content block c,
 * whose body is data (freed with ffn(data, hint) at the last release; NULL: with c). */
static inline void
msg_adopt_content(struct msg *m, struct msg_content *c, void *data, size_t size,
                  zmq_free_fn *ffn, void *hint)
{
	atomic_init(&c->refcnt, 1);
	c->cached = false;
	c->size = size;
	c->data = data;
	c->ffn = ffn;
	c->hint = hint;
	m->type = MSG_HEAP;
	m->u.heap.content = c;
}

int
msg_init_size(struct msg *m, size_t size)
{
	msg_init(m);
	if (size <= MSG_INLINE_MAX) {
		m->type = MSG_INLINE;
		m->inline_size = (uint8_t)size;
		return 0;
	}
	if (size > SIZE_MAX - sizeof(struct msg_content))
		return -ENOMEM;
	struct msg_content *c = zn_body_alloc(sizeof(*c) + size);
	if (c == NULL)
		return -ENOMEM;
	msg_adopt_content(m, c, c + 1, size, NULL, NULL);
	c->cached = true;
	return 0;
}

int
msg_init_buffer(struct msg *m, const void *data, size_t size)
{
	int rc = msg_init_size(m, size);
	if (rc < 0)
		return rc;
	if (size > 0)
		memcpy(msg_data(m), data, size);
	return 0;
}

int
msg_init_data(struct msg *m, void *data, size_t size, zmq_free_fn *ffn, void *hint)
{
	msg_init(m);
	if (ffn == NULL) {
		m->type = MSG_CONST;
		m->u.cnst.data = data;
		m->u.cnst.size = size;
		return 0;
	}
	struct msg_content *c = zn_malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	msg_adopt_content(m, c, data, size, ffn, hint);
	return 0;
}

int
msg_init_extern(struct msg *m, void *data, size_t size, zmq_free_fn *ffn,
                size_t hint_size, void **hint)
{
	msg_init(m);
	if (hint_size > SIZE_MAX - sizeof(struct msg_content))
		return -ENOMEM;
	struct msg_content *c = zn_malloc(sizeof(*c) + hint_size);
	if (c == NULL)
		return -ENOMEM;
	*hint = c + 1;
	msg_adopt_content(m, c, data, size, ffn, c + 1);
	return 0;
}

void *
msg_extern_hint(const struct msg *m, zmq_free_fn *ffn)
{
	if (m->type != MSG_HEAP || m->u.heap.content->ffn != ffn)
		return NULL;
	return m->u.heap.content->hint;
}

void
msg_init_slice(struct msg *m, struct rbuf *buf, unsigned char *data, uint32_t size)
{
	msg_init(m);
	m->type = MSG_SLICE;
	m->u.slice.buf = buf;
	m->u.slice.data = data;
	m->u.slice.size = size;
}

void
msg_init_delimiter(struct msg *m)
{
	msg_init(m);
	m->type = MSG_DELIMITER;
}

void
msg_init_direct(struct msg *m, struct road *r)
{
	msg_init(m);
	m->type = MSG_DIRECT;
	m->u.road = r;
}

void
msg_close_held(struct msg *m)
{
	if (!msg_is_valid(m))
		return; /* closing twice is harmless inside; the API reports EFAULT */
	if (m->type == MSG_HEAP)
		content_rele(m->u.heap.content);
	else if (m->type == MSG_SLICE)
		rbuf_rele(m->u.slice.buf, 1);
	else if (m->type == MSG_DIRECT && m->u.road)
		road_destroy(m->u.road);
	if (m->meta != NULL)
		metadata_rele(m->meta);
	memset(m, 0, sizeof(*m));
	m->type = MSG_INVALID;
}

void
msg_move(struct msg *dst, struct msg *src)
{
	if (dst == src)
		return;
	msg_close(dst);
	*dst = *src;
	msg_init(src);
}

void
msg_copy(struct msg *dst, struct msg *src)
{
	if (dst == src)
		return;
	msg_close(dst);
	if (src->type == MSG_HEAP)
		atomic_fetch_add_explicit(&src->u.heap.content->refcnt, 1,
		                          memory_order_relaxed);
	if (src->type == MSG_SLICE) {
		rbuf_hold(src->u.slice.buf, 1);
		src->reserved = MSG_SLICE_COPIED;
	}
	if (src->meta != NULL)
		metadata_hold(src->meta);
	*dst = *src;
}

void
msg_hold(struct msg *m, uint32_t n)
{
	if (n == 0)
		return;
	if (m->type == MSG_HEAP)
		atomic_fetch_add_explicit(&m->u.heap.content->refcnt, n,
		                          memory_order_relaxed);
	if (m->type == MSG_SLICE) {
		rbuf_hold(m->u.slice.buf, n);
		m->reserved = MSG_SLICE_COPIED;
	}
	if (m->meta != NULL)
		atomic_fetch_add_explicit(&m->meta->refcnt, n, memory_order_relaxed);
}

void *
msg_data(struct msg *m)
{
	switch (m->type) {
	case MSG_EMPTY:
	case MSG_INLINE: return m->u.inline_data;
	case MSG_HEAP: return m->u.heap.content->data;
	case MSG_CONST: return m->u.cnst.data;
	case MSG_SLICE: return m->u.slice.data;
	default: return NULL;
	}
}

size_t
msg_size(const struct msg *m)
{
	switch (m->type) {
	case MSG_INLINE: return m->inline_size;
	case MSG_HEAP: return m->u.heap.content->size;
	case MSG_CONST: return m->u.cnst.size;
	case MSG_SLICE: return m->u.slice.size;
	default: return 0;
	}
}

bool
msg_is_valid(const struct msg *m)
{
	return m->type <= MSG_SLICE;
}

/* msg_is_shared: true when the data may be seen through another message (a copy holds
 * the same content) or belongs to someone else (a constant buffer), so writing to it in
 * place is unsafe. A copy closed concurrently can only turn true into false. */
bool
msg_is_shared(const struct msg *m)
{
	if (m->type == MSG_CONST)
		return true;
	/* A slice's buffer is shared by design; its bytes are only when copied. */
	if (m->type == MSG_SLICE)
		return m->reserved == MSG_SLICE_COPIED;
	if (m->type == MSG_HEAP)
		return atomic_load_explicit(&m->u.heap.content->refcnt,
		                            memory_order_relaxed) > 1;
	return false;
}

int
msg_narrow(struct msg *m, size_t off, size_t size)
{
	size_t have = msg_size(m);
	if (off > have || size > have - off || msg_is_shared(m))
		return -EINVAL;
	if (m->type == MSG_INLINE) {
		memmove(m->u.inline_data, m->u.inline_data + off, size);
		m->inline_size = (uint8_t)size;
	} else if (m->type == MSG_SLICE) {
		m->u.slice.data += off;
		m->u.slice.size = (uint32_t)size;
	} else if (m->type == MSG_HEAP) {
		/* content_rele frees the block, not data, which may point into it. */
		struct msg_content *c = m->u.heap.content;
		c->data = (uint8_t *)c->data + off;
		c->size = size;
	}
	return 0;
}

void
msg_set_metadata(struct msg *m, struct metadata *meta)
{
	if (meta != NULL)
		metadata_hold(meta);
	if (m->meta != NULL)
		metadata_rele(m->meta);
	m->meta = meta;
}

struct metadata *
metadata_new(size_t cap)
{
	if (cap > (SIZE_MAX - sizeof(struct metadata)) / sizeof(struct metadata_pair))
		return NULL;
	struct metadata *md =
	        zn_malloc(sizeof(struct metadata) + cap * sizeof(struct metadata_pair));
	if (md == NULL)
		return NULL;
	atomic_init(&md->refcnt, 1);
	md->fd = -1;
	md->cap = cap;
	md->n = 0;
	return md;
}

void
metadata_set_fd(struct metadata *md, int fd)
{
	md->fd = fd;
}

int
metadata_fd(const struct metadata *md)
{
	return md ? md->fd : -1;
}

int
metadata_add(struct metadata *md, const char *name, const char *value, size_t vlen)
{
	if (md->n == md->cap)
		return -ENOSPC;
	size_t nlen = strlen(name);
	if (vlen > SIZE_MAX - nlen - 2)
		return -ENOMEM;
	char *buf = zn_malloc(nlen + 1 + vlen + 1);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, name, nlen + 1);
	char *v = buf + nlen + 1;
	if (vlen > 0)
		memcpy(v, value, vlen);
	v[vlen] = '\0';
	md->pairs[md->n].name = buf;
	md->pairs[md->n].value = v;
	md->n++;
	return 0;
}

bool
metadata_at(const struct metadata *md, size_t i, const char **name, const char **value,
            size_t *vlen)
{
	if (i >= md->n)
		return false;
	*name = md->pairs[i].name;
	*value = md->pairs[i].value;
	*vlen = strlen(md->pairs[i].value);
	return true;
}

/* name_eq: ASCII case-insensitive equality, independent of the C locale. */
static bool
name_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca = (unsigned char)(ca - 'A' + 'a');
		if (cb >= 'A' && cb <= 'Z')
			cb = (unsigned char)(cb - 'A' + 'a');
		if (ca != cb)
			return false;
		if (ca == '\0')
			return true;
	}
}

const char *
metadata_get(const struct metadata *md, const char *name)
{
	if (md == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < md->n; i++)
		if (name_eq(md->pairs[i].name, name))
			return md->pairs[i].value;
	return NULL;
}

void
metadata_hold(struct metadata *md)
{
	atomic_fetch_add_explicit(&md->refcnt, 1, memory_order_relaxed);
}

/* 256: one add per 256 messages; a connection that ends keeps at most that many
 * references ahead until its engine goes. */
#define METADATA_BATCH 256

void
metadata_batch_attach(struct metadata_batch *b, struct msg *m)
{
	if (!b->md)
		return;
	if (b->ahead == 0) {
		atomic_fetch_add_explicit(&b->md->refcnt, METADATA_BATCH,
		                          memory_order_relaxed);
		b->ahead = METADATA_BATCH;
	}
	b->ahead--;
	m->meta = b->md;
}

void
metadata_batch_end(struct metadata_batch *b)
{
	/* Never the last references: the batch's owner holds one of its own. */
	if (b->ahead)
		atomic_fetch_sub_explicit(&b->md->refcnt, b->ahead, memory_order_relaxed);
	b->ahead = 0;
}

void
metadata_rele(struct metadata *md)
{
	if (!refcnt_drop(&md->refcnt))
		return;
	for (size_t i = 0; i < md->n; i++)
		zn_free(md->pairs[i].name);
	zn_free(md);
}

/*
 * shm_pool.c: see shm_pool.h. A bitmap of pages, first fit: the lowest free run is
 * reused first, so a steady stream of bodies cycles through the same (cache-warm) pages.
 */
#include "proto/shm_pool.h"

#include <errno.h>
#include <string.h>

#include "platform/alloc.h"
#include "platform/net.h"
#include "platform/platform.h"
#include "platform/shm.h"
#include "proto/shm_link.h"

struct shm_pool {
	atomic_uint refs; /* the context's, each connection's and each body's */
	int fd;
	uint8_t *base;
	size_t size;
	struct zn_mutex lock; /* the bitmap */
	uint32_t npages;
	uint64_t *used; /* one bit per page */
	struct shm_lenders lenders;
};

/* A body's state, after its message's content header (msg_init_extern). */
struct chunk {
	struct shm_pool *pool;
	uint32_t page, npages;
};

static void
pool_free(struct shm_pool *p)
{
	zn_shm_unmap(p->base, p->size);
	zn_close_fd(p->fd);
	zn_mutex_fini(&p->lock);
	zn_mutex_fini(&p->lenders.lock);
	zn_free(p->used);
	zn_free(p);
}

static struct shm_pool *
pool_new(size_t size)
{
	if (size < SHM_POOL_SIZE_MIN)
		size = SHM_POOL_SIZE_MIN;
	if (size > SHM_POOL_SIZE_MAX)
		size = SHM_POOL_SIZE_MAX;
	size = (size + SHM_POOL_PAGE - 1) / SHM_POOL_PAGE * SHM_POOL_PAGE;
	struct shm_pool *p = zn_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->npages = (uint32_t)(size / SHM_POOL_PAGE);
	p->used = zn_calloc((p->npages + 63) / 64, sizeof *p->used);
	if (!p->used)
		goto fail_used;
	void *base;
	if (zn_shm_pool_create("zinc-pool", size, &p->fd, &base) < 0)
		goto fail_create;
	p->base = base;
	p->size = size;
	atomic_init(&p->refs, 1);
	zn_mutex_init(&p->lock);
	zn_mutex_init(&p->lenders.lock);
	atomic_init(&p->lenders.count, 0);
	return p;
fail_create:
	zn_free(p->used);
fail_used:
	zn_free(p);
	return NULL;
}

/* ctx_pool_rele: the context's reference goes (ctx_destroy); with it the last way to
 * make a body in the pool, so the ended links that only wait for bodies to come back
 * go too (shm_zc_retire). */
static void
ctx_pool_rele(void *pool)
{
	shm_zc_retire(pool);
	shm_pool_rele(pool);
}

struct shm_pool *
shm_pool_get(struct ctx *c, size_t size)
{
	zn_mutex_lock(&c->pool_sync);
	struct shm_pool *p = c->pool;
	if (!p && (p = pool_new(size)) != NULL) {
		c->pool = p; /* the context's reference */
		c->pool_rele = ctx_pool_rele;
	}
	if (p)
		shm_pool_hold(p);
	zn_mutex_unlock(&c->pool_sync);
	return p;
}

void
shm_pool_hold(struct shm_pool *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void
shm_pool_rele(struct shm_pool *p)
{
	/* Nothing can find the pool once this reaches 0: the context's reference went
	 * as it was freed, and everything else that uses it holds its own. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		pool_free(p);
}

int
shm_pool_fd(const struct shm_pool *p)
{
	return p->fd;
}

struct shm_lenders *
shm_pool_lenders(struct shm_pool *p)
{
	return &p->lenders;
}

static bool
page_used(const struct shm_pool *p, uint32_t i)
{
	return (p->used[i / 64] >> (i % 64)) & 1;
}

static void
pages_mark(struct shm_pool *p, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t i = first; i < first + n; i++) {
		uint64_t bit = (uint64_t)1 << (i % 64);
		if (used)
			p->used[i / 64] |= bit;
		else
			p->used[i / 64] &= ~bit;
	}
}

/* pages_find: the lowest run of n free pages; true with *first set. Whole free words
 * are skipped 64 pages at a time. */
static bool
pages_find(const struct shm_pool *p, uint32_t n, uint32_t *first)
{
	uint32_t run = 0;
	for (uint32_t i = 0; i < p->npages;) {
		if (i % 64 == 0 && i + 64 <= p->npages && p->used[i / 64] == 0) {
			run += 64;
			i += 64;
		} else if (page_used(p, i)) {
			run = 0;
			i++;
		} else {
			run++;
			i++;
		}
		if (run >= n) {
			*first = i - run;
			return true;
		}
	}
	return false;
}

static void
chunk_free(void *data, void *hint)
{
	(void)data;
	struct chunk *c = hint;
	struct shm_pool *p = c->pool;
	zn_mutex_lock(&p->lock);
	pages_mark(p, c->page, c->npages, false);
	zn_mutex_unlock(&p->lock);
	shm_pool_rele(p);
}

int
shm_pool_msg(struct shm_pool *p, struct msg *m, size_t size)
{
	msg_init(m);
	if (size == 0 || size > p->size)
		return -ENOMEM;
	uint32_t n = (uint32_t)((size + SHM_POOL_PAGE - 1) / SHM_POOL_PAGE), first;
	zn_mutex_lock(&p->lock);
	bool found = pages_find(p, n, &first);
	if (found)
		pages_mark(p, first, n, true);
	zn_mutex_unlock(&p->lock);
	if (!found)
		return -ENOMEM;
	void *hint;
	int rc = msg_init_extern(m, p->base + (size_t)first * SHM_POOL_PAGE, size,
	                         chunk_free, sizeof(struct chunk), &hint);
	if (rc < 0) {
		zn_mutex_lock(&p->lock);
		pages_mark(p, first, n, false);
		zn_mutex_unlock(&p->lock);
		return rc;
	}
	struct chunk *c = hint;
	c->pool = p;
	c->page = first;
	c->npages = n;
	shm_pool_hold(p);
	return 0;
}

bool
shm_pool_locate(struct shm_pool *p, struct msg *m, uint64_t *off)
{
	struct chunk *c = msg_extern_hint(m, chunk_free);
	if (!c || c->pool != p)
		return false;
	/* A narrowed view (msg_narrow) still lies inside its pages. */
	*off = (uint64_t)((uint8_t *)msg_data(m) - p->base);
	return true;
}

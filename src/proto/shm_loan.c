/*
 * shm_loan.c: zero-copy over an shm:// link, lending and borrowing (see shm_loan.h).
 * The entry points are declared in shm_link.h, as part of the link's API.
 */
#include "proto/shm_loan.h"

#include <errno.h>
#include <string.h>

#include "platform/alloc.h"
#include "platform/platform.h"
#include "platform/shm.h"

struct shm_loans {
	uint64_t rel_rd; /* returns consumed */
	uint32_t out;    /* bodies lent */
	uint32_t nfree;
	uint32_t free[SHM_ZC_LOANS];
	uint32_t gen[SHM_ZC_LOANS];
	uint64_t pos[SHM_ZC_LOANS]; /* where the loan's record is in the ring */
	bool live[SHM_ZC_LOANS];
	struct msg held[SHM_ZC_LOANS]; /* a reference to each body lent */
};

/* Every link that lends from a pool, live or ended (a zombie: it ended with bodies
 * lent, and keeps its memory mapped because the peer hands bodies back through it), is
 * on that pool's list (shm_pool_lenders). Whoever needs the pool's room (shm_zc_reap)
 * takes back what came back on all of them. */
static void
lenders_add(struct shm_link *l)
{
	struct shm_lenders *ls = shm_pool_lenders(l->pool);
	zn_mutex_lock(&ls->lock);
	l->zombie_next = ls->head;
	ls->head = l;
	l->listed = true;
	atomic_fetch_add_explicit(&ls->count, 1, memory_order_release);
	zn_mutex_unlock(&ls->lock);
}

/* lenders_remove_locked: takes l off its pool's list (if it is on it). Under the
 * list's lock. */
static void
lenders_remove_locked(struct shm_lenders *ls, struct shm_link *l)
{
	if (!l->listed)
		return;
	for (struct shm_link **pz = &ls->head; *pz; pz = &(*pz)->zombie_next) {
		if (*pz == l) {
			*pz = l->zombie_next;
			break;
		}
	}
	l->listed = false;
	atomic_fetch_sub_explicit(&ls->count, 1, memory_order_relaxed);
}

/* The zero-copy blocks: of the ring we write (its returns come to us) and of the one
 * we read (we return through it). */
static struct shm_ring_zc *
zc_out(const struct shm_link *l)
{
	return shm_ring_region_zc(&l->region, l->region.creator ? 0 : 1);
}

static struct shm_ring_zc *
zc_in(const struct shm_link *l)
{
	return shm_ring_region_zc(&l->region, l->region.creator ? 1 : 0);
}

int
shm_link_zc_lend(struct shm_link *l, struct shm_pool *pool, uint64_t zc_min,
                 int peer_pidfd)
{
	struct shm_loans *lo = zn_calloc(1, sizeof *lo);
	if (!lo)
		return -ENOMEM;
	for (uint32_t i = 0; i < SHM_ZC_LOANS; i++) {
		lo->free[i] = SHM_ZC_LOANS - 1 - i;
		msg_init(&lo->held[i]);
	}
	lo->nfree = SHM_ZC_LOANS;
	l->loans = lo;
	l->pool = pool;
	l->zc_min = zc_min > 0 ? zc_min : 1;
	l->peer_pidfd = peer_pidfd;
	lenders_add(l);
	return 0;
}

int
shm_link_zc_borrow(struct shm_link *l, int fd)
{
	size_t size;
	void *base;

	if (atomic_load_explicit(&l->peer_pool, memory_order_relaxed) != NULL)
		return -EPROTO;
	if (zn_shm_pool_verify(fd, SHM_POOL_SIZE_MAX, &size) < 0)
		return -EPROTO;
	int rc = zn_shm_map_ro(fd, size, &base);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EPROTO;
	l->peer_pool_size = size;
	atomic_store_explicit(&l->peer_pool, base, memory_order_release);
	/* The peer lends once it sees this (and only then writes REF records). */
	atomic_store_explicit(&zc_in(l)->pool_ok, 1, memory_order_release);
	return 0;
}

/* loan_end: the body of slot goes back (the caller holds loan_lock). */
static void
loan_end(struct shm_loans *lo, uint32_t slot)
{
	lo->live[slot] = false;
	msg_close(&lo->held[slot]);
	msg_init(&lo->held[slot]);
	lo->free[lo->nfree++] = slot;
	lo->out--;
}

/* loans_drain: takes what the peer handed back. Each name is checked: a slot out of
 * range, not lent, or of another generation is ignored; a queue index the peer moved
 * beyond what it could have written stops the draining for good (its bodies come back
 * when the link ends and its process exits). Under loan_lock. */
static void
loans_drain(struct shm_link *l)
{
	struct shm_loans *lo = l->loans;
	struct shm_ring_zc *zc = zc_out(l);
	uint64_t w = atomic_load_explicit(&zc->rel_write, memory_order_acquire);
	if (w == lo->rel_rd || w - lo->rel_rd > SHM_ZC_LOANS)
		return;
	for (; lo->rel_rd != w; lo->rel_rd++) {
		uint64_t v = atomic_load_explicit(&zc->rel[lo->rel_rd % SHM_ZC_LOANS],
		                                  memory_order_relaxed);
		uint32_t slot = (uint32_t)v, gen = (uint32_t)(v >> 32);
		if (slot < SHM_ZC_LOANS && lo->live[slot] && lo->gen[slot] == gen)
			loan_end(lo, slot);
	}
	atomic_store_explicit(&zc->rel_read, lo->rel_rd, memory_order_release);
}

void
shm_loan_fini(struct shm_link *l)
{
	struct shm_loans *lo = l->loans;
	if (!lo)
		return;
	struct shm_lenders *ls = shm_pool_lenders(l->pool);
	zn_mutex_lock(&ls->lock);
	lenders_remove_locked(ls, l);
	zn_mutex_unlock(&ls->lock);
	for (uint32_t i = 0; i < SHM_ZC_LOANS; i++)
		if (lo->live[i])
			loan_end(lo, i);
	zn_free(lo);
	l->loans = NULL;
}

/* shm_loan_become_zombie: at the last reference, whether bodies are still lent (and the
 * pool not retired: then they need not come back); then the link stays on the lenders'
 * list, a zombie, instead of being freed. Under the list's lock, so that
 * shm_zc_retire, which frees the zombies it finds, cannot pass between the check and
 * the mark. */
bool
shm_loan_become_zombie(struct shm_link *l)
{
	if (!l->loans || !l->region.base)
		return false;
	struct shm_lenders *ls = shm_pool_lenders(l->pool);
	/* Lock order: the lenders' list, then the link's loan_lock. */
	zn_mutex_lock(&ls->lock);
	zn_mutex_lock(&l->loan_lock);
	loans_drain(l);
	bool out = l->loans->out > 0 && !ls->retired;
	if (out)
		atomic_store_explicit(&l->zombie, true, memory_order_release);
	zn_mutex_unlock(&l->loan_lock);
	zn_mutex_unlock(&ls->lock);
	return out;
}

/* lender_reap: drains l; when pressed (the pool is short), also takes back all it
 * lent if the peer's process has exited (its mappings are gone: nothing it held can
 * be read any more, nor handed back). True when l is a zombie with nothing lent.
 * Under the lenders' list's lock, which comes before loan_lock. */
static bool
lender_reap(struct shm_link *l, bool pressed)
{
	struct shm_loans *lo = l->loans;
	zn_mutex_lock(&l->loan_lock);
	loans_drain(l);
	if (pressed && lo->out > 0 && l->peer_pidfd >= 0 &&
	    zn_shm_pidfd_exited(l->peer_pidfd)) {
		for (uint32_t i = 0; i < SHM_ZC_LOANS; i++)
			if (lo->live[i])
				loan_end(lo, i);
	}
	bool done =
	        atomic_load_explicit(&l->zombie, memory_order_acquire) && lo->out == 0;
	zn_mutex_unlock(&l->loan_lock);
	return done;
}

/* links_free: frees a chain of zombies taken off the list (through zombie_next),
 * outside its lock: closing bodies takes the pool's, and may free the pool. */
static void
links_free(struct shm_link *done)
{
	while (done) {
		struct shm_link *z = done;
		done = z->zombie_next;
		shm_link_free(z);
	}
}

void
shm_zc_reap(struct shm_pool *pool, bool pressed)
{
	struct shm_lenders *ls = shm_pool_lenders(pool);
	if (atomic_load_explicit(&ls->count, memory_order_acquire) == 0)
		return;
	struct shm_link *done = NULL;
	/* Lock order: the lenders' list, then each link's loan_lock (in lender_reap). */
	zn_mutex_lock(&ls->lock);
	for (struct shm_link *l = ls->head, *next; l; l = next) {
		next = l->zombie_next;
		if (lender_reap(l, pressed)) {
			lenders_remove_locked(ls, l);
			l->zombie_next = done;
			done = l;
		}
	}
	zn_mutex_unlock(&ls->lock);
	links_free(done);
}

void
shm_zc_retire(struct shm_pool *pool)
{
	struct shm_lenders *ls = shm_pool_lenders(pool);
	struct shm_link *done = NULL;
	zn_mutex_lock(&ls->lock);
	ls->retired = true;
	for (struct shm_link *l = ls->head, *next; l; l = next) {
		next = l->zombie_next;
		if (atomic_load_explicit(&l->zombie, memory_order_acquire)) {
			lenders_remove_locked(ls, l);
			l->zombie_next = done;
			done = l;
		}
	}
	zn_mutex_unlock(&ls->lock);
	links_free(done); /* their loans end with them */
}

/* shm_loan_eligible: whether m would be lent now (rather than copied through the
 * ring). */
bool
shm_loan_eligible(struct shm_link *l, struct msg *m)
{
	return l->loans && msg_size(m) >= l->zc_min && !(msg_flags(m) & MSGF_COMMAND) &&
	       !shm_ring_writer_streaming(&l->w) &&
	       atomic_load_explicit(&zc_out(l)->pool_ok, memory_order_acquire) == 1;
}

/* zc_into_pool: m's body is copied once into the pool, and m becomes that pool
 * message (so a retry after -EAGAIN lends it without copying again). 0, or -ENOMEM
 * when the pool has no room even after taking back what came back. */
static int
zc_into_pool(struct shm_link *l, struct msg *m)
{
	struct msg c;
	size_t size = msg_size(m);
	if (shm_pool_msg(l->pool, &c, size) < 0) {
		shm_zc_reap(l->pool, true);
		if (shm_pool_msg(l->pool, &c, size) < 0)
			return -ENOMEM;
	}
	memcpy(msg_data(&c), msg_data(m), size);
	msg_set_flags(&c, msg_flags(m));
	c.routing_id = m->routing_id;
	msg_close(m);
	*m = c;
	return 0;
}

/* zc_lend: writes a REF record for m. 0 (m lent and reset), 1 not lent (copy it),
 * -EAGAIN (no room in the ring; m may now be a pool message), -EPROTO. */
static int
zc_lend(struct shm_link *l, struct msg *m)
{
	uint64_t off;
	if (!shm_pool_locate(l->pool, m, &off)) {
		if (zc_into_pool(l, m) < 0 || !shm_pool_locate(l->pool, m, &off))
			return 1;
	}
	struct shm_loans *lo = l->loans;
	zn_mutex_lock(&l->loan_lock);
	loans_drain(l);
	if (lo->nfree == 0) {
		zn_mutex_unlock(&l->loan_lock);
		return 1;
	}
	uint32_t slot = lo->free[lo->nfree - 1];
	struct shm_ref ref = {
	        .slot = slot, .gen = lo->gen[slot] + 1, .off = off, .len = msg_size(m)};
	int rc = shm_ring_write_ref(&l->w, &ref, (msg_flags(m) & MSGF_MORE) != 0);
	if (rc < 0) {
		zn_mutex_unlock(&l->loan_lock);
		return rc;
	}
	lo->nfree--;
	lo->gen[slot] = ref.gen;
	lo->live[slot] = true;
	lo->pos[slot] = shm_ring_writer_pos(&l->w) - (SHM_REC_HDR + sizeof ref);
	lo->held[slot] = *m; /* m's reference becomes the loan's */
	msg_set_metadata(&lo->held[slot], NULL);
	lo->out++;
	zn_mutex_unlock(&l->loan_lock);
	msg_init(m);
	return 0;
}

int
shm_link_write(struct shm_link *l, struct msg *m)
{
	if (shm_loan_eligible(l, m)) {
		int rc = zc_lend(l, m);
		if (rc != 1)
			return rc;
	}
	return shm_ring_write_msg(&l->w, m);
}

void
shm_link_rollback(struct shm_link *l)
{
	shm_ring_writer_rollback(&l->w);
	struct shm_loans *lo = l->loans;
	if (!lo)
		return;
	uint64_t at = shm_ring_writer_pos(&l->w);
	zn_mutex_lock(&l->loan_lock);
	for (uint32_t i = 0; i < SHM_ZC_LOANS; i++)
		if (lo->live[i] && lo->pos[i] >= at)
			loan_end(lo, i); /* its record is gone: the peer never sees it */
	zn_mutex_unlock(&l->loan_lock);
}

/* A borrowed body's state, after its message's content header. */
struct borrow {
	struct shm_link *l;
	uint64_t name; /* slot | gen << 32, as the lender named it */
};

/* give_back: hands a loan back through the release queue. Any thread. A full queue
 * (which an honest lender never lets happen) or an index the lender moved out of
 * bounds drops it: only the lender loses. */
static void
give_back(struct shm_link *l, uint64_t name)
{
	struct shm_ring_zc *zc = zc_in(l);
	zn_mutex_lock(&l->rel_lock);
	uint64_t r = atomic_load_explicit(&zc->rel_read, memory_order_acquire);
	if (l->rel_w - r < SHM_ZC_LOANS) {
		atomic_store_explicit(&zc->rel[l->rel_w % SHM_ZC_LOANS], name,
		                      memory_order_relaxed);
		l->rel_w++;
		atomic_store_explicit(&zc->rel_write, l->rel_w, memory_order_release);
	}
	zn_mutex_unlock(&l->rel_lock);
	/* The lender may be our own context's (a pair within one context, its link
	 * perhaps ended already): it takes the body back now rather than at the pool's
	 * next use, which may never come once the context is gone. */
	if (l->pool)
		shm_zc_reap(l->pool, false);
}

static void
borrow_free(void *data, void *hint)
{
	(void)data;
	struct borrow *b = hint;
	give_back(b->l, b->name);
	shm_link_rele(b->l);
}

/* borrow: m (empty but for its flags) becomes the body ref names in the peer's pool,
 * after checking it lies inside. 1, -EPROTO, -EMSGSIZE, -ENOMEM. */
static int
borrow(struct shm_link *l, struct msg *m, const struct shm_ref *ref)
{
	const uint8_t *base = atomic_load_explicit(&l->peer_pool, memory_order_acquire);
	size_t size = l->peer_pool_size;
	uint64_t name = ref->slot | (uint64_t)ref->gen << 32;
	if (!base || ref->len == 0 || ref->len > size || ref->off > size - ref->len)
		return -EPROTO;
	if (ref->len > l->r.maxmsgsize) {
		give_back(l, name);
		return -EMSGSIZE;
	}
	unsigned flags = msg_flags(m);
	void *hint;
	int rc =
	        msg_init_extern(m, (void *)(uintptr_t)(base + ref->off), (size_t)ref->len,
	                        borrow_free, sizeof(struct borrow), &hint);
	if (rc < 0) {
		give_back(l, name);
		return rc;
	}
	struct borrow *b = hint;
	b->l = l;
	b->name = name;
	shm_link_hold(l);
	msg_set_flags(m, flags);
	return 1;
}

/* shm_loan_borrows_unread: at the end, the REF records left unread in our ring name
 * bodies we will never take: they are handed back at once, so the lender gets them back
 * even though this process lives on. Stops at the first record that is not one (or a
 * protocol error): whole messages are only skipped over by reading them. */
void
shm_loan_borrows_unread(struct shm_link *l)
{
	if (!l->region.base ||
	    atomic_load_explicit(&l->peer_pool, memory_order_relaxed) == NULL)
		return;
	for (;;) {
		struct msg m;
		struct shm_ref ref;
		msg_init(&m);
		int rc = shm_ring_read(&l->r, &m, &ref);
		if (rc == 2)
			give_back(l, ref.slot | (uint64_t)ref.gen << 32);
		else if (rc == 1)
			msg_close(&m);
		else
			return;
	}
}

int
shm_link_read(struct shm_link *l, struct msg *m)
{
	struct shm_ref ref;
	int rc = shm_ring_read(&l->r, m, &ref);
	return rc == 2 ? borrow(l, m, &ref) : rc;
}

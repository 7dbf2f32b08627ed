/*
 * test_body_cache.c: the message body cache of src/platform/body_cache.h. Sizes across
 * every class boundary keep their bytes and alignment; a block comes back to the thread
 * that made it, whether it was freed there or elsewhere (by a thread that exits, or one
 * still alive, which gives them back in chains and when it flushes); blocks outlive their
 * maker's thread; the failure hook fails a cached allocation as it fails any other; and a
 * producer and a consumer thread (producers replaced as they go, so heaps die with
 * blocks in flight) trade a million blocks with their contents checked. Leaks and
 * races show under valgrind, ASan and TSan.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "testutil.h"
#include "platform/alloc.h"
#include "platform/body_cache.h"

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31u + i * 7u);
}

static bool
filled(const uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed * 31u + i * 7u))
			return false;
	return true;
}

/* fill_ends / ends_filled: the first and the last KiB of a block (all of a small one),
 * so that blocks of megabytes cost little under valgrind. */
static void
fill_ends(uint8_t *p, size_t n, uint32_t seed)
{
	if (n < 2048) {
		fill(p, n, seed);
		return;
	}
	fill(p, 1024, seed);
	fill(p + n - 1024, 1024, seed + 1);
}

static bool
ends_filled(const uint8_t *p, size_t n, uint32_t seed)
{
	if (n < 2048)
		return filled(p, n, seed);
	return filled(p, 1024, seed) && filled(p + n - 1024, 1024, seed + 1);
}

/* Sizes on both sides of each class boundary (header included: 32 bytes) and beyond
 * the largest class. */
static void
test_sizes_keep_bytes_and_alignment(void)
{
	size_t sizes[200];
	int n = 0;
	sizes[n++] = 0;
	sizes[n++] = 1;
	for (size_t edge = 128; edge <= ((size_t)1 << 23); edge += edge / 4) {
		sizes[n++] = edge - 33;
		sizes[n++] = edge - 32;
		sizes[n++] = edge - 31;
	}
	void *blocks[200];
	for (int i = 0; i < n; i++) {
		blocks[i] = zn_body_alloc(sizes[i]);
		CHECK(blocks[i] != NULL);
		CHECK_EQ((uintptr_t)blocks[i] % 16, 0);
		fill_ends(blocks[i], sizes[i], (uint32_t)i);
	}
	for (int i = 0; i < n; i++) {
		CHECK(ends_filled(blocks[i], sizes[i], (uint32_t)i));
		zn_body_free(blocks[i]);
	}
	zn_body_free(NULL);
}

static void
test_own_free_is_reused(void)
{
	void *p = zn_body_alloc(1000);
	CHECK(p != NULL);
	zn_body_free(p);
	void *q = zn_body_alloc(1010); /* the same class (1280 bytes) */
	CHECK(q == p);
	zn_body_free(q);
}

#define BATCH 64

struct batch {
	void *blocks[BATCH];
};

static void *
free_batch(void *arg)
{
	struct batch *b = arg;
	for (int i = 0; i < BATCH; i++)
		zn_body_free(b->blocks[i]);
	return NULL;
}

static void
test_remote_free_comes_back(void)
{
	struct batch b;
	for (int i = 0; i < BATCH; i++) {
		b.blocks[i] = zn_body_alloc(2000);
		CHECK(b.blocks[i] != NULL);
	}
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, free_batch, &b), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	/* Freed in another thread: every one is ours again, none new. */
	for (int i = 0; i < BATCH; i++) {
		void *p = zn_body_alloc(2000);
		bool known = false;
		for (int j = 0; j < BATCH && !known; j++)
			known = p == b.blocks[j];
		CHECK(known);
		zn_body_free(p); /* back on our own list: the next one is the same */
	}
}

/* by_size_maker: in a thread of its own (a fresh heap, nothing cached from the other
 * cases), makes blocks of three sizes, has another thread free them all, then asks
 * for the same sizes again: each size gets its own blocks back, every one of them,
 * and no block twice. Returns NULL when that holds, else a description. */
static void *
by_size_maker(void *arg)
{
	(void)arg;
	static const size_t sizes[3] = {100, 2000, 70000};
	struct batch b;
	for (int i = 0; i < BATCH; i++)
		if (!(b.blocks[i] = zn_body_alloc(sizes[i % 3])))
			return "out of memory";
	pthread_t t;
	if (pthread_create(&t, NULL, free_batch, &b) != 0 || pthread_join(t, NULL) != 0)
		return "no thread";
	bool given[BATCH] = {false};
	void *again[BATCH];
	const char *bad = NULL;
	for (int i = 0; i < BATCH; i++) {
		void *p = again[i] = zn_body_alloc(sizes[i % 3]);
		int found = -1;
		for (int j = 0; j < BATCH && found < 0; j++)
			if (p == b.blocks[j])
				found = j;
		if (found < 0)
			bad = bad ? bad : "a new block, not one given back";
		else if (found % 3 != i % 3)
			bad = bad ? bad : "a block of another size";
		else if (given[found])
			bad = bad ? bad : "a block given twice";
		else
			given[found] = true;
	}
	for (int i = 0; i < BATCH; i++)
		zn_body_free(again[i]);
	return (void *)bad;
}

static void
test_remote_frees_come_back_by_size(void)
{
	pthread_t t;
	void *bad = "not run";
	CHECK_EQ(pthread_create(&t, NULL, by_size_maker, NULL), 0);
	CHECK_EQ(pthread_join(t, &bad), 0);
	if (bad)
		fprintf(stderr, "  %s\n", (const char *)bad);
	CHECK(bad == NULL);
}

/* A freeing thread that stays alive gives blocks back in chains (as its chains fill
 * up, and all it holds when it is about to block: zn_body_flush_frees). */
struct live_freer {
	void *blocks[BATCH];
	int n;          /* how many it frees */
	bool flush;     /* and then zn_body_flush_frees */
	int to_kid[2];  /* a byte: go; 'q': quit */
	int to_main[2]; /* a byte: done */
};

static void *
live_freer(void *arg)
{
	struct live_freer *f = arg;
	char c;
	CHECK_EQ(read(f->to_kid[0], &c, 1), 1);
	for (int i = 0; i < f->n; i++)
		zn_body_free(f->blocks[i]);
	if (f->flush)
		zn_body_flush_frees();
	CHECK_EQ(write(f->to_main[1], "d", 1), 1);
	CHECK_EQ(read(f->to_kid[0], &c, 1), 1); /* alive until told */
	return NULL;
}

/* come_back_all: f->n blocks of size from our heap, each one of those f freed. */
static void
come_back_all(struct live_freer *f, size_t size)
{
	void *again[BATCH];
	for (int i = 0; i < f->n; i++) {
		void *p = again[i] = zn_body_alloc(size);
		bool known = false;
		for (int j = 0; j < f->n && !known; j++)
			known = p == f->blocks[j];
		CHECK(known);
	}
	for (int i = 0; i < f->n; i++)
		zn_body_free(again[i]);
}

static void *
live_freer_case(void *arg)
{
	struct live_freer *f = arg;
	for (int i = 0; i < f->n; i++)
		CHECK((f->blocks[i] = zn_body_alloc(1500)) != NULL);
	pthread_t t;
	CHECK_EQ(pipe(f->to_kid), 0);
	CHECK_EQ(pipe(f->to_main), 0);
	CHECK_EQ(pthread_create(&t, NULL, live_freer, f), 0);
	CHECK_EQ(write(f->to_kid[1], "g", 1), 1);
	char c;
	CHECK_EQ(read(f->to_main[0], &c, 1), 1);
	come_back_all(f, 1500); /* while the freeing thread is still there */
	CHECK_EQ(write(f->to_kid[1], "q", 1), 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(f->to_kid[i]);
		close(f->to_main[i]);
	}
	return NULL;
}

static void
test_live_freer_gives_back(void)
{
	/* Each in a fresh thread, so that its heap has nothing else cached. */
	struct live_freer full = {.n = BATCH, .flush = false}; /* two whole chains */
	struct live_freer flushed = {.n = 10, .flush = true};  /* a short one */
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, live_freer_case, &full), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(pthread_create(&t, NULL, live_freer_case, &flushed), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
}

static void *
make_batch_and_exit(void *arg)
{
	struct batch *b = arg;
	/* Some cached on our own lists at exit, some returned after it. */
	for (int i = 0; i < BATCH; i++) {
		void *spare = zn_body_alloc(300 + (size_t)i * 97);
		b->blocks[i] = zn_body_alloc(300 + (size_t)i * 97);
		if (!spare || !b->blocks[i])
			return "allocation failed";
		fill(b->blocks[i], 300 + (size_t)i * 97, (uint32_t)i);
		zn_body_free(spare);
	}
	return NULL;
}

static void
test_blocks_outlive_their_thread(void)
{
	struct batch b;
	pthread_t t;
	void *ret = "";
	CHECK_EQ(pthread_create(&t, NULL, make_batch_and_exit, &b), 0);
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK(ret == NULL);
	for (int i = 0; i < BATCH; i++) {
		CHECK(filled(b.blocks[i], 300 + (size_t)i * 97, (uint32_t)i));
		zn_body_free(b.blocks[i]); /* the heap goes with the last one */
	}
}

static void
test_hook_fails_cached_allocation(void)
{
	void *p = zn_body_alloc(500);
	CHECK(p != NULL);
	zn_body_free(p); /* a cached block is there */
	zn_alloc_fail_after(1, 0);
	CHECK(zn_body_alloc(500) == NULL);
	CHECK_EQ(zn_alloc_failures(), 1);
	zn_alloc_fail_after(0, 0);
	p = zn_body_alloc(500);
	CHECK(p != NULL);
	zn_body_free(p);
}

/* Stress: producers hand blocks to one consumer through a ring. */
#define RING         1024
#define TOTAL        1000000
#define PER_PRODUCER 100000

struct slot {
	void *p;
	size_t size;
	uint32_t seq;
};

struct ring {
	struct slot slots[RING];
	atomic_uint_fast64_t head, tail; /* written by the consumer, the producer */
};

static struct ring ring;

static size_t
size_for(uint32_t seq)
{
	/* Mostly small, some up to ~300 KiB (past the largest class). */
	uint32_t h = seq * 2654435761u;
	if (h % 97 == 0)
		return (h >> 8) % 300000;
	return (h >> 8) % 4000;
}

static void *
producer(void *arg)
{
	uint32_t first = *(uint32_t *)arg;
	for (uint32_t seq = first; seq < first + PER_PRODUCER; seq++) {
		uint64_t tail = atomic_load_explicit(&ring.tail, memory_order_relaxed);
		while (tail - atomic_load_explicit(&ring.head, memory_order_acquire) ==
		       RING)
			sched_yield();
		struct slot *s = &ring.slots[tail % RING];
		s->size = size_for(seq);
		s->p = zn_body_alloc(s->size);
		if (!s->p)
			return "allocation failed";
		s->seq = seq;
		fill(s->p, s->size < 64 ? s->size : 64, seq);
		atomic_store_explicit(&ring.tail, tail + 1, memory_order_release);
	}
	return NULL;
}

static void *
consumer(void *arg)
{
	(void)arg;
	for (uint64_t n = 0; n < TOTAL; n++) {
		while (atomic_load_explicit(&ring.tail, memory_order_acquire) == n)
			sched_yield();
		struct slot *s = &ring.slots[n % RING];
		if (s->seq != n || !filled(s->p, s->size < 64 ? s->size : 64, s->seq))
			return "a block arrived damaged or out of order";
		zn_body_free(s->p);
		atomic_store_explicit(&ring.head, n + 1, memory_order_release);
	}
	return NULL;
}

static void
test_stress_producers_and_consumer(void)
{
	pthread_t c;
	void *ret = "";
	CHECK_EQ(pthread_create(&c, NULL, consumer, NULL), 0);
	/* One producer after another: each exits with blocks still in the ring. */
	for (uint32_t first = 0; first < TOTAL; first += PER_PRODUCER) {
		pthread_t p;
		CHECK_EQ(pthread_create(&p, NULL, producer, &first), 0);
		CHECK_EQ(pthread_join(p, &ret), 0);
		CHECK(ret == NULL);
	}
	CHECK_EQ(pthread_join(c, &ret), 0);
	CHECK(ret == NULL);
}

static const struct test tests[] = {
        {"every size keeps its bytes and 16-byte alignment",
         test_sizes_keep_bytes_and_alignment},
        {"a block freed by its own thread is reused", test_own_free_is_reused},
        {"blocks freed in another thread come back to their maker",
         test_remote_free_comes_back},
        {"blocks of several sizes freed elsewhere come back each to its size",
         test_remote_frees_come_back_by_size},
        {"blocks outlive the thread that made them", test_blocks_outlive_their_thread},
        {"a freeing thread still alive gives blocks back in chains and when it flushes",
         test_live_freer_gives_back},
        {"the failure hook fails a cached allocation too",
         test_hook_fails_cached_allocation},
        {"a million blocks between threads, producers replaced in flight",
         test_stress_producers_and_consumer},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}

/*
 * body_cache.c: see body_cache.h.
 *
 * A block is a 32-byte header and the caller's bytes. The header names the heap the
 * block belongs to (NULL: not cached, straight from the C library) and its class; the
 * link is used only while the block waits on a list.
 *
 * Classes: four per power of two, from 128 bytes (header included) to 4 MiB, so a
 * block is at most a quarter larger than asked for (the pages of a large block that
 * are never written are never made resident). Larger blocks are not cached.
 *
 * The return lists, one per class, are stacks that others push on (compare-and-swap)
 * and only the owner takes from, whole (exchange): no pop, so no ABA. The owner hands
 * out the blocks of a chain it took one by one as they are asked for, never walking
 * it: the blocks were last written by the thread that freed them, and a walk that
 * reads each header (to sort a mixed chain by class, as a single list needed) took a
 * cache miss per block in one go (perf/scale.c pubfan: a sixth of the receiving I/O
 * thread's time, in that loop). When the owner's thread exits it takes each list and
 * leaves a mark in its place in the same exchange; a push that finds the mark frees
 * its block instead. So no block is left on a dead heap, and a pusher never touches
 * the heap after its push (the block it pushed may be freed, and the heap with it, at
 * once). The heap counts its blocks (cached or in use) plus one for its thread; the
 * last to go frees it.
 */
#include "platform/body_cache.h"
#include "platform/alloc.h"
#include "platform/fault.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define BODY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BODY_ASAN 1
#endif
#endif
#ifdef BODY_ASAN
#include <sanitizer/asan_interface.h>
/* A cached block's bytes stay unaddressable, so a use after free is still caught. */
#define BODY_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define BODY_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define BODY_POISON(p, n)   ((void)(p), (void)(n))
#define BODY_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CLASS_MIN_SHIFT 7  /* 128 bytes */
#define CLASS_MAX_SHIFT 22 /* 4 MiB */
#define CLASSES         (1 + (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT) * 4)
#define NO_CLASS        UINT32_MAX
/* What a heap keeps, all classes together, before blocks go back to the C library:
 * freed by its own thread, and returned by others. The return list holds what
 * other threads free while the owner is not allocating: a sender of 1 MiB messages
 * waiting for room in its pipe gets back, before it wakes, the bodies its I/O thread
 * wrote meanwhile (the pipe's reports come every 4 MiB read, but the socket's queue
 * and the engine's batch hold more). With 8 MiB most of them went back to the C
 * library and the sender made its next ones from fresh pages: 381-417 k page faults
 * for 3000 x 1 MiB over tcp against the 258 k of the first 1000 (the HWM's worth),
 * 3.5 k msg/s; 16 MiB: 4.0 k; 32 MiB: 258 k faults, 4.5 k msg/s, and ipc 3.1-3.4 k ->
 * 3.8-3.9 k msg/s (each process on a CPU of its own). A thread keeps at most this
 * much of other threads' frees until it next allocates or exits. */
#define LOCAL_CAP  ((size_t)8 << 20)
#define REMOTE_CAP ((size_t)32 << 20)
/* The bytes the owner takes off remote chains before it says so to the pushers' count
 * (one atomic subtraction per this many, not one per block). */
#define TAKEN_BATCH ((size_t)64 << 10)
/* How much of the next block of a taken chain is fetched ahead. */
#define PREFETCH_MAX 256

struct body_heap;

struct body_hdr {
	struct body_heap *heap; /* NULL: not cached */
	struct body_hdr *next;  /* on a list */
	uint32_t cls;
	uint32_t bytes; /* class_size(cls), header included: frees need not work it out */
	uint64_t pad;   /* the caller's bytes start 16-aligned */
};

_Static_assert(sizeof(struct body_hdr) == 32, "body header keeps 16-byte alignment");

struct body_heap {
	/* The owner's. */
	struct body_hdr *local[CLASSES]; /* freed here */
	struct body_hdr *taken[CLASSES]; /* chains taken off `remote`, being handed out */
	size_t local_bytes;
	size_t taken_unsaid; /* taken off chains, not yet off remote_bytes */
	/* Everyone's, on lines of their own. */
	alignas(64) _Atomic(struct body_hdr *) remote[CLASSES];
	/* On the remote lists or still in taken chains: what other threads' frees hold
	 * back from the C library here. */
	alignas(64) atomic_size_t remote_bytes;
	atomic_long refs; /* blocks alive plus one for the thread */
};

/*
 * Frees of other threads' blocks are gathered per heap and class before they are
 * pushed: a push is two locked instructions on lines the owner also writes (its
 * return list's head, the bytes it holds back), which made zn_body_free a tenth of a
 * receiving application thread's time (tcp, 64 B messages, each made by the I/O
 * thread). A thread keeps a few chains, each pushed whole once it is long enough, when
 * its slot is needed for another heap or class, when the thread is about to block
 * (zn_body_flush_frees, from every blocking wait) and when it exits.
 */
#define GATHER_SLOTS  4
#define GATHER_BLOCKS 32
#define GATHER_BYTES  ((size_t)64 << 10)

struct gather_slot {
	struct body_heap *h; /* NULL: free slot */
	struct body_hdr *head, *tail;
	size_t bytes;
	uint32_t cls, n;
};

struct gather {
	struct gather_slot slot[GATHER_SLOTS];
	uint32_t victim;          /* the slot to push next when all are taken */
	struct gather_slot *last; /* the slot the last block went to */
};

/* A thread's state, in one thread-local block: in a shared library each thread-local
 * costs its own address lookup, and a free touches all of these. */
struct body_tls {
	struct body_heap *heap;
	/* A thread that could not get a heap (no memory, no key) does not try again. */
	bool no_heap;
	/* 0 not yet, 1 the thread's exit pushes what is gathered, -1 no gathering here.
	 */
	int gather_state;
	struct gather gather;
};

static _Thread_local struct body_tls tls;

/* The return list of a heap whose thread has exited. */
static struct body_hdr dead_mark;

static pthread_once_t heap_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t heap_key;
static bool heap_key_ok;

/* class_of: the class for a block of n bytes (header included), or NO_CLASS. */
static uint32_t
class_of(size_t n)
{
	if (n <= ((size_t)1 << CLASS_MIN_SHIFT))
		return 0;
	if (n > ((size_t)1 << CLASS_MAX_SHIFT))
		return NO_CLASS;
	unsigned p = 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	/* 2^(p-1) < n <= 2^p; four steps of 2^(p-3) in between. */
	unsigned step_shift = p - 3;
	size_t k = (n - ((size_t)1 << (p - 1)) + ((size_t)1 << step_shift) - 1) >>
	           step_shift; /* 1..4 */
	return 1 + (p - CLASS_MIN_SHIFT - 1) * 4 + (uint32_t)(k - 1);
}

/* class_size: the bytes of a block of class c. */
static size_t
class_size(uint32_t c)
{
	if (c == 0)
		return (size_t)1 << CLASS_MIN_SHIFT;
	unsigned p = CLASS_MIN_SHIFT + 1 + (c - 1) / 4;
	size_t k = (c - 1) % 4 + 1;
	return ((size_t)1 << (p - 1)) + k * ((size_t)1 << (p - 3));
}

/* block_release: a block goes back to the C library; the last one out frees the heap.
 */
static void
block_release(struct body_heap *h, struct body_hdr *b)
{
	BODY_UNPOISON(b + 1, b->bytes - sizeof *b);
	free(b);
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

/* release_list: every block of a list taken off the return stack. h may be freed by
 * the last one: nothing of h is read after it. */
static void
release_list(struct body_heap *h, struct body_hdr *b)
{
	while (b) {
		struct body_hdr *next = b->next;
		block_release(h, b);
		b = next;
	}
}

/* heap_exit: the owner's thread ends (the key's destructor). */
static void
heap_exit(void *arg)
{
	struct body_heap *h = arg;
	tls.heap = NULL;
	tls.no_heap = true; /* later frees in this thread push like any other's */
	for (uint32_t c = 0; c < CLASSES; c++) {
		struct body_hdr *returned = atomic_exchange_explicit(
		        &h->remote[c], &dead_mark, memory_order_acquire);
		/* The thread's own reference keeps h alive through these. */
		release_list(h, returned);
		release_list(h, h->taken[c]);
		h->taken[c] = NULL;
		release_list(h, h->local[c]);
		h->local[c] = NULL;
	}
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

static void
heap_key_make(void)
{
	/* ZINC_BODY_CACHE=0: every body straight from and back to the C library, for
	 * tools that count what is allocated (a fuzzer's leak check, memory profilers).
	 */
	const char *env = getenv("ZINC_BODY_CACHE");
	if (env && strcmp(env, "0") == 0)
		return;
	heap_key_ok = pthread_key_create(&heap_key, heap_exit) == 0;
}

/* heap_get: this thread's heap, made on its first allocation; NULL when it has none.
 * The heap's own memory is not a message's: it does not count against the hook. */
static struct body_heap *
heap_get(void)
{
	struct body_heap *h = tls.heap;
	if (h || tls.no_heap)
		return h;
	tls.no_heap = true;
	(void)pthread_once(&heap_key_once, heap_key_make);
	if (!heap_key_ok)
		return NULL;
	h = aligned_alloc(64, sizeof *h);
	if (!h)
		return NULL;
	for (uint32_t c = 0; c < CLASSES; c++) {
		h->local[c] = h->taken[c] = NULL;
		atomic_init(&h->remote[c], NULL);
	}
	h->local_bytes = 0;
	h->taken_unsaid = 0;
	atomic_init(&h->remote_bytes, 0);
	atomic_init(&h->refs, 1);
	if (pthread_setspecific(heap_key, h) != 0) {
		free(h);
		return NULL;
	}
	tls.heap = h;
	tls.no_heap = false;
	return h;
}

/* heap_take_remote: the next block of class c that other threads gave back, or NULL.
 * A chain is taken whole when the last one is used up, and only its head is read. */
static struct body_hdr *
heap_take_remote(struct body_heap *h, uint32_t c)
{
	struct body_hdr *b = h->taken[c];
	if (!b) {
		if (!atomic_load_explicit(&h->remote[c], memory_order_relaxed))
			return NULL;
		b = atomic_exchange_explicit(&h->remote[c], NULL, memory_order_acquire);
		if (!b)
			return NULL;
	}
	h->taken[c] = b->next;
	/* The next block was last written by the thread that freed it: its first lines
	 * (a small body's whole) are fetched now, while this one is used, not when it is
	 * asked for (perf, tcp 64 B receiver: most of zn_body_alloc's cycles waited on
	 * its header, and the decoder's copy on the body). A chain is of one class, so
	 * this block's size is the next one's. */
	if (b->next) {
		size_t ahead = b->bytes < PREFETCH_MAX ? b->bytes : PREFETCH_MAX;
		for (size_t off = 0; off < ahead; off += 64)
			__builtin_prefetch((char *)b->next + off, 1);
	}
	h->taken_unsaid += b->bytes;
	if (h->taken_unsaid >= TAKEN_BATCH) {
		atomic_fetch_sub_explicit(&h->remote_bytes, h->taken_unsaid,
		                          memory_order_relaxed);
		h->taken_unsaid = 0;
	}
	return b;
}

/* heap_take: a cached block of class c, or NULL. */
static struct body_hdr *
heap_take(struct body_heap *h, uint32_t c)
{
	struct body_hdr *b = h->local[c];
	if (!b)
		return heap_take_remote(h, c);
	h->local[c] = b->next;
	h->local_bytes -= b->bytes;
	return b;
}

void *
zn_body_alloc(size_t size)
{
	if (zn_fault_hit(&zn_fault_alloc))
		return NULL;
	if (size > SIZE_MAX - sizeof(struct body_hdr))
		return NULL;
	size_t n = size + sizeof(struct body_hdr);
	uint32_t c = class_of(n);
	struct body_heap *h = c == NO_CLASS ? NULL : heap_get();
	if (h) {
		struct body_hdr *b = heap_take(h, c);
		if (b) {
			BODY_UNPOISON(b + 1, b->bytes - sizeof *b);
			return b + 1;
		}
		n = class_size(c);
	}
	struct body_hdr *b = malloc(n);
	if (!b)
		return NULL;
	b->heap = h;
	b->cls = h ? c : NO_CLASS;
	b->bytes = h ? (uint32_t)n : 0;
	if (h)
		atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	return b + 1;
}

/* push_remote: a chain of blocks of one heap and class (head to tail, bytes in all),
 * freed outside the owner's thread, goes on its return list in one exchange. */
static void
push_remote(struct body_heap *h, struct body_hdr *head, struct body_hdr *tail,
            size_t bytes)
{
	if (atomic_load_explicit(&h->remote_bytes, memory_order_relaxed) + bytes >
	    REMOTE_CAP) {
		tail->next = NULL;
		release_list(h, head);
		return;
	}
	atomic_fetch_add_explicit(&h->remote_bytes, bytes, memory_order_relaxed);
	_Atomic(struct body_hdr *) *list = &h->remote[head->cls];
	struct body_hdr *old = atomic_load_explicit(list, memory_order_relaxed);
	do {
		if (old == &dead_mark) { /* the owner has gone: nobody would take them */
			tail->next = NULL;
			release_list(h, head);
			return;
		}
		tail->next = old;
	} while (!atomic_compare_exchange_weak_explicit(
	        list, &old, head, memory_order_release, memory_order_relaxed));
}

static pthread_once_t gather_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t gather_key;
static bool gather_key_ok;

/* Out of line: see gather_slot_new. */
static __attribute__((noinline)) void
gather_push(struct gather_slot *sl)
{
	if (!sl->h)
		return;
	push_remote(sl->h, sl->head, sl->tail, sl->bytes);
	sl->h = NULL;
}

void
zn_body_flush_frees(void)
{
	for (uint32_t i = 0; i < GATHER_SLOTS; i++)
		gather_push(&tls.gather.slot[i]);
}

static void
gather_exit(void *arg)
{
	(void)arg;
	zn_body_flush_frees();
	tls.gather_state = -1; /* later frees in this thread push one by one */
}

static void
gather_key_make(void)
{
	gather_key_ok = pthread_key_create(&gather_key, gather_exit) == 0;
}

/* gather_ready: whether this thread may gather (its exit will push the rest). */
static bool
gather_ready(void)
{
	if (tls.gather_state != 0)
		return tls.gather_state > 0;
	tls.gather_state = -1;
	(void)pthread_once(&gather_key_once, gather_key_make);
	if (!gather_key_ok || pthread_setspecific(gather_key, &tls.gather) != 0)
		return false;
	tls.gather_state = 1;
	return true;
}

/* gather_slot_for: the slot gathering h's blocks of class c, or one made free. */
static struct gather_slot *
gather_slot_for(struct body_heap *h, uint32_t c)
{
	struct gather *g = &tls.gather;
	struct gather_slot *empty = NULL;
	for (uint32_t i = 0; i < GATHER_SLOTS; i++) {
		struct gather_slot *sl = &g->slot[i];
		if (sl->h == h && sl->cls == c)
			return sl;
		if (!sl->h && !empty)
			empty = sl;
	}
	if (!empty) {
		empty = &g->slot[g->victim];
		g->victim = (g->victim + 1) % GATHER_SLOTS;
		gather_push(empty);
	}
	empty->h = h;
	empty->cls = c;
	empty->head = empty->tail = NULL;
	empty->bytes = 0;
	empty->n = 0;
	return empty;
}

/* gather_slot_new: the slot for a block whose heap or class differs from the last
 * one's, or NULL when the block was pushed on its own. Out of line: the run of frees
 * to one slot does not pay for its registers. */
static __attribute__((noinline)) struct gather_slot *
gather_slot_new(struct body_tls *t, struct body_heap *h, struct body_hdr *b, size_t size)
{
	if (size >= GATHER_BYTES || !gather_ready()) {
		push_remote(h, b, b, size);
		return NULL;
	}
	t->gather.last = gather_slot_for(h, b->cls);
	return t->gather.last;
}

/* free_remote: a block freed outside its owner's thread. */
static void
free_remote(struct body_tls *t, struct body_heap *h, struct body_hdr *b, size_t size)
{
	BODY_POISON(b + 1, size - sizeof *b);
	/* Frees come in runs of one heap and class (a batch of one peer's messages):
	 * the last slot first. A pushed slot has no heap, so it never matches. */
	struct gather_slot *sl = t->gather.last;
	if (!sl || sl->h != h || sl->cls != b->cls) {
		sl = gather_slot_new(t, h, b, size);
		if (!sl)
			return;
	}
	b->next = sl->head;
	sl->head = b;
	if (!sl->tail)
		sl->tail = b;
	sl->bytes += size;
	if (++sl->n >= GATHER_BLOCKS || sl->bytes >= GATHER_BYTES)
		gather_push(sl);
}

void
zn_body_free(void *p)
{
	if (!p)
		return;
	struct body_hdr *b = (struct body_hdr *)p - 1;
	struct body_heap *h = b->heap;
	if (!h) {
		free(b);
		return;
	}
	size_t size = b->bytes;
	struct body_tls *t = &tls;
	if (h != t->heap) {
		free_remote(t, h, b, size);
		return;
	}
	if (h->local_bytes + size > LOCAL_CAP) {
		block_release(h, b);
		return;
	}
	BODY_POISON(b + 1, size - sizeof *b);
	b->next = h->local[b->cls];
	h->local[b->cls] = b;
	h->local_bytes += size;
}

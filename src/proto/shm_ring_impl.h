/*
 * shm_ring_impl.h: what the three parts of the ring protocol share (shm_ring.c: the
 * region; shm_ring_writer.c; shm_ring_reader.c): the record layout's helpers, the
 * sleeping flags, where each ring lies in the region. Not for other files: shm_ring.h
 * is the interface.
 */
#ifndef ZINC_PROTO_SHM_RING_IMPL_H
#define ZINC_PROTO_SHM_RING_IMPL_H

#include "proto/shm_ring.h"

#include <stdint.h>
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

/* ring_prefetch: asks for the lines of [off, off + n) of a ring of the given mask,
 * for writing or for reading; within the ring's bytes (wrapping), at most
 * RING_PREFETCH_MAX bytes. A hint: correctness never depends on it. The ring starts
 * on a line, so lines are counted from off's. */
#define RING_PREFETCH_MAX 256u

static inline void
ring_prefetch(const uint8_t *data, uint64_t mask, uint64_t off, uint64_t n, int write)
{
	if (n > RING_PREFETCH_MAX)
		n = RING_PREFETCH_MAX;
	for (uint64_t a = off & ~(uint64_t)63; a < off + n; a += 64) {
		const uint8_t *p = data + (a & mask);
		if (write)
			__builtin_prefetch(p, 1, 3);
		else
			__builtin_prefetch(p, 0, 3);
	}
}

/* hdr_word: a record's header, SHM_REC_VALID included (never zero). */
static inline uint64_t
hdr_word(uint64_t len, uint32_t flags)
{
	return (uint64_t)(uint32_t)len | (uint64_t)(flags | SHM_REC_VALID) << 32;
}

/* ring_word: the 8-byte word at ring position pos, where headers (and the zero that
 * ends what is published) live. The ring starts 8-byte aligned and records keep it. */
static inline _Atomic uint64_t *
ring_word(const uint8_t *data, uint64_t mask, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(uintptr_t)(data + (pos & mask));
}

/* take_flag: clears a sleeping flag; what it held when this call turned it from set
 * to clear, else 0, so exactly one side acts on each sleep. The load first keeps the
 * usual case (nobody asleep) free of a locked instruction; it is seq_cst because it is
 * the second half of the store-then-load pairs that decide sleeping (see shm_ring.h). */
static inline uint32_t
take_flag(_Atomic uint32_t *flag)
{
	if (atomic_load_explicit(flag, memory_order_seq_cst) == 0)
		return 0;
	return atomic_exchange_explicit(flag, 0, memory_order_relaxed);
}

/* The reader's sleeping flag: which of its eventfds the writer raises. Any other value
 * the peer may store counts as SLEEP_ENGINE. */
#define SLEEP_ENGINE 1u
#define SLEEP_APP    2u

/* wake_for: the reader's fd to raise (SHM_WAKE_*) for the flag take_flag took, or 0. */
static inline unsigned
wake_for(uint32_t taken)
{
	if (taken == 0)
		return 0;
	return taken == SLEEP_APP ? SHM_WAKE_APP : SHM_WAKE_ENGINE;
}

/* region_ring: ring k's bytes and indices. */
static inline void
region_ring(const struct shm_ring_region *g, int k, struct shm_ring_dir **ctl,
            uint8_t **data)
{
	struct shm_ring_ctl *c = g->base;
	*ctl = &c->dir[k];
	*data = (uint8_t *)g->base + SHM_RING_CTL_SIZE + (size_t)k * g->ring_size;
}

#endif

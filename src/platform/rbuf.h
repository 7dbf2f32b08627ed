/*
 * rbuf.h: a reference-counted buffer whose header sits right before its bytes, so the
 * bytes can be passed around as a plain pointer and the header found again from it.
 * An I/O thread reads into one (core/poller.h); messages decoded from it may point
 * into it instead of copying their bodies out (pipe/msg.h, MSG_SLICE), each holding a
 * reference, and the buffer is freed by whichever thread drops the last one.
 *
 * Threads: the references are atomic; the bytes are written only while the writer
 * holds the only reference (rbuf_shared is false), and read by any holder after.
 */
#ifndef ZINC_PLATFORM_RBUF_H
#define ZINC_PLATFORM_RBUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct rbuf {
	atomic_uint refs;
	_Alignas(16) unsigned char data[];
};

/* rbuf_new: size bytes (uninitialised), one reference held by the caller; NULL when
 * out of memory. */
unsigned char *rbuf_new(size_t size);

/* rbuf_live: how many buffers exist in the process, not yet freed: a bound on the
 * memory messages can keep alive by pointing into them (proto/engine_stream.c). */
long rbuf_live(void);

/* rbuf_of: the buffer whose bytes start at data (as rbuf_new returned it). */
static inline struct rbuf *
rbuf_of(unsigned char *data)
{
	return (struct rbuf *)(void *)(data - offsetof(struct rbuf, data));
}

/* rbuf_hold: n more references (the caller holds one already). */
static inline void
rbuf_hold(struct rbuf *b, unsigned n)
{
	atomic_fetch_add_explicit(&b->refs, n, memory_order_relaxed);
}

/* rbuf_rele: drops n references; the last one frees the buffer. What a holder read
 * from the bytes happens before whoever writes them next (rbuf_shared). */
void rbuf_rele(struct rbuf *b, unsigned n);

/* rbuf_shared: another reference than the caller's is out; false means the caller
 * holds the only one and may write the bytes again. */
static inline bool
rbuf_shared(struct rbuf *b)
{
	return atomic_load_explicit(&b->refs, memory_order_acquire) > 1;
}

#endif

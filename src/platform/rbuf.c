/*
 * rbuf.c: see rbuf.h.
 */
#include "platform/rbuf.h"
#include "platform/alloc.h"

#include <stdint.h>

/* Process-wide, as the memory it bounds is: one atomic add a buffer (each holds a
 * read of up to 64 KiB, so a stream of small messages pays it once a thousand). */
static atomic_long live;

long
rbuf_live(void)
{
	return atomic_load_explicit(&live, memory_order_relaxed);
}

unsigned char *
rbuf_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct rbuf))
		return NULL;
	struct rbuf *b = zn_malloc(sizeof *b + size);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
	return b->data;
}

void
rbuf_rele(struct rbuf *b, unsigned n)
{
	if (n == 0)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, n, memory_order_acq_rel) == n) {
		zn_free(b);
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	}
}

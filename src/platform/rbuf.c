/*
 * rbuf.c: see rbuf.h.
 */
#include "platform/rbuf.h"
#include "platform/alloc.h"

#include <stdint.h>

unsigned char *
rbuf_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct rbuf))
		return NULL;
	struct rbuf *b = zn_malloc(sizeof *b + size);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	return b->data;
}

void
rbuf_rele(struct rbuf *b, unsigned n)
{
	if (n == 0)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, n, memory_order_acq_rel) == n)
		zn_free(b);
}

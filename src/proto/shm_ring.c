/*
 * shm_ring.c: the shm:// memory layout and ring protocol (see shm_ring.h): the
 * region here, the writer in shm_ring_writer.c, the reader in shm_ring_reader.c. A writer
 * is driven by one thread, a reader by one thread; they meet only through the atomics of
 * struct shm_ring_dir and the ring bytes those atomics publish.
 *
 * Everything in the shared mapping may be rewritten by the peer at any moment. So the
 * shared copy of our own index is never read back, the peer's index is loaded once per
 * refresh and checked (`write - read <= size`, 8-byte aligned), and every record header
 * is loaded once (a volatile 8-byte load) and checked against the ring's tail and the
 * published bytes before anything is copied. Payload bytes may change under the copy;
 * that only garbles the peer's own message.
 */
#include "proto/shm_ring_impl.h"
#include "platform/net.h"
#include "platform/shm.h"

#include <errno.h>
#include <string.h>

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

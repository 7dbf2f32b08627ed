/*
 * body_cache.h: where message bodies (and the ypipes' chunks, made by a queue's writer
 * and freed by its reader: core/ypipe.c) come from. A message is usually made in one
 * thread and freed in another (the application's send freed by the I/O thread after
 * the write, a received one made by the I/O thread and freed by the application), and
 * the C library's allocator serves that pattern at its slowest: the block goes back to
 * the arena of the thread that made it, through that arena's lock, and the next
 * allocation misses the thread caches (callgrind, inproc 1 KiB: 600 of 1300
 * instructions a message in malloc and free).
 *
 * So bodies are recycled to the thread that made them: each thread that allocates has a
 * heap of free blocks by size class; a block freed by its own thread goes on that list,
 * one freed elsewhere is pushed (lock-free) on its heap's return list, which the owner
 * takes whole when its own list is empty (a freeing thread gathers such blocks and
 * pushes a few dozen at a time). Both lists are capped in bytes; past a cap a
 * block goes back to the C library. A heap lives until its thread has exited and the
 * last of its blocks is freed, wherever that happens.
 *
 * This is process-wide state, as the allocator underneath is: zmq_msg_init_size has no
 * context to hang a cache on. Every call counts against the allocation failure hook
 * (fault.h) exactly as zn_malloc does, cached or not, so failure injection sees the
 * same calls. Any thread may call these. With ZINC_BODY_CACHE=0 in the environment
 * (read once, at the first allocation) nothing is cached.
 */
#ifndef ZINC_PLATFORM_BODY_CACHE_H
#define ZINC_PLATFORM_BODY_CACHE_H

#include <stddef.h>

/* zn_body_alloc: size bytes aligned to 16, or NULL (out of memory, or the failure
 * hook fired). Free with zn_body_free only. */
void *zn_body_alloc(size_t size);

/* zn_body_free: gives back a block from zn_body_alloc, from any thread; NULL is
 * ignored. */
void zn_body_free(void *p);

/* zn_body_flush_frees: the blocks this thread freed for other threads' heaps, which
 * it gathers to give back several at a time, go back now. Called before a thread
 * blocks (so that an idle thread holds none back) and by tests. */
void zn_body_flush_frees(void);

#endif

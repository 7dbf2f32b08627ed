/*
 * alloc.h: the one door every zinc allocation goes through (DESIGN.md, seed 003).
 * zn_malloc and friends behave like the C library's, so every caller must check for
 * NULL. A test hook makes the Nth allocation from now fail, to prove that every path
 * turns allocation failure into ENOMEM or a closed connection, never a crash.
 * Any thread may call these.
 */
#ifndef ZINC_PLATFORM_ALLOC_H
#define ZINC_PLATFORM_ALLOC_H

#include <stddef.h>

void *zn_malloc(size_t size);
void *zn_calloc(size_t n, size_t size);
void *zn_realloc(void *p, size_t size);
void zn_free(void *p);
/* zn_strdup: a copy of the string s through zn_malloc, or NULL. */
char *zn_strdup(const char *s);

/* zn_alloc_fail_after: make the allocation n calls from now fail (n = 1: the next one),
 * and every one after it while `sticky` is nonzero. n = 0 disarms the hook. This is a
 * process-wide test facility: allocation has no context to hang it on
 * (zmq_msg_init_size takes none). */
void zn_alloc_fail_after(long n, int sticky);

/* zn_alloc_failures: how many allocations the hook has failed since it was armed. */
long zn_alloc_failures(void);

/* zn_alloc_calls: how many allocations were made since the hook was armed (arm it with
 * a countdown no run reaches, LONG_MAX, to count a run's allocations). */
long zn_alloc_calls(void);

#endif

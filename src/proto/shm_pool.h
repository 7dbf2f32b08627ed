/*
 * shm_pool.h: a context's pool of shared message bodies for shm:// zero-copy (issue
 * 12). One sealed memfd, mapped writable here and passed to every peer that takes
 * zero-copy messages from this process, which can only map it read-only
 * (F_SEAL_FUTURE_WRITE). A body is a run of 4 KiB pages; a message whose body is in the
 * pool is an ordinary heap message (msg_init_extern) whose last release gives the pages
 * back, from whatever thread closes it. Bodies lent to a peer stay held by the lending
 * connection until the peer hands them back (shm_link.h).
 *
 * Each context has its own (struct ctx's pool field: no global), made when one of its
 * sockets with ZINC_SHM_ZEROCOPY first needs it, with that socket's ZINC_SHM_POOL_SIZE.
 * The context holds a reference until it is terminated; each connection that lends
 * from it and each body hold one too, so it is unmapped once the context is gone and
 * no body is out (a received message keeps the lender's pool mapped, read-only, on the
 * borrower's side: shm_link.h). Once the context is gone nothing is made in it again,
 * so bodies lent to peers stop holding it then (shm_zc_retire). A pool also keeps the
 * list of the connections that lend from it (shm_loan.c), so that whoever needs room
 * takes back what came back.
 *
 * Threads: any; the page map is under the pool's lock.
 */
#ifndef ZINC_PROTO_SHM_POOL_H
#define ZINC_PROTO_SHM_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "pipe/msg.h"
#include "platform/platform.h"

#define SHM_POOL_PAGE         4096u
#define SHM_POOL_SIZE_MIN     ((size_t)1 << 20)
#define SHM_POOL_SIZE_MAX     ((size_t)1 << 34)
#define SHM_POOL_SIZE_DEFAULT ((size_t)64 << 20)

struct shm_pool;
struct shm_link;

/* The links that lend from a pool, live or ended with bodies still out (shm_loan.c
 * keeps it; the pool only holds it). retired: the context let the pool go, so nothing
 * is made in it again (shm_zc_retire). */
struct shm_lenders {
	struct zn_mutex lock;
	struct shm_link *head;
	atomic_int count;
	bool retired;
};

/* shm_pool_get: c's pool with a new reference, made with size bytes (rounded to pages,
 * within the bounds) when c has none. NULL when it cannot be made. */
struct shm_pool *shm_pool_get(struct ctx *c, size_t size);
void shm_pool_hold(struct shm_pool *p);
/* shm_pool_rele: the last reference unmaps and closes it. */
void shm_pool_rele(struct shm_pool *p);
/* shm_pool_fd: the memfd to pass to a peer (the pool keeps it). */
int shm_pool_fd(const struct shm_pool *p);
/* shm_pool_lenders: p's list of lending links. */
struct shm_lenders *shm_pool_lenders(struct shm_pool *p);

/* shm_pool_msg: m becomes a message of size bytes (size > 0) whose body is in the pool,
 * holding a reference to it. 0, or -ENOMEM when no run of pages is free (m empty). */
int shm_pool_msg(struct shm_pool *p, struct msg *m, size_t size);

/* shm_pool_locate: whether m's body lies in p; then *off is its offset in the pool. */
bool shm_pool_locate(struct shm_pool *p, struct msg *m, uint64_t *off);

#endif

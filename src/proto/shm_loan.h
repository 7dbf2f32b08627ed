/*
 * shm_loan.h: zero-copy over an shm:// link (ZINC_SHM_ZEROCOPY, issue 12), lending and
 * borrowing message bodies through the pool.
 *
 * Each side that enables it passes its context's pool (proto/shm_pool.h) to the peer
 * over the rendezvous socket after the switch; a peer that enables it too maps it
 * read-only and says so (pool_ok in the ring's zero-copy block). From then on a
 * message of at least the threshold goes into the ring as a REF record naming a loan:
 * its body's place in the pool and the loan's slot and generation. The body is the
 * pool message itself when the application made it there (zinc_msg_init_shm), else a
 * copy made once into the pool. The lender holds the body until the borrower hands the
 * loan back through the release queue; the borrower checks every offset and length
 * against the pool it mapped, and its message holds a reference to this link (so the
 * mapping and the queue stay) until closed, from whatever thread. Returned names are
 * checked (slot in range, lent, same generation), so a bogus or repeated one changes
 * nothing. A link that ends with bodies still lent is kept (a zombie) until they come
 * back, the peer's process has exited (a pidfd) or the context lets the pool go
 * (shm_zc_retire); zombies are looked at whenever the pool is used. No lending when
 * the pool is full, a connection has SHM_ZC_LOANS bodies out, or the peer has not
 * mapped the pool: the message is copied through the ring as before.
 *
 * Locks: a link's loan_lock guards its loans; the pool's list of lenders (struct
 * shm_lenders) has its own. Where both are held, the list's is taken first, then the
 * link's loan_lock (and closing a lent body under them takes the pool's page lock last).
 * rel_lock (the release queue we write as a borrower) is never held with another.
 *
 * The entry points (shm_link_zc_lend, shm_link_zc_borrow, shm_link_write,
 * shm_link_read, shm_link_rollback, shm_zc_reap, shm_zc_retire) are declared in
 * shm_link.h, as part of the link's API. This header holds only what shm_link.c and
 * shm_loan.c need of each other; nothing else includes it.
 */
#ifndef ZINC_PROTO_SHM_LOAN_H
#define ZINC_PROTO_SHM_LOAN_H

#include <stdbool.h>

#include "pipe/msg.h"
#include "proto/shm_link.h"

/* shm_loan_eligible: whether m would be lent now (rather than copied through the
 * ring). The writer's thread. */
bool shm_loan_eligible(struct shm_link *l, struct msg *m);

/* shm_loan_become_zombie: at the last reference, whether bodies are still lent (and
 * the pool not retired); then the link stays on the lenders' list, a zombie, instead
 * of being freed. */
bool shm_loan_become_zombie(struct shm_link *l);

/* shm_loan_borrows_unread: at the end, hands back at once the loans named by REF
 * records left unread in the ring we read. */
void shm_loan_borrows_unread(struct shm_link *l);

/* shm_loan_fini: takes the link off the lenders' list and ends its loans (nothing can
 * come back through it any more). */
void shm_loan_fini(struct shm_link *l);

/* shm_link_free (shm_link.c): frees a link that has no reference and nothing lent
 * that can come back; a zombie's end. */
void shm_link_free(struct shm_link *l);

#endif

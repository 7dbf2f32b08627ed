/*
 * shm_link.h: one shm:// connection's shared memory as a refcounted object: the mapped
 * region, the ring writer and reader, and the two eventfds. The engine (I/O thread)
 * always holds a reference; with spinning on, the socket (any ZMTP type) also gets one
 * as the direct road of their pipe (pipe/direct.h), and then read and write the rings
 * from their own thread. The region stays mapped until both have let go, so neither can
 * touch unmapped memory whatever order they end in.
 *
 * Who uses what: before the hand-over the engine uses the writer and reader; once the
 * road is offered, the socket's thread is the only reader; once `handed` is set, the
 * only writer (pipe/direct.h tells the two-step hand-over: at_marker, ypipe_done). The
 * engine keeps polling `mine` and forwards each wake-up to the pipe (CMD_PIPE_WAKE).
 * `closed` (set by the engine when it ends) and `broken` (set by the socket's thread when
 * the peer broke the protocol; the engine then closes the connection) are the only state
 * both write.
 *
 * Zero-copy (ZINC_SHM_ZEROCOPY, issue 12), lending and borrowing message bodies through
 * the pool: shm_loan.h tells how it works, shm_loan.c does it. Its entry points are
 * declared here with the link's API.
 */
#ifndef ZINC_PROTO_SHM_LINK_H
#define ZINC_PROTO_SHM_LINK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "pipe/direct.h"
#include "pipe/msg.h"
#include "platform/platform.h"
#include "platform/signaler.h"
#include "proto/shm_pool.h"
#include "proto/shm_ring.h"

struct shm_loans;

struct shm_link {
	struct pipe_direct direct; /* the road's ops, for the pipe */
	atomic_uint refs;
	atomic_bool closed;     /* the engine has ended: nothing more will come or go */
	atomic_bool broken;     /* the socket's thread saw the peer break the protocol */
	atomic_bool at_marker;  /* the engine reached the socket end's hand-over marker */
	atomic_bool ypipe_done; /* ... and the socket end stopped writing its pipe */
	atomic_bool handed;     /* the socket's thread writes the ring now */
	/* Shared writing (direct.shared, pipe/direct.h): the messages the socket's thread
	 * put on its ypipe that the engine has not finished writing into the ring. The
	 * socket's thread writes the ring itself only when it is 0 (and at_marker is
	 * set); the engine only while it is not, or before the marker: so the writer
	 * is never used by both. The engine publishes before it makes it 0. */
	atomic_uint pending;
	bool app_dirty; /* the socket's thread wrote the ring since it last published */
	struct shm_ring_region region;
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	struct signaler mine; /* raised by the peer: data or room for us */
	struct signaler peer; /* we raise it for the peer */
	/* The same for a reader's thread that waits on the road itself (the socket's:
	 * shm_ring_sleep_app); fd -1 when the creator passed none (then every wake-up
	 * goes through the I/O thread). */
	struct signaler mine_app;
	struct signaler peer_app;
	struct metadata
	        *meta; /* the connection's properties, for messages read directly */
	/* References to meta taken ahead, for the road's reader (pipe/msg.h). */
	struct metadata_batch meta_batch;
	bool in_armed, out_armed; /* the socket's thread asked for a wake-up */
	/* The parts of a multipart message read off the ring so far: the socket's thread
	 * is given the first only once the last is in, so that a failure (no memory, a
	 * peer that breaks the ring or dies mid-message) never shows it half a message,
	 * as the engine's rollback ensures on the other path. */
	struct msg *parts;
	uint32_t nparts, parts_cap, parts_given;
	bool parts_whole;
	/* Zero-copy, lending (the ring we write): */
	struct shm_pool *pool;        /* ours, passed to the peer; NULL: we do not lend */
	struct shm_loans *loans;      /* the bodies out, under loan_lock */
	struct zn_mutex loan_lock;    /* the lender's thread, and whoever reaps zombies */
	uint64_t zc_min;              /* bodies from this size are lent */
	int peer_pidfd;               /* the peer's process, or -1 */
	struct shm_link *zombie_next; /* the lenders' list (shm_loan.c) */
	bool listed;                  /* on it; under its lock */
	atomic_bool zombie;           /* ended with bodies lent */
	/* Zero-copy, borrowing (the ring we read): */
	_Atomic(const uint8_t *) peer_pool; /* its pool, mapped read-only, or NULL */
	size_t peer_pool_size;
	struct zn_mutex rel_lock; /* the release queue's producer: any closing thread */
	uint64_t rel_w;
	/* The multipart message the socket's thread is writing: where its parts start
	 * being held back, and whether the reader may have seen some of it (a part
	 * streamed, or the ring ran out of room for it all), so it cannot be taken back.
	 */
	uint64_t msg_held;
	bool msg_shown;
};

/* Zero-copy, defined in shm_loan.c. */

/* shm_link_zc_lend: (the engine, before messages flow) lends bodies of at least zc_min
 * bytes from pool, whose reference the link takes; peer_pidfd (or -1) too. 0 or
 * -ENOMEM (then the link takes nothing). */
int shm_link_zc_lend(struct shm_link *l, struct shm_pool *pool, uint64_t zc_min,
                     int peer_pidfd);

/* shm_link_zc_borrow: maps the peer's pool (fd, which stays the caller's) read-only
 * and tells the peer it may lend. 0, -EPROTO (not a sealed memfd, or a second one),
 * -ENOMEM. */
int shm_link_zc_borrow(struct shm_link *l, int fd);

/* shm_link_write: as shm_ring_write_msg on the link's writer, lending m's body when it
 * can (shm_loan.h). */
int shm_link_write(struct shm_link *l, struct msg *m);

/* shm_link_read: as shm_ring_read_msg on the link's reader; a REF record becomes a
 * message whose body is in the peer's pool (read-only). -EPROTO also for a REF that
 * lies outside the pool or came before it. */
int shm_link_read(struct shm_link *l, struct msg *m);

/* shm_link_rollback: as shm_ring_writer_rollback; loans of the dropped records end. */
void shm_link_rollback(struct shm_link *l);

/* shm_zc_reap: takes back the bodies peers handed back, on every link lending from
 * pool, and frees the ended ones that have nothing lent any more. pressed (the pool is
 * short): also everything lent to a peer whose process has exited (one poll(2) per such
 * link). Any thread; cheap when no link lends. */
void shm_zc_reap(struct shm_pool *pool, bool pressed);

/* shm_zc_retire: (the context, as it lets pool go: no socket or connection of it is
 * left) nothing will be made in pool again, so a body lent from it need not come back
 * before its pages could be reused: the ended links waiting for theirs are freed now,
 * and a link that ends later with bodies out is freed rather than kept. Without this
 * nothing would look at those links again (the pool is used no more) and they, the
 * pool and its mapping would stay until the process exits. The borrowers keep reading
 * the bodies through their own mappings; what they hand back is not read. */
void shm_zc_retire(struct shm_pool *pool);

/* shm_link_new: an empty link (no region, fds -1) with one reference. 0 or -ENOMEM. */
int shm_link_new(struct shm_link **out);
void shm_link_hold(struct shm_link *l);
/* shm_link_rele: drops a reference; the last one unmaps and closes everything. */
void shm_link_rele(struct shm_link *l);
/* shm_link_wake_peer: raises the peer's eventfds that shm_ring_publish named. */
void shm_link_wake_peer(struct shm_link *l, int wake);
/* shm_link_waker: shm_link_wake_peer as the writer's waker (arg: the link). */
void shm_link_waker(void *arg, int wake);
/* shm_link_close: (the engine, as it ends) no more traffic; the road's user reads
 * what is left and lets go. */
void shm_link_close(struct shm_link *l);

#endif

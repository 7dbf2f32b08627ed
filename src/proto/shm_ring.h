/*
 * shm_ring.h: the shared-memory half of shm:// (DESIGN.md, seed 002): the layout of the
 * memfd two processes share, and the single-producer single-consumer byte-ring protocol
 * that carries messages through it, one ring per direction.
 *
 * Layout. One sealed memfd (platform/shm.h) holds a 4 KiB control block (struct
 * shm_ring_ctl: magic, version, ring size, and per direction the indices and sleep
 * flags, each on its own cache line) followed by two byte rings of the same power-of-two
 * size. Ring 0 carries the creator's (connecting side's) messages to the attaching side,
 * ring 1 the other way.
 *
 * Records. A frame is a record at an 8-byte aligned offset: an 8-byte header (low 32
 * bits the payload length, high 32 bits the SHM_REC_* flags, SHM_REC_VALID always
 * among them, so no header is zero), the payload, and padding to 8 bytes. A record never
 * wraps: a PAD record fills the tail of the ring instead (its length is exactly the rest
 * of the tail). A message too large to sit in the ring whole streams through as
 * FRAG_FIRST (with an 8-byte total size after the header, and the MORE/COMMAND flags),
 * FRAG_MID..., FRAG_LAST, and is reassembled into one message allocated once from the
 * announced total.
 *
 * Publishing (version 3). A record becomes visible when its header is stored: the
 * reader looks at the header word under its read position and takes a zero there for
 * "nothing yet", so it never loads an index the writer moves, and the only lines
 * that travel are the records' own (with an index polled after every message, the
 * index's line travelled too, and a spinning reader made each publish wait for it).
 * The writer holds back in private the header of the first record it has not
 * published, and stores it (release, seq_cst) once per batch and only at a message
 * boundary, right after making the word that follows what it publishes zero (it keeps
 * 8 bytes of room beyond its records for that word), so a batch,
 * and a multipart message, appears whole (unless the message is larger than the ring
 * and must stream); the other headers of a batch are plain stores that the held one
 * publishes. The first part of a multipart message that follows published-to-be
 * records is held back the same way until its last part is in. `read` counts the
 * bytes the consumer is done with (it only grows; 64 bits never wrap), stored once per
 * batch; the writer loads it only when its cached copy shows too little room. `write`
 * is the producer's published position, stored after each publication for other
 * threads of its own process (shm_ring_room_seen) and tools; the reader never loads
 * it. Both keep their own positions privately and never trust a shared copy.
 *
 * Sleeping. A consumer that finds nothing sets `reader_sleeping` and looks at the
 * header word again before it blocks on its eventfd; a producer stores the held header,
 * then looks at `reader_sleeping` and clears it with an atomic exchange. Each side's
 * store and the load after it are seq_cst (not release/acquire plus a fence: the same
 * cost, and ThreadSanitizer models it), so at least one side sees the other's store:
 * whoever turns it from 1 to 0 raises the eventfd, so there is at most one signal per
 * sleep and none at all while the consumer is busy. A producer facing a full ring does
 * the same with `writer_sleeping` and the consumer's releases.
 *
 * Fenced sleeping. The producer's seq_cst store is a locked instruction that waits for
 * the record's lines, which a spinning consumer keeps taking back: half of a spinning
 * writer's time. A consumer that spins (ZINC_SHM_SPIN_US) sets `reader_fenced` once,
 * and from then on, between storing `reader_sleeping` and looking again, runs
 * zn_shm_fence (membarrier): a full barrier on the producer's CPU, so the producer's
 * earlier header store is visible to it and the producer's later load of the flag sees
 * it. A producer whose process is registered for that fence (zn_shm_fence_ready) then
 * publishes with a plain release store. The fence costs microseconds, once per sleep
 * of a consumer that has just spun for its whole budget.
 *
 * Trust. The other process can write anything anywhere in the shared memory at any time.
 * Every index, length, flag and size this code takes from it is loaded once into a local
 * and checked before use; a violation makes the reader or writer fail with -EPROTO (or
 * -EMSGSIZE past maxmsgsize), stickily, and the caller closes the connection.
 *
 * Threads: a writer is used by one thread, a reader by one (possibly another) thread; a
 * region is set up and torn down by one thread while neither is in use.
 */
#ifndef ZINC_PROTO_SHM_RING_H
#define ZINC_PROTO_SHM_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe/msg.h"

/* Ring size per direction: a power of two within these bounds. */
#define SHM_RING_SIZE_MIN     ((uint64_t)4 << 10)
#define SHM_RING_SIZE_MAX     ((uint64_t)256 << 20)
#define SHM_RING_SIZE_DEFAULT ((uint64_t)1 << 20)

#define SHM_RING_MAGIC    0x31304d53434e495aull /* "ZINCSM01" in memory order */
#define SHM_RING_VERSION  3u
#define SHM_RING_CTL_SIZE 4096u /* the control block; ring 0 starts right after it */
#define SHM_RING_LINE     128   /* two cache lines: adjacent-line prefetch included */

/* Record header flags (the high 32 bits of a header word). */
#define SHM_REC_MORE       0x01u /* another part of this message follows */
#define SHM_REC_COMMAND    0x02u /* a ZMTP command, never with MORE */
#define SHM_REC_PAD        0x04u /* alone: skip to the start of the ring */
#define SHM_REC_FRAG_FIRST 0x08u /* may carry MORE or COMMAND; 8-byte total follows */
#define SHM_REC_FRAG_MID   0x10u /* alone */
#define SHM_REC_FRAG_LAST  0x20u /* alone */
#define SHM_REC_REF        0x40u /* a body lent from the writer's pool; may carry MORE */
#define SHM_REC_VALID      0x80u /* in every header: a zero word is "nothing yet" */
#define SHM_REC_HDR        8u

/* Zero-copy (see shm_link.h): the most bodies a writer lends at once over one ring, and
 * the payload of a REF record: where the body is in the writer's pool and the loan's
 * name, which the reader hands back through the release queue once it is done. */
#define SHM_ZC_LOANS 128u

struct shm_ref {
	uint32_t slot, gen; /* the loan; opaque to the reader */
	uint64_t off, len;  /* the body: bytes [off, off + len) of the writer's pool */
};

/* One ring's zero-copy block: the reader says it mapped the writer's pool, and hands
 * each loan back (slot | gen << 32) through a single-producer queue the writer drains. */
struct shm_ring_zc {
	_Alignas(SHM_RING_LINE) _Atomic uint64_t pool_ok;   /* set: reader */
	_Alignas(SHM_RING_LINE) _Atomic uint64_t rel_write; /* reader */
	_Alignas(SHM_RING_LINE) _Atomic uint64_t rel_read;  /* writer */
	_Alignas(SHM_RING_LINE) _Atomic uint64_t rel[SHM_ZC_LOANS];
};

/* One direction's shared indices. Each field is written by one side only and sits on a
 * line of its own, so the hot path shares no line that the other side writes often. */
struct shm_ring_dir {
	_Alignas(SHM_RING_LINE) _Atomic uint64_t write; /* producer; see above */
	_Alignas(SHM_RING_LINE) _Atomic uint64_t read;  /* consumer */
	_Alignas(SHM_RING_LINE) _Atomic uint32_t reader_sleeping; /* set: consumer */
	_Atomic uint32_t reader_fenced; /* consumer, once: it fences before it sleeps */
	_Alignas(SHM_RING_LINE) _Atomic uint32_t writer_sleeping; /* set: producer */
};

/* The control block at offset 0 of the memfd. */
struct shm_ring_ctl {
	uint64_t magic;     /* SHM_RING_MAGIC */
	uint32_t version;   /* SHM_RING_VERSION */
	uint32_t ctl_size;  /* SHM_RING_CTL_SIZE */
	uint64_t ring_size; /* bytes per ring */
	struct shm_ring_dir dir[2];
	struct shm_ring_zc zc[2]; /* zc[k]: ring k's writer lends, its reader returns */
};

_Static_assert(sizeof(struct shm_ring_ctl) <= SHM_RING_CTL_SIZE, "control block size");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "shared-memory atomics must be lock-free (address-free)");

/* One mapping of the shared memory. */
struct shm_ring_region {
	int fd;             /* the memfd; -1 once closed (the mapping stays valid) */
	void *base;         /* the mapping: control block, ring 0, ring 1 */
	size_t map_size;    /* SHM_RING_CTL_SIZE + 2 * ring_size */
	uint64_t ring_size; /* bytes per ring */
	bool creator;       /* writes ring 0 and reads ring 1; the attacher the reverse */
};

/* shm_ring_size_valid: whether ring_size is a power of two within the bounds. */
bool shm_ring_size_valid(uint64_t ring_size);

/* shm_ring_map_size: the memfd size for a valid ring size. */
size_t shm_ring_map_size(uint64_t ring_size);

/* shm_ring_region_create: makes, sizes, seals and maps a new memfd with a fresh control
 * block for rings of ring_size bytes. On 0 g is the caller's (shm_ring_region_fini) and
 * g->fd is what to pass to the peer, with ring_size. -EINVAL (ring size not valid),
 * -ENOMEM, -EMFILE, -ENOSPC ...; then g holds nothing. */
int shm_ring_region_create(struct shm_ring_region *g, uint64_t ring_size);

/* shm_ring_region_attach: checks the peer's memfd fd (sealed, exactly the size that
 * ring_size implies), maps it and checks its control block (magic, version, sizes),
 * reading each field once. On 0 g owns fd. On failure fd is still the caller's and g
 * holds nothing: -EPROTO (a bad ring size, file or control block), -ENOMEM. */
int shm_ring_region_attach(struct shm_ring_region *g, int fd, uint64_t ring_size);

/* shm_ring_region_fini: unmaps and closes. Safe on a zeroed region with fd -1, and
 * twice. No writer or reader on g may be used afterwards. */
void shm_ring_region_fini(struct shm_ring_region *g);

/* ---- writer: the producer side of one ring ---- */

/* A function that raises the reader's eventfds named by wake (SHM_WAKE_*), for a
 * writer that wakes its reader before a write ends (shm_ring_writer_set_waker). */
typedef void shm_ring_waker_fn(void *arg, int wake);

struct shm_ring_writer {
	struct shm_ring_dir *ctl;
	uint8_t *data;
	uint64_t size, mask;
	uint64_t wr;        /* bytes written, visible or not */
	uint64_t boundary;  /* wr at the last point that may be made visible */
	uint64_t pub;       /* where the first record not yet visible starts */
	uint64_t held_pub;  /* its header, when wr > pub (the ring has 0 there) */
	uint64_t held_run;  /* the header at boundary, when run_held */
	bool run_held;      /* a multipart message started after pub is held back */
	uint64_t rd_cache;  /* the last read index loaded, checked */
	uint64_t need;      /* free bytes the last -EAGAIN was short of */
	uint64_t batch;     /* publish by itself once this many bytes are publishable */
	uint64_t plain_max; /* records up to this size are written whole */
	uint64_t frag_max;  /* the largest fragment payload */
	uint64_t frag_min;  /* the least fragment payload worth writing (but the last) */
	const void *frag_data; /* the message streaming in fragments, or NULL */
	uint64_t frag_total, frag_off;
	uint32_t frag_flags; /* its MORE / COMMAND */
	int error;           /* sticky -EPROTO */
	bool in_multi;       /* the last message written had MORE */
	int8_t fence;        /* 0 not asked, 1 zn_shm_fence_ready, -1 not */
	unsigned wake;       /* an internal publish found the reader asleep: SHM_WAKE_* */
	shm_ring_waker_fn *waker; /* shm_ring_writer_set_waker's, or NULL */
	void *waker_arg;
};

/* shm_ring_writer_init: the producer of the ring g's side writes (ring 0 for the
 * creator). Never fails, allocates nothing; there is no _fini. */
void shm_ring_writer_init(struct shm_ring_writer *w, const struct shm_ring_region *g);

/* shm_ring_writer_set_waker: lets the writer wake a sleeping reader in the middle of
 * shm_ring_write_msg, through fn(arg, wake) in the writer's thread, rather than only
 * from what shm_ring_publish returns after it:
 * - the last (or only) part of a message, written whole, of SHM_WAKE_EARLY_MIN bytes
 *   or more takes the reader's sleeping flag when at most SHM_WAKE_AHEAD of its bytes
 *   are left to copy (before the copy, for a part up to that size): a wake-up between
 *   CPUs takes tens of microseconds, which then pass while the copy ends instead of
 *   after it. A reader it wakes too soon finds nothing new, sleeps again and is woken
 *   by the publication;
 * - a fragment whose publication finds the reader asleep wakes it at once, so that it
 *   copies the message out while the rest is copied in.
 * Without a waker (the default) the reader is woken only after the write. */
void shm_ring_writer_set_waker(struct shm_ring_writer *w, shm_ring_waker_fn *fn,
                               void *arg);
#define SHM_WAKE_EARLY_MIN ((size_t)32 << 10)
#define SHM_WAKE_AHEAD     ((size_t)128 << 10)
/* Messages larger than this (or than half the ring) stream in fragments. */
#define SHM_STREAM_MIN ((uint64_t)256 << 10)

/* shm_ring_write_msg: copies m into the ring as one record, or as fragments when it is
 * too large to sit in the ring whole. Never blocks. Returns
 *   0         m is entirely in the ring; m has been closed and reset to empty;
 *   -EAGAIN   not enough room now; m is unchanged and still the caller's. When m is
 *             streaming in fragments, part of it may already be in the ring: the next
 *             call must pass the same message (same data and size) again;
 *   -EINVAL   a message with both MORE and COMMAND, or a different message passed while
 *             one is streaming; nothing happened;
 *   -EPROTO   the peer corrupted the shared read index (sticky): close the connection.
 * The bytes become visible to the reader at the next shm_ring_publish. A long message
 * also publishes itself fragment by fragment, and a long batch of messages every ring/8
 * bytes; when such a publication finds the reader asleep, the next shm_ring_publish
 * returns 1, so the caller must always call it after a batch. */
int shm_ring_write_msg(struct shm_ring_writer *w, struct msg *m);

/* shm_ring_write_ref: writes a REF record for ref (with SHM_REC_MORE when more), as
 * shm_ring_write_msg writes a small message: 0, -EAGAIN (nothing written) or -EPROTO.
 * -EINVAL while a message streams. */
int shm_ring_write_ref(struct shm_ring_writer *w, const struct shm_ref *ref, bool more);

/* shm_ring_writer_pos: where the next record goes (for undoing loans on rollback). */
static inline uint64_t
shm_ring_writer_pos(const struct shm_ring_writer *w)
{
	return w->wr;
}

/* shm_ring_publish: makes everything written up to the last message boundary visible
 * (one release store), at the end of each batch of shm_ring_write_msg calls and always
 * after one returned -EAGAIN. Returns 0, or the reader's eventfds the caller must raise
 * (once each) because it was asleep: SHM_WAKE_ENGINE (the one its I/O thread polls) or
 * SHM_WAKE_APP (its socket's thread waits on the road itself, shm_ring_sleep_app).
 * Never blocks. */
enum { SHM_WAKE_ENGINE = 1, SHM_WAKE_APP = 2 };
int shm_ring_publish(struct shm_ring_writer *w);

/* shm_ring_writable: whether n bytes fit now (or the writer has failed: the next write
 * says so). Loads the peer's read index at most once. */
bool shm_ring_writable(struct shm_ring_writer *w, uint64_t n);
/* shm_ring_room_seen: whether n bytes were free by the published write index and the
 * peer's read index: atomic loads of the shared indexes only, so a thread other than
 * the writer's may ask while it writes (the answer may be stale). */
bool shm_ring_room_seen(const struct shm_ring_writer *w, uint64_t n);

/* shm_ring_writer_want: the free bytes shm_ring_writer_prepare_sleep waits for, when
 * the caller refused to start a message for lack of them (normally set by the -EAGAIN
 * of shm_ring_write_msg). */
void shm_ring_writer_want(struct shm_ring_writer *w, uint64_t n);

/* shm_ring_writer_rollback: drops the parts of an unfinished multipart message that
 * are not visible yet (all of them, unless the message had to stream). */
void shm_ring_writer_rollback(struct shm_ring_writer *w);

/* shm_ring_writer_streaming: whether a message is half-way through the ring in
 * fragments (the caller must offer the same message again). */
bool shm_ring_writer_streaming(const struct shm_ring_writer *w);

/* shm_ring_writer_progress: the bytes written so far. It grows also across calls that
 * return -EAGAIN while a long message streams, so a caller with a spin budget can tell
 * a slow peer from a stalled one. */
static inline uint64_t
shm_ring_writer_progress(const struct shm_ring_writer *w)
{
	return w->wr;
}

/* shm_ring_writer_prepare_sleep: after shm_ring_write_msg returned -EAGAIN and
 * shm_ring_publish ran, marks the writer asleep and looks at the read index
 * again. Returns 0 when the caller should block on its eventfd (then it calls
 * shm_ring_writer_end_sleep when woken): the ring is still full, or the reader has
 * already taken the flag and its signal is on the way; 1 when it must not block (space
 * has appeared, or there is something unpublished), the flag being cleared again.
 * -EPROTO as for shm_ring_write_msg. Every signal the reader sends therefore answers
 * exactly one 0 from here. */
int shm_ring_writer_prepare_sleep(struct shm_ring_writer *w);

/* shm_ring_writer_end_sleep: clears the writer's sleeping flag after a wake-up. */
void shm_ring_writer_end_sleep(struct shm_ring_writer *w);

/* ---- reader: the consumer side of one ring ---- */

struct shm_ring_reader {
	struct shm_ring_dir *ctl;
	const uint8_t *data;
	uint64_t size, mask;
	uint64_t rd;         /* bytes consumed */
	uint64_t released;   /* the value last stored in ctl->read */
	uint64_t batch;      /* release by itself once this many bytes are consumed */
	uint64_t maxmsgsize; /* UINT64_MAX: unlimited */
	struct msg frag;     /* the message being reassembled from fragments */
	uint64_t frag_total, frag_got;
	uint32_t frag_flags;
	bool in_frag;
	bool fenced; /* fences before it sleeps (see "Fenced sleeping") */
	bool wake;   /* an internal release found the writer asleep */
	int error;   /* sticky -EPROTO / -EMSGSIZE */
};

/* shm_ring_reader_init: the consumer of the ring g's side reads (ring 1 for the
 * creator). maxmsgsize < 0: no limit. Never fails, allocates nothing. */
void shm_ring_reader_init(struct shm_ring_reader *r, const struct shm_ring_region *g,
                          int64_t maxmsgsize);

/* shm_ring_reader_fence: from now on the reader fences before it sleeps, and tells
 * the writer it may publish without a fence of its own (see "Fenced sleeping"), for a
 * reader that spins. false (nothing changes) where zn_shm_fence is not available.
 * Before the reader is first used, or by its thread. */
bool shm_ring_reader_fence(struct shm_ring_reader *r);

/* shm_ring_reader_fini: drops a half-reassembled message. */
void shm_ring_reader_fini(struct shm_ring_reader *r);

/* shm_ring_readable: whether the peer published a record not yet consumed (or the
 * reader has failed). One relaxed load of the header word under the read position:
 * cheap enough to spin on; read_msg checks it all. */
bool shm_ring_readable(const struct shm_ring_reader *r);

/* shm_ring_read_msg: takes the next complete message out of the ring. Never blocks, and
 * consumes at most a ring's worth of records per call, so a peer cannot keep it busy.
 * Returns
 *   1          *m holds the message (overwritten without being closed: it must be
 *              empty or closed), with MSGF_MORE / MSGF_COMMAND set; the caller owns it;
 *   0          no complete message now (a long one may be half-way in);
 *   -EPROTO    the peer broke the protocol: a header without SHM_REC_VALID, a
 *              record that runs past the end of the ring, an unknown flag or flag
 *              combination, a PAD that does not end the ring, a fragment out of
 *              sequence or with a wrong length (sticky);
 *   -EMSGSIZE  a message (or announced total) larger than maxmsgsize (sticky);
 *   -ENOMEM    the message could not be allocated; nothing was consumed and the next
 *              call retries (the caller normally closes the connection).
 * The space is returned to the writer at the next shm_ring_release (and by the reader
 * itself every so often within a long batch). */
int shm_ring_read_msg(struct shm_ring_reader *r, struct msg *m);

/* shm_ring_read: as shm_ring_read_msg, and also returns 2 for a REF record: *ref holds
 * its payload (as loaded once: unchecked), *m is left empty with MSGF_MORE set when the
 * record had it. shm_ring_read_msg fails with -EPROTO on a REF record. */
int shm_ring_read(struct shm_ring_reader *r, struct msg *m, struct shm_ref *ref);

/* shm_ring_region_zc: ring k's zero-copy block. */
struct shm_ring_zc *shm_ring_region_zc(const struct shm_ring_region *g, int k);

/* shm_ring_reader_progress: the bytes consumed so far; grows also across calls that
 * return 0 while a long message streams in (see shm_ring_writer_progress). */
static inline uint64_t
shm_ring_reader_progress(const struct shm_ring_reader *r)
{
	return r->rd;
}

/* shm_ring_release: makes the consumed space available to the writer, at the end of
 * each batch of reads. Returns 1 when the writer was asleep and the caller must raise
 * the writer's eventfd (once), else 0. Never blocks. */
int shm_ring_release(struct shm_ring_reader *r);

/* shm_ring_prepare_sleep: after shm_ring_read_msg returned 0 and shm_ring_release ran,
 * marks the reader asleep and looks under its read position again. Returns 0 when
 * the caller should block on its eventfd (then it calls shm_ring_end_sleep when
 * woken): nothing arrived, or the writer has already taken the flag and its signal is
 * on the way; 1 when it must not block (data arrived meanwhile, or consumed space is
 * unreleased), the flag being cleared again. A sticky error is returned as is. Every
 * signal the writer sends therefore answers exactly one 0 from here. */
int shm_ring_prepare_sleep(struct shm_ring_reader *r);

/* shm_ring_end_sleep: clears the reader's sleeping flag after a wake-up. */
void shm_ring_end_sleep(struct shm_ring_reader *r);

/* shm_ring_sleep_app / shm_ring_sleep_app_end: while the reader's thread blocks on a
 * second eventfd of its own (besides the one its I/O thread polls), a sleep announced
 * by shm_ring_prepare_sleep is turned into one that makes the writer raise that fd
 * (SHM_WAKE_APP), and back when the thread stops waiting. Each returns 0 when the turn
 * was made, 1 when the writer had already taken the flag (data came: its signal is on
 * the way, to the fd of the sleep it took). Only between a 0 from prepare_sleep and
 * the end of that sleep. */
int shm_ring_sleep_app(struct shm_ring_reader *r);
int shm_ring_sleep_app_end(struct shm_ring_reader *r);

#endif
